// `rnn translate` errors: each gives exit 1 (2 for bad usage) and one line naming the
// problem, never a crash: a line without a tab, more than one tab, an empty source or
// target side, an over-long input at translation time (or its documented truncation), a
// model whose vocabulary does not match its tokenizer, a file that is not a translation
// model, resuming with incompatible options, bad option values. Also: a resumed run ends
// bit for bit where the uninterrupted one does.
#include <gtest/gtest.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <sys/wait.h>

#include <nlohmann/json.hpp>

#include "rnn/io/safetensors.h"

namespace {

namespace fs = std::filesystem;

struct Result {
  int status = -1;
  std::string out;  // stdout and stderr
};

Result run(const std::string& args, const std::string& prefix = "") {
  const std::string command =
      prefix + "OPENBLAS_NUM_THREADS=1 " + std::string(RNN_CLI_PATH) + " " + args + " 2>&1";
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

const std::string kFixtures = std::string(RNN_FIXTURE_DIR) + "/seq2seq/";
const std::string kTrain = kFixtures + "train.tsv";
const std::string kValid = kFixtures + "valid.tsv";
const std::string kTiny =
    " --embed 8 --hidden 6 --bpe 30 --batch 8 --valid-bleu 4 --progress off"
    " --threads 1 --beam 2";

// ctest runs tests as parallel processes: the process id keeps their folders apart.
fs::path dir(const std::string& name) {
  const fs::path d = fs::temp_directory_path() /
                     ("rnn_s2s_errors_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

std::string write(const fs::path& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
  return path.string();
}

void expect_one_line(const Result& r, int status, const std::string& needle) {
  EXPECT_EQ(r.status, status) << r.out;
  EXPECT_NE(r.out.find(needle), std::string::npos) << "expected '" << needle << "' in: " << r.out;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << r.out;
}

// A tiny trained model (a few steps), shared by the tests below.
std::string tiny_model() {
  static std::string path;
  if (!path.empty()) return path;
  const fs::path d = dir("model");
  const Result r = run("translate train --train " + kTrain + " --valid " + kValid + kTiny +
                       " --steps 4 --eval-every 0 --run-dir " + d.string() + " --json");
  EXPECT_EQ(r.status, 0) << r.out;
  path = (d / "model.safetensors").string();
  return path;
}

TEST(Seq2SeqCliErrors, LineWithoutTab) {
  REQUIRE_CLI();
  const fs::path d = dir("notab");
  const std::string bad = write(d / "bad.tsv", "a b\tc d\nno tab here\ne\tf\n");
  expect_one_line(run("translate train --train " + bad + " --valid " + kValid + kTiny +
                      " --steps 1 --run-dir " + (d / "run").string()),
                  1, "bad.tsv:2: no tab between source and target");
}

TEST(Seq2SeqCliErrors, TwoTabs) {
  REQUIRE_CLI();
  const fs::path d = dir("twotabs");
  const std::string bad = write(d / "bad.tsv", "a\tb\tc\n");
  expect_one_line(run("translate eval --model " + tiny_model() + " --data " + bad), 1,
                  "bad.tsv:1: more than one tab");
}

TEST(Seq2SeqCliErrors, EmptySides) {
  REQUIRE_CLI();
  const fs::path d = dir("empty");
  const std::string no_source = write(d / "src.tsv", "a\tb\n  \tc\n");
  const std::string no_target = write(d / "tgt.tsv", "a\tb\n\nc\t \n");
  expect_one_line(run("translate train --train " + no_source + " --valid " + kValid + kTiny +
                      " --steps 1 --run-dir " + (d / "run").string()),
                  1, "src.tsv:2: empty source side");
  expect_one_line(run("translate eval --model " + tiny_model() + " --data " + no_target), 1,
                  "tgt.tsv:3: empty target side");
}

TEST(Seq2SeqCliErrors, OverLongInputFailsOrIsTruncated) {
  REQUIRE_CLI();
  const fs::path d = dir("long");
  std::string long_line;
  for (int i = 0; i < 12; ++i) long_line += "And God said unto Noah ";
  const std::string input = write(d / "in.txt", "And God said\n" + long_line + "\n");
  const std::string model = tiny_model();
  expect_one_line(run("translate run --model " + model + " --input " + input + " --max-input 20"),
                  1, "in.txt:2: ");
  const Result cut = run("translate run --model " + model + " --input " + input +
                         " --max-input 20 --truncate --json --beam 1");
  EXPECT_EQ(cut.status, 0) << cut.out;
  EXPECT_NE(cut.out.find("in.txt:2: cut from"), std::string::npos) << cut.out;
}

TEST(Seq2SeqCliErrors, VocabularyMismatchAndNotAModel) {
  REQUIRE_CLI();
  const fs::path d = dir("mismatch");
  rnn::SafetensorsFile file = rnn::read_safetensors(tiny_model());
  nlohmann::json meta = nlohmann::json::parse(file.metadata.at("rnn_seq2seq"));
  meta["target"]["tokens"].erase(meta["target"]["tokens"].size() - 1);
  file.metadata["rnn_seq2seq"] = meta.dump();
  const std::string bad = (d / "bad.safetensors").string();
  rnn::write_safetensors(bad, file);
  expect_one_line(run("translate eval --model " + bad + " --data " + kValid), 1,
                  "tokens but the model's target vocabulary");
  expect_one_line(run("translate run --model " + kTrain + " --input " + kValid), 1, "train.tsv");
  expect_one_line(run("translate run --model " + (d / "missing.safetensors").string()), 1,
                  "no such model file");
}

TEST(Seq2SeqCliErrors, BadUsage) {
  REQUIRE_CLI();
  expect_one_line(run("translate eval --model " + tiny_model() + " --data " + kValid + " --beam 0"),
                  2, "--beam must be at least 1");
  const fs::path d = dir("usage");
  expect_one_line(run("translate train --train " + kTrain + " --valid " + kValid + kTiny +
                      " --attention cosine --run-dir " + d.string()),
                  2, "attention must be none, dot, general or additive");
  expect_one_line(run("translate train --train " + kTrain + " --valid " + kValid + kTiny +
                      " --label-smoothing 1.5 --run-dir " + d.string()),
                  2, "--label-smoothing must be in [0, 1)");
}

TEST(Seq2SeqCliErrors, ResumeWithOtherBatchAndExactResume) {
  REQUIRE_CLI();
  const fs::path d = dir("resume");
  const std::string common = "translate train --train " + kTrain + " --valid " + kValid + kTiny +
                             " --dropout 0.3 --checkpoint-every 3 --eval-every 3 --steps 6";
  ASSERT_EQ(run(common + " --run-dir " + (d / "full").string()).status, 0);
  // the same run in two parts: 3 steps, then resumed to 6
  ASSERT_EQ(run("translate train --train " + kTrain + " --valid " + kValid + kTiny +
                " --dropout 0.3 --checkpoint-every 3 --eval-every 3 --steps 3 --run-dir " +
                (d / "split").string())
                .status,
            0);
  const Result resumed = run(common + " --resume --run-dir " + (d / "split").string());
  ASSERT_EQ(resumed.status, 0) << resumed.out;
  const rnn::SafetensorsFile a = rnn::read_safetensors((d / "full" / "last.ckpt").string());
  const rnn::SafetensorsFile b = rnn::read_safetensors((d / "split" / "last.ckpt").string());
  for (const auto& [name, t] : a.tensors) {
    if (name.rfind("param.", 0) != 0) continue;
    ASSERT_TRUE(b.has(name)) << name;
    EXPECT_EQ(t.bytes, b.at(name).bytes) << name;
  }
  // (the data summary line comes first on stderr; the error is one line after it)
  const Result other = run("translate train --train " + kTrain + " --valid " + kValid +
                           " --embed 8 --hidden 6 --bpe 30 --batch 5 --valid-bleu 4 --progress off"
                           " --threads 1 --beam 2 --dropout 0.3 --steps 9 --resume --run-dir " +
                           (d / "split").string());
  EXPECT_EQ(other.status, 1) << other.out;
  EXPECT_NE(other.out.find("rnn: error: cannot resume with incompatible options: --batch 8 in the "
                           "checkpoint, 5 now\n"),
            std::string::npos)
      << other.out;
}

}  // namespace
