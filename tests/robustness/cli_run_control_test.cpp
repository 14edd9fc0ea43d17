// The options every `rnn <task> train` shares (src/cli/run_control.h): the same spelling in
// each subcommand's help, the same checks (bad usage, exit 2), the same TrainerOptions.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>

#include "cli/run_control.h"

namespace rnn::cli {
namespace {

struct Captured {
  int status = -1;
  std::string out;
};

Captured run(const std::string& command) {
  Captured c;
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return c;
  std::array<char, 4096> buf{};
  size_t n = 0;
  while ((n = std::fread(buf.data(), 1, buf.size(), pipe)) > 0) c.out.append(buf.data(), n);
  const int raw = ::pclose(pipe);
  c.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : 128 + WTERMSIG(raw);
  return c;
}

TEST(RunControl, EveryTrainSubcommandOffersTheSameOptions) {
  const std::string cli = RNN_CLI_PATH;
  if (cli.empty()) GTEST_SKIP() << "the rnn program is not built";
  for (const char* task : {"lm", "forecast", "tag", "classify", "translate", "asr"}) {
    const Captured help = run(cli + " " + task + " train --help");
    ASSERT_EQ(help.status, 0) << task << ": " << help.out;
    for (const char* option : {"--progress", "--on-nonfinite", "--diagnostics-every"})
      EXPECT_NE(help.out.find(option), std::string::npos) << task << " train lacks " << option;
  }
}

TEST(RunControl, MapsTheValues) {
  RunControl c;
  TrainerOptions t;
  c.apply(t);
  EXPECT_EQ(t.progress, ProgressStyle::Auto);
  EXPECT_EQ(t.non_finite, NonFinitePolicy::Stop);
  EXPECT_EQ(t.diagnostics_every, 0);
  c.progress = "lines";
  c.on_nonfinite = "skip";
  c.diagnostics_every = 25;
  c.apply(t);
  EXPECT_EQ(t.progress, ProgressStyle::Lines);
  EXPECT_EQ(t.non_finite, NonFinitePolicy::Skip);
  EXPECT_EQ(t.diagnostics_every, 25);
  c.progress = "off";
  c.apply(t);
  EXPECT_EQ(t.progress, ProgressStyle::Off);
  c.progress = "bar";
  c.apply(t);
  EXPECT_EQ(t.progress, ProgressStyle::Bar);
}

TEST(RunControl, BadValuesAreUsageErrorsNamingTheOption) {
  auto message = [](RunControl c) {
    TrainerOptions t;
    try {
      c.apply(t);
    } catch (const UsageError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  RunControl c;
  c.progress = "loud";
  EXPECT_NE(message(c).find("--progress must be auto, bar, lines or off, got 'loud'"), std::string::npos);
  c = RunControl{};
  c.on_nonfinite = "maybe";
  EXPECT_NE(message(c).find("--on-nonfinite must be stop or skip, got 'maybe'"), std::string::npos);
  c = RunControl{};
  c.diagnostics_every = -1;
  EXPECT_NE(message(c).find("--diagnostics-every must be >= 0"), std::string::npos);
}

TEST(RunControl, TagTrainRefusesABadPolicyBeforeReadingData) {
  const std::string cli = RNN_CLI_PATH;
  if (cli.empty()) GTEST_SKIP() << "the rnn program is not built";
  const Captured r = run(cli + " tag train --train /nonexistent/train.tsv --on-nonfinite maybe");
  EXPECT_EQ(r.status, 2) << r.out;
  EXPECT_NE(r.out.find("--on-nonfinite must be stop or skip, got 'maybe'"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace rnn::cli
