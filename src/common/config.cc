// Configuration loading from the environment and .env.
#include "common/config.h"

#include <algorithm>

#include <cctype>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>

#include <fmt/format.h>

#include "common/names.h"

namespace supertable {

namespace {

const std::map<std::string, std::string>& DotEnv() {
  static const std::map<std::string, std::string> values = [] {
    std::ifstream in(".env");
    if (!in) return std::map<std::string, std::string>();
    std::stringstream ss;
    ss << in.rdbuf();
    return ParseDotEnv(ss.str());
  }();
  return values;
}

}  // namespace

bool TruthySetting(const std::string& name) {
  std::string v = GetSetting(name).value_or("");
  return v == "1" || v == "true" || v == "TRUE" || v == "yes";
}

Result<int64_t> ParseIntSetting(const std::string& name, const std::string& text, int64_t min) {
  try {
    size_t used = 0;
    long long v = std::stoll(text, &used);
    if (used != text.size() || v < min) throw std::invalid_argument("range");
    return static_cast<int64_t>(v);
  } catch (const std::exception&) {
    return Status::InvalidArgument(
        fmt::format("{}='{}' is not valid: expected an integer >= {}", name, text, min));
  }
}

namespace {

std::string Trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r");
  size_t e = s.find_last_not_of(" \t\r");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

}  // namespace

std::map<std::string, std::string> ParseDotEnv(const std::string& text) {
  std::map<std::string, std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    line = Trim(line);
    if (line.empty() || line[0] == '#') continue;
    if (line.rfind("export ", 0) == 0) line = Trim(line.substr(7));
    size_t eq = line.find('=');
    if (eq == std::string::npos) continue;
    std::string key = Trim(line.substr(0, eq));
    std::string value = Trim(line.substr(eq + 1));
    if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') &&
        value.back() == value.front()) {
      value = value.substr(1, value.size() - 2);
    } else if (size_t hash = value.find(" #"); hash != std::string::npos) {
      value = Trim(value.substr(0, hash));  // trailing comment on an unquoted value
    }
    out[key] = value;
  }
  return out;
}

namespace {

// Every setting name looked up so far, so the effective configuration can show what each
// subsystem read without a list kept by hand beside the code that reads it.
std::mutex consulted_mu;
std::set<std::string>& Consulted() {
  static std::set<std::string> names;
  return names;
}

}  // namespace

std::optional<std::string> GetSetting(const std::string& name) {
  {
    std::lock_guard<std::mutex> g(consulted_mu);
    Consulted().insert(name);
  }
  if (const char* v = std::getenv(name.c_str())) return std::string(v);
  auto it = DotEnv().find(name);
  if (it != DotEnv().end()) return it->second;
  return std::nullopt;
}

bool IsSecretSetting(const std::string& name) {
  std::string upper = name;
  for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  for (const char* word : {"SECRET", "TOKEN", "PASSWORD", "KEY", "CREDENTIAL", "CONNECTION_STRING",
                           "SAS", "PRIVATE"}) {
    if (upper.find(word) != std::string::npos) return true;
  }
  return false;
}

std::string RedactedSettingValue(const std::string& name, const std::string& value) {
  if (value.empty()) return value;
  if (IsSecretSetting(name)) return "[redacted]";
  // A URL's password (redis://:pw@host, https://user:pw@host).
  size_t scheme = value.find("://");
  size_t at = value.find('@');
  if (scheme != std::string::npos && at != std::string::npos && at > scheme) {
    size_t colon = value.find(':', scheme + 3);
    if (colon != std::string::npos && colon < at) {
      return value.substr(0, colon + 1) + "[redacted]" + value.substr(at);
    }
  }
  return value;
}

std::vector<SettingInUse> SettingsInUse() {
  std::set<std::string> names;
  {
    std::lock_guard<std::mutex> g(consulted_mu);
    names = Consulted();
  }
  std::vector<SettingInUse> out;
  for (const auto& name : names) {
    SettingInUse s;
    s.name = name;
    if (const char* v = std::getenv(name.c_str())) {
      s.value = RedactedSettingValue(name, v);
      s.source = "environment";
    } else if (auto it = DotEnv().find(name); it != DotEnv().end()) {
      s.value = RedactedSettingValue(name, it->second);
      s.source = ".env";
    } else {
      continue;  // unset: the default applies
    }
    out.push_back(std::move(s));
  }
  return out;
}

std::string FirstSetting(std::initializer_list<std::string> names) {
  for (const auto& n : names) {
    if (auto v = GetSetting(n); v && !v->empty()) return *v;
  }
  return "";
}

