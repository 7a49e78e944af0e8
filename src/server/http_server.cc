// The HTTP/1.1 server on Boost.Beast (parsing) and Asio (sockets, timers). Responses are written
// as plain bytes: a status line, headers and a body, or chunked SSE events. Every connection runs
// on its own strand, so its state needs no lock; other threads reach it by posting to the strand.
#include "server/http_server.h"

#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstring>
#include <deque>
#include <filesystem>
#include <map>
#include <mutex>
#include <thread>

#include <fmt/format.h>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include "common/log.h"
#include "common/text.h"

namespace supertable::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;

std::optional<std::string> Request::Header(std::string_view lower_name) const {
  std::optional<std::string> out;
  for (const auto& [k, v] : headers) {
    if (k != lower_name) continue;
    out = out ? *out + ", " + v : v;
  }
  return out;
}

BodyFile::~BodyFile() {
  if (!path.empty()) ::unlink(path.c_str());
}

Response JsonError(int status, const std::string& message) {
  Response r;
  r.status = status;
  r.body = nlohmann::json{{"error", {{"status", status}, {"message", message}}}}.dump(
      -1, ' ', false, nlohmann::json::error_handler_t::replace);
  return r;
}

namespace {

std::string StatusLine(int status) {
  auto reason = bhttp::obsolete_reason(static_cast<bhttp::status>(status));
  return fmt::format("HTTP/1.1 {} {}\r\n", status,
                     reason.empty() ? "Unknown" : std::string_view(reason.data(), reason.size()));
}

std::string Chunk(const std::string& bytes) {
  return fmt::format("{:x}\r\n{}\r\n", bytes.size(), bytes);
}

std::string ResponseBytes(const Response& r, bool close) {
  std::string out = StatusLine(r.status);
  if (!r.body.empty() || r.status >= 200) {
    if (!r.content_type.empty() && !r.body.empty())
      out += fmt::format("Content-Type: {}\r\n", r.content_type);
    out += fmt::format("Content-Length: {}\r\n", r.body.size());
  }
  for (const auto& [k, v] : r.headers) out += fmt::format("{}: {}\r\n", k, v);
  if (close) out += "Connection: close\r\n";
  out += "\r\n";
  out += r.body;
  return out;
}

// Request smuggling (RFC 9112 6.1 and 6.3): when a proxy in front of us frames a request one way
// and we another, the rest of its body is read as a second request that the proxy never saw.
// So only one framing is accepted: a single Content-Length, or Transfer-Encoding that is exactly
// "chunked" and no Content-Length. Anything else is refused with 400 and the connection closed.
std::optional<std::string> FramingProblem(const Request& r) {
  size_t te = 0, cl = 0;
  for (const auto& [k, v] : r.headers) {
    te += k == "transfer-encoding";
    cl += k == "content-length";
  }
  if (te > 0 && cl > 0)
    return "both Transfer-Encoding and Content-Length are present; send exactly one";
  if (cl > 1) return "more than one Content-Length; send exactly one";
  if (te > 0) {
    std::string v = AsciiLower(*r.Header("transfer-encoding"));
    v.erase(0, v.find_first_not_of(" \t"));
    v.erase(v.find_last_not_of(" \t") + 1);
    if (v != "chunked") {
      return fmt::format("Transfer-Encoding '{}' is not supported; expected exactly 'chunked'",
                         *r.Header("transfer-encoding"));
    }
  }
  if (cl == 1) {
    std::string v = *r.Header("content-length");
    if (v.empty() || v.find_first_not_of("0123456789") != std::string::npos)
      return fmt::format("invalid Content-Length '{}'; expected one decimal number", v);
  }
  return std::nullopt;
}

}  // namespace

class Connection;

