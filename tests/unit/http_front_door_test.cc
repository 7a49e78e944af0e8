// The HTTP front door under abuse: origins that only look local, request smuggling through
// framing, session floods, replay retention a client could extend, and sockets that never finish
// their headers. Each test runs the real transport on a free loopback port with small limits, and
// talks to it with raw sockets so that it can send what no well-behaved client would.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "common/net.h"
#include "mcp/server.h"
#include "mcp/streamable_http.h"

namespace supertable::mcp {
namespace {

using Clock = std::chrono::steady_clock;

// Polls `done` every 20 ms for at most `limit`: timing is never asserted beyond that bound.
bool WaitFor(const std::function<bool()>& done,
             std::chrono::milliseconds limit = std::chrono::milliseconds(5000)) {
  auto end = Clock::now() + limit;
  while (Clock::now() < end) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return done();
}

// A TCP connection to the server on 127.0.0.1; reads give up after 5 s.
class RawConnection {
 public:
  explicit RawConnection(int port) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    timeval tv{5, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    connected_ = connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0;
  }
  ~RawConnection() { close(fd_); }
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  bool connected() const { return connected_; }
  void Send(const std::string& bytes) {
    size_t off = 0;
    while (off < bytes.size()) {
      ssize_t n = ::send(fd_, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return;
      off += static_cast<size_t>(n);
    }
  }
  // Reads until `needle` has arrived (true) or the peer closes or 5 s pass (false).
  bool ReadUntil(const std::string& needle) {
    while (in_.find(needle) == std::string::npos) {
      if (!ReadSome()) return false;
    }
    return true;
  }
  // Reads until the peer closes the connection (true) or 5 s pass without that (false).
  bool ReadToClose() {
    while (ReadSome()) {
    }
    return closed_;
  }
  // One response: its status, and everything received so far in `in()`.
  int ReadResponse() {
    if (!ReadUntil("\r\n\r\n")) return 0;
    size_t head_end = in_.find("\r\n\r\n") + 4;
    std::string head = in_.substr(0, head_end);
    std::string lower = head;
    for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (auto cl = lower.find("content-length: "); cl != std::string::npos) {
      size_t len = std::stoul(lower.substr(cl + 16));
      while (in_.size() < head_end + len && ReadSome()) {
      }
    } else if (lower.find("transfer-encoding: chunked") != std::string::npos) {
      ReadUntil("\r\n0\r\n\r\n");
    }
    return std::stoi(head.substr(9, 3));
  }
  // True when the peer has closed the connection by now (does not wait).
  bool ClosedNow() {
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, 0) <= 0) return false;
    char b;
    ssize_t n = ::recv(fd_, &b, 1, MSG_PEEK | MSG_DONTWAIT);
    return n == 0 || (n < 0 && errno == ECONNRESET);
  }
  const std::string& in() const { return in_; }
  void Clear() { in_.clear(); }
  // Closes the connection as a client that is done with it does.
  void Shutdown() { ::shutdown(fd_, SHUT_RDWR); }
  bool closed() const { return closed_; }

 private:
  bool ReadSome() {
    char buf[4096];
    ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
    if (n <= 0) {
      closed_ = n == 0 || errno == ECONNRESET;
      return false;
    }
    in_.append(buf, static_cast<size_t>(n));
    return true;
  }
  int fd_ = -1;
  bool connected_ = false;
  bool closed_ = false;
  std::string in_;
};

std::string HeaderValue(const std::string& response, const std::string& lower_name) {
  std::string lower = response;
  for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  size_t at = lower.find("\r\n" + lower_name + ": ");
  if (at == std::string::npos) return "";
  at += lower_name.size() + 4;
  return response.substr(at, response.find("\r\n", at) - at);
}

const char* kInit =
    R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25",)"
    R"("capabilities":{},"clientInfo":{"name":"t","version":"1"}}})";
const char* kInitialized = R"({"jsonrpc":"2.0","method":"notifications/initialized"})";
const char* kPing = R"({"jsonrpc":"2.0","id":2,"method":"ping"})";
const char* kWork =
    R"({"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"work","arguments":{}}})";

