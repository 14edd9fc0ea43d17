// Inputs that would need absurd memory are refused with one clear line before anything is
// allocated (issue 10, item 6): size claims in safetensors headers, model configurations far
// larger than the tensors their file holds, WAV chunks claiming gigabytes, and text inputs of
// 10 GB (sparse files: nothing is written to disk). A reader that allocated first would
// fail with std::bad_alloc or be killed, not give these messages.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "rnn/audio/wav.h"
#include "rnn/core/error.h"
#include "rnn/forecast/data.h"
#include "rnn/io/model_file.h"
#include "rnn/io/safetensors.h"
#include "rnn/lm/model_file.h"
#include "rnn/seq2seq/data.h"
#include "rnn/tagging/data.h"
#include "rnn/text/utf8.h"

namespace rnn {
namespace {

namespace fs = std::filesystem;

// The message of the rnn::Error `f` throws ("" and a test failure when it throws nothing
// or something else).
std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "not an rnn::Error: " << e.what();
    return "";
  }
  ADD_FAILURE() << "no error";
  return "";
}

#define EXPECT_HAS(text, fragment) \
  EXPECT_NE(std::string(text).find(fragment), std::string::npos) << (text)

// A safetensors file with this header (padded to 8) and `data_size` bytes of data.
std::vector<unsigned char> safetensors_with(std::string header, size_t data_size) {
  header.append((8 - header.size() % 8) % 8, ' ');
  const uint64_t n = header.size();
  std::vector<unsigned char> out(8 + header.size() + data_size, 0);
  std::memcpy(out.data(), &n, 8);
  std::memcpy(out.data() + 8, header.data(), header.size());
  return out;
}

class ResourceLimitsFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() /
           (std::string("rnn_limits_") + info->name() + "_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // A sparse file of `size` bytes (all zero), or "" when the file system cannot make one.
  std::string sparse_file(const std::string& name, uint64_t size) {
    const std::string path = (dir_ / name).string();
    const int fd = ::open(path.c_str(), O_CREAT | O_WRONLY | O_TRUNC, 0644);
    if (fd < 0) return "";
    const bool ok = ::ftruncate(fd, static_cast<off_t>(size)) == 0;
    ::close(fd);
    return ok ? path : "";
  }
  fs::path dir_;
};

constexpr uint64_t kTenGigabytes = uint64_t{10} << 30;

TEST(ResourceLimits, SafetensorsShapeWhoseByteSizeOverflowsIsRefused) {
  const auto bytes = safetensors_with(
      R"({"w":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,16]}})", 16);
  EXPECT_HAS(error_of([&] { parse_safetensors(bytes, "huge.safetensors"); }),
             "is absurdly large");
}

TEST(ResourceLimits, SafetensorsOffsetsBeyondTheFileAreRefused) {
  // 2^31 floats (8 GiB) claimed by a 100-byte file.
  const auto bytes = safetensors_with(
      R"({"w":{"dtype":"F32","shape":[2147483648],"data_offsets":[0,8589934592]}})", 16);
  const std::string what = error_of([&] { parse_safetensors(bytes, "huge.safetensors"); });
  EXPECT_HAS(what, "huge.safetensors");
  EXPECT_HAS(what, "run past the data region of 16 bytes");
}

TEST(ResourceLimits, SafetensorsHeaderLengthClaimingExabytesIsRefused) {
  std::vector<unsigned char> bytes(64, ' ');
  const uint64_t n = uint64_t{1} << 62;
  std::memcpy(bytes.data(), &n, 8);
  EXPECT_HAS(error_of([&] { parse_safetensors(bytes, "h.safetensors"); }), "exceeds the limit");
}

TEST_F(ResourceLimitsFiles, ModelConfigFarLargerThanItsTensorsIsRefusedBeforeBuilding) {
  // hidden_size 2^24 in 4096 layers would be petabytes of parameters; the file holds 8 floats.
  SafetensorsFile file;
  file.put("weight_ih_l0", Tensor<float>({4, 2}, 0.5f));
  file.metadata["config"] = nlohmann::json{{"mode", "LSTM"},
                                           {"input_size", 2},
                                           {"hidden_size", 1 << 24},
                                           {"num_layers", 4096}}
                                .dump();
  const std::string path = (dir_ / "huge_config.safetensors").string();
  write_safetensors(path, file);
  const std::string what = error_of([&] { load_recurrent<float>(path); });
  EXPECT_HAS(what, "huge_config.safetensors");
  EXPECT_HAS(what, "parameter 'weight_ih_l0'");
  EXPECT_HAS(what, "expected shape [67108864, 2], got [4, 2]");
}

