// A read-only duckdb::FileSystem over ObjectCache, and the local data file system.
#include "engine/object_file_system.h"

#include <duckdb.hpp>
#include <duckdb/common/local_file_system.hpp>

#include <cstring>
#include "storage/object_cache.h"
#include "storage/remote_object_store.h"

namespace supertable {

namespace {

class ObjectFileHandle : public duckdb::FileHandle {
 public:
  ObjectFileHandle(duckdb::FileSystem& fs, std::string path, std::string key, int64_t size,
                   duckdb::FileOpenFlags flags)
      : FileHandle(fs, std::move(path), flags), key(std::move(key)), size(size) {}
  void Close() override {}

  const std::string key;
  const int64_t size;
  int64_t position = 0;  // for the sequential Read, which nothing in Parquet uses
};

class ObjectFileSystem : public duckdb::FileSystem {
 public:
  ObjectFileSystem(ObjectCache* cache, std::vector<std::string> key_prefixes)
      : cache_(cache), key_prefixes_(std::move(key_prefixes)) {}

  std::string GetName() const override { return "SupertableObjectFileSystem"; }
  // No later registration may take these paths over.
  bool IsManuallySet() override { return true; }
  bool CanHandleFile(const std::string& path) override { return path.rfind(kRemoteScheme, 0) == 0; }

  duckdb::unique_ptr<duckdb::FileHandle> OpenFile(
      const std::string& path, duckdb::FileOpenFlags flags,
      duckdb::optional_ptr<duckdb::FileOpener> opener = nullptr) override {
    (void)opener;
    if (flags.OpenForWriting()) {
      throw duckdb::PermissionException("objects in SuperTable's store are read-only: %s", path);
    }
    std::string key = KeyOf(path);
    auto size = cache_->Size(key);
    if (!size.ok()) {
      if (size.status().code() == StatusCode::kNotFound && flags.ReturnNullIfNotExists()) {
        return nullptr;
      }
      throw duckdb::IOException("cannot open %s: %s", path, size.status().message());
    }
    return duckdb::make_uniq<ObjectFileHandle>(*this, path, key, *size, flags);
  }

  void Read(duckdb::FileHandle& handle, void* buffer, int64_t nr_bytes,
            duckdb::idx_t location) override {
    auto& h = handle.Cast<ObjectFileHandle>();
    Status s =
        cache_->Read(h.key, static_cast<int64_t>(location), nr_bytes, static_cast<char*>(buffer));
    if (!s.ok()) throw duckdb::IOException("cannot read %s: %s", h.path, s.message());
  }
  int64_t Read(duckdb::FileHandle& handle, void* buffer, int64_t nr_bytes) override {
    auto& h = handle.Cast<ObjectFileHandle>();
    int64_t n = std::max<int64_t>(0, std::min(nr_bytes, h.size - h.position));
    Read(handle, buffer, n, static_cast<duckdb::idx_t>(h.position));
    h.position += n;
    return n;
  }
  int64_t GetFileSize(duckdb::FileHandle& handle) override {
    return handle.Cast<ObjectFileHandle>().size;
  }
  // Objects never change once written (object_store.h), so one constant tag keeps DuckDB's
  // in-memory file cache valid for as long as the object exists.
  std::string GetVersionTag(duckdb::FileHandle&) override { return "immutable"; }
  duckdb::timestamp_t GetLastModifiedTime(duckdb::FileHandle&) override {
    return duckdb::timestamp_t(0);
  }
  bool FileExists(const std::string& path, duckdb::optional_ptr<duckdb::FileOpener>) override {
    auto size = cache_->Size(KeyOf(path));
    if (size.ok()) return true;
    // Only "not there" is false: an outage must not pass for a missing file.
    if (size.status().code() == StatusCode::kNotFound) return false;
    throw duckdb::IOException("cannot check %s: %s", path, size.status().message());
  }
  // Paths are exact object keys, never patterns: a read names one object.
  duckdb::vector<duckdb::OpenFileInfo> Glob(const std::string& path,
                                            duckdb::FileOpener* = nullptr) override {
    KeyOf(path);
    return {duckdb::OpenFileInfo(path)};
  }
  void Seek(duckdb::FileHandle& handle, duckdb::idx_t location) override {
    handle.Cast<ObjectFileHandle>().position = static_cast<int64_t>(location);
  }
  duckdb::idx_t SeekPosition(duckdb::FileHandle& handle) override {
    return static_cast<duckdb::idx_t>(handle.Cast<ObjectFileHandle>().position);
  }
  bool CanSeek() override { return true; }
  // Not on disk: the Parquet reader then prefetches whole column chunks instead of reading
  // page headers a few bytes at a time.
  bool OnDiskFile(duckdb::FileHandle&) override { return false; }
  void FileSync(duckdb::FileHandle&) override {}
  std::string PathSeparator(const std::string&) override { return "/"; }

