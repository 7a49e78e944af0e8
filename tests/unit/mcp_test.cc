// MCP protocol library: JSON-RPC parsing, schema validation, URI templates, dispatch.
#include <gtest/gtest.h>

#include "mcp/json_rpc.h"
#include "mcp/schema_validator.h"
#include "mcp/server.h"

namespace supertable::mcp {

TEST(JsonRpc, ParsesAndRefuses) {
  auto ok = ParseMessage(R"({"jsonrpc":"2.0","id":7,"method":"ping"})");
  ASSERT_TRUE(ok.message);
  EXPECT_EQ(ok.message->kind, Message::Kind::kRequest);
  auto note = ParseMessage(R"({"jsonrpc":"2.0","method":"notifications/initialized"})");
  EXPECT_EQ(note.message->kind, Message::Kind::kNotification);
  auto code = [](const std::string& text) {
    return (*ParseMessage(text).error_reply)["error"]["code"].get<int>();
  };
  EXPECT_EQ(code("{nope"), kParseError);
  EXPECT_EQ(code("[]"), kInvalidRequest);  // batches
  EXPECT_EQ(code(R"([{"jsonrpc":"2.0","id":1,"method":"ping"}])"), kInvalidRequest);
  EXPECT_EQ(code(R"({"id":1,"method":"ping"})"), kInvalidRequest);
  EXPECT_EQ(code(R"({"jsonrpc":"1.0","id":1,"method":"ping"})"), kInvalidRequest);
  EXPECT_EQ(code(R"({"jsonrpc":"2.0","id":{"a":1},"method":"ping"})"), kInvalidRequest);
  EXPECT_EQ(code(R"({"jsonrpc":"2.0","id":1,"method":5})"), kInvalidRequest);
  EXPECT_EQ(code(R"({"jsonrpc":"2.0","id":1,"method":"x","params":[1]})"), kInvalidRequest);
  EXPECT_EQ(code("42"), kInvalidRequest);
  auto reply = ParseMessage(R"({"jsonrpc":"2.0","id":1,"method":"x","params":[1]})").error_reply;
  EXPECT_EQ((*reply)["id"], 1);  // the id is echoed when it could be read
}

TEST(SchemaValidator, ReportsFirstProblemWithPath) {
  json schema = {{"type", "object"},
                 {"properties",
                  {{"limit", {{"type", "integer"}, {"minimum", 1}}},
                   {"mode", {{"enum", {"a", "b"}}}},
                   {"tags", {{"type", "array"}, {"items", {{"type", "string"}}}}}}},
                 {"required", {"limit"}},
                 {"additionalProperties", false}};
  EXPECT_EQ(ValidateAgainstSchema(schema, {{"limit", 3}}), "");
  EXPECT_EQ(ValidateAgainstSchema(schema, json::object()),
            "arguments: missing required property 'limit'");
  EXPECT_EQ(ValidateAgainstSchema(schema, {{"limit", 0}}), "arguments.limit: must be >= 1, got 0");
  EXPECT_EQ(ValidateAgainstSchema(schema, {{"limit", "3"}}),
            "arguments.limit: expected integer, got \"3\"");
  EXPECT_NE(ValidateAgainstSchema(schema, {{"limit", 1}, {"mode", "c"}}).find("expected one of"),
            std::string::npos);
  EXPECT_EQ(ValidateAgainstSchema(schema, {{"limit", 1}, {"tags", {"a", 2}}}),
            "arguments.tags[1]: expected string, got 2");
  EXPECT_NE(ValidateAgainstSchema(schema, {{"limit", 1}, {"x", 1}}).find("unknown property 'x'"),
            std::string::npos);
}

TEST(UriTemplate, Matches) {
  auto m = MatchUriTemplate("supertable://{super}/{table}", "supertable://shop/orders");
  ASSERT_TRUE(m);
  EXPECT_EQ((*m)["super"], "shop");
  EXPECT_EQ((*m)["table"], "orders");
  EXPECT_FALSE(MatchUriTemplate("supertable://{super}/{table}", "supertable://shop/orders/x"));
  EXPECT_FALSE(MatchUriTemplate("supertable://{super}/{table}", "other://shop/orders"));
  EXPECT_FALSE(MatchUriTemplate("supertable://{super}/{table}", "supertable:///orders"));
}

TEST(Server, LifecycleAndPagination) {
  Server server({"t", "", "1", ""});
  server.page_size = 2;
  for (int i = 0; i < 5; ++i) {
    server.AddTool({"tool" + std::to_string(i),
                    "",
                    "a tool",
                    {{"type", "object"}},
                    nullptr,
                    {},
                    [](ToolContext&) {
                      return ToolResult{{{"ok", true}}, false};
                    }});
  }
  std::vector<json> sent;
  Session s([&](const json& m, const json&) { sent.push_back(m); });
  auto req = [&](const std::string& method, json params) {
    Message m;
    m.id = 1;
    m.method = method;
    m.params = std::move(params);
    return *server.Handle(s, m);
  };
  EXPECT_EQ(req("tools/list", json::object())["error"]["code"],
            kInvalidRequest);  // before initialize
  auto init =
      req("initialize", {{"protocolVersion", "2025-06-18"}, {"capabilities", json::object()}});
  EXPECT_EQ(init["result"]["protocolVersion"], "2025-06-18");
  auto old = req("initialize", {{"protocolVersion", "1999-01-01"}});
  EXPECT_EQ(old["result"]["protocolVersion"], "2025-11-25");
  std::vector<std::string> names;
  json cursor;
  do {
    json params = cursor.is_null() ? json::object() : json{{"cursor", cursor}};
    auto page = req("tools/list", params)["result"];
    for (const auto& t : page["tools"]) names.push_back(t["name"]);
    cursor = page.value("nextCursor", json());
  } while (!cursor.is_null());
  EXPECT_EQ(names.size(), 5u);
  EXPECT_EQ(req("tools/list", {{"cursor", "bogus"}})["error"]["code"], kInvalidParams);
  EXPECT_EQ(req("nope", json::object())["error"]["code"], kMethodNotFound);
  EXPECT_EQ(req("logging/setLevel", {{"level", "loud"}})["error"]["code"], kInvalidParams);
  EXPECT_EQ(req("tools/call", {{"name", "missing"}})["error"]["code"], kInvalidParams);
  auto call = req("tools/call", {{"name", "tool1"}, {"arguments", json::object()}});
  EXPECT_EQ(call["result"]["isError"], false);
  EXPECT_EQ(call["result"]["structuredContent"]["ok"], true);
}

}  // namespace supertable::mcp
