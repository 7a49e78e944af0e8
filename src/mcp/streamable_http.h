// The MCP streamable HTTP transport (specification 2025-11-25, "Transports"): one endpoint for
// POST (a client message), GET (a stream of server-initiated messages) and DELETE (end the
// session). Sessions get cryptographically random ids; requests answer with JSON or an SSE
// stream as the client's Accept header allows; SSE events carry ids so a client that lost its
// connection resumes with Last-Event-ID; Host and Origin are checked against allowlists
// (DNS-rebinding protection) and, when a token is configured, every request needs it.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "mcp/server.h"
#include "server/http_server.h"

namespace supertable::mcp {

struct HttpTransportOptions {
  http::ServerOptions http;  // listen address, port, body and header limits
  std::string path = "/mcp";
  // Host header values accepted (host or host:port). Empty: the loopback names when listening
  // on loopback, the listen address otherwise; "*" accepts any.
  std::vector<std::string> allowed_hosts;
  // Origin header values accepted (when a request carries one). Empty: http(s) origins on
  // localhost, 127.0.0.1 and [::1]; "*" accepts any.
  std::vector<std::string> allowed_origins;
  // Who sends each request, decided from its headers before the body is read: set the
  // request's identity and identity_key, or return the refusal (401 with WWW-Authenticate, 429
  // with Retry-After, ...). Unset: requests carry no identity and sessions use the stdio-like
  // `Session::identity` nobody set. /health and the protected resource metadata are exempt.
  std::function<std::optional<http::Response>(http::Request&)> authenticate;
  // OAuth 2.0 Protected Resource Metadata (RFC 9728), served at
  // /.well-known/oauth-protected-resource and at that path followed by `path`; unset: none.
  std::function<json()> resource_metadata;
  // Told of every request refused after it was authenticated (403: a missing scope, another
  // principal's session), for the audit trail.
  std::function<void(const http::Request&, int status, const std::string& message)> on_refused;
  // The WWW-Authenticate value of a 403 for a tool needing `scope` (insufficient_scope).
  std::function<std::string(const std::string& scope)> insufficient_scope_challenge;
  int workers = 16;             // threads running requests (tool calls block on queries)
  size_t max_queued = 1024;     // requests waiting for a worker; beyond it 503
  size_t max_sessions = 10000;  // beyond it initialize gets 503
  // Sessions one client may hold (clients are told apart by ClientKey); beyond it 429.
  size_t max_sessions_per_client = 1000;
  int64_t session_idle_ms = 30 * 60 * 1000;  // sessions unused this long (and no open stream) end
  int64_t unused_session_ms = 60000;  // a session with no request after initialize ends this soon
  // Last-Event-ID replay. Each stream keeps its last `replay_events` events, a session at most
  // `replay_session_bytes` of them and all sessions together `replay_total_bytes` (the oldest
  // go first, answered streams before open ones). An answered stream is kept `replay_keep_ms`
  // after its answer, or until the client makes another request once the answer went out.
  size_t replay_events = 512;
  size_t replay_session_bytes = 4 << 20;
  size_t replay_total_bytes = 256 << 20;
  int64_t replay_keep_ms = 60000;
  int64_t sse_retry_ms = 1000;   // reconnection delay suggested to clients
  int64_t heartbeat_ms = 15000;  // an SSE comment on idle streams, so dead peers are noticed
  bool json_response = false;    // answer tools/call with JSON even when SSE is accepted
  std::function<json()> health;  // extra fields for GET /health
  // Other front doors on this port (the REST API): a request whose path starts with `prefix`
  // gets the same Host and Origin checks and the same `authenticate` as MCP's, a refusal
  // reshaped by `refusal` (into the door's own error format), and then `handler`, on a worker
  // thread (it may block on a query).
  struct Route {
    std::string prefix;
    http::Handler handler;
    std::function<http::Response(http::Response refused)> refusal;
    // For a request that passed the checks: the limit of a body to stream to a file
    // (http::Request::spool_body_limit, an upload); 0 keeps it in memory.
    std::function<size_t(const http::Request&)> spool;
    // Who sends a request on this route, instead of `authenticate` (a web UI's session cookie,
    // pages anyone may see: the login page); unset: `authenticate`.
    std::function<std::optional<http::Response>(http::Request&)> authenticate;
    bool exact = false;  // the path must equal `prefix` ("/"), not merely start with it
  };
  std::vector<Route> routes;
  // More ports to listen on, on the same address, with every route on each (a deployment that
  // gives MCP, the API and the UI a port each); 0 picks a free one.
  std::vector<int> extra_ports;
};

class HttpTransport {
 public:
  HttpTransport(Server& server, HttpTransportOptions options);
  ~HttpTransport();
  // Listens and serves. Returns the bound port (of http.port; the extra ones: ports()).
  Result<int> Start();
  // Every bound port: http.port's first, then extra_ports' in order.
  std::vector<int> ports() const;
  // Graceful: refuses new work, cancels running tool calls, ends open streams, waits for the
  // answers in flight (at most `drain_ms`), then stops the threads.
  void Stop(int64_t drain_ms = 5000);
  size_t session_count() const;
  // Open subscriptions/listen streams (modern era).
  size_t listen_count() const;
  size_t replay_bytes() const;  // SSE event bytes kept for Last-Event-ID replay, in all sessions

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The key per-client limits (sessions per client) count by: the principal that sent the
// request when it was authenticated, else the peer's IP address.
std::string ClientKey(const http::Request& r);

// For servers: ignores SIGPIPE and blocks SIGTERM and SIGINT in the calling thread and every
// thread it starts afterwards, so call it before starting threads; WaitForStopSignal then
// returns the first of them to arrive.
void BlockStopSignals();
int WaitForStopSignal();

}  // namespace supertable::mcp
