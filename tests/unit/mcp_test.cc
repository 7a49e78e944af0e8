// MCP protocol library: JSON-RPC parsing, schema validation, URI templates, dispatch.
#include <gtest/gtest.h>

#include "common/text.h"
#include "mcp/json_rpc.h"
#include "mcp/schema_validator.h"
#include "mcp/server.h"
#include "mcp/stdio_transport.h"
#include "mcp/streamable_http.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "common/work_queue.h"

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
  // Regression: a small message nested 100,000 deep overflowed the stack when copied.
  std::string deep = R"({"jsonrpc":"2.0","id":1,"method":"x","params":{"a":)" +
                     std::string(100000, '[') + std::string(100000, ']') + "}}";
  EXPECT_EQ(code(deep), kInvalidRequest);
  std::string bracket_in_string =
      R"({"jsonrpc":"2.0","id":1,"method":"x","params":{"a":")" + std::string(1000, '[') + R"("}})";
  EXPECT_TRUE(ParseMessage(bracket_in_string).message);  // brackets inside strings do not count
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
                      return ToolResult{{{"ok", true}}, nullptr, false};
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

namespace {

Tool SimpleTool(const std::string& name, bool quick = false) {
  Tool t{name, "", "a tool", {{"type", "object"}}, nullptr, {}, [](ToolContext&) {
           return ToolResult{{{"ok", true}}, nullptr, false};
         }};
  t.quick = quick;
  return t;
}

Message Request(const std::string& method, json params = json::object(), json id = 1) {
  Message m;
  m.id = std::move(id);
  m.method = method;
  m.params = std::move(params);
  return m;
}

}  // namespace

TEST(Server, ToolsChangingAtRunTimeNotifyInitializedSessions) {
  Server server({"t", "", "1", ""});
  server.AddTool(SimpleTool("a"));
  std::vector<json> sent;
  auto s = std::make_unique<Session>([&](const json& m, const json&) { sent.push_back(m); });
  auto init = server.Handle(*s, Request("initialize", {{"protocolVersion", "2025-11-25"}}));
  EXPECT_EQ((*init)["result"]["capabilities"]["tools"]["listChanged"], true);
  server.AddTool(SimpleTool("b"));
  EXPECT_TRUE(sent.empty());  // not initialized yet: nothing is sent before initialized
  Message note;
  note.kind = Message::Kind::kNotification;
  note.method = "notifications/initialized";
  server.Handle(*s, note);
  server.AddTool(SimpleTool("c"));
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0]["method"], "notifications/tools/list_changed");
  EXPECT_TRUE(server.RemoveTool("a"));
  EXPECT_FALSE(server.RemoveTool("a"));
  EXPECT_EQ(sent.size(), 2u);
  auto list = server.Handle(*s, Request("tools/list"));
  EXPECT_EQ((*list)["result"]["tools"].size(), 2u);
  s.reset();  // a session that went away is skipped, not touched
  server.AddTool(SimpleTool("d"));
  EXPECT_EQ(sent.size(), 2u);
}

