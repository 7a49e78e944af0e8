// mcp_http_bench: MCP tools/call over streamable HTTP, `supertable serve` against an equivalent
// server written with the official TypeScript SDK (bench/mcp_http/sdk_server.mjs), both started
// here on loopback and driven by the same client: throughput and p50/p99 latency of `health` and
// a small `query_sql` at 1, 16 and 64 concurrent sessions, and resident memory with 100 idle
// sessions. When nginx is installed, nginx returning a fixed body to the same requests gives
// the loopback ceiling. Ratios are the figures; nothing is asserted.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "common/net.h"

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

// ---- child processes ----------------------------------------------------------------------

struct Proc {
  pid_t pid = -1;
  int port = 0;
  std::string name;
};

// Starts argv with extra environment, reads its stdout until it prints
// "http://127.0.0.1:N/mcp" (or `ready_port` is given: waits for the port to accept).
std::optional<Proc> Spawn(const std::string& name, const std::vector<std::string>& argv,
                          const std::map<std::string, std::string>& env) {
  int out[2];
  if (pipe(out) != 0) return std::nullopt;
  pid_t pid = fork();
  if (pid == 0) {
    dup2(out[1], 1);
    close(out[0]);
    close(out[1]);
    for (const auto& [k, v] : env) setenv(k.c_str(), v.c_str(), 1);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    _exit(127);
  }
  close(out[1]);
  std::string seen;
  char buf[4096];
  auto deadline = Clock::now() + std::chrono::seconds(60);
  while (Clock::now() < deadline) {
    ssize_t n = read(out[0], buf, sizeof(buf));
    if (n <= 0) break;
    seen.append(buf, static_cast<size_t>(n));
    auto at = seen.find("http://127.0.0.1:");
    if (at == std::string::npos) continue;
    size_t start = at + 17, end = seen.find('/', start);
    if (end == std::string::npos) continue;
    Proc p;
    p.pid = pid;
    p.port = std::stoi(seen.substr(start, end - start));
    p.name = name;
    // Keep draining its stdout in the background so it never blocks on a full pipe.
    std::thread([fd = out[0]] {
      char b[4096];
      while (read(fd, b, sizeof(b)) > 0) {
      }
      close(fd);
    }).detach();
    return p;
  }
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  std::cerr << name << " did not start; it printed:\n" << seen << "\n";
  return std::nullopt;
}

