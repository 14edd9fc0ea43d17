// Model files. The first byte picks the reader and the form of the rest:
//   0 load_recurrent<float>, 1 load_recurrent<double>, 2 lm::load_lm: the rest is the file;
//   3 load_recurrent, 4 load_lm: the rest is the configuration JSON (__metadata__ "config",
//     or "rnn_lm"), stored in an otherwise valid file with one small tensor, so that the
//     configuration checks are reached directly (a file must never make the loader build a
//     model far larger than the file's own tensors).
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "fuzz_support.h"
#include "rnn/io/model_file.h"
#include "rnn/io/safetensors.h"
#include "rnn/lm/model_file.h"
#include "targets.h"

namespace rnn::fuzz {

int fuzz_model_file(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const int mode = data[0] % 5;
  const std::string_view rest = as_text(data + 1, size - 1);
  ScratchDir dir;
  std::string path;
  if (mode <= 2) {
    path = dir.write("model.safetensors", rest);
  } else {
    SafetensorsFile file;
    file.put("weight_ih_l0", Tensor<float>({4, 2}, 0.25f));
    file.metadata[mode == 3 ? "config" : "rnn_lm"] = std::string(rest);
    path = (dir.path() / "model.safetensors").string();
    try {
      write_safetensors(path, file);
    } catch (const rnn::Error&) {
      return 0;  // metadata that is not UTF-8 cannot be stored in a JSON header
    }
  }
  return accept_errors([&] {
    if (mode == 0 || mode == 3) {
      load_recurrent<float>(path);
    } else if (mode == 1) {
      load_recurrent<double>(path);
    } else {
      lm::load_lm(path);
    }
  });
}

}  // namespace rnn::fuzz
