// McpServer: the Model Context Protocol, independent of transport and of what the tools do.
// It owns the registries (tools, resources, resource templates, prompts, completions), runs
// the lifecycle (initialize with version negotiation, initialized, ping), validates tool input
// against each tool's JSON Schema, and runs tool calls through a middleware chain (logging,
// error handling, size guard, caching live there, not in tools). A transport feeds it parsed
// messages per Session and delivers what the session's `send` is given.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <shared_mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/cancel_token.h"
#include "common/status.h"
#include "mcp/json_rpc.h"
#include "mcp/tasks.h"

namespace supertable::mcp {

inline constexpr size_t kMaxSubscriptions = 100;  // per session

// The legacy era: revisions that open a session with initialize, newest first.
inline const std::vector<std::string> kSupportedProtocolVersions = {"2025-11-25", "2025-06-18",
                                                                    "2025-03-26", "2024-11-05"};
// The modern era: revisions whose every request carries its version, the client's capabilities
// and identity in params._meta, served statelessly (2026-07-28 and later).
inline const std::vector<std::string> kModernProtocolVersions = {"2026-07-28"};
inline constexpr const char* kMetaProtocolVersion = "io.modelcontextprotocol/protocolVersion";
inline constexpr const char* kMetaClientCapabilities = "io.modelcontextprotocol/clientCapabilities";
inline constexpr const char* kMetaClientInfo = "io.modelcontextprotocol/clientInfo";
inline constexpr const char* kMetaLogLevel = "io.modelcontextprotocol/logLevel";
inline constexpr const char* kMetaServerInfo = "io.modelcontextprotocol/serverInfo";
// The id of the subscriptions/listen request a notification is delivered for.
inline constexpr const char* kMetaSubscriptionId = "io.modelcontextprotocol/subscriptionId";

// A request of the modern era: its params' _meta claims a protocol version (any value; an
// unsupported one is refused as such). An initialize without the claim opens a legacy session.
bool IsModernRequest(const Message& m);

// RFC 5424 levels, as MCP logging uses them, lowest first.
int LogLevelRank(const std::string& level);  // -1 when unknown

// How a transport delivers a message. `related` is the id of the client request the message
// belongs to (progress, logs and nested requests of a tool call; the final response) or null;
// the HTTP transport uses it to pick the SSE stream, stdio ignores it.
using SendFn = std::function<void(const json& message, const json& related)>;

// Lets the server reach live sessions (list_changed broadcasts) without owning them: the
// session clears it when it goes away.
struct SessionLink {
  std::mutex mu;
  class Session* session = nullptr;
};

// One client connection's state. Transports create it and give it a way to send.
class Session {
 public:
  explicit Session(SendFn send) : send_(std::move(send)), link_(std::make_shared<SessionLink>()) {
    link_->session = this;
  }
  ~Session() {
    std::lock_guard<std::mutex> g(link_->mu);
    link_->session = nullptr;
  }
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;
  std::weak_ptr<SessionLink> link() const { return link_; }
  // Interrupts every request of this session that is running (session end, shutdown).
  void CancelAll() {
    std::lock_guard<std::mutex> g(mu);
    for (auto& [id, token] : in_flight) token->Cancel();
  }
  // Stops server broadcasts from reaching this session; transports call it when it ends.
  void Detach() {
    std::lock_guard<std::mutex> g(link_->mu);
    link_->session = nullptr;
  }
  void Send(const json& message, const json& related = nullptr) { send_(message, related); }

  // Sends a request to the client (sampling, elicitation, roots) and waits for its answer.
  // The result, or an error saying what the client answered, that it did not answer within
  // `timeout_ms`, or that `cancel` fired.
  Result<json> Request(const std::string& method, json params, const json& related,
                       int64_t timeout_ms, const CancelToken* cancel = nullptr);
  // Delivers a client's response to the Request waiting for it; false when none waits.
  bool Resolve(const Message& response);
  // Ends the transport stream of a request that is still running, without answering it: the
  // client reconnects and receives the answer later (SSE polling). Transports that have no
  // such stream set nothing and the call does nothing.
  std::function<void(const json& request_id)> close_request_stream;
  std::string logger = "mcp";  // the "logger" of notifications/message: the server's name

