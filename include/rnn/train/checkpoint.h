// Checkpoints: everything a training run needs to continue bit for bit, in one
// safetensors file written atomically (temp file, fsync, rename), with a checksum.
//
// Tensors:  "param.<name>"  every model parameter (F32)
//           "optim.<name>"  every optimizer state buffer (F32)
//           "task.<name>"   tensors of the task's own state (e.g. carried hidden states)
// Metadata: "rnn_checkpoint" JSON {format, step, trainer{...}, optimizer{kind, step, lr},
//           schedule{...}, rng[...], task{...}}, and "checksum": FNV-1a 64 of the data
//           bytes and the JSON, in hex, verified on load.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "rnn/core/parameters.h"
#include "rnn/core/rng.h"
#include "rnn/core/tensor.h"

namespace rnn {

class Checkpoint {
 public:
  nlohmann::json meta = nlohmann::json::object();  // the "rnn_checkpoint" JSON
  std::map<std::string, Tensor<float>> tensors;    // full names ("param.x", "task.h")

  // Parameters: name -> "param." + name.
  void put_parameters(const Parameters<float>& store);
  // Copies every parameter back after checking names and shapes match exactly.
  void get_parameters(Parameters<float>& store) const;

  void put_rng(const std::string& key, const Rng& rng);
  void get_rng(const std::string& key, Rng& rng) const;

  // Task tensors ("task." + name).
  void put_task_tensor(const std::string& name, Tensor<float> t);
  const Tensor<float>& task_tensor(const std::string& name) const;
  bool has_task_tensor(const std::string& name) const;

  // Atomic write; throws rnn::Error naming the path and the cause (the previous file at
  // `path` stays intact). Refuses to write non-finite parameters.
  void save(const std::string& path) const;
  // Reads and verifies the checksum; throws rnn::Error naming the path on any problem.
  static Checkpoint load(const std::string& path);
};

}  // namespace rnn