struct Server::Impl {
  struct Periodic {
    explicit Periodic(asio::io_context& ioc) : timer(ioc) {}
    asio::steady_timer timer;
    int64_t period_ms = 1000;
    std::function<void()> fn;
  };
  // Declared before the io_context: its destructor destroys pending handlers, which destroy
  // connections, which unregister themselves here.
  ServerOptions o;
  HeaderCheck check;
  Handler handler;
  mutable std::mutex mu;  // guards the four maps below and Connection::pending_seq_
  std::map<Connection*, std::weak_ptr<Connection>> conns;
  std::map<std::string, size_t> per_peer;  // open connections by peer IP address
  // Connections not yet past the HeaderCheck, oldest first (keyed by accept order).
  struct Pending {
    std::string peer;
    std::weak_ptr<Connection> conn;
  };
  std::map<uint64_t, Pending> pending;
  uint64_t next_pending_seq = 1;
  std::atomic<bool> stopping{false};
  bool started = false, stopped = false;

  asio::io_context ioc;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  tcp::acceptor acceptor{ioc};
  asio::steady_timer accept_retry{ioc};
  std::vector<std::thread> threads;
  std::vector<std::unique_ptr<Periodic>> periodic;

  void Accept();
  // Takes the oldest pending connection (of `peer`, when given) out of `pending` (mu held). Null
  // when there is none. The caller aborts it on its strand, after releasing mu.
  std::shared_ptr<Connection> TakeOldestPending(const std::string* peer);
  // Writes a short refusal to a socket we will not serve, best effort, then closes it.
  void RefuseSocket(tcp::socket& s, const std::string& message) const;
  Response Error(int status, const std::string& message) const {
    return o.error_response ? o.error_response(status, message) : JsonError(status, message);
  }
  void Arm(Periodic* p) {
    p->timer.expires_after(std::chrono::milliseconds(p->period_ms));
    p->timer.async_wait([this, p](beast::error_code ec) {
      if (ec || stopping) return;
      try {
        p->fn();
      } catch (const std::exception& e) {
        log::Warn("http: periodic task failed: {}", e.what());
      }
      Arm(p);
    });
  }
};

class StreamImpl;

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  // Registered in srv.conns, srv.per_peer and srv.pending by the acceptor, under srv.mu.
  Connection(Server::Impl& srv, tcp::socket socket, std::string peer, uint64_t pending_seq)
      : pending_seq_(pending_seq), srv_(srv), stream_(std::move(socket)), peer_(std::move(peer)) {
    beast::error_code ec;
    auto ep = stream_.socket().remote_endpoint(ec);
    if (!ec) remote_ = fmt::format("{}:{}", ep.address().to_string(), ep.port());
  }
  ~Connection() {
    std::lock_guard<std::mutex> g(srv_.mu);
    srv_.conns.erase(this);
    if (auto it = srv_.per_peer.find(peer_); it != srv_.per_peer.end() && --it->second == 0)
      srv_.per_peer.erase(it);
    if (pending_seq_ != 0) srv_.pending.erase(pending_seq_);
  }

  void SetNoDelay() {
    beast::error_code ignored;
    stream_.socket().set_option(tcp::no_delay(true), ignored);
  }
  void Start() {
    asio::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->ReadHeader(); });
  }
  auto executor() { return stream_.get_executor(); }
  const Server::Impl& server() const { return srv_; }

  // All of the following run on the connection's strand.
  void WriteResponse(const Response& r);
  void BeginStream(const std::shared_ptr<StreamImpl>& s,
                   const std::vector<std::pair<std::string, std::string>>& headers);
  void StreamWrite(const StreamImpl* s, std::string bytes);
  void EndStream(const StreamImpl* s);
  void Shutdown();
  // Pushed out by a newcomer while pending (see ServerOptions::max_pending_connections).
  void Evict() {
    if (!checked_) Abort();
  }
  uint64_t pending_seq_;  // guarded by srv.mu; 0 once past the HeaderCheck or evicted

 private:
  enum class State { kReading, kHandling, kStreaming, kLingering, kClosed };

  void ReadHeader();
  void ReadHeaderBytes();
  void OnHeader(beast::error_code ec);
  void OnBody(beast::error_code ec);
  void SpoolBody();  // streams the body to a file (Request::spool_body_limit)
  void OnSpooled(beast::error_code ec, size_t limit);
  void Handle();
  void Refuse(Response r) {
    r.close = true;
    WriteResponse(r);
  }
  void Enqueue(std::string bytes);
  void WriteNext();
  void AfterDrain();
  void WatchClose();
  void Linger();
  void Abort();  // the peer is gone or misbehaved: drop everything

  Server::Impl& srv_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  std::optional<bhttp::request_parser<bhttp::file_body>> file_parser_;
  std::shared_ptr<BodyFile> spooled_;  // the file file_parser_ writes
  Request req_;
  std::string remote_;
  std::string peer_;
  bool checked_ = false;       // a request on this connection passed the HeaderCheck
  bool first_request_ = true;  // no request headers read yet
  State state_ = State::kReading;
  bool keep_alive_ = true;
  std::deque<std::string> outq_;
  bool writing_ = false;
  enum class Then { kNothing, kReadNext, kClose } then_ = Then::kNothing;
  std::shared_ptr<StreamImpl> current_;
  bool shutdown_requested_ = false;
  size_t lingered_ = 0;
  size_t queued_bytes_ = 0;  // written to outq_ and not yet sent
  static constexpr size_t kMaxQueuedBytes = 64u << 20;
  std::array<char, 16384> discard_;
};