 private:
  // DuckDB's access check normalizes "a/../b" before comparing with the allowed prefix, but
  // hands us the raw path: refuse any segment that could make the key differ from what it
  // checked.
  std::string KeyOf(const std::string& path) const {
    std::string key = path.substr(std::strlen(kRemoteScheme));
    size_t start = 0;
    while (true) {
      size_t end = key.find('/', start);
      std::string seg = key.substr(start, end == std::string::npos ? end : end - start);
      if (seg.empty() || seg == "." || seg == "..") {
        throw duckdb::PermissionException("invalid object path %s", path);
      }
      if (end == std::string::npos) break;
      start = end + 1;
    }
    // DuckDB's allowed_directories check is the first fence; this one holds for paths that
    // reach the file system some other way.
    bool allowed = key_prefixes_.empty();
    for (const auto& p : key_prefixes_) allowed = allowed || key.rfind(p, 0) == 0;
    if (!allowed) throw duckdb::PermissionException("object path %s is not readable here", path);
    return key;
  }

  ObjectCache* cache_;
  const std::vector<std::string> key_prefixes_;
};

}  // namespace

namespace {

class DataFileSystem : public duckdb::LocalFileSystem {
 public:
  explicit DataFileSystem(std::vector<std::string> directories)
      : directories_(std::move(directories)) {}
  std::string GetName() const override { return "SupertableDataFileSystem"; }
  bool IsManuallySet() override { return true; }
  bool CanHandleFile(const std::string& path) override {
    for (const auto& d : directories_) {
      if (path.size() > d.size() && path.compare(0, d.size(), d) == 0) return true;
    }
    return false;
  }
  duckdb::vector<duckdb::OpenFileInfo> Glob(const std::string& path,
                                            duckdb::FileOpener* opener) override {
    if (HasGlob(path)) return LocalFileSystem::Glob(path, opener);
    duckdb::vector<duckdb::OpenFileInfo> one;
    one.emplace_back(path);
    return one;
  }

 private:
  std::vector<std::string> directories_;  // each ends with '/'
};

}  // namespace

void RegisterDataFileSystem(duckdb::DuckDB& db, std::vector<std::string> directories) {
  std::vector<std::string> local;
  for (auto& d : directories) {
    if (d.empty() || d[0] != '/') continue;  // remote prefixes are the object file system's
    if (d.back() != '/') d += '/';
    local.push_back(std::move(d));
  }
  if (local.empty()) return;
  db.GetFileSystem().RegisterSubSystem(duckdb::make_uniq<DataFileSystem>(std::move(local)));
}

void RegisterObjectFileSystem(duckdb::DuckDB& db, ObjectCache* cache,
                              std::vector<std::string> key_prefixes) {
  db.GetFileSystem().RegisterSubSystem(
      duckdb::make_uniq<ObjectFileSystem>(cache, std::move(key_prefixes)));
}

}  // namespace supertable
