// The object stores against real servers on 127.0.0.1: s3rver for the S3 API, azurite for Azure
// Blob (tests/storage). One contract for every store, the local one included; the block cache;
// a whole warehouse on each remote store through the CLI; and a storage server that dies in the
// middle of an upload.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "storage/http_client.h"
#include "storage/object_cache.h"
#include "storage/object_store.h"
#include "support/test_support.h"

namespace supertable {

using testing::RunCli;
using testing::ScopedEnv;
using testing::StorageServer;
using testing::TempDir;

namespace {

std::string RandomBytes(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}

enum class Backend { kLocal, kS3, kAzure };

std::string BackendName(Backend b) {
  return b == Backend::kLocal ? "Local" : b == Backend::kS3 ? "S3" : "Azure";
}

// A store of the given kind over a fresh server (none for local), with small list pages and
// parts so that pagination and multipart uploads are exercised by small tests.
struct StoreUnderTest {
  explicit StoreUnderTest(Backend b) {
    std::vector<std::pair<std::string, std::string>> settings = {{"STORAGE_TYPE", "LOCAL"},
                                                                 {"STORAGE_LIST_PAGE_SIZE", "2"},
                                                                 {"STORAGE_PART_BYTES", "5242880"}};
    if (b != Backend::kLocal) {
      server = std::make_unique<StorageServer>(b == Backend::kS3 ? StorageServer::Kind::kS3
                                                                 : StorageServer::Kind::kAzure);
      for (auto& kv : server->Settings("contract")) settings.push_back(kv);
    }
    env = std::make_unique<ScopedEnv>(settings);
    std::string type = b == Backend::kLocal ? "LOCAL" : b == Backend::kS3 ? "MINIO" : "AZURE";
    auto opened = OpenObjectStore(type, home.path());
    EXPECT_TRUE(opened.ok()) << opened.status().message();
    if (opened.ok()) store = std::move(*opened);
    std::filesystem::create_directories(home.path() + "/staging");
  }
  TempDir home;
  std::unique_ptr<StorageServer> server;
  std::unique_ptr<ScopedEnv> env;
  std::unique_ptr<ObjectStore> store;
};

class ObjectStoreContract : public ::testing::TestWithParam<Backend> {};

TEST_P(ObjectStoreContract, KeepsEveryPromise) {
  StoreUnderTest t(GetParam());
  ASSERT_TRUE(t.store);
  ObjectStore& s = *t.store;
  const std::string body = RandomBytes(300000, 1);
  ASSERT_TRUE(s.Put("o/s/t/data/a.parquet", body).ok());
  EXPECT_EQ(*s.Get("o/s/t/data/a.parquet"), body);
  EXPECT_EQ(*s.GetRange("o/s/t/data/a.parquet", 1000, 10), body.substr(1000, 10));
  EXPECT_EQ(*s.GetRange("o/s/t/data/a.parquet", 299990, 10), body.substr(299990));
  auto info = s.Stat("o/s/t/data/a.parquet");
  ASSERT_TRUE(info.ok()) << info.status().message();
  EXPECT_EQ(info->size, 300000);
  int64_t now = std::chrono::duration_cast<std::chrono::microseconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count();
  EXPECT_LT(std::llabs(info->modified_micros - now), 600ll * 1000000);

  auto missing = s.Get("o/s/t/data/none.parquet");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound) << missing.status().message();
  EXPECT_EQ(s.Stat("o/s/t/data/none.parquet").status().code(), StatusCode::kNotFound);

