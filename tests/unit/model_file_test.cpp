// Recurrent model files: parameter layout, save/load round trips (float, double,
// prefix), and modules exported from PyTorch by tools/torch_export.py running in
// rnn.cpp with PyTorch's outputs.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "rnn/core/rng.h"
#include "rnn/io/model_file.h"
#include "support/compare.h"

namespace rnn {
namespace {

namespace fs = std::filesystem;

std::string temp_path(const std::string& name) {
  const fs::path dir =
      fs::temp_directory_path() / ("rnn_model_file_unit_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  return (dir / name).string();
}

RecurrentConfig make_config(CellMode mode, int64_t layers, bool bidir, int64_t proj, bool bias) {
  RecurrentConfig c;
  c.mode = mode;
  c.input_size = 3;
  c.hidden_size = 5;
  c.num_layers = layers;
  c.bidirectional = bidir;
  c.proj_size = proj;
  c.bias = bias;
  return c;
}

std::vector<RecurrentConfig> all_configs() {
  std::vector<RecurrentConfig> out;
  for (CellMode mode : {CellMode::LSTM, CellMode::GRU, CellMode::RNN_TANH, CellMode::RNN_RELU}) {
    for (int64_t layers : {1, 2}) {
      for (bool bidir : {false, true}) {
        for (bool bias : {true, false}) {
          out.push_back(make_config(mode, layers, bidir, 0, bias));
          if (mode == CellMode::LSTM) out.push_back(make_config(mode, layers, bidir, 2, bias));
        }
      }
    }
  }
  return out;
}

TEST(ModelFile, ParameterSpecsMatchModuleNamesAndShapes) {
  for (const RecurrentConfig& config : all_configs()) {
    SCOPED_TRACE(config.to_json().dump());
    Parameters<float> store;
    Rng rng(1);
    Recurrent<float> module(config, store, rng);
    const auto specs = recurrent_parameter_specs(config);
    const auto names = module.parameter_names();
    ASSERT_EQ(specs.size(), names.size());
    for (size_t i = 0; i < specs.size(); ++i) {
      EXPECT_EQ(specs[i].name, names[i]);
      EXPECT_EQ(specs[i].shape, store.info(store.id(names[i])).shape) << names[i];
    }
  }
}

TEST(ModelFile, ParameterSpecsUsePyTorchNames) {
  const auto specs = recurrent_parameter_specs(make_config(CellMode::LSTM, 2, true, 2, true));
  std::vector<std::string> names;
  for (const auto& s : specs) names.push_back(s.name);
  const std::vector<std::string> expected = {
      "weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0", "weight_hr_l0",
      "weight_ih_l0_reverse", "weight_hh_l0_reverse", "bias_ih_l0_reverse",
      "bias_hh_l0_reverse", "weight_hr_l0_reverse",
      "weight_ih_l1", "weight_hh_l1", "bias_ih_l1", "bias_hh_l1", "weight_hr_l1",
      "weight_ih_l1_reverse", "weight_hh_l1_reverse", "bias_ih_l1_reverse",
      "bias_hh_l1_reverse", "weight_hr_l1_reverse"};
  EXPECT_EQ(names, expected);
  EXPECT_EQ(specs[0].shape, (Shape{20, 3}));
  EXPECT_EQ(specs[1].shape, (Shape{20, 2}));
  EXPECT_EQ(specs[4].shape, (Shape{2, 5}));
  EXPECT_EQ(specs[10].shape, (Shape{20, 4}));  // layer 1 reads D * proj_size features
}

template <class T>
void expect_same_parameters(Recurrent<T>& a, Recurrent<T>& b) {
  for (const auto& name : a.parameter_names()) {
    EXPECT_TRUE(test::bitwise_equal(name, b.store().get(b.prefix() + name),
                                    a.store().get(a.prefix() + name)));
  }
}

TEST(ModelFile, RoundTripEveryConfigFloat) {
  const std::string path = temp_path("round_trip.safetensors");
  for (RecurrentConfig config : all_configs()) {
    config.dropout = 0.25;
    config.batch_first = config.bidirectional;
    SCOPED_TRACE(config.to_json().dump());
    Parameters<float> store;
    Rng rng(7);
    Recurrent<float> module(config, store, rng);
    save_recurrent(path, module);

    const SafetensorsFile file = read_safetensors(path);
    EXPECT_EQ(file.tensors.size(), module.parameter_names().size());
    for (const auto& [name, t] : file.tensors) EXPECT_EQ(t.dtype, DType::F32) << name;
    EXPECT_EQ(nlohmann::json::parse(file.metadata.at("config")), config.to_json());

    LoadedRecurrent<float> loaded = load_recurrent<float>(path);
    EXPECT_EQ(loaded.config.to_json(), config.to_json());
    ASSERT_TRUE(loaded.module && loaded.store);
    EXPECT_EQ(&loaded.module->store(), loaded.store.get());
    expect_same_parameters(module, *loaded.module);
  }
  fs::remove(path);
}

TEST(ModelFile, LoadedModuleComputesTheSameOutputs) {
  const std::string path = temp_path("forward.safetensors");
  const RecurrentConfig config = make_config(CellMode::LSTM, 2, true, 2, true);
  Parameters<float> store;
  Rng rng(3);
  Recurrent<float> module(config, store, rng);
  save_recurrent(path, module);
  LoadedRecurrent<float> loaded = load_recurrent<float>(path);

  RecurrentInput<float> input;
  input.x = Tensor<float>({4, 2, 3});
  Rng xr(11);
  for (auto& v : input.x.values()) v = static_cast<float>(xr.uniform(-1, 1));
  const auto a = module.forward(input, Mode::Eval, nullptr, nullptr);
  const auto b = loaded.module->forward(input, Mode::Eval, nullptr, nullptr);
  EXPECT_TRUE(test::bitwise_equal("y", b.y, a.y));
  EXPECT_TRUE(test::bitwise_equal("h_n", b.h_n, a.h_n));
  EXPECT_TRUE(test::bitwise_equal("c_n", b.c_n, a.c_n));
  fs::remove(path);
}

TEST(ModelFile, DoubleRoundTripIsExactWithF64AndConvertsF32) {
  const std::string path = temp_path("double.safetensors");
  const RecurrentConfig config = make_config(CellMode::GRU, 2, true, 0, true);
  Parameters<double> store;
  Rng rng(5);
  Recurrent<double> module(config, store, rng);

  save_recurrent(path, module, DType::F64);
  EXPECT_EQ(read_safetensors(path).at("weight_ih_l0").dtype, DType::F64);
  LoadedRecurrent<double> exact = load_recurrent<double>(path);
  expect_same_parameters(module, *exact.module);

  // F64 file read as float: values rounded to float.
  LoadedRecurrent<float> as_float = load_recurrent<float>(path);
  for (const auto& name : module.parameter_names()) {
    EXPECT_TRUE(test::bitwise_equal(name, as_float.store->get(name),
                                    store.get(name).cast<float>()));
  }

  // Default F32 file read as double: float values widened.
  save_recurrent(path, module);
  LoadedRecurrent<double> widened = load_recurrent<double>(path);
  for (const auto& name : module.parameter_names()) {
    EXPECT_TRUE(test::bitwise_equal(name, widened.store->get(name),
                                    store.get(name).cast<float>().cast<double>()));
  }
  fs::remove(path);
}

TEST(ModelFile, PrefixedModuleSavesPyTorchNames) {
  const std::string path = temp_path("prefix.safetensors");
  const RecurrentConfig config = make_config(CellMode::RNN_TANH, 1, false, 0, true);
  Parameters<float> store;
  store.add("embedding.weight", {7, 3});
  Rng rng(9);
  Recurrent<float> module(config, store, rng, "encoder.");
  save_recurrent(path, module);
  const SafetensorsFile file = read_safetensors(path);
  EXPECT_TRUE(file.has("weight_ih_l0"));
  EXPECT_FALSE(file.has("encoder.weight_ih_l0"));
  EXPECT_FALSE(file.has("embedding.weight"));

  // Loads back into another prefixed module in a shared store.
  Parameters<float> other;
  other.add("head.weight", {2, 2});
  Rng rng2(99);
  Recurrent<float> target(config, other, rng2, "rnn.");
  load_recurrent_parameters(file, target);
  for (const auto& name : module.parameter_names()) {
    EXPECT_TRUE(test::bitwise_equal(name, other.get("rnn." + name), store.get("encoder." + name)));
  }
  fs::remove(path);
}

TEST(ModelFile, ConfigPlusStoreOverloadMatchesModuleOverload) {
  const std::string a = temp_path("a.safetensors");
  const std::string b = temp_path("b.safetensors");
  const RecurrentConfig config = make_config(CellMode::LSTM, 1, true, 0, false);
  Parameters<float> store;
  Rng rng(2);
  Recurrent<float> module(config, store, rng, "m.");
  save_recurrent(a, module);
  save_recurrent(b, config, store, "m.");
  const auto fa = serialize_safetensors(read_safetensors(a));
  const auto fb = serialize_safetensors(read_safetensors(b));
  EXPECT_EQ(fa, fb);
  fs::remove(a);
  fs::remove(b);
}

// Modules built, run and exported by PyTorch (tools/fixtures/gen_io_fixtures.py).
void check_torch_fixture(const std::string& name, bool f64) {
  SCOPED_TRACE(name);
  const std::string dir = std::string(RNN_FIXTURE_DIR) + "/io/";
  const SafetensorsFile io = read_safetensors(dir + "torch_" + name + "_io.safetensors");
  const std::string model_path = dir + "torch_" + name + ".safetensors";
  auto run = [&](auto tag, double atol, double rtol) {
    using T = decltype(tag);
    LoadedRecurrent<T> model = load_recurrent<T>(model_path);
    RecurrentInput<T> input;
    input.x = io.get<T>("x");
    const auto out = model.module->forward(input, Mode::Eval, nullptr, nullptr);
    EXPECT_TRUE(test::all_close("y", out.y, io.get<T>("y"), atol, rtol));
    EXPECT_TRUE(test::all_close("h_n", out.h_n, io.get<T>("h_n"), atol, rtol));
    if (io.has("c_n")) {
      EXPECT_TRUE(test::all_close("c_n", out.c_n, io.get<T>("c_n"), atol, rtol));
    }
  };
  run(float{}, 1e-5, 1e-4);
  if (f64) run(double{}, 1e-12, 1e-10);
}

TEST(ModelFile, RunsModulesExportedFromPyTorch) {
  check_torch_fixture("lstm_proj_bidir", false);
  check_torch_fixture("gru_batch_first_nobias", false);
  check_torch_fixture("rnn_relu_f64", true);
}

TEST(ModelFile, TorchExportConfigMatches) {
  const std::string dir = std::string(RNN_FIXTURE_DIR) + "/io/";
  const auto lstm = load_recurrent<float>(dir + "torch_lstm_proj_bidir.safetensors");
  EXPECT_EQ(lstm.config.mode, CellMode::LSTM);
  EXPECT_EQ(lstm.config.proj_size, 2);
  EXPECT_TRUE(lstm.config.bidirectional);
  const auto gru = load_recurrent<float>(dir + "torch_gru_batch_first_nobias.safetensors");
  EXPECT_EQ(gru.config.mode, CellMode::GRU);
  EXPECT_TRUE(gru.config.batch_first);
  EXPECT_FALSE(gru.config.bias);
  const auto relu = load_recurrent<double>(dir + "torch_rnn_relu_f64.safetensors");
  EXPECT_EQ(relu.config.mode, CellMode::RNN_RELU);
}

}  // namespace
}  // namespace rnn
