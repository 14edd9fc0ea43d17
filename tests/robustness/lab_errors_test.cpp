// The lab's errors: bad task/model specifications throw rnn::Error naming the field; the
// `rnn lab` command exits 2 on bad usage with one line on stderr, never a crash.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "rnn/core/error.h"
#include "rnn/lab/task.h"
#include "rnn/lab/tasks.h"

namespace rnn::lab {
namespace {

namespace fs = std::filesystem;

TEST(LabErrors, BadSpecificationsThrow) {
  TaskSpec s;
  s.kind = TaskKind::Adding;
  s.length = 1;
  EXPECT_THROW(s.validate(), Error);
  s.kind = TaskKind::TemporalOrder;
  s.length = 9;
  EXPECT_THROW(s.validate(), Error);
  s.kind = TaskKind::Copy;
  s.length = 5;
  s.alphabet = 1;
  EXPECT_THROW(s.validate(), Error);
  s.alphabet = 4;
  s.copy_length = 0;
  EXPECT_THROW(s.validate(), Error);
  EXPECT_THROW(task_kind_from_string("add"), Error);
  TaskSpec ok;
  Rng rng(1);
  EXPECT_THROW(generate(ok, 0, rng), Error);
  LabModelConfig c;
  c.cell = "lstmx";
  EXPECT_THROW(c.validate(), Error);
  c.cell = "gru";
  c.init = "xavier";
  EXPECT_THROW(c.validate(), Error);
  c.init = "default";
  c.radius = -0.5;
  EXPECT_THROW(c.validate(), Error);
  c.radius = 0.0;
  c.hidden_size = 0;
  EXPECT_THROW(c.validate(), Error);
  c.hidden_size = 4;
  LabTaskOptions o;
  o.batch_size = 0;
  EXPECT_THROW(LabTask(ok, c, o), Error);
  EXPECT_THROW(LabModelConfig::from_json(nlohmann::json{{"cell", "gru"}}), Error);
  EXPECT_THROW(TaskSpec::from_json(nlohmann::json{{"task", "adding"}}), Error);
}

struct CliResult {
  int code = -1;
  std::string out, err;
};

CliResult run_cli(const std::string& args) {
  const std::string cli = RNN_CLI_PATH;
  const fs::path dir = fs::temp_directory_path() / ("rnn_lab_cli_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::string out = (dir / "out").string(), err = (dir / "err").string();
  const int status = std::system((cli + " " + args + " >" + out + " 2>" + err).c_str());
  CliResult r;
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  auto read = [](const std::string& p) {
    std::ifstream in(p);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  };
  r.out = read(out);
  r.err = read(err);
  fs::remove_all(dir);
  return r;
}

int lines(const std::string& s) {
  int n = 0;
  for (char c : s) n += c == '\n';
  return n;
}

TEST(LabCli, BadUsageExitsTwoWithOneLine) {
  if (std::string(RNN_CLI_PATH).empty()) GTEST_SKIP() << "the rnn program is not built";
  const std::string run = "lab run --steps 1 --run-dir " +
                          (fs::temp_directory_path() / ("rnn_lab_never_" + std::to_string(::getpid()))).string();
  for (const std::string& args :
       {run + " --task addition", run + " --cell lstmx", run + " --init xavier", run + " --length 1",
        run + " --task temporal_order --length 5", run + " --task copy --alphabet 1",
        run + " --radius -1", run + " --batch 0", run + " --lr 0", run + " --clip -1",
        run + " --hidden 0", run + " --diagnostics-every -2", run + " --unknown-option",
        std::string("lab sweep --lengths 10,x --steps 1 --out /nonexistent/never"),
        std::string("lab sweep --radii abc --steps 1 --out /nonexistent/never"),
        std::string("lab sweep --clips -1 --steps 1 --out /nonexistent/never"),
        std::string("lab sweep --cells gru,foo --steps 1 --out /nonexistent/never"),
        std::string("lab")}) {
    const CliResult r = run_cli(args);
    EXPECT_EQ(r.code, 2) << args << "\n" << r.err;
    EXPECT_EQ(lines(r.err), 1) << args << "\n" << r.err;
    EXPECT_TRUE(r.out.empty()) << args;
  }
}

TEST(LabCli, ExistingRunFolderIsOtherFailure) {
  if (std::string(RNN_CLI_PATH).empty()) GTEST_SKIP() << "the rnn program is not built";
  const fs::path dir = fs::temp_directory_path() / ("rnn_lab_twice_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  const std::string args = "lab run --length 4 --hidden 3 --steps 2 --batch 2 --test-size 4 --json --run-dir " +
                           dir.string();
  const CliResult first = run_cli(args);
  ASSERT_EQ(first.code, 0) << first.err;
  const nlohmann::json j = nlohmann::json::parse(first.out);  // exactly one JSON object
  EXPECT_EQ(j["steps"], 2);
  EXPECT_NEAR(j["baseline"].get<double>(), 1.0 / 6.0, 1e-12);
  const CliResult second = run_cli(args);
  EXPECT_EQ(second.code, 1);
  EXPECT_EQ(lines(second.err), 1) << second.err;
  fs::remove_all(dir);
}

}  // namespace
}  // namespace rnn::lab
