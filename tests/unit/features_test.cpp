// Log-mel features: the FFT against a direct DFT, a sine landing in the mel band that
// contains its frequency, the filterbank and the features of tests/fixtures/asr/tone.wav
// against an independent NumPy computation (tools/fixtures/gen_asr_fixtures.py), frame
// counts and the normalisations.
#include <gtest/gtest.h>

#include <cmath>
#include <complex>
#include <nlohmann/json.hpp>
#include <numbers>
#include <vector>

#include "rnn/audio/wav.h"
#include "rnn/features/logmel.h"
#include "rnn/io/safetensors.h"
#include "support/compare.h"

namespace {

using namespace rnn::features;
using rnn::Tensor;

TEST(RealFft, AgreesWithADirectDftOnAnOddishSize) {
  for (int64_t n : {12, 16, 25}) {
    RealFft fft(n);
    std::vector<float> x(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) { const auto d = static_cast<double>(i); x[i] = static_cast<float>(std::sin(1.7 * d) + 0.1 * d * d / static_cast<double>(n)); }
    std::vector<float> out(static_cast<size_t>(2 * fft.bins())), power(static_cast<size_t>(fft.bins()));
    fft.forward(x, out);
    fft.power(x, power);
    for (int64_t k = 0; k < fft.bins(); ++k) {
      std::complex<double> direct = 0;
      for (int64_t t = 0; t < n; ++t)
        direct += static_cast<double>(x[t]) *
                  std::polar(1.0, -2.0 * std::numbers::pi * static_cast<double>(k * t) / static_cast<double>(n));
      EXPECT_NEAR(out[2 * k], direct.real(), 1e-4) << "n " << n << " bin " << k;
      EXPECT_NEAR(out[2 * k + 1], direct.imag(), 1e-4) << "n " << n << " bin " << k;
      EXPECT_NEAR(power[k], std::norm(direct), 1e-3 * (1 + std::norm(direct)));
    }
  }
}

TEST(LogMel, ASineLandsInTheBandOfItsFrequency) {
  LogMelOptions o;
  o.sample_rate = 8000;
  o.n_mels = 20;
  LogMel mel(o);
  const Tensor<float> fb = mel_filterbank(o);
  for (double freq : {300.0, 1000.0, 2200.0, 3500.0}) {
    std::vector<float> x(4000);
    for (size_t i = 0; i < x.size(); ++i)
      x[i] = static_cast<float>(0.5 * std::sin(2 * std::numbers::pi * freq * static_cast<double>(i) / 8000.0));
    const Tensor<float> f = mel.compute(x);
    // the band whose filter weighs the tone's bin most
    const auto bin = static_cast<int64_t>(std::lround(freq * static_cast<double>(o.fft_size()) / 8000.0));
    int64_t expected = 0;
    for (int64_t m = 1; m < o.n_mels; ++m)
      if (fb.at(m, bin) > fb.at(expected, bin)) expected = m;
    int64_t loudest = 0;
    for (int64_t m = 1; m < o.n_mels; ++m)
      if (f.at(10, m) > f.at(10, loudest)) loudest = m;
    EXPECT_EQ(loudest, expected) << freq << " Hz";
  }
}

TEST(LogMel, MatchesTheNumpyReference) {
  const auto file = rnn::read_safetensors(std::string(RNN_FIXTURE_DIR) + "/asr/logmel.safetensors");
  const LogMelOptions o = LogMelOptions::from_json(nlohmann::json::parse(file.metadata.at("options")));
  const auto audio = rnn::audio::read_wav(std::string(RNN_FIXTURE_DIR) + "/asr/tone.wav");
  ASSERT_EQ(audio.sample_rate, o.sample_rate);
  LogMel mel(o);
  EXPECT_TRUE(rnn::test::all_close("filterbank", mel_filterbank(o), file.get<double>("filterbank"),
                                   1e-6, 1e-5));
  const Tensor<float> f = mel.compute(rnn::audio::to_mono(audio));
  EXPECT_TRUE(rnn::test::all_close("features", f, file.get<double>("features"), 1e-3, 1e-4));
}

TEST(LogMel, FrameCountsAndDerivedSizes) {
  LogMelOptions o;  // 8 kHz, 25 ms -> 200 samples, 10 ms -> 80, FFT 256
  EXPECT_EQ(o.window_samples(), 200);
  EXPECT_EQ(o.hop_samples(), 80);
  EXPECT_EQ(o.fft_size(), 256);
  LogMel mel(o);
  EXPECT_EQ(mel.frames(199), 0);
  EXPECT_EQ(mel.frames(200), 1);
  EXPECT_EQ(mel.frames(279), 1);
  EXPECT_EQ(mel.frames(280), 2);
  std::vector<float> tiny(150, 0.1f);
  EXPECT_THROW(mel.compute(tiny, "tiny.wav"), rnn::Error);
  LogMelOptions bad = o;
  bad.n_fft = 128;
  EXPECT_THROW(bad.validate(), rnn::Error);
  bad = o;
  bad.fmax = 5000;
  EXPECT_THROW(bad.validate(), rnn::Error);
  EXPECT_EQ(LogMelOptions::from_json(o.to_json()).to_json(), o.to_json());
}

TEST(Normalizer, UtteranceAndGlobal) {
  Tensor<float> a({4, 2}, std::vector<float>{1, 10, 3, 10, 5, 10, 7, 10});
  Normalizer u;
  u.mode = NormMode::Utterance;
  Tensor<float> x = a;
  u.apply(x);
  double mean = 0, sq = 0;
  for (int f = 0; f < 4; ++f) {
    mean += x.at(f, 0);
    sq += x.at(f, 0) * x.at(f, 0);
    EXPECT_NEAR(x.at(f, 1), 0.0f, 1e-5);  // a constant band becomes zero, not NaN
  }
  EXPECT_NEAR(mean / 4, 0.0, 1e-6);
  EXPECT_NEAR(sq / 4, 1.0, 1e-5);

  Normalizer g;
  g.mode = NormMode::Global;
  Tensor<float> b({2, 2}, std::vector<float>{3, 0, 5, 2});
  std::vector<Tensor<float>> set = {a, b};
  g.fit(set);
  EXPECT_NEAR(g.mean[0], (1 + 3 + 5 + 7 + 3 + 5) / 6.0, 1e-5);
  const Normalizer back = Normalizer::from_json(g.to_json());
  EXPECT_EQ(back.mean, g.mean);
  EXPECT_EQ(back.stddev, g.stddev);
  Tensor<float> y = b;
  back.apply(y);
  EXPECT_NEAR(y.at(0, 0), (3 - g.mean[0]) / g.stddev[0], 1e-6);
}

}  // namespace