  // Keys with spaces, '+' and non-ASCII travel intact; listing pages through them in order.
  const std::vector<std::string> keys = {
      "o/s/t/_snapshots/1 a+b.json", "o/s/t/_snapshots/2-\xc3\xa9.json", "o/s/t/_snapshots/3.json",
      "o/s/t/_snapshots/4.json", "o/s/t/_snapshots/5.json"};
  for (const auto& k : keys) ASSERT_TRUE(s.PutIfAbsent(k, "doc " + k).ok()) << k;
  EXPECT_EQ(s.PutIfAbsent(keys[0], "again").code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(*s.Get(keys[0]), "doc " + keys[0]);
  auto listed = s.List("o/s/t/_snapshots/");
  ASSERT_TRUE(listed.ok()) << listed.status().message();
  ASSERT_EQ(listed->size(), keys.size());
  for (size_t i = 0; i < keys.size(); ++i) EXPECT_EQ((*listed)[i].key, keys[i]);
  EXPECT_EQ(s.List("o/s/t/").value().size(), keys.size() + 1);
  EXPECT_TRUE(s.List("o/other/").value().empty());

  // A file larger than a part goes up in parts and arrives whole; the local file is consumed.
  const std::string big = RandomBytes(11 << 20, 2);
  std::string local = s.StagingDir() + "/big.parquet";
  std::ofstream(local, std::ios::binary) << big;
  ASSERT_TRUE(s.PutFile("o/s/t/data/big.parquet", local).ok());
  EXPECT_FALSE(std::filesystem::exists(local));
  EXPECT_EQ(s.Stat("o/s/t/data/big.parquet")->size, static_cast<int64_t>(big.size()));
  EXPECT_TRUE(*s.Get("o/s/t/data/big.parquet") == big);

  ASSERT_TRUE(s.Delete("o/s/t/data/a.parquet").ok());
  EXPECT_EQ(s.Get("o/s/t/data/a.parquet").status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(s.Delete("o/s/t/data/a.parquet").ok()) << "deleting twice is not an error";
  EXPECT_TRUE(s.RemoveAbandoned("o/s/t/", now).ok());
}

INSTANTIATE_TEST_SUITE_P(AllStores, ObjectStoreContract,
                         ::testing::Values(Backend::kLocal, Backend::kS3, Backend::kAzure),
                         [](const auto& info) { return BackendName(info.param); });

TEST(ObjectStoreErrors, WrongCredentialsAndUnreachableServersSayWhatIsWrong) {
  TempDir home;
  {
    StorageServer s3(StorageServer::Kind::kS3);
    auto settings = s3.Settings("creds");
    settings.push_back({"STORAGE_ACCESS_KEY", "NOT-A-KEY"});
    ScopedEnv env(settings);
    auto r = OpenObjectStore("MINIO", home.path());
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.status().message().find("403"), std::string::npos) << r.status().message();
    EXPECT_NE(r.status().message().find("STORAGE_ACCESS_KEY"), std::string::npos);
  }
  {
    StorageServer azure(StorageServer::Kind::kAzure);
    auto settings = azure.Settings("creds");
    std::string& conn = settings[1].second;
    conn.replace(conn.find("AccountKey=") + 11, 4, "AAAA");
    ScopedEnv env(settings);
    auto r = OpenObjectStore("AZURE", home.path());
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.status().message().find("403"), std::string::npos) << r.status().message();
  }
  {
    ScopedEnv env(
        {{"STORAGE_ENDPOINT_URL", fmt::format("http://127.0.0.1:{}", testing::FreePort())},
         {"STORAGE_ACCESS_KEY", "k"},
         {"STORAGE_SECRET_KEY", "s"},
         {"STORAGE_BUCKET", "b"},
         {"STORAGE_RETRY_WINDOW_MS", "300"}});
    auto start = std::chrono::steady_clock::now();
    auto r = OpenObjectStore("MINIO", home.path());
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.status().message().find("127.0.0.1"), std::string::npos) << r.status().message();
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
  }
  {
    // A host name that does not resolve is a setting to fix: no retrying for the whole window.
    ScopedEnv env({{"STORAGE_ENDPOINT_URL", "http://no-such-host.invalid:9000"},
                   {"STORAGE_ACCESS_KEY", "k"},
                   {"STORAGE_SECRET_KEY", "s"},
                   {"STORAGE_BUCKET", "b"}});
    auto start = std::chrono::steady_clock::now();
    auto r = OpenObjectStore("MINIO", home.path());
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.status().message().find("check STORAGE_ENDPOINT_URL"), std::string::npos)
        << r.status().message();
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  }
  {
    ScopedEnv env({{"STORAGE_ENDPOINT_URL", ""}, {"STORAGE_BUCKET", "b"}});
    auto r = OpenObjectStore("MINIO", home.path());
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.status().message().find("STORAGE_ENDPOINT_URL"), std::string::npos);
  }
}

