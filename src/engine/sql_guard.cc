// Parse-tree checks and table-reference rewriting for users' SQL.
#include "engine/sql_guard.h"

#include <duckdb/parser/expression/cast_expression.hpp>
#include <duckdb/parser/expression/constant_expression.hpp>
#include <duckdb/parser/expression/function_expression.hpp>
#include <duckdb/parser/expression/subquery_expression.hpp>
#include <duckdb/parser/parsed_expression_iterator.hpp>
#include <duckdb/parser/query_node/cte_node.hpp>
#include <duckdb/parser/query_node/select_node.hpp>
#include <duckdb/parser/statement/explain_statement.hpp>
#include <duckdb/parser/statement/select_statement.hpp>
#include <duckdb/parser/tableref/basetableref.hpp>
#include <duckdb/parser/tableref/showref.hpp>
#include <duckdb/parser/tableref/table_function_ref.hpp>

#include <map>
#include <set>

#include <fmt/format.h>

#include "common/ids.h"
#include "engine/duck_errors.h"

namespace supertable {

namespace {

using duckdb::ParsedExpression;
using duckdb::QueryNode;
using duckdb::TableRef;

// Table functions that only compute: they read nothing and reach nothing.
const std::set<std::string> kAllowedTableFunctions = {"range", "generate_series", "unnest"};
// Scalar functions that would tell a query about the server (settings include paths).
const std::set<std::string> kDeniedScalarFunctions = {
    "current_setting", "getvariable",      "getenv",        "version",
    "pragma_version",  "current_database", "current_schema"};

std::string Lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// A constant, possibly cast (TIMESTAMP '2024-01-01' parses as a cast of a string).
std::optional<duckdb::Value> ConstantOf(const ParsedExpression& e) {
  if (e.GetExpressionClass() == duckdb::ExpressionClass::CONSTANT) {
    return e.Cast<duckdb::ConstantExpression>().value;
  }
  if (e.GetExpressionClass() == duckdb::ExpressionClass::CAST) {
    auto& cast = e.Cast<duckdb::CastExpression>();
    auto inner = ConstantOf(*cast.child);
    if (!inner) return std::nullopt;
    try {
      return inner->DefaultCastAs(cast.cast_type);
    } catch (...) {
      return std::nullopt;
    }
  }
  return std::nullopt;
}

class Guard {
 public:
  explicit Guard(const ViewForTable& view_for) : view_for_(view_for) {}

  Status WalkNode(QueryNode& node) {
    // CTE names are visible to the node and everything below it.
    std::vector<std::string> added;
    for (auto& kv : node.cte_map.map) {
      ctes_.insert(Lower(kv.first));
      added.push_back(Lower(kv.first));
    }
    if (node.type == duckdb::QueryNodeType::CTE_NODE) {
      auto& cte = node.Cast<duckdb::CTENode>();
      ctes_.insert(Lower(cte.ctename));
    }
    try {
      duckdb::ParsedExpressionIterator::EnumerateQueryNodeChildren(
          node, [this](duckdb::unique_ptr<ParsedExpression>& child) { WalkExpression(*child); },
          [this](TableRef& ref) { VisitRef(ref); });
    } catch (const std::exception& e) {
      if (status_.ok())
        status_ = Status::InvalidArgument(fmt::format("unsupported query shape: {}", e.what()));
    }
    return status_;
  }

 private:
  void Fail(Status s) {
    if (status_.ok()) status_ = std::move(s);
  }

  void WalkExpression(ParsedExpression& e) {
    if (!status_.ok()) return;
    if (e.GetExpressionClass() == duckdb::ExpressionClass::FUNCTION) {
      const auto& f = e.Cast<duckdb::FunctionExpression>();
      if (kDeniedScalarFunctions.count(Lower(f.function_name))) {
        Fail(Status::InvalidArgument(
            fmt::format("function {}() is not available to queries", f.function_name)));
        return;
      }
    }
    if (e.GetExpressionClass() == duckdb::ExpressionClass::SUBQUERY) {
      auto& sub = e.Cast<duckdb::SubqueryExpression>();
      (void)WalkNode(*sub.subquery->node);
    }
    duckdb::ParsedExpressionIterator::EnumerateChildren(
        e, [this](ParsedExpression& child) { WalkExpression(child); });
  }

  void VisitRef(TableRef& ref) {
    if (!status_.ok()) return;
    switch (ref.type) {
      case duckdb::TableReferenceType::TABLE_FUNCTION: {
        auto& tf = ref.Cast<duckdb::TableFunctionRef>();
        std::string name = tf.function->GetExpressionClass() == duckdb::ExpressionClass::FUNCTION
                               ? tf.function->Cast<duckdb::FunctionExpression>().function_name
                               : tf.function->ToString();
        if (!kAllowedTableFunctions.count(Lower(name))) {
          Fail(Status::InvalidArgument(
              fmt::format("table function {}() is not allowed: queries read only the tables of the "
                          "warehouse (name them "
                          "as table or super.table)",
                          name)));
        }
        if (tf.subquery) (void)WalkNode(*tf.subquery->node);
        break;
      }
      case duckdb::TableReferenceType::BASE_TABLE:
        RewriteBaseTable(ref.Cast<duckdb::BaseTableRef>());
        break;
      case duckdb::TableReferenceType::SHOW_REF: {
        auto& show = ref.Cast<duckdb::ShowRef>();
        if (show.query) {
          (void)WalkNode(*show.query);
        } else if (!show.table_name.empty()) {
          auto view = Resolve(show.schema_name, show.table_name, nullptr, show.catalog_name);
          if (view) {
            show.catalog_name.clear();
            show.schema_name.clear();
            show.table_name = *view;
          }
        }
        break;
      }
      case duckdb::TableReferenceType::COLUMN_DATA:
      case duckdb::TableReferenceType::DELIM_GET:
        Fail(Status::InvalidArgument("unsupported table reference in query"));
        break;
      default:
        break;  // joins, subqueries, VALUES, pivots, empty FROM: their children are walked
    }
  }

