// Saving onto a full or read-only file system: a clear error naming the file, the previous
// checkpoint left byte for byte as it was (and loadable), no temporary file left, training
// stopped; a later resume with room again ends where an undisturbed run ends.
//
// Mechanisms (the tests run as root, whom chmod does not stop):
//  - a file-size limit (RLIMIT_FSIZE with SIGXFSZ ignored: writes fail with EFBIG), always;
//  - a real full tmpfs, and a tmpfs remounted read-only, when this process may mount
//    (CAP_SYS_ADMIN); skipped with the reason otherwise;
//  - fsync and rename failures, injected by wrapping those two libc calls in this binary.
#include <gtest/gtest.h>

#include <dlfcn.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/mount.h>
#include <linux/magic.h>
#include <sys/resource.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "rnn/core/error.h"
#include "rnn/io/atomic_file.h"
#include "rnn/nn/linear.h"
#include "rnn/train/checkpoint.h"
#include "rnn/train/losses.h"
#include "rnn/train/trainer.h"

// ---- fault injection: fsync / rename fail with EIO while a flag is set -------------------
namespace {
bool g_fail_fsync = false;
bool g_fail_rename = false;
}  // namespace

extern "C" int fsync(int fd) {
  if (g_fail_fsync) {
    errno = EIO;
    return -1;
  }
  using Fn = int (*)(int);
  static const auto real = reinterpret_cast<Fn>(dlsym(RTLD_NEXT, "fsync"));
  return real(fd);
}

extern "C" int rename(const char* from, const char* to) {
  if (g_fail_rename) {
    errno = EIO;
    return -1;
  }
  using Fn = int (*)(const char*, const char*);
  static const auto real = reinterpret_cast<Fn>(dlsym(RTLD_NEXT, "rename"));
  return real(from, to);
}

