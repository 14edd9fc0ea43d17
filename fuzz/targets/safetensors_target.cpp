// safetensors bytes -> parse_safetensors, every tensor converted to the types it may be
// read as, and the round trip: what was accepted serialises and parses back unchanged.
#include <span>

#include "fuzz_support.h"
#include "rnn/io/safetensors.h"
#include "targets.h"

namespace rnn::fuzz {

int fuzz_safetensors(const uint8_t* data, size_t size) {
  return accept_errors([&] {
    const SafetensorsFile file = parse_safetensors(std::span(data, size), "fuzz.safetensors");
    for (const auto& [name, stored] : file.tensors) {
      if (stored.dtype == DType::F32 || stored.dtype == DType::F64) {
        const Tensor<float> f = file.get<float>(name);
        const Tensor<double> d = file.get<double>(name);
        require(f.shape() == stored.shape && d.shape() == stored.shape,
                "converted shape differs from the stored one");
      } else {
        const Tensor<int64_t> i = file.get<int64_t>(name);
        require(i.shape() == stored.shape, "converted shape differs from the stored one");
      }
    }
    const std::vector<unsigned char> again = serialize_safetensors(file);
    const SafetensorsFile back = parse_safetensors(again, "round trip");
    require(back.metadata == file.metadata, "metadata changed in a round trip");
    require(back.tensors.size() == file.tensors.size(), "tensor count changed in a round trip");
    for (const auto& [name, stored] : file.tensors) {
      const StoredTensor& b = back.at(name);
      require(b.dtype == stored.dtype && b.shape == stored.shape && b.bytes == stored.bytes,
              "tensor '" + name + "' changed in a round trip");
    }
  });
}

}  // namespace rnn::fuzz