void Stop(Proc& p) {
  if (p.pid <= 0) return;
  kill(p.pid, SIGTERM);
  for (int i = 0; i < 100; ++i) {
    if (waitpid(p.pid, nullptr, WNOHANG) == p.pid) {
      p.pid = -1;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  kill(p.pid, SIGKILL);
  waitpid(p.pid, nullptr, 0);
  p.pid = -1;
}

long RssKb(pid_t pid) {
  std::ifstream f(fmt::format("/proc/{}/status", pid));
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

// ---- a minimal HTTP/1.1 keep-alive client -------------------------------------------------

struct Reply {
  int status = 0;
  std::string session, body;
};

class Conn {
 public:
  // `auth`: an Authorization header value sent with every request ("" none).
  explicit Conn(int port, std::string auth = "") : auth_(std::move(auth)) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
      close(fd_);
      fd_ = -1;
    }
  }
  ~Conn() {
    if (fd_ >= 0) close(fd_);
  }
  bool ok() const { return fd_ >= 0; }

  // `mcp_headers`: the MCP-Protocol-Version line and, in the modern era, Mcp-Method and
  // Mcp-Name (ModernCall); the legacy era's by default.
  bool Post(int port, const std::string& session, const std::string& body, Reply* r,
            const std::string& mcp_headers = "Mcp-Protocol-Version: 2025-11-25\r\n") {
    return Send(port, "POST", "/mcp",
                "Accept: application/json, text/event-stream\r\n" + mcp_headers +
                    (session.empty() ? "" : "Mcp-Session-Id: " + session + "\r\n"),
                body, r);
  }
  // One request of any kind (the REST API's), with `headers` (each line ending in CRLF).
  bool Send(int port, const std::string& method, const std::string& path,
            const std::string& headers, const std::string& body, Reply* r) {
    std::string req = fmt::format(
        "{} {} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Type: application/json\r\n"
        "{}{}Content-Length: {}\r\n\r\n{}",
        method, path, port, headers, auth_.empty() ? "" : "Authorization: " + auth_ + "\r\n",
        body.size(), body);
    size_t sent = 0;
    while (sent < req.size()) {
      ssize_t n = send(fd_, req.data() + sent, req.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return false;
      sent += static_cast<size_t>(n);
    }
    return Read(r);
  }

 private:
  bool Fill() {
    char b[16384];
    ssize_t n = recv(fd_, b, sizeof(b), 0);
    if (n <= 0) return false;
    buf_.append(b, static_cast<size_t>(n));
    return true;
  }
  bool Read(Reply* r) {
    size_t end;
    while ((end = buf_.find("\r\n\r\n")) == std::string::npos) {
      if (!Fill()) return false;
    }
    std::string head = buf_.substr(0, end);
    buf_.erase(0, end + 4);
    r->status = std::atoi(head.c_str() + 9);
    std::string lower = head;
    for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (auto at = lower.find("\r\nmcp-session-id: "); at != std::string::npos) {
      size_t s = at + 18;
      r->session = head.substr(s, head.find("\r\n", s) - s);
    }
    r->body.clear();
    if (lower.find("transfer-encoding: chunked") != std::string::npos) {
      while (true) {
        size_t eol;
        while ((eol = buf_.find("\r\n")) == std::string::npos) {
          if (!Fill()) return false;
        }
        size_t size = std::stoul(buf_.substr(0, eol), nullptr, 16);
        while (buf_.size() < eol + 2 + size + 2) {
          if (!Fill()) return false;
        }
        r->body.append(buf_, eol + 2, size);
        buf_.erase(0, eol + 2 + size + 2);
        if (size == 0) return true;
      }
    }
    size_t len = 0;
    if (auto at = lower.find("content-length: "); at != std::string::npos)
      len = std::stoul(lower.substr(at + 16));
    while (buf_.size() < len) {
      if (!Fill()) return false;
    }
    r->body = buf_.substr(0, len);
    buf_.erase(0, len);
    return true;
  }
  int fd_ = -1;
  std::string buf_;
  std::string auth_;
};

const char* kInit =
    R"({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25",)"
    R"("capabilities":{},"clientInfo":{"name":"mcp_http_bench","version":"1"}}})";
const char* kInitialized = R"({"jsonrpc":"2.0","method":"notifications/initialized"})";

// Opens a session on `c`: initialize, then notifications/initialized. The session id, or "" for
// servers without sessions (the nginx ceiling).
std::optional<std::string> OpenSession(Conn& c, int port) {
  Reply r;
  if (!c.Post(port, "", kInit, &r) || r.status != 200) return std::nullopt;
  std::string sid = r.session;
  if (!c.Post(port, sid, kInitialized, &r) || r.status / 100 != 2) return std::nullopt;
  return sid;
}

struct Load {
  double calls_per_s = 0, p50_ms = 0, p99_ms = 0;
  long errors = 0;
};

struct Target {
  int port = 0;
  std::string auth;     // an Authorization header value ("" none)
  bool modern = false;  // 2026-07-28 requests: no session, the _meta envelope, Mcp-* headers
  // The REST API instead of MCP: this method and path, with `rest_body` (the same operation).
  std::string rest_method = "", rest_path = "", rest_body = "";
};

// A legacy tools/call body (ToolCall) as a 2026-07-28 request: the body with its _meta
// envelope, and the headers that must repeat it.
std::pair<std::string, std::string> ModernCall(const std::string& legacy_body) {
  std::string body = legacy_body;
  body.replace(
      body.rfind("}}"), 2,
      R"(,"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28",)"
      R"("io.modelcontextprotocol/clientCapabilities":{},)"
      R"("io.modelcontextprotocol/clientInfo":{"name":"mcp_http_bench","version":"1"}}}})");
  size_t at = body.find("\"name\":\"") + 8;
  std::string name = body.substr(at, body.find('"', at) - at);
  return {body, "MCP-Protocol-Version: 2026-07-28\r\nMcp-Method: tools/call\r\nMcp-Name: " + name +
                    "\r\n"};
}

// `sessions` client threads, each with its own connection and session on every target, calling
// `call_body` back to back: a warm-up, then `measure_ms` counted. With several targets each
// thread calls them in turn (the first one first on even rounds, the last one first on odd
// ones), so they are measured under the same load and noise, call for call: the machine's noise
// is larger than some differences measured here. One Load per target.
std::vector<Load> Drive(const std::vector<Target>& targets, int sessions,
                        const std::string& call_body, int64_t measure_ms,
                        const std::string& expect) {
  const size_t n = targets.size();
  std::atomic<int> phase{0};  // 0 warm-up, 1 measuring, 2 stop
  std::atomic<int> ready{0};
  // lat[target][session]
  std::vector<std::vector<std::vector<double>>> lat(
      n, std::vector<std::vector<double>>(static_cast<size_t>(sessions)));
  std::vector<std::vector<long>> errors(n, std::vector<long>(static_cast<size_t>(sessions), 0));
  std::vector<std::thread> threads;
  for (int i = 0; i < sessions; ++i) {
    threads.emplace_back([&, i] {
      const auto s = static_cast<size_t>(i);
      std::vector<std::unique_ptr<Conn>> conns;
      std::vector<std::string> sids;
      bool all = true;
      for (size_t t = 0; t < n; ++t) {
        conns.push_back(std::make_unique<Conn>(targets[t].port, targets[t].auth));
        // A modern request needs no session.
        bool stateless = targets[t].modern || !targets[t].rest_method.empty();
        auto sid = !conns[t]->ok() ? std::nullopt
                   : stateless     ? std::optional<std::string>("")
                                   : OpenSession(*conns[t], targets[t].port);
        if (!sid) {
          errors[t][s]++;
          all = false;
        }
        sids.push_back(sid.value_or(""));
      }
      ready++;
      if (!all) return;
      int64_t id = 1;
      Reply r;
      const auto [modern_body, modern_headers] = ModernCall(call_body);
      for (int64_t round = 0; phase.load() < 2; ++round) {
        for (size_t k = 0; k < n; ++k) {
          size_t t = round % 2 == 0 ? k : n - 1 - k;
          const Target& to = targets[t];
          std::string body = to.modern ? modern_body : call_body;
          body.replace(body.find("\"id\":1"), 6, fmt::format("\"id\":{}", ++id));
          auto t0 = Clock::now();
          bool ok = !to.rest_method.empty() ? conns[t]->Send(to.port, to.rest_method, to.rest_path,
                                                             "", to.rest_body, &r)
                    : to.modern             ? conns[t]->Post(to.port, "", body, &r, modern_headers)
                                            : conns[t]->Post(to.port, sids[t], body, &r);
          double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
          if (!ok) {
            errors[t][s]++;
            return;
          }
          if (phase.load() != 1) continue;
          if (r.status != 200 || r.body.find(expect) == std::string::npos ||
              r.body.find("\"isError\":true") != std::string::npos) {
            errors[t][s]++;
          }
          lat[t][s].push_back(ms);
        }
      }
    });
  }
  while (ready.load() < sessions) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  phase = 1;
  auto t0 = Clock::now();
  std::this_thread::sleep_for(std::chrono::milliseconds(measure_ms));
  phase = 2;
  double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  for (auto& t : threads) t.join();
  std::vector<Load> out(n);
  for (size_t t = 0; t < n; ++t) {
    std::vector<double> all;
    for (size_t i = 0; i < lat[t].size(); ++i) {
      all.insert(all.end(), lat[t][i].begin(), lat[t][i].end());
      out[t].errors += errors[t][i];
    }
    std::sort(all.begin(), all.end());
    if (!all.empty()) {
      out[t].calls_per_s = static_cast<double>(all.size()) / secs;
      out[t].p50_ms = all[all.size() / 2];
      out[t].p99_ms = all[std::min(all.size() - 1, all.size() * 99 / 100)];
    }
  }
  return out;
}

Load Drive(int port, int sessions, const std::string& call_body, int64_t measure_ms,
           const std::string& expect) {
  return Drive({Target{port, ""}}, sessions, call_body, measure_ms, expect)[0];
}

std::string ToolCall(const std::string& name, const std::string& args) {
  return fmt::format(
      R"({{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{{"name":"{}","arguments":{}}}}})",
      name, args);
}

std::string Find(const std::string& name, const std::vector<std::string>& candidates) {
  for (const auto& c : candidates) {
    if (fs::exists(c)) return c;
  }
  static_cast<void>(name);
  return "";
}

}  // namespace

