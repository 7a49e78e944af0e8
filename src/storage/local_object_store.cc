// Local-disk ObjectStore with crash-safe writes (temp file + fsync + rename + directory fsync).
#include "storage/local_object_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include <fmt/format.h>

#include "common/ids.h"

namespace supertable {

namespace fs = std::filesystem;

namespace {

Status Errno(const std::string& what, const std::string& path) {
  return Status::IoError(fmt::format("{} {}: {}", what, path, std::strerror(errno)));
}

Status FsyncPath(const std::string& path, bool directory) {
  int fd = ::open(path.c_str(), directory ? O_RDONLY | O_DIRECTORY : O_RDONLY);
  if (fd < 0) return Errno("cannot open", path);
  int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return Errno("cannot fsync", path);
  return Status::Ok();
}

Status EnsureDir(const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Status::IoError(fmt::format("cannot create directory {}: {}", dir, ec.message()));
  return Status::Ok();
}

// Every temporary file this store writes starts with this; no object key's file name does.
constexpr const char* kTempPrefix = ".tmp-";
bool IsTempName(const std::string& filename) { return filename.rfind(kTempPrefix, 0) == 0; }

int64_t MtimeMicros(const struct stat& st) {
  return static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000 + st.st_mtim.tv_nsec / 1000;
}

}  // namespace

LocalObjectStore::LocalObjectStore(std::string root, std::string staging)
    : root_(std::move(root)), staging_(std::move(staging)) {}

Result<std::string> LocalObjectStore::PathFor(const std::string& key) const {
  // Keys come from our own code, but refuse anything that could escape the root all the same.
  if (key.empty() || key[0] == '/' || key.find("..") != std::string::npos ||
      key.find('\0') != std::string::npos) {
    return Status::InvalidArgument(fmt::format("invalid object key '{}'", key));
  }
  return root_ + "/" + key;
}

std::string LocalObjectStore::ReadPath(const std::string& key) const { return root_ + "/" + key; }

Result<std::string> LocalObjectStore::WriteTemp(const std::string& path, const std::string& data) {
  std::string dir = fs::path(path).parent_path().string();
  ST_RETURN_IF_ERROR(EnsureDir(dir));
  std::string tmp = dir + "/" + kTempPrefix + RandomId();
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return Errno("cannot create", tmp);
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      Status s = Errno("cannot write", tmp);
      ::close(fd);
      ::unlink(tmp.c_str());
      return s;
    }
    off += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    Status s = Errno("cannot flush", tmp);
    ::unlink(tmp.c_str());
    return s;
  }
  return tmp;
}

Status LocalObjectStore::Put(const std::string& key, const std::string& data) {
  ST_ASSIGN_OR_RETURN(std::string path, PathFor(key));
  ST_ASSIGN_OR_RETURN(std::string tmp, WriteTemp(path, data));
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    Status s = Errno("cannot rename into", path);
    ::unlink(tmp.c_str());
    return s;
  }
  return FsyncPath(fs::path(path).parent_path().string(), true);
}

Status LocalObjectStore::PutFile(const std::string& key, const std::string& local_path) {
  ST_ASSIGN_OR_RETURN(std::string path, PathFor(key));
  ST_RETURN_IF_ERROR(EnsureDir(fs::path(path).parent_path().string()));
  // The staged file was written by DuckDB without fsync; make it durable before it becomes visible.
  ST_RETURN_IF_ERROR(FsyncPath(local_path, false));
  if (::rename(local_path.c_str(), path.c_str()) != 0) {
    if (errno != EXDEV) return Errno("cannot move " + local_path + " to", path);
    // Staging on another filesystem: copy through a temp file, then rename.
    std::error_code ec;
    std::string tmp = fs::path(path).parent_path().string() + "/" + kTempPrefix + RandomId();
    fs::copy_file(local_path, tmp, ec);
    if (ec) return Status::IoError(fmt::format("cannot copy {}: {}", local_path, ec.message()));
    ST_RETURN_IF_ERROR(FsyncPath(tmp, false));
    if (::rename(tmp.c_str(), path.c_str()) != 0) return Errno("cannot rename into", path);
    fs::remove(local_path, ec);
  }
  return FsyncPath(fs::path(path).parent_path().string(), true);
}

