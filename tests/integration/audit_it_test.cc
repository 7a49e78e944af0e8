// system.audit through Warehouse::Query (the engine worker reading the pinned NDJSON segments),
// and the `supertable audit` commands through the built binary.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "engine/result_format.h"
#include "security/audit.h"
#include "support/test_support.h"
#include "table/system_tables.h"

namespace supertable {
namespace {

using nlohmann::json;

class CollectRows : public ResultSink {
 public:
  std::vector<Column> columns;
  std::vector<std::vector<std::string>> rows;
  void Begin(const std::vector<Column>& c) override { columns = c; }
  void Row(const std::vector<json>& cells) override {
    std::vector<std::string> r;
    for (const auto& c : cells) r.push_back(CellText(c, "NULL"));
    rows.push_back(std::move(r));
  }
  void End(bool) override {}
};

class AuditQueryTest : public testing::WarehouseTest {
 protected:
  void WriteRecords(int n) {
    auto log = security::AuditLog::Open(wh_->store(), wh_->config().organization);
    ASSERT_TRUE(log.ok()) << log.status().message();
    stream_ = (*log)->stream_id();
    for (int i = 1; i <= n; ++i) {
      security::AuditRecord r;
      r.time_micros = 1'700'000'000'000'000 + i;  // 2023-11-14T22:13:20.000001Z ...
      r.kind = "tool_call";
      r.principal = i % 2 ? "alice" : "bob";
      r.auth = "jwt";
      r.client = std::make_shared<const nlohmann::json>(
          nlohmann::json{{"name", "claude"}, {"transport", "http"}});
      r.action = "tools/call:query_sql";
      r.arguments = {{"sql", "SELECT 1"}, {"token", "secret"}};
      r.tables = {"s.t", "s.u"};
      r.outcome = "ok";
      r.rows = i;
      r.duration_micros = 2500;
      (*log)->Append(std::move(r));
    }
    ASSERT_TRUE((*log)->Close().ok());
  }
  Result<QueryStats> Run(const std::string& sql, bool admin, CollectRows* sink,
                         const std::string& super_name = "s") {
    QueryRequest req{super_name, sql};
    FixedAccessPolicy reader;  // reads tables, administers nothing
    for (const char* t : {"s.t", "system.audit", "system.events"}) reader.tables[t] = TablePolicy{};
    if (!admin) req.policy = &reader;
    return wh_->Query(req, *sink);
  }
  std::string stream_;
};

TEST_F(AuditQueryTest, AdministratorsQuerySystemAudit) {
  Ingest("t", "a\n1\n");
  WriteRecords(3);
  CollectRows sink;
  auto r =
      Run("SELECT time, stream, seq, principal, auth, client->>'name', action, "
          "arguments->>'token', tables[2], outcome, rows, duration_ms, length(hash), "
          "length(prev) FROM system.audit ORDER BY seq",
          true, &sink);
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(sink.rows.size(), 3u);
  EXPECT_EQ(sink.columns[0].type, "TIMESTAMP WITH TIME ZONE");
  EXPECT_EQ(sink.columns[2].type, "BIGINT");
  EXPECT_EQ(sink.columns[11].type, "DOUBLE");
  const auto& row = sink.rows[1];
  EXPECT_EQ(row[0].substr(0, 26), "2023-11-14T22:13:20.000002") << row[0];
  EXPECT_EQ(row[1], stream_);
  EXPECT_EQ(row[2], "2");
  EXPECT_EQ(row[3], "bob");
  EXPECT_EQ(row[4], "jwt");
  EXPECT_EQ(row[5], "claude");
  EXPECT_EQ(row[6], "tools/call:query_sql");
  EXPECT_EQ(row[7], "[redacted]");
  EXPECT_EQ(row[8], "s.u");
  EXPECT_EQ(row[9], "ok");
  EXPECT_EQ(row[10], "2");
  EXPECT_EQ(row[11], "2.5");
  EXPECT_EQ(row[12], "64");
  EXPECT_EQ(row[13], "64");

  CollectRows described;
  ASSERT_TRUE(Run("DESCRIBE SELECT * FROM system.audit", true, &described).ok());
  std::string names;
  for (const auto& d : described.rows) names += d[0] + " ";
  EXPECT_EQ(names,
            "time stream seq kind principal auth client action arguments tables columns policies "
            "outcome error rows bytes duration_ms trace prev hash ");

  // Joins with the warehouse's own tables work as with any table.
  CollectRows joined;
  ASSERT_TRUE(Run("SELECT count(*) FROM system.audit JOIN t ON a = seq", true, &joined).ok());
  EXPECT_EQ(joined.rows[0][0], "1");
}

TEST_F(AuditQueryTest, EmptyTrailIsAnEmptyTable) {
  Ingest("t", "a\n1\n");
  CollectRows sink;
  auto r = Run("SELECT count(*), max(seq) FROM system.audit", true, &sink);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(sink.rows[0][0], "0");
  EXPECT_EQ(sink.rows[0][1], "NULL");
}

TEST_F(AuditQueryTest, OthersSeeAnUnknownTable) {
  Ingest("t", "a\n1\n");
  WriteRecords(2);
  CollectRows sink;
  auto audit = Run("SELECT * FROM system.audit", false, &sink);
  ASSERT_FALSE(audit.ok());
  auto other = Run("SELECT * FROM system.audix", false, &sink);
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(audit.status().code(), other.status().code());
  std::string expected = other.status().message();
  if (size_t at = expected.find("audix"); at != std::string::npos) expected.replace(at, 5, "audit");
  EXPECT_EQ(audit.status().message(), expected);
  EXPECT_NE(expected.find("system"), std::string::npos) << expected;
  // AT clauses make no sense on an append-only log.
  auto at = Run("SELECT * FROM system.audit AT (VERSION => 1)", true, &sink);
  ASSERT_FALSE(at.ok());
  EXPECT_NE(at.status().message().find("no versions"), std::string::npos) << at.status().message();
}

TEST_F(AuditQueryTest, UserSuperNamedSystemKeepsItsTables) {
  Ingest("t", "a\n1\n");
  Ingest("events", "e\n7\n", WriteMode::kAppend, {}, std::nullopt, "system");
  Ingest("audit", "x\n42\n", WriteMode::kAppend, {}, std::nullopt, "system");
  WriteRecords(1);
  CollectRows events, mine, admin, unqualified;
  ASSERT_TRUE(Run("SELECT e FROM system.events", true, &events).ok());
  EXPECT_EQ(events.rows[0][0], "7");
  // Without the administrator's flag, system.audit is the user's table, as before.
  ASSERT_TRUE(Run("SELECT x FROM system.audit", false, &mine).ok());
  EXPECT_EQ(mine.rows[0][0], "42");
  // With it, the qualified name is the trail; the unqualified one stays the user's.
  ASSERT_TRUE(Run("SELECT seq FROM system.audit", true, &admin).ok());
  EXPECT_EQ(admin.rows[0][0], "1");
  ASSERT_TRUE(Run("SELECT x FROM audit", true, &unqualified, "system").ok());
  EXPECT_EQ(unqualified.rows[0][0], "42");
}

TEST_F(AuditQueryTest, QueryPinsTheSegmentsPresentAtResolution) {
  Ingest("t", "a\n1\n");
  WriteRecords(2);
  WriteRecords(3);  // a second stream
  CollectRows sink;
  ASSERT_TRUE(Run("SELECT count(DISTINCT stream), count(*) FROM system.audit", true, &sink).ok());
  EXPECT_EQ(sink.rows[0][0], "2");
  EXPECT_EQ(sink.rows[0][1], "5");
}

TEST_F(AuditQueryTest, CliAuditAndVerify) {
  Ingest("t", "a\n1\n");
  WriteRecords(4);
  const std::string home = wh_->config().home;
  const std::string org = wh_->config().organization;
  auto cli = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {"--org", org});
    return testing::RunCli(args, home);
  };
  auto list = cli({"audit", "--format", "json"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  json records = json::parse(list.out);
  ASSERT_EQ(records.size(), 4u);
  EXPECT_EQ(records[3]["seq"], 4);
  auto bob = cli({"audit", "--user", "bob", "--limit", "1", "--format", "json"});
  ASSERT_EQ(bob.exit_code, 0) << bob.err;
  json b = json::parse(bob.out);
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(b[0]["seq"], 4);
  auto table = cli({"audit", "--since", "2023-11-14T00:00:00Z"});
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_NE(table.out.find("tools/call:query_sql"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("alice"), std::string::npos) << table.out;
  auto none = cli({"audit", "--since", "1h", "--format", "json"});
  ASSERT_EQ(none.exit_code, 0) << none.err;
  EXPECT_EQ(json::parse(none.out).size(), 0u);  // the records are from 2023
  auto bad = cli({"audit", "--since", "yesterday"});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_EQ(bad.err.rfind("error: invalid --since 'yesterday'", 0), 0u) << bad.err;

  auto q = cli({"query", "s", "SELECT count(*) FROM system.audit WHERE principal = 'alice'"});
  ASSERT_EQ(q.exit_code, 0) << q.err;
  EXPECT_NE(q.out.find("2"), std::string::npos) << q.out;

  auto ok = cli({"audit", "verify"});
  ASSERT_EQ(ok.exit_code, 0) << ok.err << ok.out;
  EXPECT_NE(ok.out.find("1 stream(s), 1 segment(s), 4 record(s): OK"), std::string::npos) << ok.out;

  // Tamper: edit seq 3's principal.
  const std::string key =
      AuditTrailPrefix(wh_->config().organization) + stream_ + "/000000000001.ndjson";
  auto text = wh_->store().Get(key);
  ASSERT_TRUE(text.ok());
  // Keys are sorted: the principal comes before the seq on the record's line.
  size_t line = text->rfind('\n', text->find("\"seq\":3,"));
  size_t at = text->find("\"principal\":\"alice\"", line);
  ASSERT_NE(at, std::string::npos);
  std::string edited = *text;
  edited.replace(at, 19, "\"principal\":\"carol\"");
  ASSERT_TRUE(wh_->store().Put(key, edited).ok());
  auto damaged = cli({"audit", "verify"});
  EXPECT_EQ(damaged.exit_code, 1);
  EXPECT_NE(damaged.out.find("problem: stream " + stream_ + ": seq 3 was edited"),
            std::string::npos)
      << damaged.out;
  EXPECT_NE(damaged.out.find("DAMAGED"), std::string::npos);
  EXPECT_EQ(damaged.err.rfind("error: the audit trail failed verification: ", 0), 0u)
      << damaged.err;

  auto help = cli({"audit", "verify", "--help"});
  EXPECT_EQ(help.exit_code, 0);
}

}  // namespace
}  // namespace supertable