class StreamImpl : public EventStream, public std::enable_shared_from_this<StreamImpl> {
 public:
  explicit StreamImpl(std::shared_ptr<Connection> c) : conn_(std::move(c)) {}
  bool Send(std::string bytes, bool last) override {
    std::lock_guard<std::mutex> g(mu_);
    if (!open_ || !conn_) return false;
    asio::post(conn_->executor(),
               [c = conn_, self = shared_from_this(), b = std::move(bytes), last] {
                 c->StreamWrite(self.get(), std::move(b));
                 if (last) c->EndStream(self.get());
               });
    return true;
  }
  void Close() override {
    std::lock_guard<std::mutex> g(mu_);
    if (!open_ || !conn_) return;
    asio::post(conn_->executor(),
               [c = conn_, self = shared_from_this()] { c->EndStream(self.get()); });
  }
  bool open() const override {
    std::lock_guard<std::mutex> g(mu_);
    return open_;
  }
  void OnClosed(std::function<void()> cb) override {
    std::lock_guard<std::mutex> g(mu_);
    on_closed_ = std::move(cb);
  }
  // On the connection's strand, once: breaks the connection <-> stream cycle.
  void MarkClosed() {
    std::function<void()> cb;
    {
      std::lock_guard<std::mutex> g(mu_);
      if (!open_) return;
      open_ = false;
      conn_.reset();
      cb = std::move(on_closed_);
    }
    if (cb) cb();
  }

 private:
  mutable std::mutex mu_;
  bool open_ = true;
  std::shared_ptr<Connection> conn_;
  std::function<void()> on_closed_;
};

class ExchangeImpl : public Exchange {
 public:
  ExchangeImpl(std::shared_ptr<Connection> c,
               std::vector<std::pair<std::string, std::string>> extra_headers)
      : conn_(std::move(c)), extra_(std::move(extra_headers)) {}
  ~ExchangeImpl() override {
    if (!answered_.exchange(true)) {
      auto c = conn_;
      asio::post(c->executor(), [c] {
        c->WriteResponse(c->server().Error(500, "the request was dropped without an answer"));
      });
    }
  }
  void Respond(Response r) override {
    if (answered_.exchange(true)) return;
    r.headers.insert(r.headers.end(), extra_.begin(), extra_.end());
    asio::post(conn_->executor(), [c = conn_, r = std::move(r)] { c->WriteResponse(r); });
  }
  std::shared_ptr<EventStream> StartStream(
      std::vector<std::pair<std::string, std::string>> headers) override {
    auto s = std::make_shared<StreamImpl>(conn_);
    if (answered_.exchange(true)) {
      s->MarkClosed();
      return s;
    }
    headers.insert(headers.end(), extra_.begin(), extra_.end());
    asio::post(conn_->executor(), [c = conn_, s, h = std::move(headers)] { c->BeginStream(s, h); });
    return s;
  }

