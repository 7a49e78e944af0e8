// The audit trail on a local object store: chains verify, every kind of tampering is found,
// streams of concurrent writers share one trail, secrets are redacted, a clean shutdown loses
// nothing and a full queue drops records instead of blocking the caller.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "security/audit.h"
#include "storage/local_object_store.h"
#include "support/test_support.h"
#include "table/system_tables.h"

namespace supertable::security {
namespace {

using nlohmann::json;
using testing::TempDir;

AuditRecord Rec(const std::string& principal, int i) {
  AuditRecord r;
  r.kind = "tool_call";
  r.principal = principal;
  r.auth = "token";
  r.client = std::make_shared<const nlohmann::json>(
      nlohmann::json{{"name", "test"}, {"transport", "stdio"}});
  r.action = "tools/call:query_sql";
  r.arguments = {{"sql", "SELECT " + std::to_string(i)}, {"token", "s3cret"}};
  r.tables = {"shop.orders"};
  r.outcome = "ok";
  r.rows = i;
  r.duration_micros = 1500;
  r.trace = "00-0af7651916cd43dd8448eb211c80319c-00f067aa0ba902b7-01";
  return r;
}

AuditQuery Query(std::string user, int64_t since, int64_t limit) {
  AuditQuery q;
  q.user = std::move(user);
  q.since_micros = since;
  q.limit = limit;
  return q;
}

std::string Contains(const AuditVerifyReport& r, const std::string& what) {
  for (const auto& p : r.problems) {
    if (p.find(what) != std::string::npos) return p;
  }
  std::string all;
  for (const auto& p : r.problems) all += "\n  " + p;
  ADD_FAILURE() << "no problem mentions '" << what << "'; problems:" << all;
  return "";
}

class AuditTest : public ::testing::Test {
 protected:
  TempDir dir_;
  LocalObjectStore store_{dir_.path() + "/root", dir_.path() + "/staging"};