  void RewriteBaseTable(duckdb::BaseTableRef& ref) {
    if (ref.catalog_name.empty() && ref.schema_name.empty() && ctes_.count(Lower(ref.table_name)) &&
        !ref.at_clause) {
      return;  // a CTE of this query
    }
    auto view = Resolve(ref.schema_name, ref.table_name, ref.at_clause.get(), ref.catalog_name);
    if (!view) return;
    // Keep the name the query uses to qualify columns (orders.id, or the alias).
    if (ref.alias.empty()) ref.alias = ref.table_name;
    ref.catalog_name.clear();
    ref.schema_name.clear();
    ref.table_name = *view;
    ref.at_clause.reset();
  }

  std::optional<std::string> Resolve(const std::string& schema, const std::string& table,
                                     duckdb::AtClause* at, const std::string& catalog) {
    if (!catalog.empty()) {
      Fail(Status::InvalidArgument(
          fmt::format("'{}.{}.{}': name tables as table or super.table", catalog, schema, table)));
      return std::nullopt;
    }
    TableName name{schema, table, std::nullopt};
    if (at) {
      std::string unit = Lower(at->Unit());
      auto value = ConstantOf(*at->ExpressionMutable());
      if (!value || value->IsNull()) {
        Fail(Status::InvalidArgument(
            fmt::format("AT ({} => ...) on '{}' needs a constant", at->Unit(), table)));
        return std::nullopt;
      }
      AsOf as_of;
      if (unit == "version") {
        try {
          as_of.version = value->DefaultCastAs(duckdb::LogicalType::BIGINT).GetValue<int64_t>();
        } catch (...) {
          Fail(Status::InvalidArgument(
              fmt::format("AT (VERSION => {}): expected a version number", value->ToString())));
          return std::nullopt;
        }
      } else if (unit == "timestamp") {
        int64_t micros = ParseTimestamp(value->ToString());
        if (micros < 0) {
          try {
            auto ts = value->DefaultCastAs(duckdb::LogicalType::TIMESTAMP_TZ);
            micros = ts.GetValue<duckdb::timestamp_tz_t>().value;
          } catch (...) {
          }
        }
        if (micros < 0) {
          Fail(Status::InvalidArgument(fmt::format(
              "AT (TIMESTAMP => {}): expected a timestamp such as '2026-01-31 12:00:00'",
              value->ToString())));
          return std::nullopt;
        }
        as_of.timestamp_micros = micros;
      } else {
        Fail(Status::InvalidArgument(
            fmt::format("AT ({} => ...): expected VERSION or TIMESTAMP", at->Unit())));
        return std::nullopt;
      }
      name.as_of = as_of;
    }
    std::string key = fmt::format(
        "{}\x1f{}\x1f{}\x1f{}", Lower(schema), Lower(table),
        name.as_of && name.as_of->version ? *name.as_of->version : -1,
        name.as_of && name.as_of->timestamp_micros ? *name.as_of->timestamp_micros : -1);
    auto it = views_.find(key);
    if (it != views_.end()) return it->second;
    auto view = view_for_(name);
    if (!view.ok()) {
      Fail(view.status());
      return std::nullopt;
    }
    views_[key] = *view;
    return *view;
  }

  const ViewForTable& view_for_;
  std::set<std::string> ctes_;
  std::map<std::string, std::string> views_;
  Status status_;
};

}  // namespace

Result<duckdb::unique_ptr<duckdb::SQLStatement>> GuardStatement(duckdb::Connection& con,
                                                                const std::string& sql,
                                                                const ViewForTable& view_for) {
  duckdb::vector<duckdb::unique_ptr<duckdb::SQLStatement>> statements;
  try {
    statements = con.ExtractStatements(sql);
  } catch (const std::exception& e) {
    duckdb::ErrorData error(e);
    return FromDuckError(error);
  }
  if (statements.size() != 1) {
    return Status::InvalidArgument(
        fmt::format("expected exactly one SQL statement, got {}", statements.size()));
  }
  duckdb::SQLStatement* st = statements[0].get();
  if (st->type == duckdb::StatementType::EXPLAIN_STATEMENT) {
    st = st->Cast<duckdb::ExplainStatement>().stmt.get();
  }
  if (st->type != duckdb::StatementType::SELECT_STATEMENT) {
    return Status::InvalidArgument(
        fmt::format("only read-only queries are allowed (SELECT, WITH, EXPLAIN, DESCRIBE, "
                    "SUMMARIZE); this is a {} statement",
                    duckdb::StatementTypeToString(st->type)));
  }
  Guard guard(view_for);
  ST_RETURN_IF_ERROR(guard.WalkNode(*st->Cast<duckdb::SelectStatement>().node));
  return std::move(statements[0]);
}

}  // namespace supertable
