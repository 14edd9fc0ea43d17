// Size limits for inputs that readers load whole into memory: a file far larger than any
// real input of its kind is refused with one line before anything is allocated, instead
// of exhausting memory (a 10 GB text file, or one 10 GB line).
#pragma once

#include <cstdint>
#include <string>

namespace rnn {

// Text inputs (corpora, CSV, TSV, parallel text): 2 GiB, which already needs 8 GiB as
// code points once decoded.
inline constexpr uint64_t kMaxTextFileBytes = uint64_t{2} << 30;

// Throws rnn::Error "PATH: N bytes is more than the LIMIT-byte limit for WHAT" when the
// file at `path` is larger than `limit`. Does nothing when the size cannot be read (a
// missing file is the reader's own error to report).
void check_file_size(const std::string& path, uint64_t limit, const std::string& what);

}  // namespace rnn
