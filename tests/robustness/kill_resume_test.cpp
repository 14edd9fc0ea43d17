// Crash-safe training: `rnn lm train` is killed with SIGKILL at 20 random (seeded) moments
// and resumed each time with --resume. After every kill the latest checkpoint loads and
// its checksum verifies, every *.ckpt in the run folder does, and the only leftovers are
// the killed process's own temporary files (never named like a checkpoint); at the end the
// weights, the exported model and the metrics log equal an uninterrupted run's, bit for bit.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "rnn/io/safetensors.h"
#include "rnn/train/checkpoint.h"

extern char** environ;

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr int kKills = 20;
constexpr int64_t kSteps = 60;

std::vector<std::string> train_args(const fs::path& run, bool resume) {
  std::vector<std::string> a = {
      RNN_CLI_PATH, "lm", "train", "--text",
      std::string(RNN_SOURCE_DIR) + "/data/sample/kjv_genesis.txt",
      "--hidden", "32", "--layers", "1", "--embed", "8", "--dropout", "0.1", "--batch", "4",
      "--seq-len", "16", "--steps", std::to_string(kSteps), "--eval-every", "20",
      "--checkpoint-every", "1", "--progress", "off", "--threads", "1", "--skip-test",
      "--run-dir", run.string()};
  if (resume) a.push_back("--resume");
  return a;
}

pid_t spawn(const std::vector<std::string>& args) {
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  return rc == 0 ? pid : -1;
}

int wait_status(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return status;
}

// Metrics rows without the one field that depends on the clock.
std::vector<std::string> metric_rows(const fs::path& file) {
  std::vector<std::string> rows;
  std::ifstream in(file);
  std::string line;
  while (std::getline(in, line)) {
    auto j = nlohmann::json::parse(line);
    j.erase("units_per_s");
    rows.push_back(j.dump());
  }
  return rows;
}

void expect_same_tensors(const fs::path& a_file, const fs::path& b_file, const std::string& prefix) {
  const rnn::SafetensorsFile a = rnn::read_safetensors(a_file.string());
  const rnn::SafetensorsFile b = rnn::read_safetensors(b_file.string());
  int compared = 0;
  for (const auto& [name, t] : a.tensors) {
    if (name.rfind(prefix, 0) != 0) continue;
    ASSERT_TRUE(b.has(name)) << b_file << " lacks " << name;
    EXPECT_EQ(t.bytes, b.at(name).bytes) << a_file.filename() << ": " << name << " differs";
    ++compared;
  }
  EXPECT_GT(compared, 0) << "no tensor named " << prefix << "* in " << a_file;
}

// The step of the latest checkpoint in `run` (replaced by rename, so always whole), or
// `fallback` where there is none yet.
int64_t checkpoint_step(const fs::path& run, int64_t fallback) {
  if (!fs::exists(run / "last.ckpt")) return fallback;
  try {
    return rnn::Checkpoint::load((run / "last.ckpt").string()).meta["trainer"]["step"].get<int64_t>();
  } catch (const std::exception&) {
    return fallback;
  }
}

