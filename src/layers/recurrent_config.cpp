#include "rnn/layers/recurrent_config.h"

#include <cmath>
#include <nlohmann/json.hpp>

#include "rnn/core/error.h"
#include "rnn/core/json_int.h"

namespace rnn {

std::string to_string(CellMode mode) {
  switch (mode) {
    case CellMode::LSTM: return "LSTM";
    case CellMode::GRU: return "GRU";
    case CellMode::RNN_TANH: return "RNN_TANH";
    case CellMode::RNN_RELU: return "RNN_RELU";
  }
  fail("unknown cell mode ", static_cast<int>(mode));
}

CellMode cell_mode_from_string(const std::string& name) {
  if (name == "LSTM") return CellMode::LSTM;
  if (name == "GRU") return CellMode::GRU;
  if (name == "RNN_TANH") return CellMode::RNN_TANH;
  if (name == "RNN_RELU") return CellMode::RNN_RELU;
  fail("unknown recurrent mode '", name, "' (expected LSTM, GRU, RNN_TANH or RNN_RELU)");
}

int gate_count(CellMode mode) {
  switch (mode) {
    case CellMode::LSTM: return 4;
    case CellMode::GRU: return 3;
    case CellMode::RNN_TANH:
    case CellMode::RNN_RELU: return 1;
  }
  fail("unknown cell mode ", static_cast<int>(mode));
}

void RecurrentConfig::validate() const {
  const std::string name = to_string(mode);
  check(input_size > 0, name, " config: input_size must be positive, got ", input_size);
  check(hidden_size > 0, name, " config: hidden_size must be positive, got ", hidden_size);
  check(num_layers > 0, name, " config: num_layers must be positive, got ", num_layers);
  check(std::isfinite(dropout) && dropout >= 0.0 && dropout <= 1.0, name,
        " config: dropout must be a probability in [0, 1], got ", dropout);
  check(proj_size >= 0, name, " config: proj_size must be >= 0, got ", proj_size);
  if (proj_size > 0) {
    check(mode == CellMode::LSTM, "proj_size is only supported by LSTM, not ", name);
    check(proj_size < hidden_size, "LSTM config: proj_size (", proj_size,
          ") must be smaller than hidden_size (", hidden_size, ")");
  }
  constexpr int64_t kMaxSize = int64_t{1} << 24;  // refuses absurd sizes before allocating
  check(input_size <= kMaxSize && hidden_size <= kMaxSize && num_layers <= 4096, name,
        " config: sizes are unreasonably large (input_size ", input_size, ", hidden_size ",
        hidden_size, ", num_layers ", num_layers, ")");
}

nlohmann::json RecurrentConfig::to_json() const {
  return nlohmann::json{{"mode", to_string(mode)},       {"input_size", input_size},
                        {"hidden_size", hidden_size},    {"num_layers", num_layers},
                        {"bias", bias},                  {"batch_first", batch_first},
                        {"dropout", dropout},            {"bidirectional", bidirectional},
                        {"proj_size", proj_size}};
}

RecurrentConfig RecurrentConfig::from_json(const nlohmann::json& j) {
  check(j.is_object(), "recurrent config must be a JSON object, got ", j.type_name());
  RecurrentConfig c;
  auto required = [&](const char* key) -> const nlohmann::json& {
    check(j.contains(key), "recurrent config: missing key '", key, "'");
    return j.at(key);
  };
  auto integer = [&](const char* key, const nlohmann::json& v) {
    check(v.is_number_integer(), "recurrent config: '", key, "' must be an integer, got ",
          v.dump());
    return v.get<JsonInt<int64_t>>().value;
  };
  auto boolean = [&](const char* key, bool fallback) {
    if (!j.contains(key)) return fallback;
    const auto& v = j.at(key);
    check(v.is_boolean(), "recurrent config: '", key, "' must be true or false, got ", v.dump());
    return v.get<bool>();
  };
  const auto& mode = required("mode");
  check(mode.is_string(), "recurrent config: 'mode' must be a string, got ", mode.dump());
  c.mode = cell_mode_from_string(mode.get<std::string>());
  c.input_size = integer("input_size", required("input_size"));
  c.hidden_size = integer("hidden_size", required("hidden_size"));
  if (j.contains("num_layers")) c.num_layers = integer("num_layers", j.at("num_layers"));
  if (j.contains("proj_size")) c.proj_size = integer("proj_size", j.at("proj_size"));
  c.bias = boolean("bias", true);
  c.batch_first = boolean("batch_first", false);
  c.bidirectional = boolean("bidirectional", false);
  if (j.contains("dropout")) {
    check(j.at("dropout").is_number(), "recurrent config: 'dropout' must be a number, got ",
          j.at("dropout").dump());
    c.dropout = j.at("dropout").get<double>();
  }
  c.validate();
  return c;
}

}  // namespace rnn