std::string PostRequest(const std::string& body, const std::string& session = "",
                        const std::string& extra = "") {
  std::string h =
      "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
      "Accept: application/json, text/event-stream\r\n";
  if (!session.empty()) h += "Mcp-Session-Id: " + session + "\r\n";
  return h + extra + "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

std::string GetRequest(const std::string& path, const std::string& extra = "") {
  return "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + extra + "\r\n";
}

std::string StreamRequest(const std::string& session, const std::string& last_event_id = "") {
  std::string extra = "Accept: text/event-stream\r\nMcp-Session-Id: " + session + "\r\n";
  if (!last_event_id.empty()) extra += "Last-Event-ID: " + last_event_id + "\r\n";
  return GetRequest("/mcp", extra);
}

// The MCP server behind the transport: one tool, "work", that is not quick, so a call to it is
// answered with an SSE stream.
class FrontDoor {
 public:
  explicit FrontDoor(std::function<void(HttpTransportOptions&)> configure = nullptr)
      : server_({"t", "", "1", ""}) {
    Tool work{"work", "", "a tool", {{"type", "object"}}, nullptr, {}, [](ToolContext&) {
                return ToolResult{{{"ok", true}}, nullptr, false};
              }};
    server_.AddTool(std::move(work));
    HttpTransportOptions o;
    o.http.port = 0;
    if (configure) configure(o);
    transport_ = std::make_unique<HttpTransport>(server_, o);
    auto port = transport_->Start();
    EXPECT_TRUE(port.ok());
    port_ = port.ok() ? *port : 0;
  }
  ~FrontDoor() { transport_->Stop(1000); }

  int port() const { return port_; }
  Server& server() { return server_; }
  HttpTransport& transport() { return *transport_; }

  // One request on a fresh connection; returns the status, the raw response in `*out`.
  int Call(const std::string& request, std::string* out = nullptr) {
    RawConnection c(port_);
    c.Send(request);
    int status = c.ReadResponse();
    if (out) *out = c.in();
    return status;
  }
  std::string Initialize() {
    std::string r;
    EXPECT_EQ(Call(PostRequest(kInit), &r), 200) << r;
    return HeaderValue(r, "mcp-session-id");
  }

 private:
  Server server_;
  std::unique_ptr<HttpTransport> transport_;
  int port_ = 0;
};

// Finding 4: "127." as a prefix let 127.evil.com through.
TEST(FrontDoor, LoopbackHostsAreComparedExactly) {
  for (const char* yes :
       {"localhost", "LOCALHOST", "127.0.0.1", "127.1.2.3", "127.255.255.255", "::1", "[::1]"})
    EXPECT_TRUE(IsLoopbackHost(yes)) << yes;
  for (const char* no : {"127.evil.com", "127.0.0.1.evil.com", "127.0.0.1.", "localhost.",
                         "localhost.evil.com", "127.1", "0x7f.0.0.1", "0127.0.0.1", "128.0.0.1", "",
                         "[::2]", "::ffff:10.0.0.1", "evil.com"})
    EXPECT_FALSE(IsLoopbackHost(no)) << no;
}

TEST(FrontDoor, OriginsAreParsedStrictly) {
  auto o = ParseOrigin("HTTP://LocalHost:8080");
  ASSERT_TRUE(o);
  EXPECT_EQ(o->scheme, "http");
  EXPECT_EQ(o->host, "localhost");
  EXPECT_EQ(o->port, 8080);
  auto v6 = ParseOrigin("https://[::1]:443");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->host, "[::1]");
  EXPECT_FALSE(ParseOrigin("http://localhost")->port);
  for (const char* bad : {"null",
                          "",
                          "localhost",
                          "http://",
                          "http://:80",
                          "http://127.0.0.1@evil.com",
                          "http://user:pw@localhost",
                          "http://localhost/",
                          "http://localhost/path",
                          "http://localhost?x",
                          "http://localhost#x",
                          "http://localhost:",
                          "http://localhost:99999",
                          "http://localhost:8o",
                          "http://[::1",
                          "http://[nothex]",
                          "http://[::1]x",
                          "http://a b",
                          "1http://localhost",
                          "http://local\\host"})
    EXPECT_FALSE(ParseOrigin(bad)) << bad;
}

TEST(FrontDoor, DefaultOriginAllowlistTakesOnlyRealLoopbackOrigins) {
  FrontDoor door;
  auto status = [&](const std::string& origin) {
    return door.Call(GetRequest("/health", "Origin: " + origin + "\r\n"));
  };
  for (const char* ok : {"http://localhost:3000", "https://localhost", "http://127.0.0.1",
                         "http://127.9.8.7:1", "https://[::1]:8443", "HTTP://LOCALHOST:5173"})
    EXPECT_EQ(status(ok), 200) << ok;
  for (const char* refused :
       {"http://127.evil.com", "https://127.0.0.1.evil.com", "http://127.0.0.1@evil.com",
        "http://localhost.", "http://localhost.evil.com", "null", "http://localhost/x",
        "file://localhost", "ws://localhost", "http://[::1", "not an origin", "http://0x7f.0.0.1"})
    EXPECT_EQ(status(refused), 403) << refused;
}

