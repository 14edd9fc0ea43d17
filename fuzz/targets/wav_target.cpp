// WAV bytes: parse_wav, then what speech features do with the audio (mono mix, resampling to
// 16 kHz). Encoding what was read and parsing it again must give the same samples.
#include <span>

#include "fuzz_support.h"
#include "rnn/audio/wav.h"
#include "targets.h"

namespace rnn::fuzz {

int fuzz_wav(const uint8_t* data, size_t size) {
  return accept_errors([&] {
    const audio::Audio a = audio::parse_wav(std::span(data, size), "fuzz.wav");
    const std::vector<float> mono = audio::to_mono(a);
    audio::resample(mono, a.sample_rate, 16000);
    const std::vector<uint8_t> again = audio::encode_wav(a);
    const audio::Audio b = audio::parse_wav(again, "round trip");
    require(b.sample_rate == a.sample_rate && b.channels == a.channels && b.format == a.format,
            "WAV header changed in a round trip");
    require(b.samples.size() == a.samples.size(), "sample count changed in a round trip");
  });
}

}  // namespace rnn::fuzz