  // 25 records in segments of 10: seq 1..10, 11..20, 21..25.
  std::string WriteTrail() {
    AuditOptions o;
    o.flush_records = 10;
    o.flush_interval_ms = 3600 * 1000;
    auto log = AuditLog::Open(store_, "org", o);
    EXPECT_TRUE(log.ok()) << log.status().message();
    std::string stream = (*log)->stream_id();
    for (int i = 1; i <= 25; ++i) {
      (*log)->Append(Rec("alice", i));
      // Segments of exactly 10: flush at each boundary rather than race the writer thread.
      if (i % 10 == 0) {
        EXPECT_TRUE((*log)->Flush().ok());
      }
    }
    EXPECT_TRUE((*log)->Close().ok());
    EXPECT_EQ((*log)->stats().segments, 3);
    return stream;
  }
  std::string Segment(const std::string& stream, int first_seq) {
    char name[32];
    std::snprintf(name, sizeof(name), "%012d.ndjson", first_seq);
    return AuditTrailPrefix("org") + stream + "/" + name;
  }
  std::vector<std::string> SegmentLines(const std::string& key) {
    auto text = store_.Get(key);
    EXPECT_TRUE(text.ok());
    std::vector<std::string> lines;
    size_t at = 0;
    while (at < text->size()) {
      size_t nl = text->find('\n', at);
      lines.push_back(text->substr(at, nl - at));
      at = nl + 1;
    }
    return lines;
  }
  void Rewrite(const std::string& key, const std::vector<std::string>& lines) {
    std::string text;
    for (const auto& l : lines) text += l + "\n";
    ASSERT_TRUE(store_.Put(key, text).ok());
  }
  AuditVerifyReport Verify() {
    auto r = VerifyAudit(store_, "org");
    EXPECT_TRUE(r.ok()) << r.status().message();
    return *r;
  }
};

// Records are encoded in small batches as they come; that must not store a segment per batch:
// the store still sees one object per interval, or per flush_records.
TEST_F(AuditTest, EncodingInBatchesStoresSegmentsOnlyWhenFullOrDue) {
  AuditOptions o;
  o.encode_batch = 4;
  o.flush_records = 20;
  o.flush_interval_ms = 3600 * 1000;
  auto log = AuditLog::Open(store_, "org", o);
  ASSERT_TRUE(log.ok()) << log.status().message();
  for (int i = 1; i <= 50; ++i) (*log)->Append(Rec("alice", i));
  // The writer encodes every 4; it stores only the two full segments of 20 meanwhile.
  for (int i = 0; i < 200 && (*log)->stats().written < 40; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ((*log)->stats().written, 40);
  EXPECT_EQ((*log)->stats().segments, 2);
  ASSERT_TRUE((*log)->Close().ok());
  EXPECT_EQ((*log)->stats().written, 50);
  EXPECT_EQ((*log)->stats().segments, 3);
  auto records = ReadAudit(store_, "org", Query("", 0, 100));
  ASSERT_TRUE(records.ok()) << records.status().message();
  ASSERT_EQ(records->size(), 50u);
  for (size_t i = 0; i < records->size(); ++i) {
    EXPECT_EQ((*records)[i]["seq"], static_cast<int64_t>(i) + 1);
  }
  auto report = VerifyAudit(store_, "org");
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->ok);
}

TEST_F(AuditTest, ChainVerifies) {
  WriteTrail();
  auto r = Verify();
  EXPECT_TRUE(r.ok);
  EXPECT_TRUE(r.problems.empty()) << r.problems[0];
  EXPECT_EQ(r.records, 25);
  EXPECT_EQ(r.segments, 3);
  EXPECT_EQ(r.streams, 1);
  auto records = ReadAudit(store_, "org", {});
  ASSERT_TRUE(records.ok());
  ASSERT_EQ(records->size(), 25u);
  EXPECT_EQ((*records)[0]["seq"], 1);
  EXPECT_EQ((*records)[0]["prev"], std::string(64, '0'));
  EXPECT_EQ((*records)[1]["prev"], (*records)[0]["hash"]);
  EXPECT_EQ((*records)[24]["rows"], 25);
  EXPECT_GT((*records)[0]["time_micros"].get<int64_t>(), 0);  // filled in by Append
}

// The writer serializes a record once, in two parts joined around "hash": the stored line must
// still be exactly the record's canonical text (keys in order, nothing missing), which is what
// another implementation of the format would write and what verification parses.
TEST_F(AuditTest, StoredLinesAreCanonical) {
  std::string s = WriteTrail();
  auto lines = SegmentLines(Segment(s, 1));
  ASSERT_EQ(lines.size(), 11u);
  for (size_t i = 1; i < lines.size(); ++i) {
    json r = json::parse(lines[i]);
    EXPECT_EQ(lines[i], r.dump()) << "line " << i;
    EXPECT_EQ(r.size(), 20u) << lines[i];  // every field, the hash included
    EXPECT_EQ(r["arguments"]["token"], "[redacted]");
    EXPECT_EQ(r["trace"], "00-0af7651916cd43dd8448eb211c80319c-00f067aa0ba902b7-01");
  }
  // Text that needs escaping, non-ASCII and invalid UTF-8 (which becomes U+FFFD) in every kind
  // of field, and a record with nothing set.
  AuditOptions o;
  o.flush_interval_ms = 3600 * 1000;
  auto log = AuditLog::Open(store_, "org", o);
  ASSERT_TRUE(log.ok());
  AuditRecord odd = Rec("zoë \"q\"\n\t\x01", 7);
  odd.error = "bad \xff\xfe bytes \\ and \u2028";
  odd.tables = {"a\"b", ""};
  odd.arguments = {
      {"sql", "SELECT '\x7f'"}, {"nested", {{"Password", "x"}, {"k", {1, 2.5, -3, true, nullptr}}}},
      {"big", UINT64_MAX},      {"empty", json::object()},
      {"list", json::array()},  {"k\"ey", "v"}};
  ASSERT_TRUE((*log)->Flush().ok());
  (*log)->Append(std::move(odd));
  (*log)->Append(AuditRecord{});
  ASSERT_TRUE((*log)->Close().ok());
  std::string key = Segment((*log)->stream_id(), 1);
  auto odd_lines = SegmentLines(key);
  ASSERT_EQ(odd_lines.size(), 3u);
  for (size_t i = 1; i < odd_lines.size(); ++i) {
    json r = json::parse(odd_lines[i]);
    EXPECT_EQ(odd_lines[i], r.dump(-1, ' ', false, json::error_handler_t::replace));
  }
  EXPECT_EQ(json::parse(odd_lines[1])["arguments"]["nested"]["Password"], "[redacted]");
  EXPECT_TRUE(Verify().ok);
}

TEST_F(AuditTest, EditedRecordIsFound) {
  std::string s = WriteTrail();
  auto lines = SegmentLines(Segment(s, 11));
  json r = json::parse(lines[2]);  // seq 12 (line 0 is the header)
  ASSERT_EQ(r["seq"], 12);
  r["principal"] = "mallory";
  lines[2] = r.dump();
  Rewrite(Segment(s, 11), lines);
  auto v = Verify();
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.problems.size(), 1u);
  std::string p = Contains(v, "seq 12 was edited");
  EXPECT_NE(p.find(s), std::string::npos) << p;  // names the stream
}

TEST_F(AuditTest, RemovedMiddleRecordIsFound) {
  std::string s = WriteTrail();
  auto lines = SegmentLines(Segment(s, 11));
  lines.erase(lines.begin() + 5);  // seq 15
  Rewrite(Segment(s, 11), lines);
  auto v = Verify();
  EXPECT_FALSE(v.ok);
  Contains(v, "seq 16 found in segment 000000000011.ndjson where seq 15 was expected");
  Contains(v, "holds 9 records but was written with 10");
}

TEST_F(AuditTest, RemovedSegmentIsFound) {
  std::string s = WriteTrail();
  ASSERT_TRUE(store_.Delete(Segment(s, 11)).ok());
  auto v = Verify();
  EXPECT_FALSE(v.ok);
  Contains(v, "seq 11..20 are missing before segment 000000000021.ndjson");
}

TEST_F(AuditTest, RemovedLastSegmentIsFound) {
  std::string s = WriteTrail();
  ASSERT_TRUE(store_.Delete(Segment(s, 21)).ok());
  auto v = Verify();
  EXPECT_FALSE(v.ok);
  Contains(v, "HEAD records seq 25 but its segments end at seq 20");
}

TEST_F(AuditTest, ReorderedRecordsAreFound) {
  std::string s = WriteTrail();
  auto lines = SegmentLines(Segment(s, 1));
  std::swap(lines[3], lines[4]);  // seq 3 and 4
  Rewrite(Segment(s, 1), lines);
  auto v = Verify();
  EXPECT_FALSE(v.ok);
  Contains(v, "seq 4 found in segment 000000000001.ndjson where seq 3 was expected");
}

TEST_F(AuditTest, TruncatedSegmentIsFound) {
  std::string s = WriteTrail();
  // The tail of a middle segment: its header and the next segment's chain link disagree.
  auto mid = SegmentLines(Segment(s, 11));
  mid.resize(mid.size() - 3);
  Rewrite(Segment(s, 11), mid);
  // The tail of the newest segment: its header and the HEAD disagree.
  auto last = SegmentLines(Segment(s, 21));
  last.resize(last.size() - 2);
  Rewrite(Segment(s, 21), last);
  auto v = Verify();
  EXPECT_FALSE(v.ok);
  Contains(v, "segment 000000000011.ndjson holds 7 records but was written with 10");
  Contains(v, "seq 18..20 are missing before segment 000000000021.ndjson");
  Contains(v, "segment 000000000021.ndjson holds 3 records but was written with 5");
  Contains(v, "HEAD records seq 25 but its segments end at seq 23");
}

TEST_F(AuditTest, RemovedHeadIsFound) {
  std::string s = WriteTrail();
  ASSERT_TRUE(store_.Delete(AuditTrailPrefix("org") + s + "/HEAD").ok());
  auto v = Verify();
  EXPECT_FALSE(v.ok);
  Contains(v, "no HEAD object");
}

TEST_F(AuditTest, TwoStreamsWritingAtOnceShareOneTrail) {
  AuditOptions o;
  o.flush_interval_ms = 5;
  o.flush_records = 50;
  auto a = AuditLog::Open(store_, "org", o);
  auto b = AuditLog::Open(store_, "org", o);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE((*a)->stream_id(), (*b)->stream_id());
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    AuditLog* log = (t % 2 ? *a : *b).get();
    threads.emplace_back([log, t] {
      for (int i = 0; i < 500; ++i) log->Append(Rec("user" + std::to_string(t), i));
    });
  }
  for (auto& t : threads) t.join();
  ASSERT_TRUE((*a)->Close().ok());
  ASSERT_TRUE((*b)->Close().ok());
  EXPECT_EQ((*a)->stats().written + (*b)->stats().written, 2000);
  auto v = Verify();
  EXPECT_TRUE(v.ok) << (v.problems.empty() ? "" : v.problems[0]);
  EXPECT_EQ(v.streams, 2);
  EXPECT_EQ(v.records, 2000);
  auto all = ReadAudit(store_, "org", Query("", 0, 5000));
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 2000u);
  for (size_t i = 1; i < all->size(); ++i) {
    EXPECT_LE((*all)[i - 1]["time_micros"], (*all)[i]["time_micros"]);  // newest last
  }
  auto user1 = ReadAudit(store_, "org", Query("user1", 0, 10));
  ASSERT_TRUE(user1.ok());
  ASSERT_EQ(user1->size(), 10u);
  EXPECT_EQ(user1->back()["rows"], 499);  // the newest ten of that user
  for (const auto& r : *user1) EXPECT_EQ(r["principal"], "user1");
}