 private:
  std::shared_ptr<Connection> conn_;
  const std::vector<std::pair<std::string, std::string>> extra_;  // Request::response_headers
  std::atomic<bool> answered_{false};
};

void Connection::ReadHeader() {
  if (srv_.stopping) return Abort();
  state_ = State::kReading;
  parser_.emplace();
  parser_->header_limit(static_cast<uint32_t>(srv_.o.max_header_bytes));
  // No limit while the headers are read: the HeaderCheck decides where the body goes (memory
  // or a file) and so which limit applies; OnHeader sets it before a body byte is read.
  parser_->body_limit(boost::none);
  if (first_request_ || buffer_.size() > 0) return ReadHeaderBytes();
  // Kept alive: the client may take the idle timeout to begin its next request, and then has the
  // header timeout to finish its headers.
  stream_.expires_after(std::chrono::milliseconds(srv_.o.idle_timeout_ms));
  stream_.async_read_some(buffer_.prepare(4096),
                          [self = shared_from_this()](beast::error_code ec, size_t n) {
                            if (self->state_ == State::kClosed) return;
                            if (ec) return self->Abort();
                            self->buffer_.commit(n);
                            self->ReadHeaderBytes();
                          });
}

void Connection::ReadHeaderBytes() {
  stream_.expires_after(std::chrono::milliseconds(srv_.o.header_timeout_ms));
  bhttp::async_read_header(
      stream_, buffer_, *parser_,
      [self = shared_from_this()](beast::error_code ec, size_t) { self->OnHeader(ec); });
}

void Connection::OnHeader(beast::error_code ec) {
  if (state_ == State::kClosed) return;
  if (ec == bhttp::error::end_of_stream || ec == asio::error::operation_aborted ||
      ec == beast::error::timeout || ec == asio::error::eof || ec == asio::error::connection_reset)
    return Abort();
  if (ec == bhttp::error::body_limit) {  // a Content-Length over the limit, seen in the headers
    return Refuse(srv_.Error(
        413, fmt::format("request body exceeds the limit of {} bytes", srv_.o.max_body_bytes)));
  }
  if (ec == bhttp::error::header_limit) {
    return Refuse(srv_.Error(
        431, fmt::format("request headers exceed {} bytes; send fewer or shorter headers",
                         srv_.o.max_header_bytes)));
  }
  if (ec) {
    return Refuse(srv_.Error(
        400, fmt::format("malformed HTTP request: {}; expected HTTP/1.1", ec.message())));
  }
  first_request_ = false;
  const auto& h = parser_->get();
  req_ = Request{};
  req_.method = std::string(h.method_string());
  req_.target = std::string(h.target());
  req_.path = req_.target.substr(0, req_.target.find('?'));
  req_.remote = remote_;
  req_.peer = peer_;
  for (const auto& f : h) {
    req_.headers.emplace_back(AsciiLower(f.name_string()), std::string(f.value()));
  }
  keep_alive_ = h.keep_alive();
  if (auto problem = FramingProblem(req_)) {
    return Refuse(srv_.Error(400, fmt::format("malformed HTTP request: {}", *problem)));
  }
  if (srv_.stopping) {
    return Refuse(srv_.Error(503, "the server is shutting down; retry elsewhere"));
  }
  std::optional<Response> refused;
  try {
    refused = srv_.check ? srv_.check(req_) : std::nullopt;
  } catch (const std::exception& e) {  // nothing a client sends may end the I/O thread
    refused = srv_.Error(400, fmt::format("bad request headers: {}", e.what()));
  }
  if (refused) return Refuse(*refused);
  if (!checked_) {
    checked_ = true;
    std::lock_guard<std::mutex> g(srv_.mu);
    if (pending_seq_ != 0) srv_.pending.erase(pending_seq_);
    pending_seq_ = 0;
  }
  const size_t limit = req_.spool_body_limit ? req_.spool_body_limit : srv_.o.max_body_bytes;
  if (auto len = parser_->content_length(); len && *len > limit) {
    return Refuse(srv_.Error(
        413, fmt::format("request body of {} bytes exceeds the limit of {} bytes", *len, limit)));
  }
  if (auto expect = req_.Header("expect"); expect && beast::iequals(*expect, "100-continue")) {
    Enqueue("HTTP/1.1 100 Continue\r\n\r\n");
  }
  if (req_.spool_body_limit) return SpoolBody();
  parser_->body_limit(limit);
  stream_.expires_after(std::chrono::milliseconds(srv_.o.idle_timeout_ms));
  bhttp::async_read(stream_, buffer_, *parser_,
                    [self = shared_from_this()](beast::error_code e, size_t) { self->OnBody(e); });
}

