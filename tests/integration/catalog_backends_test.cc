// The Catalog contract, run against every backend: the embedded SQLite catalog and Redis (a real
// redis-server started on a free port). Then what only Redis has: unreachable at start, a
// restart under a running catalog, locks between processes, a Sentinel failover during a write
// workload, and writers in several processes sharing one Redis.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include <fmt/format.h>

#include "catalog/redis_catalog.h"
#include "catalog/sqlite_catalog.h"
#include "support/test_support.h"

namespace supertable {

using testing::RedisServer;
using testing::RunCli;
using testing::TempDir;

namespace {

CommitRecord Rec(int64_t v) { return {v, "snap" + std::to_string(v), 1000 * v, "append", "{}"}; }

RedisConfig ConfigFor(const RedisServer& server, int db = 0) {
  auto c = ParseRedisUrl(server.url(db));
  EXPECT_TRUE(c.ok());
  c->retry_window_ms = 20000;
  return *c;
}

// Opens a fresh catalog of the parameter's kind; every Open of one fixture shares its data.
class CatalogContract : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "redis") redis_ = std::make_unique<RedisServer>();
  }
  std::unique_ptr<Catalog> Open() {
    if (GetParam() == "sqlite") {
      auto c = SqliteCatalog::Open(dir_.path() + "/catalog.db");
      EXPECT_TRUE(c.ok()) << c.status().message();
      return std::move(*c);
    }
    auto c = RedisCatalog::Open(ConfigFor(*redis_, 3));
    EXPECT_TRUE(c.ok()) << c.status().message();
    return std::move(*c);
  }
  TempDir dir_;
  std::unique_ptr<RedisServer> redis_;
};

}  // namespace

TEST_P(CatalogContract, CommitIsCompareAndSwap) {
  auto cat = Open();
  TableRef t{"o", "s", "t"};
  ASSERT_TRUE(cat->Commit(t, 0, Rec(1)).ok());
  EXPECT_EQ(cat->Commit(t, 0, Rec(1)).code(), StatusCode::kConflict);  // a second creator loses
  ASSERT_TRUE(cat->Commit(t, 1, Rec(2)).ok());
  // A writer that read version 1 cannot overwrite version 2.
  EXPECT_EQ(cat->Commit(t, 1, Rec(2)).code(), StatusCode::kConflict);
  auto head = cat->GetHead(t);
  ASSERT_TRUE(head.ok() && head->has_value());
  EXPECT_EQ((*head)->version, 2);
  EXPECT_EQ((*head)->snapshot_key, "snap2");
  EXPECT_EQ(cat->History(t)->size(), 2u);
  EXPECT_TRUE(*cat->SuperExists("o", "s"));
  EXPECT_EQ(cat->ListTables("o", "s")->size(), 1u);
  EXPECT_EQ(cat->ListSupers("other")->size(), 0u);
  EXPECT_FALSE(cat->GetHead({"o", "s", "nope"})->has_value());
}

// Users, roles and tokens live in documents; concurrent administrators must not lose a change.
TEST_P(CatalogContract, DocumentsAreComparedAndSet) {
  auto c = Open();
  EXPECT_FALSE(*c->GetDocument("o", "user", "ann"));
  std::string none;
  ASSERT_TRUE(c->PutDocument("o", "user", "ann", "v1", &none).ok());
  EXPECT_EQ(c->PutDocument("o", "user", "ann", "v1b", &none).code(), StatusCode::kConflict);
  std::string v1 = "v1";
  ASSERT_TRUE(c->PutDocument("o", "user", "ann", "v2", &v1).ok());
  EXPECT_EQ(c->PutDocument("o", "user", "ann", "v3", &v1).code(), StatusCode::kConflict);
  EXPECT_EQ(**c->GetDocument("o", "user", "ann"), "v2");
  ASSERT_TRUE(c->PutDocument("o", "user", "bob", "b").ok());
  ASSERT_TRUE(c->PutDocument("o", "role", "r", "x").ok());
  ASSERT_TRUE(c->PutDocument("other", "user", "cy", "c").ok());
  auto users = c->ListDocuments("o", "user");
  ASSERT_TRUE(users.ok());
  ASSERT_EQ(users->size(), 2u);
  EXPECT_EQ((*users)[0], std::make_pair(std::string("ann"), std::string("v2")));
  EXPECT_TRUE(*c->DeleteDocument("o", "user", "bob"));
  EXPECT_FALSE(*c->DeleteDocument("o", "user", "bob"));
  // Another connection (another replica) sees it all at once.
  auto other = Open();
  EXPECT_EQ(**other->GetDocument("o", "user", "ann"), "v2");
  EXPECT_FALSE(*other->GetDocument("o", "user", "bob"));
}