Result<Config> Config::FromEnvironment() {
  Config c;
  c.home = GetSetting("SUPERTABLE_HOME").value_or("");
  c.organization = GetSetting("SUPERTABLE_ORGANIZATION").value_or("");
  c.storage_type = GetSetting("STORAGE_TYPE").value_or("LOCAL");
  c.locking_backend = GetSetting("LOCKING_BACKEND").value_or("sqlite");
  c.duckdb_memory_limit = GetSetting("SUPERTABLE_DUCKDB_MEMORY_LIMIT").value_or("");
  c.log_level = GetSetting("LOG_LEVEL").value_or("warn");
  struct IntSetting {
    const char* name;
    int64_t* target;
    int64_t min;
  };
  int64_t threads = 0, concurrent = c.max_concurrent_queries, queue = c.query_queue;
  for (const auto& s :
       {IntSetting{"SUPERTABLE_DUCKDB_THREADS", &threads, 0},
        IntSetting{"SUPERTABLE_LOCK_TIMEOUT_MS", &c.lock_timeout_ms, 0},
        IntSetting{"SUPERTABLE_LOCK_TTL_MS", &c.lock_ttl_ms, 100},
        IntSetting{"SUPERTABLE_TARGET_FILE_BYTES", &c.target_file_bytes, 1 << 16},
        IntSetting{"SUPERTABLE_QUERY_TIMEOUT_MS", &c.query_timeout_ms, 0},
        IntSetting{"SUPERTABLE_MAX_RESULT_BYTES", &c.max_result_bytes, 0},
        IntSetting{"SUPERTABLE_MAX_CONCURRENT_QUERIES", &concurrent, 1},
        IntSetting{"SUPERTABLE_QUERY_QUEUE", &queue, 0},
        IntSetting{"SUPERTABLE_CACHE_MAX_BYTES", &c.cache_max_bytes, 0},
        IntSetting{"SUPERTABLE_MAX_INPUT_COLUMNS", &c.max_input_columns, 1},
        IntSetting{"SUPERTABLE_MAX_INPUT_NESTING_DEPTH", &c.max_input_nesting_depth, 1},
        IntSetting{"SUPERTABLE_MAX_INPUT_RECORD_BYTES", &c.max_input_record_bytes, 1024},
        IntSetting{"SUPERTABLE_MAX_SQL_BYTES", &c.max_sql_bytes, 1},
        IntSetting{"SUPERTABLE_MAX_SQL_EXPRESSIONS", &c.max_sql_expressions, 1},
        IntSetting{"SUPERTABLE_MAX_SQL_DEPTH", &c.max_sql_depth, 1}}) {
    if (auto v = GetSetting(s.name); v && !v->empty()) {
      ST_ASSIGN_OR_RETURN(*s.target, ParseIntSetting(s.name, *v, s.min));
    }
  }
  c.duckdb_threads = static_cast<int>(threads);
  c.max_concurrent_queries = static_cast<int>(std::min<int64_t>(concurrent, 1024));
  c.query_queue = static_cast<int>(std::min<int64_t>(queue, 100000));
  // Past these DuckDB crashes instead of failing: a setting cannot lift the limits there.
  c.max_sql_expressions = std::min(c.max_sql_expressions, kMaxSqlExpressionsCeiling);
  c.max_sql_depth = std::min(c.max_sql_depth, kMaxSqlDepthCeiling);
  return c;
}

int64_t Config::LongestQueryMs() const {
  if (query_timeout_ms <= 0) return 24ll * 3600 * 1000;
  return std::max(query_timeout_ms, kMaxRequestTimeoutMs);
}

Status Config::Finish() {
  if (home.empty()) {
    const char* h = std::getenv("HOME");
    home = std::string(h ? h : ".") + "/.supertable";
  }
  if (organization.empty()) organization = "default";
  ST_RETURN_IF_ERROR(ValidateName(organization, "organization"));
  for (auto& ch : storage_type)
    ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  if (storage_type != "LOCAL" && storage_type != "MINIO" && storage_type != "S3" &&
      storage_type != "GCP" && storage_type != "AZURE") {
    return Status::InvalidArgument(fmt::format(
        "STORAGE_TYPE={} is not known; expected LOCAL, MINIO, S3, GCP or AZURE", storage_type));
  }
  for (auto& ch : locking_backend)
    ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  if (locking_backend == "file" || locking_backend == "embedded") locking_backend = "sqlite";
  if (locking_backend != "sqlite" && locking_backend != "redis") {
    return Status::InvalidArgument(fmt::format(
        "LOCKING_BACKEND={} is not valid; expected sqlite (embedded, the default) or redis",
        locking_backend));
  }
  return Status::Ok();
}

}  // namespace supertable
