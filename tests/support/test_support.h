// Shared test fixtures: temporary warehouse homes, CSV writers, result collection and running
// the real `supertable` binary.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "table/warehouse.h"

namespace supertable::testing {

// A fresh directory removed at destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }
  // Writes `content` to path()/name and returns the full path.
  std::string Write(const std::string& name, const std::string& content) const;

 private:
  std::string path_;
};

// Opens a warehouse in a new temporary home.
class WarehouseTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;
  Config MakeConfig() const;

  // Writes a CSV file and ingests it. Fails the test on error.
  WriteResult Ingest(const std::string& table, const std::string& csv,
                     WriteMode mode = WriteMode::kAppend, std::vector<std::string> keys = {},
                     std::optional<std::string> newer = std::nullopt,
                     const std::string& super_name = "s");
  Result<WriteResult> TryIngest(const std::string& table, const std::string& content,
                                WriteMode mode, std::vector<std::string> keys = {},
                                std::optional<std::string> newer = std::nullopt,
                                const std::string& ext = "csv",
                                const std::string& super_name = "s");
  // Query results as text cells ("NULL" for null), rows in result order.
  std::vector<std::vector<std::string>> Rows(const std::string& sql,
                                             const std::string& super_name = "s");
  // "a,b|c,d" form of Rows() for compact assertions.
  std::string RowsText(const std::string& sql, const std::string& super_name = "s");

  std::unique_ptr<TempDir> dir_;
  std::unique_ptr<Warehouse> wh_;
  int files_written_ = 0;
};

struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs build/supertable with `args` and the given SUPERTABLE_HOME; captures stdout and stderr.
CommandResult RunCli(const std::vector<std::string>& args, const std::string& home);

std::string SharedDataFile(const std::string& name);

// A port on 127.0.0.1 nothing listens on right now.
int FreePort();

// A real redis-server (or redis-sentinel, given its configuration lines) on a free loopback port,
// in a directory of its own, stopped when destroyed.
class RedisServer {
 public:
  explicit RedisServer(std::vector<std::string> args = {});
  static std::unique_ptr<RedisServer> Sentinel(const std::vector<std::string>& config_lines);
  ~RedisServer();
  int port() const { return port_; }
  std::string url(int db = 0) const;
  void Kill();     // SIGKILL, as a crash
  void Restart();  // the same port, directory and arguments
  bool running() const { return pid_ > 0; }

 private:
  RedisServer(std::vector<std::string> args, bool sentinel, std::vector<std::string> config);
  void Start();
  std::unique_ptr<TempDir> dir_;
  std::vector<std::string> args_;
  bool sentinel_ = false;
  int port_ = 0;
  pid_t pid_ = -1;
};

// An object-storage server for tests: s3rver (S3 API) or azurite (Azure Blob), from the npm
// packages of tests/storage, on a free loopback port with a data directory of its own; stopped
// when destroyed. Kill and Restart keep the data, as a storage outage would.
class StorageServer {
 public:
  enum class Kind { kS3, kAzure };
  explicit StorageServer(Kind kind, std::vector<std::string> extra_args = {});
  ~StorageServer();
  int port() const { return port_; }
  Kind kind() const { return kind_; }
  std::string data_dir() const { return dir_->path() + "/data"; }
  // The settings that point SuperTable at this server (STORAGE_TYPE, endpoint, credentials,
  // bucket or container `bucket`).
  std::vector<std::pair<std::string, std::string>> Settings(const std::string& bucket) const;
  void Kill();
  void Restart();
  bool running() const { return pid_ > 0; }

 private:
  void Start();
  Kind kind_;
  std::vector<std::string> extra_args_;
  std::unique_ptr<TempDir> dir_;
  int port_ = 0;
  pid_t pid_ = -1;
};

// A socket listening on a free 127.0.0.1 port; *port gets the port.
int ListenLoopback(int* port);

// A TCP proxy on 127.0.0.1 in front of 127.0.0.1:`upstream`, for fault tests. Every chunk a
// client sends passes through `filter` first: kForward sends it on; kCut ends that connection
// without sending it (the filter may have done something else with it first). After
// RefuseNew(), new connections are closed at once, as if the server were gone.
class LoopbackProxy {
 public:
  enum class Action { kForward, kCut };
  using Filter = std::function<Action(int client_fd, int server_fd, std::string_view chunk)>;
  LoopbackProxy(int upstream, Filter filter);
  ~LoopbackProxy();
  int port() const { return port_; }
  void RefuseNew() { refuse_ = true; }

 private:
  void AcceptLoop();
  void Pump(int from, int to, bool to_server);
  int upstream_, listen_, port_ = 0;
  Filter filter_;
  std::atomic<bool> stop_{false}, refuse_{false};
  std::thread accept_;
  std::vector<std::thread> pumps_;
};

// Sets environment variables for the life of the object and restores them afterwards.
class ScopedEnv {
 public:
  explicit ScopedEnv(const std::vector<std::pair<std::string, std::string>>& vars);
  ~ScopedEnv();

 private:
  std::vector<std::pair<std::string, std::optional<std::string>>> saved_;
};

}  // namespace supertable::testing
