// Quantile forecasts end to end through the `rnn` program on a series with known noise:
// y[t] = 10 sin(2 pi t / 12) + e[t], e ~ N(0, 1) independent. The ideal 0.1 and 0.9
// quantiles are the seasonal curve -/+ 1.2816, so an 80% interval 2.563 wide. A GRU direct
// forecaster trained with --quantiles 0.1,0.5,0.9 for 400 steps must cover 68-92% of the
// 120 test rows at every step (binomial sd 3.7 points) with a width within 30% of the
// ideal, and its median must beat naive; predict writes one column per level and the SVG
// draws the interval.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdint>
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

class ForecastQuantileLearning : public ::testing::Test {
 protected:
  void SetUp() override {
    cli_ = RNN_CLI_PATH;
    if (cli_.empty()) GTEST_SKIP() << "the rnn program is not built";
    dir_ = fs::temp_directory_path() / ("rnn_forecast_q_" + std::to_string(::getpid()));
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

  // 1200 rows of the seasonal curve plus standard normal noise (Box-Muller on a fixed
  // 64-bit LCG, so the file is the same everywhere).
  fs::path write_series() const {
    uint64_t state = 12345;
    auto uniform = [&] {
      state = state * 6364136223846793005ULL + 1442695040888963407ULL;
      return (static_cast<double>(state >> 11) + 0.5) * 0x1.0p-53;
    };
    const double pi = std::acos(-1.0);
    std::ostringstream csv;
    csv << "t,y\n";
    for (int t = 0; t < 1200; ++t) {
      const double e = std::sqrt(-2.0 * std::log(uniform())) * std::cos(2.0 * pi * uniform());
      csv << t << "," << 10.0 * std::sin(2.0 * pi * t / 12.0) + e << "\n";
    }
    const fs::path p = dir_ / "noisy.csv";
    std::ofstream(p) << csv.str();
    return p;
  }

  std::string cli_;
  fs::path dir_;
};

TEST_F(ForecastQuantileLearning, IntervalsCoverTheKnownNoise) {
  const fs::path data = write_series(), run_dir = dir_ / "q";
  ASSERT_EQ(run("forecast train --data '" + data.string() + "' --target y --time t --lookback 24 "
                "--horizon 3 --season 12 --hidden 16 --batch 64 --steps 400 --eval-every 50 "
                "--patience 0 --lr 0.01 --quantiles 0.1,0.5,0.9 --progress off --run-dir '" +
                run_dir.string() + "'"),
            0) << read_text(dir_ / "stderr.txt");

  std::string out;
  ASSERT_EQ(run("forecast eval --json --run '" + run_dir.string() + "'", &out), 0)
      << read_text(dir_ / "stderr.txt");
  const auto j = nlohmann::json::parse(out);
  const auto& net = j["methods"][0];
  const auto& naive = j["methods"][1];
  ASSERT_EQ(naive["method"], "naive");
  ASSERT_EQ(net["quantiles"], nlohmann::json({0.1, 0.5, 0.9}));
  const double ideal = 2.0 * 1.2815516;
  for (size_t k = 0; k < 3; ++k) {
    const auto& s = net["steps"][k];
    SCOPED_TRACE("step " + std::to_string(k + 1) + ": " + s.dump());
    EXPECT_EQ(s["count"], 120);
    EXPECT_NEAR(s["nominal_coverage"].get<double>(), 0.8, 1e-12);
    EXPECT_GT(s["coverage"].get<double>(), 0.68);
    EXPECT_LT(s["coverage"].get<double>(), 0.92);
    EXPECT_GT(s["interval_width"].get<double>(), 0.7 * ideal);
    EXPECT_LT(s["interval_width"].get<double>(), 1.3 * ideal);
    EXPECT_LT(s["mase"].get<double>(), naive["steps"][k]["mase"].get<double>());
    EXPECT_FALSE(naive["steps"][k].contains("coverage"));  // point methods have no interval
  }

  const fs::path csv = dir_ / "f.csv", svg = dir_ / "f.svg";
  ASSERT_EQ(run("forecast predict --run '" + run_dir.string() + "' --holdout --output '" +
                csv.string() + "' --plot '" + svg.string() + "'"),
            0) << read_text(dir_ / "stderr.txt");
  std::istringstream lines(read_text(csv));
  std::string header, row;
  std::getline(lines, header);
  EXPECT_EQ(header, "step,time,y,y_q0.1,y_q0.5,y_q0.9,y_actual");
  std::getline(lines, row);  // 1,1197,<median>,<q0.1>,<q0.5>,<q0.9>,<actual>
  std::vector<double> v;
  std::istringstream cells(row);
  for (std::string cell; std::getline(cells, cell, ',');) v.push_back(std::atof(cell.c_str()));
  ASSERT_EQ(v.size(), 7u) << row;
  EXPECT_EQ(v[2], v[4]);  // the point forecast is the median column
  EXPECT_LT(v[3], v[4]);
  EXPECT_LT(v[4], v[5]);
  const std::string picture = read_text(svg);
  EXPECT_NE(picture.find("<polygon"), std::string::npos);
  EXPECT_NE(picture.find("y 80% interval"), std::string::npos);
}

}  // namespace