Status LocalObjectStore::PutIfAbsent(const std::string& key, const std::string& data) {
  ST_ASSIGN_OR_RETURN(std::string path, PathFor(key));
  ST_ASSIGN_OR_RETURN(std::string tmp, WriteTemp(path, data));
  // link(2) fails with EEXIST if the target exists: an atomic create-if-absent of a complete file.
  int rc = ::link(tmp.c_str(), path.c_str());
  int err = errno;
  ::unlink(tmp.c_str());
  if (rc != 0) {
    if (err == EEXIST) return Status::AlreadyExists(fmt::format("object {} already exists", key));
    errno = err;
    return Errno("cannot link", path);
  }
  return FsyncPath(fs::path(path).parent_path().string(), true);
}

Result<std::string> LocalObjectStore::Get(const std::string& key) {
  ST_ASSIGN_OR_RETURN(ObjectInfo info, Stat(key));
  return GetRange(key, 0, info.size);
}

Result<std::string> LocalObjectStore::GetRange(const std::string& key, int64_t offset,
                                               int64_t length) {
  ST_ASSIGN_OR_RETURN(std::string path, PathFor(key));
  if (offset < 0 || length < 0) return Status::InvalidArgument("negative range");
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return Status::NotFound(fmt::format("object {} does not exist", key));
    return Errno("cannot open", path);
  }
  std::string out(static_cast<size_t>(length), '\0');
  size_t got = 0;
  while (got < out.size()) {
    ssize_t n = ::pread(fd, out.data() + got, out.size() - got, offset + static_cast<int64_t>(got));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      Status s = Errno("cannot read", path);
      ::close(fd);
      return s;
    }
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  ::close(fd);
  out.resize(got);
  return out;
}

Result<ObjectInfo> LocalObjectStore::Stat(const std::string& key) {
  ST_ASSIGN_OR_RETURN(std::string path, PathFor(key));
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return Status::NotFound(fmt::format("object {} does not exist", key));
    return Errno("cannot stat", path);
  }
  return ObjectInfo{key, static_cast<int64_t>(st.st_size), MtimeMicros(st)};
}

Result<std::vector<ObjectInfo>> LocalObjectStore::List(const std::string& prefix) {
  return Walk(prefix, false);
}

Result<int64_t> LocalObjectStore::RemoveAbandoned(const std::string& prefix,
                                                  int64_t before_micros) {
  ST_ASSIGN_OR_RETURN(auto all, Walk(prefix, true));
  int64_t removed = 0;
  for (const auto& o : all) {
    if (!IsTempName(fs::path(o.key).filename().string()) || o.modified_micros >= before_micros)
      continue;
    if (::unlink((root_ + "/" + o.key).c_str()) == 0) ++removed;
  }
  return removed;
}

Result<std::vector<ObjectInfo>> LocalObjectStore::Walk(const std::string& prefix, bool temporary) {
  std::vector<ObjectInfo> out;
  // Walk from the deepest existing directory of the prefix, then filter by the full prefix.
  std::string dir =
      prefix.substr(0, prefix.rfind('/') == std::string::npos ? 0 : prefix.rfind('/'));
  std::string start = dir.empty() ? root_ : root_ + "/" + dir;
  std::error_code ec;
  if (!fs::exists(start, ec)) return out;
  for (auto it = fs::recursive_directory_iterator(start, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (!it->is_regular_file(ec)) continue;
    std::string rel = fs::relative(it->path(), root_, ec).string();
    if (rel.rfind(prefix, 0) != 0) continue;
    // Temporary files of writes in progress (or crashed) are not objects.
    if (!temporary && IsTempName(it->path().filename().string())) continue;
    struct stat st;
    if (::stat(it->path().c_str(), &st) != 0) continue;  // deleted while listing
    out.push_back({rel, static_cast<int64_t>(st.st_size), MtimeMicros(st)});
  }
  if (ec) return Status::IoError(fmt::format("cannot list {}: {}", start, ec.message()));
  std::sort(out.begin(), out.end(),
            [](const ObjectInfo& a, const ObjectInfo& b) { return a.key < b.key; });
  return out;
}

Status LocalObjectStore::Delete(const std::string& key) {
  ST_ASSIGN_OR_RETURN(std::string path, PathFor(key));
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) return Errno("cannot delete", path);
  return Status::Ok();
}

}  // namespace supertable
