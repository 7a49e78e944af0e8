// The DuckDB settings both of the engine's instances share (threads, memory, spill directory,
// no extension install or autoload). Only src/engine/ includes this header.
#pragma once

#include <duckdb.hpp>

#include "engine/engine.h"

namespace supertable {

void ApplyBaseConfig(const EngineOptions& options, duckdb::DBConfig& config);

}  // namespace supertable
