#include "storage/file.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>
#include <vector>

#include <fmt/format.h>
#include <fmt/std.h>

namespace fjord::storage {

Error io_error(std::string_view what, const std::filesystem::path& path, int errno_value) {
  return Error{ErrorCode::kKafkaStorageError,
               fmt::format("{} {}: {}", what, path.string(), std::strerror(errno_value))};
}

Result<std::shared_ptr<File>> File::open(const std::filesystem::path& path, int flags) {
  const int fd = ::open(path.c_str(), flags | O_CLOEXEC, 0644);
  if (fd < 0) return io_error("open", path, errno);
  return std::shared_ptr<File>(new File(fd, path));
}

Result<std::shared_ptr<File>> File::open_directory(const std::filesystem::path& path) {
  return open(path, O_RDONLY | O_DIRECTORY);
}

File::~File() { ::close(fd_); }

Result<size_t> File::read_at(uint64_t offset, std::span<uint8_t> out) const {
  size_t done = 0;
  while (done < out.size()) {
    const ssize_t n = ::pread(fd_, out.data() + done, out.size() - done,
                              static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return io_error("read", path_, errno);
    }
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  return done;
}

Status File::write_at(uint64_t offset, std::span<const uint8_t> data) {
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::pwrite(fd_, data.data() + done, data.size() - done,
                               static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return io_error("write", path_, errno);
    }
    done += static_cast<size_t>(n);
  }
  return {};
}

Status File::truncate(uint64_t size_bytes) {
  if (::ftruncate(fd_, static_cast<off_t>(size_bytes)) != 0) {
    return io_error("truncate", path_, errno);
  }
  return {};
}

Status File::sync() {
  if (::fsync(fd_) != 0) return io_error("fsync", path_, errno);
  return {};
}

Result<uint64_t> File::size_bytes() const {
  struct stat st {};
  if (::fstat(fd_, &st) != 0) return io_error("stat", path_, errno);
  return static_cast<uint64_t>(st.st_size);
}

Status sync_directory(const std::filesystem::path& dir) {
  auto file = File::open_directory(dir);
  if (!file.ok()) return file.error();
  return (*file)->sync();
}

Status write_file_atomically(const std::filesystem::path& path, std::span<const uint8_t> data,
                             bool durable) {
  std::filesystem::path tmp = path;
  tmp += ".tmp";
  {
    auto file = File::open(tmp, O_WRONLY | O_CREAT | O_TRUNC);
    if (!file.ok()) return file.error();
    if (auto st = (*file)->write_at(0, data); !st.ok()) return st;
    if (durable) {
      if (auto st = (*file)->sync(); !st.ok()) return st;
    }
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) return io_error("rename", tmp, errno);
  if (durable) return sync_directory(path.parent_path());
  return {};
}

Result<std::vector<uint8_t>> read_whole_file(const std::filesystem::path& path) {
  auto file = File::open(path, O_RDONLY);
  if (!file.ok()) return file.error();
  auto size = (*file)->size_bytes();
  if (!size.ok()) return size.error();
  std::vector<uint8_t> bytes(*size);
  auto n = (*file)->read_at(0, bytes);
  if (!n.ok()) return n.error();
  bytes.resize(*n);
  return bytes;
}

void raise_open_file_limit() {
  static std::once_flag once;
  std::call_once(once, [] {
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
      limit.rlim_cur = limit.rlim_max;
      ::setrlimit(RLIMIT_NOFILE, &limit);
    }
  });
}

}  // namespace fjord::storage
