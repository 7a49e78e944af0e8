// LocalObjectStore: objects as files under a root directory. Writes go to a temporary file in
// the same directory, are fsynced and renamed into place, and the directory is fsynced, so a
// crash at any point leaves either the old state or the whole new object.
#pragma once

#include "storage/object_store.h"

namespace supertable {

class LocalObjectStore : public ObjectStore {
 public:
  // `root` holds the objects; `staging` holds files being prepared (same filesystem).
  LocalObjectStore(std::string root, std::string staging);

  Status Put(const std::string& key, const std::string& data) override;
  Status PutFile(const std::string& key, const std::string& local_path) override;
  Status PutIfAbsent(const std::string& key, const std::string& data) override;
  Result<std::string> Get(const std::string& key) override;
  Result<std::string> GetRange(const std::string& key, int64_t offset, int64_t length) override;
  Result<ObjectInfo> Stat(const std::string& key) override;
  Result<std::vector<ObjectInfo>> List(const std::string& prefix) override;
  Status Delete(const std::string& key) override;
  Result<int64_t> RemoveAbandoned(const std::string& prefix, int64_t before_micros) override;
  std::string ReadPath(const std::string& key) const override;
  std::string StagingDir() const override { return staging_; }
  std::string ReadRoot() const override { return root_ + "/"; }
  std::string Describe() const override { return "local disk " + root_; }

 private:
  Result<std::string> PathFor(const std::string& key) const;
  // Writes `data` to a fresh temporary file next to `path`, fsynced; returns its path.
  Result<std::string> WriteTemp(const std::string& path, const std::string& data);
  // Every regular file under `prefix`, temporary files included only when `temporary`.
  Result<std::vector<ObjectInfo>> Walk(const std::string& prefix, bool temporary);

  std::string root_;
  std::string staging_;
};

}  // namespace supertable
