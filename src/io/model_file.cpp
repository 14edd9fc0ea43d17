#include "rnn/io/model_file.h"

#include <nlohmann/json.hpp>
#include <set>

#include "rnn/core/error.h"
#include "rnn/core/rng.h"

namespace rnn {

std::vector<RecurrentParamSpec> recurrent_parameter_specs(const RecurrentConfig& config) {
  config.validate();
  const int64_t gh = config.gates() * config.hidden_size;
  const int64_t hout = config.output_hidden();
  std::vector<RecurrentParamSpec> specs;
  for (int64_t layer = 0; layer < config.num_layers; ++layer) {
    for (int64_t direction = 0; direction < config.directions(); ++direction) {
      const std::string suffix = concat("_l", layer, direction == 1 ? "_reverse" : "");
      specs.push_back({"weight_ih" + suffix, {gh, config.layer_input_size(layer)}});
      specs.push_back({"weight_hh" + suffix, {gh, hout}});
      if (config.bias) {
        specs.push_back({"bias_ih" + suffix, {gh}});
        specs.push_back({"bias_hh" + suffix, {gh}});
      }
      if (config.proj_size > 0) {
        specs.push_back({"weight_hr" + suffix, {config.proj_size, config.hidden_size}});
      }
    }
  }
  return specs;
}

template <class T>
SafetensorsFile recurrent_to_safetensors(const RecurrentConfig& config, const Parameters<T>& store,
                                         const std::string& prefix, DType dtype) {
  check(dtype == DType::F32 || dtype == DType::F64,
        "save_recurrent: parameters can be stored as F32 or F64, not ", to_string(dtype));
  SafetensorsFile file;
  for (const RecurrentParamSpec& spec : recurrent_parameter_specs(config)) {
    const std::string full = prefix + spec.name;
    check(store.find(full).has_value(), "save_recurrent: the store has no parameter '", full,
          "'");
    const Tensor<T> value = store.get(full);
    check(value.shape() == spec.shape, "save_recurrent: parameter '", full, "' has shape ",
          shape_str(value.shape()), ", the config expects ", shape_str(spec.shape));
    if (dtype == DType::F32) {
      file.tensors[spec.name] = StoredTensor::from(value.template cast<float>());
    } else {
      file.tensors[spec.name] = StoredTensor::from(value.template cast<double>());
    }
  }
  file.metadata["config"] = config.to_json().dump();
  return file;
}

template <class T>
void save_recurrent(const std::string& path, const RecurrentConfig& config,
                    const Parameters<T>& store, const std::string& prefix, DType dtype) {
  SafetensorsFile file = recurrent_to_safetensors(config, store, prefix, dtype);
  file.source = path;
  write_safetensors(path, file);
}

template <class T>
void save_recurrent(const std::string& path, const Recurrent<T>& module, DType dtype) {
  save_recurrent(path, module.config(), module.store(), module.prefix(), dtype);
}

RecurrentConfig read_recurrent_config(const SafetensorsFile& file) {
  auto it = file.metadata.find("config");
  check(it != file.metadata.end(), "missing __metadata__ config in ", file.source,
        " (a model file stores its RecurrentConfig as JSON under __metadata__[\"config\"])");
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(it->second);
  } catch (const nlohmann::json::exception& e) {
    fail(file.source, ": __metadata__ config is not valid JSON: ", e.what());
  }
  try {
    return RecurrentConfig::from_json(j);
  } catch (const Error& e) {
    fail(file.source, ": ", e.what());
  } catch (const nlohmann::json::exception& e) {
    fail(file.source, ": bad __metadata__ config: ", e.what());
  }
}

template <class T>
void load_recurrent_parameters(const SafetensorsFile& file, Recurrent<T>& module) {
  Parameters<T>& store = module.store();
  const std::vector<std::string> names = module.parameter_names();
  const std::set<std::string> expected(names.begin(), names.end());

  for (const std::string& name : names) {
    check(file.has(name), "missing parameter '", name, "' in ", file.source);
  }
  for (const auto& [name, stored] : file.tensors) {
    check(expected.count(name) != 0, "unknown parameter '", name, "' in ", file.source);
  }

  // Check everything before changing the module.
  std::vector<Tensor<T>> values;
  values.reserve(names.size());
  for (const std::string& name : names) {
    const StoredTensor& stored = file.at(name);
    const Shape& want = store.info(store.id(module.prefix() + name)).shape;
    check(stored.shape == want, "parameter '", name, "' in ", file.source, ": expected shape ",
          shape_str(want), ", got ", shape_str(stored.shape));
    check(stored.dtype == DType::F32 || stored.dtype == DType::F64, "parameter '", name, "' in ",
          file.source, ": dtype ", to_string(stored.dtype), " is not floating point (F32 or F64)");
    Tensor<T> value = file.get<T>(name);
    check_finite<T>(value.span(), concat("parameter '", name, "' in ", file.source));
    values.push_back(std::move(value));
  }
  for (size_t i = 0; i < names.size(); ++i) store.set(module.prefix() + names[i], values[i]);
}

template <class T>
LoadedRecurrent<T> load_recurrent(const std::string& path) {
  const SafetensorsFile file = read_safetensors(path);
  LoadedRecurrent<T> loaded;
  loaded.config = read_recurrent_config(file);
  // The file's tensors must match the configuration before the module is built: a config
  // claiming an enormous model is refused here, without allocating it.
  for (const RecurrentParamSpec& spec : recurrent_parameter_specs(loaded.config)) {
    check(file.has(spec.name), "missing parameter '", spec.name, "' in ", file.source);
    check(file.at(spec.name).shape == spec.shape, "parameter '", spec.name, "' in ", file.source,
          ": expected shape ", shape_str(spec.shape), ", got ", shape_str(file.at(spec.name).shape));
  }
  loaded.store = std::make_unique<Parameters<T>>();
  Rng rng(0);  // the initial values are overwritten below
  loaded.module = std::make_unique<Recurrent<T>>(loaded.config, *loaded.store, rng);
  load_recurrent_parameters(file, *loaded.module);
  return loaded;
}

template SafetensorsFile recurrent_to_safetensors<float>(const RecurrentConfig&,
                                                         const Parameters<float>&,
                                                         const std::string&, DType);
template SafetensorsFile recurrent_to_safetensors<double>(const RecurrentConfig&,
                                                          const Parameters<double>&,
                                                          const std::string&, DType);
template void save_recurrent<float>(const std::string&, const RecurrentConfig&,
                                    const Parameters<float>&, const std::string&, DType);
template void save_recurrent<double>(const std::string&, const RecurrentConfig&,
                                     const Parameters<double>&, const std::string&, DType);
template void save_recurrent<float>(const std::string&, const Recurrent<float>&, DType);
template void save_recurrent<double>(const std::string&, const Recurrent<double>&, DType);
template void load_recurrent_parameters<float>(const SafetensorsFile&, Recurrent<float>&);
template void load_recurrent_parameters<double>(const SafetensorsFile&, Recurrent<double>&);
template LoadedRecurrent<float> load_recurrent<float>(const std::string&);
template LoadedRecurrent<double> load_recurrent<double>(const std::string&);

}  // namespace rnn
