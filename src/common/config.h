// Configuration: one place that turns flags, environment variables and an optional .env file
// into typed settings. Precedence: command-line flag > environment > .env in the working
// directory > default. Names follow the original SuperTable (docs/CONFIGURATION.md).
#pragma once

#include <cstdint>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

namespace supertable {

// The largest timeout one query request (MCP query_sql timeout_ms, query --timeout) may ask for
// when it exceeds SUPERTABLE_QUERY_TIMEOUT_MS.
inline constexpr int64_t kMaxRequestTimeoutMs = 600000;

// Defaults of the limits on users' SQL, and the highest SUPERTABLE_MAX_SQL_EXPRESSIONS and
// SUPERTABLE_MAX_SQL_DEPTH may be set to, well below where DuckDB 1.4.4 crashes
// (docs/SECURITY.md has the measurements).
inline constexpr int64_t kDefaultMaxSqlBytes = 1 << 20;
inline constexpr int64_t kDefaultMaxSqlExpressions = 5000;
inline constexpr int64_t kDefaultMaxSqlDepth = 128;
inline constexpr int64_t kMaxSqlExpressionsCeiling = 10000;
inline constexpr int64_t kMaxSqlDepthCeiling = 500;

// Defaults of the limits on input files, below where DuckDB 1.4.4 crashes or exhausts memory
// (docs/USER_GUIDE.md, "Input limits").
inline constexpr int64_t kDefaultMaxInputColumns = 1000;
inline constexpr int64_t kDefaultMaxInputNestingDepth = 64;
inline constexpr int64_t kDefaultMaxInputRecordBytes = 16ll << 20;

struct Config {
  std::string home;             // SUPERTABLE_HOME: catalog, local data, staging
  std::string organization;     // SUPERTABLE_ORGANIZATION
  std::string storage_type;     // STORAGE_TYPE: LOCAL, MINIO, S3, GCP, AZURE
  std::string locking_backend;  // LOCKING_BACKEND: sqlite (embedded default)
  int duckdb_threads = 0;       // SUPERTABLE_DUCKDB_THREADS; 0 = DuckDB's default (all cores)
  std::string
      duckdb_memory_limit;  // SUPERTABLE_DUCKDB_MEMORY_LIMIT, e.g. "4GB"; empty = DuckDB default
  int64_t lock_timeout_ms =
      60000;  // SUPERTABLE_LOCK_TIMEOUT_MS: how long a writer waits for a table lock
  int64_t lock_ttl_ms =
      30000;  // SUPERTABLE_LOCK_TTL_MS: a held lock expires after this unless renewed
  int64_t target_file_bytes = 128ll
                              << 20;  // SUPERTABLE_TARGET_FILE_BYTES: size data files are cut at
  int64_t query_timeout_ms = 60000;   // SUPERTABLE_QUERY_TIMEOUT_MS; 0: no limit
  int64_t max_result_bytes =
      1ll << 30;                   // SUPERTABLE_MAX_RESULT_BYTES: JSON-encoded result cap; 0: none
  int max_concurrent_queries = 4;  // SUPERTABLE_MAX_CONCURRENT_QUERIES
  int query_queue = 16;            // SUPERTABLE_QUERY_QUEUE: queries waiting beyond that get "busy"
  // Limits on users' SQL, checked before DuckDB sees it (docs/SECURITY.md): statements far
  // past them crash DuckDB rather than fail.
  int64_t max_sql_bytes = kDefaultMaxSqlBytes;  // SUPERTABLE_MAX_SQL_BYTES: length of the text
  int64_t max_sql_expressions = kDefaultMaxSqlExpressions;  // SUPERTABLE_MAX_SQL_EXPRESSIONS
  int64_t max_sql_depth = kDefaultMaxSqlDepth;  // SUPERTABLE_MAX_SQL_DEPTH: brackets, subqueries,
                                                // expressions, types
  std::string log_level = "warn";               // LOG_LEVEL
  // SUPERTABLE_CACHE_MAX_BYTES: local disk cache of remote objects under home/cache; 0: none
  int64_t cache_max_bytes = 2ll << 30;
  // The pre-scan's limits on input files (engine/input_scan.h, docs/CONFIGURATION.md).
  int64_t max_input_columns = kDefaultMaxInputColumns;  // SUPERTABLE_MAX_INPUT_COLUMNS
  int64_t max_input_nesting_depth =
      kDefaultMaxInputNestingDepth;  // SUPERTABLE_MAX_INPUT_NESTING_DEPTH
  int64_t max_input_record_bytes =
      kDefaultMaxInputRecordBytes;  // SUPERTABLE_MAX_INPUT_RECORD_BYTES

  // The longest any query may run in this process, in milliseconds: the configured limit, but
  // at least kMaxRequestTimeoutMs (a request may ask for up to that), and 24 h when queries have
  // no limit. gc keeps every version current within this window, because a query on any server
  // may still be reading it; so no query may outlast it either.
  int64_t LongestQueryMs() const;

  // Reads the environment (and .env) for every setting; flags are applied by the caller after.
  static Result<Config> FromEnvironment();
  // Checks the values and fills derived defaults (home, organization). Call after flags.
  Status Finish();
};

// Looks up one variable with the precedence above (environment, then .env). Exposed for the
// few settings that belong to one subsystem only.
std::optional<std::string> GetSetting(const std::string& name);

// The value of the first of `names` that is set and not empty (each looked up as GetSetting
// does); "" when none is. For settings with fallback names (STORAGE_ACCESS_KEY, then
// AWS_ACCESS_KEY_ID).
std::string FirstSetting(std::initializer_list<std::string> names);

// A setting this process read that is set, with its value (secrets redacted) and where it came
// from ("environment" or ".env"): the effective configuration an administrator may see.
struct SettingInUse {
  std::string name, value, source;
};
std::vector<SettingInUse> SettingsInUse();
// Whether a setting's value is a secret by its name (…TOKEN, …SECRET, …KEY, …PASSWORD, …).
bool IsSecretSetting(const std::string& name);
// `value` as it may be shown: "[redacted]" for a secret, a URL with its password hidden.
std::string RedactedSettingValue(const std::string& name, const std::string& value);

// Whether a flag setting is on: "1", "true", "TRUE" or "yes".
bool TruthySetting(const std::string& name);
// Parses an integer setting >= `min`; the error names the setting and what was expected.
Result<int64_t> ParseIntSetting(const std::string& name, const std::string& text, int64_t min);

// Parses "KEY=value" lines (comments, `export`, single/double quotes); used for .env files.
std::map<std::string, std::string> ParseDotEnv(const std::string& text);

}  // namespace supertable