TEST_F(ResourceLimitsFiles, LanguageModelFarLargerThanItsTensorsIsRefusedBeforeBuilding) {
  // A GRU of hidden size 100000 would be 120 GB of parameters; the file holds 8 floats.
  const nlohmann::json rnn_config = {{"mode", "GRU"},     {"input_size", 3},
                                     {"hidden_size", 100000}, {"num_layers", 1}};
  SafetensorsFile file;
  file.put("decoder.bias", Tensor<float>({8}, 0.0f));
  file.metadata["rnn_lm"] =
      nlohmann::json{{"format", 1},
                     {"config",
                      {{"vocab_size", 3}, {"embed_size", 3}, {"rnn", rnn_config},
                       {"tie_weights", false}, {"dropout", 0.0}}},
                     {"vocab", {{"level", "char"}, {"tokens", {"<unk>", "a", "b"}}}}}
          .dump();
  const std::string path = (dir_ / "huge_lm.safetensors").string();
  write_safetensors(path, file);
  const std::string what = error_of([&] { lm::load_lm(path); });
  EXPECT_HAS(what, "huge_lm.safetensors");
  EXPECT_HAS(what, "needs at least 30001800012 parameter values but the file holds only 8");
}

TEST(ResourceLimits, WavChunkClaimingGigabytesIsRefused) {
  // RIFF header, a fmt chunk for 16-bit mono, then a data chunk claiming 4 GiB - 16 bytes.
  std::vector<uint8_t> wav = {'R', 'I', 'F', 'F', 0, 0, 0, 0, 'W', 'A', 'V', 'E',
                              'f', 'm', 't', ' ', 16, 0, 0, 0, 1, 0, 1, 0,
                              0x80, 0x3e, 0, 0, 0, 0x7d, 0, 0, 2, 0, 16, 0,
                              'd', 'a', 't', 'a', 0xf0, 0xff, 0xff, 0xff, 1, 2, 3, 4};
  const std::string what = error_of([&] { audio::parse_wav(wav, "claims.wav"); });
  EXPECT_HAS(what, "claims.wav: truncated WAV file: data chunk declares 4294967280 bytes");
}

TEST_F(ResourceLimitsFiles, TenGigabyteWavIsRefusedBeforeReading) {
  const std::string path = sparse_file("big.wav", kTenGigabytes);
  if (path.empty()) GTEST_SKIP() << "this file system cannot make a sparse file";
  EXPECT_HAS(error_of([&] { audio::read_wav(path); }), "is larger than any WAV file");
}

TEST_F(ResourceLimitsFiles, TenGigabyteTextInputsAreRefusedBeforeReading) {
  // All zero bytes: one 10 GB "line" and a 10 GB file at once.
  const std::string path = sparse_file("big.txt", kTenGigabytes);
  if (path.empty()) GTEST_SKIP() << "this file system cannot make a sparse file";
  const std::vector<std::pair<const char*, std::function<void()>>> readers = {
      {"text", [&] { text::read_text_file(path); }},
      {"CSV", [&] { forecast::read_csv(path); }},
      {"parallel text", [&] { seq2seq::read_pairs(path); }},
      {"a text corpus", [&] { tagging::read_tagged_tsv(path); }},
      {"a text corpus", [&] { tagging::read_labeled_tsv(path); }},
      {"a text corpus", [&] { tagging::read_brown_file(path, true); }},
  };
  for (const auto& [what, read] : readers) {
    SCOPED_TRACE(what);
    const std::string message = error_of(read);
    EXPECT_HAS(message, path + ": 10737418240 bytes is more than the 2147483648-byte limit for " +
                            what);
    EXPECT_EQ(message.find('\n'), std::string::npos);
  }
}

}  // namespace
}  // namespace rnn
