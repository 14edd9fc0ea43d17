#include "rnn/io/atomic_file.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "rnn/core/error.h"

namespace rnn {

void write_file_atomic(const std::string& path, std::span<const unsigned char> bytes) {
  check(!path.empty(), "write_file_atomic: empty path");
  static std::atomic<uint64_t> counter{0};
  std::string tmp;
  int fd = -1;
  for (int attempt = 0; attempt < 100 && fd < 0; ++attempt) {
    tmp = concat(path, ".tmp.", ::getpid(), ".", counter.fetch_add(1));
    fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd < 0 && errno != EEXIST) break;
  }
  if (fd < 0) {
    fail("cannot write '", path, "': cannot create temporary file '", tmp, "': ",
         std::strerror(errno));
  }

  auto abandon = [&](const std::string& step, int err) {
    if (fd >= 0) ::close(fd);
    ::unlink(tmp.c_str());
    fail("cannot write '", path, "': ", step, ": ", std::strerror(err));
  };
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      abandon("write failed", errno);
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) abandon("fsync failed", errno);
  const int closed = ::close(fd);
  fd = -1;
  if (closed != 0) abandon("close failed", errno);
  if (::rename(tmp.c_str(), path.c_str()) != 0) abandon("rename failed", errno);

  // Make the rename itself durable (best effort: some file systems refuse fsync on folders).
  const auto slash = path.find_last_of('/');
  const std::string dir =
      slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

int remove_stale_temporaries(const std::string& folder) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::directory_iterator it(folder, ec);
  if (ec) return 0;
  int removed = 0;
  for (const fs::directory_entry& entry : it) {
    const std::string name = entry.path().filename().string();
    // "<target>.tmp.<pid>.<n>": both numbers all digits.
    const auto mark = name.rfind(".tmp.");
    if (mark == std::string::npos || mark == 0) continue;
    const std::string rest = name.substr(mark + 5);
    const auto dot = rest.find('.');
    if (dot == 0 || dot == std::string::npos || dot + 1 == rest.size()) continue;
    const std::string pid_text = rest.substr(0, dot), counter = rest.substr(dot + 1);
    auto digits = [](const std::string& s) {
      return s.size() <= 18 && s.find_first_not_of("0123456789") == std::string::npos;
    };
    if (!digits(pid_text) || !digits(counter)) continue;
    const auto pid = static_cast<pid_t>(std::strtoll(pid_text.c_str(), nullptr, 10));
    if (pid <= 0 || pid == ::getpid()) continue;
    if (::kill(pid, 0) == 0 || errno != ESRCH) continue;  // that writer may still be at work
    if (fs::remove(entry.path(), ec)) ++removed;
  }
  return removed;
}

void write_file_atomic(const std::string& path, std::string_view text) {
  write_file_atomic(path, std::span<const unsigned char>(
                              reinterpret_cast<const unsigned char*>(text.data()), text.size()));
}

}  // namespace rnn
