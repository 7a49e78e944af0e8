// How the server runs tool calls as tasks (the tasks extension of 2026-07-28) and answers
// tasks/get, tasks/update and tasks/cancel. The task's record in the TaskStore is the truth every
// replica reads; the process that runs a call keeps only what it needs to run it (TaskRun).
#include <algorithm>
#include <chrono>

#include <fmt/format.h>

#include "common/ids.h"
#include "mcp/server.h"

namespace supertable::mcp {

namespace {

// The replica running a task writes a heartbeat this often; a task whose heartbeat is older than
// kStaleMicros is one whose replica stopped without a word (killed): it is reported failed.
constexpr int64_t kHeartbeatMicros = 10'000'000;
constexpr int64_t kStaleMicros = 60'000'000;
constexpr int64_t kPurgeEveryMicros = 60'000'000;
constexpr size_t kMaxTaskIdBytes = 128;

std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

// Whether `owner` may see task record `t` at `now`: someone else's task, or one past its time
// to live, is as unknown as one that never was.
bool Visible(const json& t, const std::string& owner, int64_t now) {
  return t.value("expiresMicros", int64_t{0}) > now && t.value("owner", "") == owner;
}

// What a follower of a task has seen of it: notifications/tasks is sent when this changes.
std::string TaskState(const json& t) {
  return t.value("status", "") + "\x1f" + t.value("lastUpdatedAt", "");
}

void Touch(json& task, int64_t now) {
  task["lastUpdatedAt"] = FormatTimestamp(now);
  task["heartbeatMicros"] = now;
}

// How a task ends: its status, and the field (result, error) that says how.
struct Outcome {
  std::string status;
  const char* field = nullptr;
  json value;
  std::string message;
};

// What a finished call's reply (not input_required) makes of its task: a JSON-RPC error fails
// it; a result, even a tool error, completes it.
Outcome OutcomeOf(json reply) {
  if (reply.contains("error")) {
    std::string message = reply["error"].value("message", "failed");
    return {kTaskFailed, "error", std::move(reply["error"]), message};
  }
  json result = std::move(reply["result"]);
  result.erase("resultType");
  return {kTaskCompleted, "result", std::move(result), ""};
}

const Outcome kStopped{
    kTaskFailed, "error",
    json{{"code", kInternalError},
         {"message", "the server stopped before the task finished; run it again"}},
    "the server stopped"};
const Outcome kCancelled{kTaskCancelled, nullptr, nullptr, "cancelled by the client"};

void Apply(json& t, const Outcome& o, int64_t now) {
  t["status"] = o.status;
  t.erase("inputRequests");
  if (o.field) t[o.field] = o.value;
  if (!o.message.empty()) t["statusMessage"] = o.message;
  Touch(t, now);
}

// Records how a running task ended, unless it ended already (cancelled while it waited).
void Finish(TaskStore& store, const std::string& id, const Outcome& outcome) {
  auto done = MutateTask(store, id, [&](json& t) {
    if (IsTerminalTaskStatus(t.value("status", ""))) return false;
    Apply(t, outcome, NowMicros());
    return true;
  });
  (void)done;  // a record gone (expired) or unwritable: its client hears no more of it
}

}  // namespace

struct Server::TaskRun {
  std::string id;  // the task's id, once the call became one
  json request_id, params;
  std::shared_ptr<const void> identity;
  std::shared_ptr<TaskStore> store;
  std::unique_ptr<Session> session;  // the call's own: it outlives the request it came in
  std::shared_ptr<CancelToken> token = std::make_shared<CancelToken>();