void Connection::OnBody(beast::error_code ec) {
  if (state_ == State::kClosed) return;
  if (ec == bhttp::error::body_limit) {
    return Refuse(srv_.Error(
        413, fmt::format("request body exceeds the limit of {} bytes", srv_.o.max_body_bytes)));
  }
  if (ec == asio::error::operation_aborted || ec == beast::error::timeout ||
      ec == bhttp::error::end_of_stream || ec == asio::error::eof ||
      ec == asio::error::connection_reset)
    return Abort();
  if (ec) {
    return Refuse(srv_.Error(400, fmt::format("malformed HTTP request body: {}", ec.message())));
  }
  req_.body = std::move(parser_->get().body());
  parser_.reset();
  Handle();
}

void Connection::SpoolBody() {
  const size_t limit = req_.spool_body_limit;
  spooled_ = std::make_shared<BodyFile>();
  std::string dir = srv_.o.spool_directory.empty() ? "/tmp" : srv_.o.spool_directory;
  std::string path = dir + "/upload-XXXXXX";
  int fd = ::mkstemp(path.data());
  if (fd < 0) {
    spooled_.reset();
    return Refuse(srv_.Error(
        503, fmt::format("cannot store the request body: {}; retry later", std::strerror(errno))));
  }
  ::close(fd);
  spooled_->path = path;
  file_parser_.emplace(std::move(*parser_));
  parser_.reset();
  beast::error_code ec;
  file_parser_->get().body().open(path.c_str(), beast::file_mode::write, ec);
  if (ec) {
    file_parser_.reset();
    spooled_.reset();
    return Refuse(srv_.Error(503, fmt::format("cannot store the request body: {}", ec.message())));
  }
  file_parser_->body_limit(limit);
  OnSpooled({}, limit);
}

// One piece of a spooled body at a time, each with the idle timeout: a large upload may take
// longer than any single deadline, but a client that stops sending is still dropped.
void Connection::OnSpooled(beast::error_code ec, size_t limit) {
  if (state_ == State::kClosed) return;
  auto drop = [this] {  // a failed or cut upload leaves no file behind
    file_parser_.reset();
    spooled_.reset();
  };
  if (ec == bhttp::error::body_limit) {
    drop();
    return Refuse(
        srv_.Error(413, fmt::format("request body exceeds the limit of {} bytes", limit)));
  }
  if (ec == asio::error::operation_aborted || ec == beast::error::timeout ||
      ec == bhttp::error::end_of_stream || ec == asio::error::eof ||
      ec == asio::error::connection_reset || ec == bhttp::error::partial_message) {
    drop();
    return Abort();
  }
  if (ec) {
    drop();
    return Refuse(srv_.Error(400, fmt::format("malformed HTTP request body: {}", ec.message())));
  }
  if (!file_parser_->is_done()) {
    stream_.expires_after(std::chrono::milliseconds(srv_.o.idle_timeout_ms));
    bhttp::async_read_some(stream_, buffer_, *file_parser_,
                           [self = shared_from_this(), limit](beast::error_code e, size_t) {
                             self->OnSpooled(e, limit);
                           });
    return;
  }
  file_parser_->get().body().close();
  std::error_code size_ec;
  spooled_->bytes = static_cast<size_t>(std::filesystem::file_size(spooled_->path, size_ec));
  file_parser_.reset();
  req_.body_file = std::move(spooled_);
  Handle();
}

