// `rnn run` on bad arguments and bad files: exit status 2 for bad usage, 1 for anything
// else, exactly one line on stderr naming the problem, never a crash (DESIGN.md 2b).
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <sstream>
#include <string>
#include <unistd.h>
#include <vector>

#include <nlohmann/json.hpp>

#include "rnn/core/parameters.h"
#include "rnn/core/rng.h"
#include "rnn/io/model_file.h"
#include "rnn/io/safetensors.h"
#include "rnn/layers/recurrent.h"
#include "support/gradcheck.h"

namespace fs = std::filesystem;

namespace {

struct CliResult {
  int exit_code = -1;  // the program's status (a crash shows as 128 + signal via sh)
  std::string out;
  std::string err;
};

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

class CliRun : public ::testing::Test {
 protected:
  // Sizes: I=3, H=5, B=2, T=4 (LSTM, so c0/c_n exist).
  static constexpr int64_t kI = 3, kH = 5, kB = 2, kT = 4;

  void SetUp() override {
    cli_ = RNN_CLI_PATH;
    if (cli_.empty()) GTEST_SKIP() << "the rnn program is not built (RNN_BUILD_CLI=OFF)";
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() /
           ("rnn_cli_run_" + std::to_string(::getpid()) + "_" + info->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);

    config_.mode = rnn::CellMode::LSTM;
    config_.input_size = kI;
    config_.hidden_size = kH;
    rnn::Parameters<float> store;
    rnn::Rng rng(7);
    rnn::Recurrent<float> module(config_, store, rng);
    model_ = path("model.safetensors");
    rnn::save_recurrent(model_, module);

    rnn::Rng data(11);
    x_ = rnn::test::random_tensor_f({kT, kB, kI}, data);
    write_input("input.safetensors", {{"x", rnn::StoredTensor::from(x_)}});
    input_ = path("input.safetensors");
    output_ = path("out.safetensors");
  }

  void TearDown() override {
    if (!dir_.empty()) fs::remove_all(dir_);
  }

  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  void write_input(const std::string& name,
                   const std::map<std::string, rnn::StoredTensor>& tensors) const {
    rnn::SafetensorsFile f;
    f.tensors = tensors;
    rnn::write_safetensors(path(name), f);
  }

  CliResult run(const std::string& args) const {
    const std::string out = path("stdout.txt"), err = path("stderr.txt");
    const std::string command = "'" + cli_ + "' " + args + " >'" + out + "' 2>'" + err + "'";
    const int status = std::system(command.c_str());
    CliResult r;
    r.exit_code = (status != -1 && WIFEXITED(status)) ? WEXITSTATUS(status) : -1;
    r.out = read_text(out);
    r.err = read_text(err);
    return r;
  }

  std::string run_args(const std::string& input) const {
    return "run --model '" + model_ + "' --input '" + input + "' --output '" + output_ + "'";
  }

  // Exit status `code`, nothing on stdout, exactly one line on stderr containing `needle`.
  static void expect_failure(const CliResult& r, int code, const std::string& needle) {
    EXPECT_EQ(r.exit_code, code) << "stderr: " << r.err;
    EXPECT_TRUE(r.out.empty()) << "stdout should be empty, got: " << r.out;
    ASSERT_FALSE(r.err.empty()) << "no message on stderr";
    EXPECT_EQ(r.err.back(), '\n') << "message not terminated: " << r.err;
    EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << "message is not one line: " << r.err;
    EXPECT_NE(r.err.find(needle), std::string::npos)
        << "message does not mention '" << needle << "': " << r.err;
  }

