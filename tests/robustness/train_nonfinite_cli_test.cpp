// Numerical faults through `rnn lm train`: an absurd learning rate (1e30) makes the
// gradients NaN from the second step on. By default training stops with one line naming
// the step and the parameter; with --on-nonfinite skip it skips such steps, halving the lr
// each time, leaves the weights and the optimizer state untouched, and stops after the
// sixth in a row. No checkpoint ever holds a non-finite weight.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <string>
#include <unistd.h>
#include <vector>

#include <nlohmann/json.hpp>

#include "rnn/train/checkpoint.h"

namespace {

namespace fs = std::filesystem;

struct Result {
  int status = -1;
  std::string err;
};

class TrainNonFiniteCli : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::string(RNN_CLI_PATH).empty()) GTEST_SKIP() << "CLI not built";
    dir_ = fs::temp_directory_path() /
           ("rnn_nonfinite_cli_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    if (!dir_.empty()) fs::remove_all(dir_);
  }

  Result train(const std::string& run, const std::string& extra) const {
    const std::string args =
        "lm train --text " + std::string(RNN_SOURCE_DIR) +
        "/data/sample/kjv_genesis.txt --hidden 16 --layers 1 --embed 8 --batch 4 --seq-len 16"
        " --eval-every 0 --checkpoint-every 1 --progress off --threads 1 --skip-test --steps 20"
        " --optimizer sgd --momentum 0.9 --lr 1e30 --clip 0 --run-dir " + (dir_ / run).string() +
        " " + extra;
    const fs::path err = dir_ / "stderr.txt";
    const std::string command =
        std::string(RNN_CLI_PATH) + " " + args + " > /dev/null 2> '" + err.string() + "'";
    const int raw = std::system(command.c_str());
    std::ifstream in(err);
    std::string text((std::istreambuf_iterator<char>(in)), {});
    // The first stderr line is the data summary; the error is the last line.
    const auto cut = text.rfind('\n', text.size() >= 2 ? text.size() - 2 : 0);
    if (cut != std::string::npos && cut + 1 < text.size()) text = text.substr(cut + 1);
    return {WIFEXITED(raw) ? WEXITSTATUS(raw) : -1, text};
  }

  // The step an error line names ("rnn: error: step N: ...").
  static int64_t named_step(const std::string& line) {
    std::smatch m;
    if (!std::regex_search(line, m, std::regex("error: step ([0-9]+): "))) return -1;
    return std::stoll(m[1].str());
  }

  static rnn::Checkpoint last(const fs::path& run) {
    return rnn::Checkpoint::load((run / "last.ckpt").string());
  }

  static void expect_all_finite(const rnn::Checkpoint& c) {
    for (const auto& [name, t] : c.tensors) {
      for (int64_t i = 0; i < t.numel(); ++i) ASSERT_TRUE(std::isfinite(t[i])) << name << " [" << i << "]";
    }
  }

  fs::path dir_;
};

TEST_F(TrainNonFiniteCli, StopsNamingTheStepAndKeepsTheCheckpoint) {
  const Result r = train("stop", "");
  EXPECT_EQ(r.status, 1) << r.err;
  const int64_t step = named_step(r.err);
  ASSERT_GE(step, 2) << r.err;
  EXPECT_NE(r.err.find("is not finite"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("at step " + std::to_string(step - 1) + ", is intact"), std::string::npos) << r.err;
  const rnn::Checkpoint c = last(dir_ / "stop");
  EXPECT_EQ(c.meta["trainer"]["step"], step - 1);
  expect_all_finite(c);
}

TEST_F(TrainNonFiniteCli, SkipHalvesTheLrLeavesTheWeightsAndIsBounded) {
  const Result stopped = train("stop", "");
  const int64_t first_bad = named_step(stopped.err);
  ASSERT_GE(first_bad, 2) << stopped.err;

  const Result r = train("skip", "--on-nonfinite skip");
  EXPECT_EQ(r.status, 1) << r.err;
  EXPECT_EQ(named_step(r.err), first_bad + 5) << r.err;  // five skipped, the sixth stops
  EXPECT_NE(r.err.find("6 non-finite steps in a row, more than the 5 allowed"), std::string::npos) << r.err;

  // The skipped steps changed neither the weights nor SGD's momentum: the checkpoint after
  // them equals the one before the first, tensor for tensor.
  const rnn::Checkpoint before = last(dir_ / "stop");
  const rnn::Checkpoint after = last(dir_ / "skip");
  EXPECT_EQ(after.meta["trainer"]["step"], first_bad + 4);
  EXPECT_EQ(after.meta["trainer"]["skipped_steps"], 5);
  ASSERT_EQ(before.tensors.size(), after.tensors.size());
  bool momentum = false;
  for (const auto& [name, t] : before.tensors) {
    if (name.rfind("task.", 0) == 0) continue;  // the data position and carried state move on
    const auto& u = after.tensors.at(name);
    ASSERT_EQ(t.numel(), u.numel()) << name;
    for (int64_t i = 0; i < t.numel(); ++i) ASSERT_EQ(t[i], u[i]) << name << " [" << i << "]";
    momentum = momentum || name.rfind("optim.", 0) == 0;
  }
  EXPECT_TRUE(momentum) << "no optimizer buffer compared";
  expect_all_finite(after);
  EXPECT_EQ(after.meta["optimizer"]["step"], before.meta["optimizer"]["step"]);
  EXPECT_EQ(after.meta["optimizer"]["lr"].get<double>(), 1e30 / 32);

  // One metrics row per skipped step, the lr halved each time.
  std::ifstream in(dir_ / "skip" / "metrics.jsonl");
  std::string line;
  std::vector<double> lrs;
  while (std::getline(in, line)) {
    const auto row = nlohmann::json::parse(line);
    if (row.contains("skipped")) lrs.push_back(row["lr"].get<double>());
  }
  ASSERT_EQ(lrs.size(), 5u);
  for (size_t k = 0; k < lrs.size(); ++k) EXPECT_EQ(lrs[k], std::ldexp(1e30, -static_cast<int>(k + 1)));
}

TEST_F(TrainNonFiniteCli, UnknownPolicyIsBadUsage) {
  const Result r = train("bad", "--on-nonfinite maybe");
  EXPECT_EQ(r.status, 2) << r.err;
  EXPECT_NE(r.err.find("--on-nonfinite must be stop or skip, got 'maybe'"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir_ / "bad" / "last.ckpt"));
}

}  // namespace