  std::string protocol_version;
  std::atomic<bool> initialized{false};
  // A modern-era request's session: the server may not send the client requests on it (the
  // revision replaced them with the multi round-trip pattern).
  bool stateless = false;
  // Who the session acts as, for the server's handlers: opaque here (this library knows nothing
  // of users). Set by the transport: stdio once, HTTP from the initialize; a request that
  // carries its own identity (Server::Handle's `identity`) acts as that one instead.
  std::shared_ptr<const void> identity;
  std::atomic<int> log_rank{LogLevelRank("info")};
  json client_info;
  json client_capabilities = json::object();  // what the client declared at initialize
  json peer = json::object();  // where the client connects from, as the transport knows it

  // What the server's application derives once per session (opaque here), by name: built by
  // `make` on first use after initialize, when client_info and peer no longer change.
  std::shared_ptr<const void> Memo(const std::string& key,
                                   const std::function<std::shared_ptr<const void>()>& make) {
    std::lock_guard<std::mutex> g(mu);
    auto& slot = memo_[key];
    if (!slot) slot = make();
    return slot;
  }

  // The session of a subscriptions/listen request (modern era): the request's id, which tags
  // every notification it delivers, and whether it takes tool list changes. Set once, before
  // the session is registered for broadcasts.
  struct Listen {
    json id;
    bool tools = false;
  };
  std::optional<Listen> listen;
  // Sends a notification the client subscribed to: on a listen session, tagged with its id
  // (and related to it, so a transport finds its stream).
  void Notify(json note) {
    if (!listen) return Send(note);
    note["params"]["_meta"][kMetaSubscriptionId] = listen->id;
    Send(note, listen->id);
  }

  std::mutex mu;
  std::map<std::string, std::string> subscriptions;  // resource URI -> fingerprint last seen
  // Tasks a listen session follows (notifications/tasks): task id -> the state last sent.
  std::map<std::string, std::string> task_watches;
  std::map<std::string, std::shared_ptr<CancelToken>> in_flight;  // request id (dumped) -> token

 private:
  struct Pending {
    bool done = false;
    Message response;
  };
  SendFn send_;
  std::shared_ptr<SessionLink> link_;
  std::condition_variable answered_;
  int64_t next_request_id_ = 1;
  std::map<std::string, std::shared_ptr<Pending>> awaiting_;  // our request id -> its answer
  std::map<std::string, std::shared_ptr<const void>> memo_;   // under mu
};

// The identity a request acts as (Session::identity unless the request brought its own), and
// its session: what every handler of tools, resources, prompts and completions is given.
struct RequestContext {
  Session& session;
  std::shared_ptr<const void> identity;
};

struct ToolAnnotations {
  bool read_only = true;
  bool destructive = false;
  bool idempotent = true;
  bool open_world = false;
};

struct ToolResult {
  json structured;  // structuredContent (and, dumped, the text content)
  // Explicit content blocks (text, image, audio, resource, ...); null: `structured` dumped as
  // one text block.
  json content;
  bool is_error = false;
  // Set by ToolContext::NeedInput: the call cannot finish before the client answers what Ask
  // left pending (modern era: an InputRequiredResult).
  bool input_required = false;
  // Set by ProtocolError: the call fails as a JSON-RPC error ({code, message}), not as a tool
  // error the model reads (a task of such a call ends "failed").
  json rpc_error = nullptr;
  static ToolResult Error(const std::string& message, json details = nullptr);
  static ToolResult ProtocolError(int code, const std::string& message);
};

// What one request (a tool call, a prompt) asks its client (elicitation/create,
// sampling/createMessage, roots/list), one body for both eras. Legacy era: a request to the
// client, waited for. Modern era (2026-07-28, the multi round-trip pattern): the answer the
// client sent back under the question's key, or nothing yet; the question is then pending, the
// server answers input_required with it, and the client asks again with the answers, so the
// request runs again from the start.
class ClientInput {
 public:
  ClientInput(Session& session, json request_id, const CancelToken* cancel = nullptr)
      : session_(session), request_id_(std::move(request_id)), cancel_(cancel) {}
  // Asks under `key`, unique within the request: the answer, or nullopt while it is pending
  // (modern era). An error when the client did not declare the capability the method needs,
  // or answered with something that is not a result of that method.
  Result<std::optional<json>> Ask(const std::string& key, const std::string& method, json params,
                                  int64_t timeout_ms = 60000);
  // The questions left pending, by key (the server answers them as inputRequests), and the
  // answers known so far (from the client and from earlier rounds).
  const json& pending() const { return pending_; }
  json& answers() { return answers_; }
  // True when the request came back with a request state this server issued and verified.
  bool resumed() const { return resumed_; }
  void set_resumed() { resumed_ = true; }

