#include "rnn/audio/wav.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <numeric>
#include <fstream>

#include "rnn/core/error.h"
#include "rnn/io/atomic_file.h"

namespace rnn::audio {

std::string to_string(SampleFormat format) {
  switch (format) {
    case SampleFormat::Pcm8: return "pcm8";
    case SampleFormat::Pcm16: return "pcm16";
    case SampleFormat::Pcm24: return "pcm24";
    case SampleFormat::Pcm32: return "pcm32";
    case SampleFormat::Float32: return "float32";
  }
  return "?";
}

namespace {

constexpr int64_t kMaxRate = 1'000'000;
constexpr uint16_t kFormatPcm = 1, kFormatFloat = 3, kFormatExtensible = 0xFFFE;

uint32_t u32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 |
         static_cast<uint32_t>(p[2]) << 16 | static_cast<uint32_t>(p[3]) << 24;
}
uint16_t u16(const uint8_t* p) { return static_cast<uint16_t>(p[0] | p[1] << 8); }

int bytes_per_sample(SampleFormat f) {
  switch (f) {
    case SampleFormat::Pcm8: return 1;
    case SampleFormat::Pcm16: return 2;
    case SampleFormat::Pcm24: return 3;
    case SampleFormat::Pcm32: return 4;
    case SampleFormat::Float32: return 4;
  }
  return 0;
}

}  // namespace

Audio parse_wav(std::span<const uint8_t> bytes, const std::string& source) {
  const size_t n = bytes.size();
  const uint8_t* d = bytes.data();
  check(n >= 12, source, ": not a WAV file (", n, " bytes, shorter than a RIFF header)");
  check(std::memcmp(d, "RIFF", 4) == 0 && std::memcmp(d + 8, "WAVE", 4) == 0, source,
        ": not a WAV file (no RIFF/WAVE header)");
  bool have_fmt = false;
  uint16_t tag = 0, channels = 0, block_align = 0, bits = 0;
  uint32_t rate = 0;
  size_t pos = 12;
  while (true) {
    check(pos + 8 <= n, source, ": truncated WAV file: ",
          have_fmt ? "no data chunk" : "no fmt chunk", " before the end of the file");
    const uint8_t* chunk = d + pos;
    const uint64_t size = u32(chunk + 4);
    const size_t remaining = n - pos - 8;
    const std::string id(reinterpret_cast<const char*>(chunk), 4);
    if (id == "fmt ") {
      check(size <= remaining, source, ": truncated WAV file: fmt chunk declares ", size,
            " bytes, ", remaining, " remain");
      check(size >= 16, source, ": malformed fmt chunk (", size, " bytes, at least 16 needed)");
      const uint8_t* f = chunk + 8;
      tag = u16(f);
      channels = u16(f + 2);
      rate = u32(f + 4);
      block_align = u16(f + 12);
      bits = u16(f + 14);
      if (tag == kFormatExtensible) {
        check(size >= 40, source, ": malformed WAVE_FORMAT_EXTENSIBLE fmt chunk (", size,
              " bytes, 40 needed)");
        tag = u16(f + 24);  // the sub-format GUID starts with the format tag
      }
      have_fmt = true;
    } else if (id == "data") {
      check(have_fmt, source, ": malformed WAV file: data chunk before the fmt chunk");
      check(tag == kFormatPcm || tag == kFormatFloat, source, ": unsupported WAV encoding (format tag ",
            tag, "; only PCM integer and IEEE float are read)");
      check(channels == 1 || channels == 2, source, ": unsupported channel count ", channels,
            " (mono or stereo only)");
      check(rate >= 1 && rate <= kMaxRate, source, ": implausible sample rate ", rate, " Hz");
      SampleFormat format;
      if (tag == kFormatFloat) {
        check(bits == 32, source, ": unsupported float WAV with ", bits,
              " bits per sample (32-bit float only)");
        format = SampleFormat::Float32;
      } else if (bits == 8) {
        format = SampleFormat::Pcm8;
      } else if (bits == 16) {
        format = SampleFormat::Pcm16;
      } else if (bits == 24) {
        format = SampleFormat::Pcm24;
      } else if (bits == 32) {
        format = SampleFormat::Pcm32;
      } else {
        fail(source, ": unsupported PCM WAV with ", bits, " bits per sample (8, 16, 24 or 32)");
      }
      const int width = bytes_per_sample(format);
      check(block_align == width * channels, source, ": malformed fmt chunk: block align ",
            block_align, " for ", channels, " channel(s) of ", bits, " bits");
      check(size <= remaining, source, ": truncated WAV file: data chunk declares ", size,
            " bytes, only ", remaining, " remain");
      check(size % block_align == 0, source, ": truncated WAV file: data chunk of ", size,
            " bytes is not a whole number of ", block_align, "-byte frames");
      check(size > 0, source, ": empty audio (the data chunk holds no samples)");
      Audio audio;
      audio.sample_rate = rate;
      audio.channels = channels;
      audio.format = format;
      const size_t count = size / static_cast<size_t>(width);
      audio.samples.resize(count);
      const uint8_t* p = chunk + 8;
      for (size_t i = 0; i < count; ++i, p += width) {
        float v = 0.0f;
        switch (format) {
          case SampleFormat::Pcm8: v = (static_cast<float>(p[0]) - 128.0f) / 128.0f; break;
          case SampleFormat::Pcm16:
            v = static_cast<float>(static_cast<int16_t>(u16(p))) / 32768.0f;
            break;
          case SampleFormat::Pcm24: {
            int32_t s = static_cast<int32_t>(static_cast<uint32_t>(p[0]) << 8 |
                                             static_cast<uint32_t>(p[1]) << 16 |
                                             static_cast<uint32_t>(p[2]) << 24) >> 8;
            v = static_cast<float>(s) / 8388608.0f;
            break;
          }
          case SampleFormat::Pcm32:
            v = static_cast<float>(static_cast<double>(static_cast<int32_t>(u32(p))) / 2147483648.0);
            break;
          case SampleFormat::Float32: {
            const uint32_t bits32 = u32(p);
            std::memcpy(&v, &bits32, 4);
            check(std::isfinite(v), source, ": float sample ", i, " is not finite");
            break;
          }
        }
        audio.samples[i] = v;
      }
      return audio;
    }
    // Any other chunk (LIST, fact, ...) is skipped; chunks are padded to an even size.
    check(size <= remaining, source, ": truncated WAV file: '", id, "' chunk declares ", size,
          " bytes, ", remaining, " remain");
    pos += 8 + static_cast<size_t>(size) + (size & 1);
    if (pos > n) pos = n;
  }
}