// 2026-07-28: every request carries its version and the client's capabilities in _meta, and
// is served from that alone, whatever the session saw before.
TEST(Server, ModernRequestsStandAlone) {
  Server server({"t", "T", "1", "use the tools"});
  server.AddTool(SimpleTool("b"));
  server.AddTool(SimpleTool("a"));
  ResourceTemplate missing;
  missing.uri_template = "t://{x}";
  missing.name = "x";
  missing.read = [](const RequestContext&, const std::map<std::string, std::string>&,
                    std::string* error) -> std::optional<ResourceContent> {
    *error = "no such x";
    return std::nullopt;
  };
  server.AddResourceTemplate(missing);
  auto modern = [](const std::string& method, json params = json::object(),
                   json meta = json::object()) {
    json m = {{kMetaProtocolVersion, "2026-07-28"}, {kMetaClientCapabilities, json::object()}};
    m.update(meta);
    params["_meta"] = m;
    return Request(method, std::move(params));
  };
  auto handle = [&](const Message& m) {
    Session s([](const json&, const json&) {});  // a session for this request only
    return *server.Handle(s, m);
  };
  EXPECT_TRUE(IsModernRequest(modern("tools/list")));
  EXPECT_FALSE(IsModernRequest(Request("initialize", {{"protocolVersion", "2025-11-25"}})));
  // Discovery, and the fields every result carries.
  auto discover = handle(modern("server/discover"))["result"];
  EXPECT_EQ(discover["supportedVersions"], json::array({"2026-07-28"}));
  EXPECT_TRUE(discover["capabilities"].contains("tools"));
  EXPECT_EQ(discover["instructions"], "use the tools");
  EXPECT_EQ(discover["resultType"], "complete");
  EXPECT_EQ(discover["_meta"][kMetaServerInfo]["name"], "t");
  EXPECT_EQ(discover["cacheScope"], "private");
  EXPECT_EQ(discover["ttlMs"], 0);
  // No initialize needed; lists are cacheable, calls are not.
  auto list = handle(modern("tools/list"))["result"];
  ASSERT_EQ(list["tools"].size(), 2u);
  EXPECT_EQ(list["tools"][0]["name"], "b");  // the order tools were added, every time
  EXPECT_EQ(list["resultType"], "complete");
  EXPECT_TRUE(list.contains("ttlMs"));
  auto call = handle(modern("tools/call", {{"name", "a"}, {"arguments", json::object()}}));
  EXPECT_EQ(call["result"]["resultType"], "complete");
  EXPECT_FALSE(call["result"].contains("ttlMs"));
  // The envelope: required keys, a version we speak, a known log level.
  Message no_caps = modern("tools/list");
  no_caps.params["_meta"].erase(kMetaClientCapabilities);
  EXPECT_EQ(handle(no_caps)["error"]["code"], kInvalidParams);
  auto old = handle(modern("tools/list", json::object(), {{kMetaProtocolVersion, "2025-11-25"}}));
  EXPECT_EQ(old["error"]["code"], kUnsupportedProtocolVersion);
  EXPECT_EQ(old["error"]["data"]["requested"], "2025-11-25");
  EXPECT_EQ(old["error"]["data"]["supported"], json::array({"2026-07-28"}));
  EXPECT_EQ(
      handle(modern("tools/list", json::object(), {{kMetaLogLevel, "loud"}}))["error"]["code"],
      kInvalidParams);
  // Methods of the legacy era are not methods of this one, initialize included.
  for (const char* m : {"initialize", "ping", "logging/setLevel", "resources/subscribe"}) {
    EXPECT_EQ(handle(modern(m))["error"]["code"], kMethodNotFound) << m;
  }
  // A resource that is not there: invalid params here (-32002 belongs to the legacy era).
  EXPECT_EQ(handle(modern("resources/read", {{"uri", "t://nope"}}))["error"]["code"],
            kInvalidParams);
  // A tool that cannot work without a client capability: -32021 naming what is missing, before
  // it runs; the tool itself may not send the client a request in this era.
  Tool asks = SimpleTool("asks");
  asks.required_client_capabilities = {{"sampling", json::object()}};
  asks.handler = [](ToolContext& ctx) {
    auto answer = ctx.AskClient("sampling/createMessage", json::object(), 1000);
    return answer.ok() ? ToolResult{{{"ok", true}}, nullptr, false}
                       : ToolResult::Error(answer.status().message());
  };
  server.AddTool(asks);
  auto refused = handle(modern("tools/call", {{"name", "asks"}, {"arguments", json::object()}}));
  EXPECT_EQ(refused["error"]["code"], kMissingRequiredClientCapability);
  EXPECT_EQ(refused["error"]["data"]["requiredCapabilities"], json({{"sampling", json::object()}}));
  auto declared = handle(modern("tools/call", {{"name", "asks"}, {"arguments", json::object()}},
                                {{kMetaClientCapabilities, {{"sampling", json::object()}}}}));
  EXPECT_EQ(declared["result"]["isError"], true);
  EXPECT_NE(declared["result"]["content"][0]["text"].get<std::string>().find("multi round-trip"),
            std::string::npos);
  // A legacy session on the same server is untouched.
  Session legacy([](const json&, const json&) {});
  server.Handle(legacy, Request("initialize", {{"protocolVersion", "2025-11-25"}}));
  auto legacy_read = *server.Handle(legacy, Request("resources/read", {{"uri", "t://nope"}}));
  EXPECT_EQ(legacy_read["error"]["code"], -32002);
  EXPECT_FALSE((*server.Handle(legacy, Request("tools/list")))["result"].contains("resultType"));
  // ... and its call of a tool that needs an undeclared capability is a tool error.
  auto legacy_call = *server.Handle(legacy, Request("tools/call", {{"name", "asks"}}));
  EXPECT_EQ(legacy_call["result"]["isError"], true);
}

