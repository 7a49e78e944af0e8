// `supertable demo`: the README's first command. Builds a warehouse in a temporary home from the
// sample data in demo/data, runs an upsert, and prints query results and the table history.
#pragma once

#include <string>

#include "common/config.h"
#include "common/status.h"

namespace supertable {

struct DemoOptions {
  std::string data_dir;    // empty: demo/data next to the binary's source tree
  bool keep = false;       // keep the temporary home and print its path
  bool for_serve = false;  // the caller serves the home next (and removes it): say nothing of it
};

// Points `config` at the demo's home `home`, with the embedded catalog and local files there,
// whatever LOCKING_BACKEND and STORAGE_TYPE say: the demo must not leave tables in a team's
// Redis or bucket, and `serve --demo` must open what the demo built.
void UseDemoHome(Config& config, const std::string& home);

// Returns the home it built (removed again unless `keep`).
Result<std::string> RunDemo(Config config, const DemoOptions& options);

}  // namespace supertable
