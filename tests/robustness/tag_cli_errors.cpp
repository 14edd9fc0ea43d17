// `rnn tag` and `rnn classify` on bad data and bad arguments: one line on stderr naming the
// problem (file and line where there is one), exit 2 for bad usage and 1 otherwise, never a
// crash. Also a tiny end-to-end train / eval / predict on the fixture files.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

namespace fs = std::filesystem;

namespace {

struct CliResult {
  int exit_code = -1;
  std::string out, err;
};

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

class TagCli : public ::testing::Test {
 protected:
  void SetUp() override {
    cli_ = RNN_CLI_PATH;
    if (cli_.empty()) GTEST_SKIP() << "the rnn program is not built";
    dir_ = fs::temp_directory_path() /
           ("rnn_tag_cli_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    if (!dir_.empty()) fs::remove_all(dir_);
  }

  CliResult run(const std::string& args, const std::string& stdin_text = "") {
    const fs::path out = dir_ / "stdout.txt", err = dir_ / "stderr.txt", in = dir_ / "stdin.txt";
    std::ofstream(in) << stdin_text;
    const std::string cmd = "OPENBLAS_NUM_THREADS=1 '" + cli_ + "' " + args + " < '" + in.string() +
                            "' > '" + out.string() + "' 2> '" + err.string() + "'";
    const int status = std::system(cmd.c_str());
    CliResult r;
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    r.out = slurp(out);
    r.err = slurp(err);
    return r;
  }

  std::string write(const std::string& name, const std::string& text) {
    const fs::path p = dir_ / name;
    std::ofstream(p, std::ios::binary) << text;
    return p.string();
  }

  // Exit code; stderr ends with exactly one error line ("rnn: ...", after any log lines)
  // that contains `needle`.
  void expect_error(const CliResult& r, int code, const std::string& needle) {
    EXPECT_EQ(r.exit_code, code) << r.err;
    ASSERT_FALSE(r.err.empty());
    EXPECT_EQ(r.err.back(), '\n') << r.err;
    std::istringstream lines(r.err);
    std::string line, last;
    int error_lines = 0;
    while (std::getline(lines, line)) {
      if (line.rfind("rnn:", 0) == 0) ++error_lines;
      last = line;
    }
    EXPECT_EQ(error_lines, 1) << r.err;
    EXPECT_EQ(last.rfind("rnn:", 0), 0u) << r.err;
    EXPECT_NE(last.find(needle), std::string::npos) << "stderr: " << r.err;
  }

  std::string tagger_train_args(const std::string& train, const std::string& valid) {
    return "tag train --train " + train + " --valid " + valid +
           " --word-embed 4 --char-embed 3 --char-hidden 3 --hidden 5 --steps 3 --batch 2 --progress off --run-dir " +
           (dir_ / "run").string();
  }

  std::string cli_;
  fs::path dir_;
  const std::string fixtures_ = std::string(RNN_FIXTURE_DIR) + "/tagging";
};

const char* kTagged = "The dog barked .\tDT NN VBD .\nCats sleep\tNNS VBP\n";
const char* kLabeled = "pos\tgood food\nneg\tbad service\npos\tnice place\nneg\tawful\n";

TEST_F(TagCli, MalformedTaggedLineNamesTheLine) {
  const auto bad = write("bad.tsv", "a b\tX Y\nno tab here\n");
  const auto good = write("good.tsv", kTagged);
  expect_error(run(tagger_train_args(bad, good)), 1, "bad.tsv:2: expected TOKENS<TAB>TAGS");
}

TEST_F(TagCli, TokenTagCountMismatchNamesTheLine) {
  const auto bad = write("bad.tsv", "a b c\tX Y\n");
  expect_error(run(tagger_train_args(bad, bad)), 1, "bad.tsv:1: 3 tokens but 2 tags");
}

TEST_F(TagCli, EmptySentence) {
  const auto bad = write("bad.tsv", "a\tX\n \tY\n");
  expect_error(run(tagger_train_args(bad, bad)), 1, "bad.tsv:2: empty sentence");
}

TEST_F(TagCli, MalformedBrownToken) {
  fs::create_directories(dir_ / "brown");
  std::ofstream(dir_ / "brown" / "ca01") << "good/at word/nn\nbad-token/nn noslash\n";
  expect_error(run("tag train --brown " + (dir_ / "brown").string() + " --steps 1 --run-dir " + (dir_ / "run").string()),
               1, "ca01:2: token 'noslash' is not word/tag");
}

TEST_F(TagCli, InvalidUtf8) {
  const auto bad = write("bad.tsv", "a\tX\ncaf\xc3\tY\n");
  expect_error(run(tagger_train_args(bad, bad)), 1, "bad.tsv:2");
}

TEST_F(TagCli, BadUsageExits2) {
  const auto good = write("good.tsv", kTagged);
  expect_error(run("tag train --train " + good), 2, "--train needs --valid");
  expect_error(run("tag train --train " + good + " --valid " + good + " --cell tanh"), 2, "--cell");
  expect_error(run("tag train --train " + good + " --valid " + good + " --dropout 1.5"), 2, "--dropout");
  expect_error(run("tag train --train " + good + " --valid " + good + " --batch 0"), 2, "--batch");
  expect_error(run("tag train"), 2, "--brown");
  expect_error(run("tag train --bogus 1"), 2, "bogus");
  expect_error(run("classify train --train " + good + " --pooling median"), 2, "--pooling");
  expect_error(run("classify train --train " + good + " --model svm"), 2, "--model");
  expect_error(run("classify cv --data " + good + " --folds 1"), 2, "--folds");
}

TEST_F(TagCli, MissingFiles) {
  expect_error(run("tag eval --model " + (dir_ / "none.ckpt").string() + " --data x.tsv"), 1, "none.ckpt");
  const auto good = write("good.tsv", kTagged);
  expect_error(run("tag train --train " + (dir_ / "nope.tsv").string() + " --valid " + good + " --run-dir " +
                   (dir_ / "run").string()),
               1, "nope.tsv: no such file");
}

TEST_F(TagCli, TaggerTrainEvalPredictAndUnknownTagAtEvaluation) {
  const auto train = write("train.tsv", kTagged);
  const CliResult t = run(tagger_train_args(train, train) + " --json");
  ASSERT_EQ(t.exit_code, 0) << t.err;
  const auto j = nlohmann::json::parse(t.out);
  EXPECT_TRUE(j.contains("valid"));
  EXPECT_TRUE(fs::exists(dir_ / "run" / "confusion.svg"));
  const std::string model = (dir_ / "run" / "best.ckpt").string();

  const CliResult e = run("tag eval --json --model " + model + " --data " + train);
  ASSERT_EQ(e.exit_code, 0) << e.err;
  EXPECT_EQ(nlohmann::json::parse(e.out)["tokens"], 6);

  const CliResult p = run("tag predict --model " + model, "The cat barked\n");
  ASSERT_EQ(p.exit_code, 0) << p.err;
  EXPECT_EQ(p.out.find("The/"), 0u) << p.out;

  expect_error(run("tag predict --model " + model, "ok\n\n"), 1, "stdin:2: empty sentence");
  const auto unknown = write("unknown.tsv", "The dog\tDT NN\nCats sleep\tNNS XYZ\n");
  expect_error(run("tag eval --model " + model + " --data " + unknown), 1, "sentence 2: unknown tag 'XYZ'");
  // A classifier checkpoint is not a tagger.
  expect_error(run("classify eval --model " + model + " --data " + train), 1, "not a classifier checkpoint");
}

TEST_F(TagCli, ClassifierUnknownLabelAndDifferentLabelSetOnResume) {
  const auto train = write("train.tsv", kLabeled);
  const std::string run_dir = (dir_ / "c").string();
  const std::string args = "classify train --train " + train + " --valid " + train +
                           " --embed 4 --hidden 3 --steps 2 --batch 2 --progress off --run-dir " + run_dir;
  const CliResult t = run(args);
  ASSERT_EQ(t.exit_code, 0) << t.err;
  const std::string model = run_dir + "/best.ckpt";
  const auto unknown = write("unknown.tsv", "pos\tgood\nmaybe\tfine\n");
  expect_error(run("classify eval --model " + model + " --data " + unknown), 1, "example 2: unknown label 'maybe'");
  const CliResult p = run("classify predict --json --model " + model, "good food\n");
  ASSERT_EQ(p.exit_code, 0) << p.err;
  EXPECT_EQ(nlohmann::json::parse(p.out)["predictions"].size(), 1u);
  // Resume the run with data whose label set differs from the model's.
  const auto other = write("other.tsv", "pos\tgood food\nmixed\tso so\npos\tnice\nmixed\tok\n");
  expect_error(run("classify train --train " + other + " --valid " + other +
                   " --embed 4 --hidden 3 --steps 4 --batch 2 --progress off --resume --run-dir " + run_dir),
               1, "label set differs");
  const auto bad = write("bad.tsv", "pos\tgood\nno label here\n");
  expect_error(run("classify train --train " + bad + " --run-dir " + run_dir + "x"), 1, "bad.tsv:2: expected LABEL<TAB>TEXT");
  const auto empty = write("empty.tsv", "pos\tgood\nneg\t   \n");
  expect_error(run("classify train --train " + empty + " --run-dir " + run_dir + "y"), 1, "empty.tsv:2: empty text");
  const auto tiny = write("tiny.tsv", "pos\tgood\nneg\tbad\n");
  expect_error(run("classify train --train " + tiny + " --run-dir " + run_dir + "z"), 1,
               "too few to hold out");
}

TEST_F(TagCli, TaggerResumeWithDifferentTagSet) {
  const auto train = write("train.tsv", kTagged);
  ASSERT_EQ(run(tagger_train_args(train, train)).exit_code, 0);
  const auto other = write("other.tsv", "The dog barked .\tDT NN VBD PUNCT\nCats sleep\tNNS VBP\n");
  expect_error(run(tagger_train_args(other, other) + " --resume"), 1, "tag set differs");
}

}  // namespace