TEST_F(AuditTest, ReadAuditSince) {
  auto log = AuditLog::Open(store_, "org");
  ASSERT_TRUE(log.ok());
  for (int i = 0; i < 5; ++i) {
    AuditRecord r = Rec("bob", i);
    r.time_micros = 1'000'000 * (i + 1);  // 1 s, 2 s, ... after the epoch
    (*log)->Append(std::move(r));
  }
  ASSERT_TRUE((*log)->Flush().ok());
  auto recent = ReadAudit(store_, "org", Query("", 3'000'000, 1000));
  ASSERT_TRUE(recent.ok());
  ASSERT_EQ(recent->size(), 3u);
  EXPECT_EQ(recent->front()["rows"], 2);
  EXPECT_FALSE(ReadAudit(store_, "org", Query("", 0, 0)).ok());
}

TEST(AuditRedaction, SecretsAtAnyDepthAndAnyCase) {
  json in = {{"sql", "SELECT 1"},
             {"Password", "p"},
             {"nested", {{"deeper", {{"ACCESS_TOKEN", "t"}, {"keep", 1}}}}},
             {"list", json::array({{{"api_key", "k"}}, {{"cookie", {{"a", "b"}}}}})},
             {"tokens", "not a secret key"}};
  json out = RedactSecrets(in);
  EXPECT_EQ(out["sql"], "SELECT 1");
  EXPECT_EQ(out["Password"], "[redacted]");
  EXPECT_EQ(out["nested"]["deeper"]["ACCESS_TOKEN"], "[redacted]");
  EXPECT_EQ(out["nested"]["deeper"]["keep"], 1);
  EXPECT_EQ(out["list"][0]["api_key"], "[redacted]");
  EXPECT_EQ(out["list"][1]["cookie"], "[redacted]");  // a whole object under a secret key
  EXPECT_EQ(out["tokens"], "not a secret key");
}

