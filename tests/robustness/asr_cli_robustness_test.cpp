// `rnn asr` on bad data and arguments: exit 1 with one line naming the utterance and file for
// an unreadable or truncated WAV, empty audio, audio too short for one window, a transcript
// longer than the audio allows (CTC impossible: reported, never NaN), an unknown word, a
// file that is not a recogniser; exit 2 for bad usage. A tiny model is trained first
// (2 steps) on tests/fixtures/asr/tone.wav.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace fs = std::filesystem;

namespace {

struct CliResult {
  int exit_code = -1;
  std::string out, err;
};

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

class AsrCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (std::string(RNN_CLI_PATH).empty()) return;
    dir_ = fs::temp_directory_path() / ("rnn_asr_cli_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    write_list("train.tsv", {fixture("tone.wav") + "\tone two\tv1", fixture("tone.wav") + "\ttwo\tv2"});
    const CliResult r = run("asr train --train '" + path("train.tsv") + "' --valid '" +
                            path("train.tsv") + "' --steps 2 --eval-every 0 --hidden 4 --layers 1 "
                            "--mels 8 --batch 2 --progress off --run-dir '" + path("run") + "'");
    trained_ = r.exit_code == 0;
    if (!trained_) std::cerr << "training the tiny model failed: " << r.err;
  }
  static void TearDownTestSuite() {
    if (!dir_.empty()) fs::remove_all(dir_);
  }
  void SetUp() override {
    if (std::string(RNN_CLI_PATH).empty()) GTEST_SKIP() << "the rnn program is not built";
    ASSERT_TRUE(trained_);
  }

  static std::string fixture(const std::string& name) { return std::string(RNN_FIXTURE_DIR) + "/asr/" + name; }
  static std::string path(const std::string& name) { return (dir_ / name).string(); }
  static void write_list(const std::string& name, const std::vector<std::string>& lines) {
    std::ofstream out(path(name));
    for (const auto& l : lines) out << l << "\n";
  }
  static CliResult run(const std::string& args) {
    const std::string out = path("stdout.txt"), err = path("stderr.txt");
    const std::string command = std::string("'") + RNN_CLI_PATH + "' " + args + " >'" + out + "' 2>'" + err + "'";
    const int status = std::system(command.c_str());
    CliResult r;
    r.exit_code = (status != -1 && WIFEXITED(status)) ? WEXITSTATUS(status) : -1;
    r.out = read_text(out);
    r.err = read_text(err);
    return r;
  }
  static std::string model() { return path("run/best.ckpt"); }

  static void expect_failure(const CliResult& r, int code, const std::string& needle) {
    EXPECT_EQ(r.exit_code, code) << "stderr: " << r.err;
    EXPECT_TRUE(r.out.empty()) << "stdout: " << r.out;
    ASSERT_FALSE(r.err.empty());
    EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << "not one line: " << r.err;
    EXPECT_NE(r.err.find(needle), std::string::npos) << "no '" << needle << "' in: " << r.err;
  }
  void eval_list(const std::string& line, const std::string& needle) {
    write_list("eval.tsv", {line});
    expect_failure(run("asr eval --model '" + model() + "' --data '" + path("eval.tsv") + "'"), 1, needle);
  }

  static inline fs::path dir_;
  static inline bool trained_ = false;
};

TEST_F(AsrCli, GoodDataEvaluatesAndTranscribes) {
  write_list("good.tsv", {fixture("tone.wav") + "\ttwo one\tv1"});
  const CliResult e = run("asr eval --json --by-speaker --beam 4 --model '" + model() + "' --data '" + path("good.tsv") + "'");
  EXPECT_EQ(e.exit_code, 0) << e.err;
  EXPECT_NE(e.out.find("\"wer\""), std::string::npos) << e.out;
  const CliResult t = run("asr transcribe --model '" + model() + "' '" + fixture("tone.wav") + "'");
  EXPECT_EQ(t.exit_code, 0) << t.err;
  EXPECT_EQ(t.out.rfind(fixture("tone.wav") + "\t", 0), 0u) << t.out;
}

TEST_F(AsrCli, TruncatedWav) { eval_list(fixture("bad_truncated_data.wav") + "\tone", "truncated WAV file"); }
TEST_F(AsrCli, NotAWav) { eval_list(fixture("bad_not_riff.wav") + "\tone", "not a WAV file"); }
TEST_F(AsrCli, MissingWav) { eval_list(path("nowhere.wav") + "\tone", "no such WAV file"); }
TEST_F(AsrCli, EmptyAudio) { eval_list(fixture("bad_empty.wav") + "\tone", "empty audio"); }
TEST_F(AsrCli, AudioShorterThanOneWindow) {
  eval_list(fixture("good_pcm8_mono.wav") + "\tone", "audio too short");
}
TEST_F(AsrCli, TranscriptLongerThanTheAudioAllows) {
  // 34 frames / stack 3 = 12 steps; 7 repeated words need 13.
  eval_list(fixture("tone.wav") + "\tone one one one one one one", "audio too short for its transcript");
}
TEST_F(AsrCli, UnknownWord) { eval_list(fixture("tone.wav") + "\tone seven", "unknown word 'seven'"); }
TEST_F(AsrCli, EmptyTranscriptLine) { eval_list(fixture("tone.wav") + "\t  ", "empty transcript"); }

TEST_F(AsrCli, NotARecogniser) {
  write_list("good.tsv", {fixture("tone.wav") + "\tone"});
  expect_failure(run("asr eval --model '" + fixture("tone.wav") + "' --data '" + path("good.tsv") + "'"), 1,
                 fixture("tone.wav"));
  expect_failure(run("asr transcribe --model '" + path("none.ckpt") + "' x.wav"), 1, "no such model file");
}

TEST_F(AsrCli, BadUsage) {
  write_list("good.tsv", {fixture("tone.wav") + "\tone"});
  expect_failure(run("asr eval --beam 0 --model '" + model() + "' --data '" + path("good.tsv") + "'"), 2, "--beam");
  expect_failure(run("asr eval --model m --data d --bogus"), 2, "bogus");
  expect_failure(run("asr train --train a --valid b --tokens phones"), 2, "--tokens");
  expect_failure(run("asr train --train a --valid b --mels 0"), 2, "mel bands");
  expect_failure(run("asr train --train a --valid b --frontend fft"), 2, "--frontend");
  expect_failure(run("asr train --train a --valid b --frontend conv --stack 4 --conv-kernel 2"), 2, "--conv-kernel");
}

}  // namespace
