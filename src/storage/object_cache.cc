// Block cache of immutable remote objects on local disk.
#include "storage/object_cache.h"

#include <fcntl.h>
#include <unistd.h>

#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <tuple>
#include <vector>

#include <fmt/format.h>

#include "common/ids.h"
#include "common/log.h"
#include "common/crypto.h"
#include "storage/object_store.h"

namespace supertable {

namespace fs = std::filesystem;

ObjectCache::ObjectCache(ObjectStore* store, std::string identity, std::string dir,
                         int64_t max_bytes)
    : store_(store), identity_(std::move(identity)), dir_(std::move(dir)), max_bytes_(max_bytes) {
  if (max_bytes_ > 0) Scan();
}

void ObjectCache::Scan() {
  std::error_code ec;
  fs::create_directories(dir_, ec);
  if (ec) {
    log::Warn("object cache {} unavailable ({}); reading without it", dir_, ec.message());
    max_bytes_ = 0;
    return;
  }
  std::lock_guard<std::mutex> g(mu_);
  SweepLocked(/*evict=*/true);
}

void ObjectCache::SweepLocked(bool evict) {
  // The directory is the index: every process sharing it sees every block, and a block's
  // modification time is its last use (hits refresh it). So the bound holds for all of them
  // together, and the oldest block anyone holds goes first.
  std::error_code ec;
  std::vector<std::tuple<fs::file_time_type, std::string, int64_t>> found;
  int64_t total = 0;
  const auto now = fs::file_time_type::clock::now();
  for (auto it = fs::recursive_directory_iterator(dir_, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    std::error_code fec;
    if (!it->is_regular_file(fec)) continue;
    auto written = fs::last_write_time(it->path(), fec);
    if (fec) continue;  // removed meanwhile by another process
    if (it->path().filename().string().rfind(".tmp-", 0) == 0) {
      // A block whose writer died; a young one may be another live process's write.
      if (now - written > std::chrono::minutes(1)) fs::remove(it->path(), fec);
      continue;
    }
    auto size = static_cast<int64_t>(it->file_size(fec));
    if (fec) continue;
    total += size;
    found.emplace_back(written, it->path().string(), size);
  }
  if (evict && total > max_bytes_) {
    // Down to 90%, so that sweeps run now and then rather than on every new block.
    std::sort(found.begin(), found.end());
    for (const auto& [written, path, size] : found) {
      if (total <= max_bytes_ / 10 * 9) break;
      if (::unlink(path.c_str()) == 0) total -= size;
    }
  }
  resident_ = total;
}

std::string ObjectCache::BlockPrefix(const std::string& key) const {
  std::string h = HexEncode(Sha256(identity_ + "\n" + key)).substr(0, 32);
  return fmt::format("{}/{}/{}.", dir_, h.substr(0, 2), h);
}

Result<int64_t> ObjectCache::Size(const std::string& key) {
  {
    std::lock_guard<std::mutex> g(mu_);
    if (auto it = sizes_.find(key); it != sizes_.end()) return it->second;
  }
  remote_requests_.fetch_add(1);
  ST_ASSIGN_OR_RETURN(ObjectInfo info, store_->Stat(key));
  std::lock_guard<std::mutex> g(mu_);
  sizes_[key] = info.size;
  return info.size;
}

void ObjectCache::NoteSize(const std::string& key, int64_t size) {
  std::lock_guard<std::mutex> g(mu_);
  sizes_.emplace(key, size);
}

void ObjectCache::AddWorkerTraffic(const ObjectCacheStats& delta) {
  remote_requests_.fetch_add(delta.remote_requests);
  remote_bytes_.fetch_add(delta.remote_bytes);
  cache_bytes_.fetch_add(delta.cache_bytes);
  std::lock_guard<std::mutex> g(mu_);
  resident_ = delta.resident_bytes;
}

bool ObjectCache::LoadBlock(const std::string& path, int64_t expected, std::string* out) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  out->resize(static_cast<size_t>(expected));
  ssize_t n = ::pread(fd, out->data(), out->size(), 0);
  char extra;
  bool exact = n == expected && ::pread(fd, &extra, 1, expected) == 0;
  ::close(fd);
  if (!exact) {
    // Not what we wrote (a foreign or damaged file): drop it and fetch again.
    ::unlink(path.c_str());
    return false;
  }
  return true;
}

void ObjectCache::StoreBlock(const std::string& path, const std::string& data) {
  std::error_code ec;
  fs::path p(path);
  fs::create_directories(p.parent_path(), ec);
  std::string tmp = (p.parent_path() / (".tmp-" + RandomId())).string();
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return;  // caching is best effort; the read itself has succeeded
  bool ok = ::write(fd, data.data(), data.size()) == static_cast<ssize_t>(data.size());
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    return;
  }
  Added(static_cast<int64_t>(data.size()));
}

