// Schema evolution: how an incoming file's columns map onto a table's schema. New columns are
// added, missing ones read as NULL, lossless widening (int32->int64, float->double, int->double,
// wider decimals) is applied in whichever direction is needed, and anything else is refused
// with an error naming the column and both types. Pure logic; no DuckDB.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "common/status.h"
#include "engine/engine.h"
#include "table/snapshot.h"

namespace supertable {

struct SchemaPlan {
  std::vector<Column> schema;  // the table schema after the write
  bool schema_changed = false;
  // One SELECT expression per column of `schema`, over the reader's columns, yielding that
  // column with exactly its table type.
  std::vector<std::string> select_exprs;
  // CSV only: read these columns as the table's type instead of the sniffed one, so text such
  // as "00501" stays text and "12" in a DOUBLE column parses as 12.0 with line-accurate errors.
  std::map<std::string, std::string> csv_types;
};

// True when `from` widens to `to` without changing any value the way SuperTable defines it:
// larger integers, FLOAT to DOUBLE, integers to DOUBLE (the int->double; BIGINT values
// beyond 2^53 round), wider DECIMAL.
bool IsLosslessWidening(const std::string& from, const std::string& to);

// True for DuckDB's integer, floating-point and DECIMAL type names.
bool IsNumericTypeName(const std::string& type);

// `incoming` are the reader's columns as DuckDB sniffed them; `base` is empty for a new table.
Result<SchemaPlan> PlanSchema(const std::vector<Column>& base, const std::vector<Column>& incoming,
                              InputFormat format);

}  // namespace supertable
