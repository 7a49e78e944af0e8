// Shared DuckDB configuration.
#include "engine/duck_config.h"

namespace supertable {

void ApplyBaseConfig(const EngineOptions& o, duckdb::DBConfig& config) {
  if (o.threads > 0) config.SetOptionByName("threads", duckdb::Value::BIGINT(o.threads));
  if (!o.memory_limit.empty())
    config.SetOptionByName("memory_limit", duckdb::Value(o.memory_limit));
  // Spills go under SUPERTABLE_HOME, not into the working directory.
  if (!o.temp_directory.empty())
    config.SetOptionByName("temp_directory", duckdb::Value(o.temp_directory));
  config.SetOptionByName("autoinstall_known_extensions", duckdb::Value::BOOLEAN(false));
  config.SetOptionByName("autoload_known_extensions", duckdb::Value::BOOLEAN(false));
}

}  // namespace supertable