// A loopback HTTP server that answers each request with the next canned status (the last one
// repeats), for the retry policy: s3rver and azurite cannot be made to throttle.
class CannedHttpServer {
 public:
  explicit CannedHttpServer(std::vector<int> statuses) : statuses_(std::move(statuses)) {
    listen_ = testing::ListenLoopback(&port_);
    thread_ = std::thread([this] {
      while (true) {
        int c = accept(listen_, nullptr, nullptr);
        if (c < 0) return;
        char buf[65536];
        std::string req;
        while (req.find("\r\n\r\n") == std::string::npos) {
          ssize_t n = recv(c, buf, sizeof buf, 0);
          if (n <= 0) break;
          req.append(buf, static_cast<size_t>(n));
        }
        int i = served_++;
        int status = statuses_[std::min<size_t>(static_cast<size_t>(i), statuses_.size() - 1)];
        std::string body = status == 503 ? "<Error><Code>SlowDown</Code><Message>Please reduce "
                                           "your request rate.</Message></Error>"
                                         : "ok";
        std::string resp =
            fmt::format("HTTP/1.1 {} X\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}",
                        status, body.size(), body);
        send(c, resp.data(), resp.size(), MSG_NOSIGNAL);
        close(c);
      }
    });
  }
  ~CannedHttpServer() {
    shutdown(listen_, SHUT_RDWR);
    close(listen_);
    thread_.join();
  }
  int port() const { return port_; }
  int served() const { return served_; }

 private:
  std::vector<int> statuses_;
  int listen_, port_;
  std::atomic<int> served_{0};
  std::thread thread_;
};

TEST(HttpRetry, ThrottlingAndServerErrorsAreRetriedOtherAnswersAreNot) {
  HttpClientOptions o;
  o.retry_window_ms = 10000;
  HttpClient http(o);
  auto request = [](int port) {
    return [port] {
      HttpRequest r;
      r.url = fmt::format("http://127.0.0.1:{}/b/k", port);
      return r;
    };
  };
  {
    CannedHttpServer server({503, 500, 429, 200});
    auto r = http.SendWithRetry(request(server.port()), "GET k");
    ASSERT_TRUE(r.ok()) << r.status().message();
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(server.served(), 4);
  }
  {
    CannedHttpServer server({403});
    auto r = http.SendWithRetry(request(server.port()), "GET k");
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->status, 403);
    EXPECT_EQ(server.served(), 1) << "a refusal is final";
  }
  {
    // A server that keeps throttling: the window ends the retries and the last answer is kept.
    HttpClientOptions shortw;
    shortw.retry_window_ms = 700;
    HttpClient impatient(shortw);
    CannedHttpServer server({503});
    auto start = std::chrono::steady_clock::now();
    auto r = impatient.SendWithRetry(request(server.port()), "GET k");
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->status, 503);
    EXPECT_GE(server.served(), 3);
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  }
}

// The reply to a request that the server carried out is lost; the client's retry must not turn
// its own success into a failure.
TEST(StorageFaults, ALostReplyToAConditionalPutIsNotAConflict) {
  // azurite honours If-None-Match (s3rver ignores it, so the retry would simply overwrite).
  StorageServer azure(StorageServer::Kind::kAzure);
  std::atomic<bool> lost{false};
  testing::LoopbackProxy proxy(azure.port(), [&](int client, int server, std::string_view chunk) {
    if (lost || chunk.find("If-None-Match") == std::string_view::npos) {
      return testing::LoopbackProxy::Action::kForward;
    }
    lost = true;
    shutdown(client, SHUT_RDWR);  // no reply can reach the client
    send(server, chunk.data(), chunk.size(), MSG_NOSIGNAL);
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    return testing::LoopbackProxy::Action::kCut;
  });
  auto settings = azure.Settings("lost");
  std::string& conn = settings[1].second;
  conn.replace(conn.find(std::to_string(azure.port())), std::to_string(azure.port()).size(),
               std::to_string(proxy.port()));
  TempDir home;
  ScopedEnv env(settings);
  auto store = OpenObjectStore("AZURE", home.path());
  ASSERT_TRUE(store.ok()) << store.status().message();
  Status s = (*store)->PutIfAbsent("t/_snapshots/1.json", "{\"v\":1}");
  EXPECT_TRUE(lost);
  EXPECT_TRUE(s.ok()) << s.message();
  // Someone else's object under the key is still a conflict.
  EXPECT_EQ((*store)->PutIfAbsent("t/_snapshots/1.json", "{\"v\":2}").code(),
            StatusCode::kAlreadyExists);
}

