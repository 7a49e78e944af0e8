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

// A query parameter's JSON value as a DuckDB value: strings as VARCHAR (DuckDB casts them to the
// type the statement needs, a DATE or a TIMESTAMP), integers as BIGINT (UBIGINT past it),
// other numbers as DOUBLE, booleans, null, and arrays of those as lists. False for an object,
// or an array whose elements are not all of one kind.
bool DecodeParameter(const nlohmann::json& value, duckdb::Value* out);

}  // namespace supertable
