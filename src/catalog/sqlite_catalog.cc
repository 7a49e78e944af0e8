// Embedded SQLite catalog and locks.
#include "catalog/sqlite_catalog.h"

#include <fcntl.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>
#include <utility>

#include <fmt/format.h>

#include "common/ids.h"

namespace supertable {

namespace {

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS supers(
  org TEXT NOT NULL, name TEXT NOT NULL, created_micros INTEGER NOT NULL,
  PRIMARY KEY(org, name));
CREATE TABLE IF NOT EXISTS tables(
  org TEXT NOT NULL, super TEXT NOT NULL, name TEXT NOT NULL,
  version INTEGER NOT NULL, snapshot_key TEXT NOT NULL, committed_micros INTEGER NOT NULL,
  operation TEXT NOT NULL, summary TEXT NOT NULL,
  PRIMARY KEY(org, super, name));
CREATE TABLE IF NOT EXISTS history(
  org TEXT NOT NULL, super TEXT NOT NULL, name TEXT NOT NULL, version INTEGER NOT NULL,
  snapshot_key TEXT NOT NULL, committed_micros INTEGER NOT NULL,
  operation TEXT NOT NULL, summary TEXT NOT NULL,
  PRIMARY KEY(org, super, name, version));
CREATE TABLE IF NOT EXISTS documents(
  org TEXT NOT NULL, kind TEXT NOT NULL, name TEXT NOT NULL, body TEXT NOT NULL,
  PRIMARY KEY(org, kind, name));
CREATE TABLE IF NOT EXISTS locks(
  name TEXT PRIMARY KEY, token TEXT NOT NULL, owner TEXT NOT NULL, expires_micros INTEGER NOT NULL);
)sql";

}  // namespace

// A prepared statement with typed binds, borrowed from the catalog's cache for one use: each
// SQL text is parsed once per connection (parsing was most of a small read's cost), and reset
// when it goes back, so no read transaction stays open. A text already borrowed (a nested use)
// gets a statement of its own, finalized afterwards. The caller holds the catalog's mutex.
class SqliteCatalog::Statement {
 public:
  Statement(SqliteCatalog& catalog, const char* sql) : catalog_(catalog), sql_(sql) {
    auto it = catalog_.statements_.find(sql_);
    if (it != catalog_.statements_.end() && it->second) {
      stmt_ = std::exchange(it->second, nullptr);
      rc_ = SQLITE_OK;
      return;
    }
    rc_ = sqlite3_prepare_v3(catalog_.db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt_, nullptr);
  }
  ~Statement() {
    if (!stmt_) return;
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
    sqlite3_stmt*& slot = catalog_.statements_[sql_];
    if (slot) {
      sqlite3_finalize(stmt_);
    } else {
      slot = stmt_;
    }
  }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  Status status() const {
    return rc_ == SQLITE_OK
               ? Status::Ok()
               : Status::IoError(fmt::format("catalog: {}", sqlite3_errmsg(catalog_.db_)));
  }
  Statement& Bind(int i, const std::string& v) {
    sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Statement& Bind(int i, int64_t v) {
    sqlite3_bind_int64(stmt_, i, v);
    return *this;
  }
  // Returns true while rows come; errors end up in status().
  bool Step() {
    int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc != SQLITE_DONE) rc_ = rc;
    return false;
  }
  std::string Text(int col) const {
    auto p = sqlite3_column_text(stmt_, col);
    return p ? std::string(reinterpret_cast<const char*>(p), sqlite3_column_bytes(stmt_, col)) : "";
  }
  int64_t Int(int col) const { return sqlite3_column_int64(stmt_, col); }

 private:
  SqliteCatalog& catalog_;
  std::string sql_;
  sqlite3_stmt* stmt_ = nullptr;
  int rc_;
};

namespace {

CommitRecord ReadRecord(const auto& st, int first) {
  CommitRecord r;
  r.version = st.Int(first);
  r.snapshot_key = st.Text(first + 1);
  r.committed_micros = st.Int(first + 2);
  r.operation = st.Text(first + 3);
  r.summary_json = st.Text(first + 4);
  return r;
}

}  // namespace

