// Crash-safe file replacement: the new content goes to a temporary file in the same
// folder, is flushed to disk (fsync), then renamed over the target. A crash, a kill or a
// full disk leaves either the old file or the new one, never a mix.
#pragma once

#include <span>
#include <string>
#include <string_view>

namespace rnn {

// Throws rnn::Error naming `path` and the failing step (with errno's text); the previous
// file at `path`, if any, is then untouched and no temporary file is left behind.
void write_file_atomic(const std::string& path, std::span<const unsigned char> bytes);
void write_file_atomic(const std::string& path, std::string_view text);

// A process killed inside write_file_atomic leaves its temporary file behind, named
// "<target>.tmp.<pid>.<n>" (never mistaken for the target). Removes those in `folder` whose
// process is no longer running, and returns how many; a writer still running is left alone.
int remove_stale_temporaries(const std::string& folder);

}  // namespace rnn