TEST(StorageFaults, ALostReplyToAMultipartCompletionIsNotAFailure) {
  StorageServer s3(StorageServer::Kind::kS3);
  std::atomic<bool> lost{false};
  testing::LoopbackProxy proxy(s3.port(), [&](int client, int server, std::string_view chunk) {
    if (lost || chunk.rfind("POST ", 0) != 0 || chunk.find("uploadId=") == std::string_view::npos) {
      return testing::LoopbackProxy::Action::kForward;
    }
    lost = true;
    shutdown(client, SHUT_RDWR);
    send(server, chunk.data(), chunk.size(), MSG_NOSIGNAL);
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    return testing::LoopbackProxy::Action::kCut;
  });
  auto settings = s3.Settings("lost");
  settings.push_back({"STORAGE_ENDPOINT_URL", fmt::format("http://127.0.0.1:{}", proxy.port())});
  settings.push_back({"STORAGE_PART_BYTES", "5242880"});
  TempDir home;
  ScopedEnv env(settings);
  auto store = OpenObjectStore("MINIO", home.path());
  ASSERT_TRUE(store.ok()) << store.status().message();
  std::filesystem::create_directories(home.path() + "/staging");
  const std::string big = RandomBytes(11 << 20, 9);
  std::string local = home.path() + "/staging/big";
  std::ofstream(local, std::ios::binary) << big;
  Status s = (*store)->PutFile("t/data/big.parquet", local);
  EXPECT_TRUE(lost);
  EXPECT_TRUE(s.ok()) << s.message();
  EXPECT_TRUE(*(*store)->Get("t/data/big.parquet") == big);
}

TEST(ObjectStoreUrls, VirtualHostedStyleNamesTheBucketInTheHost) {
  // s3rver takes the bucket from "<bucket>.s3.localhost"; libcurl resolves *.localhost to
  // loopback itself.
  StorageServer s3(StorageServer::Kind::kS3, {"--service-endpoint", "localhost"});
  TempDir home;
  auto settings = s3.Settings("vhost-bucket");
  settings.push_back({"STORAGE_ENDPOINT_URL", fmt::format("http://s3.localhost:{}", s3.port())});
  settings.push_back({"STORAGE_FORCE_PATH_STYLE", "false"});
  ScopedEnv env(settings);
  auto store = OpenObjectStore("MINIO", home.path());
  ASSERT_TRUE(store.ok()) << store.status().message();
  ASSERT_TRUE((*store)->Put("a/b c.json", "{}").ok());
  EXPECT_EQ(*(*store)->Get("a/b c.json"), "{}");
  ASSERT_EQ((*store)->List("a/")->size(), 1u);
  // The objects landed in the bucket the host named.
  EXPECT_TRUE(std::filesystem::exists(s3.data_dir() + "/vhost-bucket"));
}