TEST_F(AuditTest, StoredArgumentsAreRedacted) {
  auto log = AuditLog::Open(store_, "org");
  ASSERT_TRUE(log.ok());
  AuditRecord r = Rec("alice", 1);
  r.arguments = {{"sql", "SELECT 1"}, {"auth", {{"Authorization", "Bearer xyz"}}}};
  (*log)->Append(std::move(r));
  ASSERT_TRUE((*log)->Close().ok());
  auto listed = store_.List(AuditTrailPrefix("org"));
  ASSERT_TRUE(listed.ok());
  for (const auto& o : *listed) {
    auto text = store_.Get(o.key);
    EXPECT_EQ(text->find("xyz"), std::string::npos) << *text;
  }
  auto records = ReadAudit(store_, "org", {});
  ASSERT_EQ(records->size(), 1u);
  EXPECT_EQ((*records)[0]["arguments"]["auth"]["Authorization"], "[redacted]");
  EXPECT_EQ((*records)[0]["arguments"]["sql"], "SELECT 1");
}

TEST_F(AuditTest, CleanShutdownLosesNothing) {
  int64_t appended;
  {
    AuditOptions o;
    o.flush_interval_ms = 3600 * 1000;  // only the shutdown writes
    o.flush_records = 1000;
    auto log = AuditLog::Open(store_, "org", o);
    ASSERT_TRUE(log.ok());
    for (int i = 0; i < 2500; ++i) (*log)->Append(Rec("alice", i));
    appended = (*log)->stats().appended;
  }  // the destructor flushes
  EXPECT_EQ(appended, 2500);
  auto records = ReadAudit(store_, "org", Query("", 0, 10000));
  ASSERT_TRUE(records.ok());
  EXPECT_EQ(records->size(), 2500u);
  EXPECT_TRUE(Verify().ok);
}