TEST(FrontDoor, ExplicitOriginAllowlistComparesParsedOrigins) {
  FrontDoor door([](HttpTransportOptions& o) { o.allowed_origins = {"https://app.example.com"}; });
  auto status = [&](const std::string& origin) {
    return door.Call(GetRequest("/health", "Origin: " + origin + "\r\n"));
  };
  EXPECT_EQ(status("https://app.example.com"), 200);
  EXPECT_EQ(status("HTTPS://APP.EXAMPLE.COM"), 200);
  EXPECT_EQ(status("https://app.example.com.evil.com"), 403);
  EXPECT_EQ(status("https://app.example.com@evil.com"), 403);
  EXPECT_EQ(status("http://app.example.com"), 403);
  EXPECT_EQ(status("https://app.example.com:8443"), 403);
  EXPECT_EQ(status("http://localhost"), 403);  // the list replaces the default
}

// Finding 5: framing other than one Content-Length or exactly "chunked" is refused and the
// connection closed, so nothing behind it can be read as a second request.
TEST(FrontDoor, AmbiguousFramingIsRefusedAndClosed) {
  FrontDoor door;
  std::string body = kInit;
  std::string smuggled = GetRequest("/health");
  auto head = [](const std::string& framing) {
    return "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
           "Accept: application/json, text/event-stream\r\n" +
           framing + "\r\n";
  };
  std::string cl = "Content-Length: " + std::to_string(body.size()) + "\r\n";
  std::string chunked = fmt::format("{:x}\r\n{}\r\n0\r\n\r\n", body.size(), body);
  std::vector<std::string> cases = {
      head("Transfer-Encoding: identity\r\n") + body,
      head("Transfer-Encoding: chunked, identity\r\n") + chunked,
      head("Transfer-Encoding: xchunked\r\n") + chunked,
      head("Transfer-Encoding: gzip, chunked\r\n") + chunked,
      head("Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n") + chunked,
      head("Transfer-Encoding: identity\r\n" + cl) + body,
      head("Transfer-Encoding: chunked\r\n" + cl) + chunked,
      head(cl + "Transfer-Encoding: chunked\r\n") + chunked,
      head(cl + cl) + body,
      head("Content-Length: 5\r\n" + cl) + body,
      head("Content-Length: " + std::to_string(body.size()) + ", " + std::to_string(body.size()) +
           "\r\n") +
          body,
      head("Content-Length: +5\r\n") + body,
  };
  for (const auto& request : cases) {
    RawConnection c(door.port());
    c.Send(request + smuggled);
    EXPECT_EQ(c.ReadResponse(), 400) << request;
    EXPECT_TRUE(c.ReadToClose()) << request;
    // One answer only: the request after it was not read as a second one.
    size_t head_end = c.in().find("\r\n\r\n") + 4;
    EXPECT_EQ(c.in().size(), head_end + std::stoul(HeaderValue(c.in(), "content-length")))
        << c.in();
  }
  EXPECT_EQ(door.transport().session_count(), 0u);
  // What is allowed still works: exactly one Content-Length, or chunked (in any case).
  EXPECT_EQ(door.Call(head(cl) + body), 200);
  EXPECT_EQ(door.Call(head("Transfer-Encoding: chunked\r\n") + chunked), 200);
  EXPECT_EQ(door.Call(head("Transfer-Encoding: Chunked\r\n") + chunked), 200);
}

// Finding 2: one client cannot take every session.
TEST(FrontDoor, SessionsPerClientAreCappedWithA429) {
  FrontDoor door([](HttpTransportOptions& o) { o.max_sessions_per_client = 2; });
  std::string a = door.Initialize(), b = door.Initialize();
  ASSERT_FALSE(a.empty());
  ASSERT_FALSE(b.empty());
  std::string r;
  EXPECT_EQ(door.Call(PostRequest(kInit), &r), 429);
  EXPECT_NE(r.find(R"("id":1)"), std::string::npos) << r;  // a JSON-RPC error for that request
  EXPECT_NE(r.find("SUPERTABLE_MCP_HTTP_MAX_SESSIONS_PER_CLIENT"), std::string::npos) << r;
  EXPECT_EQ(door.Call("DELETE /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nMcp-Session-Id: " + a +
                      "\r\nContent-Length: 0\r\n\r\n"),
            200);
  EXPECT_FALSE(door.Initialize().empty());  // the slot it freed can be used again
  EXPECT_EQ(door.transport().session_count(), 2u);
}