 private:
  Session& session_;
  json request_id_;
  const CancelToken* cancel_;
  json pending_ = json::object();
  json answers_ = json::object();
  bool resumed_ = false;
};

// What a running tool can see and do: its arguments, progress, cancellation, logging.
class ToolContext {
 public:
  // `input`: what the call has asked its client so far (ClientInput), with the answers it
  // brought back.
  ToolContext(Session& session, json request_id, const json& arguments, json progress_token,
              std::shared_ptr<CancelToken> cancel, std::shared_ptr<const void> identity,
              ClientInput input);
  const json& arguments() const { return arguments_; }
  CancelToken& cancel() { return *cancel_; }
  bool cancelled() const { return cancel_->cancelled(); }
  // notifications/progress, when the request asked for it with a progressToken.
  void Progress(double progress, std::optional<double> total = std::nullopt,
                const std::string& message = "");
  // notifications/message, when the session's level admits it.
  void Log(const std::string& level, const json& data);
  // Closes this call's response stream now; the answer follows when the client reconnects.
  void CloseStream() {
    if (session_.close_request_stream) session_.close_request_stream(request_id_);
  }
  // A request to the client on behalf of this call (sampling/createMessage, elicitation/create).
  Result<json> AskClient(const std::string& method, json params, int64_t timeout_ms = 60000);
  // Asks the client something under `key` (ClientInput::Ask); a tool whose question is
  // pending returns NeedInput().
  Result<std::optional<json>> Ask(const std::string& key, const std::string& method, json params,
                                  int64_t timeout_ms = 60000) {
    return input_.Ask(key, method, std::move(params), timeout_ms);
  }
  // The result that asks the client for everything Ask left pending.
  ToolResult NeedInput() const;
  // Answers the client with a task now (the tasks extension) while the call goes on: true
  // when the call is a task from here on, false when it cannot become one (a legacy session,
  // a client without the extension, a tool without task support) and goes on as it was. A
  // task's progress and logs are not sent (the revision sends a task's client nothing but its
  // status).
  bool Detach() { return detach_ ? detach_() : false; }
  void set_detach(std::function<bool()> fn) { detach_ = std::move(fn); }
  // The W3C traceparent the request carried in params._meta (OpenTelemetry), or "".
  const std::string& trace() const { return trace_; }
  void set_trace(std::string t) { trace_ = std::move(t); }
  // True when the call came back with a request state this server issued and verified.
  bool resumed() const { return input_.resumed(); }
  ClientInput& input() { return input_; }
  Session& session() { return session_; }
  const std::shared_ptr<const void>& identity() const { return identity_; }
  // What a tool tells the middleware around it about the call (tables read, rows): never sent.
  json& notes() { return notes_; }
  RequestContext request() { return {session_, identity_}; }
  const json& request_id() const { return request_id_; }
  const json& progress_token() const { return progress_token_; }

