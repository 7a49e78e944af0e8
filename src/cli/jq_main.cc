// Entry point of the `supertable-jq` binary: the sandboxed worker that runs the tool library's
// jq programs (src/library/jq_worker.h), serving its parent over file descriptor 3. Not for
// people.
#include <cstdio>

#include "library/jq_worker.h"

int main(int argc, char**) {
  if (argc != 1) {
    std::fputs("supertable-jq is started by supertable itself; it takes no arguments\n", stderr);
    return 2;
  }
  return supertable::library::RunJqWorker(3);
}
