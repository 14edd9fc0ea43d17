// Checks of option values shared by the subcommands: a failure is bad usage (exit 2).
#pragma once

#include <cstdint>
#include <string>

#include "cli/commands.h"
#include "rnn/core/error.h"
#include "rnn/kernels/gemm.h"

namespace rnn::cli {

inline void usage_check(bool ok, const std::string& message) {
  if (!ok) throw UsageError(message);
}
inline void positive(int64_t v, const char* name) {
  usage_check(v >= 1, concat("--", name, " must be at least 1, got ", v));
}
inline void non_negative(int64_t v, const char* name) {
  usage_check(v >= 0, concat("--", name, " must be >= 0, got ", v));
}
// --threads: 0 keeps the default (all cores).
inline void set_threads(int threads) {
  usage_check(threads >= 0, concat("--threads must be >= 0 (0 = all cores), got ", threads));
  if (threads > 0) kernels::set_num_threads(threads);
}

}  // namespace rnn::cli
