// A small asynchronous HTTP/1.1 server (Boost.Beast/Asio behind a firewall of this header, so
// callers compile without Boost). It reads requests with strict size, time and framing limits
// (one Content-Length or exactly "chunked", never both), caps connections in total, per peer
// address and before their headers pass a check, hands each request to a handler, and lets the
// handler answer later from any thread, either with one response or with a chunked
// text/event-stream that stays open without holding a thread: hundreds of open SSE streams cost a
// socket and a few buffers each.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

namespace supertable::http {

// A request body kept in a file (Request::spool_body_limit); the file is deleted with this.
struct BodyFile {
  std::string path;
  size_t bytes = 0;
  BodyFile() = default;
  BodyFile(const BodyFile&) = delete;
  BodyFile& operator=(const BodyFile&) = delete;
  ~BodyFile();
};

struct Request {
  std::string method;                                        // "GET", "POST", ...
  std::string target;                                        // as sent: path and query
  std::string path;                                          // target without the query
  std::vector<std::pair<std::string, std::string>> headers;  // names lowercased
  std::string body;
  std::string remote;  // peer address and port, for logs
  std::string peer;    // peer IP address alone: the key per-client limits count by
  // Who sent it, as the HeaderCheck authenticated it (opaque here), and a key that tells
  // senders apart (sessions, per-client limits); empty when nothing was authenticated.
  std::shared_ptr<const void> identity;
  std::string identity_key;
  // Headers every answer to this request carries, whatever the handler answers (set by the
  // HeaderCheck: the caller's rate-limit state, say).
  std::vector<std::pair<std::string, std::string>> response_headers;
  // Set by the HeaderCheck for a request whose body may be large (an upload): the body is then
  // streamed to a file of its own (`body_file`, removed when the last copy of the request goes)
  // instead of `body`, up to this many bytes. 0: in memory, up to ServerOptions::max_body_bytes.
  size_t spool_body_limit = 0;
  std::shared_ptr<const BodyFile> body_file;
  // The value of a header (name in lowercase), joined with ", " when repeated.
  std::optional<std::string> Header(std::string_view lower_name) const;
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers
  std::string body;
  bool close = false;  // close the connection after this response
};

// An open text/event-stream response. Send and Close may be called from any thread; they
// queue bytes for the connection's own executor and never block on the network.
class EventStream {
 public:
  virtual ~EventStream() = default;
  // Queues bytes (one or more complete SSE events), then ends the stream if `last`. False when
  // the stream is closed.
  virtual bool Send(std::string bytes, bool last = false) = 0;
  // Ends the response after what is queued; the connection then serves its next request.
  virtual void Close() = 0;
  virtual bool open() const = 0;
  // Called once, on the connection's executor, when the stream ends for any reason (Close,
  // the client going away, shutdown). Set it before anything can close the stream.
  virtual void OnClosed(std::function<void()> callback) = 0;
};

// One request awaiting its answer. Exactly one of Respond or StartStream is called, once,
// from any thread; an Exchange dropped unanswered answers 500, so no client hangs.
class Exchange {
 public:
  virtual ~Exchange() = default;
  virtual void Respond(Response response) = 0;
  // Starts a 200 text/event-stream response with the given extra headers.
  virtual std::shared_ptr<EventStream> StartStream(
      std::vector<std::pair<std::string, std::string>> headers) = 0;
};

using Handler = std::function<void(Request, std::shared_ptr<Exchange>)>;
// Runs after the headers arrive and before the body is read: a non-empty response refuses the
// request at once (wrong token, wrong Host), so a refused client cannot make us read its body.
// It may set the request's identity.
using HeaderCheck = std::function<std::optional<Response>(Request& headers_only)>;

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 0;  // 0: any free port
  int io_threads = 2;
  size_t max_body_bytes = 4 << 20;  // larger bodies get 413
  size_t max_header_bytes = 16 << 10;
  // Where spooled bodies (Request::spool_body_limit) are written while they arrive; "" is the
  // system's temporary directory.
  std::string spool_directory;
  int64_t idle_timeout_ms = 60000;  // a keep-alive connection waiting for its next request
  // A new connection must deliver its first request's headers this soon after it is accepted,
  // and a kept-alive one its next request's headers this soon after their first byte: a client
  // that trickles headers (slowloris) holds a slot only this long.
  int64_t header_timeout_ms = 10000;
  int64_t write_timeout_ms = 30000;  // a client that stops reading is dropped
  size_t max_connections = 4096;     // beyond this new connections get 503 and are closed
  // Per peer IP address; beyond it a newcomer pushes out that peer's oldest pending connection
  // (below), or gets 503 and is closed when the peer has none.
  size_t max_connections_per_peer = 1024;
  // Connections that have not yet sent a request that passed the HeaderCheck ("pending"). When
  // this many are open, or the server is full, a new connection pushes out the oldest pending
  // one: connections that got past the check (and a newcomer that gets past it quickly) keep
  // their slots however many half-sent requests are open.
  size_t max_pending_connections = 1024;
  // The body of the server's own refusals (400, 413, 431, 503): protocols on top want their
  // own error shape. Default: JsonError.
  std::function<Response(int status, const std::string& message)> error_response;
};

class Server {
 public:
  Server(ServerOptions options, HeaderCheck check, Handler handler);
  ~Server();
  // Binds and starts the I/O threads. Returns the bound port.
  Result<int> Start();
  // Stops accepting, ends open event streams, closes idle connections, and waits up to
  // `drain_ms` for requests being answered. Safe to call twice.
  void Stop(int64_t drain_ms = 5000);
  // Runs `fn` every `period_ms` on an I/O thread until Stop (housekeeping: session expiry).
  void Every(int64_t period_ms, std::function<void()> fn);
  size_t open_connections() const;

  struct Impl;  // opaque; public so the connection classes in http_server.cc can name it

 private:
  std::unique_ptr<Impl> impl_;
};

// A JSON error response: {"error": {"status": 413, "message": "..."}}.
Response JsonError(int status, const std::string& message);

}  // namespace supertable::http
