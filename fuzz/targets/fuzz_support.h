// Helpers shared by the fuzz entry functions (fuzz/targets/*_target.cpp).
//
// An entry function feeds one input to a reader and returns 0. The reader may succeed or
// throw rnn::Error (the documented way to refuse a bad input); anything else escapes: another
// exception type, a crash, a leak, undefined behaviour, a hang or a huge allocation is a
// finding, reported by libFuzzer (fuzz executables) or by a failing test (fuzz replay test).
#pragma once

#include <unistd.h>

#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "rnn/core/error.h"

namespace rnn::fuzz {

// A property of the reader that must hold for every input it accepts (e.g. a round trip).
// Deliberately not an rnn::Error, so that a violation is reported as a finding.
class PropertyViolation : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

inline void require(bool ok, const std::string& what) {
  if (!ok) throw PropertyViolation("fuzz property violated: " + what);
}

// Runs `body`; an rnn::Error is the reader refusing the input, which is fine.
template <class Body>
int accept_errors(Body&& body) {
  try {
    body();
  } catch (const rnn::Error&) {
  }
  return 0;
}

inline std::string_view as_text(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// A private folder for readers that take paths: unique per process and per call, removed
// (with everything the reader wrote into it) by the destructor.
class ScratchDir {
 public:
  ScratchDir() {
    static std::atomic<uint64_t> counter{0};
    path_ = std::filesystem::temp_directory_path() /
            ("rnn-fuzz-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    std::filesystem::create_directories(path_);
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  // Writes `bytes` to `name` inside the folder and returns the full path.
  std::string write(const std::string& name, std::string_view bytes) const {
    const std::filesystem::path file = path_ / name;
    std::FILE* f = std::fopen(file.c_str(), "wb");
    if (f == nullptr) throw std::runtime_error("fuzz: cannot create " + file.string());
    const size_t written = bytes.empty() ? 0 : std::fwrite(bytes.data(), 1, bytes.size(), f);
    std::fclose(f);
    if (written != bytes.size()) throw std::runtime_error("fuzz: cannot write " + file.string());
    return file.string();
  }

 private:
  std::filesystem::path path_;
};

}  // namespace rnn::fuzz