TEST(ObjectCacheTest, FetchesOnlyMissingBlocksAndStaysWithinItsBound) {
  StoreUnderTest t(Backend::kS3);
  ASSERT_TRUE(t.store);
  const int64_t B = ObjectCache::kBlockBytes;
  const std::string body = RandomBytes(static_cast<size_t>(12 * B + 123), 3);
  ASSERT_TRUE(t.store->Put("k/data.bin", body).ok());
  const std::string dir = t.home.path() + "/cache";
  {
    ObjectCache cache(t.store.get(), "s3rver", dir, 64 * B);
    std::string out(100, '\0');
    ASSERT_TRUE(cache.Read("k/data.bin", 5 * B + 10, 100, out.data()).ok());
    EXPECT_EQ(out, body.substr(5 * B + 10, 100));
    auto first = cache.stats();
    EXPECT_EQ(first.remote_bytes, B) << "one block fetched for a read inside it";
    // Again: served locally.
    ASSERT_TRUE(cache.Read("k/data.bin", 5 * B + 500, 100, out.data()).ok());
    EXPECT_EQ(cache.stats().remote_bytes, first.remote_bytes);
    EXPECT_EQ(out, body.substr(5 * B + 500, 100));
    // A read across cached and missing blocks fetches only the missing run, the tail included.
    std::string all(body.size(), '\0');
    ASSERT_TRUE(cache.Read("k/data.bin", 0, static_cast<int64_t>(body.size()), all.data()).ok());
    EXPECT_TRUE(all == body);
    EXPECT_EQ(cache.stats().remote_bytes, static_cast<int64_t>(body.size()));
    EXPECT_FALSE(
        cache.Read("k/data.bin", static_cast<int64_t>(body.size()) - 5, 10, all.data()).ok())
        << "a read past the end is refused";
  }
  {
    // A new process finds the blocks of the last one.
    ObjectCache cache(t.store.get(), "s3rver", dir, 64 * B);
    std::string out(B, '\0');
    ASSERT_TRUE(cache.Read("k/data.bin", 2 * B, B, out.data()).ok());
    EXPECT_EQ(cache.stats().remote_bytes, 0);
    EXPECT_EQ(out, body.substr(2 * B, B));
  }
  {
    // A bound of 4 blocks holds at most 4 blocks, whatever is read.
    ObjectCache cache(t.store.get(), "s3rver", dir, 4 * B);
    EXPECT_LE(cache.stats().resident_bytes, 4 * B);
    std::string all(body.size(), '\0');
    ASSERT_TRUE(cache.Read("k/data.bin", 0, static_cast<int64_t>(body.size()), all.data()).ok());
    EXPECT_TRUE(all == body);
    EXPECT_LE(cache.stats().resident_bytes, 4 * B);
    int64_t files = 0, bytes = 0;
    for (auto& e : std::filesystem::recursive_directory_iterator(dir)) {
      if (e.is_regular_file()) {
        ++files;
        bytes += static_cast<int64_t>(e.file_size());
      }
    }
    EXPECT_LE(bytes, 4 * B);
  }
  {
    // Two processes (two caches) sharing the directory share the bound too.
    ASSERT_TRUE(t.store->Put("k/other.bin", body).ok());
    ObjectCache a(t.store.get(), "s3rver", dir, 6 * B), b(t.store.get(), "s3rver", dir, 6 * B);
    std::string all(body.size(), '\0');
    ASSERT_TRUE(a.Read("k/data.bin", 0, static_cast<int64_t>(body.size()), all.data()).ok());
    ASSERT_TRUE(b.Read("k/other.bin", 0, static_cast<int64_t>(body.size()), all.data()).ok());
    EXPECT_TRUE(all == body);
    int64_t bytes = 0;
    for (auto& e : std::filesystem::recursive_directory_iterator(dir)) {
      if (e.is_regular_file()) bytes += static_cast<int64_t>(e.file_size());
    }
    EXPECT_LE(bytes, 6 * B);
  }
  {
    // No disk cache at all: every read goes to the store, exactly the bytes asked for.
    ObjectCache cache(t.store.get(), "s3rver", dir + "-off", 0);
    std::string out(10, '\0');
    ASSERT_TRUE(cache.Read("k/data.bin", 7, 10, out.data()).ok());
    EXPECT_EQ(out, body.substr(7, 10));
    EXPECT_EQ(cache.stats().remote_bytes, 10);
  }
}

// A CSV of `rows` rows of random text (incompressible enough to make a multi-megabyte file).
std::string WriteRandomCsv(const TempDir& dir, const std::string& name, int rows, int first_id) {
  std::mt19937_64 rng(static_cast<uint64_t>(rows) * 7 + static_cast<uint64_t>(first_id));
  std::string csv = "id,payload,other\n";
  for (int i = 0; i < rows; ++i) {
    csv += fmt::format("{},{:016x}{:016x},{:016x}\n", first_id + i, rng(), rng(), rng());
  }
  return dir.Write(name, csv);
}