// 2026-07-28 over HTTP: no session, headers that repeat the body, errors as HTTP statuses.
TEST(FrontDoor, ModernRequestsNeedNoSessionAndHeadersThatMatchTheBody) {
  FrontDoor door;
  auto body = [](const std::string& method, const std::string& params,
                 const std::string& version = "2026-07-28") {
    return R"({"jsonrpc":"2.0","id":7,"method":")" + method + R"(","params":{)" + params +
           (params.empty() ? "" : ",") + R"("_meta":{"io.modelcontextprotocol/protocolVersion":")" +
           version + R"(","io.modelcontextprotocol/clientCapabilities":{}}}})";
  };
  auto headers = [](const std::string& method, const std::string& name = "",
                    const std::string& version = "2026-07-28") {
    std::string h = "MCP-Protocol-Version: " + version + "\r\nMcp-Method: " + method + "\r\n";
    if (!name.empty()) h += "Mcp-Name: " + name + "\r\n";
    return h;
  };
  std::string r;
  EXPECT_EQ(door.Call(PostRequest(body("server/discover", ""), "", headers("server/discover")), &r),
            200);
  EXPECT_NE(r.find(R"("supportedVersions":["2026-07-28"])"), std::string::npos) << r;
  EXPECT_EQ(HeaderValue(r, "mcp-session-id"), "");  // nothing to remember between requests
  std::string call = body("tools/call", R"("name":"work","arguments":{})");
  EXPECT_EQ(door.Call(PostRequest(call, "", headers("tools/call", "work")), &r), 200);
  EXPECT_NE(r.find(R"("resultType":"complete")"), std::string::npos) << r;
  // The name may come in base64, and with surrounding whitespace.
  EXPECT_EQ(door.Call(PostRequest(call, "", headers("tools/call", " =?base64?d29yaw==?= ")), &r),
            200)
      << r;
  // Headers that are missing or say something else than the body: -32020, 400.
  for (const std::string& h :
       {headers("tools/call"), headers("tools/call", "other"), headers("TOOLS/CALL", "work"),
        headers("tools/call", "=?base64?d29y!!==?="), std::string("Mcp-Method: tools/call\r\n"),
        headers("tools/call", "work", "2025-11-25")}) {
    EXPECT_EQ(door.Call(PostRequest(call, "", h), &r), 400) << h;
    EXPECT_NE(r.find(R"("code":-32020)"), std::string::npos) << h << r;
    EXPECT_NE(r.find(R"("id":7)"), std::string::npos) << r;
  }
  // An unsupported version (header and body agreeing): -32022 with what is supported.
  EXPECT_EQ(door.Call(PostRequest(body("tools/list", "", "1999-01-01"), "",
                                  headers("tools/list", "", "1999-01-01")),
                      &r),
            400);
  EXPECT_NE(r.find(R"("code":-32022)"), std::string::npos) << r;
  EXPECT_NE(r.find(R"("requested":"1999-01-01")"), std::string::npos) << r;
  // A method of the legacy era only: 404 with a JSON-RPC body, which tells a modern client
  // from an old server.
  EXPECT_EQ(door.Call(PostRequest(body("initialize", ""), "", headers("initialize")), &r), 404);
  EXPECT_NE(r.find(R"("code":-32601)"), std::string::npos) << r;
  // The modern version header on a request without the _meta: -32602, never a legacy guess.
  EXPECT_EQ(door.Call(PostRequest(kPing, "", headers("ping")), &r), 400);
  EXPECT_NE(r.find(R"("code":-32602)"), std::string::npos) << r;
  // And the legacy era still works beside it.
  EXPECT_FALSE(door.Initialize().empty());
}