namespace rnn {
namespace {

namespace fs = std::filesystem;

std::string file_bytes(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

// Names in `folder` that a write_file_atomic in progress (or killed) would leave.
std::vector<std::string> temporaries(const fs::path& folder) {
  std::vector<std::string> found;
  for (const auto& e : fs::directory_iterator(folder)) {
    const std::string name = e.path().filename().string();
    if (name.find(".tmp.") != std::string::npos) found.push_back(name);
  }
  return found;
}

template <class F>
std::string error_of(F&& body) {
  try {
    body();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

// Files may grow to `bytes` while this lives; a write beyond fails with EFBIG.
class FileSizeLimit {
 public:
  explicit FileSizeLimit(rlim_t bytes) {
    getrlimit(RLIMIT_FSIZE, &old_);
    old_handler_ = ::signal(SIGXFSZ, SIG_IGN);
    rlimit lowered = old_;
    lowered.rlim_cur = bytes;
    ok_ = setrlimit(RLIMIT_FSIZE, &lowered) == 0;
  }
  ~FileSizeLimit() {
    setrlimit(RLIMIT_FSIZE, &old_);
    ::signal(SIGXFSZ, old_handler_);
  }
  FileSizeLimit(const FileSizeLimit&) = delete;
  FileSizeLimit& operator=(const FileSizeLimit&) = delete;
  bool ok() const { return ok_; }

 private:
  rlimit old_{};
  sighandler_t old_handler_ = SIG_DFL;
  bool ok_ = false;
};

// A tmpfs of a given size mounted on a folder for the life of this object.
class Tmpfs {
 public:
  // Empty on success, else why not.
  std::string mount_on(const fs::path& dir, size_t bytes) {
    fs::create_directories(dir);
    options_ = "size=" + std::to_string(bytes);
    if (::mount("tmpfs", dir.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, options_.c_str()) != 0) {
      return std::string("cannot mount a tmpfs (") + std::strerror(errno) +
             "); mounting needs CAP_SYS_ADMIN. The RLIMIT_FSIZE tests cover a full disk";
    }
    dir_ = dir;
    return "";
  }
  bool set_read_only(bool read_only) {
    const unsigned long flags = MS_REMOUNT | MS_NOSUID | MS_NODEV | (read_only ? MS_RDONLY : 0);
    return ::mount("tmpfs", dir_.c_str(), "tmpfs", flags, options_.c_str()) == 0;
  }
  ~Tmpfs() {
    if (!dir_.empty()) ::umount2(dir_.c_str(), MNT_DETACH);
  }

 private:
  fs::path dir_;
  std::string options_;
};

// Fills the small tmpfs holding `folder` up to all but `leave` bytes; returns the filler.
// Refuses anything but a tmpfs, and stops at 64 MB: never fill a real disk.
fs::path fill_up(const fs::path& folder, size_t leave) {
  struct statfs info {};
  if (::statfs(folder.c_str(), &info) != 0 || info.f_type != TMPFS_MAGIC) {
    ADD_FAILURE() << folder << " is not on a tmpfs; not filling it";
    return folder / "filler";
  }
  const fs::path filler = folder / "filler";
  const int fd = ::open(filler.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  EXPECT_GE(fd, 0) << std::strerror(errno);
  std::vector<char> block(64 * 1024, 'x');
  size_t written = 0;
  while (written < (size_t{64} << 20)) {
    const ssize_t n = ::write(fd, block.data(), block.size());
    if (n <= 0) break;
    written += static_cast<size_t>(n);
  }
  EXPECT_EQ(errno, ENOSPC);
  EXPECT_EQ(::ftruncate(fd, static_cast<off_t>(written > leave ? written - leave : 0)), 0);
  ::close(fd);
  return filler;
}

// y = 0.5 x on 128 features: a 16.5k-parameter model, so that a checkpoint (weights and
// Adam's two moments) is about 200 kB, far larger than the metrics and picture files.
class WideTask : public TrainTask {
 public:
  WideTask() {
    Rng init(3);
    layer_ = std::make_unique<nn::Linear<float>>(kF, kF, params_, init, "head.");
  }
  Parameters<float>& parameters() override { return params_; }
  StepResult train_step(Rng& rng) override {
    ++position_;
    Tensor<float> x({8, kF});
    for (int64_t i = 0; i < x.numel(); ++i) x[i] = static_cast<float>(rng.normal());
    Tensor<float> y = x;
    for (int64_t i = 0; i < y.numel(); ++i) y[i] *= 0.5f;
    const LossResult<float> loss = mse(layer_->forward(x), y);
    layer_->backward(x, loss.grad);
    return {loss.loss, 8};
  }
  EvalResult validate() override { return {1.0 / static_cast<double>(position_ + 1), {}}; }
  void save_state(Checkpoint& c) const override { c.meta["task"] = {{"position", position_}}; }
  void load_state(const Checkpoint& c) override {
    position_ = c.meta.at("task").at("position").get<int64_t>();
  }

 private:
  static constexpr int64_t kF = 128;
  Parameters<float> params_;
  std::unique_ptr<nn::Linear<float>> layer_;
  int64_t position_ = 0;
};

class DiskFull : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("rnn_disk_full_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    g_fail_fsync = g_fail_rename = false;
    mount_.reset();
    fs::remove_all(dir_);
  }

  static TrainerOptions options(const fs::path& run_dir, int64_t steps) {
    TrainerOptions o;
    o.max_steps = steps;
    o.eval_every = 4;
    o.checkpoint_every = 1;
    o.log_every = 1;
    o.optimizer_options = {{"lr", 0.01}};
    o.run_dir = run_dir.string();
    o.progress = ProgressStyle::Off;
    return o;
  }

  // Runs 4 steps into `run`; returns last.ckpt's bytes.
  static std::string first_four_steps(const fs::path& run) {
    WideTask task;
    Trainer(options(run, 4), task).run();
    return file_bytes(run / "last.ckpt");
  }

  // After a failed resume: last.ckpt as it was, loadable, at step 4, no temporary left.
  static void expect_step_four_intact(const fs::path& run, const std::string& before) {
    EXPECT_EQ(file_bytes(run / "last.ckpt"), before) << "the previous checkpoint changed";
    EXPECT_EQ(Checkpoint::load((run / "last.ckpt").string()).meta["trainer"]["step"], 4);
    EXPECT_TRUE(temporaries(run).empty()) << "left: " << temporaries(run).front();
  }

  // Resumes `run` to step 8 and checks its weights equal an undisturbed 8-step run.
  void expect_resume_completes(const fs::path& run) {
    WideTask straight, resumed;
    Trainer(options(dir_ / "straight", 8), straight).run();
    TrainerOptions o = options(run, 8);
    o.resume = true;
    EXPECT_EQ(Trainer(o, resumed).run().steps, 8);
    const auto a = straight.parameters().values();
    const auto b = resumed.parameters().values();
    ASSERT_EQ(a.size(), b.size());
    for (size_t i = 0; i < a.size(); ++i) ASSERT_EQ(a[i], b[i]) << "parameter " << i;
  }

  // Callers return when IsSkipped() afterwards (GTEST_SKIP leaves this function only).
  void mount_or_skip(size_t bytes) {
    mount_ = std::make_unique<Tmpfs>();
    const std::string why = mount_->mount_on(dir_ / "mnt", bytes);
    if (!why.empty()) {
      mount_.reset();
      GTEST_SKIP() << why;
    }
  }

  fs::path dir_;
  std::unique_ptr<Tmpfs> mount_;
};

Checkpoint checkpoint_of(int64_t numel, float value) {
  Checkpoint c;
  c.meta["note"] = "test";
  c.tensors["param.w"] = Tensor<float>({numel}, value);
  return c;
}

TEST_F(DiskFull, CheckpointOverFileSizeLimitKeepsThePreviousFile) {
  const std::string file = (dir_ / "a.ckpt").string();
  checkpoint_of(1000, 1.0f).save(file);
  const std::string before = file_bytes(file);
  std::string what;
  {
    FileSizeLimit limit(64 * 1024);  // the new file needs 400 kB
    ASSERT_TRUE(limit.ok());
    what = error_of([&] { checkpoint_of(100000, 2.0f).save(file); });
  }
  EXPECT_NE(what.find("cannot write '" + file + "'"), std::string::npos) << what;
  EXPECT_NE(what.find("File too large"), std::string::npos) << what;
  EXPECT_EQ(file_bytes(file), before);
  EXPECT_EQ(Checkpoint::load(file).tensors.at("param.w")[999], 1.0f);
  EXPECT_TRUE(temporaries(dir_).empty());
}

TEST_F(DiskFull, TrainerStopsAtTheFileSizeLimitAndResumesLater) {
  const fs::path run = dir_ / "run";
  const std::string before = first_four_steps(run);
  std::string what;
  {
    FileSizeLimit limit(before.size() / 2);
    ASSERT_TRUE(limit.ok());
    WideTask task;
    TrainerOptions o = options(run, 8);
    o.resume = true;
    what = error_of([&] { Trainer(o, task).run(); });
  }
  for (const std::string& part : {"step 5: cannot write '" + (run / "last.ckpt").string() + "'",
                                 std::string("File too large"), std::string("training stopped"),
                                 std::string("previous 'last.ckpt' is untouched")}) {
    EXPECT_NE(what.find(part), std::string::npos) << what;
  }
  expect_step_four_intact(run, before);
  expect_resume_completes(run);
}

TEST_F(DiskFull, RealFullFileSystem) {
  mount_or_skip(4 << 20);
  if (IsSkipped()) return;
  const fs::path run = dir_ / "mnt" / "run";
  const std::string before = first_four_steps(run);
  const fs::path filler = fill_up(dir_ / "mnt", before.size() / 2);
  WideTask task;
  TrainerOptions o = options(run, 8);
  o.resume = true;
  const std::string what = error_of([&] { Trainer(o, task).run(); });
  EXPECT_NE(what.find("cannot write '" + (run / "last.ckpt").string() + "'"), std::string::npos) << what;
  EXPECT_NE(what.find("No space left on device"), std::string::npos) << what;
  EXPECT_NE(what.find("step 5"), std::string::npos) << what;
  expect_step_four_intact(run, before);
  // And on the library's own: a save that does not fit leaves the file as it was.
  const std::string what2 = error_of([&] { checkpoint_of(200000, 1.0f).save((run / "last.ckpt").string()); });
  EXPECT_NE(what2.find("No space left on device"), std::string::npos) << what2;
  expect_step_four_intact(run, before);
  fs::remove(filler);
  expect_resume_completes(run);
}

TEST_F(DiskFull, ReadOnlyFileSystem) {
  mount_or_skip(4 << 20);
  if (IsSkipped()) return;
  const fs::path run = dir_ / "mnt" / "run";
  const std::string before = first_four_steps(run);
  ASSERT_TRUE(mount_->set_read_only(true)) << std::strerror(errno);
  const std::string file = (run / "last.ckpt").string();
  const std::string what = error_of([&] { checkpoint_of(10, 1.0f).save(file); });
  EXPECT_NE(what.find("cannot write '" + file + "'"), std::string::npos) << what;
  EXPECT_NE(what.find("Read-only file system"), std::string::npos) << what;
  WideTask task;
  TrainerOptions o = options(run, 8);
  o.resume = true;
  const std::string what2 = error_of([&] { Trainer(o, task).run(); });
  const std::string in_run = std::string("'").append(run.string()).append("/");
  EXPECT_NE(what2.find(in_run), std::string::npos) << what2;
  EXPECT_NE(what2.find("Read-only file system"), std::string::npos) << what2;
  expect_step_four_intact(run, before);
  ASSERT_TRUE(mount_->set_read_only(false)) << std::strerror(errno);
  expect_resume_completes(run);
}

TEST_F(DiskFull, FsyncFailureIsReportedAndTheTemporaryRemoved) {
  const std::string file = (dir_ / "a.ckpt").string();
  checkpoint_of(10, 1.0f).save(file);
  const std::string before = file_bytes(file);
  g_fail_fsync = true;
  const std::string what = error_of([&] { checkpoint_of(10, 2.0f).save(file); });
  g_fail_fsync = false;
  EXPECT_NE(what.find("cannot write '" + file + "': fsync failed: Input/output error"),
            std::string::npos) << what;
  EXPECT_EQ(file_bytes(file), before);
  EXPECT_TRUE(temporaries(dir_).empty());
}

TEST_F(DiskFull, RenameFailureIsReportedAndTheTemporaryRemoved) {
  const std::string file = (dir_ / "a.ckpt").string();
  checkpoint_of(10, 1.0f).save(file);
  const std::string before = file_bytes(file);
  g_fail_rename = true;
  const std::string what = error_of([&] { checkpoint_of(10, 2.0f).save(file); });
  g_fail_rename = false;
  EXPECT_NE(what.find("cannot write '" + file + "': rename failed: Input/output error"),
            std::string::npos) << what;
  EXPECT_EQ(file_bytes(file), before);
  EXPECT_TRUE(temporaries(dir_).empty());
  // The same through the trainer: training stops at the step, naming the file.
  const fs::path run = dir_ / "run";
  const std::string ckpt = first_four_steps(run);
  WideTask task;
  TrainerOptions o = options(run, 8);
  o.resume = true;
  g_fail_rename = true;
  const std::string what2 = error_of([&] { Trainer(o, task).run(); });
  g_fail_rename = false;
  EXPECT_NE(what2.find("rename failed"), std::string::npos) << what2;
  expect_step_four_intact(run, ckpt);
}

// Leftovers of a killed writer are cleared; those of a live one are not.
TEST_F(DiskFull, StaleTemporariesOfDeadWritersAreRemoved) {
  const pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  ASSERT_GT(child, 0);
  ::waitpid(child, nullptr, 0);  // a pid that no longer runs
  const std::string dead = "last.ckpt.tmp." + std::to_string(child) + ".0";
  const std::string alive = "last.ckpt.tmp.1.3";  // pid 1 always runs
  for (const std::string& name : {dead, alive, std::string("notes.tmp.txt")}) {
    std::ofstream(dir_ / name) << "x";
  }
  EXPECT_EQ(remove_stale_temporaries(dir_.string()), 1);
  EXPECT_FALSE(fs::exists(dir_ / dead));
  EXPECT_TRUE(fs::exists(dir_ / alive));
  EXPECT_TRUE(fs::exists(dir_ / "notes.tmp.txt"));
}

// ---- through the command line ---------------------------------------------------------------

struct CliResult {
  int status = -1;
  std::string err;
};

CliResult run_cli(const std::string& args, const fs::path& err_file) {
  const std::string command =
      std::string(RNN_CLI_PATH) + " " + args + " > /dev/null 2> '" + err_file.string() + "'";
  const int raw = std::system(command.c_str());
  return {WIFEXITED(raw) ? WEXITSTATUS(raw) : -1, file_bytes(err_file)};
}

class DiskFullCli : public DiskFull {
 protected:
  std::string args(const fs::path& run, int64_t steps, bool resume) const {
    return "lm train --text " + std::string(RNN_SOURCE_DIR) +
           "/data/sample/kjv_genesis.txt --hidden 64 --layers 1 --embed 8 --batch 4 --seq-len 16"
           " --eval-every 0 --checkpoint-every 1 --progress off --threads 1 --skip-test"
           " --steps " + std::to_string(steps) + " --run-dir " + run.string() +
           (resume ? " --resume" : "");
  }
  // Exit 1 and one error line (after the data summary line), naming the problem.
  static void expect_one_line(const CliResult& r, const std::string& needle) {
    EXPECT_EQ(r.status, 1) << r.err;
    const auto at = r.err.find("rnn: error: ");
    ASSERT_NE(at, std::string::npos) << r.err;
    const std::string line = r.err.substr(at);
    EXPECT_EQ(line.find('\n'), line.size() - 1) << "not one line: " << line;
    EXPECT_NE(line.find(needle), std::string::npos) << line;
  }
};

TEST_F(DiskFullCli, FullFileSystemKeepsTheCheckpoint) {
  if (std::string(RNN_CLI_PATH).empty()) GTEST_SKIP() << "CLI not built";
  mount_or_skip(4 << 20);
  if (IsSkipped()) return;
  const fs::path run = dir_ / "mnt" / "run";
  ASSERT_EQ(run_cli(args(run, 4, false), dir_ / "err.txt").status, 0);
  const std::string before = file_bytes(run / "last.ckpt");
  const fs::path filler = fill_up(dir_ / "mnt", before.size() / 2);
  const CliResult r = run_cli(args(run, 8, true), dir_ / "err.txt");
  expect_one_line(r, "No space left on device");
  EXPECT_NE(r.err.find("step 5: cannot write '" + (run / "last.ckpt").string() + "'"),
            std::string::npos) << r.err;
  EXPECT_EQ(file_bytes(run / "last.ckpt"), before);
  EXPECT_EQ(Checkpoint::load((run / "last.ckpt").string()).meta["trainer"]["step"], 4);
  EXPECT_TRUE(temporaries(run).empty());
  fs::remove(filler);
  ASSERT_EQ(run_cli(args(run, 8, true), dir_ / "err.txt").status, 0);
  EXPECT_EQ(Checkpoint::load((run / "last.ckpt").string()).meta["trainer"]["step"], 8);
}

TEST_F(DiskFullCli, ReadOnlyFileSystemKeepsTheCheckpoint) {
  if (std::string(RNN_CLI_PATH).empty()) GTEST_SKIP() << "CLI not built";
  mount_or_skip(4 << 20);
  if (IsSkipped()) return;
  const fs::path run = dir_ / "mnt" / "run";
  ASSERT_EQ(run_cli(args(run, 4, false), dir_ / "err.txt").status, 0);
  const std::string before = file_bytes(run / "last.ckpt");
  ASSERT_TRUE(mount_->set_read_only(true)) << std::strerror(errno);
  const CliResult r = run_cli(args(run, 8, true), dir_ / "err.txt");
  expect_one_line(r, "Read-only file system");
  EXPECT_NE(r.err.find(run.string()), std::string::npos) << r.err;
  EXPECT_EQ(file_bytes(run / "last.ckpt"), before);
  EXPECT_EQ(Checkpoint::load((run / "last.ckpt").string()).meta["trainer"]["step"], 4);
}

}  // namespace
}  // namespace rnn
