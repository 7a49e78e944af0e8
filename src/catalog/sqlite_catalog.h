// SqliteCatalog: the embedded catalog, one SQLite database file (WAL mode) under
// SUPERTABLE_HOME. Many processes on one machine may open it at once; SQLite's file locking
// serializes their transactions, and each commit is one `UPDATE ... WHERE version = expected`.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "catalog/catalog.h"

struct sqlite3;
struct sqlite3_stmt;

namespace supertable {

class SqliteCatalog : public Catalog {
 public:
  static Result<std::unique_ptr<SqliteCatalog>> Open(const std::string& path);
  ~SqliteCatalog() override;

  Result<bool> SuperExists(const std::string& org, const std::string& super_name) override;
  Result<std::vector<std::string>> ListSupers(const std::string& org) override;
  Result<std::vector<TableEntry>> ListTables(const std::string& org,
                                             const std::string& super_name) override;
  Result<std::optional<CommitRecord>> GetHead(const TableRef& table) override;
  Status Commit(const TableRef& table, int64_t expected_version,
                const CommitRecord& record) override;
  Result<std::vector<CommitRecord>> History(const TableRef& table) override;
  Status ExpireHistory(const TableRef& table, int64_t keep_from) override;
  Status DropTable(const TableRef& table) override;
  Status DropSuper(const std::string& org, const std::string& super_name) override;
  Status RestoreTable(const TableRef& table, const std::vector<CommitRecord>& history) override;
  Status RestoreSuper(const std::string& org, const std::string& super_name) override;
  Result<std::optional<std::string>> GetDocument(const std::string& org, const std::string& kind,
                                                 const std::string& name) override;
  Result<std::vector<std::pair<std::string, std::string>>> ListDocuments(
      const std::string& org, const std::string& kind) override;
  Status PutDocument(const std::string& org, const std::string& kind, const std::string& name,
                     const std::string& body, const std::string* expected = nullptr) override;
  Result<bool> DeleteDocument(const std::string& org, const std::string& kind,
                              const std::string& name) override;
  std::optional<std::string> DocumentsMarker() override;
  Result<std::unique_ptr<Lock>> AcquireLock(const std::string& name, int64_t ttl_ms,
                                            int64_t timeout_ms) override;

  Status RenewLock(const std::string& name, const std::string& token, int64_t ttl_ms) override;
  Status ReleaseLock(const std::string& name, const std::string& token) override;

 private:
  class Statement;
  SqliteCatalog(sqlite3* db, std::string marker) : db_(db), marker_(std::move(marker)) {}
  // Counts a document change in the marker, after the change is committed.
  void TouchDocumentsMarker();
  std::atomic<uint64_t>* MarkerCounter();
  Status PutDocumentLocked(const std::string& org, const std::string& kind, const std::string& name,
                           const std::string& body, const std::string* expected);
  Status Exec(const std::string& sql);
  Status CommitOrRollback();
  static Statement& BindTableAndRecord(Statement& st, const TableRef& t, const CommitRecord& r);
  // Runs `sql` (binding org, super, table) and reads commit records from its columns.
  Result<std::vector<CommitRecord>> Records(const char* sql, const TableRef& t);
  // Tries once to take the lock; returns the current holder's owner string when it is held.
  Result<std::optional<std::string>> TryAcquire(const std::string& name, const std::string& token,
                                                int64_t ttl_ms);

  std::mutex mu_;  // one connection; SQLite connections are not shared between threads unguarded
  sqlite3* db_;
  // Prepared statements not in use, by SQL text (Statement borrows and returns them).
  std::unordered_map<std::string, sqlite3_stmt*> statements_;
  std::string marker_;  // the catalog's path + ".documents"
  // DocumentsMarker's counter: the first 8 bytes of marker_, mapped shared (null when the file
  // cannot be mapped).
  static constexpr size_t kMarkerBytes = 4096;
  std::once_flag marker_once_;
  void* marker_map_ = nullptr;
  std::atomic<uint64_t>* marker_counter_ = nullptr;
};

}  // namespace supertable
