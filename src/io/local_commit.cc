#include "io/local_commit.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <random>

#include "bazof/error.h"

namespace bazof::io {
namespace {

arrow::Status Errno(std::string_view op, const std::string& path) {
  return MakeError(ErrorKind::kIOError,
                   std::string(op) + " '" + path + "': " + std::strerror(errno));
}

std::string Dirname(const std::string& path) {
  auto pos = path.rfind('/');
  return pos == std::string::npos ? "." : (pos == 0 ? "/" : path.substr(0, pos));
}

std::string TempName(const std::string& path) {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  char buf[32];
  std::snprintf(buf, sizeof(buf), ".tmp-%016llx", static_cast<unsigned long long>(rng()));
  return path + buf;
}

arrow::Status WriteSynced(const std::string& path, std::string_view bytes) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return Errno("create", path);
  size_t off = 0;
  while (off < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + off, bytes.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      auto st = Errno("write", path);
      ::close(fd);
      ::unlink(path.c_str());
      return st;
    }
    off += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) {
    auto st = Errno("fsync", path);
    ::close(fd);
    ::unlink(path.c_str());
    return st;
  }
  if (::close(fd) != 0) return Errno("close", path);
  return arrow::Status::OK();
}

}  // namespace

arrow::Status FsyncDirectory(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Errno("open directory", dir);
  int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return Errno("fsync directory", dir);
  return arrow::Status::OK();
}

arrow::Status SyncLocalFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Errno("open", path);
  int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return Errno("fsync", path);
  return FsyncDirectory(Dirname(path));
}

arrow::Status LocalCreateExclusive(const std::string& path, std::string_view bytes) {
  std::string tmp = TempName(path);
  ARROW_RETURN_NOT_OK(WriteSynced(tmp, bytes));
  int rc = ::link(tmp.c_str(), path.c_str());
  int link_errno = errno;
  ::unlink(tmp.c_str());
  if (rc != 0) {
    if (link_errno == EEXIST) return Conflict("'", path, "' already exists (another writer committed first)");
    errno = link_errno;
    return Errno("link", path);
  }
  return FsyncDirectory(Dirname(path));
}

arrow::Status LocalReplace(const std::string& path, std::string_view bytes) {
  std::string tmp = TempName(path);
  ARROW_RETURN_NOT_OK(WriteSynced(tmp, bytes));
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    auto st = Errno("rename", path);
    ::unlink(tmp.c_str());
    return st;
  }
  return FsyncDirectory(Dirname(path));
}

}  // namespace bazof::io
