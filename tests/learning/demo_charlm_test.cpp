// Learning: `rnn demo charlm` learns the bundled KJV sample (Genesis 1-26) in a small,
// fixed budget: its validation loss (last 5% of the text) ends well under the unigram
// baseline, the loss of a model without context. Also checks the command's documented
// exit codes (1: missing or empty file, 2: bad option values).
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <sys/wait.h>

#include <nlohmann/json.hpp>

namespace {

struct Result {
  int status = -1;
  std::string out;  // stdout only; stderr goes to the test log
};

Result run_cli(const std::string& args) {
  const std::string command = std::string(RNN_CLI_PATH) + " " + args;
  Result r;
  FILE* pipe = popen(command.c_str(), "r");
  if (!pipe) return r;
  std::array<char, 4096> buffer{};
  size_t n = 0;
  while ((n = fread(buffer.data(), 1, buffer.size(), pipe)) > 0) r.out.append(buffer.data(), n);
  const int raw = pclose(pipe);
  r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  return r;
}

const std::string kSample = std::string(RNN_SOURCE_DIR) + "/data/sample/kjv_genesis.txt";

#define REQUIRE_CLI()                                                  \
  if (std::string(RNN_CLI_PATH).empty()) GTEST_SKIP() << "CLI not built"

TEST(LearningCharLm, BeatsUnigramBaselineOnSample) {
  REQUIRE_CLI();
  const Result r = run_cli("demo charlm --text " + kSample +
                           " --hidden 64 --layers 1 --batch 16 --seq-len 32 --steps 200"
                           " --sample-len 80 --seed 3 --json");
  ASSERT_EQ(r.status, 0) << r.out;
  const nlohmann::json j = nlohmann::json::parse(r.out);
  const double val = j.at("val_loss"), unigram = j.at("unigram_val_loss");
  std::printf("val_loss %.4f  unigram %.4f  train_loss %.4f  tokens/s %.0f\n", val, unigram,
              j.at("train_loss").get<double>(), j.at("tokens_per_s").get<double>());
  EXPECT_GT(unigram, 2.9);  // the baseline itself: ~3.09 nats/char on this sample
  EXPECT_LT(val, 2.4) << "did not learn: validation loss " << val << " nats/char";
  EXPECT_LT(val, unigram - 0.6);
  EXPECT_GT(j.at("tokens_per_s").get<double>(), 0.0);
  EXPECT_EQ(j.at("vocab_size").get<int>(), 70);
  EXPECT_GE(j.at("sample").get<std::string>().size(), 81u);  // prime + 80 characters
}

TEST(LearningCharLm, ExitCodes) {
  REQUIRE_CLI();
  EXPECT_EQ(run_cli("demo charlm --text /nonexistent/file.txt 2>/dev/null").status, 1);
  const auto empty = std::filesystem::temp_directory_path() / "rnn_charlm_empty.txt";
  std::ofstream(empty).close();
  EXPECT_EQ(run_cli("demo charlm --text " + empty.string() + " 2>/dev/null").status, 1);
  std::filesystem::remove(empty);
  for (const char* bad : {"--hidden 0", "--steps -1", "--lr 0", "--lr abc", "--temperature 0",
                          "--seq-len 0", "--batch 0", "--clip -1", "--prime '@'"}) {
    EXPECT_EQ(run_cli("demo charlm --text " + kSample + " " + bad + " 2>/dev/null").status, 2)
        << bad;
  }
  EXPECT_EQ(run_cli("demo charlm 2>/dev/null").status, 2);  // --text missing
}

}  // namespace