Result<std::unique_ptr<SqliteCatalog>> SqliteCatalog::Open(const std::string& path) {
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  sqlite3* db = nullptr;
  int rc =
      sqlite3_open_v2(path.c_str(), &db,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    return Status::IoError(fmt::format("cannot open catalog {}: {}", path, msg));
  }
  auto cat = std::unique_ptr<SqliteCatalog>(new SqliteCatalog(db, path + ".documents"));
  // Waiting writers retry inside SQLite for up to 30 s; a commit transaction is tiny.
  sqlite3_busy_timeout(db, 30000);
  ST_RETURN_IF_ERROR(cat->Exec("PRAGMA journal_mode=WAL").WithContext(path));
  // FULL: a commit reported to the user survives a power loss, not only a process crash.
  ST_RETURN_IF_ERROR(cat->Exec("PRAGMA synchronous=FULL"));
  ST_RETURN_IF_ERROR(cat->Exec(kSchema).WithContext(path));
  return cat;
}

SqliteCatalog::~SqliteCatalog() {
  if (marker_map_) ::munmap(marker_map_, kMarkerBytes);
  for (auto& [sql, stmt] : statements_) sqlite3_finalize(stmt);
  sqlite3_close(db_);
}

Status SqliteCatalog::Exec(const std::string& sql) {
  char* err = nullptr;
  int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    std::string msg = err ? err : sqlite3_errstr(rc);
    sqlite3_free(err);
    return Status::IoError(fmt::format("catalog: {}", msg));
  }
  return Status::Ok();
}

Status SqliteCatalog::CommitOrRollback() {
  Status s = Exec("COMMIT");
  // A failed COMMIT leaves the transaction open; the next BEGIN on this connection would fail.
  if (!s.ok()) (void)Exec("ROLLBACK");
  return s;
}

Result<bool> SqliteCatalog::SuperExists(const std::string& org, const std::string& super_name) {
  std::lock_guard<std::mutex> g(mu_);
  Statement st(*this, "SELECT 1 FROM supers WHERE org=? AND name=?");
  bool found = st.Bind(1, org).Bind(2, super_name).Step();
  ST_RETURN_IF_ERROR(st.status());
  return found;
}

Result<std::vector<std::string>> SqliteCatalog::ListSupers(const std::string& org) {
  std::lock_guard<std::mutex> g(mu_);
  Statement st(*this, "SELECT name FROM supers WHERE org=? ORDER BY name");
  st.Bind(1, org);
  std::vector<std::string> out;
  while (st.Step()) out.push_back(st.Text(0));
  ST_RETURN_IF_ERROR(st.status());
  return out;
}

Result<std::vector<TableEntry>> SqliteCatalog::ListTables(const std::string& org,
                                                          const std::string& super_name) {
  std::lock_guard<std::mutex> g(mu_);
  Statement st(
      *this,
      "SELECT name, version, snapshot_key, committed_micros, operation, summary FROM tables "
      "WHERE org=? AND super=? ORDER BY name");
  st.Bind(1, org).Bind(2, super_name);
  std::vector<TableEntry> out;
  while (st.Step()) out.push_back({st.Text(0), ReadRecord(st, 1)});
  ST_RETURN_IF_ERROR(st.status());
  return out;
}

Result<std::vector<CommitRecord>> SqliteCatalog::Records(const char* sql, const TableRef& t) {
  std::lock_guard<std::mutex> g(mu_);
  Statement st(*this, sql);
  st.Bind(1, t.org).Bind(2, t.super_name).Bind(3, t.table);
  std::vector<CommitRecord> out;
  while (st.Step()) out.push_back(ReadRecord(st, 0));
  ST_RETURN_IF_ERROR(st.status());
  return out;
}

Result<std::optional<CommitRecord>> SqliteCatalog::GetHead(const TableRef& t) {
  ST_ASSIGN_OR_RETURN(
      auto rows,
      Records("SELECT version, snapshot_key, committed_micros, operation, summary FROM tables "
              "WHERE org=? AND super=? AND name=?",
              t));
  if (rows.empty()) return std::optional<CommitRecord>();
  return std::optional<CommitRecord>(rows[0]);
}

// Binds (org, super, name, version, snapshot_key, committed_micros, operation, summary) as ?1..?8.
SqliteCatalog::Statement& SqliteCatalog::BindTableAndRecord(Statement& st, const TableRef& t,
                                                            const CommitRecord& r) {
  st.Bind(1, t.org)
      .Bind(2, t.super_name)
      .Bind(3, t.table)
      .Bind(4, r.version)
      .Bind(5, r.snapshot_key);
  return st.Bind(6, r.committed_micros).Bind(7, r.operation).Bind(8, r.summary_json);
}

