// Replays every committed fuzz input through its entry function in the ordinary build: the
// seed corpora (fuzz/corpus/<target>/) and every input a fuzzer once found a problem with
// (fuzz/regressions/<target>/), so each fixed finding stays fixed. An input passes when the
// reader accepts it or refuses it with rnn::Error; any other exception fails the test (a
// crash fails the whole program).
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <ostream>
#include <string>
#include <typeinfo>
#include <vector>

#include "targets.h"

namespace fs = std::filesystem;

namespace rnn::fuzz {
// gtest prints a parameter with this (found by argument-dependent lookup).
void PrintTo(const Target& target, std::ostream* os) { *os << target.name; }
}  // namespace rnn::fuzz

namespace {

std::vector<fs::path> inputs_in(const fs::path& dir) {
  std::vector<fs::path> files;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return files;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.is_regular_file()) files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

std::vector<uint8_t> read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

class FuzzReplay : public ::testing::TestWithParam<rnn::fuzz::Target> {};

void replay(const rnn::fuzz::Target& target, const std::vector<fs::path>& files) {
  for (const fs::path& file : files) {
    const std::vector<uint8_t> bytes = read_bytes(file);
    try {
      EXPECT_EQ(target.run(bytes.data(), bytes.size()), 0) << file;
    } catch (const std::exception& e) {
      ADD_FAILURE() << file << ": escaped " << typeid(e).name() << ": " << e.what();
    }
  }
}

TEST_P(FuzzReplay, SeedCorpus) {
  const auto files = inputs_in(fs::path(RNN_FUZZ_DIR) / "corpus" / GetParam().name);
  ASSERT_GE(files.size(), 3u) << "fuzz/corpus/" << GetParam().name << " needs seed inputs";
  replay(GetParam(), files);
}

TEST_P(FuzzReplay, Regressions) {
  replay(GetParam(), inputs_in(fs::path(RNN_FUZZ_DIR) / "regressions" / GetParam().name));
}

INSTANTIATE_TEST_SUITE_P(Targets, FuzzReplay, ::testing::ValuesIn(rnn::fuzz::kTargets),
                         [](const auto& param_info) { return std::string(param_info.param.name); });

}  // namespace
