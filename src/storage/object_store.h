// ObjectStore: where data files, delete files and snapshot documents live. Like LevelDB's Env,
// it is a small interface with the implementations behind it (local disk today; S3 and Azure
// later). Keys are '/'-separated relative paths such as "org/super/table/data/<id>.parquet".
//
// Promises every implementation keeps:
//  - An object is visible whole or not at all: a reader never sees a partial write.
//  - PutIfAbsent is atomic: of two concurrent calls for one key exactly one succeeds.
//  - Objects are never modified in place by SuperTable; they are written once and deleted by gc.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

namespace supertable {

struct ObjectInfo {
  std::string key;
  int64_t size = 0;
  int64_t modified_micros = 0;  // last modification, used by gc's grace period
};

class ObjectStore {
 public:
  virtual ~ObjectStore() = default;

  virtual Status Put(const std::string& key, const std::string& data) = 0;
  // Moves (or uploads) a finished local file to `key`; the local file is gone afterwards.
  virtual Status PutFile(const std::string& key, const std::string& local_path) = 0;
  // Writes `data` only if no object has `key`; returns AlreadyExists otherwise.
  virtual Status PutIfAbsent(const std::string& key, const std::string& data) = 0;
  virtual Result<std::string> Get(const std::string& key) = 0;
  virtual Result<std::string> GetRange(const std::string& key, int64_t offset, int64_t length) = 0;
  virtual Result<ObjectInfo> Stat(const std::string& key) = 0;
  // Every object whose key starts with `prefix`, in key order.
  virtual Result<std::vector<ObjectInfo>> List(const std::string& prefix) = 0;
  // Deleting a missing key is not an error (gc may race with another gc).
  virtual Status Delete(const std::string& key) = 0;

  // Removes what interrupted writes left under `prefix` (temporary files of a crashed Put) that
  // was last modified before `before_micros`. Returns how many leftovers it removed.
  virtual Result<int64_t> RemoveAbandoned(const std::string& prefix, int64_t before_micros) = 0;

  // Where the objects are, for people: "local disk /home/me/.supertable/data",
  // "s3://bucket at http://host:9000". Never contains a secret.
  virtual std::string Describe() const = 0;

  // A path DuckDB can open for `key`. Local stores return a filesystem path.
  virtual std::string ReadPath(const std::string& key) const = 0;
  // The directory every ReadPath lies under: the only place users' queries may read.
  virtual std::string ReadRoot() const = 0;
  // A local directory for files being prepared for PutFile; on the same filesystem as the
  // store where that makes PutFile a rename.
  virtual std::string StagingDir() const = 0;
};

// Builds the store the configuration names (STORAGE_TYPE); `home` is SUPERTABLE_HOME.
Result<std::unique_ptr<ObjectStore>> OpenObjectStore(const std::string& storage_type,
                                                     const std::string& home);

}  // namespace supertable