  std::mutex mu;
  std::condition_variable cv;
  Session* forward = nullptr;  // the request's session, which gets what the call sends until
                               // it becomes a task
  bool done = false, cancelled = false;  // finished before it became a task: `reply` is it
  bool detach = false;                   // the tool asked to become a task now
  bool promoted = false;                 // it is becoming a task...
  bool created = false;                  // ...and its record exists
  bool abandoned = false;                // ...or its record could not be written
  bool updated = false;                  // a tasks/update for it reached this process
  bool ran = false;                      // the tool ran (the reply is its outcome, not a refusal)
  json reply;
};

std::optional<json> Server::CallAsTask(const RequestContext& rc, const Message& m, const Tool& tool,
                                       const CallOptions& options) {
  const int64_t after_ms = options.task_after_ms.value_or(tool.task_after_ms);
  const bool always = tool.task == TaskSupport::kRequired || options.always_task;
  Session& s = rc.session;
  auto run = std::make_shared<TaskRun>();
  run->request_id = m.id;
  run->params = m.params;
  run->identity = rc.identity;
  run->store = task_store;
  // Until it becomes a task, what the call sends (progress, logs) goes to its request, as a call
  // that never becomes one would; after, nothing does.
  run->session = std::make_unique<Session>(
      [w = std::weak_ptr<TaskRun>(run)](const json& message, const json& related) {
        auto r = w.lock();
        if (!r) return;
        std::lock_guard<std::mutex> g(r->mu);
        if (r->forward) r->forward->Send(message, related);
      });
  Session& own = *run->session;
  own.protocol_version = s.protocol_version;
  own.client_capabilities = s.client_capabilities;
  own.client_info = s.client_info;
  own.logger = s.logger;
  own.log_rank = s.log_rank.load();
  own.peer = s.peer;
  own.identity = rc.identity;
  own.stateless = true;
  own.initialized = true;
  std::string key = m.id.dump();
  {
    std::lock_guard<std::mutex> g(s.mu);
    if (s.in_flight.count(key)) {
      return MakeError(m.id, kInvalidRequest,
                       fmt::format("Invalid Request: request id {} is already in flight", key));
    }
    // The request's cancellation (the client went away) reaches the call until it is a task.
    s.in_flight[key] = run->token;
  }
  auto unregister = [&] {
    std::lock_guard<std::mutex> g(s.mu);
    s.in_flight.erase(key);
  };
  {
    std::lock_guard<std::mutex> g(runs_mu_);
    if (stopping_) {
      unregister();
      return MakeError(m.id, kInternalError, "Internal error: the server is stopping");
    }
    ++run_threads_;
    if (!watcher_.joinable()) watcher_ = std::thread([this] { WatchTasks(); });
  }
  run->forward = &s;
  std::thread([this, run] { RunTask(run); }).detach();

  std::unique_lock<std::mutex> lk(run->mu);
  auto ready = [&] { return run->done || run->detach; };
  if (after_ms < 0) {
    run->cv.wait(lk, ready);
  } else {
    run->cv.wait_for(lk, std::chrono::milliseconds(after_ms), ready);
  }
  run->forward = nullptr;
  std::optional<Outcome> outcome;  // of a call that finished before it became a task
  if (run->done) {
    lk.unlock();
    unregister();
    if (run->cancelled) return std::nullopt;
    // A tool that always runs as a task is answered with one even when it was quick, unless
    // it asks its client first (the plain multi round-trip pattern comes before the task) or
    // the request was refused before it ran.
    bool asks = run->reply.contains("result") &&
                run->reply["result"].value("resultType", "") == "input_required";
    if (!always || !run->ran || asks) return std::move(run->reply);
    outcome = OutcomeOf(std::move(run->reply));
  } else {
    run->promoted = true;
    lk.unlock();
    unregister();
  }

  int64_t now = NowMicros();
  json record = {{"taskId", RandomId()},
                 {"status", kTaskWorking},
                 {"createdAt", FormatTimestamp(now)},
                 {"ttlMs", task_ttl_ms},
                 {"pollIntervalMs", task_poll_interval_ms},
                 {"owner", identity_key ? identity_key(rc.identity) : std::string()},
                 {"tool", tool.name},
                 {"expiresMicros", now + task_ttl_ms * 1000},
                 {"answers", json::object()},
                 {"cancelRequested", false}};
  Touch(record, now);
  if (outcome) Apply(record, *outcome, now);
  run->id = record["taskId"].get<std::string>();
  if (!outcome) {
    std::lock_guard<std::mutex> g(runs_mu_);
    runs_[run->id] = run;
    runs_cv_.notify_all();  // the watcher looks after it from now on
  }
  // The record exists before the client learns the task's id: a tasks/get sent at once, to any
  // replica, finds it.
  const std::string none;
  Status st = task_store->Put(run->id, Dump(record), &none);
  if (outcome) {
    if (!st.ok()) {
      return MakeError(m.id, kInternalError,
                       "Internal error: the task could not be recorded: " + st.message());
    }
    return MakeResult(m.id, CreateTaskResult(record));
  }
  lk.lock();
  (st.ok() ? run->created : run->abandoned) = true;
  run->cv.notify_all();
  lk.unlock();
  if (!st.ok()) {
    run->token->Cancel();
    return MakeError(m.id, kInternalError,
                     "Internal error: the call was to go on as a task, which could not be "
                     "recorded: " +
                         st.message());
  }
  return MakeResult(m.id, CreateTaskResult(record));
}

void Server::RunTask(const std::shared_ptr<TaskRun>& run) {
  RequestContext rc{*run->session, run->identity};
  json answers = nullptr;  // null: the request's own (its requestState and inputResponses)
  auto detach = [run] {
    std::unique_lock<std::mutex> lk(run->mu);
    if (!run->promoted) {
      run->detach = true;
      run->cv.notify_all();
    }
    run->cv.wait(lk, [&] { return run->created || run->abandoned || run->done; });
    return run->created;
  };
  for (;;) {
    bool cancelled = false;
    CallHooks hooks{run->token, detach, &answers};
    json reply;
    try {
      reply = CallTool(rc, run->request_id, run->params, &cancelled, &hooks);
    } catch (const std::exception& e) {
      reply =
          MakeError(run->request_id, kInternalError, fmt::format("Internal error: {}", e.what()));
    }
    {
      std::unique_lock<std::mutex> lk(run->mu);
      if (!run->promoted) {  // answered as a plain call: the request thread sends it
        run->reply = std::move(reply);
        run->cancelled = cancelled;
        run->ran = hooks.ran;
        run->done = true;
        run->cv.notify_all();
        break;
      }
      run->cv.wait(lk, [&] { return run->created || run->abandoned; });
      if (run->abandoned) break;
    }
    if (cancelled || run->token->cancelled()) {
      Finish(*run->store, run->id, stopping_ ? kStopped : kCancelled);
      break;
    }
    if (reply.contains("result") && reply["result"].value("resultType", "") == "input_required") {
      // The call asks its client something: the task waits for the answers, then runs the
      // tool again from the start with them (as a client's retry of a plain call would).
      if (!AwaitInput(*run, reply["result"].value("inputRequests", json::object()), &answers))
        break;
      continue;
    }
    Finish(*run->store, run->id, OutcomeOf(std::move(reply)));
    break;
  }
  std::lock_guard<std::mutex> g(runs_mu_);
  if (!run->id.empty()) runs_.erase(run->id);
  --run_threads_;
  runs_cv_.notify_all();  // under the lock: ~Server may go on the moment it is released
}

bool Server::AwaitInput(TaskRun& run, const json& requests, json* answers) {
  auto asked = MutateTask(*run.store, run.id, [&](json& t) {
    if (IsTerminalTaskStatus(t.value("status", ""))) return false;
    json pending = json::object();
    for (auto it = requests.begin(); it != requests.end(); ++it) {
      if (!t["answers"].contains(it.key())) pending[it.key()] = it.value();
    }
    t["status"] = pending.empty() ? kTaskWorking : kTaskInputRequired;
    t["inputRequests"] = pending;
    Touch(t, NowMicros());
    return true;
  });
  if (!asked.ok() || !*asked) {
    // Without its record no one can answer the task; nothing more can be told.
    return false;
  }
  for (;;) {
    auto now = run.store->Get(run.id);
    json t = now.ok() && *now ? json::parse(**now, nullptr, false) : json();
    if (!t.is_object()) return false;  // expired or removed
    std::string status = t.value("status", "");
    if (IsTerminalTaskStatus(status)) return false;  // cancelled while it waited
    if (t.value("cancelRequested", false) || stopping_) {
      Finish(*run.store, run.id, stopping_ ? kStopped : kCancelled);
      return false;
    }
    if (status == kTaskWorking) {  // every question answered
      if (!answers->is_object()) *answers = json::object();
      for (auto it = t["answers"].begin(); it != t["answers"].end(); ++it)
        (*answers)[it.key()] = it.value();
      return true;
    }
    std::unique_lock<std::mutex> lk(run.mu);
    run.cv.wait_for(lk, std::chrono::milliseconds(run.store->poll_ms()),
                    [&] { return run.updated || stopping_.load(); });
    run.updated = false;
  }
}

std::shared_ptr<Server::TaskRun> Server::LocalRun(const std::string& task_id) {
  std::lock_guard<std::mutex> g(runs_mu_);
  auto it = runs_.find(task_id);
  return it == runs_.end() ? nullptr : it->second;
}

json Server::TaskMethod(const RequestContext& rc, const Message& m) {
  const json& id = m.id;
  const json& p = m.params;
  auto tid = p.find("taskId");
  if (tid == p.end() || !tid->is_string() || tid->get_ref<const std::string&>().empty() ||
      tid->get_ref<const std::string&>().size() > kMaxTaskIdBytes) {
    return MakeError(id, kInvalidParams,
                     fmt::format("Invalid params: {} needs 'taskId': the string a tools/call "
                                 "answered with resultType 'task'",
                                 m.method));
  }
  const std::string task_id = *tid;
  json responses = json::object();
  if (m.method == "tasks/update") {
    auto r = p.find("inputResponses");
    bool ok = r != p.end() && r->is_object() &&
              std::all_of(r->begin(), r->end(), [](const json& v) { return v.is_object(); });
    if (!ok) {
      return MakeError(id, kInvalidParams,
                       "Invalid params: tasks/update needs 'inputResponses': an object of "
                       "answers (ElicitResult, CreateMessageResult, ...) by the keys of the "
                       "task's inputRequests");
    }
    responses = *r;
  }
  const std::string owner = identity_key ? identity_key(rc.identity) : std::string();
  const int64_t now = NowMicros();
  auto local = LocalRun(task_id);
  bool visible = false, expired = false;
  auto after = MutateTask(*task_store, task_id, [&](json& t) {
    expired = t.value("expiresMicros", int64_t{0}) <= now;
    visible = Visible(t, owner, now);
    if (!visible) return false;
    std::string status = t.value("status", "");
    if (IsTerminalTaskStatus(status)) return false;
    if (m.method == "tasks/get") {
      // Running, but its replica has not been heard of for long: it stopped without a word.
      if (local || now - t.value("heartbeatMicros", now) < kStaleMicros) return false;
      Apply(t, kStopped, now);
      return true;
    }
    if (m.method == "tasks/update") {
      if (status != kTaskInputRequired) return false;
      bool changed = false;
      json& pending = t["inputRequests"];
      for (auto it = responses.begin(); it != responses.end(); ++it) {
        if (!pending.contains(it.key())) continue;  // unknown or answered before: ignored
        t["answers"][it.key()] = it.value();
        pending.erase(it.key());
        changed = true;
      }
      if (pending.empty()) {
        t["status"] = kTaskWorking;
        t.erase("inputRequests");
      }
      if (changed) Touch(t, now);
      return changed;
    }
    // tasks/cancel: the replica running it stops it; one waiting for its client's answers is
    // cancelled at once.
    t["cancelRequested"] = true;
    if (status == kTaskInputRequired) Apply(t, kCancelled, now);
    Touch(t, now);
    return true;
  });
  if (!after.ok()) {
    return MakeError(id, kInternalError,
                     "Internal error: the task store failed: " + after.status().message());
  }
  if (!*after || !visible) {
    if (expired) (void)task_store->Remove(task_id);
    return MakeError(id, kInvalidParams,
                     fmt::format("Invalid params: unknown task '{}' (it never existed, expired, or "
                                 "is not yours)",
                                 task_id),
                     {{"taskId", task_id}});
  }
  if (local && m.method != "tasks/get") {
    if (m.method == "tasks/cancel") local->token->Cancel();
    std::lock_guard<std::mutex> g(local->mu);
    local->updated = true;
    local->cv.notify_all();
  }
  if (m.method == "tasks/get") {
    json r = DetailedTask(**after);
    r["resultType"] = "complete";
    return MakeResult(id, std::move(r));
  }
  return MakeResult(id, json::object());
}

std::optional<json> Server::VisibleTask(const RequestContext& rc, const std::string& task_id) {
  auto body = task_store->Get(task_id);
  if (!body.ok() || !*body) return std::nullopt;
  json t = json::parse(**body, nullptr, false);
  const std::string owner = identity_key ? identity_key(rc.identity) : std::string();
  if (!t.is_object() || !Visible(t, owner, NowMicros())) return std::nullopt;
  return t;
}

json Server::FollowTasks(const RequestContext& rc, const json& ids) {
  json accepted = json::array();
  std::map<std::string, std::string> watches;
  for (const auto& id : ids) {
    if (!id.is_string() || watches.count(id)) continue;
    auto t = VisibleTask(rc, id);
    if (!t) continue;  // not the caller's, or gone: left out, as if it never was
    watches[id] = TaskState(*t);
    accepted.push_back(id);
  }
  std::lock_guard<std::mutex> g(rc.session.mu);
  rc.session.task_watches = std::move(watches);
  return accepted;
}

void Server::PollTasks(Session& session) {
  std::map<std::string, std::string> watches;
  {
    std::lock_guard<std::mutex> g(session.mu);
    watches = session.task_watches;
  }
  RequestContext rc{session, session.identity};
  for (const auto& [id, seen] : watches) {
    auto t = VisibleTask(rc, id);
    std::string now = t ? TaskState(*t) : "";
    if (now == seen) continue;
    {
      std::lock_guard<std::mutex> g(session.mu);
      // A task that ended (or is gone) has nothing more to tell.
      if (!t || IsTerminalTaskStatus(t->value("status", ""))) {
        session.task_watches.erase(id);
      } else {
        session.task_watches[id] = now;
      }
    }
    if (t) session.Notify(MakeNotification("notifications/tasks", DetailedTask(*t)));
  }
}

void Server::WatchTasks() {
  int64_t purged = 0;
  std::unique_lock<std::mutex> lk(runs_mu_);
  while (!stopping_) {
    runs_cv_.wait_for(lk, runs_.empty() ? std::chrono::milliseconds(kPurgeEveryMicros / 1000)
                                        : std::chrono::milliseconds(task_store->poll_ms()));
    if (stopping_) break;
    std::vector<std::shared_ptr<TaskRun>> runs;
    for (const auto& [id, run] : runs_) runs.push_back(run);
    lk.unlock();
    int64_t now = NowMicros();
    for (const auto& run : runs) {
      {
        std::lock_guard<std::mutex> g(run->mu);
        if (!run->created) continue;
      }
      // What another replica wrote: a cancel is passed on to the running call.
      auto body = task_store->Get(run->id);
      if (!body.ok() || !*body) continue;
      json t = json::parse(**body, nullptr, false);
      if (!t.is_object()) continue;
      if (t.value("cancelRequested", false)) run->token->Cancel();
      if (now - t.value("heartbeatMicros", now) >= kHeartbeatMicros) {
        (void)MutateTask(*task_store, run->id, [&](json& r) {
          if (IsTerminalTaskStatus(r.value("status", ""))) return false;
          r["heartbeatMicros"] = now;
          return true;
        });
      }
    }
    if (now - purged >= kPurgeEveryMicros) {
      purged = now;
      if (auto ids = task_store->Ids(); ids.ok()) {
        for (const auto& id : *ids) {
          auto body = task_store->Get(id);
          if (!body.ok() || !*body) continue;
          json t = json::parse(**body, nullptr, false);
          if (!t.is_object() || t.value("expiresMicros", int64_t{0}) <= now)
            (void)task_store->Remove(id);
        }
      }
    }
    lk.lock();
  }
}

Server::~Server() {
  std::unique_lock<std::mutex> lk(runs_mu_);
  stopping_ = true;
  for (const auto& [id, run] : runs_) {
    run->token->Cancel();
    std::lock_guard<std::mutex> g(run->mu);
    run->cv.notify_all();
  }
  runs_cv_.notify_all();
  runs_cv_.wait(lk, [&] { return run_threads_ == 0; });
  lk.unlock();
  if (watcher_.joinable()) watcher_.join();
}

}  // namespace supertable::mcp
