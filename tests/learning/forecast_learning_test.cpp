// Forecasting end to end through the `rnn` program on a small seasonal series: train
// (the one trainer), walk-forward eval against the baselines (--json), predict with
// --holdout (CSV and SVG). Within a fixed budget of 300 steps a GRU direct forecaster must
// beat the naive forecast's MASE at every step; the CNN baseline trains through the same
// command.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

namespace fs = std::filesystem;

namespace {

std::string read_text(const fs::path& p) {
  std::ifstream in(p);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

class ForecastEndToEnd : public ::testing::Test {
 protected:
  void SetUp() override {
    cli_ = RNN_CLI_PATH;
    if (cli_.empty()) GTEST_SKIP() << "the rnn program is not built";
    dir_ = fs::temp_directory_path() /
           ("rnn_forecast_e2e_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  int run(const std::string& args, std::string* out = nullptr) const {
    const fs::path o = dir_ / "stdout.txt";
    const std::string cmd = "OPENBLAS_NUM_THREADS=1 '" + cli_ + "' " + args + " >'" + o.string() +
                            "' 2>'" + (dir_ / "stderr.txt").string() + "'";
    const int status = std::system(cmd.c_str());
    if (out) *out = read_text(o);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
  }

  std::string data() const {
    return "--data '" + std::string(RNN_FIXTURE_DIR) + "/forecast/seasonal.csv' --target value --time month";
  }

  std::string cli_;
  fs::path dir_;
};

TEST_F(ForecastEndToEnd, TrainEvalPredict) {
  const std::string gru = (dir_ / "gru").string(), cnn = (dir_ / "cnn").string();
  ASSERT_EQ(run("forecast train " + data() + " --lookback 12 --horizon 4 --season 12 --hidden 12 "
                "--steps 300 --eval-every 50 --patience 0 --lr 0.01 --json --run-dir '" + gru + "'"),
            0) << read_text(dir_ / "stderr.txt");
  ASSERT_EQ(run("forecast train " + data() + " --model cnn --lookback 12 --horizon 4 --season 12 "
                "--steps 100 --eval-every 50 --run-dir '" + cnn + "'"),
            0) << read_text(dir_ / "stderr.txt");
  for (const char* f : {"model.safetensors", "best.ckpt", "last.ckpt", "metrics.jsonl", "curves.svg",
                        "forecast.json"})
    EXPECT_TRUE(fs::exists(fs::path(gru) / f)) << f;

  std::string out;
  ASSERT_EQ(run("forecast eval --json --run '" + gru + "' --run '" + cnn + "'", &out), 0)
      << read_text(dir_ / "stderr.txt");
  const auto j = nlohmann::json::parse(out);
  ASSERT_EQ(j["methods"].size(), 5u);  // gru, cnn, naive, seasonal naive, AR
  const auto& net = j["methods"][0];
  const auto& naive = j["methods"][2];
  EXPECT_EQ(naive["method"], "naive");
  for (size_t k = 0; k < 4; ++k) {
    EXPECT_EQ(net["steps"][k]["count"], 10);  // every test row at every step
    EXPECT_LT(net["steps"][k]["mase"].get<double>(), naive["steps"][k]["mase"].get<double>())
        << "step " << k + 1;
  }

  const fs::path csv = dir_ / "f.csv", svg = dir_ / "f.svg";
  ASSERT_EQ(run("forecast predict --run '" + gru + "' --holdout --output '" + csv.string() +
                "' --plot '" + svg.string() + "'"),
            0);
  const std::string text = read_text(csv);
  EXPECT_EQ(text.substr(0, text.find('\n')), "step,time,value,value_actual");
  EXPECT_NE(text.find("4,m96,"), std::string::npos) << text;
  EXPECT_NE(read_text(svg).find("<polyline"), std::string::npos);
}

}  // namespace