Status SqliteCatalog::Commit(const TableRef& t, int64_t expected_version, const CommitRecord& r) {
  if (r.version != expected_version + 1) {
    return Status::Internal(
        fmt::format("commit of version {} on top of {}", r.version, expected_version));
  }
  std::lock_guard<std::mutex> g(mu_);
  ST_RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE"));
  auto fail = [&](Status s) {
    (void)Exec("ROLLBACK");
    return s;
  };
  int changed = 0;
  if (expected_version == 0) {
    Statement st(
        *this,
        "INSERT OR IGNORE INTO tables(org, super, name, version, snapshot_key, committed_micros, "
        "operation, summary) VALUES(?,?,?,?,?,?,?,?)");
    BindTableAndRecord(st, t, r).Step();
    if (!st.status().ok()) return fail(st.status());
    changed = sqlite3_changes(db_);
  } else {
    Statement st(
        *this,
        "UPDATE tables SET version=?, snapshot_key=?, committed_micros=?, operation=?, summary=? "
        "WHERE org=? AND super=? AND name=? AND version=?");
    st.Bind(1, r.version).Bind(2, r.snapshot_key).Bind(3, r.committed_micros).Bind(4, r.operation);
    st.Bind(5, r.summary_json)
        .Bind(6, t.org)
        .Bind(7, t.super_name)
        .Bind(8, t.table)
        .Bind(9, expected_version);
    st.Step();
    if (!st.status().ok()) return fail(st.status());
    changed = sqlite3_changes(db_);
  }
  if (changed != 1) {
    return fail(Status::Conflict(
        fmt::format("table {} changed since version {} was read", t.ToString(), expected_version)));
  }
  Statement h(
      *this,
      "INSERT OR REPLACE INTO history(org, super, name, version, snapshot_key, committed_micros, "
      "operation, summary) VALUES(?,?,?,?,?,?,?,?)");
  BindTableAndRecord(h, t, r).Step();
  if (!h.status().ok()) return fail(h.status());
  Statement s(*this, "INSERT OR IGNORE INTO supers(org, name, created_micros) VALUES(?,?,?)");
  s.Bind(1, t.org).Bind(2, t.super_name).Bind(3, r.committed_micros).Step();
  if (!s.status().ok()) return fail(s.status());
  return CommitOrRollback();
}

Result<std::vector<CommitRecord>> SqliteCatalog::History(const TableRef& t) {
  return Records(
      "SELECT version, snapshot_key, committed_micros, operation, summary FROM history "
      "WHERE org=? AND super=? AND name=? ORDER BY version",
      t);
}

Status SqliteCatalog::ExpireHistory(const TableRef& t, int64_t keep_from) {
  std::lock_guard<std::mutex> g(mu_);
  // The subquery keeps the current version even if a caller asks for more.
  Statement st(
      *this,
      "DELETE FROM history WHERE org=?1 AND super=?2 AND name=?3 AND version < ?4 AND version < "
      "(SELECT version FROM tables WHERE org=?1 AND super=?2 AND name=?3)");
  st.Bind(1, t.org).Bind(2, t.super_name).Bind(3, t.table).Bind(4, keep_from).Step();
  return st.status();
}

Status SqliteCatalog::DropTable(const TableRef& t) {
  std::lock_guard<std::mutex> g(mu_);
  ST_RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE"));
  for (const char* sql : {"DELETE FROM tables WHERE org=? AND super=? AND name=?",
                          "DELETE FROM history WHERE org=? AND super=? AND name=?"}) {
    Statement st(*this, sql);
    st.Bind(1, t.org).Bind(2, t.super_name).Bind(3, t.table).Step();
    if (!st.status().ok()) {
      (void)Exec("ROLLBACK");
      return st.status();
    }
  }
  return CommitOrRollback();
}

Status SqliteCatalog::DropSuper(const std::string& org, const std::string& super_name) {
  std::lock_guard<std::mutex> g(mu_);
  ST_RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE"));
  for (const char* sql :
       {"DELETE FROM tables WHERE org=? AND super=?", "DELETE FROM history WHERE org=? AND super=?",
        "DELETE FROM supers WHERE org=? AND name=?"}) {
    Statement st(*this, sql);
    st.Bind(1, org).Bind(2, super_name).Step();
    if (!st.status().ok()) {
      (void)Exec("ROLLBACK");
      return st.status();
    }
  }
  return CommitOrRollback();
}

