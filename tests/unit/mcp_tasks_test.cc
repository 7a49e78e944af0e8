// The tasks extension (io.modelcontextprotocol/tasks, MCP 2026-07-28): calls that become tasks,
// tasks/get, tasks/update and tasks/cancel, across servers that share a task store as replicas
// behind a load balancer do.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "common/ids.h"
#include "mcp/server.h"

namespace supertable::mcp {

namespace {

using namespace std::chrono_literals;

const json kWithTasks = {{"elicitation", json::object()},
                         {"extensions", {{kTasksExtension, json::object()}}}};

Message Modern(const std::string& method, json params, const json& caps = kWithTasks, json id = 1) {
  params["_meta"] = {{kMetaProtocolVersion, "2026-07-28"}, {kMetaClientCapabilities, caps}};
  Message m;
  m.id = std::move(id);
  m.method = method;
  m.params = std::move(params);
  return m;
}

std::shared_ptr<const void> Who(const std::string& name) {
  return std::make_shared<const std::string>(name);
}

// A server as `supertable serve` makes one: request states and tasks bound to the principal.
std::unique_ptr<Server> Replica(std::shared_ptr<TaskStore> store) {
  auto s = std::make_unique<Server>(ServerInfo{"t", "", "1", ""});
  s->identity_key = [](const std::shared_ptr<const void>& who) {
    return who ? *std::static_pointer_cast<const std::string>(who) : std::string();
  };
  s->state_key = "shared";
  s->task_store = std::move(store);
  return s;
}

Tool TaskTool(const std::string& name, TaskSupport support, int64_t after_ms,
              std::function<ToolResult(ToolContext&)> fn) {
  Tool t;
  t.name = name;
  t.description = "a tool";
  t.input_schema = {{"type", "object"}};
  t.handler = std::move(fn);
  t.task = support;
  t.task_after_ms = after_ms;
  return t;
}

json Ask(Server& server, const Message& m, const std::shared_ptr<const void>& who) {
  Session s([](const json&, const json&) {});  // a session for this request only
  auto reply = server.Handle(s, m, who);
  return reply ? *reply : json();
}

json Get(Server& server, const std::string& id, const std::shared_ptr<const void>& who) {
  return Ask(server, Modern("tasks/get", {{"taskId", id}}), who);
}

// Polls tasks/get until the task's status is `status` (or 10 s pass): the task as it was then.
json WaitFor(Server& server, const std::string& id, const std::shared_ptr<const void>& who,
             const std::string& status) {
  json t;
  for (int i = 0; i < 1000; ++i) {
    t = Get(server, id, who)["result"];
    if (t.value("status", "") == status) break;
    std::this_thread::sleep_for(10ms);
  }
  return t;
}

ToolResult Ok(json structured) { return ToolResult{std::move(structured), nullptr, false}; }

}  // namespace

TEST(Tasks, ReplicasSharingAStoreServeOneTaskToItsOwnerAlone) {
  auto store = MakeMemoryTaskStore();
  auto a = Replica(store), b = Replica(store);
  std::atomic<bool> release{false};
  auto body = [&](ToolContext& ctx) {
    while (!release && !ctx.cancelled()) std::this_thread::sleep_for(1ms);
    return Ok({{"rows", 42}});
  };
  a->AddTool(TaskTool("long", TaskSupport::kOptional, 0, body));
  b->AddTool(TaskTool("long", TaskSupport::kOptional, 0, body));
  auto ann = Who("ann"), bob = Who("bob");

  json created = Ask(*a, Modern("tools/call", {{"name", "long"}}), ann)["result"];
  ASSERT_EQ(created["resultType"], "task") << created.dump();
  std::string id = created["taskId"];
  EXPECT_EQ(created["status"], "working");
  EXPECT_EQ(created["ttlMs"], a->task_ttl_ms);
  EXPECT_TRUE(created.contains("createdAt") && created.contains("lastUpdatedAt"));
  for (const char* hidden : {"owner", "answers", "result", "cancelRequested", "heartbeatMicros"})
    EXPECT_FALSE(created.contains(hidden)) << hidden;

  // The other replica knows it at once; someone else does not know it at all.
  json seen = Get(*b, id, ann)["result"];
  EXPECT_EQ(seen["status"], "working");
  EXPECT_EQ(seen["resultType"], "complete");
  json stranger = Get(*b, id, bob);
  json unknown = Get(*b, "no-such-task", bob);
  EXPECT_EQ(stranger["error"]["code"], kInvalidParams);
  EXPECT_EQ(Ask(*b, Modern("tasks/cancel", {{"taskId", id}}), bob)["error"]["code"],
            kInvalidParams);
  EXPECT_EQ(unknown["error"]["message"].get<std::string>().find("unknown task"),
            stranger["error"]["message"].get<std::string>().find("unknown task"));

  release = true;
  json done = WaitFor(*b, id, ann, "completed");
  ASSERT_EQ(done["status"], "completed") << done.dump();
  EXPECT_EQ(done["result"]["structuredContent"]["rows"], 42);
  EXPECT_EQ(done["result"]["isError"], false);
  EXPECT_FALSE(done["result"].contains("resultType"));
}

TEST(Tasks, ACancelOnAnotherReplicaStopsTheCallWhereItRuns) {
  auto store = MakeMemoryTaskStore();
  auto a = Replica(store), b = Replica(store);
  std::atomic<bool> stopped{false};
  a->AddTool(TaskTool("spin", TaskSupport::kOptional, 0, [&](ToolContext& ctx) {
    for (int i = 0; i < 20000 && !ctx.cancelled(); ++i) std::this_thread::sleep_for(1ms);
    stopped = ctx.cancelled();
    return Ok({{"spun", true}});
  }));
  auto ann = Who("ann");
  std::string id = Ask(*a, Modern("tools/call", {{"name", "spin"}}), ann)["result"]["taskId"];
  json ack = Ask(*b, Modern("tasks/cancel", {{"taskId", id}}), ann)["result"];
  EXPECT_EQ(ack, json({{"resultType", "complete"}, {"_meta", ack["_meta"]}}));
  json t = WaitFor(*b, id, ann, "cancelled");
  EXPECT_EQ(t["status"], "cancelled") << t.dump();
  EXPECT_TRUE(stopped);
  // Cancelling what has ended is acknowledged the same way and changes nothing.
  EXPECT_EQ(Ask(*a, Modern("tasks/cancel", {{"taskId", id}}), ann)["result"]["resultType"],
            "complete");
  EXPECT_EQ(Get(*a, id, ann)["result"]["status"], "cancelled");
}

TEST(Tasks, WhoGetsATaskAndWhen) {
  auto server = Replica(MakeMemoryTaskStore());
  server->AddTool(TaskTool("quick", TaskSupport::kOptional, 5000, [](ToolContext&) {
    return Ok({{"quick", true}});
  }));
  server->AddTool(TaskTool("always", TaskSupport::kRequired, -1, [](ToolContext&) {
    return Ok({{"always", true}});
  }));
  server->AddTool(TaskTool("broken", TaskSupport::kRequired, -1, [](ToolContext&) {
    return ToolResult::ProtocolError(kInternalError, "it broke");
  }));
  auto ann = Who("ann");
  const json plain = {{"elicitation", json::object()}};
  // Quick enough: a plain answer, with or without the extension.
  EXPECT_EQ(Ask(*server, Modern("tools/call", {{"name", "quick"}}), ann)["result"]["resultType"],
            "complete");
  EXPECT_EQ(
      Ask(*server, Modern("tools/call", {{"name", "quick"}}, plain), ann)["result"]["resultType"],
      "complete");
  // A tool that runs as a task only: refused to a client without the extension, naming it...
  json refused = Ask(*server, Modern("tools/call", {{"name", "always"}}, plain), ann);
  EXPECT_EQ(refused["error"]["code"], kMissingRequiredClientCapability);
  EXPECT_EQ(refused["error"]["data"]["requiredCapabilities"], TasksCapability());
  EXPECT_FALSE(server->ModernEntryError(Modern("tools/call", {{"name", "always"}})));
  // ...and a task however quick it was, finished when it is created.
  json t = Ask(*server, Modern("tools/call", {{"name", "always"}}), ann)["result"];
  EXPECT_EQ(t["resultType"], "task");
  EXPECT_EQ(t["status"], "completed");
  EXPECT_EQ(Get(*server, t["taskId"], ann)["result"]["result"]["structuredContent"]["always"],
            true);
  // A JSON-RPC error of the call fails its task, with the error.
  json f = Ask(*server, Modern("tools/call", {{"name", "broken"}}), ann)["result"];
  json failed = Get(*server, f["taskId"], ann)["result"];
  EXPECT_EQ(failed["status"], "failed");
  EXPECT_EQ(failed["error"]["code"], kInternalError);
  EXPECT_EQ(failed["error"]["message"], "it broke");
  EXPECT_FALSE(failed.contains("result"));
  // A legacy session never gets a task: the call runs as it always did.
  Session legacy([](const json&, const json&) {});
  legacy.identity = ann;
  Message init;
  init.id = 1;
  init.method = "initialize";
  init.params = {{"protocolVersion", "2025-11-25"},
                 {"capabilities", {{"extensions", {{kTasksExtension, json::object()}}}}}};
  server->Handle(legacy, init);
  Message call;
  call.id = 2;
  call.method = "tools/call";
  call.params = {{"name", "quick"}};
  json r = (*server->Handle(legacy, call))["result"];
  EXPECT_FALSE(r.contains("resultType"));
  EXPECT_EQ(r["structuredContent"]["quick"], true);
  // The tasks methods are the extension's: without it, -32021 before any lookup; malformed
  // ids and answers are invalid params; methods the extension dropped do not exist.
  for (const char* m : {"tasks/get", "tasks/update", "tasks/cancel"}) {
    EXPECT_EQ(Ask(*server, Modern(m, {{"taskId", "x"}}, plain), ann)["error"]["code"],
              kMissingRequiredClientCapability)
        << m;
  }
  EXPECT_EQ(Ask(*server, Modern("tasks/get", {{"taskId", 7}}), ann)["error"]["code"],
            kInvalidParams);
  EXPECT_EQ(
      Ask(*server, Modern("tasks/get", {{"taskId", std::string(500, 'x')}}), ann)["error"]["code"],
      kInvalidParams);
  EXPECT_EQ(Ask(*server, Modern("tasks/update", {{"taskId", t["taskId"]}}), ann)["error"]["code"],
            kInvalidParams);
  EXPECT_EQ(Ask(*server, Modern("tasks/list", json::object()), ann)["error"]["code"],
            kMethodNotFound);
  // Discovery says the extension is there.
  json discover = Ask(*server, Modern("server/discover", json::object()), ann)["result"];
  EXPECT_TRUE(discover["capabilities"]["extensions"].contains(kTasksExtension));
}

TEST(Tasks, ATaskAsksItsClientAndGoesOnWithTheAnswers) {
  auto server = Replica(MakeMemoryTaskStore());
  std::atomic<int> runs{0};
  server->AddTool(TaskTool("two", TaskSupport::kOptional, -1, [&](ToolContext& ctx) {
    ++runs;
    EXPECT_TRUE(ctx.Detach());
    auto first = ctx.Ask("first", "elicitation/create", {{"message", "first?"}});
    auto second = ctx.Ask("second", "elicitation/create", {{"message", "second?"}});
    if (!first.ok() || !second.ok()) return ToolResult::Error("could not ask");
    if (!*first || !*second) return ctx.NeedInput();
    return Ok({{"said", (**first)["content"]["v"].get<std::string>() + "+" +
                            (**second)["content"]["v"].get<std::string>()}});
  }));
  auto ann = Who("ann");
  std::string id = Ask(*server, Modern("tools/call", {{"name", "two"}}), ann)["result"]["taskId"];
  json asking = WaitFor(*server, id, ann, "input_required");
  ASSERT_EQ(asking["inputRequests"].size(), 2u) << asking.dump();
  EXPECT_EQ(asking["inputRequests"]["first"]["method"], "elicitation/create");
  EXPECT_FALSE(asking.contains("requestState"));
  auto update = [&](json answers) {
    return Ask(*server, Modern("tasks/update", {{"taskId", id}, {"inputResponses", answers}}),
               ann)["result"];
  };
  // One answer (and one to nothing asked, ignored): the other question still waits.
  json ack = update({{"first", {{"action", "accept"}, {"content", {{"v", "x"}}}}},
                     {"unknown-key", {{"ignored", true}}}});
  EXPECT_EQ(ack["resultType"], "complete");
  EXPECT_FALSE(ack.contains("status"));
  json half = Get(*server, id, ann)["result"];
  EXPECT_EQ(half["status"], "input_required");
  EXPECT_EQ(half["inputRequests"].size(), 1u);
  EXPECT_TRUE(half["inputRequests"].contains("second"));
  update({{"second", {{"action", "accept"}, {"content", {{"v", "y"}}}}}});
  json done = WaitFor(*server, id, ann, "completed");
  ASSERT_EQ(done["status"], "completed") << done.dump();
  EXPECT_EQ(done["result"]["structuredContent"]["said"], "x+y");
  EXPECT_EQ(runs, 2);  // asked once, then ran again with both answers
}

TEST(Tasks, StoppedServersAndLostReplicasFailTheirTasksAndOldOnesExpire) {
  auto store = MakeMemoryTaskStore();
  auto ann = Who("ann");
  std::string id;
  {
    auto a = Replica(store);
    a->AddTool(TaskTool("forever", TaskSupport::kOptional, 0, [](ToolContext& ctx) {
      while (!ctx.cancelled()) std::this_thread::sleep_for(1ms);
      return Ok({{"never", true}});
    }));
    id = Ask(*a, Modern("tools/call", {{"name", "forever"}}), ann)["result"]["taskId"];
  }  // the server stops: its task is told so
  auto b = Replica(store);
  json stopped = Get(*b, id, ann)["result"];
  EXPECT_EQ(stopped["status"], "failed") << stopped.dump();
  EXPECT_NE(stopped["error"]["message"].get<std::string>().find("stopped"), std::string::npos);

  // A replica killed mid-task writes nothing more: its silence fails the task.
  int64_t long_ago = NowMicros() - 3600LL * 1000 * 1000;
  json lost = {{"taskId", "lost"},
               {"status", "working"},
               {"owner", "ann"},
               {"createdAt", FormatTimestamp(long_ago)},
               {"lastUpdatedAt", FormatTimestamp(long_ago)},
               {"heartbeatMicros", long_ago},
               {"expiresMicros", NowMicros() + 3600LL * 1000 * 1000},
               {"ttlMs", 7200000}};
  ASSERT_TRUE(store->Put("lost", lost.dump()).ok());
  json t = Get(*b, "lost", ann)["result"];
  EXPECT_EQ(t["status"], "failed");
  // Past its time to live, a task is gone.
  lost["taskId"] = "old";
  lost["expiresMicros"] = NowMicros() - 1;
  ASSERT_TRUE(store->Put("old", lost.dump()).ok());
  EXPECT_EQ(Get(*b, "old", ann)["error"]["code"], kInvalidParams);
  EXPECT_FALSE(*store->Get("old"));
}

TEST(Tasks, AListenStreamFollowsTheCallersTasksToTheirEnd) {
  auto store = MakeMemoryTaskStore();
  auto a = Replica(store), b = Replica(store);
  std::atomic<bool> release{false};
  a->AddTool(TaskTool("long", TaskSupport::kOptional, 0, [&](ToolContext&) {
    while (!release) std::this_thread::sleep_for(1ms);
    return Ok({{"done", true}});
  }));
  auto ann = Who("ann"), bob = Who("bob");
  std::string mine = Ask(*a, Modern("tools/call", {{"name", "long"}}), ann)["result"]["taskId"];
  std::string theirs =
      Ask(*a, Modern("tools/call", {{"name", "long"}}, kWithTasks, 2), bob)["result"]["taskId"];
  // Listening on the other replica: the caller's own task is followed, bob's is not there.
  std::vector<json> sent;
  Session listen([&](const json& m, const json&) { sent.push_back(m); });
  listen.identity = ann;
  Message m = Modern("subscriptions/listen",
                     {{"notifications", {{"taskIds", {mine, theirs, "nope"}}}}}, kWithTasks, "l");
  EXPECT_FALSE(b->Handle(listen, m, ann));
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0]["params"]["notifications"]["taskIds"], json::array({mine}));
  b->PollSubscriptions(listen);
  EXPECT_EQ(sent.size(), 1u);  // nothing changed yet
  release = true;
  for (int i = 0; i < 1000 && sent.size() < 2; ++i) {
    std::this_thread::sleep_for(10ms);
    b->PollSubscriptions(listen);
  }
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(sent[1]["method"], "notifications/tasks");
  EXPECT_EQ(sent[1]["params"]["taskId"], mine);
  EXPECT_EQ(sent[1]["params"]["status"], "completed");
  EXPECT_EQ(sent[1]["params"]["result"]["structuredContent"]["done"], true);
  EXPECT_EQ(sent[1]["params"]["_meta"][kMetaSubscriptionId], "l");
  b->PollSubscriptions(listen);
  EXPECT_EQ(sent.size(), 2u);  // an ended task is followed no more
  // Task notifications are the extension's.
  Session plain([](const json&, const json&) {});
  auto refused = b->Handle(
      plain,
      Modern("subscriptions/listen", {{"notifications", {{"taskIds", {mine}}}}}, json::object()),
      ann);
  ASSERT_TRUE(refused);
  EXPECT_EQ((*refused)["error"]["code"], kMissingRequiredClientCapability);
}

}  // namespace supertable::mcp