// A modern tool call that takes SSE gets its progress and logs on its own stream, then the
// answer, which ends it; logs only when the request names a level.
TEST(FrontDoor, ModernToolCallsStreamTheirProgressAndLogs) {
  FrontDoor door;
  Tool chatty{"chatty", "", "a tool", {{"type", "object"}}, nullptr, {}, [](ToolContext& ctx) {
                ctx.Progress(1, 2);
                ctx.Log("info", "halfway");
                return ToolResult{{{"ok", true}}, nullptr, false};
              }};
  door.server().AddTool(std::move(chatty));
  auto call = [&](const std::string& extra_meta) {
    std::string body =
        R"({"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"chatty","arguments":{},)"
        R"("_meta":{"progressToken":"p","io.modelcontextprotocol/protocolVersion":"2026-07-28",)"
        R"("io.modelcontextprotocol/clientCapabilities":{})" +
        extra_meta + "}}}";
    std::string r;
    EXPECT_EQ(door.Call(PostRequest(body, "",
                                    "MCP-Protocol-Version: 2026-07-28\r\nMcp-Method: "
                                    "tools/call\r\nMcp-Name: chatty\r\n"),
                        &r),
              200);
    return r;
  };
  std::string r = call(R"(,"io.modelcontextprotocol/logLevel":"info")");
  EXPECT_NE(HeaderValue(r, "content-type").find("text/event-stream"), std::string::npos) << r;
  size_t progress = r.find("notifications/progress"), log = r.find("halfway"),
         result = r.find(R"("resultType":"complete")");
  ASSERT_NE(progress, std::string::npos) << r;
  ASSERT_NE(log, std::string::npos) << r;
  ASSERT_NE(result, std::string::npos) << r;
  EXPECT_LT(progress, result);
  EXPECT_LT(log, result);
  EXPECT_EQ(r.find("id: "), std::string::npos) << r;  // nothing to resume in this era
  std::string quiet = call("");
  EXPECT_NE(quiet.find("notifications/progress"), std::string::npos) << quiet;
  EXPECT_EQ(quiet.find("halfway"), std::string::npos) << quiet;  // no logLevel, no logs
}

// subscriptions/listen over HTTP: an event stream that stays open, the acknowledgement first,
// then only what it subscribed to, tagged; closing it ends the subscription, and a server that
// stops ends each open one with its result.
TEST(FrontDoor, ModernListenStreamsStayOpenUntilClosedOrTheServerStops) {
  FrontDoor door;
  auto listen = [](const std::string& id, const std::string& filter,
                   const std::string& accept = "application/json, text/event-stream") {
    std::string body = R"({"jsonrpc":"2.0","id":")" + id +
                       R"(","method":"subscriptions/listen","params":{"notifications":)" + filter +
                       R"(,"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28",)"
                       R"("io.modelcontextprotocol/clientCapabilities":{}}}})";
    return "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nAccept: " +
           accept +
           "\r\nMCP-Protocol-Version: 2026-07-28\r\nMcp-Method: subscriptions/listen\r\n"
           "Content-Length: " +
           std::to_string(body.size()) + "\r\n\r\n" + body;
  };
  std::string refused;
  EXPECT_EQ(door.Call(listen("x", "{}", "application/json"), &refused), 406);
  EXPECT_NE(refused.find("text/event-stream"), std::string::npos) << refused;
  RawConnection tools(door.port()), quiet(door.port()), closing(door.port());
  tools.Send(listen("tools", R"({"toolsListChanged":true})"));
  quiet.Send(listen("quiet", R"({"promptsListChanged":true})"));
  closing.Send(listen("closing", R"({"toolsListChanged":true})"));
  for (RawConnection* c : {&tools, &quiet, &closing}) {
    ASSERT_TRUE(c->ReadUntil("notifications/subscriptions/acknowledged")) << c->in();
    EXPECT_NE(HeaderValue(c->in(), "content-type").find("text/event-stream"), std::string::npos);
  }
  EXPECT_NE(tools.in().find(R"("notifications":{"toolsListChanged":true})"), std::string::npos);
  EXPECT_NE(quiet.in().find(R"("notifications":{})"), std::string::npos) << quiet.in();
  EXPECT_EQ(door.transport().listen_count(), 3u);
  // The client ends a subscription by closing its stream.
  closing.Shutdown();
  EXPECT_TRUE(WaitFor([&] { return door.transport().listen_count() == 2; }));
  door.server().AddTool({"late", "", "x", {{"type", "object"}}, nullptr, {}, [](ToolContext&) {
                           return ToolResult{};
                         }});
  ASSERT_TRUE(tools.ReadUntil("notifications/tools/list_changed")) << tools.in();
  EXPECT_NE(tools.in().find(R"("io.modelcontextprotocol/subscriptionId":"tools")"),
            std::string::npos);
  door.transport().Stop(1000);
  EXPECT_TRUE(quiet.ReadToClose());
  EXPECT_EQ(quiet.in().find("list_changed"), std::string::npos) << quiet.in();
  EXPECT_NE(quiet.in().find(R"("id":"quiet")"), std::string::npos) << quiet.in();
  EXPECT_NE(quiet.in().find(R"("resultType":"complete")"), std::string::npos) << quiet.in();
  EXPECT_TRUE(tools.ReadToClose());
  EXPECT_NE(tools.in().find(R"("id":"tools")"), std::string::npos) << tools.in();
}