// Reads repeated on one connection (the embedded catalog reuses their prepared statements) see
// what another connection committed in between: no read is left open on an old snapshot, even
// after a read that stopped at its first row.
TEST_P(CatalogContract, RepeatedReadsSeeOtherConnectionsCommits) {
  auto reader = Open();
  auto writer = Open();
  TableRef t{"o", "s", "t"};
  for (int64_t v = 1; v <= 3; ++v) {
    ASSERT_TRUE(writer->Commit(t, v - 1, Rec(v)).ok());
    ASSERT_TRUE(writer->PutDocument("o", "user", "ann", std::to_string(v)).ok());
    EXPECT_TRUE(*reader->SuperExists("o", "s"));
    EXPECT_EQ((*reader->ListTables("o", "s"))[0].head.version, v);
    EXPECT_EQ((**reader->GetHead(t)).version, v);
    EXPECT_EQ(**reader->GetDocument("o", "user", "ann"), std::to_string(v));
    EXPECT_EQ(reader->History(t)->size(), static_cast<size_t>(v));
    ASSERT_TRUE(writer->Commit({"o", "s", "t" + std::to_string(v)}, 0, Rec(1)).ok());
    EXPECT_EQ(reader->ListTables("o", "s")->size(), static_cast<size_t>(v + 1));
  }
}

TEST_P(CatalogContract, ListingIsSortedAndComplete) {
  auto cat = Open();
  for (const char* s : {"b", "a"}) {
    for (const char* t : {"z", "x", "y"}) ASSERT_TRUE(cat->Commit({"o", s, t}, 0, Rec(1)).ok());
  }
  EXPECT_EQ(*cat->ListSupers("o"), (std::vector<std::string>{"a", "b"}));
  auto tables = cat->ListTables("o", "a");
  ASSERT_EQ(tables->size(), 3u);
  EXPECT_EQ((*tables)[0].name, "x");
  EXPECT_EQ((*tables)[2].head.snapshot_key, "snap1");
}

TEST_P(CatalogContract, ExpireKeepsCurrent) {
  auto cat = Open();
  TableRef t{"o", "s", "t"};
  for (int v = 1; v <= 4; ++v) ASSERT_TRUE(cat->Commit(t, v - 1, Rec(v)).ok());
  ASSERT_TRUE(cat->ExpireHistory(t, 3).ok());
  EXPECT_EQ(cat->History(t)->size(), 2u);
  ASSERT_TRUE(cat->ExpireHistory(t, 100).ok());
  auto h = cat->History(t);
  ASSERT_EQ(h->size(), 1u);
  EXPECT_EQ((*h)[0].version, 4);
}

TEST_P(CatalogContract, DropForgetsHistory) {
  auto cat = Open();
  TableRef t{"o", "s", "t"};
  ASSERT_TRUE(cat->Commit(t, 0, Rec(1)).ok());
  ASSERT_TRUE(cat->DropTable(t).ok());
  EXPECT_FALSE(cat->GetHead(t)->has_value());
  EXPECT_EQ(cat->History(t)->size(), 0u);
  ASSERT_TRUE(cat->Commit(t, 0, Rec(1)).ok());  // the name can be reused
  ASSERT_TRUE(cat->DropSuper("o", "s").ok());
  EXPECT_FALSE(*cat->SuperExists("o", "s"));
  EXPECT_EQ(cat->History(t)->size(), 0u);
}

