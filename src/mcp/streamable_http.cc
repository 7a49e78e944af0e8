// Streamable HTTP: sessions, streams and resumption on top of the HTTP server. Messages for the
// client are routed to a stream: progress, logs, nested requests and the final response of a
// request answered by SSE go to that request's stream; everything else goes to the session's
// GET stream. Each stream keeps its last events, so a client that reconnects with
// Last-Event-ID gets what it missed; what is kept is bounded per stream, per session and in
// total, and only the server's own progress (an answer) starts the clock that forgets it: a
// client cannot extend it.
#include "mcp/streamable_http.h"

#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <deque>
#include <map>
#include <mutex>
#include <shared_mutex>

#include <fmt/format.h>

#include "common/crypto.h"
#include "common/ids.h"
#include "common/log.h"
#include "common/net.h"
#include "common/text.h"
#include "common/work_queue.h"

namespace supertable::mcp {

namespace {

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// An HTTP error whose body is a JSON-RPC error without id, as the specification asks.
http::Response RpcError(int status, int code, const std::string& message,
                        const json& id = nullptr) {
  http::Response r;
  r.status = status;
  // Messages quote what the client sent (Host, Origin, paths), which may not be valid UTF-8.
  r.body = MakeError(id, code, message).dump(-1, ' ', false, json::error_handler_t::replace);
  return r;
}

// True when an Accept header admits `type` ("text/event-stream"), wildcards included.
bool Accepts(const std::optional<std::string>& accept, const std::string& type) {
  if (!accept) return false;
  std::string a = AsciiLower(*accept);
  std::string major = type.substr(0, type.find('/'));
  size_t pos = 0;
  while (pos <= a.size()) {
    size_t end = a.find(',', pos);
    if (end == std::string::npos) end = a.size();
    std::string item = a.substr(pos, end - pos);
    item = item.substr(0, item.find(';'));
    item.erase(0, item.find_first_not_of(" \t"));
    item.erase(item.find_last_not_of(" \t") + 1);
    if (item == type || item == "*/*" || item == major + "/*") return true;
    pos = end + 1;
  }
  return false;
}

// "host:port" or "[v6]:port" -> host without port, lowercased.
std::string HostOnly(const std::string& host_header) {
  std::string h = AsciiLower(host_header);
  if (!h.empty() && h[0] == '[') {
    size_t close = h.find(']');
    return close == std::string::npos ? h : h.substr(0, close + 1);
  }
  return h.substr(0, h.find(':'));
}

std::string SseEvent(const std::string& id, const json& message) {
  return fmt::format("id: {}\nevent: message\ndata: {}\n\n", id,
                     message.dump(-1, ' ', false, json::error_handler_t::replace));
}

// An event of a modern request's stream: no id, since nothing is resumed in that era.
std::string SseEvent(const json& message) {
  return fmt::format("event: message\ndata: {}\n\n",
                     message.dump(-1, ' ', false, json::error_handler_t::replace));
}

}  // namespace

std::string ClientKey(const http::Request& r) {
  return r.identity_key.empty() ? r.peer : r.identity_key;
}

void BlockStopSignals() {
  // A client that goes away must not kill the server through a write to its socket.
  signal(SIGPIPE, SIG_IGN);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

int WaitForStopSignal() {
  BlockStopSignals();
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  int sig = 0;
  sigwait(&set, &sig);
  return sig;
}

namespace {

struct StreamState {
  json request_id;                                   // null for the session's GET stream
  std::deque<std::pair<uint64_t, std::string>> log;  // (sequence, event bytes) for replay
  uint64_t next_seq = 1;
  std::shared_ptr<http::EventStream> conn;  // the connection now receiving it, if any
  bool done = false;  // the request was answered: nothing more will be written
  // When it was answered (done), and whether that answer went out on a live connection. Set
  // only by the answer, so no client request can push back the forgetting.
  int64_t answered_ms = 0;
  bool delivered = false;
  int64_t last_write_ms = 0;  // for keep-alives
};

struct HttpSession {
  std::string id;
  std::unique_ptr<Session> mcp;
  std::mutex mu;  // guards the fields below
  int next_stream = 1;
  std::map<int, StreamState> streams;
  std::map<std::string, int> request_stream;  // request id (dumped) -> its live SSE stream
  int standalone = 0;                         // the GET stream's number; 0: none yet
  size_t retained_bytes = 0;                  // event bytes in all `streams` logs
  bool ended = false;                         // late events are still sent, no longer kept
  std::string client;                         // ClientKey of the initialize
  std::string principal;  // identity_key of the initialize: only it may use the session
  int64_t created_ms = 0;
  std::atomic<int64_t> last_active_ms{0};
  std::atomic<bool> used{false};  // a request (or GET) followed the initialize
  std::atomic<int> busy{0};       // requests being handled
  std::atomic<bool> polling{false};
};

// A request's answer as one JSON body; 202 and no body when it has none (the client cancelled
// it). `session_id`: the legacy session's, repeated in a header; "" for a modern request.
http::Response JsonAnswer(const std::string& session_id, const std::optional<json>& reply) {
  http::Response res;
  if (!session_id.empty()) res.headers.emplace_back("Mcp-Session-Id", session_id);
  if (reply) {
    res.body = reply->dump(-1, ' ', false, json::error_handler_t::replace);
  } else {
    res.status = 202;
  }
  return res;
}

}  // namespace

struct HttpTransport::Impl {
  Server& server;
  HttpTransportOptions o;
  std::unique_ptr<WorkQueue> work;
  std::unique_ptr<http::Server> http;
  std::vector<std::unique_ptr<http::Server>> extra_http;  // HttpTransportOptions::extra_ports
  std::vector<int> ports;
  mutable std::shared_mutex sessions_mu;
  std::map<std::string, std::shared_ptr<HttpSession>> sessions;
  std::map<std::string, size_t> client_sessions;  // ClientKey -> open sessions (sessions_mu)
  std::atomic<size_t> retained_total{0};          // sum of every session's retained_bytes
  std::vector<std::string> allowed_hosts;         // resolved at Start
  std::atomic<bool> stopping{false};
  int port = 0;
  // Open subscriptions/listen streams (modern era), each on a session of its own.
  struct ListenStream {
    std::shared_ptr<Session> session;
    std::shared_ptr<http::EventStream> stream;
    int64_t last_write_ms = 0;         // for keep-alives (listens_mu)
    std::atomic<bool> polling{false};  // a PollSubscriptions of it is queued or running
  };
  mutable std::mutex listens_mu;
  std::map<const Session*, std::shared_ptr<ListenStream>> listens;

  Impl(Server& s, HttpTransportOptions opt) : server(s), o(std::move(opt)) {}

  // The checks of every request's headers (CheckMcpHeaders), a refusal on a route reshaped.
  std::optional<http::Response> CheckHeaders(http::Request& r);
  std::optional<http::Response> CheckMcpHeaders(http::Request& r);
  const HttpTransportOptions::Route* RouteOf(const std::string& path) const;
  void Handle(http::Request r, std::shared_ptr<http::Exchange> ex);
  void Post(http::Request& r, const std::shared_ptr<http::Exchange>& ex);
  void PostModern(http::Request& r, const std::shared_ptr<http::Exchange>& ex, Message m);
  // subscriptions/listen: an event stream that stays open, its acknowledgement first, then the
  // notifications it subscribed to, until the client closes it or the server stops.
  void Listen(http::Request& r, const std::shared_ptr<http::Exchange>& ex, const Message& m,
              bool sse_ok);
  void ListenHousekeeping(int64_t now);
  // Queues one PollSubscriptions of `session` (a legacy session's or a listen's) when it has
  // subscriptions and none is queued or running (`polling`); `owner` keeps both alive.
  void PollSoon(std::shared_ptr<const void> owner, Session& session, std::atomic<bool>& polling);
  std::optional<http::Response> ScopeRefusal(const http::Request& r, const Message& m);
  // Handles a request taken from the work queue: answered, not run, once shutdown began (so
  // shutdown does not wait for work nobody will read), and an escaped exception as -32603.
  std::optional<json> HandleQueued(Session& session, const Message& m,
                                   const std::shared_ptr<const void>& identity) {
    try {
      return stopping ? MakeError(m.id, -32000, "Server shutting down; retry elsewhere")
                      : server.Handle(session, m, identity);
    } catch (const std::exception& e) {
      return MakeError(m.id, kInternalError, fmt::format("Internal error: {}", e.what()));
    }
  }
  void Get(http::Request& r, const std::shared_ptr<http::Exchange>& ex);
  void Delete(http::Request& r, const std::shared_ptr<http::Exchange>& ex);
  std::shared_ptr<HttpSession> Find(const std::string& id) {
    std::shared_lock<std::shared_mutex> g(sessions_mu);
    auto it = sessions.find(id);
    return it == sessions.end() ? nullptr : it->second;
  }
  // Looks up the request's session; on failure fills `error` with the right refusal.
  std::shared_ptr<HttpSession> SessionFor(const http::Request& r,
                                          std::optional<http::Response>* error);
  std::shared_ptr<HttpSession> FindSession(const http::Request& r,
                                           std::optional<http::Response>* error);
  std::shared_ptr<HttpSession> NewSession();
  void EndSession(const std::shared_ptr<HttpSession>& s);
  void Route(HttpSession& s, const json& message, const json& related);
  void Append(HttpSession& s, int stream, const json& message, bool last = false);
  // Replay bookkeeping; s.mu held by the caller.
  void Retain(HttpSession& s, StreamState& st, uint64_t seq, std::string bytes);
  void DropOldestEvent(HttpSession& s, StreamState& st);
  std::map<int, StreamState>::iterator Forget(HttpSession& s,
                                              std::map<int, StreamState>::iterator it);
  bool EvictOldest(HttpSession& s);
  void Acknowledge(HttpSession& s);
  std::shared_ptr<http::EventStream> Attach(const std::shared_ptr<HttpSession>& s, int stream,
                                            http::Exchange& ex, bool prime);
  void Housekeeping();
};

std::shared_ptr<HttpSession> HttpTransport::Impl::NewSession() {
  auto s = std::make_shared<HttpSession>();
  s->id = RandomId();  // 128 bits from the OS: not guessable, so it cannot be hijacked
  std::weak_ptr<HttpSession> weak = s;
  s->mcp = std::make_unique<Session>([this, weak](const json& message, const json& related) {
    if (auto live = weak.lock()) Route(*live, message, related);
  });
  // The stream closes, the request stays: its events are kept and replayed on resumption.
  s->mcp->close_request_stream = [weak](const json& request_id) {
    auto live = weak.lock();
    if (!live) return;
    std::lock_guard<std::mutex> g(live->mu);
    auto it = live->request_stream.find(request_id.dump());
    if (it == live->request_stream.end()) return;
    StreamState& st = live->streams[it->second];
    if (st.conn) st.conn->Close();
    st.conn.reset();
  };
  s->created_ms = NowMs();
  s->last_active_ms = s->created_ms;
  return s;
}

void HttpTransport::Impl::Route(HttpSession& s, const json& message, const json& related) {
  std::lock_guard<std::mutex> g(s.mu);
  // A response travels on its own request's stream; other messages on their related request's
  // stream while it is open, else on the GET stream.
  json key = message.contains("method") ? related : message.value("id", json());
  int stream = 0;
  if (!key.is_null()) {
    auto it = s.request_stream.find(key.dump());
    if (it != s.request_stream.end()) stream = it->second;
  }
  if (stream == 0) stream = s.standalone;
  if (stream == 0) {
    log::Debug("mcp http: no stream for a message in session {}; dropped", s.id.substr(0, 8));
    return;
  }
  bool is_final = !message.contains("method") && stream != s.standalone;
  Append(s, stream, message, is_final);
  if (is_final) s.request_stream.erase(key.dump());
}

// Writes one event to a stream's live connection, if any, and keeps it for replay. `last`: the
// request's answer, after which its stream ends.
void HttpTransport::Impl::Append(HttpSession& s, int stream, const json& message, bool last) {
  StreamState& st = s.streams[stream];
  uint64_t seq = st.next_seq++;
  std::string bytes = SseEvent(fmt::format("{}_{}", stream, seq), message);
  bool sent = st.conn && st.conn->open() && st.conn->Send(bytes, last);
  st.last_write_ms = NowMs();
  if (last) {
    st.done = true;
    st.answered_ms = st.last_write_ms;
    st.delivered = sent;
  }
  Retain(s, st, seq, std::move(bytes));
}

void HttpTransport::Impl::Retain(HttpSession& s, StreamState& st, uint64_t seq, std::string bytes) {
  size_t n = bytes.size();
  if (s.ended || n > o.replay_session_bytes || n > o.replay_total_bytes) return;
  st.log.emplace_back(seq, std::move(bytes));
  s.retained_bytes += n;
  retained_total += n;
  while (st.log.size() > o.replay_events) DropOldestEvent(s, st);
  // Over a budget: this session pays, oldest first. When the total is over because of other
  // sessions, this session may lose everything it keeps, the new event included, so the total
  // never grows past its bound (other sessions' events age out by themselves).
  while (s.retained_bytes > o.replay_session_bytes || retained_total > o.replay_total_bytes) {
    if (!EvictOldest(s)) break;
  }
}

void HttpTransport::Impl::DropOldestEvent(HttpSession& s, StreamState& st) {
  size_t n = st.log.front().second.size();
  st.log.pop_front();
  s.retained_bytes -= n;
  retained_total -= n;
}

std::map<int, StreamState>::iterator HttpTransport::Impl::Forget(
    HttpSession& s, std::map<int, StreamState>::iterator it) {
  while (!it->second.log.empty()) DropOldestEvent(s, it->second);
  return s.streams.erase(it);
}

// Frees the oldest thing `s` keeps: a whole answered stream nobody reads, else the oldest event
// of the lowest-numbered (oldest) stream. False when nothing is kept.
bool HttpTransport::Impl::EvictOldest(HttpSession& s) {
  for (auto it = s.streams.begin(); it != s.streams.end(); ++it) {
    const StreamState& st = it->second;
    if (st.done && it->first != s.standalone && !(st.conn && st.conn->open())) {
      Forget(s, it);
      return true;
    }
  }
  for (auto& [n, st] : s.streams) {
    if (st.log.empty()) continue;
    DropOldestEvent(s, st);
    return true;
  }
  return false;
}

// A new request after an answer went out on a live connection: the client has that answer (a
// client that lost it resumes that stream instead), so its stream is no longer kept.
void HttpTransport::Impl::Acknowledge(HttpSession& s) {
  for (auto it = s.streams.begin(); it != s.streams.end();) {
    const StreamState& st = it->second;
    bool acknowledged =
        st.done && st.delivered && it->first != s.standalone && !(st.conn && st.conn->open());
    it = acknowledged ? Forget(s, it) : std::next(it);
  }
}

// Makes `ex` the live connection of `stream` (s->mu held by the caller).
std::shared_ptr<http::EventStream> HttpTransport::Impl::Attach(
    const std::shared_ptr<HttpSession>& s, int stream, http::Exchange& ex, bool prime) {
  auto es = ex.StartStream({{"Mcp-Session-Id", s->id}});
  std::weak_ptr<HttpSession> weak = s;
  es->OnClosed([weak, stream, raw = es.get()] {
    auto live = weak.lock();
    if (!live) return;
    std::lock_guard<std::mutex> g(live->mu);
    auto it = live->streams.find(stream);
    if (it != live->streams.end() && it->second.conn.get() == raw) it->second.conn.reset();
  });
  StreamState& st = s->streams[stream];
  st.conn = es;
  st.last_write_ms = NowMs();
  // A priming event (an id, no data) lets a client that loses this stream before any message
  // resume it; clients older than 2025-11-25 do not expect empty events.
  if (prime && s->mcp->protocol_version >= "2025-11-25") {
    es->Send(fmt::format("id: {}_0\nretry: {}\ndata: \n\n", stream, o.sse_retry_ms));
  }
  return es;
}

const HttpTransportOptions::Route* HttpTransport::Impl::RouteOf(const std::string& path) const {
  for (const auto& route : o.routes) {
    if (route.exact ? path == route.prefix : path.rfind(route.prefix, 0) == 0) return &route;
  }
  return nullptr;
}

std::optional<http::Response> HttpTransport::Impl::CheckHeaders(http::Request& r) {
  auto refused = CheckMcpHeaders(r);
  const auto* route = RouteOf(r.path);
  if (refused && route && route->refusal) return route->refusal(std::move(*refused));
  // Only an authenticated request may send a body larger than memory should hold.
  if (!refused && route && route->spool) r.spool_body_limit = route->spool(r);
  return refused;
}

std::optional<http::Response> HttpTransport::Impl::CheckMcpHeaders(http::Request& r) {
  // DNS rebinding: a browser tricked into calling us carries the attacker's Host or Origin.
  if (auto host = r.Header("host")) {
    bool ok = false;
    std::string h = AsciiLower(*host), bare = HostOnly(*host);
    for (const auto& a : allowed_hosts) ok = ok || a == "*" || a == h || a == bare;
    if (!ok) {
      return RpcError(403, -32000,
                      fmt::format("Forbidden: Host '{}' is not allowed (set "
                                  "SUPERTABLE_MCP_ALLOWED_HOSTS to accept it)",
                                  *host));
    }
  }
  if (auto origin = r.Header("origin")) {
    // Parsed, never prefix-matched: "http://127.0.0.1.evil.com" and "http://127.0.0.1@evil.com"
    // start like a loopback origin. A malformed Origin (or "null") is refused unless "*".
    auto parsed = ParseOrigin(*origin);
    bool ok = false;
    if (o.allowed_origins.empty()) {
      ok = parsed && (parsed->scheme == "http" || parsed->scheme == "https") &&
           IsLoopbackHost(parsed->host);
    } else {
      for (const auto& a : o.allowed_origins) {
        auto allowed = ParseOrigin(a);
        ok = ok || a == "*" ||
             (parsed && allowed && allowed->scheme == parsed->scheme &&
              allowed->host == parsed->host && allowed->port == parsed->port);
      }
    }
    if (!ok) {
      return RpcError(403, -32000,
                      fmt::format("Forbidden: Origin '{}' is not allowed (set "
                                  "SUPERTABLE_MCP_ALLOWED_ORIGINS to accept it)",
                                  *origin));
    }
  }
  bool metadata =
      o.resource_metadata && (r.path == "/.well-known/oauth-protected-resource" ||
                              r.path == "/.well-known/oauth-protected-resource" + o.path);
  if (metadata) {
    if (r.method != "GET") {
      auto res = RpcError(405, -32000, "Method Not Allowed: the resource metadata answers GET");
      res.headers.emplace_back("Allow", "GET");
      return res;
    }
    return std::nullopt;
  }
  // Everything but health and the metadata acts as someone.
  const auto* route = RouteOf(r.path);
  if (route && route->authenticate) {
    if (auto refused = route->authenticate(r)) return refused;
  } else if (r.path != "/health" && o.authenticate) {
    if (auto refused = o.authenticate(r)) return refused;
  }
  if (r.path == "/health") {
    if (r.method != "GET") {
      auto res = RpcError(405, -32000, "Method Not Allowed: /health answers GET");
      res.headers.emplace_back("Allow", "GET");
      return res;
    }
    return std::nullopt;
  }
  if (route) return std::nullopt;  // the door checks the rest of its requests
  if (r.path != o.path) {
    return RpcError(404, -32000,
                    fmt::format("Not Found: '{}'; the MCP endpoint is '{}'", r.path, o.path));
  }
  if (r.method != "POST" && r.method != "GET" && r.method != "DELETE") {
    auto res = RpcError(
        405, -32000,
        fmt::format("Method Not Allowed: {} on {}; use POST, GET or DELETE", r.method, o.path));
    res.headers.emplace_back("Allow", "POST, GET, DELETE");
    return res;
  }
  // A POST's version is checked against its body (Post): a modern request's header must equal
  // its _meta, and an unsupported one is answered in that era's terms.
  if (auto v = r.Header("mcp-protocol-version"); v && r.method != "POST") {
    if (std::find(kSupportedProtocolVersions.begin(), kSupportedProtocolVersions.end(), *v) ==
        kSupportedProtocolVersions.end()) {
      return RpcError(400, -32000,
                      fmt::format("Bad Request: unsupported MCP-Protocol-Version '{}' (supported: "
                                  "{})",
                                  *v, fmt::join(kSupportedProtocolVersions, ", ")));
    }
  }
  if (r.method == "POST") {
    auto ct = r.Header("content-type");
    if (!ct ||
        AsciiLower(ct->substr(0, ct->find(';'))).find("application/json") == std::string::npos) {
      return RpcError(415, -32000, "Unsupported Media Type: Content-Type must be application/json");
    }
  }
  return std::nullopt;
}

std::shared_ptr<HttpSession> HttpTransport::Impl::SessionFor(const http::Request& r,
                                                             std::optional<http::Response>* error) {
  auto s = FindSession(r, error);
  // A session id is a bearer secret of its own, but it must not let one principal act through
  // another's session: the credential of every request must name the session's principal.
  if (s && s->principal != r.identity_key) {
    log::Warn("mcp http: session {} of {} used by {} from {}: refused", s->id.substr(0, 8),
              s->principal, r.identity_key, r.remote);
    *error = RpcError(403, -32000,
                      "Forbidden: this session belongs to another principal; send initialize "
                      "with your own credentials for a session of your own");
    if (o.on_refused) o.on_refused(r, 403, "another principal's session");
    return nullptr;
  }
  return s;
}

std::shared_ptr<HttpSession> HttpTransport::Impl::FindSession(
    const http::Request& r, std::optional<http::Response>* error) {
  auto id = r.Header("mcp-session-id");
  if (!id) {
    *error = RpcError(400, -32000,
                      "Bad Request: Mcp-Session-Id header is required; send initialize first to "
                      "get one");
    return nullptr;
  }
  auto s = Find(*id);
  if (!s) {
    *error = RpcError(404, -32001,
                      "Session not found: it ended or expired; send initialize without "
                      "Mcp-Session-Id to start a new one");
  }
  return s;
}

void HttpTransport::Impl::Handle(http::Request r, std::shared_ptr<http::Exchange> ex) {
  if (r.path.rfind("/.well-known/oauth-protected-resource", 0) == 0) {
    http::Response res;
    res.body = o.resource_metadata().dump();
    res.headers.emplace_back("Cache-Control", "max-age=3600");
    return ex->Respond(std::move(res));
  }
  if (r.path == "/health") {
    size_t open;
    {
      std::shared_lock<std::shared_mutex> g(sessions_mu);
      open = sessions.size();
    }
    json body = {{"status", "ok"}, {"sessions", open}};
    if (o.health) body.update(o.health());
    http::Response res;
    res.body = body.dump();
    return ex->Respond(std::move(res));
  }
  if (const auto* route = RouteOf(r.path)) {
    auto refusal = route->refusal;
    bool queued = work->TryPost(
        [h = route->handler, r = std::move(r), ex]() mutable { h(std::move(r), ex); });
    if (!queued) {
      http::Response busy = RpcError(503, -32000, "Service Unavailable: the server is busy");
      busy.headers.emplace_back("Retry-After", "1");
      ex->Respond(refusal ? refusal(std::move(busy)) : std::move(busy));
    }
    return;
  }
  if (r.method == "POST") return Post(r, ex);
  if (r.method == "GET") return Get(r, ex);
  return Delete(r, ex);
}

// A tool call whose credential lacks the tool's scope, answered as the MCP authorization
// specification says (403 insufficient_scope: the client may ask for a token with it).
std::optional<http::Response> HttpTransport::Impl::ScopeRefusal(const http::Request& r,
                                                                const Message& m) {
  std::string scope = server.MissingScope(m, r.identity);
  if (scope.empty()) return std::nullopt;
  auto res =
      RpcError(403, -32000,
               fmt::format("Forbidden: insufficient_scope: this tool needs scope {}", scope), m.id);
  if (o.insufficient_scope_challenge) {
    res.headers.emplace_back("WWW-Authenticate", o.insufficient_scope_challenge(scope));
  }
  if (o.on_refused) o.on_refused(r, 403, "insufficient_scope: " + scope);
  return res;
}

void HttpTransport::Impl::Post(http::Request& r, const std::shared_ptr<http::Exchange>& ex) {
  auto accept = r.Header("accept");
  bool sse_ok = Accepts(accept, "text/event-stream");
  bool json_ok = Accepts(accept, "application/json");
  if (!sse_ok && !json_ok) {
    return ex->Respond(RpcError(
        406, -32000, "Not Acceptable: Accept must include application/json and text/event-stream"));
  }
  ParseOutcome parsed = ParseMessage(r.body);
  if (parsed.error_reply) {
    http::Response res;
    res.status = 400;
    res.body = parsed.error_reply->dump();
    return ex->Respond(std::move(res));
  }
  Message m = std::move(*parsed.message);
  if (IsModernRequest(m)) return PostModern(r, ex, std::move(m));
  if (auto v = r.Header("mcp-protocol-version");
      v && std::find(kSupportedProtocolVersions.begin(), kSupportedProtocolVersions.end(), *v) ==
               kSupportedProtocolVersions.end()) {
    bool modern = std::find(kModernProtocolVersions.begin(), kModernProtocolVersions.end(), *v) !=
                  kModernProtocolVersions.end();
    return ex->Respond(
        modern ? RpcError(400, kInvalidParams,
                          fmt::format("Invalid params: MCP-Protocol-Version {} needs the request's "
                                      "params._meta to carry '{}' and '{}'",
                                      *v, kMetaProtocolVersion, kMetaClientCapabilities),
                          m.id)
               : RpcError(400, -32000,
                          fmt::format("Bad Request: unsupported MCP-Protocol-Version '{}' "
                                      "(supported: {})",
                                      *v, fmt::join(kSupportedProtocolVersions, ", ")),
                          m.id));
  }
  bool is_init = m.kind == Message::Kind::kRequest && m.method == "initialize";
  std::shared_ptr<HttpSession> s;
  if (is_init) {
    if (auto existing = r.Header("mcp-session-id"); existing && Find(*existing)) {
      return ex->Respond(RpcError(400, -32600,
                                  "Invalid Request: this session is already initialized; send "
                                  "initialize without Mcp-Session-Id for a new session",
                                  m.id));
    }
    s = NewSession();
    s->client = ClientKey(r);
    s->principal = r.identity_key;
    s->mcp->identity = r.identity;
    s->mcp->peer = {{"address", r.peer}, {"user_agent", r.Header("user-agent").value_or("")}};
    auto reply = server.Handle(*s->mcp, m);
    {
      // Checked and inserted under one lock, so simultaneous initializes cannot pass the caps.
      std::unique_lock<std::shared_mutex> g(sessions_mu);
      size_t& mine = client_sessions[s->client];
      if (mine >= o.max_sessions_per_client) {
        if (mine == 0) client_sessions.erase(s->client);
        s->mcp->Detach();
        return ex->Respond(RpcError(
            429, -32000,
            fmt::format("Too Many Requests: this client already has {} open sessions; end unused "
                        "ones with DELETE, or wait for them to expire "
                        "(SUPERTABLE_MCP_HTTP_MAX_SESSIONS_PER_CLIENT)",
                        o.max_sessions_per_client),
            m.id));
      }
      if (sessions.size() >= o.max_sessions) {
        if (mine == 0) client_sessions.erase(s->client);
        s->mcp->Detach();
        return ex->Respond(RpcError(
            503, -32000,
            fmt::format("Service Unavailable: {} sessions are open; end unused sessions with "
                        "DELETE or retry later",
                        o.max_sessions),
            m.id));
      }
      sessions[s->id] = s;
      mine++;
    }
    log::Info("mcp http: session {} started by {}", s->id.substr(0, 8), r.remote);
    http::Response res;
    res.headers.emplace_back("Mcp-Session-Id", s->id);
    res.body = reply->dump();
    if (!json_ok) {  // the client takes SSE only: one event, then the end of the stream
      res.content_type = "text/event-stream";
      res.body = SseEvent("0_1", *reply);
    }
    return ex->Respond(std::move(res));
  }
  std::optional<http::Response> error;
  s = SessionFor(r, &error);
  if (!s) return ex->Respond(std::move(*error));
  s->last_active_ms = NowMs();
  {
    std::lock_guard<std::mutex> g(s->mu);
    Acknowledge(*s);
  }
  if (m.kind != Message::Kind::kRequest) {
    server.Handle(*s->mcp, m, r.identity);  // notifications and responses are quick
    http::Response res;
    res.status = 202;
    return ex->Respond(std::move(res));
  }
  s->used = true;
  if (auto refused = ScopeRefusal(r, m)) return ex->Respond(std::move(*refused));
  if (json_ok && server.CanRunInline(m)) {
    // Quick and non-blocking: answered here on the network thread, as one JSON response, with
    // no hand-off to a worker.
    return ex->Respond(JsonAnswer(s->id, server.Handle(*s->mcp, m, r.identity)));
  }
  bool use_sse = sse_ok && (!json_ok || (!o.json_response && m.method == "tools/call"));
  if (use_sse) {
    std::lock_guard<std::mutex> g(s->mu);
    if (s->request_stream.count(m.id.dump())) {
      return ex->Respond(RpcError(
          400, -32600,
          fmt::format("Invalid Request: request id {} is already in flight", m.id.dump()), m.id));
    }
    int stream = s->next_stream++;
    s->streams[stream].request_id = m.id;
    s->request_stream[m.id.dump()] = stream;
    Attach(s, stream, *ex, true);
  }
  s->busy++;
  bool queued = work->TryPost([this, s, m = std::move(m), ex, use_sse, id = r.identity] {
    std::optional<json> reply = HandleQueued(*s->mcp, m, id);
    s->last_active_ms = NowMs();
    if (use_sse) {
      if (reply) {
        Route(*s, *reply, m.id);
      } else {  // cancelled by the client: no response, just the end of the stream
        std::lock_guard<std::mutex> g(s->mu);
        auto it = s->request_stream.find(m.id.dump());
        if (it != s->request_stream.end()) {
          StreamState& st = s->streams[it->second];
          st.done = true;
          st.answered_ms = NowMs();
          if (st.conn) st.conn->Close();
          s->request_stream.erase(it);
        }
      }
    } else {
      ex->Respond(JsonAnswer(s->id, reply));
    }
    s->busy--;
  });
  if (!queued) {
    s->busy--;
    json err =
        MakeError(m.id, -32000, "Server busy: too many requests are waiting; retry in a moment");
    if (use_sse) {
      Route(*s, err, m.id);
    } else {
      http::Response res;
      res.status = 503;
      res.body = err.dump();
      ex->Respond(std::move(res));
    }
  }
}

namespace {

// A header value as MCP sends it: surrounding whitespace dropped, and "=?base64?...?=" (for
// values a header cannot carry as they are) decoded; nullopt when that base64 is invalid.
std::optional<std::string> McpHeaderValue(std::string v) {
  size_t b = v.find_first_not_of(" \t"), e = v.find_last_not_of(" \t");
  v = b == std::string::npos ? "" : v.substr(b, e - b + 1);
  constexpr std::string_view kOpen = "=?base64?", kClose = "?=";
  if (v.size() < kOpen.size() + kClose.size() || v.compare(0, kOpen.size(), kOpen) != 0 ||
      v.compare(v.size() - kClose.size(), kClose.size(), kClose) != 0) {
    return v;
  }
  std::string_view inner(v.data() + kOpen.size(), v.size() - kOpen.size() - kClose.size());
  if (inner.find_first_not_of(
          "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=") !=
      std::string_view::npos) {
    return std::nullopt;
  }
  std::string out;
  if (!Base64Decode(inner, &out)) return std::nullopt;
  return out;
}

// The body value a request's Mcp-Name header must repeat; nullptr for methods without one.
const char* McpNameKey(const std::string& method) {
  if (method == "tools/call" || method == "prompts/get") return "name";
  if (method == "resources/read") return "uri";
  if (method == "tasks/get" || method == "tasks/update" || method == "tasks/cancel")
    return "taskId";
  return nullptr;
}

}  // namespace

// A modern-era request: no session, nothing kept between requests. Checked in the order the
// revision's errors are told apart (version and method headers against the body, the _meta,
// the method, the remaining headers), then run on a session made for it alone, and answered
// as one JSON body.
void HttpTransport::Impl::PostModern(http::Request& r, const std::shared_ptr<http::Exchange>& ex,
                                     Message m) {
  auto mismatch = [&](const std::string& why) {
    ex->Respond(RpcError(400, kHeaderMismatch, "Header mismatch: " + why, m.id));
  };
  const json& body_version = m.params["_meta"][kMetaProtocolVersion];
  auto version = r.Header("mcp-protocol-version");
  if (version && body_version.is_string() && McpHeaderValue(*version) != body_version) {
    return mismatch(
        fmt::format("MCP-Protocol-Version header '{}' does not match the request's "
                    "{} '{}'",
                    *version, kMetaProtocolVersion, body_version.get<std::string>()));
  }
  auto method = r.Header("mcp-method");
  if (method && McpHeaderValue(*method) != m.method) {
    return mismatch(fmt::format("Mcp-Method header '{}' does not match the request's method '{}'",
                                *method, m.method));
  }
  if (auto error = server.ModernEntryError(m)) {
    http::Response res;
    res.status = (*error)["error"]["code"] == kMethodNotFound ? 404 : 400;
    res.body = error->dump(-1, ' ', false, json::error_handler_t::replace);
    return ex->Respond(std::move(res));
  }
  if (!version) return mismatch("the MCP-Protocol-Version header is required");
  if (!method) return mismatch("the Mcp-Method header is required");
  if (const char* key = McpNameKey(m.method)) {
    auto name = r.Header("mcp-name");
    if (!name) return mismatch(fmt::format("the Mcp-Name header is required for {}", m.method));
    auto value = McpHeaderValue(*name);
    if (!value) return mismatch("the Mcp-Name header's =?base64?...?= value is not valid base64");
    const json& in_body = m.params.contains(key) ? m.params[key] : json();
    if (!in_body.is_string() || *value != in_body.get_ref<const std::string&>()) {
      return mismatch(
          fmt::format("Mcp-Name header '{}' does not match the request's {} '{}'", *value, key,
                      in_body.is_string() ? in_body.get<std::string>() : in_body.dump()));
    }
  }
  // Arguments the tool's schema marks x-mcp-header travel in Mcp-Param-* headers too.
  for (const auto& [header, value] : server.ParamHeaders(m)) {
    auto raw = r.Header(AsciiLower(header));  // Request::Header takes names in lower case
    if (!raw) {
      return mismatch(fmt::format("the {} header is required: argument value {} is in the body",
                                  header, value.dump()));
    }
    auto decoded = McpHeaderValue(*raw);
    if (!decoded)
      return mismatch(
          fmt::format("the {} header's =?base64?...?= value is not valid base64", header));
    if (!HeaderSays(*decoded, value)) {
      return mismatch(fmt::format("{} header '{}' does not match the argument's value {}", header,
                                  *decoded, value.dump()));
    }
  }
  if (auto refused = ScopeRefusal(r, m)) return ex->Respond(std::move(*refused));
  auto accept = r.Header("accept");
  bool sse_ok = Accepts(accept, "text/event-stream"), json_ok = Accepts(accept, "application/json");
  if (m.method == "subscriptions/listen") return Listen(r, ex, m, sse_ok);
  // A tool call is answered on a stream of its own when the client takes one (as in the legacy
  // era): its progress and logs go there, then the response, which ends it; the client closing
  // it cancels the call. Anything else, and calls of clients that take only JSON, get one JSON
  // body, and what they would say along the way has nowhere to go.
  if (server.CanRunInline(m)) {
    // Quick and non-blocking (see Post): answered here, on a session on the stack.
    Session one([](const json&, const json&) {});
    one.identity = r.identity;
    one.peer = {{"address", r.peer}, {"user_agent", r.Header("user-agent").value_or("")}};
    return ex->Respond(JsonAnswer("", server.Handle(one, m, r.identity)));
  }
  bool use_sse = sse_ok && (!json_ok || (!o.json_response && m.method == "tools/call"));
  std::shared_ptr<http::EventStream> stream;
  if (use_sse) stream = ex->StartStream({{"X-Accel-Buffering", "no"}});
  auto session = std::make_shared<Session>([stream](const json& message, const json&) {
    if (stream) stream->Send(SseEvent(message));
  });
  session->identity = r.identity;
  session->peer = {{"address", r.peer}, {"user_agent", r.Header("user-agent").value_or("")}};
  if (stream) {
    std::weak_ptr<Session> weak = session;
    stream->OnClosed([weak] {
      if (auto s = weak.lock()) s->CancelAll();  // closing the stream cancels the request
    });
  }
  bool queued = work->TryPost([this, session, stream, m, ex, id = r.identity] {
    std::optional<json> reply = HandleQueued(*session, m, id);
    session->Detach();
    if (!stream) return ex->Respond(JsonAnswer("", reply));
    if (reply) {
      stream->Send(SseEvent(*reply), /*last=*/true);
    } else {
      stream->Close();  // cancelled: nothing more is sent for it
    }
  });
  if (!queued) {
    json busy =
        MakeError(m.id, -32000, "Server busy: too many requests are waiting; retry in a moment");
    if (stream) {
      stream->Send(SseEvent(busy), /*last=*/true);
      return;
    }
    http::Response res;
    res.status = 503;
    res.body = busy.dump();
    ex->Respond(std::move(res));
  }
}

void HttpTransport::Impl::Listen(http::Request& r, const std::shared_ptr<http::Exchange>& ex,
                                 const Message& m, bool sse_ok) {
  if (!sse_ok) {
    return ex->Respond(RpcError(406, -32000,
                                "Not Acceptable: subscriptions/listen answers with an event "
                                "stream that stays open; Accept must include text/event-stream",
                                m.id));
  }
  auto stream = ex->StartStream({{"X-Accel-Buffering", "no"}});
  auto listen = std::make_shared<ListenStream>();
  listen->stream = stream;
  listen->session = std::make_shared<Session>(
      [stream](const json& message, const json&) { stream->Send(SseEvent(message)); });
  listen->session->identity = r.identity;
  listen->session->peer = {{"address", r.peer},
                           {"user_agent", r.Header("user-agent").value_or("")}};
  const Session* key = listen->session.get();
  // The client ends a subscription by closing its stream.
  stream->OnClosed([this, key] {
    std::shared_ptr<ListenStream> gone;
    {
      std::lock_guard<std::mutex> g(listens_mu);
      auto it = listens.find(key);
      if (it == listens.end()) return;
      gone = std::move(it->second);
      listens.erase(it);
    }
    gone->session->Detach();
  });
  {
    std::lock_guard<std::mutex> g(listens_mu);
    listen->last_write_ms = NowMs();
    listens[key] = listen;
  }
  // Resource subscriptions are checked by reading the resources: off the I/O thread.
  bool queued = work->TryPost([this, listen, m, id = r.identity] {
    std::optional<json> error = HandleQueued(*listen->session, m, id);
    if (error) {
      listen->stream->Send(SseEvent(*error), /*last=*/true);
    }
  });
  if (!queued) {
    stream->Send(
        SseEvent(MakeError(m.id, -32000,
                           "Server busy: too many requests are waiting; retry in a moment")),
        /*last=*/true);
  }
}

void HttpTransport::Impl::ListenHousekeeping(int64_t now) {
  std::vector<std::shared_ptr<ListenStream>> all;
  {
    std::lock_guard<std::mutex> g(listens_mu);
    for (auto& [key, l] : listens) {
      all.push_back(l);
      if (now - l->last_write_ms >= o.heartbeat_ms) {
        l->stream->Send(": keep-alive\n\n");  // a comment: clients ignore it
        l->last_write_ms = now;
      }
    }
  }
  for (auto& l : all) PollSoon(l, *l->session, l->polling);
}

void HttpTransport::Impl::PollSoon(std::shared_ptr<const void> owner, Session& session,
                                   std::atomic<bool>& polling) {
  {
    std::lock_guard<std::mutex> g(session.mu);
    if (session.subscriptions.empty() && session.task_watches.empty()) return;
  }
  if (polling.exchange(true)) return;
  // Fingerprints read the catalog: off the I/O thread.
  if (!work->TryPost([this, owner = std::move(owner), &session, &polling] {
        server.PollSubscriptions(session);
        polling = false;
      }))
    polling = false;
}

void HttpTransport::Impl::Get(http::Request& r, const std::shared_ptr<http::Exchange>& ex) {
  if (!Accepts(r.Header("accept"), "text/event-stream")) {
    return ex->Respond(
        RpcError(406, -32000, "Not Acceptable: a GET stream needs Accept: text/event-stream"));
  }
  std::optional<http::Response> error;
  auto s = SessionFor(r, &error);
  if (!s) return ex->Respond(std::move(*error));
  s->last_active_ms = NowMs();
  s->used = true;
  std::lock_guard<std::mutex> g(s->mu);
  auto last = r.Header("last-event-id");
  if (!last) {
    if (s->standalone == 0) s->standalone = s->next_stream++;
    StreamState& st = s->streams[s->standalone];
    if (st.conn && st.conn->open()) {
      return ex->Respond(
          RpcError(409, -32000,
                   "Conflict: this session already has an open GET stream; close it first or "
                   "resume with Last-Event-ID"));
    }
    Attach(s, s->standalone, *ex, true);
    return;
  }
  // "<stream>_<sequence>", as this server numbers its events.
  int stream = 0;
  uint64_t seq = 0;
  size_t sep = last->find('_');
  bool ok = sep != std::string::npos && sep > 0 && sep + 1 < last->size() &&
            last->find_first_not_of("0123456789_") == std::string::npos &&
            last->find('_', sep + 1) == std::string::npos && sep < 10 && last->size() - sep < 20;
  if (ok) {
    stream = std::stoi(last->substr(0, sep));
    seq = std::stoull(last->substr(sep + 1));
  }
  auto it = ok ? s->streams.find(stream) : s->streams.end();
  // Nothing to resume is refused, and refused before anything is touched, so a made-up id
  // neither re-arms a stream's retention nor opens a connection that would hold it.
  auto refuse = [&](const std::string& why) {
    ex->Respond(RpcError(400, -32000,
                         fmt::format("Bad Request: Last-Event-ID '{}' {}; open a new GET stream "
                                     "without Last-Event-ID",
                                     *last, why)));
  };
  if (it == s->streams.end()) return refuse("names no stream this session keeps");
  StreamState& st = it->second;
  if (seq >= st.next_seq) {
    return refuse(fmt::format("is beyond the last event sent on that stream ({}_{})", stream,
                              st.next_seq - 1));
  }
  if (st.conn && st.conn->open()) {
    return ex->Respond(
        RpcError(409, -32000, "Conflict: that stream already has an open connection"));
  }
  // The client has everything up to `seq`: those events need not be kept any longer.
  while (!st.log.empty() && st.log.front().first <= seq) DropOldestEvent(*s, st);
  if (st.done && st.log.empty()) {
    Forget(*s, it);
    return refuse("follows the last event of an answered stream: there is nothing more to send");
  }
  auto es = Attach(s, stream, *ex, false);
  for (const auto& [n, bytes] : st.log) es->Send(bytes);
  if (st.done) {  // everything the request produced has been replayed
    st.delivered = true;
    es->Close();
  }
}

void HttpTransport::Impl::Delete(http::Request& r, const std::shared_ptr<http::Exchange>& ex) {
  std::optional<http::Response> error;
  auto s = SessionFor(r, &error);
  if (!s) return ex->Respond(std::move(*error));
  EndSession(s);
  log::Info("mcp http: session {} deleted by the client", s->id.substr(0, 8));
  http::Response res;
  res.status = 200;
  ex->Respond(std::move(res));
}

void HttpTransport::Impl::EndSession(const std::shared_ptr<HttpSession>& s) {
  s->mcp->Detach();  // broadcasts stop reaching it before the last reference can go
  {
    std::unique_lock<std::shared_mutex> g(sessions_mu);
    if (sessions.erase(s->id) == 1) {
      auto it = client_sessions.find(s->client);
      if (it != client_sessions.end() && --it->second == 0) client_sessions.erase(it);
    }
  }
  s->mcp->CancelAll();
  std::lock_guard<std::mutex> g(s->mu);
  s->ended = true;
  for (auto& [n, st] : s->streams) {
    st.done = true;
    if (st.conn) st.conn->Close();
    while (!st.log.empty()) DropOldestEvent(*s, st);
  }
  s->request_stream.clear();
}

void HttpTransport::Impl::Housekeeping() {
  int64_t now = NowMs();
  ListenHousekeeping(now);
  std::vector<std::shared_ptr<HttpSession>> all;
  {
    std::shared_lock<std::shared_mutex> g(sessions_mu);
    for (auto& [id, s] : sessions) all.push_back(s);
  }
  for (auto& s : all) {
    bool live_stream = false;
    {
      std::lock_guard<std::mutex> g(s->mu);
      // Answered request streams nobody is reading are kept a while for resumption, counted
      // from the answer, then dropped with their events.
      for (auto it = s->streams.begin(); it != s->streams.end();) {
        const StreamState& st = it->second;
        bool expired = it->first != s->standalone && st.done && !(st.conn && st.conn->open()) &&
                       now - st.answered_ms > o.replay_keep_ms;
        it = expired ? Forget(*s, it) : std::next(it);
      }
      for (auto& [n, st] : s->streams) {
        if (!st.conn || !st.conn->open()) continue;
        live_stream = true;
        if (now - st.last_write_ms >= o.heartbeat_ms) {
          st.conn->Send(": keep-alive\n\n");  // a comment: clients ignore it
          st.last_write_ms = now;
        }
      }
    }
    if (!live_stream && s->busy == 0 && now - s->last_active_ms > o.session_idle_ms) {
      log::Info("mcp http: session {} expired after {} ms idle", s->id.substr(0, 8),
                now - s->last_active_ms.load());
      EndSession(s);
      continue;
    }
    // Initialized and never used: a cheap way to fill the session table, so it ends soon.
    if (!s->used && !live_stream && s->busy == 0 && now - s->created_ms > o.unused_session_ms) {
      log::Info("mcp http: session {} ended: no request in the {} ms after initialize",
                s->id.substr(0, 8), o.unused_session_ms);
      EndSession(s);
      continue;
    }
    PollSoon(s, *s->mcp, s->polling);
  }
}

HttpTransport::HttpTransport(Server& server, HttpTransportOptions options)
    : impl_(std::make_unique<Impl>(server, std::move(options))) {}

HttpTransport::~HttpTransport() { Stop(0); }

Result<int> HttpTransport::Start() {
  auto& d = *impl_;
  d.allowed_hosts = d.o.allowed_hosts;
  const std::string& host = d.o.http.host;
  if (d.allowed_hosts.empty()) {
    if (IsLoopbackHost(host)) {
      d.allowed_hosts = {"localhost", "127.0.0.1", "[::1]", host};
    } else if (host == "0.0.0.0" || host == "::") {
      d.allowed_hosts = {"*"};  // any interface: names unknown; the token is the defence
    } else {
      d.allowed_hosts = {AsciiLower(host),
                         host.find(':') != std::string::npos ? "[" + host + "]" : ""};
    }
  }
  for (auto& h : d.allowed_hosts) h = AsciiLower(h);
  d.work = std::make_unique<WorkQueue>(d.o.workers, d.o.max_queued);
  d.o.http.error_response = [](int status, const std::string& message) {
    return RpcError(status, -32000, message);
  };
  d.http = std::make_unique<http::Server>(
      d.o.http, [&d](http::Request& r) { return d.CheckHeaders(r); },
      [&d](http::Request r, std::shared_ptr<http::Exchange> ex) {
        d.Handle(std::move(r), std::move(ex));
      });
  d.http->Every(1000, [&d] { d.Housekeeping(); });
  ST_ASSIGN_OR_RETURN(d.port, d.http->Start());
  d.ports = {d.port};
  for (int port : d.o.extra_ports) {
    http::ServerOptions more = d.o.http;
    more.port = port;
    auto server = std::make_unique<http::Server>(
        more, [&d](http::Request& r) { return d.CheckHeaders(r); },
        [&d](http::Request r, std::shared_ptr<http::Exchange> ex) {
          d.Handle(std::move(r), std::move(ex));
        });
    auto bound = server->Start();
    if (!bound.ok()) {
      for (auto& s : d.extra_http) s->Stop(0);
      d.extra_http.clear();
      d.http->Stop(0);
      d.http.reset();
      return Status::IoError(
          fmt::format("cannot listen on port {} as well: {}", port, bound.status().message()));
    }
    d.ports.push_back(*bound);
    d.extra_http.push_back(std::move(server));
  }
  return d.port;
}

void HttpTransport::Stop(int64_t drain_ms) {
  auto& d = *impl_;
  if (!d.http) return;
  d.stopping = true;
  {
    // Interrupt running tool calls; their (cancelled) answers end the streams they hold.
    std::shared_lock<std::shared_mutex> g(d.sessions_mu);
    for (auto& [id, s] : d.sessions) s->mcp->CancelAll();
  }
  {
    // Open subscriptions end with their listen request's result (the server closes them).
    std::lock_guard<std::mutex> g(d.listens_mu);
    for (auto& [key, l] : d.listens) {
      l->session->Detach();
      l->stream->Send(SseEvent(d.server.EndListen(*l->session)), /*last=*/true);
    }
  }
  for (auto& more : d.extra_http) more->Stop(drain_ms);
  d.http->Stop(drain_ms);
  d.work->Stop();
  {
    std::lock_guard<std::mutex> g(d.listens_mu);
    d.listens.clear();
  }
  {
    // Sessions go before the HTTP server: their streams may still hold connections, which
    // unregister from the server when they are destroyed.
    std::unique_lock<std::shared_mutex> g(d.sessions_mu);
    for (auto& [id, s] : d.sessions) s->mcp->Detach();
    d.sessions.clear();
  }
  d.extra_http.clear();
  d.http.reset();
}

std::vector<int> HttpTransport::ports() const { return impl_->ports; }

size_t HttpTransport::listen_count() const {
  std::lock_guard<std::mutex> g(impl_->listens_mu);
  return impl_->listens.size();
}

size_t HttpTransport::session_count() const {
  std::shared_lock<std::shared_mutex> g(impl_->sessions_mu);
  return impl_->sessions.size();
}

size_t HttpTransport::replay_bytes() const { return impl_->retained_total; }

}  // namespace supertable::mcp