// A modern tools/call repeats the arguments its tool marks x-mcp-header in Mcp-Param-* headers:
// missing or different is -32020 (HTTP 400); =?base64?...?= is decoded first; absent or null
// arguments need no header.
TEST(FrontDoor, ModernCallsRepeatMarkedArgumentsInHeaders) {
  FrontDoor door;
  Tool routed{"routed",
              "",
              "a tool",
              {{"type", "object"},
               {"properties",
                {{"super", {{"type", "string"}, {"x-mcp-header", "Super"}}},
                 {"limit", {{"type", "integer"}, {"x-mcp-header", "Limit"}}}}}},
              nullptr,
              {},
              [](ToolContext&) {
                return ToolResult{{{"ok", true}}, nullptr, false};
              }};
  door.server().AddTool(std::move(routed));
  auto call = [&](const std::string& args, const std::string& headers, std::string* out) {
    std::string body =
        R"({"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"routed","arguments":)" +
        args +
        R"(,"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28",)"
        R"("io.modelcontextprotocol/clientCapabilities":{}}}})";
    return door.Call(
        PostRequest(body, "",
                    "MCP-Protocol-Version: 2026-07-28\r\nMcp-Method: tools/call\r\nMcp-Name: "
                    "routed\r\n" +
                        headers),
        out);
  };
  std::string r;
  EXPECT_EQ(
      call(R"({"super":"shop","limit":5})", "Mcp-Param-Super: shop\r\nMcp-Param-Limit: 5\r\n", &r),
      200)
      << r;
  EXPECT_EQ(call(R"({"super":"shop"})", "mcp-param-super: =?base64?c2hvcA==?=\r\n", &r), 200) << r;
  EXPECT_EQ(call(R"({"super":null})", "", &r), 200) << r;
  EXPECT_EQ(call(R"({})", "", &r), 200) << r;
  for (const auto& [args, headers] : std::vector<std::pair<std::string, std::string>>{
           {R"({"super":"shop"})", ""},
           {R"({"super":"shop"})", "Mcp-Param-Super: Shop\r\n"},
           {R"({"super":"shop"})", "Mcp-Param-Super: =?base64?c2hvcA?=\r\n"},
           {R"({"limit":5})", "Mcp-Param-Limit: 6\r\n"}}) {
    EXPECT_EQ(call(args, headers, &r), 400) << args << " " << headers;
    EXPECT_NE(r.find("-32020"), std::string::npos) << r;
  }
}

TEST(FrontDoor, TotalSessionsAreCapped) {
  FrontDoor door([](HttpTransportOptions& o) {
    o.max_sessions = 2;
    o.max_sessions_per_client = 10;
  });
  door.Initialize();
  door.Initialize();
  EXPECT_EQ(door.Call(PostRequest(kInit)), 503);
}

TEST(FrontDoor, SessionsNeverUsedAfterInitializeEndSoon) {
  FrontDoor door([](HttpTransportOptions& o) { o.unused_session_ms = 200; });
  std::string unused = door.Initialize();
  std::string used = door.Initialize();
  EXPECT_EQ(door.Call(PostRequest(kPing, used)), 200);
  // Housekeeping runs every second: the unused one goes within a few.
  EXPECT_TRUE(WaitFor([&] { return door.transport().session_count() == 1; }));
  EXPECT_EQ(door.Call(PostRequest(kPing, unused)), 404);
  EXPECT_EQ(door.Call(PostRequest(kPing, used)), 200);
}

// Finding 1: what an SSE stream keeps for replay.
TEST(FrontDoor, AnAnsweredStreamIsForgottenOnceTheClientMovesOn) {
  FrontDoor door;
  std::string sid = door.Initialize();
  std::string r;
  ASSERT_EQ(door.Call(PostRequest(kWork, sid), &r), 200);
  ASSERT_NE(r.find("id: 1_1\n"), std::string::npos) << r;
  EXPECT_GT(door.transport().replay_bytes(), 0u);
  EXPECT_EQ(door.Call(PostRequest(kPing, sid)), 200);  // a later request: the answer arrived
  EXPECT_EQ(door.transport().replay_bytes(), 0u);
  EXPECT_EQ(door.Call(StreamRequest(sid, "1_0")), 400);  // so there is nothing to resume
}