TEST_P(CatalogContract, LockTimesOutNamingHolderAndExpires) {
  auto cat = Open();
  auto other = Open();  // another process's catalog, as far as locks go
  auto held = cat->AcquireLock("L", 300, 0);
  ASSERT_TRUE(held.ok());
  auto second = other->AcquireLock("L", 300, 50);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), StatusCode::kTimeout);
  EXPECT_NE(second.status().message().find(LockOwnerIdentity()), std::string::npos);
  // After the lease runs out another writer gets it, and the first holder cannot renew.
  auto third = other->AcquireLock("L", 300, 2000);
  ASSERT_TRUE(third.ok()) << third.status().message();
  EXPECT_EQ((*held)->Renew().code(), StatusCode::kConflict);
  ASSERT_TRUE((*held)->Release().ok());  // releasing a lost lock leaves the new holder's alone
  EXPECT_FALSE(cat->AcquireLock("L", 300, 0).ok());
  ASSERT_TRUE((*third)->Renew().ok());
  ASSERT_TRUE((*third)->Release().ok());
  EXPECT_TRUE(cat->AcquireLock("L", 300, 0).ok());
}

TEST_P(CatalogContract, DeadLocalOwnerIsBrokenAtOnce) {
  { auto init = Open(); }
  pid_t child = fork();
  if (child == 0) {
    auto cat = Open();
    auto lock = cat->AcquireLock("L", 600000, 0);
    if (!lock.ok()) _exit(1);
    (void)lock->release();  // leak it: the process dies holding the lock
    _exit(0);
  }
  int status;
  waitpid(child, &status, 0);
  ASSERT_EQ(WEXITSTATUS(status), 0);
  auto cat = Open();
  auto lock = cat->AcquireLock("L", 1000, 0);
  EXPECT_TRUE(lock.ok()) << lock.status().message();
}

INSTANTIATE_TEST_SUITE_P(Backends, CatalogContract, ::testing::Values("sqlite", "redis"),
                         [](const auto& info) { return info.param; });

TEST(RedisCatalog, UnreachableAtStartIsOneClearError) {
  RedisConfig c;
  c.port = testing::FreePort();
  auto start = std::chrono::steady_clock::now();
  auto cat = RedisCatalog::Open(c);
  ASSERT_FALSE(cat.ok());
  EXPECT_EQ(cat.status().code(), StatusCode::kIoError);
  EXPECT_NE(cat.status().message().find(
                fmt::format("cannot reach the Redis catalog (redis 127.0.0.1:{} db 0)", c.port)),
            std::string::npos)
      << cat.status().message();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST(RedisCatalog, SettingsFromUrlAndNames) {
  auto c = ParseRedisUrl("redis://user:pw@cache.internal:6380/4");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->host, "cache.internal");
  EXPECT_EQ(c->port, 6380);
  EXPECT_EQ(c->db, 4);
  EXPECT_EQ(c->username, "user");
  EXPECT_EQ(c->password, "pw");
  EXPECT_FALSE(ParseRedisUrl("http://x").ok());
  EXPECT_FALSE(ParseRedisUrl("redis://x:99999").ok());
  EXPECT_FALSE(ParseRedisUrl("redis://x/abc").ok());
}

TEST(RedisCatalog, CarriesOnAfterARestart) {
  RedisServer redis({"--appendonly", "yes", "--appendfsync", "always"});
  auto cat = std::move(RedisCatalog::Open(ConfigFor(redis)).value());
  TableRef t{"o", "s", "t"};
  ASSERT_TRUE(cat->Commit(t, 0, Rec(1)).ok());
  redis.Restart();
  // The next command finds the connection gone, reconnects and succeeds.
  ASSERT_TRUE(cat->Commit(t, 1, Rec(2)).ok());
  EXPECT_EQ((*cat->GetHead(t))->version, 2);
  // While Redis is down past the retry window, a command fails with one clear error.
  redis.Kill();
  RedisConfig quick = ConfigFor(redis);
  quick.retry_window_ms = 300;
  auto lost = RedisCatalog::Open(quick);
  EXPECT_FALSE(lost.ok());
}