 private:
  Session& session_;
  json request_id_;
  const json& arguments_;
  json progress_token_;
  std::shared_ptr<CancelToken> cancel_;
  std::shared_ptr<const void> identity_;
  json notes_ = json::object();
  ClientInput input_;
  std::string trace_;
  std::function<bool()> detach_;
};

// A tool argument a modern HTTP client also sends as a header, `Mcp-Param-{name}` (the
// x-mcp-header keyword on a property of the tool's input schema), so that a proxy can route on
// it without reading the body: the property's path in the arguments, its type, the name.
struct HeaderParam {
  std::vector<std::string> path;
  std::string type;  // "string", "integer" or "boolean"
  std::string name;
};
// The x-mcp-header parameters of an input schema, or what breaks the revision's rules for them
// (a non-empty RFC 9110 token, unique regardless of case, on a string, integer or boolean
// property reached through `properties` alone).
Result<std::vector<HeaderParam>> HeaderParamsOf(const json& input_schema);
// Whether an Mcp-Param-* header's value (decoded) says what the body's value says: strings
// exactly, integers as numbers (42 and 42.0 alike), booleans as true/false.
bool HeaderSays(const std::string& header, const json& value);

struct Tool {
  std::string name, title, description;
  json input_schema;
  json output_schema;  // null: none
  ToolAnnotations annotations;
  std::function<ToolResult(ToolContext&)> handler;
  // Answers in microseconds from memory, never blocking on I/O: a transport may run it on its
  // network thread instead of handing it to a worker (no thread switch per call).
  bool quick = false;
  // The OAuth scope a caller's credential must carry (Server::has_scope decides); empty: none.
  std::string required_scope = "";
  // The client capabilities the tool cannot work without (e.g. {"sampling": {}}), as the
  // client must declare them: a modern request without them is refused with -32021, a legacy
  // session's call gets a tool error. Null: none.
  json required_client_capabilities = nullptr;
  // Filled by Server::AddTool from input_schema (HeaderParamsOf).
  std::vector<HeaderParam> header_params = {};
  // Whether a modern client that declares the tasks extension may get a task for a call of
  // this tool, and when: a call still running after task_after_ms is answered with a task
  // (0: at once; -1: only when the tool calls ToolContext::Detach).
  TaskSupport task = TaskSupport::kNone;
  int64_t task_after_ms = -1;
};

using ToolCall = std::function<ToolResult(const Tool&, ToolContext&)>;
// Wraps a tool call: do something around `next(tool, ctx)`, or answer without calling it.
using Middleware = std::function<ToolResult(const Tool&, ToolContext&, const ToolCall& next)>;

struct ResourceContent {
  std::string uri, mime_type, text;
  std::string blob;  // base64, for binary resources (then `text` is unused)
};

struct Resource {
  std::string uri, name, title, description, mime_type;
};

// A family of resources under a URI template such as "supertable://{super}/{table}". A
// template without variables ("test://static-text") is a single resource: listed by resources/
// list, not by resources/templates/list.
struct ResourceTemplate {
  std::string uri_template, name, title, description, mime_type;
  std::function<std::vector<Resource>(const RequestContext&)>
      list;  // concrete resources, for resources/list
  // Reads one URI matching the template; variables filled from it. Error text on failure.
  std::function<std::optional<ResourceContent>(
      const RequestContext&, const std::map<std::string, std::string>& vars, std::string* error)>
      read;
  // Values for one variable, given what the client typed and the other variables.
  std::function<std::vector<std::string>(const RequestContext&, const std::string& variable,
                                         const std::string& prefix,
                                         const std::map<std::string, std::string>& context)>
      complete;
  // A cheap fingerprint of a resource's current state (e.g. a table version); when it changes,
  // subscribers get notifications/resources/updated. Empty: resources of this template never
  // change.
  std::function<std::string(const RequestContext&, const std::map<std::string, std::string>& vars)>
      fingerprint;
};

struct PromptArgument {
  std::string name, description;
  bool required = false;
};

struct Prompt {
  std::string name, title, description;
  std::vector<PromptArgument> arguments;
  // -> messages array, or {"error": "..."} to refuse the arguments. A prompt may ask the
  // client (input.Ask); one whose question is pending is answered input_required (modern era).
  std::function<json(const RequestContext&, const std::map<std::string, std::string>& args,
                     ClientInput& input)>
      render;
  std::function<std::vector<std::string>(const RequestContext&, const std::string& argument,
                                         const std::string& prefix,
                                         const std::map<std::string, std::string>& context)>
      complete;
};

struct ServerInfo {
  std::string name, title, version, instructions;
};

class Server {
 public:
  explicit Server(ServerInfo info);
  // Stops the tasks this process runs (each ends "failed": the server stopped) and waits for
  // them. Transports must be stopped first.
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Tools may be added and removed while sessions are open (a library of approved queries):
  // initialized sessions then get notifications/tools/list_changed. An input schema whose
  // x-mcp-header annotations break the revision's rules is a programming error: it throws
  // std::invalid_argument, saying which. A tool of the same name is
  // replaced.
  void AddTool(Tool tool);
  bool RemoveTool(const std::string& name);
  void AddResourceTemplate(ResourceTemplate t);
  void AddPrompt(Prompt p);
  void Use(Middleware m);  // the first added runs outermost
  size_t page_size = 50;   // items per tools/list, resources/list, prompts/list page

  // Handles one parsed message, as `identity` (nullptr: the session's). Returns the reply for a
  // request (nullopt for notifications, responses, and requests cancelled by the client, which
  // get no reply). A modern-era request (IsModernRequest) is served by the 2026-07-28 rules
  // from its own _meta alone: `session` must then be one made for that request only (the
  // transport's), which this fills from the _meta; nothing of it outlives the request.
  std::optional<json> Handle(Session& session, const Message& message,
                             std::shared_ptr<const void> identity = nullptr);
  // For callers in this process that are front doors of their own (the REST API's statements):
  // how a modern tools/call of a task-capable tool becomes a task, instead of the tool's own
  // task_after_ms. Not reachable from the wire.
  struct CallOptions {
    std::optional<int64_t> task_after_ms;  // a call still running after this is a task
    bool always_task = false;              // a task even when it finishes at once
  };
  std::optional<json> Handle(Session& session, const Message& message,
                             std::shared_ptr<const void> identity, const CallOptions& options);

