// A file descriptor with RAII and error values. Shared (std::shared_ptr<File>) so
// that fetch responses and sync handles keep a segment readable after it has been
// replaced or deleted.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace fjord::storage {

// An error value for a failed system call, carrying errno's text.
Error io_error(std::string_view what, const std::filesystem::path& path, int errno_value);

class File {
 public:
  // `flags` as for open(2); O_CLOEXEC is added.
  static Result<std::shared_ptr<File>> open(const std::filesystem::path& path, int flags);
  static Result<std::shared_ptr<File>> open_directory(const std::filesystem::path& path);
  ~File();
  File(const File&) = delete;
  File& operator=(const File&) = delete;

  int fd() const { return fd_; }
  const std::filesystem::path& path() const { return path_; }

  // Reads up to out.size() bytes at `offset`; fewer only at end of file.
  Result<size_t> read_at(uint64_t offset, std::span<uint8_t> out) const;
  Status write_at(uint64_t offset, std::span<const uint8_t> data);
  Status truncate(uint64_t size_bytes);
  Status sync();
  Result<uint64_t> size_bytes() const;

 private:
  File(int fd, std::filesystem::path path) : fd_(fd), path_(std::move(path)) {}
  int fd_;
  std::filesystem::path path_;
};

// Writes `data` to `path` atomically: <path>.tmp, fsync (if durable), rename, and
// fsync of the directory (if durable).
Status write_file_atomically(const std::filesystem::path& path, std::span<const uint8_t> data,
                             bool durable);
// Whole small file; error if missing.
Result<std::vector<uint8_t>> read_whole_file(const std::filesystem::path& path);
Status sync_directory(const std::filesystem::path& dir);
// Raises RLIMIT_NOFILE's soft limit to the hard limit (once per process).
void raise_open_file_limit();

}  // namespace fjord::storage
