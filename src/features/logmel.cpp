#include "rnn/features/logmel.h"

#include <fftw3.h>

#include <algorithm>
#include <cmath>
#include <mutex>

#include "rnn/core/error.h"
#include "rnn/core/json_int.h"

namespace rnn::features {

namespace {
constexpr double kPi = 3.14159265358979323846;
std::mutex& planner_mutex() {  // FFTW's planner is not thread-safe
  static std::mutex m;
  return m;
}
double hz_to_mel(double hz) { return 2595.0 * std::log10(1.0 + hz / 700.0); }
double mel_to_hz(double mel) { return 700.0 * (std::pow(10.0, mel / 2595.0) - 1.0); }
}  // namespace

int64_t LogMelOptions::window_samples() const {
  return static_cast<int64_t>(std::llround(window_ms * static_cast<double>(sample_rate) / 1000.0));
}
int64_t LogMelOptions::hop_samples() const {
  return static_cast<int64_t>(std::llround(hop_ms * static_cast<double>(sample_rate) / 1000.0));
}
int64_t LogMelOptions::fft_size() const {
  if (n_fft > 0) return n_fft;
  int64_t n = 1;
  while (n < window_samples()) n *= 2;
  return n;
}
double LogMelOptions::max_frequency() const {
  return fmax > 0.0 ? fmax : static_cast<double>(sample_rate) / 2.0;
}

void LogMelOptions::validate() const {
  check(sample_rate >= 1000 && sample_rate <= 384000, "features: sample rate ", sample_rate,
        " Hz outside 1000..384000");
  check(window_samples() >= 8, "features: window ", window_ms, " ms is under 8 samples at ",
        sample_rate, " Hz");
  check(hop_samples() >= 1, "features: hop ", hop_ms, " ms is under one sample");
  check(n_fft == 0 || n_fft >= window_samples(), "features: FFT size ", n_fft,
        " is smaller than the window (", window_samples(), " samples)");
  check(fft_size() <= 65536, "features: FFT size ", fft_size(), " above 65536");
  check(n_mels >= 1 && n_mels <= 512, "features: mel bands ", n_mels, " outside 1..512");
  check(fmin >= 0.0 && max_frequency() > fmin &&
            max_frequency() <= static_cast<double>(sample_rate) / 2.0 + 1e-9,
        "features: need 0 <= fmin < fmax <= rate/2, got fmin ", fmin, ", fmax ",
        max_frequency(), " at ", sample_rate, " Hz");
  check(log_floor > 0.0, "features: log floor must be > 0, got ", log_floor);
}

nlohmann::json LogMelOptions::to_json() const {
  return {{"sample_rate", sample_rate}, {"window_ms", window_ms}, {"hop_ms", hop_ms},
          {"n_fft", n_fft},             {"n_mels", n_mels},       {"fmin", fmin},
          {"fmax", fmax},               {"log_floor", log_floor}};
}

LogMelOptions LogMelOptions::from_json(const nlohmann::json& j) {
  LogMelOptions o;
  try {
    o.sample_rate = j.at("sample_rate").get<JsonInt<int64_t>>().value;
    o.window_ms = j.at("window_ms").get<double>();
    o.hop_ms = j.at("hop_ms").get<double>();
    o.n_fft = j.at("n_fft").get<JsonInt<int64_t>>().value;
    o.n_mels = j.at("n_mels").get<JsonInt<int64_t>>().value;
    o.fmin = j.at("fmin").get<double>();
    o.fmax = j.at("fmax").get<double>();
    o.log_floor = j.at("log_floor").get<double>();
  } catch (const nlohmann::json::exception& e) {
    fail("feature options: ", e.what());
  }
  o.validate();
  return o;
}

RealFft::RealFft(int64_t n) : n_(n) {
  check(n >= 2 && n <= (1 << 20), "RealFft: size ", n, " outside 2..2^20");
  std::lock_guard<std::mutex> lock(planner_mutex());
  in_ = fftwf_alloc_real(static_cast<size_t>(n));
  out_ = fftwf_alloc_complex(static_cast<size_t>(n / 2 + 1));
  check(in_ != nullptr && out_ != nullptr, "RealFft: out of memory for size ", n);
  plan_ = fftwf_plan_dft_r2c_1d(static_cast<int>(n), in_, static_cast<fftwf_complex*>(out_),
                                FFTW_ESTIMATE);
  check(plan_ != nullptr, "RealFft: FFTW could not plan size ", n);
}

RealFft::~RealFft() {
  std::lock_guard<std::mutex> lock(planner_mutex());
  if (plan_) fftwf_destroy_plan(static_cast<fftwf_plan>(plan_));
  fftwf_free(in_);
  fftwf_free(out_);
}

void RealFft::forward(std::span<const float> in, std::span<float> out) {
  check(static_cast<int64_t>(in.size()) == n_ && static_cast<int64_t>(out.size()) == 2 * bins(),
        "RealFft::forward: sizes ", in.size(), " -> ", out.size(), " for n = ", n_);
  std::copy(in.begin(), in.end(), in_);
  fftwf_execute(static_cast<fftwf_plan>(plan_));
  const auto* c = static_cast<const fftwf_complex*>(out_);
  for (int64_t k = 0; k < bins(); ++k) {
    out[2 * k] = c[k][0];
    out[2 * k + 1] = c[k][1];
  }
}

void RealFft::power(std::span<const float> in, std::span<float> out) {
  check(static_cast<int64_t>(in.size()) == n_ && static_cast<int64_t>(out.size()) == bins(),
        "RealFft::power: sizes ", in.size(), " -> ", out.size(), " for n = ", n_);
  std::copy(in.begin(), in.end(), in_);
  fftwf_execute(static_cast<fftwf_plan>(plan_));
  const auto* c = static_cast<const fftwf_complex*>(out_);
  for (int64_t k = 0; k < bins(); ++k) out[k] = c[k][0] * c[k][0] + c[k][1] * c[k][1];
}

Tensor<float> mel_filterbank(const LogMelOptions& o) {
  o.validate();
  const int64_t n_fft = o.fft_size(), bins = n_fft / 2 + 1;
  const double lo = hz_to_mel(o.fmin), hi = hz_to_mel(o.max_frequency());
  std::vector<double> edges(static_cast<size_t>(o.n_mels + 2));
  for (size_t i = 0; i < edges.size(); ++i)
    edges[i] = mel_to_hz(lo + (hi - lo) * static_cast<double>(i) / static_cast<double>(o.n_mels + 1));
  Tensor<float> fb({o.n_mels, bins});
  for (int64_t m = 0; m < o.n_mels; ++m) {
    const double left = edges[m], center = edges[m + 1], right = edges[m + 2];
    for (int64_t k = 0; k < bins; ++k) {
      const double f = static_cast<double>(k) * static_cast<double>(o.sample_rate) /
                       static_cast<double>(n_fft);
      const double up = (f - left) / (center - left), down = (right - f) / (right - center);
      fb.at(m, k) = static_cast<float>(std::max(0.0, std::min(up, down)));
    }
  }
  return fb;
}

LogMel::LogMel(const LogMelOptions& options) : options_(options) {
  options_.validate();
  fft_ = std::make_unique<RealFft>(options_.fft_size());
  filterbank_ = mel_filterbank(options_);
  const int64_t w = options_.window_samples();
  window_.resize(static_cast<size_t>(w));
  for (int64_t i = 0; i < w; ++i)
    window_[i] = static_cast<float>(0.5 - 0.5 * std::cos(2.0 * kPi * static_cast<double>(i) /
                                                         static_cast<double>(w)));
  frame_.assign(static_cast<size_t>(options_.fft_size()), 0.0f);
  power_.assign(static_cast<size_t>(fft_->bins()), 0.0f);
}

LogMel::~LogMel() = default;
LogMel::LogMel(LogMel&&) noexcept = default;
LogMel& LogMel::operator=(LogMel&&) noexcept = default;

int64_t LogMel::frames(int64_t samples) const {
  const int64_t w = options_.window_samples();
  return samples < w ? 0 : 1 + (samples - w) / options_.hop_samples();
}

Tensor<float> LogMel::compute(std::span<const float> samples, const std::string& source) {
  const int64_t count = frames(static_cast<int64_t>(samples.size()));
  check(count > 0, source, ": audio too short: ", samples.size(), " samples at ",
        options_.sample_rate, " Hz, one analysis window needs ", options_.window_samples());
  const int64_t w = options_.window_samples(), hop = options_.hop_samples();
  const int64_t bins = fft_->bins(), mels = options_.n_mels;
  Tensor<float> out({count, mels});
  for (int64_t f = 0; f < count; ++f) {
    const float* x = samples.data() + f * hop;
    for (int64_t i = 0; i < w; ++i) frame_[i] = x[i] * window_[i];
    fft_->power(frame_, power_);
    for (int64_t m = 0; m < mels; ++m) {
      const float* row = filterbank_.data() + m * bins;
      double e = 0.0;
      for (int64_t k = 0; k < bins; ++k) e += static_cast<double>(row[k]) * power_[k];
      out.at(f, m) = static_cast<float>(std::log(e + options_.log_floor));
    }
  }
  return out;
}

std::string to_string(NormMode mode) {
  switch (mode) {
    case NormMode::None: return "none";
    case NormMode::Utterance: return "utterance";
    case NormMode::Global: return "global";
  }
  return "?";
}

NormMode norm_mode_from_string(const std::string& name) {
  if (name == "none") return NormMode::None;
  if (name == "utterance") return NormMode::Utterance;
  if (name == "global") return NormMode::Global;
  fail("normalisation must be none, utterance or global, got '", name, "'");
}

void Normalizer::fit(std::span<const Tensor<float>> utterances) {
  if (mode != NormMode::Global) return;
  check(!utterances.empty(), "Normalizer::fit: no utterances");
  const int64_t m = utterances[0].dim(1);
  std::vector<double> sum(static_cast<size_t>(m), 0.0), sq(static_cast<size_t>(m), 0.0);
  double frames = 0;
  for (const Tensor<float>& u : utterances) {
    check(u.rank() == 2 && u.dim(1) == m, "Normalizer::fit: utterance of shape ",
          shape_str(u.shape()), ", expected [F, ", m, "]");
    for (int64_t f = 0; f < u.dim(0); ++f)
      for (int64_t j = 0; j < m; ++j) {
        const double v = u.at(f, j);
        sum[j] += v;
        sq[j] += v * v;
      }
    frames += static_cast<double>(u.dim(0));
  }
  mean.assign(static_cast<size_t>(m), 0.0f);
  stddev.assign(static_cast<size_t>(m), 1.0f);
  for (int64_t j = 0; j < m; ++j) {
    const double mu = sum[j] / frames;
    const double var = std::max(0.0, sq[j] / frames - mu * mu);
    mean[j] = static_cast<float>(mu);
    stddev[j] = static_cast<float>(std::sqrt(var + 1e-8));
  }
}

void Normalizer::apply(Tensor<float>& x) const {
  check(x.rank() == 2, "Normalizer::apply: features must be [F, M], got ", shape_str(x.shape()));
  const int64_t frames = x.dim(0), m = x.dim(1);
  if (mode == NormMode::None) return;
  if (mode == NormMode::Global) {
    check(static_cast<int64_t>(mean.size()) == m, "Normalizer: statistics for ", mean.size(),
          " bands, features have ", m);
    for (int64_t f = 0; f < frames; ++f)
      for (int64_t j = 0; j < m; ++j) x.at(f, j) = (x.at(f, j) - mean[j]) / stddev[j];
    return;
  }
  for (int64_t j = 0; j < m; ++j) {
    double s = 0, q = 0;
    for (int64_t f = 0; f < frames; ++f) {
      s += x.at(f, j);
      q += static_cast<double>(x.at(f, j)) * x.at(f, j);
    }
    const double mu = s / static_cast<double>(frames);
    const double sd = std::sqrt(std::max(0.0, q / static_cast<double>(frames) - mu * mu) + 1e-5);
    for (int64_t f = 0; f < frames; ++f)
      x.at(f, j) = static_cast<float>((x.at(f, j) - mu) / sd);
  }
}

nlohmann::json Normalizer::to_json() const {
  nlohmann::json j = {{"mode", to_string(mode)}};
  if (mode == NormMode::Global) {
    j["mean"] = mean;
    j["stddev"] = stddev;
  }
  return j;
}

Normalizer Normalizer::from_json(const nlohmann::json& j) {
  Normalizer n;
  try {
    n.mode = norm_mode_from_string(j.at("mode").get<std::string>());
    if (n.mode == NormMode::Global) {
      n.mean = j.at("mean").get<std::vector<float>>();
      n.stddev = j.at("stddev").get<std::vector<float>>();
      check(n.mean.size() == n.stddev.size() && !n.mean.empty(),
            "normaliser: mean and stddev differ in size");
      for (float s : n.stddev) check(s > 0.0f && std::isfinite(s), "normaliser: bad stddev ", s);
    }
  } catch (const nlohmann::json::exception& e) {
    fail("normaliser: ", e.what());
  }
  return n;
}

}  // namespace rnn::features