  // The error a modern-era request gets before it is dispatched, or nullopt: a malformed _meta
  // (-32602), an unsupported version (-32022), a method this era does not have (-32601).
  // Transports answer these with HTTP 400 (404 for the last); Handle checks them too.
  std::optional<json> ModernEntryError(const Message& m) const;
  // How long a modern client may reuse a list or a read, in ms (ttlMs of cacheable results). Lists
  // change at run time (tools) and vary by caller, so the default is 0: always revalidate.
  int64_t cache_ttl_ms = 0;

  // Called for every initialize (a client's login to a session), with its params.
  std::function<void(const RequestContext&, const json& params)> on_initialize;

  // Whether an identity's credential carries an OAuth scope (tools' required_scope). Unset:
  // every identity has every scope.
  std::function<bool(const std::shared_ptr<const void>& identity, const std::string& scope)>
      has_scope;
  // The key a request state is bound to for `identity` (the principal), so that no one else
  // can use it. Unset: "" for everyone.
  std::function<std::string(const std::shared_ptr<const void>& identity)> identity_key;
  // The key request states are signed with (HMAC-SHA256). Replicas that serve one client must
  // share it; by default each process makes its own.
  std::string state_key;
  // Where tasks are kept (the tasks extension). Replicas that serve one client must share it;
  // by default each process keeps its own in memory. Set before the first request.
  std::shared_ptr<TaskStore> task_store = MakeMemoryTaskStore();
  // How long a task and its result are kept after it was created (ttlMs), and how often a
  // client is asked to poll it (pollIntervalMs), in ms.
  int64_t task_ttl_ms = 3600 * 1000;
  int64_t task_poll_interval_ms = 500;
  // The scope a tools/call message needs that `identity` lacks, or "" (the HTTP transport
  // answers 403 insufficient_scope before running it).
  std::string MissingScope(const Message& m, const std::shared_ptr<const void>& identity) const;
  // The Mcp-Param-* headers a modern HTTP tools/call must carry: each header name with the
  // body value it must repeat (arguments that are absent or null need none).
  std::vector<std::pair<std::string, json>> ParamHeaders(const Message& m) const;

  // Sends notifications/resources/updated for every subscribed resource whose fingerprint changed
  // since the last call. Transports call it every second or so, for legacy sessions and listen
  // sessions alike.
  void PollSubscriptions(Session& session);
  // The result that ends a subscriptions/listen request whose session `s` the transport kept
  // open (Handle answered it with nothing but the acknowledgement): the server is closing it.
  json EndListen(const Session& s) const;
  std::vector<std::shared_ptr<const Tool>> tools() const;
  // True when handling `m` is quick and never blocks (ping, the fixed lists, quick tools), so a
  // transport may answer it on its network thread.
  bool CanRunInline(const Message& m) const;