// The multi round-trip pattern: a tool asks with ToolContext::Ask; a modern call gets an
// InputRequiredResult and calls again with the answers and the signed request state.
// A prompt asks its client as a tool does (ClientInput): input_required with a request state
// bound to prompts/get, its name and arguments; the retry with the answer renders it.
TEST(Server, ModernPromptsAskTheClientInRoundTrips) {
  Server server({"t", "", "1", ""});
  Prompt p;
  p.name = "greet";
  p.arguments = {{"who", "", true}};
  p.render = [](const RequestContext&, const std::map<std::string, std::string>& args,
                ClientInput& input) {
    auto mood = input.Ask("mood", "elicitation/create", {{"message", "mood?"}});
    if (!mood.ok()) return json{{"error", mood.status().message()}};
    if (!*mood) return json::array();
    return json::array(
        {{{"role", "user"},
          {"content",
           {{"type", "text"},
            {"text", args.at("who") + " is " + (**mood)["content"]["v"].get<std::string>()}}}}});
  };
  server.AddPrompt(p);
  auto get = [&](json extra, json caps = {{"elicitation", json::object()}}) {
    json params = {{"name", "greet"}, {"arguments", {{"who", "ann"}}}};
    params.update(extra);
    params["_meta"] = {{kMetaProtocolVersion, "2026-07-28"}, {kMetaClientCapabilities, caps}};
    Session s([](const json&, const json&) {});
    return *server.Handle(s, Request("prompts/get", params));
  };
  auto r1 = get(json::object())["result"];
  ASSERT_EQ(r1["resultType"], "input_required") << r1.dump();
  EXPECT_EQ(r1["inputRequests"]["mood"]["method"], "elicitation/create");
  EXPECT_FALSE(r1.contains("messages"));
  json answer = {{"mood", {{"action", "accept"}, {"content", {{"v", "glad"}}}}}};
  auto r2 = get({{"inputResponses", answer}, {"requestState", r1["requestState"]}})["result"];
  EXPECT_EQ(r2["resultType"], "complete") << r2.dump();
  EXPECT_EQ(r2["messages"][0]["content"]["text"], "ann is glad");
  // The state belongs to this prompt and these arguments.
  auto other = get({{"inputResponses", answer},
                    {"requestState", r1["requestState"]},
                    {"arguments", {{"who", "bob"}}}});
  EXPECT_EQ(other["error"]["code"], kInvalidParams) << other.dump();
  // A client without elicitation is told what is missing.
  auto bare = get(json::object(), json::object());
  EXPECT_EQ(bare["error"]["code"], kInvalidParams);
  EXPECT_NE(bare["error"]["message"].get<std::string>().find("elicitation"), std::string::npos);
}