Status SqliteCatalog::RestoreTable(const TableRef& t, const std::vector<CommitRecord>& history) {
  if (history.empty()) return Status::InvalidArgument("a restored table needs its history");
  std::lock_guard<std::mutex> g(mu_);
  ST_RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE"));
  auto fail = [&](Status s) {
    (void)Exec("ROLLBACK");
    return s;
  };
  Statement head(
      *this,
      "INSERT OR IGNORE INTO tables(org, super, name, version, snapshot_key, committed_micros, "
      "operation, summary) VALUES(?,?,?,?,?,?,?,?)");
  BindTableAndRecord(head, t, history.back()).Step();
  if (!head.status().ok()) return fail(head.status());
  if (sqlite3_changes(db_) != 1)
    return fail(Status::AlreadyExists(fmt::format("table {} already exists", t.ToString())));
  for (const auto& r : history) {
    Statement h(*this,
                "INSERT OR REPLACE INTO history(org, super, name, version, snapshot_key, "
                "committed_micros, operation, summary) VALUES(?,?,?,?,?,?,?,?)");
    BindTableAndRecord(h, t, r).Step();
    if (!h.status().ok()) return fail(h.status());
  }
  Statement s(*this, "INSERT OR IGNORE INTO supers(org, name, created_micros) VALUES(?,?,?)");
  s.Bind(1, t.org).Bind(2, t.super_name).Bind(3, history.front().committed_micros).Step();
  if (!s.status().ok()) return fail(s.status());
  return CommitOrRollback();
}

Status SqliteCatalog::RestoreSuper(const std::string& org, const std::string& super_name) {
  std::lock_guard<std::mutex> g(mu_);
  Statement s(*this, "INSERT OR IGNORE INTO supers(org, name, created_micros) VALUES(?,?,?)");
  s.Bind(1, org).Bind(2, super_name).Bind(3, NowMicros()).Step();
  return s.status();
}

Result<std::optional<std::string>> SqliteCatalog::GetDocument(const std::string& org,
                                                              const std::string& kind,
                                                              const std::string& name) {
  std::lock_guard<std::mutex> g(mu_);
  // The security layer reads a document on every request (the directory's version): the
  // statement cache keeps this read cheap.
  Statement st(*this, "SELECT body FROM documents WHERE org=? AND kind=? AND name=?");
  st.Bind(1, org).Bind(2, kind).Bind(3, name);
  std::optional<std::string> out;
  if (st.Step()) out = st.Text(0);
  ST_RETURN_IF_ERROR(st.status());
  return out;
}

Result<std::vector<std::pair<std::string, std::string>>> SqliteCatalog::ListDocuments(
    const std::string& org, const std::string& kind) {
  std::lock_guard<std::mutex> g(mu_);
  Statement st(*this, "SELECT name, body FROM documents WHERE org=? AND kind=? ORDER BY name");
  st.Bind(1, org).Bind(2, kind);
  std::vector<std::pair<std::string, std::string>> out;
  while (st.Step()) out.emplace_back(st.Text(0), st.Text(1));
  ST_RETURN_IF_ERROR(st.status());
  return out;
}

Status SqliteCatalog::PutDocumentLocked(const std::string& org, const std::string& kind,
                                        const std::string& name, const std::string& body,
                                        const std::string* expected) {
  std::lock_guard<std::mutex> g(mu_);
  ST_RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE"));
  if (expected) {
    Statement cur(*this, "SELECT body FROM documents WHERE org=? AND kind=? AND name=?");
    std::string now = cur.Bind(1, org).Bind(2, kind).Bind(3, name).Step() ? cur.Text(0) : "";
    Status s = cur.status();
    if (s.ok() && now != *expected) {
      s = Status::Conflict(
          fmt::format("{} '{}' was changed by someone else meanwhile; try again", kind, name));
    }
    if (!s.ok()) {
      (void)Exec("ROLLBACK");
      return s;
    }
  }
  Statement put(*this, "INSERT OR REPLACE INTO documents(org, kind, name, body) VALUES(?,?,?,?)");
  put.Bind(1, org).Bind(2, kind).Bind(3, name).Bind(4, body).Step();
  if (!put.status().ok()) {
    (void)Exec("ROLLBACK");
    return put.status();
  }
  return CommitOrRollback();
}

Status SqliteCatalog::PutDocument(const std::string& org, const std::string& kind,
                                  const std::string& name, const std::string& body,
                                  const std::string* expected) {
  ST_RETURN_IF_ERROR(PutDocumentLocked(org, kind, name, body, expected));
  TouchDocumentsMarker();
  return Status::Ok();
}

Result<bool> SqliteCatalog::DeleteDocument(const std::string& org, const std::string& kind,
                                           const std::string& name) {
  bool removed;
  {
    std::lock_guard<std::mutex> g(mu_);
    Statement st(*this, "DELETE FROM documents WHERE org=? AND kind=? AND name=?");
    st.Bind(1, org).Bind(2, kind).Bind(3, name).Step();
    ST_RETURN_IF_ERROR(st.status());
    removed = sqlite3_changes(db_) > 0;
  }
  if (removed) TouchDocumentsMarker();
  return removed;
}