// A loopback proxy in front of Redis that can lose the reply to the next commit script: the
// script runs on the server, and the client sees its connection drop instead of the answer.
class LossyProxy {
 public:
  explicit LossyProxy(int upstream)
      : proxy_(upstream, [this](int client, int server, std::string_view chunk) {
          if (!lose_ || chunk.find("HSETNX', KEYS[3]") == std::string_view::npos) {
            return testing::LoopbackProxy::Action::kForward;
          }
          // Cut the client off first, so no reply can reach it; then let the script run.
          lose_ = false;
          shutdown(client, SHUT_RDWR);
          send(server, chunk.data(), chunk.size(), MSG_NOSIGNAL);
          lost_++;
          std::this_thread::sleep_for(std::chrono::milliseconds(100));
          return testing::LoopbackProxy::Action::kCut;
        }) {}
  int port() const { return proxy_.port(); }
  void LoseNextCommitReply() { lose_ = true; }
  int lost() const { return lost_; }

 private:
  std::atomic<bool> lose_{false};
  std::atomic<int> lost_{0};
  testing::LoopbackProxy proxy_;  // last: its threads use the members above
};

TEST(RedisCatalog, ALostCommitReplyIsNeitherAConflictNorADoubleCommit) {
  RedisServer redis;
  LossyProxy proxy(redis.port());
  RedisConfig c;
  c.port = proxy.port();
  auto cat = std::move(RedisCatalog::Open(c).value());
  TableRef t{"o", "s", "t"};
  ASSERT_TRUE(cat->Commit(t, 0, Rec(1)).ok());
  proxy.LoseNextCommitReply();
  Status s = cat->Commit(t, 1, Rec(2));
  EXPECT_EQ(proxy.lost(), 1);
  // The script ran; the catalog finds its own record and reports success, once.
  EXPECT_TRUE(s.ok()) << s.message();
  EXPECT_EQ((*cat->GetHead(t))->snapshot_key, "snap2");
  EXPECT_EQ(cat->History(t)->size(), 2u);
  ASSERT_TRUE(cat->Commit(t, 2, Rec(3)).ok());
}