int main(int argc, char** argv) {
  bool quick = false;
  std::string only_tool;  // --tool NAME: one tool only (profiling)
  // --auth: the cost of authentication and the audit trail: the same server with a token
  // required (a reader's SuperTable token) and every call audited, against neither.
  bool auth_mode = false;
  // --era modern: 2026-07-28 requests (no session) to our server, against our server's legacy
  // era and against the same server on the official SDK 2.x (sdk2_server.mjs), in one run.
  bool modern_mode = false;
  // --rest: the REST API (/api/v1) against the same operations as MCP tools on the same server.
  bool rest_mode = false;
  std::vector<int> session_counts = {1, 16, 64};
  // --bin PATH: another build of supertable (an earlier commit's, for before/after figures).
  std::string supertable = SUPERTABLE_BIN;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--quick") {
      quick = true;
    } else if (a == "--tool" && i + 1 < argc) {
      only_tool = argv[++i];
    } else if (a == "--sessions" && i + 1 < argc) {
      session_counts = {std::atoi(argv[++i])};
    } else if (a == "--bin" && i + 1 < argc) {
      supertable = argv[++i];
    } else if (a == "--auth") {
      auth_mode = true;
    } else if (a == "--rest") {
      rest_mode = true;
    } else if (a == "--era" && i + 1 < argc && std::string(argv[i + 1]) == "modern") {
      modern_mode = true;
      ++i;
    } else {
      std::cerr << "usage: mcp_http_bench [--quick] [--tool health|query_sql] [--sessions N] "
                   "[--bin PATH] [--auth | --era modern | --rest]\n";
      return 2;
    }
  }
  signal(SIGPIPE, SIG_IGN);
  const int64_t measure_ms = quick ? 1000 : 3000;
  std::string src = SUPERTABLE_SOURCE_DIR;
  std::string node = "node";
  std::string sdk_server = src + "/bench/mcp_http/sdk_server.mjs";
  if (!fs::exists(src + "/bench/mcp_http/node_modules/@modelcontextprotocol/sdk")) {
    std::cerr << "mcp_http_bench: the SDK baseline's npm packages are missing: run "
                 "scripts/setup.sh\n";
    return 2;
  }
  std::string tmpl = (fs::temp_directory_path() / "supertable-bench-http-XXXXXX").string();
  if (!mkdtemp(tmpl.data())) return 2;
  std::string home = tmpl + "/home";
  struct Cleanup {
    std::string dir;
    std::vector<Proc*> procs;
    ~Cleanup() {
      for (auto* p : procs) Stop(*p);
      std::error_code ec;
      fs::remove_all(dir, ec);
    }
  } cleanup{tmpl, {}};

  // The same table for both: shop.orders from the demo data, one Parquet file.
  std::cerr << "mcp_http_bench: building the warehouse\n";
  std::string cmd =
      fmt::format("SUPERTABLE_HOME={} {} ingest shop orders {}/demo/data/orders.csv >/dev/null",
                  home, supertable, src);
  if (std::system(cmd.c_str()) != 0) return 2;
  std::vector<std::string> files;
  for (const auto& e : fs::recursive_directory_iterator(home)) {
    std::string p = e.path().string();
    if (p.find("/shop/orders/data/") != std::string::npos && e.path().extension() == ".parquet")
      files.push_back(p);
  }
  std::string view = "orders=";
  for (size_t i = 0; i < files.size(); ++i) view += (i ? "," : "") + files[i];

  const std::string health = ToolCall("health", "{}");
  const std::string query = ToolCall(
      "query_sql",
      R"({"super":"shop","sql":"SELECT status, count(*) AS n, round(sum(amount), 2) AS revenue FROM orders GROUP BY status ORDER BY n DESC"})");
  // The tools both comparisons call: name, request body, a text every good answer holds.
  const std::vector<std::tuple<std::string, std::string, std::string>> tools = {
      {"health", health, "\"status\""}, {"query_sql", query, "\"revenue\""}};
  if (auth_mode) {
    // A reader of shop.* and a token of theirs, made with the CLI as a user would.
    std::string cli = fmt::format("SUPERTABLE_HOME={} {}", home, supertable);
    std::string token_file = tmpl + "/token";
    if (std::system((cli + " role add reader --type reader --tables 'shop.*' >/dev/null && " + cli +
                     " user add bench --role reader >/dev/null && " + cli +
                     " token create bench > " + token_file + " 2>/dev/null")
                        .c_str()) != 0)
      return 2;
    std::string token;
    std::ifstream(token_file) >> token;
    Proc off, on;
    cleanup.procs = {&off, &on};
    auto p_off =
        Spawn("supertable serve (no auth, no audit)", {supertable, "serve", "--port", "0"},
              {{"SUPERTABLE_HOME", home}, {"LOG_LEVEL", "warn"}, {"SUPERTABLE_AUDIT", "0"}});
    auto p_on =
        Spawn("supertable serve (token required, audited)", {supertable, "serve", "--port", "0"},
              {{"SUPERTABLE_HOME", home},
               {"LOG_LEVEL", "warn"},
               {"SUPERTABLE_REQUIRE_TOKEN", "1"},
               {"SUPERTABLE_AUDIT", "1"},
               // The cost of checking who calls, not the cap on what one caller runs.
               {"SUPERTABLE_MAX_QUERIES_PER_PRINCIPAL", "0"}});
    if (!p_off || !p_on) return 2;
    off = *p_off;
    on = *p_on;
    std::cout << fmt::format(
        "Authentication and audit: the same server with a reader's token required and every call "
        "audited (on) against no token and no audit (off), {} ms each: one session calls both "
        "servers in turn (a paired run); more sessions load each server alone, three rounds "
        "alternating, median round\n\n",
        2 * measure_ms);
    std::cout << fmt::format("{:<10} {:>8} | {:>10} {:>8} | {:>10} {:>8} | {:>12}\n", "tool",
                             "sessions", "off call/s", "p50 ms", "on call/s", "p50 ms",
                             "on/off p50");
    long errors = 0;
    for (const auto& [tool, body, expect] : tools) {
      if (!only_tool.empty() && tool != only_tool) continue;
      for (int sessions : session_counts) {
        std::cerr << fmt::format("mcp_http_bench: auth {} with {} sessions\n", tool, sessions);
        Load off_load, on_load;
        if (sessions == 1) {
          // One session measures latency: both servers in the same run, call for call (see
          // Drive), a paired comparison.
          auto both = Drive({Target{off.port, ""}, Target{on.port, "Bearer " + token}}, 1, body,
                            2 * measure_ms, expect);
          off_load = both[0];
          on_load = both[1];
        } else {
          // Under load a paired run would queue clients at the slower server and magnify the
          // difference; each server runs alone instead, three rounds alternating, and the
          // median round (by p50) of each side counts.
          std::vector<Load> offs, ons;
          for (int round = 0; round < 3; ++round) {
            offs.push_back(Drive(off.port, sessions, body, 2 * measure_ms / 3, expect));
            ons.push_back(Drive({Target{on.port, "Bearer " + token}}, sessions, body,
                                2 * measure_ms / 3, expect)[0]);
          }
          auto median = [](std::vector<Load> v) {
            std::sort(v.begin(), v.end(),
                      [](const Load& a, const Load& b) { return a.p50_ms < b.p50_ms; });
            long errors = 0;
            for (const auto& l : v) errors += l.errors;
            Load m = v[v.size() / 2];
            m.errors = errors;
            return m;
          };
          off_load = median(offs);
          on_load = median(ons);
        }
        errors += off_load.errors + on_load.errors;
        std::cout << fmt::format(
            "{:<10} {:>8} | {:>10.0f} {:>8.3f} | {:>10.0f} {:>8.3f} | {:>11.3f}x\n", tool, sessions,
            off_load.calls_per_s, off_load.p50_ms, on_load.calls_per_s, on_load.p50_ms,
            off_load.p50_ms > 0 ? on_load.p50_ms / off_load.p50_ms : 0.0);
      }
    }
    if (errors) std::cout << fmt::format("errors: {}\n", errors);
    return errors ? 1 : 0;
  }

  if (rest_mode) {
    Proc ours;
    cleanup.procs = {&ours};
    auto p = Spawn("supertable serve", {supertable, "serve", "--port", "0"},
                   {{"SUPERTABLE_HOME", home}, {"LOG_LEVEL", "warn"}});
    if (!p) return 2;
    ours = *p;
    // The same operations by REST: GET /api/v1/health, POST /api/v1/query with the tool's
    // arguments as the body.
    std::string query_args = query.substr(query.find("\"arguments\":") + 12);
    query_args = query_args.substr(0, query_args.size() - 2);
    const std::map<std::string, std::array<std::string, 3>> rest = {
        {"health", {"GET", "/api/v1/health", ""}},
        {"query_sql", {"POST", "/api/v1/query", query_args}}};
    std::cout << fmt::format(
        "One supertable serve, {} ms per run after a 0.5 s warm-up, one client thread and "
        "connection per concurrent client, the targets called in turn: the REST API "
        "(/api/v1), MCP tools/call in the 2026-07-28 era (no session) and in the legacy era (a "
        "session per client), the same operation each time\n\n",
        measure_ms);
    std::cout << fmt::format(
        "{:<10} {:>7} | {:>9} {:>7} {:>7} | {:>10} {:>7} | {:>10} {:>7} | "
        "{:>11} {:>11}\n",
        "operation", "clients", "REST c/s", "p50 ms", "p99 ms", "modern c/s", "p50 ms",
        "legacy c/s", "p50 ms", "REST/modern", "REST/legacy");
    long errors = 0;
    for (const auto& [tool, body, expect] : tools) {
      if (!only_tool.empty() && tool != only_tool) continue;
      const auto& [method, path, rest_body] = rest.at(tool);
      for (int sessions : session_counts) {
        std::cerr << fmt::format("mcp_http_bench: REST, {} with {} clients\n", tool, sessions);
        Target by_rest{ours.port, ""};
        by_rest.rest_method = method;
        by_rest.rest_path = path;
        by_rest.rest_body = rest_body;
        auto loads = Drive({by_rest, Target{ours.port, "", true}, Target{ours.port, ""}}, sessions,
                           body, measure_ms, expect);
        const Load &r = loads[0], &m = loads[1], &l = loads[2];
        errors += r.errors + m.errors + l.errors;
        std::cout << fmt::format(
            "{:<10} {:>7} | {:>9.0f} {:>7.2f} {:>7.2f} | {:>10.0f} {:>7.2f} | {:>10.0f} {:>7.2f} | "
            "{:>10.2f}x {:>10.2f}x\n",
            tool, sessions, r.calls_per_s, r.p50_ms, r.p99_ms, m.calls_per_s, m.p50_ms,
            l.calls_per_s, l.p50_ms, m.p50_ms > 0 ? r.p50_ms / m.p50_ms : 0.0,
            l.p50_ms > 0 ? r.p50_ms / l.p50_ms : 0.0);
        if (r.errors || m.errors || l.errors) {
          std::cout << fmt::format("  errors: REST {}, modern {}, legacy {}\n", r.errors, m.errors,
                                   l.errors);
        }
      }
    }
    return errors ? 1 : 0;
  }

  if (modern_mode) {
    Proc ours, sdk2;
    cleanup.procs = {&ours, &sdk2};
    auto p_ours = Spawn("supertable serve", {supertable, "serve", "--port", "0"},
                        {{"SUPERTABLE_HOME", home}, {"LOG_LEVEL", "warn"}});
    auto p_sdk2 =
        Spawn("SDK 2.x server",
              {node, src + "/bench/mcp_http/sdk2_server.mjs", "--port", "0", "--view", view}, {});
    if (!p_ours || !p_sdk2) return 2;
    ours = *p_ours;
    sdk2 = *p_sdk2;
    std::cout << fmt::format(
        "MCP tools/call over streamable HTTP, {} ms per run after a 0.5 s warm-up, one client "
        "thread and connection per concurrent client: 2026-07-28 requests (no session) to "
        "supertable serve, the same server's legacy era (a session per client), and the same "
        "tools on the official SDK 2.x server (@modelcontextprotocol/server 2.4.0, "
        "createMcpHandler) in the modern era\n\n",
        measure_ms);
    std::cout << fmt::format(
        "{:<10} {:>7} | {:>10} {:>7} {:>7} | {:>10} {:>7} | {:>10} {:>7} {:>7} | {:>9}\n", "tool",
        "clients", "modern c/s", "p50 ms", "p99 ms", "legacy c/s", "p50 ms", "SDK2 c/s", "p50 ms",
        "p99 ms", "modern/SDK2");
    long errors = 0;
    for (const auto& [tool, body, expect] : tools) {
      if (!only_tool.empty() && tool != only_tool) continue;
      for (int sessions : session_counts) {
        std::cerr << fmt::format("mcp_http_bench: modern era, {} with {} clients\n", tool,
                                 sessions);
        Load m = Drive({Target{ours.port, "", true}}, sessions, body, measure_ms, expect)[0];
        Load l = Drive(ours.port, sessions, body, measure_ms, expect);
        Load s2 = Drive({Target{sdk2.port, "", true}}, sessions, body, measure_ms, expect)[0];
        errors += m.errors + l.errors + s2.errors;
        std::cout << fmt::format(
            "{:<10} {:>7} | {:>10.0f} {:>7.2f} {:>7.2f} | {:>10.0f} {:>7.2f} | {:>10.0f} {:>7.2f} "
            "{:>7.2f} | {:>10.1f}x\n",
            tool, sessions, m.calls_per_s, m.p50_ms, m.p99_ms, l.calls_per_s, l.p50_ms,
            s2.calls_per_s, s2.p50_ms, s2.p99_ms,
            s2.calls_per_s > 0 ? m.calls_per_s / s2.calls_per_s : 0.0);
        if (m.errors || l.errors || s2.errors) {
          std::cout << fmt::format("  errors: modern {}, legacy {}, SDK2 {}\n", m.errors, l.errors,
                                   s2.errors);
        }
      }
    }
    return errors ? 1 : 0;
  }

  Proc ours, sdk, nginx;
  cleanup.procs = {&ours, &sdk, &nginx};
  {
    auto p = Spawn("supertable serve", {supertable, "serve", "--port", "0"},
                   {{"SUPERTABLE_HOME", home}, {"LOG_LEVEL", "warn"}});
    if (!p) return 2;
    ours = *p;
  }
  {
    auto p = Spawn("SDK server", {node, sdk_server, "--port", "0", "--view", view}, {});
    if (!p) return 2;
    sdk = *p;
  }
  std::string nginx_bin = Find("nginx", {"/usr/sbin/nginx", "/usr/bin/nginx"});
  // nginx returns a fixed body: the most a loopback HTTP server answers on this machine.
  if (!nginx_bin.empty()) {
    int port = supertable::FreeLoopbackPort();
    std::ofstream conf(tmpl + "/nginx.conf");
    conf << fmt::format(
        "daemon off; worker_processes 1; pid {0}/nginx.pid; error_log {0}/nginx.err;\n"
        "events {{ worker_connections 4096; }}\n"
        "http {{ access_log off; client_body_temp_path {0}; proxy_temp_path {0};\n"
        "  fastcgi_temp_path {0}; uwsgi_temp_path {0}; scgi_temp_path {0};\n"
        "  keepalive_requests 1000000;\n"
        "  server {{ listen 127.0.0.1:{1}; location / {{ default_type application/json;\n"
        "    return 200 '{{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{{\"content\":[]}}}}'; }} }} "
        "}}\n",
        tmpl, port);
    conf.close();
    pid_t pid = fork();
    if (pid == 0) {
      int devnull = open("/dev/null", O_WRONLY);
      dup2(devnull, 1);
      dup2(devnull, 2);
      execl(nginx_bin.c_str(), nginx_bin.c_str(), "-c", (tmpl + "/nginx.conf").c_str(), "-p",
            tmpl.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    nginx.pid = pid;
    nginx.port = port;
    nginx.name = "nginx";
    for (int i = 0; i < 100 && !Conn(port).ok(); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }

  std::cout << fmt::format(
      "MCP tools/call over streamable HTTP, {} ms per run after a 0.5 s warm-up; the same client "
      "(one thread, connection and session per concurrent session) drives both servers\n\n",
      measure_ms);
  std::cout << fmt::format("{:<10} {:>8} | {:>12} {:>8} {:>8} | {:>12} {:>8} {:>8} | {:>9}\n",
                           "tool", "sessions", "ours call/s", "p50 ms", "p99 ms", "SDK call/s",
                           "p50 ms", "p99 ms", "ours/SDK");
  double best_health = 0;
  long errors = 0;
  for (const auto& [tool, body, expect] : tools) {
    if (!only_tool.empty() && tool != only_tool) continue;
    for (int sessions : session_counts) {
      std::cerr << fmt::format("mcp_http_bench: {} with {} sessions\n", tool, sessions);
      Load o = Drive(ours.port, sessions, body, measure_ms, expect);
      Load s = Drive(sdk.port, sessions, body, measure_ms, expect);
      errors += o.errors + s.errors;
      if (tool == "health") best_health = std::max(best_health, o.calls_per_s);
      std::cout << fmt::format(
          "{:<10} {:>8} | {:>12.0f} {:>8.2f} {:>8.2f} | {:>12.0f} {:>8.2f} {:>8.2f} | {:>8.1f}x\n",
          tool, sessions, o.calls_per_s, o.p50_ms, o.p99_ms, s.calls_per_s, s.p50_ms, s.p99_ms,
          s.calls_per_s > 0 ? o.calls_per_s / s.calls_per_s : 0.0);
      if (o.errors || s.errors)
        std::cout << fmt::format("  errors: ours {}, SDK {}\n", o.errors, s.errors);
    }
  }
  if (nginx.pid > 0) {
    std::cerr << "mcp_http_bench: nginx ceiling\n";
    double ceiling = 0;
    for (int sessions : {16, 64}) {
      ceiling =
          std::max(ceiling, Drive(nginx.port, sessions, health, measure_ms, "result").calls_per_s);
    }
    std::cout << fmt::format(
        "\nnginx returning a fixed body to the same requests: {:.0f} req/s; our best health "
        "throughput is {:.0f}% of that ceiling\n",
        ceiling, ceiling > 0 ? 100.0 * best_health / ceiling : 0.0);
  } else {
    std::cout << "\nnginx is not installed (apt install nginx-light): loopback ceiling not "
                 "measured\n";
  }

  // Memory: resident set before and after 100 sessions that then sit idle.
  std::cout << "\nResident memory with 100 idle sessions:\n";
  for (Proc* p : {&ours, &sdk}) {
    long before = RssKb(p->pid);
    std::vector<std::unique_ptr<Conn>> conns;
    int opened = 0;
    for (int i = 0; i < 100; ++i) {
      conns.push_back(std::make_unique<Conn>(p->port));
      if (conns.back()->ok() && OpenSession(*conns.back(), p->port)) ++opened;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    long after = RssKb(p->pid);
    std::cout << fmt::format(
        "  {:<17} {} sessions: RSS {:.1f} MiB (after the load runs above), +{:.1f} MiB for "
        "these sessions ({:.1f} KiB each)\n",
        p->name, opened, after / 1024.0, (after - before) / 1024.0,
        opened ? static_cast<double>(after - before) / opened : 0.0);
  }
  if (errors) std::cout << fmt::format("\nFAIL: {} calls failed or answered wrongly\n", errors);
  return errors ? 1 : 0;
}