Audio read_wav(const std::string& path) {
  std::error_code ec;
  check(std::filesystem::is_regular_file(path, ec), path, ": no such WAV file");
  const uintmax_t size = std::filesystem::file_size(path, ec);
  check(!ec, path, ": cannot read the file size: ", ec.message());
  check(size <= (uintmax_t{1} << 32) + 8, path, ": ", size, " bytes is larger than any WAV file");
  std::ifstream in(path, std::ios::binary);
  check(in.good(), path, ": cannot open for reading");
  std::vector<uint8_t> bytes(static_cast<size_t>(size));
  in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(size));
  check(static_cast<uintmax_t>(in.gcount()) == size, path, ": read error");
  return parse_wav(bytes, path);
}

std::vector<uint8_t> encode_wav(const Audio& audio) {
  check(audio.channels >= 1 && audio.channels <= 2, "encode_wav: ", audio.channels,
        " channels (mono or stereo only)");
  check(audio.sample_rate >= 1 && audio.sample_rate <= kMaxRate, "encode_wav: sample rate ",
        audio.sample_rate);
  check(audio.samples.size() % static_cast<size_t>(audio.channels) == 0,
        "encode_wav: samples are not a whole number of frames");
  const int width = bytes_per_sample(audio.format);
  const uint64_t data_size = audio.samples.size() * static_cast<uint64_t>(width);
  check(data_size + 36 <= 0xFFFFFFFFull, "encode_wav: too much audio for one WAV file");
  std::vector<uint8_t> out;
  out.reserve(44 + data_size);
  auto put32 = [&](uint32_t v) {
    for (int k = 0; k < 4; ++k) out.push_back(static_cast<uint8_t>(v >> (8 * k)));
  };
  auto put16 = [&](uint32_t v) {
    out.push_back(static_cast<uint8_t>(v));
    out.push_back(static_cast<uint8_t>(v >> 8));
  };
  auto put_id = [&](const char* id) { out.insert(out.end(), id, id + 4); };
  put_id("RIFF");
  put32(static_cast<uint32_t>(36 + data_size));
  put_id("WAVE");
  put_id("fmt ");
  put32(16);
  put16(audio.format == SampleFormat::Float32 ? kFormatFloat : kFormatPcm);
  put16(static_cast<uint32_t>(audio.channels));
  put32(static_cast<uint32_t>(audio.sample_rate));
  put32(static_cast<uint32_t>(audio.sample_rate * audio.channels * width));
  put16(static_cast<uint32_t>(audio.channels * width));
  put16(static_cast<uint32_t>(width * 8));
  put_id("data");
  put32(static_cast<uint32_t>(data_size));
  auto quantize = [](float v, double scale, double lo, double hi) {
    return static_cast<int64_t>(std::clamp(std::nearbyint(static_cast<double>(v) * scale), lo, hi));
  };
  for (float v : audio.samples) {
    switch (audio.format) {
      case SampleFormat::Pcm8:
        out.push_back(static_cast<uint8_t>(quantize(v, 128.0, -128.0, 127.0) + 128));
        break;
      case SampleFormat::Pcm16:
        put16(static_cast<uint32_t>(quantize(v, 32768.0, -32768.0, 32767.0)));
        break;
      case SampleFormat::Pcm24: {
        const auto s = static_cast<uint32_t>(quantize(v, 8388608.0, -8388608.0, 8388607.0));
        out.push_back(static_cast<uint8_t>(s));
        out.push_back(static_cast<uint8_t>(s >> 8));
        out.push_back(static_cast<uint8_t>(s >> 16));
        break;
      }
      case SampleFormat::Pcm32:
        put32(static_cast<uint32_t>(quantize(v, 2147483648.0, -2147483648.0, 2147483647.0)));
        break;
      case SampleFormat::Float32: {
        uint32_t b;
        std::memcpy(&b, &v, 4);
        put32(b);
        break;
      }
    }
  }
  return out;
}