class RemoteWarehouse : public ::testing::TestWithParam<Backend> {};

TEST_P(RemoteWarehouse, IngestQueryUpsertCompactGcThroughTheCli) {
  StorageServer server(GetParam() == Backend::kS3 ? StorageServer::Kind::kS3
                                                  : StorageServer::Kind::kAzure);
  // The catalog in Redis, so that a second home below is a second machine on the same warehouse.
  testing::RedisServer redis;
  auto settings = server.Settings("warehouse");
  settings.push_back({"LOCKING_BACKEND", "redis"});
  settings.push_back({"SUPERTABLE_REDIS_URL", redis.url()});
  ScopedEnv env(settings);
  TempDir home;
  auto in = RunCli({"ingest", "demo", "flights", testing::SharedDataFile("flights-20k.json")},
                   home.path());
  ASSERT_EQ(in.exit_code, 0) << in.err;
  auto again = RunCli({"ingest", "demo", "flights", testing::SharedDataFile("flights-20k.json")},
                      home.path());
  ASSERT_EQ(again.exit_code, 0) << again.err;
  auto q = RunCli(
      {"query", "demo", "SELECT count(*) AS n, min(delay) AS d FROM flights", "--format", "csv"},
      home.path());
  ASSERT_EQ(q.exit_code, 0) << q.err;
  EXPECT_NE(q.out.find("40000"), std::string::npos) << q.out;
  // The data went to the server, not to SUPERTABLE_HOME.
  EXPECT_FALSE(std::filesystem::exists(home.path() + "/data/default"));
  auto compact = RunCli({"compact", "demo", "flights"}, home.path());
  ASSERT_EQ(compact.exit_code, 0) << compact.err;
  auto gc = RunCli({"gc"}, home.path());
  ASSERT_EQ(gc.exit_code, 0) << gc.err;
  // A second home (another machine) with an empty cache reads the same table from the store.
  TempDir other;
  auto q2 =
      RunCli({"query", "demo", "SELECT count(*) FROM flights", "--format", "csv"}, other.path());
  ASSERT_EQ(q2.exit_code, 0) << q2.err;
  EXPECT_NE(q2.out.find("40000"), std::string::npos);
}

// With a remote store every organization's objects are in one bucket: a query may open only
// its own organization's keys, whatever SQL reaches DuckDB (here a policy's row filter, which
// the guard never sees).
TEST_P(RemoteWarehouse, QueriesOpenOnlyTheirOrganizationsObjects) {
  StorageServer server(GetParam() == Backend::kS3 ? StorageServer::Kind::kS3
                                                  : StorageServer::Kind::kAzure);
  ScopedEnv env(server.Settings("orgs"));
  TempDir home, inputs;
  const std::string csv = WriteRandomCsv(inputs, "rows.csv", 100, 0);
  ASSERT_EQ(RunCli({"--org", "victim", "ingest", "vs", "t", csv}, home.path()).exit_code, 0);
  ASSERT_EQ(RunCli({"ingest", "s", "t", csv}, home.path()).exit_code, 0);
  auto open = [&](const std::string& org) {
    auto c = Config::FromEnvironment();
    EXPECT_TRUE(c.ok());
    c->home = home.path();
    c->organization = org;
    EXPECT_TRUE(c->Finish().ok());
    auto w = Warehouse::Open(*c);
    EXPECT_TRUE(w.ok()) << w.status().message();
    return std::move(*w);
  };
  auto victim = open("victim");
  auto w = open("default");
  std::string key = victim->LoadSnapshot(victim->Ref("vs", "t"))->files[0].key;
  ASSERT_EQ(key.rfind("victim/", 0), 0u) << key;
  for (const std::string& path : {victim->ReadPath(key), w->ReadPath("default/../" + key)}) {
    FixedAccessPolicy p;
    TablePolicy tp;
    tp.views.push_back({"EXISTS (SELECT * FROM read_parquet('" + path + "'))", std::nullopt, {}});
    p.tables["s.t"] = tp;
    QueryRequest req{"s", "SELECT count(*) FROM t"};
    req.policy = &p;
    struct NullSink : ResultSink {
      void Begin(const std::vector<Column>&) override {}
      void Row(const std::vector<nlohmann::json>&) override {}
      void End(bool) override {}
    } sink;
    auto r = w->Query(req, sink);
    EXPECT_FALSE(r.ok()) << "read " << path;
    if (!r.ok()) std::cerr << path << ": " << r.status().message() << "\n";
  }
  struct CountSink : ResultSink {
    int rows = 0;
    void Begin(const std::vector<Column>&) override {}
    void Row(const std::vector<nlohmann::json>&) override { ++rows; }
    void End(bool) override {}
  } own;
  ASSERT_TRUE(w->Query({"s", "SELECT count(*) FROM t"}, own).ok());
  EXPECT_EQ(own.rows, 1);
}

