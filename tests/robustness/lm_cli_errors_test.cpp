// `rnn lm` errors: each documented failure gives exit 1 (or 2 for bad usage) and one line
// naming the problem, never a crash: missing, empty, binary and invalid UTF-8 files;
// files that are not language models or are corrupt; checkpoints of another model or
// vocabulary; resume with incompatible options; a full disk while saving (the previous
// checkpoint stays intact).
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <sys/wait.h>

#include "rnn/train/checkpoint.h"

namespace {

namespace fs = std::filesystem;

struct Result {
  int status = -1;
  std::string out;  // stdout and stderr
};

Result run(const std::string& args, const std::string& prefix = "") {
  const std::string command = prefix + std::string(RNN_CLI_PATH) + " " + args + " 2>&1";
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
const std::string kTiny =
    " --hidden 16 --layers 1 --embed 8 --batch 4 --seq-len 16 --eval-every 0 --progress off"
    " --threads 1";

fs::path dir(const std::string& name) {
  const fs::path d = fs::temp_directory_path() / ("rnn_lm_errors_" + name);
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
  EXPECT_NE(r.out.find(needle), std::string::npos) << r.out;
  // Progress lines start with "lm:"; the error is one line starting with "rnn:".
  size_t errors = 0;
  for (size_t at = 0; (at = r.out.find("rnn:", at)) != std::string::npos; ++at)
    if (at == 0 || r.out[at - 1] == '\n') ++errors;
  EXPECT_EQ(errors, 1u) << r.out;
}

TEST(LmCliErrors, BadTextFiles) {
  REQUIRE_CLI();
  const fs::path d = dir("text");
  const std::string train = "lm train --run-dir " + (d / "run").string() + kTiny + " --text ";
  expect_one_line(run(train + (d / "missing.txt").string()), 1, "no such file");
  expect_one_line(run(train + write(d / "empty.txt", "")), 1, "the file is empty");
  expect_one_line(run(train + write(d / "bin.dat", std::string("PK\3\4\0\0abc", 9))), 1,
                  "binary file (NUL byte at offset 4)");
  expect_one_line(run(train + write(d / "bad.txt", "good text\n\xE9t\xE9\n")), 1,
                  "invalid UTF-8 at byte offset 11");
  expect_one_line(run(train + write(d / "short.txt", "abc")), 1, "too few");
}

TEST(LmCliErrors, BadUsage) {
  REQUIRE_CLI();
  const std::string train =
      "lm train --run-dir " + (dir("usage") / "run").string() + " --text " + kSample + " ";
  for (const char* bad : {"--hidden 0", "--steps -1", "--lr 0", "--lr abc", "--level bytes",
                          "--cell lstmx", "--dropout 1", "--batch 0", "--seq-len 0", "--clip -1",
                          "--tie --embed 8 --hidden 16", "--progress fancy", "--no-such-option",
                          "--schedule-options '[1]'", "--max-vocab 1"}) {
    const Result r = run(train + bad);
    EXPECT_EQ(r.status, 2) << bad << ": " << r.out;
  }
  EXPECT_EQ(run("lm train").status, 2);  // --text missing
  EXPECT_EQ(run("lm").status, 2);
  EXPECT_EQ(run("lm sample").status, 2);  // --model missing
  const std::string model = " --model /nonexistent.safetensors";
  for (const char* bad : {"--temperature 0", "--top-p 0", "--top-p 1.5", "--top-k -1",
                          "--length -3", "--prime \"$(printf '\\377')\""}) {
    EXPECT_EQ(run(std::string("lm sample") + model + " " + bad).status, 2) << bad;
  }
  EXPECT_EQ(run("lm eval --model x --text " + kSample + " --split middle").status, 2);
}

TEST(LmCliErrors, BadModelFiles) {
  REQUIRE_CLI();
  const fs::path d = dir("models");
  expect_one_line(run("lm sample --model " + (d / "none.ckpt").string()), 1, "no such model file");
  expect_one_line(run("lm sample --model " + write(d / "junk.ckpt", "not a checkpoint at all")), 1,
                  "junk.ckpt");
  const std::string rnn_model =
      std::string(RNN_SOURCE_DIR) + "/tests/fixtures/io/torch_lstm_proj_bidir.safetensors";
  expect_one_line(run("lm eval --model " + rnn_model + " --text " + kSample), 1,
                  "not a language model");
  // A real checkpoint, then truncated: refused, named.
  const fs::path run_dir = d / "run";
  ASSERT_EQ(run("lm train --text " + kSample + kTiny + " --steps 3 --skip-test --run-dir " +
                run_dir.string()).status, 0);
  std::string bytes;
  {
    std::ifstream in(run_dir / "last.ckpt", std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  expect_one_line(run("lm sample --model " + write(d / "cut.ckpt", bytes.substr(0, bytes.size() - 100))),
                  1, "cut.ckpt");
  // Unknown characters are counted, not fatal.
  const Result unknown = run("lm eval --json --model " + (run_dir / "model.safetensors").string() +
                             " --text " + write(d / "new.txt", "\xE2\x82\xAC\xE2\x82\xAC In the beginning"));
  EXPECT_EQ(unknown.status, 0) << unknown.out;
  EXPECT_NE(unknown.out.find("\"unknown\":2"), std::string::npos) << unknown.out;
}

TEST(LmCliErrors, ResumeMismatches) {
  REQUIRE_CLI();
  const fs::path d = dir("resume");
  const std::string run_dir = " --run-dir " + (d / "run").string();
  ASSERT_EQ(run("lm train --text " + kSample + kTiny + " --steps 4 --skip-test" + run_dir).status, 0);
  // Starting again in a used folder without --resume.
  expect_one_line(run("lm train --text " + kSample + kTiny + " --steps 8" + run_dir), 1,
                  "already holds a run");
  expect_one_line(run("lm train --resume --text " + kSample + kTiny + " --hidden 20 --steps 8" + run_dir),
                  1, "another model: rnn.hidden_size 16 in the checkpoint, 20 now");
  expect_one_line(run("lm train --resume --text " + kSample + kTiny + " --batch 8 --steps 8" + run_dir),
                  1, "--batch 4 in the checkpoint, 8 now");
  expect_one_line(run("lm train --resume --text " + kSample + kTiny + " --optimizer sgd --steps 8" + run_dir),
                  1, "optimizer");
  // Another text with another vocabulary: another model (vocabulary size) or vocabulary.
  std::string other(4000, 'x');
  for (size_t i = 0; i < other.size(); i += 7) other[i] = 'y';
  const Result r = run("lm train --resume --text " + write(d / "other.txt", other) + kTiny +
                       " --steps 8" + run_dir);
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_NE(r.out.find("another"), std::string::npos) << r.out;
  expect_one_line(run("lm train --resume --text " + kSample + kTiny + " --steps 8 --run-dir " +
                      (d / "empty_run").string()),
                  1, "nothing to resume");
}

TEST(LmCliErrors, FullDiskKeepsThePreviousCheckpoint) {
  REQUIRE_CLI();
  const fs::path d = dir("disk");
  const std::string args = "lm train --text " + kSample + kTiny + " --skip-test --run-dir " +
                           (d / "run").string();
  ASSERT_EQ(run(args + " --steps 4").status, 0);
  const auto size = fs::file_size(d / "run" / "last.ckpt");
  // Files may grow to ~size/2 bytes: the next checkpoint cannot be written (EFBIG, as a
  // full disk gives ENOSPC). SIGXFSZ is ignored so that write() fails instead.
  const std::string limit =
      "bash -c 'trap \"\" XFSZ; ulimit -f " + std::to_string(size / 2 / 1024) + "; exec \"$0\" \"$@\"' ";
  const Result r = run(args + " --steps 8 --resume", limit);
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_NE(r.out.find(".ckpt"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("File too large"), std::string::npos) << r.out;
  const rnn::Checkpoint c = rnn::Checkpoint::load((d / "run" / "last.ckpt").string());
  EXPECT_EQ(c.meta.at("trainer").at("step").get<int64_t>(), 4);
  ASSERT_EQ(run(args + " --steps 8 --resume").status, 0);  // and it resumes from there
}

}  // namespace
