// RedisCatalog: the Catalog and its locks on Redis, for warehouses shared by many processes on
// many machines (LOCKING_BACKEND=redis). Standalone Redis or a Sentinel-managed master.
//
// Keys (docs/STORAGE_FORMAT.md):
//   supertable:<org>:supers                   hash  super -> created micros
//   supertable:<org>:<super>:tables           hash  table -> current commit record (JSON)
//   supertable:<org>:<super>:<table>:history  hash  version -> commit record (JSON)
//   supertable:lock:<name>                    string "<token> <owner>", with a TTL
//
// A commit is one Lua script: compare the table's current version, then write the head, the
// history record and the super table, atomically. Locks are SET NX PX with a random token and
// are renewed and released by token-checked scripts; the commit's compare-and-swap, not the lock,
// is what makes a lost lock harmless.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "catalog/catalog.h"

struct redisContext;

namespace supertable {

struct RedisConfig {
  std::string host = "127.0.0.1";
  int port = 6379;
  int db = 0;
  std::string username, password;
  bool sentinel = false;
  std::vector<std::pair<std::string, int>> sentinels;  // host, port
  std::string master = "mymaster";
  std::string sentinel_password;
  int64_t connect_timeout_ms = 2000;
  int64_t io_timeout_ms = 5000;
  // How long a command keeps retrying (reconnecting, rediscovering the master) before it fails.
  int64_t retry_window_ms = 15000;
  // Replicas that must acknowledge a commit before it is reported (WAIT); -1: 1 under Sentinel,
  // 0 otherwise. A commit not acknowledged in time is reported anyway, with a warning.
  int min_replicas_ack = -1;

  std::string Describe() const;  // "redis 127.0.0.1:6379 db 0" or "sentinel mymaster via ..."
};

// SUPERTABLE_REDIS_URL (redis://[user[:password]@]host[:port][/db]) or SUPERTABLE_REDIS_HOST,
// _PORT, _DB, _PASSWORD (also without the SUPERTABLE_ prefix), SUPERTABLE_REDIS_SENTINEL,
// SUPERTABLE_REDIS_SENTINELS, SUPERTABLE_REDIS_SENTINEL_MASTER,
// SUPERTABLE_REDIS_SENTINEL_PASSWORD, SUPERTABLE_REDIS_MIN_REPLICAS_ACK.
Result<RedisConfig> RedisConfigFromEnvironment();
Result<RedisConfig> ParseRedisUrl(const std::string& url);

struct RedisValue;

class RedisCatalog : public Catalog {
 public:
  // Connects (through Sentinel when configured) and checks the server answers; a clear error
  // naming the address when it does not.
  static Result<std::unique_ptr<RedisCatalog>> Open(RedisConfig config);
  ~RedisCatalog() override;

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
  Result<std::unique_ptr<Lock>> AcquireLock(const std::string& name, int64_t ttl_ms,
                                            int64_t timeout_ms) override;

  Status RenewLock(const std::string& name, const std::string& value, int64_t ttl_ms) override;
  Status ReleaseLock(const std::string& name, const std::string& value) override;

 private:
  explicit RedisCatalog(RedisConfig c) : config_(std::move(c)) {}
  // Runs one command, reconnecting and retrying on connection loss and on a demoted master
  // (READONLY) for up to retry_window_ms. Only for commands safe to repeat.
  Result<RedisValue> Run(const std::vector<std::string>& argv);
  // Runs one command once; `lost` tells a lost connection (outcome unknown) from a refusal.
  Result<RedisValue> RunOnce(const std::vector<std::string>& argv, bool* lost);
  Status Connect();
  Status ConnectTo(const std::string& host, int port);
  void Disconnect();
  Result<std::pair<std::string, int>> DiscoverMaster();
  int ReplicasToWaitFor();

  RedisConfig config_;
  std::mutex mu_;  // one connection, one command at a time
  redisContext* ctx_ = nullptr;
  std::string connected_to_;
  int connected_replicas_ = 0;  // as ROLE last said, checked at most once a second
  int64_t replicas_checked_ms_ = 0;
};

}  // namespace supertable
