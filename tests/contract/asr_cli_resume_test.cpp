// `rnn asr train` end to end on a tiny corpus of WAV files written here: 8 steps straight
// equal 4 steps, then --resume to 8, bit for bit (every tensor of last.ckpt: parameters and
// optimizer state). Dropout and SpecAugment masks are on, so the generator's state and the
// shuffled order must be restored too, and the files are 16 kHz so resampling runs.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <numbers>
#include <string>

#include "rnn/audio/wav.h"
#include "rnn/io/safetensors.h"

namespace {

namespace fs = std::filesystem;

// A shell-quoted path (built by appending: GCC 12 warns falsely on "'" + string).
std::string quoted(const fs::path& path) {
  std::string s(1, '\'');
  s += path.string();
  s += '\'';
  return s;
}

int run_cli(const std::string& args) {
  const std::string command = quoted(RNN_CLI_PATH) + " " + args + " > /dev/null";
  const int raw = std::system(command.c_str());
  return WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
}

// Two words, each a tone; utterance i says a few of them with silences between.
void write_corpus(const fs::path& dir) {
  const char* words[] = {"low", "high"};
  const double hz[] = {600.0, 2000.0};
  std::ofstream list(dir / "list.tsv");
  for (int i = 0; i < 6; ++i) {
    rnn::audio::Audio a;
    a.sample_rate = 16000;
    a.channels = 1;
    std::string text;
    a.samples.resize(1600, 0.0f);
    for (int w = 0; w <= i % 3; ++w) {
      const int k = (i + w) % 2;
      if (!text.empty()) text += ' ';
      text += words[k];
      for (int t = 0; t < 2400; ++t)
        a.samples.push_back(static_cast<float>((0.2 + 0.1 * i) * std::sin(2 * std::numbers::pi * hz[k] * t / 16000.0)));
      a.samples.resize(a.samples.size() + 1600, 0.0f);
    }
    const std::string name = "utt" + std::to_string(i) + ".wav";
    rnn::audio::write_wav((dir / name).string(), a);
    list << name << "\t" << text << "\tv" << i % 2 << "\n";
  }
}

TEST(AsrCliContract, ResumeEqualsStraightRun) {
  if (std::string(RNN_CLI_PATH).empty()) GTEST_SKIP() << "CLI not built";
  const fs::path base = fs::temp_directory_path() / ("rnn_asr_cli_resume_" + std::to_string(::getpid()));
  fs::remove_all(base);
  fs::create_directories(base);
  write_corpus(base);
  const std::string list = quoted(base / "list.tsv");
  std::string common = "asr train --train ";
  common += list + " --valid " + list +
            " --mels 12 --stack 2 --hidden 6 --layers 2 --dropout 0.3 --batch 2"
            " --eval-every 3 --checkpoint-every 3 --progress off --threads 1";
  ASSERT_EQ(run_cli(common + " --steps 8 --run-dir " + quoted(base / "a")), 0);
  ASSERT_EQ(run_cli(common + " --steps 4 --run-dir " + quoted(base / "b")), 0);
  ASSERT_EQ(run_cli(common + " --steps 8 --resume --run-dir " + quoted(base / "b")), 0);
  const rnn::SafetensorsFile a = rnn::read_safetensors((base / "a" / "last.ckpt").string());
  const rnn::SafetensorsFile b = rnn::read_safetensors((base / "b" / "last.ckpt").string());
  ASSERT_FALSE(a.tensors.empty());
  ASSERT_EQ(a.tensors.size(), b.tensors.size());
  for (const auto& [name, t] : a.tensors) {
    ASSERT_TRUE(b.has(name)) << name;
    EXPECT_EQ(t.bytes, b.at(name).bytes) << name << " differs after resume";
  }
  // and the resumed run did train past the interruption: 4 steps alone end elsewhere
  ASSERT_EQ(run_cli(common + " --steps 4 --run-dir " + quoted(base / "c")), 0);
  const rnn::SafetensorsFile c = rnn::read_safetensors((base / "c" / "last.ckpt").string());
  bool differs = false;
  for (const auto& [name, t] : a.tensors) differs = differs || (c.has(name) && c.at(name).bytes != t.bytes);
  EXPECT_TRUE(differs);
  fs::remove_all(base);
}

}  // namespace
