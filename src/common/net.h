// Small socket helpers shared by tests, benchmarks and the servers they start.
#pragma once

namespace supertable {

// A TCP port on 127.0.0.1 that nothing listens on right now (bound to port 0, then released).
int FreeLoopbackPort();

}  // namespace supertable
