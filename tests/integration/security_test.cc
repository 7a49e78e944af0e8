// Teams and security end to end inside one process: users, roles and tokens in the catalog
// (SQLite and Redis), and one policy on every MCP path a reader could use to see what a role
// hides: tools, resources, prompts, completions, suggestions, error text, time travel, the cache.
#include <thread>

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "catalog/redis_catalog.h"
#include "catalog/sqlite_catalog.h"
#include "common/ids.h"
#include "engine/engine.h"
#include "mcp/server.h"
#include "security/audit.h"
#include "security/authenticator.h"
#include "security/directory.h"
#include "support/test_support.h"
#include "tools/warehouse_tools.h"

namespace supertable {
namespace {

using nlohmann::json;
using security::Authenticator;
using security::AuthSettings;
using security::Directory;
using security::Role;
using security::RoleType;

class Security : public testing::WarehouseTest {
 protected:
  void SetUp() override {
    WarehouseTest::SetUp();
    Ingest("orders",
           "id,customer,region,amount,card\n1,ann,EU,10,4111-2222-3333-4444\n2,bob,US,20,"
           "5500-6666-7777-8888\n3,ann,EU,5,4000-1111-2222-3333\n4,cy,US,7,3700-0000-1111-2222\n");
    Ingest("salaries", "name,salary\nann,100\nbob,200\n");
    Ingest("events", "id,kind\n1,click\n", WriteMode::kAppend, {}, std::nullopt, "hr");
    dir_ = std::make_unique<Directory>(wh_->catalog(), wh_->config().organization, wh_->engine());
    auth_ = std::make_unique<Authenticator>(*dir_, AuthSettings{});
    McpToolOptions o;
    o.authenticator = auth_.get();
    o.cache_ttl_ms = 60000;  // the cache must keep callers apart
    server_ = MakeWarehouseMcpServer(*wh_, o);

    Role analyst;
    analyst.name = "eu_analyst";
    analyst.type = RoleType::kReader;
    analyst.tables = {"s.orders"};
    analyst.columns["s.orders"] = {"id", "customer", "region", "amount", "card"};
    analyst.row_filters["s.orders"] = "region = 'EU' OR customer = current_user()";
    analyst.masks["s.orders"]["card"] = {ColumnMask::Kind::kPartial, ""};
    analyst.masks["s.orders"]["customer"] = {ColumnMask::Kind::kHash, ""};
    ASSERT_TRUE(dir_->AddRole(analyst).ok());
    Role meta;
    meta.name = "catalog";
    meta.type = RoleType::kMeta;
    meta.tables = {"s.*"};
    ASSERT_TRUE(dir_->AddRole(meta).ok());
    ASSERT_TRUE(dir_->AddUser("cy", "cy@example.com", {"eu_analyst"}).ok());
    ASSERT_TRUE(dir_->AddUser("mo", "", {"catalog"}).ok());
    ASSERT_TRUE(dir_->AddUser("nobody", "", {}).ok());
  }

  // An initialized MCP session acting as `user` (or the superuser with "").
  std::unique_ptr<mcp::Session> SessionAs(const std::string& user) {
    auto s = std::make_unique<mcp::Session>([](const json&, const json&) {});
    if (user.empty()) {
      s->identity = auth_->LocalAdministrator();
    } else {
      auto p = auth_->ForUser(user, "token");
      EXPECT_TRUE(p.ok()) << p.status().message();
      s->identity = *p;
    }
    Request(*s, "initialize", {{"protocolVersion", "2025-11-25"}});
    return s;
  }
  json Request(mcp::Session& s, const std::string& method, json params) {
    mcp::Message m;
    m.id = ++id_;
    m.method = method;
    m.params = std::move(params);
    auto reply = server_->Handle(s, m);
    return reply ? *reply : json();
  }
  // The result of a tool call (structuredContent, or {"error": text} for a tool error).
  json Call(mcp::Session& s, const std::string& tool, json args) {
    json r = Request(s, "tools/call", {{"name", tool}, {"arguments", std::move(args)}})["result"];
    if (r.value("isError", false)) {
      std::string text = r["content"][0]["text"].get<std::string>();
      json parsed = json::parse(text, nullptr, false);
      return {{"error", parsed.is_object() ? parsed.value("error", text) : text}};
    }
    return r["structuredContent"];
  }

