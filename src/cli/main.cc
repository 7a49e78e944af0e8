// Entry point of the `supertable` binary.
#include "cli/commands.h"

int main(int argc, char** argv) { return supertable::RunCli(argc, argv); }