TEST(Server, ModernCallsAskTheClientInRoundTrips) {
  Server server({"t", "", "1", ""});
  server.identity_key = [](const std::shared_ptr<const void>& who) {
    return who ? *std::static_pointer_cast<const std::string>(who) : std::string();
  };
  Tool two = SimpleTool("two");
  two.handler = [](ToolContext& ctx) {
    auto name = ctx.Ask("name", "elicitation/create", {{"message", "name?"}});
    if (!name.ok()) return ToolResult::Error(name.status().message());
    if (!*name) return ctx.NeedInput();
    auto color = ctx.Ask("color", "elicitation/create", {{"message", "color?"}});
    if (!color.ok()) return ToolResult::Error(color.status().message());
    if (!*color) return ctx.NeedInput();
    return ToolResult{{{"said", (**name)["content"]["v"].get<std::string>() + "/" +
                                    (**color)["content"]["v"].get<std::string>()}},
                      nullptr,
                      false};
  };
  server.AddTool(two);
  auto ann = std::make_shared<const std::string>("ann");
  auto bob = std::make_shared<const std::string>("bob");
  auto call = [&](json extra, std::shared_ptr<const void> who, json caps = nullptr) {
    json params = {{"name", "two"}, {"arguments", json::object()}};
    params.update(extra);
    params["_meta"] = {
        {kMetaProtocolVersion, "2026-07-28"},
        {kMetaClientCapabilities, caps.is_null() ? json{{"elicitation", json::object()}} : caps}};
    Session s([](const json&, const json&) {});
    return (*server.Handle(s, Request("tools/call", params), who));
  };
  auto answer = [](const std::string& v) {
    return json{{"action", "accept"}, {"content", {{"v", v}}}};
  };
  auto r1 = call(json::object(), ann)["result"];
  ASSERT_EQ(r1["resultType"], "input_required") << r1.dump();
  EXPECT_EQ(r1["inputRequests"]["name"]["method"], "elicitation/create");
  std::string state1 = r1["requestState"];
  auto r2 = call({{"inputResponses", {{"name", answer("ann")}}}, {"requestState", state1}},
                 ann)["result"];
  ASSERT_EQ(r2["resultType"], "input_required") << r2.dump();
  EXPECT_TRUE(r2["inputRequests"].contains("color"));
  EXPECT_FALSE(r2["inputRequests"].contains("name"));  // answered, and carried in the state
  std::string state2 = r2["requestState"];
  auto r3 = call({{"inputResponses", {{"color", answer("red")}}}, {"requestState", state2}}, ann);
  EXPECT_EQ(r3["result"]["structuredContent"]["said"], "ann/red") << r3.dump();
  // A state changed by one character, used by someone else, or with other arguments: refused.
  std::string tampered = state2;
  tampered[tampered.size() / 2] = tampered[tampered.size() / 2] == 'A' ? 'B' : 'A';
  for (const auto& [state, who, args] :
       {std::tuple{tampered, ann, json::object()}, std::tuple{state2, bob, json::object()},
        std::tuple{state2, ann, json{{"x", 1}}}}) {
    auto refused = call({{"inputResponses", {{"color", answer("red")}}},
                         {"requestState", state},
                         {"arguments", args}},
                        who);
    EXPECT_EQ(refused["error"]["code"], kInvalidParams) << refused.dump();
  }
  // An answer that is not an object, or not of the kind asked: refused or a tool error.
  EXPECT_EQ(call({{"inputResponses", {{"name", 5}}}}, ann)["error"]["code"], kInvalidParams);
  EXPECT_EQ(
      call({{"inputResponses", {{"name", {{"roots", json::array()}}}}}}, ann)["result"]["isError"],
      true);
  // Without the capability the method needs, nothing is asked.
  auto no_caps = call(json::object(), ann, json::object());
  EXPECT_EQ(no_caps["result"]["isError"], true) << no_caps.dump();
  // The same tool body in a legacy session asks with a request to the client.
  std::vector<json> sent;
  Session legacy([&](const json& m, const json&) {
    sent.push_back(m);
    if (m.contains("method") && m["method"] == "elicitation/create") {
      Message reply;
      reply.kind = Message::Kind::kResponse;
      reply.id = m["id"];
      reply.result_or_error = answer(m["params"]["message"] == "name?" ? "cy" : "blue");
      std::thread([&legacy, reply] { legacy.Resolve(reply); }).detach();
    }
  });
  server.Handle(legacy,
                Request("initialize", {{"protocolVersion", "2025-11-25"},
                                       {"capabilities", {{"elicitation", json::object()}}}}));
  auto legacy_call = *server.Handle(legacy, Request("tools/call", {{"name", "two"}}));
  EXPECT_EQ(legacy_call["result"]["structuredContent"]["said"], "cy/blue") << legacy_call.dump();
}

