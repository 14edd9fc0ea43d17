// Parity of the `rnn run` program with torch, end to end through files: each fixture of
// tests/fixtures/recurrent/ is split into a model file (parameters + config), an input
// file (x, h0, c0, lengths) and a gradient file (dy, dh_n, dc_n); `rnn run --grad`
// must reproduce torch's outputs and gradients within the same tolerances as the
// library parity test (float32 atol 1e-5, rtol 1e-4; float64 atol 1e-10, rtol 1e-9).
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "rnn/io/safetensors.h"
#include "support/compare.h"

namespace fs = std::filesystem;

namespace {

std::string fixture_dir() { return std::string(RNN_FIXTURE_DIR) + "/recurrent"; }

std::vector<std::string> list_fixtures() {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(fixture_dir(), ec)) {
    if (entry.path().extension() == ".safetensors") names.push_back(entry.path().stem().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

bool is_input(const std::string& n) { return n == "x" || n == "h0" || n == "c0" || n == "lengths"; }
bool is_upstream(const std::string& n) { return n == "dy" || n == "dh_n" || n == "dc_n"; }
bool is_expected(const std::string& n) {
  return n == "y" || n == "h_n" || n == "c_n" || n == "dx" || n == "dh0" || n == "dc0" ||
         n.rfind("grad.", 0) == 0;
}

class CliFixture : public ::testing::TestWithParam<std::string> {};

TEST_P(CliFixture, Matches) {
  const std::string cli = RNN_CLI_PATH;
  if (cli.empty()) GTEST_SKIP() << "the rnn program is not built";
  const std::string name = GetParam();
  const auto fixture = rnn::read_safetensors(fixture_dir() + "/" + name + ".safetensors");
  const bool f64 = fixture.metadata.count("dtype") && fixture.metadata.at("dtype") == "float64";
  const double atol = f64 ? 1e-10 : 1e-5, rtol = f64 ? 1e-9 : 1e-4;

  const fs::path dir =
      fs::temp_directory_path() / ("rnn_cli_parity_" + std::to_string(::getpid()) + "_" + name);
  fs::remove_all(dir);
  fs::create_directories(dir);

  rnn::SafetensorsFile model, input, upstream;
  model.metadata["config"] = fixture.metadata.at("config");
  for (const auto& [tensor, stored] : fixture.tensors) {
    if (is_input(tensor)) {
      input.tensors[tensor] = stored;
    } else if (is_upstream(tensor)) {
      upstream.tensors[tensor] = stored;
    } else if (!is_expected(tensor)) {
      model.tensors[tensor] = stored;  // a parameter, under its PyTorch name
    }
  }
  const std::string model_path = (dir / "model.safetensors").string();
  const std::string input_path = (dir / "input.safetensors").string();
  const std::string grad_path = (dir / "grad.safetensors").string();
  const std::string out_path = (dir / "out.safetensors").string();
  const std::string err_path = (dir / "stderr.txt").string();
  rnn::write_safetensors(model_path, model);
  rnn::write_safetensors(input_path, input);
  rnn::write_safetensors(grad_path, upstream);

  const std::string command = "'" + cli + "' run --model '" + model_path + "' --input '" +
                              input_path + "' --grad '" + grad_path + "' --output '" + out_path +
                              "' 2>'" + err_path + "'";
  const int status = std::system(command.c_str());
  ASSERT_TRUE(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0)
      << name << ": `rnn run` failed (status " << status << ")";
  const auto out = rnn::read_safetensors(out_path);

  size_t compared = 0;
  for (const auto& [tensor, stored] : fixture.tensors) {
    if (!is_expected(tensor)) continue;
    ASSERT_TRUE(out.has(tensor)) << name << ": `rnn run` did not write '" << tensor << "'";
    EXPECT_EQ(out.at(tensor).dtype, stored.dtype) << name << ": " << tensor;
    EXPECT_TRUE(rnn::test::all_close(name + ": " + tensor + " " + rnn::shape_str(stored.shape),
                                     out.get<double>(tensor), fixture.get<double>(tensor), atol,
                                     rtol));
    ++compared;
  }
  EXPECT_EQ(out.tensors.size(), compared) << name << ": `rnn run` wrote unexpected tensors";
  fs::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(RecurrentCliParity, CliFixture, ::testing::ValuesIn(list_fixtures()),
                         [](const ::testing::TestParamInfo<std::string>& param_info) {
                           return param_info.param;
                         });

}  // namespace
