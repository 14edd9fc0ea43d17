// Recurrent model files: safetensors with PyTorch's parameter names (weight_ih_l0,
// bias_hh_l1_reverse, weight_hr_l0, ...) and the module configuration as JSON in
// __metadata__["config"] (RecurrentConfig::to_json). tools/torch_export.py writes the
// same format from a torch.nn.RNN / LSTM / GRU, so weights move both ways by copy.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "rnn/core/parameters.h"
#include "rnn/io/safetensors.h"
#include "rnn/layers/recurrent.h"
#include "rnn/layers/recurrent_config.h"

namespace rnn {

// Name and shape of one parameter of a recurrent module.
struct RecurrentParamSpec {
  std::string name;  // PyTorch's name, without prefix
  Shape shape;
};

// Every parameter a module with `config` owns, in PyTorch's order (validates config).
std::vector<RecurrentParamSpec> recurrent_parameter_specs(const RecurrentConfig& config);

// The module's parameters (read from `store` under `prefix` + PyTorch's names) and its
// configuration, as a SafetensorsFile; values stored as `dtype` (F32 or F64).
template <class T>
SafetensorsFile recurrent_to_safetensors(const RecurrentConfig& config, const Parameters<T>& store,
                                         const std::string& prefix = "",
                                         DType dtype = DType::F32);

// Writes the model file atomically (see write_safetensors). Parameters are stored as
// F32 by default; pass DType::F64 to keep double weights exact.
template <class T>
void save_recurrent(const std::string& path, const RecurrentConfig& config,
                    const Parameters<T>& store, const std::string& prefix = "",
                    DType dtype = DType::F32);
template <class T>
void save_recurrent(const std::string& path, const Recurrent<T>& module, DType dtype = DType::F32);

// Reads __metadata__["config"]; throws "missing __metadata__ config in FILE" or names
// the JSON error or the bad key, and anything torch.nn would reject.
RecurrentConfig read_recurrent_config(const SafetensorsFile& file);

// Copies the file's parameters into `module`'s store after checking: every expected
// parameter present ("missing parameter 'weight_hh_l1' in FILE"), nothing else
// ("unknown parameter 'foo' in FILE"), exact shapes ("parameter 'x' in FILE: expected
// shape [..], got [..]"), floating dtype, all values finite. The module is left
// unchanged when any check fails.
template <class T>
void load_recurrent_parameters(const SafetensorsFile& file, Recurrent<T>& module);

template <class T>
struct LoadedRecurrent {
  RecurrentConfig config;
  std::unique_ptr<Parameters<T>> store;  // owns the parameters; module points into it
  std::unique_ptr<Recurrent<T>> module;
};

// Reads a model file (F32 or F64 weights) as float or double.
template <class T>
LoadedRecurrent<T> load_recurrent(const std::string& path);

extern template SafetensorsFile recurrent_to_safetensors<float>(const RecurrentConfig&,
                                                                const Parameters<float>&,
                                                                const std::string&, DType);
extern template SafetensorsFile recurrent_to_safetensors<double>(const RecurrentConfig&,
                                                                 const Parameters<double>&,
                                                                 const std::string&, DType);
extern template void save_recurrent<float>(const std::string&, const RecurrentConfig&,
                                           const Parameters<float>&, const std::string&, DType);
extern template void save_recurrent<double>(const std::string&, const RecurrentConfig&,
                                            const Parameters<double>&, const std::string&, DType);
extern template void save_recurrent<float>(const std::string&, const Recurrent<float>&, DType);
extern template void save_recurrent<double>(const std::string&, const Recurrent<double>&, DType);
extern template void load_recurrent_parameters<float>(const SafetensorsFile&, Recurrent<float>&);
extern template void load_recurrent_parameters<double>(const SafetensorsFile&, Recurrent<double>&);
extern template LoadedRecurrent<float> load_recurrent<float>(const std::string&);
extern template LoadedRecurrent<double> load_recurrent<double>(const std::string&);

}  // namespace rnn
