// `rnn lm` with per-category documents: each failure gives one line and exit 1 (2 for bad
// usage): a missing category list, a malformed line, a missing document, --text with
// --categories, an unknown category name (sampling, evaluation), --category on an
// unconditional model or missing on a conditional one, a resume with another category
// list. The successful paths on the way (train, eval per category, sample from two
// categories by name) must exit 0.
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <sys/wait.h>

#include "rnn/text/utf8.h"

namespace {

namespace fs = std::filesystem;

struct Result {
  int status = -1;
  std::string out;  // stdout and stderr
};

Result run(const std::string& args) {
  const std::string command = std::string(RNN_CLI_PATH) + " " + args + " 2>&1";
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

void expect_one_line(const Result& r, int status, const std::string& needle) {
  EXPECT_EQ(r.status, status) << r.out;
  EXPECT_NE(r.out.find(needle), std::string::npos) << r.out;
  size_t errors = 0;
  for (size_t at = 0; (at = r.out.find("rnn:", at)) != std::string::npos; ++at)
    if (at == 0 || r.out[at - 1] == '\n') ++errors;
  EXPECT_EQ(errors, 1u) << r.out;
}

void write(const fs::path& p, const std::string& bytes) { std::ofstream(p, std::ios::binary) << bytes; }

// Four documents cut from the Genesis sample, two categories; the list and the documents
// in a fresh folder.
fs::path make_documents(const std::string& name) {
  const fs::path d = fs::temp_directory_path() / ("rnn_lm_category_errors_" + name);
  fs::remove_all(d);
  fs::create_directories(d / "docs");
  std::ifstream in(std::string(RNN_SOURCE_DIR) + "/data/sample/kjv_genesis.txt", std::ios::binary);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::string list;
  for (int k = 0; k < 4; ++k) {
    const std::string file = "docs/d" + std::to_string(k) + ".txt";
    write(d / file, text.substr(static_cast<size_t>(k) * 3000, 3000));
    list += std::string(k % 2 ? "odd" : "even") + "\t" + file + "\n";
  }
  write(d / "list.tsv", list);
  write(d / "three.tsv", list + "third\tdocs/d0.txt\n");
  write(d / "unknown.tsv", "even\tdocs/d0.txt\nnew\tdocs/d1.txt\n");
  write(d / "missing_doc.tsv", "even\tdocs/d0.txt\nodd\tdocs/gone.txt\n");
  write(d / "malformed.tsv", "even docs/d0.txt\n");
  return d;
}

const std::string kTiny =
    " --hidden 12 --layers 1 --embed 6 --batch 4 --seq-len 16 --segment 32 --eval-every 0"
    " --progress off --threads 1 --skip-test";

#define REQUIRE_CLI() \
  if (std::string(RNN_CLI_PATH).empty()) GTEST_SKIP() << "CLI not built"

TEST(LmCategoryCliErrors, ListsAndDocuments) {
  REQUIRE_CLI();
  const fs::path d = make_documents("lists");
  const std::string train = "lm train --steps 2 --run-dir " + (d / "run").string() + kTiny;
  expect_one_line(run(train + " --categories " + (d / "none.tsv").string()), 1,
                  "none.tsv: no such category list");
  expect_one_line(run(train + " --categories " + (d / "malformed.tsv").string()), 1,
                  "malformed.tsv:1: expected 'category<TAB>path'");
  expect_one_line(run(train + " --categories " + (d / "missing_doc.tsv").string()), 1,
                  "missing_doc.tsv:2: " + (d / "docs" / "gone.txt").string() + ": no such file");
  expect_one_line(run(train + " --categories " + (d / "list.tsv").string() + " --text " +
                      (d / "docs" / "d0.txt").string()),
                  2, "give exactly one of --text FILE and --categories LIST");
  expect_one_line(run(train + " --text " + (d / "docs" / "d0.txt").string() + " --unconditional"),
                  2, "--unconditional needs --categories");
  expect_one_line(run(train + " --categories " + (d / "list.tsv").string() + " --segment -1"), 2,
                  "--segment");
}

TEST(LmCategoryCliErrors, CategoriesOfTrainedModels) {
  REQUIRE_CLI();
  const fs::path d = make_documents("models");
  const std::string list = (d / "list.tsv").string();
  const std::string run_dir = (d / "cond").string();
  const std::string train = "lm train --categories " + list + kTiny;
  ASSERT_EQ(run(train + " --steps 4 --checkpoint-every 2 --run-dir " + run_dir).status, 0);
  ASSERT_EQ(run(train + " --steps 2 --unconditional --run-dir " + (d / "uncond").string()).status, 0);
  const std::string model = (d / "cond" / "model.safetensors").string();

  // Sampling by name works for both categories and differs between them.
  const Result even = run("lm sample --length 40 --seed 3 --model " + model + " --category even");
  const Result odd = run("lm sample --length 40 --seed 3 --model " + model + " --category odd");
  EXPECT_EQ(even.status, 0) << even.out;
  EXPECT_EQ(odd.status, 0) << odd.out;
  EXPECT_NE(even.out, odd.out);
  expect_one_line(run("lm sample --model " + model + " --category psalms"), 2,
                  "--category: unknown category 'psalms': the model's 2 categories are even, odd");
  expect_one_line(run("lm sample --model " + model), 2, "this model is conditional: give --category");
  expect_one_line(run("lm sample --model " + (d / "uncond" / "model.safetensors").string() +
                      " --category even"),
                  2, "--category is only for conditional models");

  // Evaluation per category; a list with a category the model does not know is refused.
  const Result eval = run("lm eval --threads 1 --split valid --segment 32 --model " + model +
                          " --categories " + list);
  EXPECT_EQ(eval.status, 0) << eval.out;
  EXPECT_NE(eval.out.find("\n  even: loss"), std::string::npos) << eval.out;
  EXPECT_NE(eval.out.find("\n  odd: loss"), std::string::npos) << eval.out;
  expect_one_line(run("lm eval --threads 1 --model " + model + " --categories " +
                      (d / "unknown.tsv").string()),
                  1, "category 'new' is not one of the model's 2 categories");

  expect_one_line(run("lm eval --threads 1 --model " + model + " --text " +
                      (d / "docs" / "d0.txt").string()),
                  2, "this model is conditional: score it on per-category documents");

  // Resume with three categories where the checkpoint has two.
  expect_one_line(run("lm train --categories " + (d / "three.tsv").string() + kTiny +
                      " --steps 6 --resume --run-dir " + run_dir),
                  1, "another category list: 2 categories in the checkpoint (even, odd), 3 now");
}

}  // namespace
