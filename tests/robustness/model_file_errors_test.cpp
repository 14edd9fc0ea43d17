// Bad recurrent model files: each gives rnn::Error naming the problem and the file.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <limits>
#include <string>

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "rnn/core/error.h"
#include "rnn/core/rng.h"
#include "rnn/io/model_file.h"

namespace rnn {
namespace {

namespace fs = std::filesystem;

class ModelFileErrors : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("rnn_model_robust_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    config_.mode = CellMode::LSTM;
    config_.input_size = 3;
    config_.hidden_size = 5;
    config_.num_layers = 2;
    config_.proj_size = 2;
    config_.bidirectional = true;
    Rng rng(1);
    module_ = std::make_unique<Recurrent<float>>(config_, store_, rng);
    valid_ = recurrent_to_safetensors(config_, store_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Writes `file` and returns load_recurrent<T>'s error message ("<no error>" if none).
  template <class T = float>
  std::string load_error(const SafetensorsFile& file) {
    const std::string path = (dir_ / "model.safetensors").string();
    write_safetensors(path, file);
    try {
      load_recurrent<T>(path);
    } catch (const Error& e) {
      const std::string msg = e.what();
      EXPECT_NE(msg.find(path), std::string::npos) << "message does not name the file: " << msg;
      EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
      return msg;
    } catch (const std::exception& e) {
      ADD_FAILURE() << "non-rnn exception: " << e.what();
      return e.what();
    }
    return "<no error>";
  }

  SafetensorsFile with_config(const nlohmann::json& j) {
    SafetensorsFile f = valid_;
    f.metadata["config"] = j.dump();
    return f;
  }

  fs::path dir_;
  RecurrentConfig config_;
  Parameters<float> store_;
  std::unique_ptr<Recurrent<float>> module_;
  SafetensorsFile valid_;
};

#define EXPECT_CONTAINS(text, fragment) \
  EXPECT_NE(std::string(text).find(fragment), std::string::npos) << "message: " << (text)

TEST_F(ModelFileErrors, ValidFileLoads) {
  EXPECT_EQ(load_error(valid_), "<no error>");
  EXPECT_EQ(load_error<double>(valid_), "<no error>");
}

TEST_F(ModelFileErrors, MissingFile) {
  EXPECT_THROW(load_recurrent<float>((dir_ / "nope.safetensors").string()), Error);
}

TEST_F(ModelFileErrors, MissingOrBrokenConfig) {
  SafetensorsFile f = valid_;
  f.metadata.clear();
  EXPECT_CONTAINS(load_error(f), "missing __metadata__ config");
  f.metadata["config"] = "{not json";
  EXPECT_CONTAINS(load_error(f), "not valid JSON");
  f.metadata["config"] = "[1,2]";
  EXPECT_CONTAINS(load_error(f), "JSON object");
  f.metadata["config"] = "";
  EXPECT_CONTAINS(load_error(f), "not valid JSON");
}

TEST_F(ModelFileErrors, ConfigsPyTorchWouldReject) {
  auto cfg = [&](const char* key, const nlohmann::json& value) {
    nlohmann::json j = config_.to_json();
    j[key] = value;
    return with_config(j);
  };
  EXPECT_CONTAINS(load_error(cfg("mode", "GRU")), "proj_size");        // proj_size on GRU
  EXPECT_CONTAINS(load_error(cfg("proj_size", 5)), "proj_size");       // proj_size == hidden
  EXPECT_CONTAINS(load_error(cfg("proj_size", 9)), "proj_size");       // proj_size > hidden
  EXPECT_CONTAINS(load_error(cfg("proj_size", -1)), "proj_size");
  EXPECT_CONTAINS(load_error(cfg("mode", "TRANSFORMER")), "TRANSFORMER");
  EXPECT_CONTAINS(load_error(cfg("hidden_size", 0)), "hidden_size");
  EXPECT_CONTAINS(load_error(cfg("input_size", -3)), "input_size");
  EXPECT_CONTAINS(load_error(cfg("num_layers", 0)), "num_layers");
  EXPECT_CONTAINS(load_error(cfg("dropout", 1.5)), "dropout");
  EXPECT_CONTAINS(load_error(cfg("hidden_size", 2.5)), "hidden_size");
  EXPECT_CONTAINS(load_error(cfg("bias", "yes")), "bias");
  EXPECT_CONTAINS(load_error(cfg("hidden_size", int64_t{1} << 40)), "large");
  nlohmann::json j = config_.to_json();
  j.erase("hidden_size");
  EXPECT_CONTAINS(load_error(with_config(j)), "hidden_size");
}

TEST_F(ModelFileErrors, ConfigDisagreesWithParameters) {
  nlohmann::json j = config_.to_json();
  j["hidden_size"] = 6;
  EXPECT_CONTAINS(load_error(with_config(j)), "expected shape");
  j = config_.to_json();
  j["num_layers"] = 3;
  EXPECT_CONTAINS(load_error(with_config(j)), "missing parameter 'weight_ih_l2'");
  j = config_.to_json();
  j["bidirectional"] = false;  // layer 1's input is half as wide: its shape is checked first
  EXPECT_CONTAINS(load_error(with_config(j)), "parameter 'weight_ih_l1'");
  EXPECT_CONTAINS(load_error(with_config(j)), "expected shape [20, 2], got [20, 4]");
  j = config_.to_json();
  j["bias"] = false;
  EXPECT_CONTAINS(load_error(with_config(j)), "unknown parameter 'bias_hh_l0'");
}

TEST_F(ModelFileErrors, MissingUnknownAndMisshapenParameters) {
  SafetensorsFile f = valid_;
  f.tensors.erase("weight_hh_l1");
  EXPECT_CONTAINS(load_error(f), "missing parameter 'weight_hh_l1' in");

  f = valid_;
  f.put("foo", Tensor<float>({1}, {0.f}));
  EXPECT_CONTAINS(load_error(f), "unknown parameter 'foo' in");

  f = valid_;
  f.tensors["weight_ih_l0"] = f.tensors["weight_ih_l1"];  // [20,4] where [20,3] belongs
  const std::string msg = load_error(f);
  EXPECT_CONTAINS(msg, "parameter 'weight_ih_l0'");
  EXPECT_CONTAINS(msg, "expected shape [20, 3], got [20, 4]");

  f = valid_;
  f.put("weight_hr_l0", Tensor<float>({5, 2}));  // transposed
  EXPECT_CONTAINS(load_error(f), "expected shape [2, 5], got [5, 2]");

  f = valid_;
  f.put("bias_ih_l0", Tensor<float>({1, 20}));
  EXPECT_CONTAINS(load_error(f), "parameter 'bias_ih_l0'");
}

TEST_F(ModelFileErrors, NonFiniteOrNonFloatWeights) {
  for (float bad : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(),
                    -std::numeric_limits<float>::infinity()}) {
    SafetensorsFile f = valid_;
    Tensor<float> w = f.get<float>("weight_hh_l0_reverse");
    w[7] = bad;
    f.put("weight_hh_l0_reverse", w);
    const std::string msg = load_error(f);
    EXPECT_CONTAINS(msg, "weight_hh_l0_reverse");
    EXPECT_CONTAINS(msg, "non-finite");
    EXPECT_CONTAINS(load_error<double>(f), "non-finite");
  }
  // Integers are not weights.
  SafetensorsFile f = valid_;
  f.put("bias_hh_l1", Tensor<int64_t>({20}));
  EXPECT_CONTAINS(load_error(f), "not floating point");
  // F64 values beyond float range overflow to inf when read as float: refused.
  f = valid_;
  Tensor<double> big = f.get<double>("bias_ih_l1");
  big[0] = 1e300;
  f.put("bias_ih_l1", big);
  EXPECT_CONTAINS(load_error(f), "non-finite");
  EXPECT_EQ(load_error<double>(f), "<no error>");
}

TEST_F(ModelFileErrors, FailedLoadLeavesModuleUnchanged) {
  SafetensorsFile f = valid_;
  Tensor<float> w = f.get<float>("weight_hh_l1");
  w[0] = std::nanf("");
  f.put("weight_hh_l1", w);
  // Replace the earlier weights with zeros so a partial copy would show.
  f.put("weight_ih_l0", Tensor<float>({20, 3}));
  const Tensor<float> before = store_.get("weight_ih_l0");
  EXPECT_THROW(load_recurrent_parameters(f, *module_), Error);
  EXPECT_EQ(store_.get("weight_ih_l0").values(), before.values());
}

TEST_F(ModelFileErrors, SaveRejectsMismatchedStore) {
  RecurrentConfig other = config_;
  other.hidden_size = 6;
  other.proj_size = 3;
  EXPECT_THROW(save_recurrent((dir_ / "x.safetensors").string(), other, store_), Error);
  EXPECT_THROW(save_recurrent((dir_ / "x.safetensors").string(), config_, store_, "nope."),
               Error);
  EXPECT_THROW(recurrent_to_safetensors(config_, store_, "", DType::I64), Error);
  EXPECT_FALSE(fs::exists(dir_ / "x.safetensors"));
}

}  // namespace
}  // namespace rnn
