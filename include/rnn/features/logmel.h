// Acoustic features: log-mel filterbank frames from mono audio, and their normalisation.
//
//   frame i = x[i*hop, i*hop + window) * hann (periodic), zero-padded to n_fft
//   power   = |rfft(frame)|^2                                    [n_fft/2 + 1]
//   mel     = power . filterbank^T                               [n_mels]
//   feature = log(mel + floor)
// The filterbank has triangular filters on the HTK mel scale (2595 log10(1 + f/700)),
// n_mels + 2 equally spaced mel points from fmin to fmax, weights evaluated at the FFT bin
// frequencies k * rate / n_fft (torchaudio's melscale_fbanks with norm=None, "htk").
// The FFT is FFTW3's single-precision real-to-complex transform.
//
// Letters: N samples, F frames, M mel bands, K = n_fft/2 + 1 bins.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "rnn/core/tensor.h"

namespace rnn::features {

struct LogMelOptions {
  int64_t sample_rate = 8000;  // the rate audio is resampled to before framing
  double window_ms = 25.0;
  double hop_ms = 10.0;
  int64_t n_fft = 0;           // 0: the smallest power of two >= the window
  int64_t n_mels = 40;
  double fmin = 20.0;
  double fmax = 0.0;           // 0: sample_rate / 2
  double log_floor = 1e-6;     // added to the mel energies before the log

  int64_t window_samples() const;
  int64_t hop_samples() const;
  int64_t fft_size() const;
  double max_frequency() const;
  // Throws rnn::Error naming the bad option.
  void validate() const;
  nlohmann::json to_json() const;
  static LogMelOptions from_json(const nlohmann::json& j);
};

// A real-to-complex FFT of fixed size n (FFTW3, single precision, planned once).
// Not thread-safe: one object per thread.
class RealFft {
 public:
  explicit RealFft(int64_t n);
  ~RealFft();
  RealFft(const RealFft&) = delete;
  RealFft& operator=(const RealFft&) = delete;

  int64_t size() const { return n_; }
  int64_t bins() const { return n_ / 2 + 1; }
  // in [n] -> out [bins] interleaved (re, im): X[k] = sum_t x[t] exp(-2 pi i k t / n).
  void forward(std::span<const float> in, std::span<float> out_interleaved);
  // in [n] -> |X[k]|^2 [bins].
  void power(std::span<const float> in, std::span<float> out);

 private:
  int64_t n_;
  float* in_ = nullptr;
  void* out_ = nullptr;
  void* plan_ = nullptr;
};

// The triangular mel filterbank [M, K] (row m weights bin k).
Tensor<float> mel_filterbank(const LogMelOptions& options);

class LogMel {
 public:
  explicit LogMel(const LogMelOptions& options);
  ~LogMel();
  LogMel(LogMel&&) noexcept;
  LogMel& operator=(LogMel&&) noexcept;

  const LogMelOptions& options() const { return options_; }
  // Frames in N samples (0 when N is shorter than one window).
  int64_t frames(int64_t samples) const;
  // mono samples at options().sample_rate -> [F, M]. Throws rnn::Error (naming `source`)
  // when the audio is shorter than one window.
  Tensor<float> compute(std::span<const float> samples, const std::string& source = "audio");

 private:
  LogMelOptions options_;
  std::unique_ptr<RealFft> fft_;
  Tensor<float> filterbank_;   // [M, K]
  std::vector<float> window_;  // Hann, periodic
  std::vector<float> frame_, power_;
};

enum class NormMode { None, Utterance, Global };
std::string to_string(NormMode mode);                // "none", "utterance", "global"
NormMode norm_mode_from_string(const std::string& name);

// Mean and variance normalisation per mel band: per utterance (each utterance by its own
// statistics) or global (statistics of the training set, stored with the model).
struct Normalizer {
  NormMode mode = NormMode::Utterance;
  std::vector<float> mean, stddev;  // [M], Global only

  // Global statistics over every frame of `utterances` (each [F, M]).
  void fit(std::span<const Tensor<float>> utterances);
  // In place on [F, M].
  void apply(Tensor<float>& features) const;
  nlohmann::json to_json() const;
  static Normalizer from_json(const nlohmann::json& j);
};

}  // namespace rnn::features
