// Learning: `rnn lm train` learns the bundled KJV sample (Genesis 1-26) within a small,
// fixed budget: character level, validation well under the unigram baseline (the loss of
// a model without context); word level, validation perplexity under the unigram one.
// Then `rnn lm sample` continues a priming text from the trained model.
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <string>
#include <sys/wait.h>

#include <nlohmann/json.hpp>

#include "rnn/lm/corpus.h"
#include "rnn/text/utf8.h"

namespace {

namespace fs = std::filesystem;

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

#define REQUIRE_CLI() \
  if (std::string(RNN_CLI_PATH).empty()) GTEST_SKIP() << "CLI not built"

const std::string kSample = std::string(RNN_SOURCE_DIR) + "/data/sample/kjv_genesis.txt";

// Validation cross-entropy (nats per token) of the training part's token frequencies,
// add-one smoothed.
double unigram_loss(rnn::text::TokenLevel level) {
  const rnn::lm::Corpus c =
      rnn::lm::make_corpus(rnn::text::read_text_file(kSample), {.level = level}, kSample);
  std::vector<double> counts(static_cast<size_t>(c.vocab.size()), 1.0);
  for (int64_t id : c.train.ids) counts[static_cast<size_t>(id)] += 1.0;
  const double total = static_cast<double>(c.train.ids.size()) + static_cast<double>(counts.size());
  double loss = 0;
  for (int64_t id : c.valid.ids) loss -= std::log(counts[static_cast<size_t>(id)] / total);
  return loss / static_cast<double>(c.valid.ids.size());
}

fs::path run_dir(const std::string& name) {
  const fs::path d = fs::temp_directory_path() / ("rnn_lm_learning_" + name);
  fs::remove_all(d);
  return d;
}

TEST(LmLearning, CharLstmBeatsUnigramOnSample) {
  REQUIRE_CLI();
  const fs::path dir = run_dir("char");
  const Result r = run_cli("lm train --text " + kSample +
                           " --hidden 64 --layers 1 --embed 32 --batch 16 --seq-len 32"
                           " --steps 300 --eval-every 100 --lr 3e-3 --seed 3 --threads 1"
                           " --progress off --sample-len 40 --json --run-dir " + dir.string());
  ASSERT_EQ(r.status, 0) << r.out;
  const nlohmann::json j = nlohmann::json::parse(r.out);
  const double val = j.at("valid").at("loss"), unigram = unigram_loss(rnn::text::TokenLevel::Char);
  std::printf("char: validation %.4f nats/char (%.3f bpc), test %.3f bpc, unigram %.4f; %.0f tokens/s\n",
              val, j.at("valid").at("bpc").get<double>(), j.at("test").at("bpc").get<double>(),
              unigram, j.at("tokens_per_s").get<double>());
  EXPECT_GT(unigram, 2.9);  // ~3.09 nats/char on this sample
  EXPECT_LT(val, 2.35) << "did not learn";
  EXPECT_LT(val, unigram - 0.7);
  EXPECT_EQ(j.at("vocab_size").get<int>(), 71);  // 70 characters + <unk>
  EXPECT_EQ(j.at("steps").get<int>(), 300);
  EXPECT_TRUE(fs::exists(dir / "best.ckpt"));
  EXPECT_TRUE(fs::exists(dir / "metrics.jsonl"));
  EXPECT_TRUE(fs::exists(dir / "curves.svg"));
  EXPECT_TRUE(fs::exists(dir / "command.json"));

  const Result s = run_cli("lm sample --model " + (dir / "model.safetensors").string() +
                           " --prime 'And God said' --length 60 --temperature 0.5 --seed 2");
  ASSERT_EQ(s.status, 0);
  EXPECT_EQ(s.out.rfind("And God said", 0), 0u) << s.out;
  EXPECT_GE(s.out.size(), 12u + 60u);
  EXPECT_EQ(s.out, run_cli("lm sample --model " + (dir / "best.ckpt").string() +
                           " --prime 'And God said' --length 60 --temperature 0.5 --seed 2").out);
}

TEST(LmLearning, WordGruBeatsUnigramOnSample) {
  REQUIRE_CLI();
  const fs::path dir = run_dir("word");
  const Result r = run_cli("lm train --text " + kSample +
                           " --level word --max-vocab 2000 --cell gru --hidden 64 --layers 1"
                           " --embed 64 --tie --batch 16 --seq-len 16 --steps 250 --eval-every 0"
                           " --lr 5e-3 --seed 1 --threads 1 --progress off --json --run-dir " +
                           dir.string());
  ASSERT_EQ(r.status, 0) << r.out;
  const nlohmann::json j = nlohmann::json::parse(r.out);
  const double val = j.at("valid").at("loss"), unigram = unigram_loss(rnn::text::TokenLevel::Word);
  std::printf("word: validation perplexity %.1f, unigram %.1f (vocabulary %d)\n",
              std::exp(val), std::exp(unigram), j.at("vocab_size").get<int>());
  EXPECT_LT(val, unigram - 0.5) << "did not learn";
}

}  // namespace