 private:
  json Initialize(Session& s, const json& params);
  std::optional<json> HandleLegacy(Session& s, const Message& m,
                                   std::shared_ptr<const void> identity);
  std::optional<json> HandleModern(Session& s, const Message& m,
                                   std::shared_ptr<const void> identity,
                                   const CallOptions& options);
  json Capabilities() const;
  // subscriptions/listen: checks the filter, subscribes `s` to what the server honours, sends
  // the acknowledgement and answers nothing (the transport keeps the session open), or an error.
  std::optional<json> Listen(const RequestContext& rc, const Message& m);
  // A request state: what the client must send back to continue a call, signed, bound to the
  // method, the call's name and arguments, the principal, and a deadline.
  std::string SignState(const RequestContext& rc, const std::string& method, const json& params,
                        const json& answers) const;
  // The answers a request state carries, after checking all it is bound to; an error message
  // in `*error` when it fails.
  // The answers a modern tool call brings (its verified request state's, then its
  // inputResponses); *resumed when it brought a request state. An error says what is invalid.
  Result<json> InputAnswers(const RequestContext& rc, const std::string& method, const json& params,
                            bool* resumed) const;
  // The answers a request brings (InputAnswers) given to `input`; an error reply when they are
  // refused.
  std::optional<json> TakeAnswers(const RequestContext& rc, const json& id,
                                  const std::string& method, const json& params,
                                  ClientInput& input) const;
  // The input_required result asking for what `input` left pending.
  json InputRequired(const RequestContext& rc, const json& id, const std::string& method,
                     const json& params, ClientInput& input) const;
  std::optional<json> VerifyState(const RequestContext& rc, const std::string& method,
                                  const json& params, const std::string& state,
                                  std::string* error) const;
  // How a call that may become a task runs (CallAsTask): its token, how the tool detaches, and
  // the answers it knows (in: null for the request's own; out: all the call has after it).
  struct CallHooks {
    std::shared_ptr<CancelToken> token;
    std::function<bool()> detach;
    json* answers = nullptr;
    bool ran = false;  // out: the tool ran (it was not refused before)
  };
  json CallTool(const RequestContext& rc, const json& id, const json& params, bool* cancelled,
                CallHooks* hooks = nullptr);
  // The client capabilities a call of `tool` needs (its own, and the tasks extension for a
  // tool that cannot run without it).
  json NeedsOf(const Tool& tool) const;
  // The tasks extension. A call of a task-capable tool by a client that declares it runs on a
  // thread and session of its own; if it finishes in time its answer is the request's, if not
  // (or the tool detaches) the request is answered with a task recorded in task_store, and the
  // call's outcome goes there when it ends.
  struct TaskRun;
  std::optional<json> CallAsTask(const RequestContext& rc, const Message& m, const Tool& tool,
                                 const CallOptions& options);
  void RunTask(const std::shared_ptr<TaskRun>& run);
  // Records that a running task asks its client for input; waits until every question is
  // answered (tasks/update, on any replica), then false if the task ended meanwhile.
  bool AwaitInput(TaskRun& run, const json& requests, json* answers);
  // tasks/get, tasks/update, tasks/cancel: a task is visible to its creator alone.
  json TaskMethod(const RequestContext& rc, const Message& m);
  std::shared_ptr<TaskRun> LocalRun(const std::string& task_id);
  // The record of a task `rc` may see (its own, not expired), or nullopt.
  std::optional<json> VisibleTask(const RequestContext& rc, const std::string& task_id);
  // Makes the listen session of `rc` follow the tasks `ids` names that it may see: those ids.
  json FollowTasks(const RequestContext& rc, const json& ids);
  // Sends notifications/tasks for each followed task whose state changed (PollSubscriptions).
  void PollTasks(Session& session);
  // One thread per server while tasks run here: passes on cancels and keeps heartbeats that
  // other replicas read, and purges expired tasks.
  void WatchTasks();
  json ToolJson(const Tool& t) const;
  std::optional<json> ReadResource(const RequestContext& rc, const std::string& uri,
                                   std::string* error);
  std::string Fingerprint(const RequestContext& rc, const std::string& uri);
  json Complete(const RequestContext& rc, const json& params, std::string* error);

  ServerInfo info_;
  json server_info_;  // info_ as results carry it (serverInfo), built once
  std::shared_ptr<const Tool> FindTool(const std::string& name) const;
  void BroadcastToolsChanged();

  mutable std::shared_mutex tools_mu_;  // tools change at run time; calls copy what they use
  std::vector<std::shared_ptr<const Tool>> tools_;
  std::mutex sessions_mu_;
  std::vector<std::weak_ptr<SessionLink>> sessions_;  // initialized sessions, for broadcasts
  std::vector<ResourceTemplate> templates_;
  std::vector<Prompt> prompts_;
  std::vector<Middleware> middleware_;

  std::mutex runs_mu_;
  std::condition_variable runs_cv_;
  std::map<std::string, std::shared_ptr<TaskRun>> runs_;  // tasks this process runs, by id
  int run_threads_ = 0;                                   // threads of RunTask alive
  std::atomic<bool> stopping_{false};
  std::thread watcher_;
};

// Matches "supertable://{super}/{table}" against a URI; nullopt when it does not fit.
// A request's W3C trace context (params._meta.traceparent, "00-<trace id>-<span id>-<flags>"),
// or "" when it has none or it is malformed (then it is ignored, as W3C Trace Context says).
std::string TraceparentOf(const json& params);

// The capabilities of `required` (a ClientCapabilities object) that `declared` lacks; empty
// when it has them all.
json MissingCapabilities(const json& required, const json& declared);

std::optional<std::map<std::string, std::string>> MatchUriTemplate(const std::string& tmpl,
                                                                   const std::string& uri);

}  // namespace supertable::mcp
