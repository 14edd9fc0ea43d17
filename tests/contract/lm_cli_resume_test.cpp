// `rnn lm train` end to end: 16 steps straight equal 8 steps, then --resume to 16, bit for
// bit (every parameter of the exported model), with dropout so the generator matters; the
// same for a conditional model trained on per-category documents.
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <sys/wait.h>

#include "rnn/io/safetensors.h"

namespace {

namespace fs = std::filesystem;

int run_cli(const std::string& args) {
  const std::string command = std::string(RNN_CLI_PATH) + " " + args + " > /dev/null";
  const int raw = std::system(command.c_str());
  return WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
}

TEST(LmCliContract, ResumeEqualsStraightRun) {
  if (std::string(RNN_CLI_PATH).empty()) GTEST_SKIP() << "CLI not built";
  const fs::path base = fs::temp_directory_path() / "rnn_lm_cli_resume";
  fs::remove_all(base);
  const std::string common = "lm train --text " + std::string(RNN_SOURCE_DIR) +
                             "/data/sample/kjv_genesis.txt --hidden 24 --layers 2 --embed 12"
                             " --dropout 0.2 --batch 4 --seq-len 16 --eval-every 4"
                             " --checkpoint-every 3 --progress off --threads 1 --skip-test";
  ASSERT_EQ(run_cli(common + " --steps 16 --run-dir " + (base / "a").string()), 0);
  ASSERT_EQ(run_cli(common + " --steps 8 --run-dir " + (base / "b").string()), 0);
  ASSERT_EQ(run_cli(common + " --steps 16 --resume --run-dir " + (base / "b").string()), 0);
  for (const char* file : {"last.ckpt", "model.safetensors"}) {
    const rnn::SafetensorsFile a = rnn::read_safetensors((base / "a" / file).string());
    const rnn::SafetensorsFile b = rnn::read_safetensors((base / "b" / file).string());
    ASSERT_EQ(a.tensors.size(), b.tensors.size());
    for (const auto& [name, t] : a.tensors) {
      ASSERT_TRUE(b.has(name)) << name;
      EXPECT_EQ(t.bytes, b.at(name).bytes) << file << ": " << name << " differs after resume";
    }
  }
}

// The same through `rnn lm train --categories` (a conditional model on per-category
// documents, segments shorter than a document, dropout).
TEST(LmCliContract, ConditionalResumeEqualsStraightRun) {
  if (std::string(RNN_CLI_PATH).empty()) GTEST_SKIP() << "CLI not built";
  const fs::path base = fs::temp_directory_path() / "rnn_lm_cli_resume_categories";
  fs::remove_all(base);
  fs::create_directories(base);
  std::ifstream in(std::string(RNN_SOURCE_DIR) + "/data/sample/kjv_genesis.txt", std::ios::binary);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::ofstream list(base / "list.tsv");
  for (int k = 0; k < 5; ++k) {
    std::string name = std::to_string(k);
    name.insert(0, 1, 'd');
    name.append(".txt");  // (not "d" + ...: GCC 12 warns -Wrestrict on that pattern)
    std::ofstream(base / name, std::ios::binary) << text.substr(static_cast<size_t>(k) * 2500, 2500);
    list << (k % 2 ? "odd" : "even") << "\t" << name << "\n";
  }
  list.close();
  const std::string common = "lm train --categories " + (base / "list.tsv").string() +
                             " --hidden 16 --layers 2 --embed 8 --dropout 0.2 --batch 3"
                             " --seq-len 16 --segment 48 --eval-every 4 --checkpoint-every 3"
                             " --progress off --threads 1 --skip-test";
  ASSERT_EQ(run_cli(common + " --steps 16 --run-dir " + (base / "a").string()), 0);
  ASSERT_EQ(run_cli(common + " --steps 8 --run-dir " + (base / "b").string()), 0);
  ASSERT_EQ(run_cli(common + " --steps 16 --resume --run-dir " + (base / "b").string()), 0);
  for (const char* file : {"last.ckpt", "model.safetensors"}) {
    const rnn::SafetensorsFile a = rnn::read_safetensors((base / "a" / file).string());
    const rnn::SafetensorsFile b = rnn::read_safetensors((base / "b" / file).string());
    ASSERT_EQ(a.tensors.size(), b.tensors.size());
    ASSERT_TRUE(a.has("cond.weight") || a.has("param.cond.weight")) << file;
    for (const auto& [name, t] : a.tensors) {
      ASSERT_TRUE(b.has(name)) << name;
      EXPECT_EQ(t.bytes, b.at(name).bytes) << file << ": " << name << " differs after resume";
    }
  }
}

}  // namespace
