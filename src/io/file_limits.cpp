#include "rnn/io/file_limits.h"

#include <filesystem>

#include "rnn/core/error.h"

namespace rnn {

void check_file_size(const std::string& path, uint64_t limit, const std::string& what) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return;
  const uintmax_t size = std::filesystem::file_size(path, ec);
  if (ec) return;
  check(size <= limit, path, ": ", size, " bytes is more than the ", limit, "-byte limit for ",
        what, " (split the file)");
}

}  // namespace rnn
