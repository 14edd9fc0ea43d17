// WAV audio: reading (PCM 8/16/24/32-bit integer and 32-bit IEEE float, WAVE_FORMAT_PCM,
// WAVE_FORMAT_IEEE_FLOAT or WAVE_FORMAT_EXTENSIBLE, mono or stereo, any sample rate),
// writing (16-bit PCM or 32-bit float), down-mixing to mono and resampling.
//
// Everything else is refused with one line naming the file and the problem: not RIFF/WAVE,
// a missing or malformed fmt chunk, an unsupported encoding, bit depth or channel count,
// a chunk that declares more bytes than the file holds (a truncated file: checked before
// anything is allocated), or no samples at all.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace rnn::audio {

enum class SampleFormat { Pcm8, Pcm16, Pcm24, Pcm32, Float32 };
std::string to_string(SampleFormat format);  // "pcm8", ..., "float32"

struct Audio {
  int64_t sample_rate = 0;     // frames per second
  int64_t channels = 0;        // 1 or 2
  std::vector<float> samples;  // interleaved [frames, channels], full scale = [-1, 1]
  SampleFormat format = SampleFormat::Pcm16;  // how it was (or will be) stored

  int64_t frames() const { return channels ? static_cast<int64_t>(samples.size()) / channels : 0; }
  double seconds() const { return sample_rate ? static_cast<double>(frames()) / static_cast<double>(sample_rate) : 0.0; }
};

// Reads a WAV file; throws rnn::Error "<path>: <problem>".
Audio read_wav(const std::string& path);
// Parses WAV bytes; `source` names them in errors.
Audio parse_wav(std::span<const uint8_t> bytes, const std::string& source);

// Encodes / writes (atomically) `audio` in its `format`; integer formats round and clip.
std::vector<uint8_t> encode_wav(const Audio& audio);
void write_wav(const std::string& path, const Audio& audio);

// The mean of the channels per frame.
std::vector<float> to_mono(const Audio& audio);

// Band-limited resampling (windowed sinc, cut-off just under the lower Nyquist
// frequency), so downsampling to a telephone rate does not alias. Same rate: a copy.
std::vector<float> resample(std::span<const float> samples, int64_t from_rate, int64_t to_rate);

// read_wav + to_mono + resample to `rate`.
std::vector<float> load_mono(const std::string& path, int64_t rate);

}  // namespace rnn::audio
