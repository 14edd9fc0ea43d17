// libFuzzer's entry point for one target: fuzz/CMakeLists.txt compiles this file once per
// target with RNN_FUZZ_ENTRY set to the target's entry function (fuzz/targets/targets.h).
#include <cstddef>
#include <cstdint>

#include "targets.h"

#ifndef RNN_FUZZ_ENTRY
#error "RNN_FUZZ_ENTRY must name a fuzz entry function, e.g. fuzz_csv"
#endif

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return rnn::fuzz::RNN_FUZZ_ENTRY(data, size);
}
