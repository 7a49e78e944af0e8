// Small socket helpers shared by tests, benchmarks and the servers they start, and the one
// place that decides what names loopback and what a well-formed Origin is.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace supertable {

// A TCP port on 127.0.0.1 that nothing listens on right now (bound to port 0, then released).
int FreeLoopbackPort();

// True when something accepts a TCP connection on 127.0.0.1:`port` right now.
bool LoopbackPortAccepts(int port);

// True for a name or address of this machine's loopback interface, compared exactly (any case):
// `localhost`, an IPv4 literal in 127.0.0.0/8 (four decimal parts, as inet_pton reads them), and
// the IPv6 loopback `::1` (also bracketed, as in a URL or a Host header). Anything that merely
// starts like one (`127.evil.com`, `127.0.0.1.evil.com`, `localhost.`) is not loopback.
bool IsLoopbackHost(std::string_view host);

// An Origin header value (RFC 6454): `scheme://host[:port]`, nothing else.
struct WebOrigin {
  std::string scheme;  // lowercased
  std::string host;    // lowercased; an IPv6 literal keeps its brackets
  std::optional<int> port;
};

// Parses an Origin. Refuses (nullopt) anything that is not exactly scheme://host[:port]:
// userinfo (`user@host`), a path, query or fragment, an empty host or port, a port over 65535,
// whitespace or control characters, and the opaque origin `null`.
std::optional<WebOrigin> ParseOrigin(std::string_view origin);

}  // namespace supertable
