// Catalog: the small, strongly consistent part of a warehouse. It knows which super tables and
// tables exist, which snapshot is current for each table, the history of commits, and the
// per-table write locks. Everything large (data, snapshot documents) lives in the ObjectStore.
//
// The one operation that makes SuperTable safe is Commit: an atomic compare-and-swap of a table's
// current version. Locks only make conflicts rare; the CAS is what guarantees that no commit is
// ever lost, even when a lock expires while its holder is still working (see
// docs/COMMIT_PROTOCOL.md).
//
// Implementations: SqliteCatalog (embedded, default) and RedisCatalog (shared by many processes
// and machines).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

namespace supertable {

struct TableRef {
  std::string org;
  std::string super_name;
  std::string table;
  std::string ToString() const { return super_name + "." + table; }
};

// One committed version of a table: what `history` shows and what time travel resolves against.
struct CommitRecord {
  int64_t version = 0;
  std::string snapshot_key;  // ObjectStore key of the snapshot document
  int64_t committed_micros = 0;
  std::string operation;     // "append", "upsert", "delete", "compact", ...
  std::string summary_json;  // operation counters, e.g. {"inserted":10,"deleted":2}
};

struct TableEntry {
  std::string name;
  CommitRecord head;  // the current version
};

// A held write lock. Destroying it releases the lock (best effort).
class Lock {
 public:
  virtual ~Lock() = default;
  // Extends the lease by the TTL it was acquired with; fails if the lock was lost.
  virtual Status Renew() = 0;
  virtual Status Release() = 0;
};

// What a catalog offers the locks it hands out: renewal and release by name and token.
class LockIssuer {
 public:
  virtual ~LockIssuer() = default;
  // Extends the lease of `name` if `token` still holds it; Conflict when the lock was lost.
  virtual Status RenewLock(const std::string& name, const std::string& token, int64_t ttl_ms) = 0;
  // Releases `name` if `token` still holds it (another holder's lock is left alone).
  virtual Status ReleaseLock(const std::string& name, const std::string& token) = 0;
};

// A lock held by `token`, renewed and released through the catalog that issued it, which
// outlives its locks. Destroying it releases it.
class LeasedLock : public Lock {
 public:
  LeasedLock(LockIssuer* issuer, std::string name, std::string token, int64_t ttl_ms)
      : issuer_(issuer), name_(std::move(name)), token_(std::move(token)), ttl_ms_(ttl_ms) {}
  ~LeasedLock() override {
    if (!released_) (void)Release();
  }
  Status Renew() override { return issuer_->RenewLock(name_, token_, ttl_ms_); }
  Status Release() override {
    released_ = true;
    return issuer_->ReleaseLock(name_, token_);
  }

 private:
  LockIssuer* issuer_;
  std::string name_, token_;
  int64_t ttl_ms_;
  bool released_ = false;
};

class Catalog : public LockIssuer {
 public:
  ~Catalog() override = default;

  virtual Result<bool> SuperExists(const std::string& org, const std::string& super_name) = 0;
  virtual Result<std::vector<std::string>> ListSupers(const std::string& org) = 0;
  virtual Result<std::vector<TableEntry>> ListTables(const std::string& org,
                                                     const std::string& super_name) = 0;
  // The current version of a table, or nullopt when it does not exist.
  virtual Result<std::optional<CommitRecord>> GetHead(const TableRef& table) = 0;

  // Makes `record` the table's current version if and only if the current version is still
  // `expected_version` (0 = the table must not exist yet). Returns Conflict otherwise. The
  // first commit of a table also creates its super table.
  // record.version must be expected_version + 1.
  virtual Status Commit(const TableRef& table, int64_t expected_version,
                        const CommitRecord& record) = 0;

  // All retained versions of a table, oldest first.
  virtual Result<std::vector<CommitRecord>> History(const TableRef& table) = 0;
  // Forgets history records with version < `keep_from` (never the current version).
  virtual Status ExpireHistory(const TableRef& table, int64_t keep_from) = 0;

  virtual Status DropTable(const TableRef& table) = 0;
  virtual Status DropSuper(const std::string& org, const std::string& super_name) = 0;

  // For moving a warehouse between catalogs (catalog_transfer.h). RestoreTable recreates a
  // table exactly: `history` oldest first, its last record the current version; AlreadyExists
  // when the table exists. RestoreSuper creates a super table (a no-op when it exists).
  virtual Status RestoreTable(const TableRef& table, const std::vector<CommitRecord>& history) = 0;
  virtual Status RestoreSuper(const std::string& org, const std::string& super_name) = 0;

  // Documents: small named JSON texts of an organization that are not tables (users, roles,
  // tokens, settings of the security layer), grouped by `kind`. Kept here, not in the object
  // store, because every replica must see a change (a revoked token) at once.
  //
  // The body of `kind`/`name`, or nullopt when there is none.
  virtual Result<std::optional<std::string>> GetDocument(const std::string& org,
                                                         const std::string& kind,
                                                         const std::string& name) = 0;
  // Every document of `kind`, as (name, body), by name.
  virtual Result<std::vector<std::pair<std::string, std::string>>> ListDocuments(
      const std::string& org, const std::string& kind) = 0;
  // Writes `body`. With `expected`, only if the current body is exactly *expected (an empty
  // string: only if there is none), atomically; Conflict otherwise, so read-modify-write
  // changes by two administrators at once cannot lose one.
  virtual Status PutDocument(const std::string& org, const std::string& kind,
                             const std::string& name, const std::string& body,
                             const std::string* expected = nullptr) = 0;
  // Removes a document; false when there was none.
  virtual Result<bool> DeleteDocument(const std::string& org, const std::string& kind,
                                      const std::string& name) = 0;
  // A value that changes whenever any document changes, in any process, and costs far less
  // than reading one (the embedded catalog: a counter in a file every process maps shared); nullopt when the
  // backend has none, and readers must read. Lets the security layer skip a catalog read per
  // request without missing a change.
  virtual std::optional<std::string> DocumentsMarker() { return std::nullopt; }

  // Waits up to `timeout_ms` for the named lock; the lease lasts `ttl_ms` unless renewed.
  // Returns Timeout with the holder's identity when it cannot be had.
  virtual Result<std::unique_ptr<Lock>> AcquireLock(const std::string& name, int64_t ttl_ms,
                                                    int64_t timeout_ms) = 0;
};

// Opens the catalog LOCKING_BACKEND names; `home` is SUPERTABLE_HOME.
Result<std::unique_ptr<Catalog>> OpenCatalog(const std::string& backend, const std::string& home);

// "host:pid" of this process: recorded as a lock's owner so errors can name who holds it and the
// embedded catalog can break locks whose owner process has died.
std::string LockOwnerIdentity();

// The one waiting policy of every catalog's AcquireLock: calls `try_once` (nullopt: it took the
// lock; otherwise who holds it) with back-off, 5 ms doubling to 100 ms plus jitter, until it
// succeeds or `timeout_ms` has passed; then Timeout naming the holder.
Status WaitForLock(const std::string& name, int64_t timeout_ms,
                   const std::function<Result<std::optional<std::string>>()>& try_once);

// True when `owner` (a LockOwnerIdentity) names a process on this host that no longer exists:
// its lock can be taken at once instead of waiting for the lease (a crashed local writer).
bool OwnerIsDeadLocalProcess(const std::string& owner);

}  // namespace supertable
