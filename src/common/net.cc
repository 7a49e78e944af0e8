#include "common/net.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>

#include "common/text.h"

namespace supertable {

int FreeLoopbackPort() {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  if (s < 0) return 0;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(a);
  int port = 0;
  if (bind(s, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0 &&
      getsockname(s, reinterpret_cast<sockaddr*>(&a), &len) == 0)
    port = ntohs(a.sin_port);
  close(s);
  return port;
}

bool LoopbackPortAccepts(int port) {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  if (s < 0) return false;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = connect(s, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0;
  close(s);
  return ok;
}

bool IsLoopbackHost(std::string_view host) {
  std::string h = AsciiLower(host);
  if (h == "localhost") return true;
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') {
    h = h.substr(1, h.size() - 2);
    in6_addr a6{};
    return inet_pton(AF_INET6, h.c_str(), &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
  }
  // inet_pton takes only the four-part dotted decimal form: "127.1", "0x7f.0.0.1" and names
  // that begin with "127." are refused, which is the point.
  in_addr a4{};
  if (inet_pton(AF_INET, h.c_str(), &a4) == 1) return (ntohl(a4.s_addr) >> 24) == 127;
  in6_addr a6{};
  return inet_pton(AF_INET6, h.c_str(), &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
}

std::optional<WebOrigin> ParseOrigin(std::string_view origin) {
  size_t sep = origin.find("://");
  if (sep == std::string_view::npos || sep == 0) return std::nullopt;
  WebOrigin o;
  o.scheme = AsciiLower(origin.substr(0, sep));
  if (!std::isalpha(static_cast<unsigned char>(o.scheme[0]))) return std::nullopt;
  for (char c : o.scheme) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '-' && c != '.')
      return std::nullopt;
  }
  std::string_view rest = origin.substr(sep + 3);
  // Userinfo, a path, a query or a fragment: a browser never sends them in an Origin, and each is
  // a way to make a prefix or suffix test see a host that is not the real one.
  for (char c : rest) {
    auto u = static_cast<unsigned char>(c);
    if (c == '@' || c == '/' || c == '?' || c == '#' || c == '\\' || u <= 0x20 || u >= 0x7f)
      return std::nullopt;
  }
  std::string_view host = rest, port;
  if (!rest.empty() && rest[0] == '[') {
    size_t close = rest.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    host = rest.substr(0, close + 1);
    std::string_view after = rest.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') return std::nullopt;
      port = after.substr(1);
      if (port.empty()) return std::nullopt;
    }
    in6_addr a6{};
    std::string inner(host.substr(1, host.size() - 2));
    if (inet_pton(AF_INET6, inner.c_str(), &a6) != 1) return std::nullopt;
  } else {
    size_t colon = rest.find(':');
    if (colon != std::string_view::npos) {
      host = rest.substr(0, colon);
      port = rest.substr(colon + 1);
      if (port.empty()) return std::nullopt;
    }
    if (host.find_first_of("[]") != std::string_view::npos) return std::nullopt;
  }
  if (host.empty()) return std::nullopt;
  o.host = AsciiLower(host);
  if (!port.empty()) {
    if (port.size() > 5) return std::nullopt;
    int p = 0;
    for (char c : port) {
      if (!std::isdigit(static_cast<unsigned char>(c))) return std::nullopt;
      p = p * 10 + (c - '0');
    }
    if (p > 65535) return std::nullopt;
    o.port = p;
  }
  return o;
}

}  // namespace supertable
