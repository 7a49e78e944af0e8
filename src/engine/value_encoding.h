// How a DuckDB value becomes JSON, for every front door (CLI json/csv/table, MCP, REST):
// integers that fit in 53 bits as numbers and larger ones as strings, decimals as exact strings,
// NaN/Infinity as strings, dates/times/timestamps in ISO 8601, intervals in ISO 8601 durations,
// blobs as base64, lists as arrays, structs as objects, maps as objects (or [key, value] pairs
// when keys are not text), NULL as null. docs/USER_GUIDE.md lists the rules.
#pragma once

#include <nlohmann/json_fwd.hpp>

namespace duckdb {
class Value;
}

namespace supertable {

nlohmann::json EncodeValue(const duckdb::Value& value);

}  // namespace supertable