  std::unique_ptr<Directory> dir_;
  std::unique_ptr<Authenticator> auth_;
  std::unique_ptr<mcp::Server> server_;
  int id_ = 0;
};

TEST_F(Security, TokensAreShownOnceStoredAsHashesAndRefusedWhenNoLongerValid) {
  auto issued = dir_->CreateToken("cy", "laptop", {security::kScopeRead}, 0);
  ASSERT_TRUE(issued.ok()) << issued.status().message();
  EXPECT_TRUE(security::LooksLikeSuperTableToken(issued->token));
  // Only the hash is in the catalog.
  auto docs = wh_->catalog().ListDocuments(wh_->config().organization, "token");
  ASSERT_TRUE(docs.ok());
  ASSERT_EQ(docs->size(), 1u);
  EXPECT_EQ((*docs)[0].second.find(issued->token.substr(20)), std::string::npos);
  auto p = auth_->FromBearer(issued->token);
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_EQ((*p)->user, "cy");
  EXPECT_EQ((*p)->auth, "token");
  ASSERT_TRUE((*p)->scopes);
  // Its use is recorded: the token's last use and its owner's last sighting.
  auto cy = dir_->GetUser("cy");
  ASSERT_TRUE(cy.ok());
  EXPECT_GT(cy->last_seen_micros, 0);
  auto listed = dir_->ListTokens("cy");
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_GT((*listed)[0].last_used_micros, 0);
  // Tampered: one character of the secret changed.
  std::string tampered = issued->token;
  tampered.back() = tampered.back() == 'a' ? 'b' : 'a';
  EXPECT_EQ(auth_->FromBearer(tampered).status().code(), StatusCode::kUnauthenticated);
  EXPECT_FALSE(auth_->FromBearer("st_" + std::string(16, '0') + "_" + std::string(64, '0')).ok());
  // Disabled owner, then enabled again, then revoked.
  ASSERT_TRUE(dir_->SetUserEnabled("cy", false).ok());
  EXPECT_FALSE(auth_->FromBearer(issued->token).ok());
  ASSERT_TRUE(dir_->SetUserEnabled("cy", true).ok());
  EXPECT_TRUE(auth_->FromBearer(issued->token).ok());
  ASSERT_TRUE(dir_->RevokeToken(issued->record.id).ok());
  auto revoked = auth_->FromBearer(issued->token);
  ASSERT_FALSE(revoked.ok());
  EXPECT_NE(revoked.status().message().find("revoked"), std::string::npos);
  // Expired.
  auto old = dir_->CreateToken("cy", "old", {}, NowMicros() - 1);
  ASSERT_TRUE(old.ok());
  auto expired = auth_->FromBearer(old->token);
  ASSERT_FALSE(expired.ok());
  EXPECT_NE(expired.status().message().find("expired"), std::string::npos);
  // Expiring while it is in use: the verified token is remembered, its expiry still checked.
  auto brief = dir_->CreateToken("cy", "brief", {}, NowMicros() + 300 * 1000);
  ASSERT_TRUE(brief.ok());
  ASSERT_TRUE(auth_->FromBearer(brief->token).ok());
  ASSERT_TRUE(auth_->FromBearer(brief->token).ok());
  // A remembered token does not vouch for another secret under its id.
  std::string forged = brief->token;
  forged.back() = forged.back() == 'a' ? 'b' : 'a';
  EXPECT_EQ(auth_->FromBearer(forged).status().code(), StatusCode::kUnauthenticated);
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  auto lapsed = auth_->FromBearer(brief->token);
  ASSERT_FALSE(lapsed.ok());
  EXPECT_NE(lapsed.status().message().find("expired"), std::string::npos);
  // Unknown scope, unknown owner.
  EXPECT_FALSE(dir_->CreateToken("cy", "x", {"tables:all"}, 0).ok());
  EXPECT_FALSE(dir_->CreateToken("zed", "x", {}, 0).ok());
  // Removing a user revokes their tokens.
  auto mo = dir_->CreateToken("mo", "", {}, 0);
  ASSERT_TRUE(mo.ok());
  ASSERT_TRUE(dir_->RemoveUser("mo").ok());
  EXPECT_FALSE(auth_->FromBearer(mo->token).ok());
}

TEST_F(Security, RolesAreValidatedBeforeTheyAreStored) {
  Role r;
  r.name = "bad";
  r.type = RoleType::kReader;
  r.tables = {"s.orders"};
  r.row_filters["s.orders"] = "amount > (SELECT max(salary) FROM salaries)";
  Status sub = dir_->AddRole(r);
  EXPECT_NE(sub.message().find("subquery"), std::string::npos) << sub.message();
  r.row_filters = {{"s.other", "true"}};
  EXPECT_NE(dir_->AddRole(r).message().find("does not grant"), std::string::npos);
  r.row_filters.clear();
  r.tables = {"s.orders.x"};
  EXPECT_FALSE(dir_->AddRole(r).ok());
  EXPECT_FALSE(security::ParseMask("sha1").ok());
  EXPECT_EQ(security::MaskText(*security::ParseMask("'it''s'")), "'it''s'");
  EXPECT_EQ(dir_->AddUser("x y", "", {}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(dir_->AddUser("cy", "", {}).status().code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(dir_->AddUser("z", "", {"no_such_role"}).status().code(), StatusCode::kNotFound);
  EXPECT_FALSE(dir_->RemoveRole("eu_analyst").ok());  // cy still holds it
}

TEST_F(Security, EveryToolShowsAReaderOnlyWhatItsRolesAllow) {
  auto cy = SessionAs("cy");
  // Discovery: only what is granted exists.
  json supers = Call(*cy, "list_supers", json::object());
  ASSERT_EQ(supers["supers"].size(), 1u) << supers.dump();
  EXPECT_EQ(supers["supers"][0]["name"], "s");
  EXPECT_EQ(supers["supers"][0]["tables"], 1);
  json tables = Call(*cy, "list_tables", {{"super", "s"}});
  ASSERT_EQ(tables["tables"].size(), 1u);
  EXPECT_TRUE(tables["tables"][0]["rows"].is_null());  // a row filter withholds counts
  json missing = Call(*cy, "describe_table", {{"super", "s"}, {"table", "salaries"}});
  json unknown = Call(*cy, "describe_table", {{"super", "s"}, {"table", "nothere"}});
  EXPECT_EQ(missing["error"], "unknown table 'salaries' in super table 's'");
  EXPECT_EQ(unknown["error"], "unknown table 'nothere' in super table 's'");
  // Did-you-mean suggests only what the caller may see.
  json near = Call(*cy, "describe_table", {{"super", "s"}, {"table", "salarie"}});
  EXPECT_EQ(near["error"].get<std::string>().find("salaries"), std::string::npos) << near;
  json other_super = Call(*cy, "list_tables", {{"super", "hr"}});
  EXPECT_NE(other_super["error"].get<std::string>().find("unknown super table 'hr'"),
            std::string::npos);
  json d = Call(*cy, "describe_table", {{"super", "s"}, {"table", "orders"}});
  ASSERT_EQ(d["columns"].size(), 5u) << d.dump();
  for (const auto& c : d["columns"]) {
    EXPECT_TRUE(c["min"].is_null() && c["max"].is_null() && c["null_count"].is_null()) << c;
  }
  EXPECT_TRUE(d["rows"].is_null());
  json stats = Call(*cy, "get_table_stats", {{"super", "s"}, {"table", "orders"}});
  EXPECT_TRUE(stats["rows"].is_null() && stats["bytes"].is_null()) << stats;
  json meta = Call(*cy, "get_super_meta", {{"super", "s"}});
  EXPECT_EQ(meta["table_count"], 1);
  EXPECT_TRUE(meta["rows"].is_null());
  json history = Call(*cy, "get_table_history", {{"super", "s"}, {"table", "orders"}});
  EXPECT_TRUE(history["versions"][0]["summary"].empty()) << history;
  json search = Call(*cy, "search_columns", {{"pattern", "sal*"}});
  EXPECT_EQ(search["count"], 0);
  json fresh = Call(*cy, "data_freshness", {{"super", "s"}});
  EXPECT_EQ(fresh["tables"].size(), 1u);

  // Rows: EU rows and cy's own; customer hashed, card partial.
  json rows = Call(*cy, "query_sql",
                   {{"super", "s"}, {"sql", "SELECT id, region, card FROM orders ORDER BY id"}});
  ASSERT_EQ(rows["rows"].size(), 3u) << rows.dump();
  EXPECT_EQ(rows["rows"][0], json({1, "EU", "***************4444"}));
  EXPECT_EQ(rows["rows"][2][0], 4);  // cy's own US row, through current_user()
  std::string all =
      Call(*cy, "query_sql", {{"super", "s"}, {"sql", "SELECT * FROM orders"}}).dump();
  for (const char* secret : {"4111-2222", "5500", "\"ann\"", "\"bob\""}) {
    EXPECT_EQ(all.find(secret), std::string::npos) << secret << " in " << all;
  }
  for (const std::string& sql : {
           std::string("SELECT * FROM salaries"),
           std::string("SELECT * FROM s.salaries"),
           std::string("SELECT * FROM orders o JOIN salaries s ON o.id = s.salary"),
           std::string("WITH x AS (SELECT * FROM salaries) SELECT * FROM x"),
           std::string("SELECT * FROM orders UNION ALL SELECT name, salary, 1, 1, 1 FROM salaries"),
           std::string("SELECT * FROM hr.events"),
       }) {
    json r = Call(*cy, "query_sql", {{"super", "s"}, {"sql", sql}});
    ASSERT_TRUE(r.contains("error")) << sql;
    EXPECT_NE(r["error"].get<std::string>().find("unknown table"), std::string::npos)
        << sql << ": " << r;
  }
  json bob = Call(*cy, "query_sql",
                  {{"super", "s"}, {"sql", "SELECT count(*) FROM orders WHERE region = 'US'"}});
  EXPECT_EQ(bob["rows"][0][0], 1);  // only cy's own US row, never bob's
  json sample = Call(*cy, "sample_data", {{"super", "s"}, {"table", "orders"}, {"limit", 100}});
  EXPECT_EQ(sample["rows"].size(), 3u);
  json profile =
      Call(*cy, "profile_column", {{"super", "s"}, {"table", "orders"}, {"column", "card"}});
  EXPECT_EQ(profile["rows"], 3);
  EXPECT_EQ(profile.dump().find("4111-"), std::string::npos) << profile;
  json explain = Call(*cy, "explain_sql", {{"super", "s"}, {"sql", "SELECT * FROM orders"}});
  ASSERT_TRUE(explain.contains("error"));
  EXPECT_EQ(explain["error"].get<std::string>().find("region"), std::string::npos);
  json valid = Call(*cy, "validate_sql", {{"super", "s"}, {"sql", "SELECT * FROM salaries"}});
  EXPECT_EQ(valid["valid"], false);
  json fine = Call(*cy, "validate_sql", {{"super", "s"}, {"sql", "SELECT id, card FROM orders"}});
  EXPECT_EQ(fine["valid"], true) << fine;  // validated under the policy, with no EXPLAIN
  EXPECT_EQ(fine["columns"].size(), 2u);
  json hidden_col =
      Call(*cy, "validate_sql", {{"super", "s"}, {"sql", "SELECT amount, secret FROM orders"}});
  EXPECT_EQ(hidden_col["valid"], false);
  // Time travel keeps the policy.
  Ingest("orders", "id,customer,region,amount,card\n5,dan,US,1,1111-1111-1111-1111\n");
  json v1 = Call(*cy, "query_sql",
                 {{"super", "s"}, {"sql", "SELECT count(*) FROM orders"}, {"as_of", 1}});
  EXPECT_EQ(v1["rows"][0][0], 3);

  // The superuser sees everything, and the cache does not hand its answers to cy.
  auto admin = SessionAs("");
  json full = Call(*admin, "query_sql", {{"super", "s"}, {"sql", "SELECT count(*) FROM orders"}});
  EXPECT_EQ(full["rows"][0][0], 5);
  json again = Call(*cy, "query_sql", {{"super", "s"}, {"sql", "SELECT count(*) FROM orders"}});
  EXPECT_EQ(again["rows"][0][0], 3);
  json who = Call(*cy, "whoami", json::object());
  EXPECT_EQ(who["user"], "cy");
  EXPECT_EQ(who["superuser"], false);
}

TEST_F(Security, ResourcesPromptsAndCompletionsApplyThePolicyToo) {
  auto cy = SessionAs("cy");
  json list = Request(*cy, "resources/list", json::object())["result"]["resources"];
  ASSERT_EQ(list.size(), 1u) << list;
  EXPECT_EQ(list[0]["uri"], "supertable://s/orders");
  json hidden = Request(*cy, "resources/read", {{"uri", "supertable://s/salaries"}});
  json absent = Request(*cy, "resources/read", {{"uri", "supertable://s/nothere"}});
  ASSERT_TRUE(hidden.contains("error"));
  EXPECT_EQ(hidden["error"]["code"], absent["error"]["code"]);
  EXPECT_NE(hidden["error"]["message"].get<std::string>().find("unknown table 'salaries'"),
            std::string::npos);
  json sub = Request(*cy, "resources/subscribe", {{"uri", "supertable://s/salaries"}});
  EXPECT_TRUE(sub.contains("error"));
  json completion =
      Request(*cy, "completion/complete",
              {{"ref", {{"type", "ref/resource"}, {"uri", "supertable://{super}/{table}"}}},
               {"argument", {{"name", "table"}, {"value", ""}}},
               {"context", {{"arguments", {{"super", "s"}}}}}});
  EXPECT_EQ(completion["result"]["completion"]["values"], json({"orders"})) << completion;
  json supers = Request(*cy, "completion/complete",
                        {{"ref", {{"type", "ref/prompt"}, {"name", "explore_table"}}},
                         {"argument", {{"name", "super"}, {"value", ""}}}});
  EXPECT_EQ(supers["result"]["completion"]["values"], json({"s"}));
  json prompt =
      Request(*cy, "prompts/get",
              {{"name", "explore_table"}, {"arguments", {{"super", "s"}, {"table", "salaries"}}}});
  ASSERT_TRUE(prompt.contains("error")) << prompt;
  EXPECT_NE(prompt["error"]["message"].get<std::string>().find("unknown table"), std::string::npos);
  json ok =
      Request(*cy, "prompts/get",
              {{"name", "explore_table"}, {"arguments", {{"super", "s"}, {"table", "orders"}}}});
  EXPECT_TRUE(ok.contains("result")) << ok;
}

TEST_F(Security, MetaSeesStructureNeverValuesAndNoRolesSeeNothing) {
  auto mo = SessionAs("mo");
  json tables = Call(*mo, "list_tables", {{"super", "s"}});
  EXPECT_EQ(tables["tables"].size(), 2u);
  json d = Call(*mo, "describe_table", {{"super", "s"}, {"table", "salaries"}});
  EXPECT_EQ(d["access"], "structure only");
  for (const auto& c : d["columns"]) EXPECT_TRUE(c["min"].is_null() && c["max"].is_null()) << c;
  json q = Call(*mo, "query_sql", {{"super", "s"}, {"sql", "SELECT * FROM salaries"}});
  ASSERT_TRUE(q.contains("error"));
  EXPECT_NE(q["error"].get<std::string>().find("not its rows"), std::string::npos) << q;
  json p =
      Call(*mo, "profile_column", {{"super", "s"}, {"table", "salaries"}, {"column", "salary"}});
  EXPECT_TRUE(p.contains("error"));
  json sample = Call(*mo, "sample_data", {{"super", "s"}, {"table", "salaries"}});
  EXPECT_TRUE(sample.contains("error"));

  auto nobody = SessionAs("nobody");
  EXPECT_EQ(Call(*nobody, "list_supers", json::object())["supers"].size(), 0u);
  json none = Call(*nobody, "query_sql", {{"super", "s"}, {"sql", "SELECT 1"}});
  EXPECT_NE(none["error"].get<std::string>().find("unknown super table 's'"), std::string::npos);
  EXPECT_EQ(Request(*nobody, "resources/list", json::object())["result"]["resources"].size(), 0u);
}

TEST_F(Security, TheOriginalArgumentsOnlyNarrow) {
  auto cy = SessionAs("cy");
  auto cy_user = dir_->GetUser("cy");
  auto nobody = dir_->GetUser("nobody");
  ASSERT_TRUE(cy_user.ok() && nobody.ok());
  // Another user's hash does not widen (nor switch) anything.
  json other = Call(*cy, "list_supers", {{"user_hash", nobody->user_hash}});
  EXPECT_TRUE(other.contains("error"));
  json mine = Call(*cy, "list_tables", {{"super_name", "s"}, {"user_hash", cy_user->user_hash}});
  EXPECT_EQ(mine["tables"].size(), 1u) << mine;
  json org = Call(*cy, "list_supers", {{"organization", "elsewhere"}});
  EXPECT_NE(org["error"].get<std::string>().find("unknown organization"), std::string::npos);
  // The superuser narrowed to cy by cy's hash sees what cy sees.
  auto admin = SessionAs("");
  json narrowed = Call(*admin, "query_sql",
                       {{"super_name", "s"},
                        {"sql", "SELECT count(*) FROM orders"},
                        {"user_hash", cy_user->user_hash},
                        {"query_timeout_sec", 30}});
  EXPECT_EQ(narrowed["rows"][0][0], 3) << narrowed;
  // A request with no principal is refused, whatever its arguments say.
  mcp::Session anonymous([](const json&, const json&) {});
  Request(anonymous, "initialize", {{"protocolVersion", "2025-11-25"}});
  json refused = Call(anonymous, "list_supers", {{"user_hash", cy_user->user_hash}});
  EXPECT_TRUE(refused.contains("error"));
}

TEST(SecurityOnRedis, TwoReplicasShareUsersRolesAndRevocations) {
  testing::RedisServer redis;
  auto open = [&] {
    auto c = ParseRedisUrl(redis.url(2));
    EXPECT_TRUE(c.ok());
    auto cat = RedisCatalog::Open(*c);
    EXPECT_TRUE(cat.ok()) << cat.status().message();
    return std::move(*cat);
  };
  auto a = open(), b = open();
  auto engine = OpenDuckEngine(EngineOptions{});  // checks row filters (none here)
  ASSERT_TRUE(engine.ok()) << engine.status().message();
  Directory da(*a, "org", **engine), db(*b, "org", **engine);
  Role reader;
  reader.name = "r";
  reader.type = RoleType::kReader;
  reader.tables = {"*"};
  ASSERT_TRUE(da.AddRole(reader).ok());
  ASSERT_TRUE(da.AddUser("ann", "", {"r"}).ok());
  auto issued = da.CreateToken("ann", "", {}, 0);
  ASSERT_TRUE(issued.ok());
  Authenticator ab(db, AuthSettings{});
  auto p = ab.FromBearer(issued->token);
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_EQ((*p)->roles.size(), 1u);
  // A revocation on one replica is seen by the next request on the other.
  ASSERT_TRUE(da.RevokeToken(issued->record.id).ok());
  EXPECT_FALSE(ab.FromBearer(issued->token).ok());
  ASSERT_TRUE(db.Revoke("r", "ann").ok());
  auto state = da.Current();
  ASSERT_TRUE(state.ok());
  EXPECT_TRUE((*state)->users.at("ann").roles.empty());
  // Both replicas see one salt, so a hashed value is the same everywhere.
  EXPECT_EQ((*da.Current())->mask_salt, (*db.Current())->mask_salt);
}

}  // namespace
}  // namespace supertable

namespace supertable {
namespace {

// The administrator's CLI: every change lands in the audit trail; tokens print once, on stdout
// alone; every tool call through `supertable mcp` is audited with what it read.
TEST(SecurityCli, ChangesAreAuditedAndTokensPrintedOnce) {
  testing::TempDir home;
  std::string csv = home.Write("o.csv", "id,region\n1,EU\n2,US\n");
  ASSERT_EQ(testing::RunCli({"ingest", "s", "orders", csv}, home.path()).exit_code, 0);
  auto role =
      testing::RunCli({"role", "add", "eu", "--type", "reader", "--tables", "s.orders",
                       "--row-filter", "s.orders=region = 'EU'", "--mask", "s.orders.id=null"},
                      home.path());
  ASSERT_EQ(role.exit_code, 0) << role.err;
  auto bad = testing::RunCli({"role", "add", "x", "--type", "reader", "--tables", "s.orders",
                              "--row-filter", "s.orders=id IN (SELECT 1)"},
                             home.path());
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("subquery"), std::string::npos) << bad.err;
  ASSERT_EQ(testing::RunCli({"user", "add", "ann", "--role", "eu"}, home.path()).exit_code, 0);
  auto token =
      testing::RunCli({"token", "create", "ann", "--name", "t", "--expires", "1d"}, home.path());
  ASSERT_EQ(token.exit_code, 0) << token.err;
  std::string secret = token.out.substr(0, token.out.find('\n'));
  EXPECT_TRUE(security::LooksLikeSuperTableToken(secret)) << token.out;
  EXPECT_EQ(token.out, secret + "\n");                   // nothing else on stdout
  EXPECT_EQ(token.err.find(secret), std::string::npos);  // and never on stderr
  auto list = testing::RunCli({"token", "list", "--format", "json"}, home.path());
  EXPECT_EQ(list.out.find(secret.substr(20)), std::string::npos);
  auto audit = testing::RunCli({"audit", "--format", "json"}, home.path());
  ASSERT_EQ(audit.exit_code, 0) << audit.err;
  for (const char* action : {"role add", "user add", "token create"}) {
    EXPECT_NE(audit.out.find(std::string("\"") + action + "\""), std::string::npos)
        << action << " in " << audit.out;
  }
  EXPECT_EQ(audit.out.find(secret), std::string::npos);
  EXPECT_EQ(testing::RunCli({"audit", "verify"}, home.path()).exit_code, 0);
}

}  // namespace
}  // namespace supertable

namespace supertable {
namespace {

TEST_F(Security, ToolCallsAreAuditedWithWhatTheyReadAndUnderWhichPolicy) {
  auto log = security::AuditLog::Open(wh_->store(), wh_->config().organization);
  ASSERT_TRUE(log.ok()) << log.status().message();
  McpToolOptions o;
  o.authenticator = auth_.get();
  o.audit = log->get();
  server_ = MakeWarehouseMcpServer(*wh_, o);
  auto cy = SessionAs("cy");
  auto token = dir_->CreateToken("cy", "", {}, 0);
  ASSERT_TRUE(token.ok());
  // The original SuperTable's per-call token, naming the caller itself: accepted, never stored.
  json ok =
      Call(*cy, "query_sql",
           {{"super", "s"}, {"sql", "SELECT count(*) FROM orders"}, {"auth_token", token->token}});
  ASSERT_FALSE(ok.contains("error")) << ok;
  Call(*cy, "query_sql", {{"super", "s"}, {"sql", "SELECT * FROM salaries"}});
  ASSERT_TRUE((*log)->Flush().ok());
  auto records = security::ReadAudit(wh_->store(), wh_->config().organization, {});
  ASSERT_TRUE(records.ok()) << records.status().message();
  std::vector<json> calls;
  for (const auto& r : *records) {
    if (r.value("action", "") == "tools/call:query_sql") calls.push_back(r);
  }
  ASSERT_EQ(calls.size(), 2u) << json(*records).dump();
  EXPECT_EQ(calls[0]["principal"], "cy");
  EXPECT_EQ(calls[0]["auth"], "token");
  EXPECT_EQ(calls[0]["tables"], json({"s.orders"}));
  std::string policies = calls[0]["policies"].dump();
  EXPECT_NE(policies.find("row_filter:s.orders"), std::string::npos) << policies;
  EXPECT_NE(policies.find("mask:s.orders.card"), std::string::npos) << policies;
  EXPECT_EQ(calls[0]["outcome"], "ok");
  EXPECT_EQ(calls[0]["arguments"]["sql"], "SELECT count(*) FROM orders");
  EXPECT_EQ(calls[0]["arguments"]["auth_token"], "[redacted]");
  EXPECT_EQ(calls[1]["outcome"], "error");
  EXPECT_EQ(json(*records).dump().find(token->token), std::string::npos);
  bool login = std::any_of(records->begin(), records->end(), [](const json& r) {
    return r.value("kind", "") == "login" && r.value("principal", "") == "cy";
  });
  EXPECT_TRUE(login);
  auto verified = security::VerifyAudit(wh_->store(), wh_->config().organization);
  ASSERT_TRUE(verified.ok());
  EXPECT_TRUE(verified->ok);
  // Administrators read the same trail with SQL; cy does not see it at all.
  auto admin = SessionAs("");
  json sql =
      Call(*admin, "query_sql",
           {{"super", "s"}, {"sql", "SELECT count(*) FROM system.audit WHERE principal = 'cy'"}});
  EXPECT_GE(sql["rows"][0][0].get<int64_t>(), 3) << sql;
  json hidden = Call(*cy, "query_sql", {{"super", "s"}, {"sql", "SELECT * FROM system.audit"}});
  EXPECT_NE(hidden["error"].get<std::string>().find("unknown table"), std::string::npos);
}

}  // namespace
}  // namespace supertable

namespace supertable {
namespace {

// The embedded catalog's change marker lets a request skip the catalog read, and must never
// hide a change made by another process (here: another connection to the same file).
TEST_F(Security, AChangeByAnotherProcessIsSeenAtOnce) {
  auto other = SqliteCatalog::Open(MakeConfig().home + "/catalog.db");
  ASSERT_TRUE(other.ok()) << other.status().message();
  Directory elsewhere(**other, wh_->config().organization, wh_->engine());
  auto token = dir_->CreateToken("cy", "", {}, 0);
  ASSERT_TRUE(token.ok());
  ASSERT_TRUE(wh_->catalog().DocumentsMarker()) << "the embedded catalog keeps a marker";
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(auth_->FromBearer(token->token).ok());  // cached now
  auto before = wh_->catalog().DocumentsMarker();
  ASSERT_TRUE(elsewhere.RevokeToken(token->record.id).ok());
  EXPECT_NE(wh_->catalog().DocumentsMarker(), before);
  EXPECT_FALSE(auth_->FromBearer(token->token).ok());  // the very next check
  ASSERT_TRUE(elsewhere.SetUserEnabled("mo", false).ok());
  EXPECT_FALSE(auth_->ForUser("mo", "token").ok());
}

}  // namespace
}  // namespace supertable