void write_wav(const std::string& path, const Audio& audio) {
  const std::vector<uint8_t> bytes = encode_wav(audio);
  write_file_atomic(path, std::span<const unsigned char>(bytes.data(), bytes.size()));
}

std::vector<float> to_mono(const Audio& audio) {
  check(audio.channels >= 1, "to_mono: no channels");
  if (audio.channels == 1) return audio.samples;
  const int64_t frames = audio.frames();
  std::vector<float> out(static_cast<size_t>(frames));
  for (int64_t i = 0; i < frames; ++i) {
    float sum = 0.0f;
    for (int64_t c = 0; c < audio.channels; ++c) sum += audio.samples[i * audio.channels + c];
    out[i] = sum / static_cast<float>(audio.channels);
  }
  return out;
}

std::vector<float> resample(std::span<const float> samples, int64_t from_rate, int64_t to_rate) {
  check(from_rate >= 1 && from_rate <= kMaxRate && to_rate >= 1 && to_rate <= kMaxRate,
        "resample: sample rates must be in 1..", kMaxRate, " Hz, got ", from_rate, " -> ", to_rate);
  if (from_rate == to_rate) return {samples.begin(), samples.end()};
  // y[n] = sum_k x[k] * c * sinc(c * (t - k)) * w((t - k) / W),  t = n * from / to,
  // c = 0.95 * min(1, to / from) the cut-off (as a fraction of the input Nyquist rate),
  // W = zeros / c the half-width in input samples, w a Hann window.
  const double ratio = static_cast<double>(from_rate) / static_cast<double>(to_rate);
  const double cutoff = 0.95 * std::min(1.0, 1.0 / ratio);
  const double zeros = 16.0;
  const double half_width = zeros / cutoff;
  const auto in_count = static_cast<int64_t>(samples.size());
  const auto out_count = static_cast<int64_t>(
      std::floor(static_cast<double>(in_count) * static_cast<double>(to_rate) /
                 static_cast<double>(from_rate)));
  std::vector<float> out(static_cast<size_t>(out_count));
  constexpr double pi = 3.14159265358979323846;
  auto weight = [&](double u) {
    if (std::abs(u) > half_width) return 0.0;
    const double x = cutoff * u;
    const double sinc = x == 0.0 ? 1.0 : std::sin(pi * x) / (pi * x);
    return cutoff * sinc * (0.5 + 0.5 * std::cos(pi * u / half_width));
  };
  // Output n sits at t = n * M / L input samples (M = from/g, L = to/g, g = gcd): its
  // fractional position takes only L values, so the weights are tabulated per phase.
  const int64_t g = std::gcd(from_rate, to_rate), phases = to_rate / g, step = from_rate / g;
  const auto reach = static_cast<int64_t>(std::ceil(half_width));
  const int64_t taps = 2 * reach;
  if (phases <= 4096) {
    std::vector<double> table(static_cast<size_t>(phases * taps));
    for (int64_t p = 0; p < phases; ++p)
      for (int64_t j = 0; j < taps; ++j)  // tap j reads input base - reach + 1 + j
        table[p * taps + j] = weight(static_cast<double>(reach - 1 - j) +
                                     static_cast<double>(p) / static_cast<double>(phases));
    for (int64_t n = 0; n < out_count; ++n) {
      const int64_t base = n * step / phases, p = n * step % phases;
      const double* w = &table[p * taps];
      double acc = 0.0;
      const int64_t first = base - reach + 1;
      const int64_t j0 = std::max<int64_t>(0, -first), j1 = std::min<int64_t>(taps, in_count - first);
      for (int64_t j = j0; j < j1; ++j) acc += static_cast<double>(samples[first + j]) * w[j];
      out[n] = static_cast<float>(acc);
    }
    return out;
  }
  for (int64_t n = 0; n < out_count; ++n) {
    const double t = static_cast<double>(n) * ratio;
    const auto first = std::max<int64_t>(0, static_cast<int64_t>(std::ceil(t - half_width)));
    const auto last = std::min<int64_t>(in_count - 1, static_cast<int64_t>(std::floor(t + half_width)));
    double acc = 0.0;
    for (int64_t k = first; k <= last; ++k) acc += static_cast<double>(samples[k]) * weight(t - static_cast<double>(k));
    out[n] = static_cast<float>(acc);
  }
  return out;
}

std::vector<float> load_mono(const std::string& path, int64_t rate) {
  const Audio audio = read_wav(path);
  const std::vector<float> mono = to_mono(audio);
  return resample(mono, audio.sample_rate, rate);
}

}  // namespace rnn::audio