TEST(RedisCatalog, SentinelFailoverLosesNoCommit) {
  // No delay before the replica's first full sync (Redis waits 5 s by default).
  RedisServer master({"--repl-diskless-sync-delay", "0"});
  RedisServer replica({"--replicaof", "127.0.0.1", std::to_string(master.port())});
  auto sentinel = RedisServer::Sentinel(
      {fmt::format("sentinel monitor mymaster 127.0.0.1 {} 1", master.port()),
       "sentinel down-after-milliseconds mymaster 500", "sentinel failover-timeout mymaster 2000",
       "sentinel parallel-syncs mymaster 1"});
  // The replica must be in sync before the master can be failed over to it.
  std::string cmd = fmt::format("redis-cli -p {} INFO replication", replica.port());
  bool synced = false;
  for (int i = 0; i < 200 && !synced; ++i) {
    FILE* f = popen(cmd.c_str(), "r");
    char buf[4096];
    size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
    if (f) pclose(f);
    synced = std::string(buf, n).find("master_link_status:up") != std::string::npos;
    if (!synced) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_TRUE(synced) << "the replica did not sync";
  RedisConfig c;
  c.sentinel = true;
  c.sentinels = {std::make_pair(std::string("127.0.0.1"), sentinel->port())};
  c.retry_window_ms = 30000;
  auto cat = RedisCatalog::Open(c);
  ASSERT_TRUE(cat.ok()) << cat.status().message();
  TableRef t{"o", "s", "t"};
  const int kCommits = 60;
  std::atomic<int> committed{0};
  std::thread writer([&] {
    for (int v = 1; v <= kCommits; ++v) {
      Status s = (*cat)->Commit(t, v - 1, Rec(v));
      ASSERT_TRUE(s.ok()) << "version " << v << ": " << s.message();
      committed = v;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  });
  while (committed < 15) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  master.Kill();  // a crash in the middle of the workload
  writer.join();
  // Every acknowledged commit is there, in order, on the new master.
  auto h = (*cat)->History(t);
  ASSERT_TRUE(h.ok()) << h.status().message();
  ASSERT_EQ(h->size(), static_cast<size_t>(kCommits));
  for (int v = 1; v <= kCommits; ++v)
    EXPECT_EQ((*h)[v - 1].snapshot_key, "snap" + std::to_string(v));
  // A process that starts now finds the new master through Sentinel.
  auto fresh = RedisCatalog::Open(c);
  ASSERT_TRUE(fresh.ok()) << fresh.status().message();
  EXPECT_EQ((*(*fresh)->GetHead(t))->version, kCommits);
}

// Writers in four processes append to one table through one Redis: nothing is lost.
TEST(RedisCatalog, ProcessesSharingOneRedisLoseNoRows) {
  RedisServer redis;
  TempDir dir;
  std::string home = dir.path() + "/home";
  setenv("LOCKING_BACKEND", "redis", 1);
  setenv("SUPERTABLE_REDIS_URL", redis.url(1).c_str(), 1);
  const int kProcs = 4, kBatches = 3;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int p = 0; p < kProcs; ++p) {
    threads.emplace_back([&, p] {
      for (int b = 0; b < kBatches; ++b) {
        std::string csv = "id,who\n";
        for (int i = 0; i < 100; ++i)
          csv += fmt::format("{},{}\n", (p * kBatches + b) * 100 + i, p);
        std::string file = dir.Write(fmt::format("in_{}_{}.csv", p, b), csv);
        auto r = RunCli({"ingest", "s", "t", file}, home);
        if (r.exit_code != 0) {
          failures++;
          ADD_FAILURE() << r.err;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  auto q =
      RunCli({"query", "s", "SELECT count(*), count(DISTINCT id) FROM t", "--format", "csv"}, home);
  auto h = RunCli({"history", "s", "t", "--format", "csv"}, home);
  unsetenv("LOCKING_BACKEND");
  unsetenv("SUPERTABLE_REDIS_URL");
  EXPECT_EQ(failures, 0);
  EXPECT_NE(q.out.find("1200,1200"), std::string::npos) << q.out << q.err;
  EXPECT_EQ(std::count(h.out.begin(), h.out.end(), '\n'), 1 + kProcs * kBatches) << h.out;
}

// `catalog export` / `import`: embedded -> Redis -> a new embedded catalog, losing nothing.
TEST(CatalogTransfer, EmbeddedToRedisAndBack) {
  RedisServer redis;
  TempDir dir;
  std::string home = dir.path() + "/home";
  std::string a = dir.Write("a.csv", "id,v\n1,x\n2,y\n3,z\n");
  std::string b = dir.Write("b.csv", "id,v\n2,Y\n4,w\n");
  ASSERT_EQ(RunCli({"ingest", "s", "t", a}, home).exit_code, 0);
  ASSERT_EQ(RunCli({"ingest", "s", "t", b, "--overwrite-columns", "id"}, home).exit_code, 0);
  ASSERT_EQ(RunCli({"ingest", "s2", "u", a}, home).exit_code, 0);
  // Users, roles and tokens move with the catalog: a token made on one works on the other.
  ASSERT_EQ(RunCli({"role", "add", "r", "--type", "reader", "--tables", "s.*"}, home).exit_code, 0);
  ASSERT_EQ(RunCli({"user", "add", "ann", "--role", "r"}, home).exit_code, 0);
  ASSERT_EQ(RunCli({"token", "create", "ann"}, home).exit_code, 0);
  std::string exported = dir.path() + "/catalog.json";
  ASSERT_EQ(RunCli({"catalog", "export", "-o", exported}, home).exit_code, 0);
  auto query = [&] {
    return RunCli({"query", "s", "SELECT id, v FROM t ORDER BY id", "--format", "csv"}, home).out;
  };
  std::string before = query();
  // Into Redis: the same tables, versions and history, and the same answers.
  setenv("LOCKING_BACKEND", "redis", 1);
  setenv("SUPERTABLE_REDIS_URL", redis.url(6).c_str(), 1);
  auto imported = RunCli({"catalog", "import", exported}, home);
  EXPECT_EQ(imported.exit_code, 0) << imported.err;
  EXPECT_NE(imported.out.find("imported 2 tables"), std::string::npos) << imported.out;
  EXPECT_EQ(query(), before);
  auto users = RunCli({"user", "list", "--format", "csv"}, home);
  EXPECT_NE(users.out.find("ann"), std::string::npos) << users.out << users.err;
  auto tokens = RunCli({"token", "list", "ann", "--format", "csv"}, home);
  EXPECT_EQ(std::count(tokens.out.begin(), tokens.out.end(), '\n'), 2) << tokens.out;
  auto history = RunCli({"history", "s", "t", "--format", "csv"}, home);
  EXPECT_NE(history.out.find("upsert"), std::string::npos) << history.out;
  auto again = RunCli({"catalog", "import", exported}, home);  // re-running finishes, adds nothing
  EXPECT_NE(again.out.find("imported 0 tables (2 already there)"), std::string::npos) << again.out;
  std::string from_redis = dir.path() + "/from_redis.json";
  ASSERT_EQ(RunCli({"catalog", "export", "-o", from_redis}, home).exit_code, 0);
  // A table that moved on since the export is never overwritten.
  ASSERT_EQ(RunCli({"ingest", "s", "t", b}, home).exit_code, 0);
  auto clash = RunCli({"catalog", "import", exported}, home);
  EXPECT_EQ(clash.exit_code, 1);
  EXPECT_NE(clash.err.find("already exists at version 3 (the export has version 2)"),
            std::string::npos)
      << clash.err;
  unsetenv("LOCKING_BACKEND");
  unsetenv("SUPERTABLE_REDIS_URL");
  // And back into a new embedded catalog: byte for byte the same export.
  std::filesystem::remove(home + "/catalog.db");
  ASSERT_EQ(RunCli({"catalog", "import", from_redis}, home).exit_code, 0);
  std::string round_trip = dir.path() + "/round_trip.json";
  ASSERT_EQ(RunCli({"catalog", "export", "-o", round_trip}, home).exit_code, 0);
  auto read = [](const std::string& p) {
    std::ifstream in(p);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  EXPECT_EQ(read(round_trip), read(exported));
  EXPECT_EQ(query(), before);
  // Hostile documents: one clear error each, nothing written.
  for (
      const auto& [content, message] : std::vector<std::pair<std::string, std::string>>{
          {"{nope", "is not valid JSON"},
          {R"({"format":"other"})", "not a catalog export"},
          {R"({"format":"supertable-catalog","format_version":1,"organization":"default","supers":[],"tables":[{"super":"s","table":"x","history":[{"version":"1"}]}]})",
           "tables[0].history[0]: 'version' is missing or has the wrong type"},
          {R"({"format":"supertable-catalog","format_version":1,"organization":"default","supers":["../etc"],"tables":[]})",
           "super table"}}) {
    std::string f = dir.Write("bad.json", content);
    auto r = RunCli({"catalog", "import", f}, home);
    EXPECT_EQ(r.exit_code, 1) << content;
    EXPECT_NE(r.err.find(message), std::string::npos) << r.err;
  }
}

}  // namespace supertable
