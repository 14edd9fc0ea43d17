// Checkpoints. The first byte picks the mode:
//   even: the rest is a checkpoint file, read with Checkpoint::load (the checksum stops most
//         mutations early, so the next mode reaches what lies behind it);
//   odd:  the rest is the "rnn_checkpoint" JSON; a checkpoint carrying it is saved with a
//         valid checksum, loaded again, and its random states and parameters read back.
#include <nlohmann/json.hpp>

#include "fuzz_support.h"
#include "rnn/core/parameters.h"
#include "rnn/core/rng.h"
#include "rnn/train/checkpoint.h"
#include "targets.h"

namespace rnn::fuzz {

namespace {

// Everything a resuming trainer reads from a loaded checkpoint, through the public API.
void read_back(const Checkpoint& c) {
  if (c.meta.contains("rng") && c.meta["rng"].is_object()) {
    for (auto it = c.meta["rng"].begin(); it != c.meta["rng"].end(); ++it) {
      Rng rng(0);
      c.get_rng(it.key(), rng);
    }
  }
  Rng rng(0);
  c.get_rng("trainer", rng);
  Parameters<float> store;
  for (const auto& [name, t] : c.tensors) {
    if (name.rfind("param.", 0) == 0) store.add(name.substr(6), t.shape());
  }
  c.get_parameters(store);
}

}  // namespace

int fuzz_checkpoint(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const bool meta_mode = (data[0] & 1) != 0;
  const std::string_view rest = as_text(data + 1, size - 1);
  ScratchDir dir;
  if (!meta_mode) {
    const std::string path = dir.write("fuzz.ckpt", rest);
    return accept_errors([&] { read_back(Checkpoint::load(path)); });
  }
  const nlohmann::json meta = nlohmann::json::parse(rest, nullptr, false);
  if (meta.is_discarded() || !meta.is_object()) return 0;
  Checkpoint c;
  c.meta = meta;
  c.tensors["param.w"] = Tensor<float>({2, 3}, 0.5f);
  c.tensors["task.h"] = Tensor<float>({1, 2}, -1.0f);
  const std::string path = (dir.path() / "fuzz.ckpt").string();
  c.save(path);  // a valid checkpoint: saving must not fail
  return accept_errors([&] { read_back(Checkpoint::load(path)); });
}

}  // namespace rnn::fuzz
