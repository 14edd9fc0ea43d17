// The WAV reader on one tiny file per accepted format (written by
// tools/fixtures/gen_asr_fixtures.py with Python's struct, independently of the reader),
// write/read round trips, down-mixing and band-limited resampling.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <numbers>
#include <string>
#include <vector>

#include "rnn/audio/wav.h"

namespace {

using namespace rnn::audio;
const std::string kDir = std::string(RNN_FIXTURE_DIR) + "/asr/";

TEST(Wav, ReadsEveryFormatExactly) {
  std::ifstream in(kDir + "wav_expected.json");
  const nlohmann::json expected = nlohmann::json::parse(in);
  ASSERT_EQ(expected.size(), 6u);
  for (const auto& [name, e] : expected.items()) {
    SCOPED_TRACE(name);
    const Audio a = read_wav(kDir + name);
    EXPECT_EQ(a.sample_rate, e["rate"].get<int64_t>());
    EXPECT_EQ(a.channels, e["channels"].get<int64_t>());
    EXPECT_EQ(to_string(a.format), e["format"].get<std::string>());
    const auto samples = e["samples"].get<std::vector<double>>();
    ASSERT_EQ(a.samples.size(), samples.size());
    EXPECT_EQ(a.frames(), 40);
    for (size_t i = 0; i < samples.size(); ++i)
      ASSERT_NEAR(a.samples[i], samples[i], 1e-7) << "sample " << i;
  }
}

TEST(Wav, StereoDownmixAverages) {
  const Audio a = read_wav(kDir + "good_pcm16_stereo.wav");  // right = -left
  for (float v : to_mono(a)) EXPECT_NEAR(v, 0.0f, 1.0f / 32768.0f);
}

TEST(Wav, WriteReadRoundTripEachFormat) {
  const auto dir = std::filesystem::temp_directory_path() / "rnn_wav_test";
  std::filesystem::create_directories(dir);
  for (SampleFormat f : {SampleFormat::Pcm8, SampleFormat::Pcm16, SampleFormat::Pcm24,
                         SampleFormat::Pcm32, SampleFormat::Float32}) {
    Audio a;
    a.sample_rate = 12345;
    a.channels = 2;
    a.format = f;
    for (int i = 0; i < 30; ++i) a.samples.push_back(std::sin(0.3f * static_cast<float>(i)) * 0.9f);
    const std::string path = (dir / ("rt_" + to_string(f) + ".wav")).string();
    write_wav(path, a);
    const Audio b = read_wav(path);
    EXPECT_EQ(b.sample_rate, 12345);
    EXPECT_EQ(b.channels, 2);
    EXPECT_EQ(b.format, f);
    const double tol = f == SampleFormat::Pcm8 ? 1.0 / 128 : f == SampleFormat::Pcm16 ? 1.0 / 32768 : 1e-6;
    ASSERT_EQ(b.samples.size(), a.samples.size());
    for (size_t i = 0; i < a.samples.size(); ++i) EXPECT_NEAR(b.samples[i], a.samples[i], tol);
  }
  std::filesystem::remove_all(dir);
}

// A tone below both Nyquist rates survives 22050 -> 8000 Hz; one above the new Nyquist rate
// (6 kHz at 8 kHz) is removed instead of aliasing to 2 kHz.
TEST(Resample, KeepsInBandToneAndRemovesOutOfBandTone) {
  const double pi = std::numbers::pi;
  const int from = 22050, to = 8000, n = 22050;
  std::vector<float> in_band(n), out_band(n);
  for (int i = 0; i < n; ++i) {
    in_band[i] = static_cast<float>(0.5 * std::sin(2 * pi * 440.0 * i / from));
    out_band[i] = static_cast<float>(0.5 * std::sin(2 * pi * 6000.0 * i / from));
  }
  const auto a = resample(in_band, from, to), b = resample(out_band, from, to);
  ASSERT_EQ(a.size(), 8000u);
  double worst = 0, energy = 0;
  for (int i = 200; i < 7800; ++i) {  // away from the edges
    worst = std::max(worst, std::abs(a[i] - 0.5 * std::sin(2 * pi * 440.0 * i / to)));
    energy += b[i] * b[i];
  }
  EXPECT_LT(worst, 2e-3);
  EXPECT_LT(std::sqrt(energy / 7600.0), 2e-3);  // the tone had RMS 0.35
  // Upsampling keeps the tone too.
  const auto up = resample(a, to, 16000);
  ASSERT_EQ(up.size(), 16000u);
  for (int i = 400; i < 15600; i += 97)
    EXPECT_NEAR(up[i], 0.5 * std::sin(2 * pi * 440.0 * i / 16000), 3e-3);
  EXPECT_EQ(resample(a, to, to), a);
}

}  // namespace
