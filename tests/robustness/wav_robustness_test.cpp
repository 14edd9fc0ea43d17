// Bad WAV files give one clear line naming the file and the problem, never a crash and
// never a huge allocation: truncated files, absurd declared sizes, unsupported encodings,
// bit depths and channel counts, empty audio, a missing file.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "rnn/audio/wav.h"
#include "rnn/core/error.h"

namespace {

const std::string kDir = std::string(RNN_FIXTURE_DIR) + "/asr/";

void expect_error(const std::string& name, const std::string& fragment) {
  SCOPED_TRACE(name);
  try {
    rnn::audio::read_wav(kDir + name);
    ADD_FAILURE() << "no error for " << name;
  } catch (const rnn::Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find(name), std::string::npos) << what;
    EXPECT_NE(what.find(fragment), std::string::npos) << what;
    EXPECT_EQ(what.find('\n'), std::string::npos) << what;
  }
}

TEST(WavRobustness, EachBadFileHasItsMessage) {
  expect_error("bad_not_riff.wav", "not a WAV file");
  expect_error("bad_short.wav", "not a WAV file");
  expect_error("bad_truncated_data.wav", "truncated");
  expect_error("bad_absurd_data_size.wav", "declares 4294967280 bytes");
  expect_error("bad_absurd_list_size.wav", "'LIST' chunk declares");
  expect_error("bad_no_fmt.wav", "data chunk before the fmt chunk");
  expect_error("bad_no_data.wav", "no data chunk");
  expect_error("bad_mulaw.wav", "unsupported WAV encoding (format tag 7");
  expect_error("bad_three_channels.wav", "unsupported channel count 3");
  expect_error("bad_12_bits.wav", "12 bits per sample");
  expect_error("bad_float64.wav", "64 bits per sample");
  expect_error("bad_empty.wav", "empty audio");
  expect_error("bad_zero_rate.wav", "sample rate 0");
  expect_error("bad_partial_frame.wav", "whole number");
  expect_error("no_such_file.wav", "no such WAV file");
}

TEST(WavRobustness, EveryPrefixOfAGoodFileFailsCleanly) {
  std::vector<uint8_t> good = rnn::audio::encode_wav(
      {.sample_rate = 8000, .channels = 1, .samples = std::vector<float>(20, 0.25f)});
  for (size_t n = 0; n < good.size(); ++n) {
    std::span<const uint8_t> prefix(good.data(), n);
    EXPECT_THROW(rnn::audio::parse_wav(prefix, "prefix"), rnn::Error) << n << " bytes";
  }
  EXPECT_NO_THROW(rnn::audio::parse_wav(good, "whole"));
}

TEST(WavRobustness, ResampleRejectsBadRates) {
  std::vector<float> x(10, 0.0f);
  EXPECT_THROW(rnn::audio::resample(x, 0, 8000), rnn::Error);
  EXPECT_THROW(rnn::audio::resample(x, 8000, -1), rnn::Error);
}

}  // namespace