// Over stdio a modern request runs on a session of its own, and notifications/cancelled still
// reaches it: it stops, and no answer is sent for it.
// subscriptions/listen: the acknowledgement first, naming only what the server honours (tool
// list changes; resources the caller can read), then only those notifications, each tagged
// with the listen request's id.
TEST(Server, ListenAcknowledgesThenDeliversOnlyWhatItSubscribedTo) {
  Server server({"t", "", "1", ""});
  server.AddTool(SimpleTool("a"));
  std::atomic<int> version{1};
  ResourceTemplate tables;
  tables.uri_template = "t://{x}";
  tables.name = "x";
  tables.read = [](const RequestContext&, const std::map<std::string, std::string>& vars,
                   std::string* error) -> std::optional<ResourceContent> {
    if (vars.at("x") != "seen") {
      *error = "no such x";
      return std::nullopt;
    }
    ResourceContent c;
    c.uri = "t://seen";
    c.text = "hello";
    return c;
  };
  tables.fingerprint = [&](const RequestContext&, const std::map<std::string, std::string>&) {
    return std::to_string(version.load());
  };
  server.AddResourceTemplate(tables);
  auto listen = [](json id, json filter) {
    Message m = Request(
        "subscriptions/listen",
        {{"notifications", std::move(filter)},
         {"_meta",
          {{kMetaProtocolVersion, "2026-07-28"}, {kMetaClientCapabilities, json::object()}}}});
    m.id = std::move(id);
    return m;
  };
  std::vector<json> all_sent, prompts_sent;
  Session all([&](const json& m, const json&) { all_sent.push_back(m); });
  Session prompts_only([&](const json& m, const json&) { prompts_sent.push_back(m); });
  EXPECT_FALSE(server.Handle(
      all, listen("sub-1", {{"toolsListChanged", true},
                            {"promptsListChanged", true},
                            {"resourceSubscriptions", {"t://seen", "t://hidden", "t://seen"}}})));
  EXPECT_FALSE(server.Handle(prompts_only, listen(7, {{"promptsListChanged", true}})));
  ASSERT_EQ(all_sent.size(), 1u);
  EXPECT_EQ(all_sent[0]["method"], "notifications/subscriptions/acknowledged");
  EXPECT_EQ(all_sent[0]["params"]["_meta"][kMetaSubscriptionId], "sub-1");
  // Prompts never change here, and t://hidden does not exist for this caller: left out.
  EXPECT_EQ(all_sent[0]["params"]["notifications"],
            json({{"toolsListChanged", true}, {"resourceSubscriptions", {"t://seen"}}}));
  ASSERT_EQ(prompts_sent.size(), 1u);
  EXPECT_EQ(prompts_sent[0]["params"]["_meta"][kMetaSubscriptionId], 7);  // the id's own type
  EXPECT_EQ(prompts_sent[0]["params"]["notifications"], json::object());
  server.AddTool(SimpleTool("b"));
  ASSERT_EQ(all_sent.size(), 2u);
  EXPECT_EQ(all_sent[1]["method"], "notifications/tools/list_changed");
  EXPECT_EQ(all_sent[1]["params"]["_meta"][kMetaSubscriptionId], "sub-1");
  EXPECT_EQ(prompts_sent.size(), 1u);  // it did not ask for tool list changes
  server.PollSubscriptions(all);
  EXPECT_EQ(all_sent.size(), 2u);  // nothing changed yet
  version = 2;
  server.PollSubscriptions(all);
  server.PollSubscriptions(prompts_only);
  ASSERT_EQ(all_sent.size(), 3u);
  EXPECT_EQ(all_sent[2]["method"], "notifications/resources/updated");
  EXPECT_EQ(all_sent[2]["params"]["uri"], "t://seen");
  EXPECT_EQ(all_sent[2]["params"]["_meta"][kMetaSubscriptionId], "sub-1");
  EXPECT_EQ(prompts_sent.size(), 1u);
  // The server ending it answers the listen request.
  json end = server.EndListen(all);
  EXPECT_EQ(end["id"], "sub-1");
  EXPECT_EQ(end["result"]["resultType"], "complete");
  EXPECT_EQ(end["result"]["_meta"][kMetaSubscriptionId], "sub-1");
  // A detached subscription gets nothing more.
  all.Detach();
  server.AddTool(SimpleTool("c"));
  EXPECT_EQ(all_sent.size(), 3u);
  // Filters that are not what the revision defines are refused, saying what is expected.
  for (json bad :
       {json(nullptr), json({{"toolsListChanged", "yes"}}),
        json({{"resourceSubscriptions", "t://seen"}}), json({{"resourceSubscriptions", {1}}})}) {
    Session s([](const json&, const json&) {});
    Message m = listen(9, bad);
    if (bad.is_null()) m.params.erase("notifications");
    auto reply = server.Handle(s, m);
    ASSERT_TRUE(reply) << bad.dump();
    EXPECT_EQ((*reply)["error"]["code"], kInvalidParams) << bad.dump();
  }
}

// The envelope of a modern request's params, for requests written out by hand.
const std::string kModernMeta =
    R"("_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28",)"
    R"("io.modelcontextprotocol/clientCapabilities":{}})";

