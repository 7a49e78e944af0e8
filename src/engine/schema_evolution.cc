// Schema evolution rules.
#include "engine/schema_evolution.h"

#include <strings.h>

#include <optional>

#include <fmt/format.h>

#include "common/names.h"
#include "engine/sql_text.h"

namespace supertable {

namespace {

// Signed integer ranks; unsigned types map to the signed rank that holds them.
int IntegerRank(const std::string& t) {
  if (t == "TINYINT") return 1;
  if (t == "SMALLINT" || t == "UTINYINT") return 2;
  if (t == "INTEGER" || t == "USMALLINT") return 3;
  if (t == "BIGINT" || t == "UINTEGER") return 4;
  return 0;
}
bool IsSigned(const std::string& t) {
  return t == "TINYINT" || t == "SMALLINT" || t == "INTEGER" || t == "BIGINT";
}

std::optional<std::pair<int, int>> DecimalParams(const std::string& t) {
  int p, s;
  if (sscanf(t.c_str(), "DECIMAL(%d,%d)", &p, &s) == 2) return std::make_pair(p, s);
  return std::nullopt;
}

bool IsNested(const std::string& t) {
  return t.find("[]") != std::string::npos || t.find(']') != std::string::npos ||
         t.rfind("STRUCT", 0) == 0 || t.rfind("MAP", 0) == 0 || t.rfind("UNION", 0) == 0;
}

}  // namespace

bool IsNumericTypeName(const std::string& type) {
  static const char* kNumeric[] = {"TINYINT", "SMALLINT", "INTEGER",   "BIGINT",
                                   "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER",
                                   "UBIGINT", "UHUGEINT", "FLOAT",     "DOUBLE"};
  for (const char* n : kNumeric) {
    if (type == n) return true;
  }
  return type.rfind("DECIMAL", 0) == 0;
}

bool IsLosslessWidening(const std::string& from, const std::string& to) {
  if (from == to) return true;
  int rf = IntegerRank(from), rt = IntegerRank(to);
  // Only signed targets (an unsigned one would refuse negatives); unsigned sources are ranked by
  // the signed type that holds them, so equal ranks also widen (UTINYINT -> SMALLINT).
  if (rf && rt && IsSigned(to)) return rf <= rt;
  if (to == "DOUBLE" && (rf || from == "FLOAT")) return true;
  auto df = DecimalParams(from), dt = DecimalParams(to);
  if (df && dt) return dt->second >= df->second && dt->first - dt->second >= df->first - df->second;
  // An integer fits a decimal with enough integer digits (BIGINT needs 19).
  if (rf && dt) {
    static const int kDigits[] = {0, 3, 5, 10, 19};
    return dt->first - dt->second >= kDigits[rf];
  }
  return false;
}

Result<SchemaPlan> PlanSchema(const std::vector<Column>& base, const std::vector<Column>& incoming,
                              InputFormat format) {
  SchemaPlan plan;
  plan.schema = base;
  std::vector<std::string> exprs(base.size());
  std::vector<std::string> seen;
  for (const auto& in : incoming) {
    ST_RETURN_IF_ERROR(ValidateColumnName(in.name));
    for (const auto& s : seen) {
      if (strcasecmp(s.c_str(), in.name.c_str()) == 0) {
        return Status::InvalidArgument(fmt::format(
            "columns '{}' and '{}' differ only by case; SQL names are case-insensitive, rename one",
            s, in.name));
      }
    }
    seen.push_back(in.name);
    std::string ref = sql::Ident(in.name);
    size_t idx = base.size();
    for (size_t i = 0; i < base.size(); ++i) {
      if (strcasecmp(base[i].name.c_str(), in.name.c_str()) == 0) idx = i;
    }
    if (idx == base.size()) {
      // A new column. DuckDB calls an all-NULL JSON field type NULL; store it as VARCHAR.
      std::string type = in.type == "NULL" ? "VARCHAR" : in.type;
      plan.schema.push_back({in.name, type});
      exprs.push_back(type == in.type ? ref : fmt::format("CAST({} AS {})", ref, type));
      if (!base.empty()) plan.schema_changed = true;
      continue;
    }
    const std::string& tb = base[idx].type;
    const std::string& ti = in.type;
    if (ti == tb) {
      exprs[idx] = ref;
    } else if (ti == "NULL" || IsLosslessWidening(ti, tb)) {
      exprs[idx] = fmt::format("CAST({} AS {})", ref, tb);
    } else if (IsLosslessWidening(tb, ti)) {
      plan.schema[idx].type = ti;
      plan.schema_changed = true;
      exprs[idx] = ref;
    } else if (format == InputFormat::kCsv && !IsNested(tb)) {
      // CSV is text: the sniffer's guess loses to the table's declared type.
      plan.csv_types[in.name] = tb;
      exprs[idx] = ref;
    } else if (ti == "VARCHAR" && !IsNested(tb)) {
      exprs[idx] = fmt::format("CAST({} AS {})", ref, tb);
    } else {
      return Status::InvalidArgument(fmt::format(
          "column '{}' is {} in the table but {} in the input; only lossless widening is applied "
          "(smaller to larger integers, FLOAT or integers to DOUBLE, wider DECIMAL)",
          base[idx].name, tb, ti));
    }
  }
  for (size_t i = 0; i < plan.schema.size(); ++i) {
    if (exprs[i].empty()) exprs[i] = fmt::format("CAST(NULL AS {})", plan.schema[i].type);
    plan.select_exprs.push_back(exprs[i] + " AS " + sql::Ident(plan.schema[i].name));
  }
  if (plan.schema.empty()) return Status::InvalidArgument("the input has no columns");
  return plan;
}

}  // namespace supertable