  std::string cli_;
  fs::path dir_;
  rnn::RecurrentConfig config_;
  rnn::Tensor<float> x_;
  std::string model_, input_, output_;
};

rnn::StoredTensor int_tensor(const std::vector<int64_t>& values, rnn::DType dtype) {
  rnn::StoredTensor t;
  t.dtype = dtype;
  t.shape = {static_cast<int64_t>(values.size())};
  for (int64_t v : values) {
    if (dtype == rnn::DType::I32) {
      const auto v32 = static_cast<int32_t>(v);
      const auto* p = reinterpret_cast<const unsigned char*>(&v32);
      t.bytes.insert(t.bytes.end(), p, p + 4);
    } else {
      const auto* p = reinterpret_cast<const unsigned char*>(&v);
      t.bytes.insert(t.bytes.end(), p, p + 8);
    }
  }
  return t;
}

TEST_F(CliRun, SucceedsAndPrintsJson) {
  const CliResult r = run(run_args(input_) + " --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);  // exactly one JSON object
  EXPECT_EQ(j.at("output"), output_);
  EXPECT_EQ(j.at("tensors"), (nlohmann::json{"c_n", "h_n", "y"}));
  const auto file = rnn::read_safetensors(output_);
  EXPECT_EQ(file.at("y").shape, (rnn::Shape{kT, kB, kH}));
  EXPECT_EQ(file.at("h_n").shape, (rnn::Shape{1, kB, kH}));
  EXPECT_EQ(file.at("c_n").shape, (rnn::Shape{1, kB, kH}));
}

TEST_F(CliRun, GradWritesEveryGradient) {
  rnn::Rng data(3);
  write_input("grad.safetensors",
              {{"dy", rnn::StoredTensor::from(rnn::test::random_tensor_f({kT, kB, kH}, data))}});
  const CliResult r = run(run_args(input_) + " --grad '" + path("grad.safetensors") + "' --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto file = rnn::read_safetensors(output_);
  for (const char* name : {"y", "h_n", "c_n", "dx", "dh0", "dc0", "grad.weight_ih_l0",
                           "grad.weight_hh_l0", "grad.bias_ih_l0", "grad.bias_hh_l0"}) {
    EXPECT_TRUE(file.has(name)) << name;
  }
  EXPECT_EQ(file.at("dx").shape, (rnn::Shape{kT, kB, kI}));
}

TEST_F(CliRun, LengthsAsI32AreAccepted) {
  write_input("in32.safetensors", {{"x", rnn::StoredTensor::from(x_)},
                                   {"lengths", int_tensor({2, 4}, rnn::DType::I32)}});
  const CliResult r = run(run_args(path("in32.safetensors")));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto y = rnn::read_safetensors(output_).get<float>("y");
  for (int64_t t = 2; t < kT; ++t) {
    for (int64_t h = 0; h < kH; ++h) EXPECT_EQ(y.at(t, 0, h), 0.0f) << "t " << t << " h " << h;
  }
}

TEST_F(CliRun, MissingModelOptionIsUsageError) {
  expect_failure(run("run --input '" + input_ + "' --output '" + output_ + "'"), 2, "--model");
}

TEST_F(CliRun, MissingInputOptionIsUsageError) {
  expect_failure(run("run --model '" + model_ + "' --output '" + output_ + "'"), 2, "--input");
}

TEST_F(CliRun, MissingOutputOptionIsUsageError) {
  expect_failure(run("run --model '" + model_ + "' --input '" + input_ + "'"), 2, "--output");
}

TEST_F(CliRun, UnknownOptionIsUsageError) {
  expect_failure(run(run_args(input_) + " --frobnicate 3"), 2, "frobnicate");
}

TEST_F(CliRun, MissingModelFile) {
  const std::string missing = path("no_such_model.safetensors");
  expect_failure(run("run --model '" + missing + "' --input '" + input_ + "' --output '" +
                     output_ + "'"),
                 1, "no_such_model.safetensors");
  EXPECT_FALSE(fs::exists(output_));
}

TEST_F(CliRun, MissingInputFile) {
  expect_failure(run(run_args(path("no_such_input.safetensors"))), 1, "no_such_input.safetensors");
}

TEST_F(CliRun, MissingGradFile) {
  expect_failure(run(run_args(input_) + " --grad '" + path("no_such_grad.safetensors") + "'"), 1,
                 "no_such_grad.safetensors");
}

TEST_F(CliRun, ModelFileThatIsNotSafetensors) {
  std::ofstream(model_, std::ios::binary | std::ios::trunc) << "this is not a safetensors file";
  expect_failure(run(run_args(input_)), 1, "model.safetensors");
}

TEST_F(CliRun, TruncatedInputFile) {
  const std::string bytes = read_text(input_);
  std::ofstream(path("cut.safetensors"), std::ios::binary)
      << bytes.substr(0, bytes.size() - 5);
  expect_failure(run(run_args(path("cut.safetensors"))), 1, "cut.safetensors");
}

TEST_F(CliRun, InputWithoutX) {
  write_input("nox.safetensors",
              {{"h0", rnn::StoredTensor::from(rnn::Tensor<float>({1, kB, kH}, 0.5f))}});
  expect_failure(run(run_args(path("nox.safetensors"))), 1, "'x'");
}

TEST_F(CliRun, WrongFeatureCountInX) {
  write_input("wide.safetensors",
              {{"x", rnn::StoredTensor::from(rnn::Tensor<float>({kT, kB, kI + 1}, 0.5f))}});
  expect_failure(run(run_args(path("wide.safetensors"))), 1, "'x'");
}

TEST_F(CliRun, WrongRankX) {
  write_input("rank2.safetensors",
              {{"x", rnn::StoredTensor::from(rnn::Tensor<float>({kT, kI}, 0.5f))}});
  expect_failure(run(run_args(path("rank2.safetensors"))), 1, "'x'");
}

TEST_F(CliRun, WrongShapeH0) {
  write_input("h0.safetensors",
              {{"x", rnn::StoredTensor::from(x_)},
               {"h0", rnn::StoredTensor::from(rnn::Tensor<float>({1, kB + 1, kH}, 0.5f))}});
  expect_failure(run(run_args(path("h0.safetensors"))), 1, "'h0'");
}

TEST_F(CliRun, LengthZeroIsOutOfRange) {
  write_input("len0.safetensors", {{"x", rnn::StoredTensor::from(x_)},
                                   {"lengths", int_tensor({0, 4}, rnn::DType::I64)}});
  expect_failure(run(run_args(path("len0.safetensors"))), 1, "lengths");
}

TEST_F(CliRun, LengthBeyondStepsIsOutOfRange) {
  write_input("len5.safetensors", {{"x", rnn::StoredTensor::from(x_)},
                                   {"lengths", int_tensor({kT + 1, 2}, rnn::DType::I32)}});
  expect_failure(run(run_args(path("len5.safetensors"))), 1, "lengths");
}

TEST_F(CliRun, NegativeLength) {
  write_input("lenneg.safetensors", {{"x", rnn::StoredTensor::from(x_)},
                                     {"lengths", int_tensor({-3, 2}, rnn::DType::I64)}});
  expect_failure(run(run_args(path("lenneg.safetensors"))), 1, "lengths");
}

TEST_F(CliRun, LengthsOfWrongBatch) {
  write_input("len3.safetensors", {{"x", rnn::StoredTensor::from(x_)},
                                   {"lengths", int_tensor({1, 2, 3}, rnn::DType::I64)}});
  expect_failure(run(run_args(path("len3.safetensors"))), 1, "lengths");
}

TEST_F(CliRun, FloatingLengthsAreRejected) {
  write_input("lenf.safetensors",
              {{"x", rnn::StoredTensor::from(x_)},
               {"lengths", rnn::StoredTensor::from(rnn::Tensor<float>({kB}, 2.0f))}});
  expect_failure(run(run_args(path("lenf.safetensors"))), 1, "lengths");
}

TEST_F(CliRun, UnknownTensorInInput) {
  write_input("typo.safetensors",
              {{"x", rnn::StoredTensor::from(x_)},
               {"h_0", rnn::StoredTensor::from(rnn::Tensor<float>({1, kB, kH}, 0.5f))}});
  expect_failure(run(run_args(path("typo.safetensors"))), 1, "h_0");
}

TEST_F(CliRun, NonFiniteInput) {
  rnn::Tensor<float> bad = x_;
  bad[5] = std::numeric_limits<float>::quiet_NaN();
  write_input("nan.safetensors", {{"x", rnn::StoredTensor::from(bad)}});
  const CliResult r = run(run_args(path("nan.safetensors")));
  expect_failure(r, 1, "x");
}

TEST_F(CliRun, WrongShapeUpstreamGradient) {
  write_input("badgrad.safetensors",
              {{"dy", rnn::StoredTensor::from(rnn::Tensor<float>({kT, kB, kH + 1}, 0.5f))}});
  expect_failure(run(run_args(input_) + " --grad '" + path("badgrad.safetensors") + "'"), 1,
                 "'dy'");
}

TEST_F(CliRun, GradFileWithoutDy) {
  write_input("nody.safetensors",
              {{"dh_n", rnn::StoredTensor::from(rnn::Tensor<float>({1, kB, kH}, 0.5f))}});
  expect_failure(run(run_args(input_) + " --grad '" + path("nody.safetensors") + "'"), 1, "'dy'");
}

TEST_F(CliRun, ModelWithBadConfig) {
  rnn::SafetensorsFile f = rnn::read_safetensors(model_);
  f.metadata["config"] = R"({"mode":"LSTM","input_size":3})";
  rnn::write_safetensors(model_, f);
  expect_failure(run(run_args(input_)), 1, "hidden_size");
}

TEST_F(CliRun, ModelMissingAParameter) {
  rnn::SafetensorsFile f = rnn::read_safetensors(model_);
  f.tensors.erase("weight_hh_l0");
  rnn::write_safetensors(model_, f);
  expect_failure(run(run_args(input_)), 1, "weight_hh_l0");
}

TEST_F(CliRun, UnwritableOutput) {
  const std::string out = path("no_such_dir/out.safetensors");
  expect_failure(run("run --model '" + model_ + "' --input '" + input_ + "' --output '" + out +
                     "'"),
                 1, "no_such_dir");
}

}  // namespace