// ServeStdio on a thread, fed and read through pipes: Send writes one line; Finish ends the
// input, waits for the server to return, and answers everything it wrote.
class StdioPipe {
 public:
  explicit StdioPipe(Server& server) {
    EXPECT_EQ(pipe(in_), 0);
    EXPECT_EQ(pipe(out_), 0);
    FILE* server_in = fdopen(in_[0], "r");
    FILE* server_out = fdopen(out_[1], "w");
    serving_ = std::thread([&server, server_in, server_out] {
      ServeStdio(server, server_in, server_out);
      fclose(server_out);
      fclose(server_in);
    });
  }
  ~StdioPipe() {
    if (serving_.joinable()) Finish();
  }
  void Send(const std::string& line) {
    std::string l = line + "\n";
    EXPECT_EQ(write(in_[1], l.data(), l.size()), static_cast<ssize_t>(l.size()));
  }
  std::string Finish() {
    close(in_[1]);
    serving_.join();
    std::string output;
    char buf[4096];
    for (ssize_t n; (n = read(out_[0], buf, sizeof(buf))) > 0;) output.append(buf, n);
    close(out_[0]);
    return output;
  }

 private:
  int in_[2], out_[2];
  std::thread serving_;
};

TEST(Stdio, ModernRequestsAreCancelledByNotification) {
  Server server({"t", "", "1", ""});
  std::atomic<bool> saw_cancel{false};
  Tool wait = SimpleTool("wait");
  wait.handler = [&](ToolContext& ctx) {
    for (int i = 0; i < 1000 && !ctx.cancelled(); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    saw_cancel = ctx.cancelled();
    return ToolResult{{{"ok", true}}, nullptr, false};
  };
  server.AddTool(wait);
  StdioPipe stdio(server);
  auto send = [&](const std::string& line) { stdio.Send(line); };
  send(R"({"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"wait",)" + kModernMeta +
       "}}");
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  send(R"({"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":5}})");
  send(R"({"jsonrpc":"2.0","id":6,"method":"tools/list","params":{)" + kModernMeta + "}}");
  std::string output = stdio.Finish();  // end of input: the server answers what runs
  EXPECT_TRUE(saw_cancel);
  EXPECT_NE(output.find(R"("id":6)"), std::string::npos) << output;
  EXPECT_EQ(output.find(R"("id":5)"), std::string::npos) << output;
}

// Over stdio a subscription lasts until the client cancels its listen request; one still open
// when the process ends gets its result, then the cancellation that ends a stdio stream.
TEST(Stdio, ListenLastsUntilCancelledOrTheEnd) {
  Server server({"t", "", "1", ""});
  StdioPipe stdio(server);
  auto send = [&](const std::string& line) { stdio.Send(line); };
  const std::string tools = R"("notifications":{"toolsListChanged":true},)";
  send(R"({"jsonrpc":"2.0","id":"a","method":"subscriptions/listen","params":{)" + tools +
       kModernMeta + "}}");
  send(R"({"jsonrpc":"2.0","id":"b","method":"subscriptions/listen","params":{)" + tools +
       kModernMeta + "}}");
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  send(R"({"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":"a"}})");
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  server.AddTool(SimpleTool("new"));
  std::string output = stdio.Finish();
  std::vector<json> lines;
  for (size_t at = 0, nl; (nl = output.find('\n', at)) != std::string::npos; at = nl + 1) {
    lines.push_back(json::parse(output.substr(at, nl - at)));
  }
  auto tagged = [](const json& m) { return m["params"]["_meta"].value(kMetaSubscriptionId, ""); };
  ASSERT_EQ(lines.size(), 5u) << output;  // two acks, one change, b's result and cancellation
  EXPECT_EQ(lines[0]["method"], "notifications/subscriptions/acknowledged");
  EXPECT_EQ(lines[1]["method"], "notifications/subscriptions/acknowledged");
  EXPECT_EQ(lines[2]["method"], "notifications/tools/list_changed");
  EXPECT_EQ(tagged(lines[2]), "b");  // "a" was cancelled
  EXPECT_EQ(lines[3]["id"], "b");
  EXPECT_EQ(lines[3]["result"]["resultType"], "complete");
  EXPECT_EQ(lines[4]["method"], "notifications/cancelled");
  EXPECT_EQ(lines[4]["params"]["requestId"], "b");
}

