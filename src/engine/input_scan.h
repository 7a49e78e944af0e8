// The pre-scan of input files: one streaming pass of our own over a CSV, JSON or NDJSON file,
// or over a Parquet file's footer, before DuckDB reads it. DuckDB crashes or runs out of memory
// on some hostile shapes (thousands of CSV columns, JSON nested thousands deep), so those are
// refused here, cheaply and with one clear error naming the setting that allows more. The scan
// also reads off what the reader needs to be told: the CSV delimiter and whether a JSON file is
// an array or NDJSON. It reads through a fixed-size buffer (memory does not grow with the file)
// and includes no DuckDB header, so it is tested without starting a database.
#pragma once

#include <cstdint>
#include <string>

#include "common/config.h"
#include "common/status.h"

namespace supertable {

// What an input may look like (docs/CONFIGURATION.md). The defaults sit well below the shapes
// where DuckDB 1.4.4 was seen to crash or exhaust memory (docs/USER_GUIDE.md, "Input limits").
struct InputLimits {
  // SUPERTABLE_MAX_INPUT_COLUMNS: fields of a CSV record; distinct object keys of a JSON file
  // (top-level keys and those of nested objects, each key path once); leaf columns of a Parquet
  // file; and the columns a table may grow to by schema evolution.
  int64_t max_columns = kDefaultMaxInputColumns;
  // SUPERTABLE_MAX_INPUT_NESTING_DEPTH: arrays and objects of one JSON record (the record's own
  // object is level 1); groups of a Parquet schema, its root included (so a STRUCT column is 2
  // deep in both; a Parquet LIST takes two levels, its group and its repeated group).
  int64_t max_nesting_depth = kDefaultMaxInputNestingDepth;
  // SUPERTABLE_MAX_INPUT_RECORD_BYTES: one CSV record (a line, or several when a quoted field
  // holds line breaks), one NDJSON line, one element of a JSON array. DuckDB's readers are
  // given room for every record the scan allowed (duckdb_engine.cc, ReaderSql).
  int64_t max_record_bytes = kDefaultMaxInputRecordBytes;
};

struct CsvShape {
  char delimiter = ',';
  int64_t columns = 0;         // fields of the header record
  int64_t longest_record = 0;  // bytes of the longest record, its line end excluded
};

// The delimiter is read off the header record: of ',', tab, ';' and '|', the one that occurs most
// often outside double quotes (the first in that order on a tie; ',' when none occurs, a
// one-column file). DuckDB's sniffer is not asked, because it judges the data rows and, given
// rows shorter than the header, picks a delimiter that turns the whole file into one column.
// Every record is then checked against `limits` (fields counted outside quotes).
Result<CsvShape> ScanCsv(const std::string& path, const InputLimits& limits);

// A JSON array document or NDJSON, decided by the first non-blank byte: true for an array. The
// whole file is checked against `limits`; an array must be closed (DuckDB's array reader
// accepts a file cut after a comma).
Result<bool> ScanJson(const std::string& path, const InputLimits& limits);

// Checks the Parquet footer: the magic bytes, a footer length that fits the file, a schema that
// decodes, and its leaf columns and depth against `limits`. Reads only the schema part of the
// footer, streaming.
Status ScanParquet(const std::string& path, const InputLimits& limits);

// "PATH has N columns; at most M are allowed (SUPERTABLE_MAX_INPUT_COLUMNS)".
Status TooManyColumns(const std::string& path, int64_t columns, const InputLimits& limits);

// A write that would grow a table from `before` to `after` columns beyond max_columns is
// refused; a table already past the limit (lowered since) may still take rows that add none.
Status CheckTableWidth(const std::string& path, size_t before, size_t after,
                       const InputLimits& limits);

}  // namespace supertable