TEST(KillResume, TwentyKillsThenTheWeightsOfAnUninterruptedRun) {
  if (std::string(RNN_CLI_PATH).empty()) GTEST_SKIP() << "CLI not built";
  const fs::path base = fs::temp_directory_path() / ("rnn_kill_resume_" + std::to_string(::getpid()));
  fs::remove_all(base);
  const fs::path ref = base / "reference", run = base / "killed";

  // The uninterrupted run, timed: its start-up (until the first checkpoint) and its length.
  const auto t0 = Clock::now();
  const pid_t ref_pid = spawn(train_args(ref, false));
  ASSERT_GT(ref_pid, 0);
  double startup = -1.0;
  for (;;) {
    int status = 0;
    if (::waitpid(ref_pid, &status, WNOHANG) == ref_pid) {
      ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "the reference run failed";
      break;
    }
    if (startup < 0 && fs::exists(ref / "last.ckpt")) {
      startup = std::chrono::duration<double>(Clock::now() - t0).count();
    }
    std::this_thread::sleep_for(std::chrono::microseconds(500));
  }
  const double whole = std::chrono::duration<double>(Clock::now() - t0).count();
  if (startup < 0) startup = whole / 2;

  // Kill moments: from a little before the first checkpoint could appear (so start-up,
  // checkpoint loading and log trimming are hit too) to the time of the steps left
  // shared among the kills left, so that no round reaches the end.
  std::mt19937_64 gen(20261126);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  const double per_step = std::max(whole - startup, 1e-3) / static_cast<double>(kSteps);
  int64_t last_step = 0, advanced = 0, temporaries_seen = 0, resumed = 0;
  std::vector<pid_t> killed;
  for (int round = 0; round < kKills; ++round) {
    const bool resume = fs::exists(run / "last.ckpt");
    resumed += resume;
    // (Twice the even share of the time left: the step cap below ends rounds that run long.)
    const double window = 0.3 * startup + 2.0 * static_cast<double>(kSteps - last_step) *
                                              per_step / static_cast<double>(kKills - round + 1);
    const double delay = 0.7 * startup + unit(gen) * window;
    // Killed at the drawn moment, or earlier once it has used its share of the steps left:
    // run times vary with the load (other tests in parallel), and a round that ran to the
    // end would leave nothing to resume.
    const int64_t share = std::max<int64_t>(1, (kSteps - last_step) / (kKills - round + 1));
    const pid_t pid = spawn(train_args(run, resume));
    ASSERT_GT(pid, 0);
    const auto started = Clock::now();
    while (std::chrono::duration<double>(Clock::now() - started).count() < delay &&
           checkpoint_step(run, last_step) < last_step + share) {
      std::this_thread::sleep_for(std::chrono::microseconds(300));
    }
    ::kill(pid, SIGKILL);
    const int status = wait_status(pid);
    killed.push_back(pid);
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
        << "round " << round << ": the run ended before the kill (status " << status
        << "); the kill moments are too late for this machine";

    if (!fs::exists(run / "last.ckpt")) {
      EXPECT_EQ(last_step, 0) << "round " << round << ": last.ckpt disappeared";
      continue;
    }
    for (const auto& e : fs::directory_iterator(run)) {
      const std::string name = e.path().filename().string();
      const auto tmp = name.find(".tmp.");
      if (tmp != std::string::npos) {
        // Only files of killed writers (a run killed during start-up has not cleared its
        // predecessors' yet), named so that nothing takes them for a checkpoint.
        ++temporaries_seen;
        bool of_a_killed_run = false;
        for (const pid_t k : killed) {
          of_a_killed_run = of_a_killed_run || name.find(".tmp." + std::to_string(k) + ".") != std::string::npos;
        }
        EXPECT_TRUE(of_a_killed_run) << "round " << round << ": temporary of another process: " << name;
        EXPECT_FALSE(e.path().extension() == ".ckpt") << name;
        continue;
      }
      if (e.path().extension() != ".ckpt") continue;
      try {
        rnn::Checkpoint::load(e.path().string());  // verifies the checksum
      } catch (const std::exception& ex) {
        ADD_FAILURE() << "round " << round << ": " << name << " does not load: " << ex.what();
      }
    }
    const int64_t step =
        rnn::Checkpoint::load((run / "last.ckpt").string()).meta["trainer"]["step"].get<int64_t>();
    EXPECT_GE(step, last_step) << "round " << round << ": progress was lost";
    EXPECT_LT(step, kSteps) << "round " << round << ": the run was already finished";
    advanced += step > last_step;
    last_step = step;
  }

  // The last resume runs to the end; nothing of the kills remains.
  const pid_t pid = spawn(train_args(run, fs::exists(run / "last.ckpt")));
  ASSERT_GT(pid, 0);
  const int status = wait_status(pid);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "the final resume failed";
  for (const auto& e : fs::directory_iterator(run)) {
    EXPECT_EQ(e.path().filename().string().find(".tmp."), std::string::npos)
        << "left behind: " << e.path();
  }
  expect_same_tensors(ref / "last.ckpt", run / "last.ckpt", "param.");
  expect_same_tensors(ref / "last.ckpt", run / "last.ckpt", "optim.");
  expect_same_tensors(ref / "model.safetensors", run / "model.safetensors", "");
  EXPECT_EQ(metric_rows(ref / "metrics.jsonl"), metric_rows(run / "metrics.jsonl"));
  // The kills must have interrupted real training, not only start-ups.
  EXPECT_GE(advanced, kKills / 4) << "too few kills landed after progress";

  std::printf("[ kill-resume ] %d kills (%lld after progress, %lld resumed, %lld temporary files "
              "seen); reference run %.2f s, start-up %.2f s, checkpoint step before the last "
              "resume %lld of %lld\n",
              kKills, static_cast<long long>(advanced), static_cast<long long>(resumed),
              static_cast<long long>(temporaries_seen), whole, startup,
              static_cast<long long>(last_step), static_cast<long long>(kSteps));
  fs::remove_all(base);
}

}  // namespace