void Connection::Handle() {
  state_ = State::kHandling;
  stream_.expires_never();
  auto ex = std::make_shared<ExchangeImpl>(shared_from_this(), req_.response_headers);
  try {
    srv_.handler(std::move(req_), ex);
  } catch (const std::exception& e) {
    ex->Respond(srv_.Error(500, e.what()));
  }
}

void Connection::WriteResponse(const Response& r) {
  if (state_ == State::kClosed) return;
  bool close = r.close || !keep_alive_ || srv_.stopping || shutdown_requested_;
  state_ = State::kHandling;
  Enqueue(ResponseBytes(r, close));
  then_ = close ? Then::kClose : Then::kReadNext;
  if (!writing_) AfterDrain();
}

void Connection::BeginStream(const std::shared_ptr<StreamImpl>& s,
                             const std::vector<std::pair<std::string, std::string>>& headers) {
  if (state_ == State::kClosed) return s->MarkClosed();
  std::string out = StatusLine(200);
  out +=
      "Content-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
      "X-Accel-Buffering: no\r\nTransfer-Encoding: chunked\r\n";
  for (const auto& [k, v] : headers) out += fmt::format("{}: {}\r\n", k, v);
  out += "\r\n";
  state_ = State::kStreaming;
  current_ = s;
  Enqueue(std::move(out));
  WatchClose();
  if (shutdown_requested_ || srv_.stopping) EndStream(s.get());
}

void Connection::StreamWrite(const StreamImpl* s, std::string bytes) {
  if (state_ != State::kStreaming || current_.get() != s || bytes.empty()) return;
  Enqueue(Chunk(bytes));
}

void Connection::EndStream(const StreamImpl* s) {
  if (state_ != State::kStreaming || current_.get() != s) return;
  Enqueue("0\r\n\r\n");
  auto ended = std::move(current_);
  state_ = State::kHandling;
  then_ = keep_alive_ && !shutdown_requested_ && !srv_.stopping ? Then::kReadNext : Then::kClose;
  ended->MarkClosed();
  if (!writing_) AfterDrain();
}

// While a stream is open the client sends nothing, so readability means it hung up.
void Connection::WatchClose() {
  stream_.socket().async_wait(
      tcp::socket::wait_read,
      asio::bind_executor(stream_.get_executor(), [self =
                                                       shared_from_this()](beast::error_code ec) {
        if (self->state_ != State::kStreaming) return;
        if (ec) return self->Abort();
        char b;
        ssize_t n = ::recv(self->stream_.socket().native_handle(), &b, 1, MSG_PEEK | MSG_DONTWAIT);
        if (n == 0 || (n < 0 && errno != EAGAIN)) return self->Abort();
        // Data: a pipelined request, read after the
        // stream ends. Stop watching.
      }));
}

void Connection::Enqueue(std::string bytes) {
  queued_bytes_ += bytes.size();
  outq_.push_back(std::move(bytes));
  // A client that reads too slowly for its stream is dropped rather than buffered without end
  // (it may resume with Last-Event-ID).
  if (queued_bytes_ > kMaxQueuedBytes) {
    log::Warn("http: {} reads too slowly ({} bytes waiting); dropping the connection", remote_,
              queued_bytes_);
    return Abort();
  }
  // The write starts once the current handler is done, so what it queues after this (a
  // stream's headers and first event, a last event and the end of the stream) leaves in one
  // send: one wake-up of the client instead of several.
  if (!writing_) {
    writing_ = true;
    asio::post(stream_.get_executor(), [self = shared_from_this()] { self->WriteNext(); });
  }
}