INSTANTIATE_TEST_SUITE_P(RemoteStores, RemoteWarehouse,
                         ::testing::Values(Backend::kS3, Backend::kAzure),
                         [](const auto& info) { return BackendName(info.param); });

TEST(StorageFaults, AServerThatDiesMidUploadFailsTheCommitCleanly) {
  StorageServer server(StorageServer::Kind::kS3);
  TempDir home, inputs;
  const std::string first = WriteRandomCsv(inputs, "first.csv", 1000, 0);
  const std::string big = WriteRandomCsv(inputs, "big.csv", 400000, 1000);
  {
    ScopedEnv env(server.Settings("faults"));
    auto r = RunCli({"ingest", "s", "t", first}, home.path());
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  {
    // The server dies after 3 MiB of a write whose data file is uploaded in 5 MiB parts.
    std::atomic<int64_t> sent{0};
    std::atomic<bool> cut{false};
    testing::LoopbackProxy* self = nullptr;
    testing::LoopbackProxy proxy(server.port(), [&](int, int, std::string_view chunk) {
      if ((sent += static_cast<int64_t>(chunk.size())) <= (3 << 20) || cut.exchange(true)) {
        return cut ? testing::LoopbackProxy::Action::kCut
                   : testing::LoopbackProxy::Action::kForward;
      }
      self->RefuseNew();
      server.Kill();
      return testing::LoopbackProxy::Action::kCut;
    });
    self = &proxy;
    auto settings = server.Settings("faults");
    settings.push_back({"STORAGE_ENDPOINT_URL", fmt::format("http://127.0.0.1:{}", proxy.port())});
    settings.push_back({"STORAGE_PART_BYTES", "5242880"});
    settings.push_back({"STORAGE_RETRY_WINDOW_MS", "1500"});
    ScopedEnv env(settings);
    auto r = RunCli({"ingest", "s", "t", big}, home.path());
    EXPECT_TRUE(cut);
    EXPECT_NE(r.exit_code, 0);
    EXPECT_NE(r.err.find("127.0.0.1"), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find("terminate"), std::string::npos) << r.err;
    std::cerr << "the failed write said: " << r.err;
  }
  server.Restart();
  ScopedEnv env(server.Settings("faults"));
  // Nothing of the failed write is visible: the table is at version 1 with its 1000 rows.
  auto q = RunCli({"query", "s", "SELECT count(*) FROM t", "--format", "csv"}, home.path());
  ASSERT_EQ(q.exit_code, 0) << q.err;
  EXPECT_NE(q.out.find("1000"), std::string::npos) << q.out;
  auto h = RunCli({"history", "s", "t", "--format", "csv"}, home.path());
  ASSERT_EQ(h.exit_code, 0) << h.err;
  EXPECT_EQ(h.out.find("\n2,"), std::string::npos) << h.out;
  // And the store takes the same write once it is back.
  auto r = RunCli({"ingest", "s", "t", big}, home.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  q = RunCli({"query", "s", "SELECT count(*), count(DISTINCT id) FROM t", "--format", "csv"},
             home.path());
  EXPECT_NE(q.out.find("401000,401000"), std::string::npos) << q.out;
}

}  // namespace
}  // namespace supertable