// x-mcp-header: where it may stand and what it may name; a tool that breaks the rules is not
// added. Header values compare with the body's by type.
TEST(Server, HeaderParamsFollowTheRevisionsRules) {
  auto schema = [](json props) { return json{{"type", "object"}, {"properties", props}}; };
  auto ok = HeaderParamsOf(
      schema({{"region", {{"type", "string"}, {"x-mcp-header", "Region"}}},
              {"n", {{"type", "integer"}, {"x-mcp-header", "N"}}},
              {"deep",
               {{"type", "object"},
                {"properties", {{"flag", {{"type", "boolean"}, {"x-mcp-header", "Flag"}}}}}}}}));
  ASSERT_TRUE(ok.ok()) << ok.status().message();
  ASSERT_EQ(ok->size(), 3u);
  EXPECT_EQ((*ok)[0].path, (std::vector<std::string>{"deep", "flag"}));  // properties sorted
  EXPECT_EQ((*ok)[0].name, "Flag");
  for (const json& bad :
       {schema({{"x", {{"type", "number"}, {"x-mcp-header", "X"}}}}),
        schema({{"x", {{"type", "string"}, {"x-mcp-header", ""}}}}),
        schema({{"x", {{"type", "string"}, {"x-mcp-header", "Bad Name"}}}}),
        schema({{"x", {{"type", "string"}, {"x-mcp-header", "A"}}},
                {"y", {{"type", "string"}, {"x-mcp-header", "a"}}}}),
        schema(
            {{"x", {{"type", "array"}, {"items", {{"type", "string"}, {"x-mcp-header", "X"}}}}}}),
        json{{"type", "object"},
             {"anyOf", {schema({{"x", {{"type", "string"}, {"x-mcp-header", "X"}}}})}}}}) {
    EXPECT_FALSE(HeaderParamsOf(bad).ok()) << bad.dump();
  }
  Server server({"t", "", "1", ""});
  Tool t = SimpleTool("bad");
  t.input_schema = schema({{"x", {{"type", "number"}, {"x-mcp-header", "X"}}}});
  EXPECT_THROW(server.AddTool(t), std::invalid_argument);
  EXPECT_TRUE(HeaderSays("eu", "eu"));
  EXPECT_FALSE(HeaderSays("EU", "eu"));
  EXPECT_TRUE(HeaderSays("42", 42));
  EXPECT_TRUE(HeaderSays("42.0", 42));
  EXPECT_TRUE(HeaderSays("-7", -7));
  EXPECT_FALSE(HeaderSays("0x2a", 42));
  EXPECT_FALSE(HeaderSays("42 ", 42));
  EXPECT_FALSE(HeaderSays("4.", 4));
  EXPECT_TRUE(HeaderSays("true", true));
  EXPECT_FALSE(HeaderSays("True", true));
  EXPECT_FALSE(HeaderSays("1", true));
}

TEST(Server, TraceContextIsReadFromMeta) {
  auto tp = [](const std::string& v) { return TraceparentOf({{"_meta", {{"traceparent", v}}}}); };
  const std::string good = "00-0af7651916cd43dd8448eb211c80319c-00f067aa0ba902b7-01";
  EXPECT_EQ(tp(good), good);
  EXPECT_EQ(tp("00-00000000000000000000000000000000-00f067aa0ba902b7-01"), "");  // zero trace id
  EXPECT_EQ(tp("00-0AF7651916CD43DD8448EB211C80319C-00f067aa0ba902b7-01"), "");  // upper case
  EXPECT_EQ(tp("01-0af7651916cd43dd8448eb211c80319c-00f067aa0ba902b7-01"), "");
  EXPECT_EQ(tp(good + "-x"), "");
  EXPECT_EQ(TraceparentOf(json::object()), "");
  // A tool sees it, in either era.
  Server server({"t", "", "1", ""});
  std::string seen;
  Tool t = SimpleTool("t");
  t.handler = [&](ToolContext& ctx) {
    seen = ctx.trace();
    return ToolResult{{{"ok", true}}, nullptr, false};
  };
  server.AddTool(t);
  Session s([](const json&, const json&) {});
  server.Handle(s, Request("tools/call", {{"name", "t"},
                                          {"_meta",
                                           {{kMetaProtocolVersion, "2026-07-28"},
                                            {kMetaClientCapabilities, json::object()},
                                            {"traceparent", good}}}}));
  EXPECT_EQ(seen, good);
}