void Connection::WriteNext() {
  if (outq_.empty()) {
    writing_ = false;
    return AfterDrain();
  }
  writing_ = true;
  // Coalesce queued pieces (SSE events arrive in bursts) into one write.
  if (outq_.size() > 1) {
    std::string all;
    for (auto& p : outq_) all += p;
    outq_.clear();
    outq_.push_back(std::move(all));
  }
  stream_.expires_after(std::chrono::milliseconds(srv_.o.write_timeout_ms));
  asio::async_write(stream_, asio::buffer(outq_.front()),
                    [self = shared_from_this()](beast::error_code ec, size_t n) {
                      // Aborted meanwhile (the peer hung up): the queue is already gone.
                      if (ec || self->state_ == State::kClosed) return self->Abort();
                      self->queued_bytes_ -= std::min(self->queued_bytes_, n);
                      self->outq_.pop_front();
                      self->WriteNext();
                    });
}

void Connection::AfterDrain() {
  if (state_ == State::kStreaming || state_ == State::kClosed) {
    if (state_ == State::kStreaming) stream_.expires_never();
    return;
  }
  Then t = then_;
  then_ = Then::kNothing;
  if (t == Then::kReadNext) return ReadHeader();
  if (t == Then::kClose) {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    state_ = State::kLingering;
    stream_.expires_after(std::chrono::seconds(2));
    return Linger();
  }
}

// After refusing a request whose body is still arriving (413, 401), read and drop that body for
// a moment: closing at once would reset the connection and the client would never read why.
void Connection::Linger() {
  stream_.async_read_some(asio::buffer(discard_),
                          [self = shared_from_this()](beast::error_code ec, size_t n) {
                            self->lingered_ += n;
                            if (ec || self->lingered_ > (64u << 20)) return self->Abort();
                            self->Linger();
                          });
}

void Connection::Abort() {
  if (state_ == State::kClosed) return;
  state_ = State::kClosed;
  if (current_) {
    auto s = std::move(current_);
    s->MarkClosed();
  }
  beast::error_code ec;
  stream_.socket().close(ec);
  outq_.clear();
  queued_bytes_ = 0;
}

void Connection::Shutdown() {
  shutdown_requested_ = true;
  if (state_ == State::kReading || state_ == State::kLingering) return Abort();
  if (state_ == State::kStreaming) EndStream(current_.get());
  // kHandling: the response being prepared goes out with Connection: close.
}

void Server::Impl::Accept() {
  acceptor.async_accept(asio::make_strand(ioc), [this](beast::error_code ec, tcp::socket s) {
    if (ec) {
      if (ec == asio::error::operation_aborted || !acceptor.is_open()) return;
      // Out of file descriptors, say: retrying at once would spin; wait a moment.
      log::Warn("http: accept failed: {}; retrying in 100 ms", ec.message());
      accept_retry.expires_after(std::chrono::milliseconds(100));
      return accept_retry.async_wait([this](beast::error_code e) {
        if (!e && !stopping) Accept();
      });
    }
    beast::error_code ignored;
    std::string peer = s.remote_endpoint(ignored).address().to_string();
    std::shared_ptr<Connection> c, evicted;
    std::string refusal;
    {
      std::lock_guard<std::mutex> g(mu);
      // At a limit, the oldest connection that has not yet sent acceptable headers makes room
      // (the peer's own, for the per-peer limit): half-sent requests cannot keep a newcomer out,
      // and never push out a connection that got past the check. The limits are exceeded by
      // at most the evictions still in flight.
      bool full = conns.size() >= o.max_connections;
      if (per_peer[peer] >= o.max_connections_per_peer) {
        evicted = TakeOldestPending(&peer);
        if (!evicted) {
          refusal = fmt::format("too many open connections from {} (at most {}); retry later", peer,
                                o.max_connections_per_peer);
        }
      } else if (full || pending.size() >= o.max_pending_connections) {
        evicted = TakeOldestPending(nullptr);
        if (!evicted && full) refusal = "too many open connections; retry later";
      }
      if (refusal.empty()) {
        uint64_t seq = next_pending_seq++;
        c = std::make_shared<Connection>(*this, std::move(s), peer, seq);
        conns[c.get()] = c;
        per_peer[peer]++;
        pending[seq] = Pending{peer, c};
      } else if (per_peer[peer] == 0) {
        per_peer.erase(peer);
      }
    }
    if (evicted) asio::post(evicted->executor(), [evicted] { evicted->Evict(); });
    if (!c) {
      RefuseSocket(s, refusal);
      return Accept();
    }
    // Responses go out in pieces (SSE events): without NODELAY, Nagle holds each piece until
    // the client's delayed ACK, about 40 ms.
    c->SetNoDelay();
    c->Start();
    Accept();
  });
}