TEST(FrontDoor, ResumingAnAnsweredStreamReplaysItOnce) {
  FrontDoor door;
  std::string sid = door.Initialize();
  ASSERT_EQ(door.Call(PostRequest(kWork, sid)), 200);
  std::string r;
  EXPECT_EQ(door.Call(StreamRequest(sid, "1_0"), &r), 200);
  EXPECT_NE(r.find("id: 1_1\n"), std::string::npos) << r;
  // Everything up to 1_1 is acknowledged by asking for what follows it: nothing is left.
  EXPECT_EQ(door.Call(StreamRequest(sid, "1_1")), 400);
  EXPECT_EQ(door.transport().replay_bytes(), 0u);
}

TEST(FrontDoor, MadeUpLastEventIdsReArmNothing) {
  FrontDoor door([](HttpTransportOptions& o) { o.replay_keep_ms = 300; });
  std::string sid = door.Initialize();
  ASSERT_EQ(door.Call(PostRequest(kWork, sid)), 200);
  size_t kept = door.transport().replay_bytes();
  EXPECT_GT(kept, 0u);
  std::string r;
  EXPECT_EQ(door.Call(StreamRequest(sid, "1_999999"), &r), 400);
  EXPECT_NE(r.find("beyond the last event"), std::string::npos) << r;
  for (const char* id : {"9_1", "0_1", "1_x", "1", "_1", "1_1_1", "99999999999_1", "-1_1"})
    EXPECT_EQ(door.Call(StreamRequest(sid, id)), 400) << id;
  EXPECT_EQ(door.transport().replay_bytes(), kept);
  // The old bug: each such GET pushed the forgetting back a minute. Keep trying, with made-up
  // ids and with real resumptions (200 while the stream is kept, 400 after), until the events
  // are gone; they must go at their time (retention plus a housekeeping round) even so.
  EXPECT_TRUE(WaitFor([&] {
    EXPECT_EQ(door.Call(StreamRequest(sid, "1_999999")), 400);
    int resumed = door.Call(StreamRequest(sid, "1_0"));
    EXPECT_TRUE(resumed == 200 || resumed == 400) << resumed;
    return door.transport().replay_bytes() == 0;
  }));
}

TEST(FrontDoor, ReplayIsBoundedPerSessionAndInTotal) {
  FrontDoor door([](HttpTransportOptions& o) {
    o.replay_session_bytes = 1000;
    o.replay_total_bytes = 1500;
  });
  std::vector<std::unique_ptr<RawConnection>> streams;
  auto open_get_stream = [&] {
    std::string sid = door.Initialize();
    EXPECT_EQ(door.Call(PostRequest(kInitialized, sid)), 202);
    streams.push_back(std::make_unique<RawConnection>(door.port()));
    streams.back()->Send(StreamRequest(sid));
    EXPECT_TRUE(streams.back()->ReadUntil("id: 1_0\n"));  // the priming event: it is open
  };
  int tool = 0;
  auto change_tools = [&](int n) {
    for (int i = 0; i < n; ++i) {
      door.server().AddTool({"t" + std::to_string(tool++),
                             "",
                             "x",
                             {{"type", "object"}},
                             nullptr,
                             {},
                             [](ToolContext&) { return ToolResult{}; }});
    }
  };
  open_get_stream();
  change_tools(40);  // each one a notifications/tools/list_changed event on the GET stream
  EXPECT_GT(door.transport().replay_bytes(), 500u);
  EXPECT_LE(door.transport().replay_bytes(), 1000u);
  open_get_stream();
  change_tools(40);
  EXPECT_GT(door.transport().replay_bytes(), 1000u);
  EXPECT_LE(door.transport().replay_bytes(), 1500u);
}