TEST_F(AuditTest, InvalidUtf8IsStoredAndVerifies) {
  auto log = AuditLog::Open(store_, "org");
  ASSERT_TRUE(log.ok());
  AuditRecord r = Rec("alice", 1);
  r.error = "bad byte \xff here";
  (*log)->Append(std::move(r));
  ASSERT_TRUE((*log)->Close().ok());
  EXPECT_EQ((*log)->stats().written, 1);
  EXPECT_TRUE(Verify().ok);
}

// A store whose writes wait until released: the store is down or slow.
class GatedStore : public ObjectStore {
 public:
  explicit GatedStore(ObjectStore& inner) : inner_(inner) {}
  void Open() {
    std::lock_guard<std::mutex> l(mu_);
    open_ = true;
    cv_.notify_all();
  }
  Status Put(const std::string& k, const std::string& d) override {
    Wait();
    return inner_.Put(k, d);
  }
  Status PutFile(const std::string& k, const std::string& p) override {
    Wait();
    return inner_.PutFile(k, p);
  }
  Status PutIfAbsent(const std::string& k, const std::string& d) override {
    Wait();
    return inner_.PutIfAbsent(k, d);
  }
  Result<std::string> Get(const std::string& k) override { return inner_.Get(k); }
  Result<std::string> GetRange(const std::string& k, int64_t o, int64_t n) override {
    return inner_.GetRange(k, o, n);
  }
  Result<ObjectInfo> Stat(const std::string& k) override { return inner_.Stat(k); }
  Result<std::vector<ObjectInfo>> List(const std::string& p) override { return inner_.List(p); }
  Status Delete(const std::string& k) override { return inner_.Delete(k); }
  Result<int64_t> RemoveAbandoned(const std::string& p, int64_t b) override {
    return inner_.RemoveAbandoned(p, b);
  }
  std::string Describe() const override { return "gated"; }
  std::string ReadPath(const std::string& k) const override { return inner_.ReadPath(k); }
  std::string ReadRoot() const override { return inner_.ReadRoot(); }
  std::string StagingDir() const override { return inner_.StagingDir(); }

 private:
  void Wait() {
    std::unique_lock<std::mutex> l(mu_);
    cv_.wait(l, [&] { return open_; });
  }
  ObjectStore& inner_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
};

TEST_F(AuditTest, FullQueueDropsAndCountsWithoutBlocking) {
  GatedStore gated(store_);
  AuditOptions o;
  o.flush_interval_ms = 1;
  o.flush_records = 50;
  o.queue_cap = 100;
  auto log = AuditLog::Open(gated, "org", o);
  ASSERT_TRUE(log.ok());
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 10000; ++i) (*log)->Append(Rec("alice", i));
  auto spent = std::chrono::steady_clock::now() - start;
  // The writer is stuck in the store all along; the callers were not.
  EXPECT_LT(spent, std::chrono::seconds(2));
  auto st = (*log)->stats();
  EXPECT_EQ(st.appended + st.dropped, 10000);
  // At most the queue plus the one batch the stuck writer took.
  EXPECT_LE(st.appended, 150);
  EXPECT_GE(st.dropped, 9850);
  EXPECT_EQ(st.written, 0);
  gated.Open();
  ASSERT_TRUE((*log)->Close().ok());
  st = (*log)->stats();
  EXPECT_EQ(st.written, st.appended);
  EXPECT_TRUE(Verify().ok);
}

TEST(AuditOptions, FromEnvironment) {
  {
    testing::ScopedEnv env({{"SUPERTABLE_AUDIT", std::string("0")}});
    auto o = AuditOptionsFromEnvironment();
    ASSERT_TRUE(o.ok());
    EXPECT_FALSE(o->has_value());
  }
  {
    testing::ScopedEnv env({{"SUPERTABLE_AUDIT", "on"}, {"SUPERTABLE_AUDIT_FLUSH_MS", "250"}});
    auto o = AuditOptionsFromEnvironment();
    ASSERT_TRUE(o.ok());
    ASSERT_TRUE(o->has_value());
    EXPECT_EQ((*o)->flush_interval_ms, 250);
  }
  {
    testing::ScopedEnv env({{"SUPERTABLE_AUDIT", std::string("maybe")}});
    auto o = AuditOptionsFromEnvironment();
    ASSERT_FALSE(o.ok());
    EXPECT_NE(o.status().message().find("SUPERTABLE_AUDIT"), std::string::npos);
  }
}

}  // namespace
}  // namespace supertable::security
