// ObjectCache: byte ranges of remote objects, read through a size-bounded cache on local disk.
//
// SuperTable never changes an object once written (object_store.h), so a cached byte is valid
// for as long as the object exists: no revalidation, no version tags. Objects are cached in
// aligned blocks; a read fetches only the blocks it lacks, consecutive missing blocks in one
// ranged GET, so a selective query downloads the row groups and columns it reads and no more.
// Least recently used blocks are evicted past `max_bytes`, counted over the whole directory, so
// processes sharing a home share the bound (a block's modification time is its last use).
// Blocks are written to a temporary file and renamed, so a crash or a second process sharing the
// directory never sees half a block; a block that vanished (evicted by another process) is
// simply fetched again.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

#include "common/status.h"

namespace supertable {

class ObjectStore;

struct ObjectCacheStats {
  int64_t remote_requests = 0;  // ranged GETs and HEADs sent
  int64_t remote_bytes = 0;     // bytes downloaded
  int64_t cache_bytes = 0;      // bytes served from local blocks
  int64_t resident_bytes = 0;   // bytes the cache holds now
};

class ObjectCache {
 public:
  static constexpr int64_t kBlockBytes = 256 << 10;

  // `identity` names the store (endpoint and bucket) so two warehouses never share entries;
  // `max_bytes` 0 turns the disk cache off (reads go straight to the store).
  ObjectCache(ObjectStore* store, std::string identity, std::string dir, int64_t max_bytes);

  Result<int64_t> Size(const std::string& key);
  // Records an object's size known from elsewhere (a snapshot lists its files' sizes), so that
  // opening it costs no HEAD request.
  void NoteSize(const std::string& key, int64_t size);
  // Counts what an engine worker's own ObjectCache (over the same directory) fetched and served
  // for one operation, so this process's stats() cover its workers; resident_bytes is the
  // worker's latest reading of the shared directory.
  void AddWorkerTraffic(const ObjectCacheStats& delta);
  // Fills out[0, length) with the object's bytes at [offset, offset + length); the range must
  // lie inside the object.
  Status Read(const std::string& key, int64_t offset, int64_t length, char* out);

  ObjectCacheStats stats() const;

 private:
  // The path of the object's blocks without the block number: "<dir>/<h[0:2]>/<h>.".
  std::string BlockPrefix(const std::string& key) const;
  bool LoadBlock(const std::string& path, int64_t expected, std::string* out);
  void StoreBlock(const std::string& path, const std::string& data);
  // Counts a new block; past the bound, sweeps with eviction.
  void Added(int64_t bytes);
  // Walks the directory: removes dead writers' temporary blocks, recounts resident_ and, when
  // `evict`, removes the least recently used blocks down to 90% of the bound.
  void SweepLocked(bool evict);
  void Scan();

  ObjectStore* store_;
  std::string identity_;
  std::string dir_;
  int64_t max_bytes_;

  mutable std::mutex mu_;
  std::unordered_map<std::string, int64_t> sizes_;  // key -> object size (objects are immutable)
  int64_t resident_ = 0;  // bytes in the directory, as of the last sweep plus blocks added since

  std::atomic<int64_t> remote_requests_{0};
  std::atomic<int64_t> remote_bytes_{0};
  std::atomic<int64_t> cache_bytes_{0};
};

}  // namespace supertable