std::shared_ptr<Connection> Server::Impl::TakeOldestPending(const std::string* peer) {
  for (auto it = pending.begin(); it != pending.end(); ++it) {
    if (peer && it->second.peer != *peer) continue;
    // Locked here, released by the caller after mu: if this were the last reference, the
    // destructor (which takes mu) would run under mu.
    auto c = it->second.conn.lock();
    pending.erase(it);
    if (!c) return TakeOldestPending(peer);  // being destroyed; its destructor finds it gone
    c->pending_seq_ = 0;
    return c;
  }
  return nullptr;
}

void Server::Impl::RefuseSocket(tcp::socket& s, const std::string& message) const {
  std::string bytes = ResponseBytes(Error(503, message), true);
  beast::error_code ignored;
  s.non_blocking(true, ignored);
  s.write_some(asio::buffer(bytes), ignored);
  s.shutdown(tcp::socket::shutdown_send, ignored);
  s.close(ignored);
}

Server::Server(ServerOptions options, HeaderCheck check, Handler handler)
    : impl_(std::make_unique<Impl>()) {
  impl_->o = std::move(options);
  impl_->check = std::move(check);
  impl_->handler = std::move(handler);
}

Server::~Server() { Stop(0); }

Result<int> Server::Start() {
  auto& d = *impl_;
  beast::error_code ec;
  auto address = asio::ip::make_address(d.o.host, ec);
  if (ec) {
    return Status::InvalidArgument(fmt::format(
        "invalid listen address '{}': expected an IP address such as 127.0.0.1", d.o.host));
  }
  tcp::endpoint ep(address, static_cast<unsigned short>(d.o.port));
  d.acceptor.open(ep.protocol(), ec);
  if (!ec) d.acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) d.acceptor.bind(ep, ec);
  if (!ec) d.acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return Status::IoError(
        fmt::format("cannot listen on {}:{}: {}", d.o.host, d.o.port, ec.message()));
  }
  int port = d.acceptor.local_endpoint().port();
  d.work.emplace(asio::make_work_guard(d.ioc));
  d.Accept();
  for (int i = 0; i < std::max(1, d.o.io_threads); ++i) {
    d.threads.emplace_back([&d] { d.ioc.run(); });
  }
  d.started = true;
  return port;
}

void Server::Every(int64_t period_ms, std::function<void()> fn) {
  auto p = std::make_unique<Impl::Periodic>(impl_->ioc);
  p->period_ms = period_ms;
  p->fn = std::move(fn);
  impl_->Arm(p.get());
  impl_->periodic.push_back(std::move(p));
}

size_t Server::open_connections() const {
  std::lock_guard<std::mutex> g(impl_->mu);
  return impl_->conns.size();
}

void Server::Stop(int64_t drain_ms) {
  auto& d = *impl_;
  if (!d.started || d.stopped) return;
  d.stopped = true;
  d.stopping = true;
  asio::post(d.ioc, [&d] {
    beast::error_code ec;
    d.acceptor.close(ec);
    for (auto& p : d.periodic) p->timer.cancel();
  });
  std::vector<std::shared_ptr<Connection>> live;
  {
    std::lock_guard<std::mutex> g(d.mu);
    for (auto& [p, w] : d.conns) {
      if (auto c = w.lock()) live.push_back(std::move(c));
    }
  }
  for (auto& c : live) asio::post(c->executor(), [c] { c->Shutdown(); });
  live.clear();
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(drain_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    {
      std::lock_guard<std::mutex> g(d.mu);
      if (d.conns.empty()) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  d.work.reset();
  d.ioc.stop();
  for (auto& t : d.threads) t.join();
  d.threads.clear();
}

}  // namespace supertable::http