void ObjectCache::Added(int64_t bytes) {
  std::lock_guard<std::mutex> g(mu_);
  resident_ += bytes;
  if (resident_ > max_bytes_) SweepLocked(/*evict=*/true);
}

Status ObjectCache::Read(const std::string& key, int64_t offset, int64_t length, char* out) {
  if (length <= 0) return Status::Ok();
  ST_ASSIGN_OR_RETURN(int64_t size, Size(key));
  if (offset < 0 || offset + length > size) {
    return Status::InvalidArgument(fmt::format(
        "read of {} bytes at {} is past the end of {} ({} bytes)", length, offset, key, size));
  }
  if (max_bytes_ <= 0) {
    remote_requests_.fetch_add(1);
    ST_ASSIGN_OR_RETURN(std::string data, store_->GetRange(key, offset, length));
    if (static_cast<int64_t>(data.size()) != length) {
      return Status::IoError(
          fmt::format("short read of {}: {} of {} bytes at {}", key, data.size(), length, offset));
    }
    remote_bytes_.fetch_add(length);
    std::copy(data.begin(), data.end(), out);
    return Status::Ok();
  }
  const int64_t first = offset / kBlockBytes, last = (offset + length - 1) / kBlockBytes;
  auto block_len = [&](int64_t b) { return std::min(kBlockBytes, size - b * kBlockBytes); };
  // Copies the part of block `b` (held in `data`) that the read covers.
  auto deliver = [&](int64_t b, const std::string& data) {
    int64_t start = std::max(offset, b * kBlockBytes);
    int64_t end = std::min(offset + length, b * kBlockBytes + block_len(b));
    std::copy(data.begin() + (start - b * kBlockBytes), data.begin() + (end - b * kBlockBytes),
              out + (start - offset));
  };
  // Block b of this object is prefix + b; hashed once per read, not once per block.
  const std::string prefix = BlockPrefix(key);
  auto block_path = [&](int64_t b) { return prefix + std::to_string(b); };
  std::string data;
  for (int64_t b = first; b <= last;) {
    std::string path = block_path(b);
    if (LoadBlock(path, block_len(b), &data)) {
      ::utimensat(AT_FDCWD, path.c_str(), nullptr, 0);  // a use: last to be evicted
      cache_bytes_.fetch_add(block_len(b));
      deliver(b, data);
      ++b;
      continue;
    }
    // A run of missing blocks, fetched in one request.
    int64_t run_end = b + 1;
    while (run_end <= last && ::access(block_path(run_end).c_str(), F_OK) != 0) ++run_end;
    int64_t from = b * kBlockBytes, to = (run_end - 1) * kBlockBytes + block_len(run_end - 1);
    remote_requests_.fetch_add(1);
    ST_ASSIGN_OR_RETURN(std::string run, store_->GetRange(key, from, to - from));
    if (static_cast<int64_t>(run.size()) != to - from) {
      return Status::IoError(
          fmt::format("short read of {}: {} of {} bytes at {}", key, run.size(), to - from, from));
    }
    remote_bytes_.fetch_add(to - from);
    for (int64_t k = b; k < run_end; ++k) {
      std::string piece =
          run.substr(static_cast<size_t>((k - b) * kBlockBytes), static_cast<size_t>(block_len(k)));
      StoreBlock(block_path(k), piece);
      deliver(k, piece);
    }
    b = run_end;
  }
  return Status::Ok();
}

ObjectCacheStats ObjectCache::stats() const {
  ObjectCacheStats s;
  s.remote_requests = remote_requests_.load();
  s.remote_bytes = remote_bytes_.load();
  s.cache_bytes = cache_bytes_.load();
  std::lock_guard<std::mutex> g(mu_);
  s.resident_bytes = resident_;
  return s;
}

}  // namespace supertable