// The marker is a file holding one 64-bit counter, mapped shared by every process that opens
// the catalog: a change adds one to it after its commit, and a reader compares a load from
// memory with the value it last saw. No system call per request (a stat() walked the path on
// every one), and a change in any process on this machine is in the page the others read the
// moment the increment is done. When the file cannot be mapped, there is no marker and readers
// read the catalog, as for a backend without one.
std::atomic<uint64_t>* SqliteCatalog::MarkerCounter() {
  std::call_once(marker_once_, [this] {
    int fd = ::open(marker_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return;
    struct stat st;
    // Grown, never shrunk: two processes opening it at once both leave it one page long. A
    // file from before this layout (a timestamp in text) is one line long and grows too.
    bool sized = ::fstat(fd, &st) == 0 && (st.st_size >= static_cast<off_t>(kMarkerBytes) ||
                                           ::ftruncate(fd, kMarkerBytes) == 0);
    void* p = sized ? ::mmap(nullptr, kMarkerBytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)
                    : MAP_FAILED;
    ::close(fd);  // the mapping keeps the file
    if (p == MAP_FAILED) return;
    marker_map_ = p;
    static_assert(std::atomic<uint64_t>::is_always_lock_free);
    marker_counter_ = static_cast<std::atomic<uint64_t>*>(p);
  });
  return marker_counter_;
}

void SqliteCatalog::TouchDocumentsMarker() {
  if (auto* c = MarkerCounter()) c->fetch_add(1, std::memory_order_acq_rel);
}

std::optional<std::string> SqliteCatalog::DocumentsMarker() {
  auto* c = MarkerCounter();
  if (!c) return std::nullopt;
  return std::to_string(c->load(std::memory_order_acquire));
}

Result<std::optional<std::string>> SqliteCatalog::TryAcquire(const std::string& name,
                                                             const std::string& token,
                                                             int64_t ttl_ms) {
  std::lock_guard<std::mutex> g(mu_);
  ST_RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE"));
  int64_t now = NowMicros();
  Statement sel(*this, "SELECT owner, expires_micros FROM locks WHERE name=?");
  sel.Bind(1, name);
  if (sel.Step()) {
    std::string owner = sel.Text(0);
    int64_t expires = sel.Int(1);
    if (expires > now && !OwnerIsDeadLocalProcess(owner)) {
      (void)Exec("ROLLBACK");
      return std::optional<std::string>(owner);
    }
  }
  if (!sel.status().ok()) {
    (void)Exec("ROLLBACK");
    return sel.status();
  }
  Statement up(*this,
               "INSERT OR REPLACE INTO locks(name, token, owner, expires_micros) VALUES(?,?,?,?)");
  up.Bind(1, name).Bind(2, token).Bind(3, LockOwnerIdentity()).Bind(4, now + ttl_ms * 1000).Step();
  if (!up.status().ok()) {
    (void)Exec("ROLLBACK");
    return up.status();
  }
  ST_RETURN_IF_ERROR(CommitOrRollback());
  return std::optional<std::string>();
}

Result<std::unique_ptr<Lock>> SqliteCatalog::AcquireLock(const std::string& name, int64_t ttl_ms,
                                                         int64_t timeout_ms) {
  std::string token = RandomId();
  ST_RETURN_IF_ERROR(
      WaitForLock(name, timeout_ms, [&] { return TryAcquire(name, token, ttl_ms); }));
  return std::unique_ptr<Lock>(std::make_unique<LeasedLock>(this, name, token, ttl_ms));
}

Status SqliteCatalog::RenewLock(const std::string& name, const std::string& token, int64_t ttl_ms) {
  std::lock_guard<std::mutex> g(mu_);
  Statement st(*this, "UPDATE locks SET expires_micros=? WHERE name=? AND token=?");
  st.Bind(1, NowMicros() + ttl_ms * 1000).Bind(2, name).Bind(3, token).Step();
  ST_RETURN_IF_ERROR(st.status());
  if (sqlite3_changes(db_) != 1)
    return Status::Conflict(fmt::format("lock {} was lost (expired and taken)", name));
  return Status::Ok();
}

Status SqliteCatalog::ReleaseLock(const std::string& name, const std::string& token) {
  std::lock_guard<std::mutex> g(mu_);
  Statement st(*this, "DELETE FROM locks WHERE name=? AND token=?");
  st.Bind(1, name).Bind(2, token).Step();
  return st.status();
}

}  // namespace supertable
