// The fuzz entry functions, one per reader of outside data (fuzz/targets/<name>_target.cpp).
// Each takes one input and returns 0; see fuzz_support.h for what counts as a finding.
// The libFuzzer executables (fuzz/libfuzzer_main.cpp) and the replay test
// (tests/robustness/fuzz_replay_test.cpp) both call them through this table.
#pragma once

#include <cstddef>
#include <cstdint>

namespace rnn::fuzz {

int fuzz_safetensors(const uint8_t* data, size_t size);   // parse, convert, round trip
int fuzz_checkpoint(const uint8_t* data, size_t size);    // Checkpoint::load and its JSON
int fuzz_model_file(const uint8_t* data, size_t size);    // load_recurrent, load_lm
int fuzz_model_config(const uint8_t* data, size_t size);  // every config's from_json
int fuzz_utf8_text(const uint8_t* data, size_t size);     // decode, tokenize, vocabulary
int fuzz_vocabulary(const uint8_t* data, size_t size);    // vocabulary/tokenizer JSON
int fuzz_csv(const uint8_t* data, size_t size);           // parse_csv + load_series
int fuzz_tagging(const uint8_t* data, size_t size);       // Brown, tagged and labeled TSV
int fuzz_parallel_text(const uint8_t* data, size_t size); // read_pairs + tokenizers
int fuzz_wav(const uint8_t* data, size_t size);           // parse_wav, to_mono, resample
int fuzz_cli(const uint8_t* data, size_t size);           // `rnn` argument parsing only

struct Target {
  const char* name;
  int (*run)(const uint8_t* data, size_t size);
};

inline constexpr Target kTargets[] = {
    {"safetensors", fuzz_safetensors},   {"checkpoint", fuzz_checkpoint},
    {"model_file", fuzz_model_file},     {"model_config", fuzz_model_config},
    {"utf8_text", fuzz_utf8_text},       {"vocabulary", fuzz_vocabulary},
    {"csv", fuzz_csv},                   {"tagging", fuzz_tagging},
    {"parallel_text", fuzz_parallel_text}, {"wav", fuzz_wav},
#ifndef RNN_FUZZ_NO_CLI  // built without the rnn program (RNN_BUILD_CLI=OFF)
    {"cli", fuzz_cli},
#endif
};

}  // namespace rnn::fuzz