TEST(Server, SubscriptionsPerSessionAreCapped) {
  Server server({"t", "", "1", ""});
  ResourceTemplate t;
  t.uri_template = "t://{x}";
  t.name = "t";
  t.read = [](const RequestContext&, const std::map<std::string, std::string>& v, std::string*) {
    return std::optional<ResourceContent>(
        ResourceContent{"t://" + v.at("x"), "text/plain", "x", ""});
  };
  server.AddResourceTemplate(std::move(t));
  Session s([](const json&, const json&) {});
  server.Handle(s, Request("initialize", {{"protocolVersion", "2025-11-25"}}));
  auto subscribe = [&](int i) {
    return *server.Handle(s, Request("resources/subscribe", {{"uri", "t://" + std::to_string(i)}}));
  };
  for (size_t i = 0; i < kMaxSubscriptions; ++i)
    ASSERT_TRUE(subscribe(static_cast<int>(i)).contains("result"));
  auto refused = subscribe(static_cast<int>(kMaxSubscriptions));
  EXPECT_EQ(refused["error"]["code"], kInvalidParams);
  EXPECT_TRUE(subscribe(0).contains("result"));  // renewing one already held is fine
}

TEST(Server, InlineOnlyWhatCannotBlock) {
  Server server({"t", "", "1", ""});
  server.AddTool(SimpleTool("slow"));
  server.AddTool(SimpleTool("fast", true));
  EXPECT_TRUE(server.CanRunInline(Request("ping")));
  EXPECT_TRUE(server.CanRunInline(Request("tools/list")));
  EXPECT_TRUE(server.CanRunInline(Request("tools/call", {{"name", "fast"}})));
  EXPECT_FALSE(server.CanRunInline(Request("tools/call", {{"name", "slow"}})));
  EXPECT_FALSE(server.CanRunInline(Request("resources/list")));
  EXPECT_FALSE(server.CanRunInline(Request("completion/complete")));
}

TEST(Session, RequestToTheClientWaitsForItsAnswerOrTimesOut) {
  json sent_request;
  std::atomic<bool> sent{false};
  Session s([&](const json& m, const json& related) {
    EXPECT_EQ(related, 9);  // routed with the tool call it belongs to
    sent_request = m;
    sent = true;
  });
  std::thread client([&] {
    while (!sent) std::this_thread::yield();
    Message answer;
    answer.kind = Message::Kind::kResponse;
    answer.id = sent_request["id"];
    answer.result_or_error = {{"action", "accept"}};
    EXPECT_TRUE(s.Resolve(answer));
  });
  auto r = s.Request("elicitation/create", {{"message", "?"}}, 9, 5000);
  client.join();
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ((*r)["action"], "accept");
  EXPECT_EQ(sent_request["method"], "elicitation/create");
  auto late = s.Request("sampling/createMessage", json::object(), 9, 50);
  EXPECT_FALSE(late.ok());
  EXPECT_NE(late.status().message().find("did not answer"), std::string::npos);
  Message stray;
  stray.kind = Message::Kind::kResponse;
  stray.id = "nobody-asked";
  EXPECT_FALSE(s.Resolve(stray));
}

TEST(Http, SecretEqualsComparesEveryByte) {
  EXPECT_TRUE(SecretEquals("abcdef", "abcdef"));
  EXPECT_FALSE(SecretEquals("abcdef", "abcdeg"));
  EXPECT_FALSE(SecretEquals("abcdef", "bbcdef"));
  EXPECT_FALSE(SecretEquals("abc", "abcdef"));
  EXPECT_FALSE(SecretEquals("", "x"));
}

TEST(WorkQueue, BoundedBacklogAndStopRunsWhatIsQueued) {
  std::atomic<int> ran{0};
  std::atomic<bool> started{false}, release{false};
  WorkQueue q(1, 2);
  EXPECT_TRUE(q.TryPost([&] {
    started = true;
    while (!release) std::this_thread::yield();
    ran++;
  }));
  while (!started) std::this_thread::yield();
  // The only thread is busy: two jobs may wait, the rest are refused.
  int accepted = 0;
  for (int i = 0; i < 5; ++i) accepted += q.TryPost([&] { ran++; }) ? 1 : 0;
  EXPECT_EQ(accepted, 2);
  release = true;
  q.Stop();
  EXPECT_EQ(ran.load(), 3);
  EXPECT_FALSE(q.TryPost([] {}));
}

}  // namespace supertable::mcp
