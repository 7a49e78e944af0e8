// Small socket helpers shared by tests, benchmarks and the servers they start.
#pragma once

#include <string>

namespace supertable {

// A TCP port on 127.0.0.1 that nothing listens on right now (bound to port 0, then released).
int FreeLoopbackPort();

// True when something accepts a TCP connection on 127.0.0.1:`port` right now.
bool LoopbackPortAccepts(int port);

// True for a name or address of this machine's loopback interface: localhost, 127.x.x.x, ::1
// (also bracketed, as in a URL or a Host header).
bool IsLoopbackHost(const std::string& host);

}  // namespace supertable
