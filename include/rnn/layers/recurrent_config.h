// Configuration of a recurrent module: PyTorch's constructor arguments, one to one.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json_fwd.hpp>

namespace rnn {

enum class CellMode { LSTM, GRU, RNN_TANH, RNN_RELU };

// "LSTM", "GRU", "RNN_TANH", "RNN_RELU" (PyTorch's `mode` strings).
std::string to_string(CellMode mode);
CellMode cell_mode_from_string(const std::string& name);
// Gates per cell: 4 LSTM, 3 GRU, 1 RNN.
int gate_count(CellMode mode);

struct RecurrentConfig {
  CellMode mode = CellMode::LSTM;
  int64_t input_size = 0;
  int64_t hidden_size = 0;
  int64_t num_layers = 1;
  bool bias = true;
  bool batch_first = false;
  double dropout = 0.0;  // between stacked layers, training only
  bool bidirectional = false;
  int64_t proj_size = 0;  // LSTM only; 0 = off

  int64_t directions() const { return bidirectional ? 2 : 1; }
  int64_t gates() const { return gate_count(mode); }
  // Size of h: proj_size when projecting, else hidden_size.
  int64_t output_hidden() const { return proj_size > 0 ? proj_size : hidden_size; }
  // Features read by layer `layer`: input_size, then D * output_hidden.
  int64_t layer_input_size(int64_t layer) const {
    return layer == 0 ? input_size : directions() * output_hidden();
  }

  // Throws rnn::Error for anything torch.nn.RNN/LSTM/GRU would reject.
  void validate() const;

  // {"mode", "input_size", "hidden_size", "num_layers", "bias", "batch_first", "dropout",
  //  "bidirectional", "proj_size"}; from_json validates and names a missing/bad key.
  nlohmann::json to_json() const;
  static RecurrentConfig from_json(const nlohmann::json& j);
};

}  // namespace rnn
