// `rnn forecast` on bad data and arguments: exit 2 for bad usage, 1 for anything else,
// one line on stderr naming the problem, and nothing written (no run folder, no output).
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "rnn/io/safetensors.h"

namespace fs = std::filesystem;

namespace {

struct CliResult {
  int exit_code = -1;
  std::string err;
};

class ForecastErrors : public ::testing::Test {
 protected:
  void SetUp() override {
    cli_ = RNN_CLI_PATH;
    if (cli_.empty()) GTEST_SKIP() << "the rnn program is not built";
    dir_ = fs::temp_directory_path() /
           ("rnn_forecast_err_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  CliResult run(const std::string& args) const {
    const fs::path err = dir_ / "stderr.txt";
    const std::string cmd = "OPENBLAS_NUM_THREADS=1 '" + cli_ + "' " + args + " >'" +
                            (dir_ / "stdout.txt").string() + "' 2>'" + err.string() + "'";
    const int status = std::system(cmd.c_str());
    CliResult r;
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    std::ifstream in(err);
    std::ostringstream s;
    s << in.rdbuf();
    r.err = s.str();
    return r;
  }

  // Training on `csv` must fail with `code`, one stderr line containing `expected`, and
  // leave no run folder behind.
  void expect_train_error(const std::string& csv, const std::string& extra, int code,
                          const std::string& expected) const {
    const fs::path run_dir = dir_ / "run";
    const CliResult q = run("forecast train --data '" + fixture(csv) + "' --target value " + extra +
                            " --steps 2 --run-dir '" + run_dir.string() + "'");
    EXPECT_EQ(q.exit_code, code) << q.err;
    EXPECT_NE(q.err.find(expected), std::string::npos) << q.err;
    EXPECT_EQ(std::count(q.err.begin(), q.err.end(), '\n'), 1) << q.err;
    EXPECT_FALSE(fs::exists(run_dir)) << "a run folder was written";
  }

  static std::string fixture(const std::string& name) {
    return std::string(RNN_FIXTURE_DIR) + "/forecast/" + name;
  }

  std::string cli_;
  fs::path dir_;
};

TEST_F(ForecastErrors, MissingColumn) {
  expect_train_error("seasonal.csv", "--covariates nope", 1, "no column 'nope' (columns: month, value, temp)");
}
TEST_F(ForecastErrors, NonNumericValue) {
  expect_train_error("non_numeric.csv", "", 1, "non_numeric.csv:8: column 'value': 'abc' is not a number");
}
TEST_F(ForecastErrors, MissingValueRejectedByDefault) {
  expect_train_error("missing.csv", "", 1, "missing.csv:6: column 'value': missing value");
}
TEST_F(ForecastErrors, NaNIsAMissingValue) {
  expect_train_error("nan.csv", "", 1, "nan.csv:13: column 'value': missing value 'NaN'");
}
TEST_F(ForecastErrors, TooFewRows) {
  expect_train_error("short.csv", "--lookback 12 --horizon 6", 1, "too few rows");
}
TEST_F(ForecastErrors, ConstantSeries) {
  expect_train_error("constant.csv", "", 1, "column 'value' is constant on the training part");
}
TEST_F(ForecastErrors, LogOfNonPositive) {
  expect_train_error("non_positive.csv", "--log", 1, "--log needs positive values: column 'value' row 3");
}
TEST_F(ForecastErrors, BadUsage) {
  expect_train_error("seasonal.csv", "--model transformer", 2, "--model");
  expect_train_error("seasonal.csv", "--lookback 0", 2, "--lookback and --horizon must be >= 1");
  expect_train_error("seasonal.csv", "--model recursive --covariates temp", 2, "covariates");
  expect_train_error("seasonal.csv", "--missing maybe", 2, "--missing");
}
TEST_F(ForecastErrors, MissingFileAndModel) {
  expect_train_error("does_not_exist.csv", "", 1, "cannot open");
  const CliResult r = run("forecast eval --run '" + (dir_ / "none").string() + "'");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  const fs::path out = dir_ / "f.csv";
  const CliResult p = run("forecast predict --run '" + (dir_ / "none").string() + "' --output '" +
                          out.string() + "'");
  EXPECT_EQ(p.exit_code, 1);
  EXPECT_FALSE(fs::exists(out));
}

TEST_F(ForecastErrors, BadQuantiles) {
  expect_train_error("seasonal.csv", "--quantiles 0.1,1.5", 2, "--quantiles: level 1.5 is outside (0, 1)");
  expect_train_error("seasonal.csv", "--quantiles 0.9,0.1", 2,
                     "--quantiles: 0.1 after 0.9: the levels must be increasing, no repeats");
  expect_train_error("seasonal.csv", "--quantiles 0.1,x", 2, "--quantiles: 'x' is not a number");
  expect_train_error("seasonal.csv", "--quantiles 0.1,0.9 --loss mae", 2, "--loss");
}

// A quantile model whose recorded levels were edited: invalid levels, or a count that no
// longer matches the head's parameters, are refused on load with the file named.
TEST_F(ForecastErrors, EditedQuantileModelFile) {
  const fs::path run_dir = dir_ / "q";
  const CliResult t = run("forecast train --data '" + fixture("seasonal.csv") +
                          "' --target value --lookback 12 --horizon 3 --hidden 4 --steps 2 "
                          "--quantiles 0.1,0.5,0.9 --progress off --run-dir '" + run_dir.string() + "'");
  ASSERT_EQ(t.exit_code, 0) << t.err;
  const std::string model = (run_dir / "model.safetensors").string();
  ASSERT_EQ(run("forecast eval --run '" + model + "'").exit_code, 0);
  auto edit = [&](const nlohmann::json& levels) {
    rnn::SafetensorsFile f = rnn::read_safetensors(model);
    nlohmann::json meta = nlohmann::json::parse(f.metadata.at("forecast"));
    meta["model"]["quantiles"] = levels;
    f.metadata["forecast"] = meta.dump();
    rnn::write_safetensors(model, f);
  };
  const fs::path out = dir_ / "f.csv";
  for (const auto& [levels, expected] :
       {std::pair{nlohmann::json({0.5, 1.5}), std::string("quantiles: level 1.5 is outside (0, 1)")},
        std::pair{nlohmann::json({0.1, 0.9}), std::string("parameter 'head.weight' is")}}) {
    edit(levels);
    const CliResult e = run("forecast eval --run '" + model + "'");
    EXPECT_EQ(e.exit_code, 1);
    EXPECT_NE(e.err.find(model + ": " + expected), std::string::npos) << e.err;
    EXPECT_EQ(std::count(e.err.begin(), e.err.end(), '\n'), 1) << e.err;
    const CliResult p = run("forecast predict --run '" + model + "' --output '" + out.string() + "'");
    EXPECT_EQ(p.exit_code, 1);
    EXPECT_FALSE(fs::exists(out));
  }
}

}  // namespace