TEST(FrontDoor, ResumingAcknowledgesWhatTheClientSaw) {
  FrontDoor door;
  std::string sid = door.Initialize();
  EXPECT_EQ(door.Call(PostRequest(kInitialized, sid)), 202);
  auto get = std::make_unique<RawConnection>(door.port());
  get->Send(StreamRequest(sid));
  ASSERT_TRUE(get->ReadUntil("id: 1_0\n"));
  for (int i = 0; i < 5; ++i) {
    door.server().AddTool(
        {"t" + std::to_string(i), "", "x", {{"type", "object"}}, nullptr, {}, [](ToolContext&) {
           return ToolResult{};
         }});
  }
  ASSERT_TRUE(get->ReadUntil("id: 1_5\n"));
  size_t all = door.transport().replay_bytes();
  get.reset();               // the connection drops; the client resumes after 1_3
  ASSERT_TRUE(WaitFor([&] {  // 409 until the server notices the old connection went
    RawConnection c(door.port());
    c.Send(StreamRequest(sid, "1_3"));
    if (!c.ReadUntil("\r\n\r\n") || c.in().substr(9, 3) != "200") return false;
    EXPECT_TRUE(c.ReadUntil("id: 1_5\n"));
    EXPECT_NE(c.in().find("id: 1_4\n"), std::string::npos);
    EXPECT_EQ(c.in().find("id: 1_3\n"), std::string::npos);
    return true;
  }));
  EXPECT_LT(door.transport().replay_bytes(), all);
}

// Finding 3: sockets that never finish their headers.
TEST(FrontDoor, HeadersMustArriveWithinTheHeaderTimeout) {
  FrontDoor door([](HttpTransportOptions& o) { o.http.header_timeout_ms = 300; });
  RawConnection slow(door.port());
  slow.Send("POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\n");
  auto start = Clock::now();
  EXPECT_TRUE(slow.ReadToClose());  // dropped, long before the 5 s the read waits
  EXPECT_LT(Clock::now() - start, std::chrono::milliseconds(4500));
  RawConnection silent(door.port());
  EXPECT_TRUE(silent.ReadToClose());
  // A kept-alive connection may wait longer than that between requests (the idle timeout).
  RawConnection keep(door.port());
  keep.Send(GetRequest("/health"));
  EXPECT_EQ(keep.ReadResponse(), 200);
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  keep.Clear();
  keep.Send(GetRequest("/health"));
  EXPECT_EQ(keep.ReadResponse(), 200);
}

TEST(FrontDoor, ConnectionsPerPeerAreCapped) {
  FrontDoor door([](HttpTransportOptions& o) { o.http.max_connections_per_peer = 3; });
  // Three connections past the header check hold the peer's three slots...
  std::vector<std::unique_ptr<RawConnection>> held;
  for (int i = 0; i < 3; ++i) {
    held.push_back(std::make_unique<RawConnection>(door.port()));
    held.back()->Send(GetRequest("/health"));
    ASSERT_EQ(held.back()->ReadResponse(), 200);
  }
  // ...so a fourth is refused at once, before it sends anything (sending would race the close).
  RawConnection refused(door.port());
  EXPECT_EQ(refused.ReadResponse(), 503);
  EXPECT_NE(refused.in().find("too many open connections from 127.0.0.1"), std::string::npos)
      << refused.in();
  held.clear();
  EXPECT_TRUE(WaitFor([&] { return door.Call(GetRequest("/health")) == 200; }));
  // The peer's own half-sent requests do not count against it: its newcomer pushes them out.
  std::vector<std::unique_ptr<RawConnection>> slow;
  for (int i = 0; i < 3; ++i) {
    slow.push_back(std::make_unique<RawConnection>(door.port()));
    slow.back()->Send("GET /health HTTP/1.1\r\n");
  }
  EXPECT_EQ(door.Call(GetRequest("/health")), 200);
  EXPECT_TRUE(slow.front()->ReadToClose());  // the oldest made room
}

TEST(FrontDoor, HalfSentRequestsCannotKeepCheckedClientsOut) {
  FrontDoor door([](HttpTransportOptions& o) {
    o.http.max_connections = 6;
    o.http.max_pending_connections = 3;
  });
  RawConnection checked(door.port());  // a client whose request passed the header check
  checked.Send(GetRequest("/health"));
  ASSERT_EQ(checked.ReadResponse(), 200);
  std::vector<std::unique_ptr<RawConnection>> slow;
  for (int i = 0; i < 10; ++i) {
    slow.push_back(std::make_unique<RawConnection>(door.port()));
    slow.back()->Send("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n");  // and never the end
  }
  checked.Clear();
  checked.Send(GetRequest("/health"));
  EXPECT_EQ(checked.ReadResponse(), 200);            // kept its slot
  EXPECT_EQ(door.Call(GetRequest("/health")), 200);  // a newcomer pushes out the oldest
  // At most three half-sent requests are left open (the newest ones).
  EXPECT_TRUE(WaitFor([&] {
    int dropped = 0;
    for (auto& c : slow) dropped += c->ClosedNow() ? 1 : 0;
    return dropped >= 7;
  }));
}

}  // namespace
}  // namespace supertable::mcp
