// Parse-tree checks and table-reference rewriting for users' SQL.
#include "engine/sql_guard.h"

#include <duckdb/parser/expression/cast_expression.hpp>
#include <duckdb/parser/expression/columnref_expression.hpp>
#include <duckdb/parser/expression/constant_expression.hpp>
#include <duckdb/parser/expression/function_expression.hpp>
#include <duckdb/parser/expression/parameter_expression.hpp>
#include <duckdb/parser/expression/star_expression.hpp>
#include <duckdb/parser/expression/subquery_expression.hpp>
#include <duckdb/parser/parsed_expression_iterator.hpp>
#include <duckdb/parser/parser.hpp>
#include <duckdb/parser/query_node/cte_node.hpp>
#include <duckdb/parser/query_node/recursive_cte_node.hpp>
#include <duckdb/parser/query_node/select_node.hpp>
#include <duckdb/parser/query_node/set_operation_node.hpp>
#include <duckdb/parser/statement/explain_statement.hpp>
#include <duckdb/parser/statement/select_statement.hpp>
#include <duckdb/parser/tableref/basetableref.hpp>
#include <duckdb/parser/tableref/expressionlistref.hpp>
#include <duckdb/parser/tableref/joinref.hpp>
#include <duckdb/parser/tableref/pivotref.hpp>
#include <duckdb/parser/tableref/showref.hpp>
#include <duckdb/parser/tableref/subqueryref.hpp>
#include <duckdb/parser/tableref/table_function_ref.hpp>

#include <algorithm>
#include <functional>
#include <map>
#include <set>

#include <fmt/format.h>

#include "common/ids.h"
#include "engine/duck_errors.h"
#include "engine/file_pruning.h"
#include "engine/row_filter.h"

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

// Table functions whose structure argument is a type written as a string (JSON or DuckDB type
// syntax); DuckDB parses it recursively at bind time.
const std::set<std::string> kTypeStringFunctions = {"from_json", "from_json_strict",
                                                    "json_transform", "json_transform_strict"};

// How deeply a type nests (LIST of STRUCT of MAP ...); stops counting past `limit`.
int TypeDepth(const duckdb::LogicalType& type, int limit) {
  if (limit <= 0) return 1;
  int inner = 0;
  switch (type.id()) {
    case duckdb::LogicalTypeId::LIST:
      inner = TypeDepth(duckdb::ListType::GetChildType(type), limit - 1);
      break;
    case duckdb::LogicalTypeId::ARRAY:
      inner = TypeDepth(duckdb::ArrayType::GetChildType(type), limit - 1);
      break;
    case duckdb::LogicalTypeId::MAP:
      inner = std::max(TypeDepth(duckdb::MapType::KeyType(type), limit - 1),
                       TypeDepth(duckdb::MapType::ValueType(type), limit - 1));
      break;
    case duckdb::LogicalTypeId::STRUCT:
    case duckdb::LogicalTypeId::UNION:
      for (const auto& child : duckdb::StructType::GetChildTypes(type))
        inner = std::max(inner, TypeDepth(child.second, limit - 1));
      break;
    default:
      break;
  }
  return 1 + inner;
}

// Walks one statement's parse tree in SQL's scoping order: it resolves each table name against
// the CTEs visible at that point, rewrites the others to the views, and counts and bounds
// expressions and nesting. Every node type it does not know is refused rather than skipped.
class Guard {
 public:
  Guard(const ViewForTable& view_for, const SqlLimits& limits)
      : view_for_(view_for), limits_(limits) {}

  Status Run(QueryNode& node) {
    try {
      WalkNode(node);
    } catch (const std::exception& e) {
      Fail(Status::InvalidArgument(fmt::format("unsupported query shape: {}", e.what())));
    }
    return status_;
  }

  // The queries of DESCRIBE SELECT ..., rewritten; valid while the statement lives.
  const std::vector<QueryNode*>& described() const { return described_; }

 private:
  // Depth of the walk: each query node, table reference and expression is one level.
  class Nest {
   public:
    explicit Nest(Guard& g) : g_(g) {
      if (++g_.depth_ > g_.limits_.max_depth && g_.status_.ok())
        g_.status_ = TooDeep("expressions, subqueries or joins", g_.limits_);
    }
    ~Nest() { --g_.depth_; }

   private:
    Guard& g_;
  };

  void Fail(Status s) {
    if (status_.ok()) status_ = std::move(s);
  }

  // DuckDB's binder skips a CTE whose name equals the alias of the subquery it binds in
  // (Binder::FindCTE: the alias marks a CTE's own body) and looks further out, and, finding
  // none, in the catalog. In 1.4.4 the copies of the WITH list that each CTENode registers make
  // it find the CTE further out after all; the guard does not rely on that, and takes such a
  // name for a table.
  bool IsCte(const std::string& name) const {
    std::string key = Lower(name);
    bool found = false;
    for (const auto& scope : scopes_) {
      if (scope.binder_alias == key) return false;
      found = found || scope.ctes.count(key);
    }
    return found;
  }

  // `binder_alias`: the name DuckDB gives the binder of this node (a subquery's alias).
  void WalkNode(QueryNode& node, const std::string& binder_alias = "") {
    Nest nest(*this);
    if (!status_.ok()) return;
    // DuckDB 1.4's parser turns each WITH entry into a CTENode (its query, and the rest of the
    // statement as its child) and keeps copies of the entries in every node's cte_map. The
    // binder binds a name to a CTE only inside a CTENode's child (or a recursive CTE's own
    // body); the cte_map copies only let it find the name, and are never bound. So the CTENode
    // chain alone decides what is visible: a CTE in the query that defines it and below, after
    // its definition. The copies are rewritten too, in case that ever changes, but each seeing
    // only the names before it, and not counted against the expression limit; copies inside
    // copies are left alone (each WITH level multiplies them).
    scopes_.push_back({{}, Lower(binder_alias)});
    if (!node.cte_map.map.empty() && in_copies_ == 0) {
      ++in_copies_;
      scopes_.push_back({{}, ""});
      for (auto& kv : node.cte_map.map) {
        auto& cte_node = *kv.second->query->node;
        if (cte_node.type == duckdb::QueryNodeType::RECURSIVE_CTE_NODE)
          scopes_.back().ctes.insert(Lower(kv.first));
        WalkNode(cte_node);
        for (auto& key : kv.second->key_targets) WalkExpression(*key);
        scopes_.back().ctes.insert(Lower(kv.first));
      }
      scopes_.pop_back();
      --in_copies_;
    }
    switch (node.type) {
      case duckdb::QueryNodeType::SELECT_NODE: {
        auto& sel = node.Cast<duckdb::SelectNode>();
        // DuckDB names an unnamed result column after its expression's text, which for one
        // with a subquery would show that subquery as rewritten (its tables' scans, with their
        // files' paths): it is named after the text the user wrote, taken before any rewrite.
        for (auto& e : sel.select_list) {
          if (!e->alias.empty()) continue;
          bool has_subquery = false;
          duckdb::ParsedExpressionIterator::VisitExpressionClass(
              *e, duckdb::ExpressionClass::SUBQUERY,
              [&](const duckdb::ParsedExpression&) { has_subquery = true; });
          if (has_subquery) e->alias = e->ToString();
        }
        // Before FROM is rewritten: which predicates constrain which of its tables. They are
        // the WHERE clause's and the join conditions' own nodes, which nothing rewrites.
        auto pushable = PushableConjuncts(sel);
        std::swap(pushable_, pushable);
        // FROM first: a lateral subquery in the select list sees the same names as FROM does.
        if (sel.from_table) VisitRef(sel.from_table);
        std::swap(pushable_, pushable);
        for (auto& e : sel.select_list) WalkExpression(*e);
        if (sel.where_clause) WalkExpression(*sel.where_clause);
        for (auto& e : sel.groups.group_expressions) WalkExpression(*e);
        if (sel.having) WalkExpression(*sel.having);
        if (sel.qualify) WalkExpression(*sel.qualify);
        break;
      }
      case duckdb::QueryNodeType::SET_OPERATION_NODE: {
        auto& setop = node.Cast<duckdb::SetOperationNode>();
        WalkNode(*setop.left);
        WalkNode(*setop.right);
        break;
      }
      case duckdb::QueryNodeType::RECURSIVE_CTE_NODE: {
        auto& rec = node.Cast<duckdb::RecursiveCTENode>();
        scopes_.push_back({{Lower(rec.ctename)}, ""});
        WalkNode(*rec.left);
        WalkNode(*rec.right);
        for (auto& key : rec.key_targets) WalkExpression(*key);
        scopes_.pop_back();
        break;
      }
      case duckdb::QueryNodeType::CTE_NODE: {
        auto& cte = node.Cast<duckdb::CTENode>();
        WalkNode(*cte.query);
        scopes_.push_back({{Lower(cte.ctename)}, ""});
        if (cte.child) WalkNode(*cte.child);
        scopes_.pop_back();
        break;
      }
      default:
        Fail(Status::InvalidArgument("unsupported query shape"));
    }
    duckdb::ParsedExpressionIterator::EnumerateQueryNodeModifiers(
        node, [this](duckdb::unique_ptr<ParsedExpression>& child) { WalkExpression(*child); });
    scopes_.pop_back();
  }

  void WalkExpression(ParsedExpression& e) {
    Nest nest(*this);
    if (!status_.ok()) return;
    if (in_copies_ == 0 && ++expressions_ > limits_.max_expressions) {
      Fail(Status::InvalidArgument(fmt::format(
          "the statement has more than {} expressions; split it into smaller queries (limit: "
          "SUPERTABLE_MAX_SQL_EXPRESSIONS)",
          limits_.max_expressions)));
      return;
    }
    switch (e.GetExpressionClass()) {
      case duckdb::ExpressionClass::FUNCTION:
        CheckFunction(e.Cast<duckdb::FunctionExpression>());
        break;
      case duckdb::ExpressionClass::CAST: {
        auto& cast = e.Cast<duckdb::CastExpression>();
        if (TypeDepth(cast.cast_type, limits_.max_depth + 1) > limits_.max_depth)
          Fail(TooDeep("types in a cast", limits_));
        break;
      }
      case duckdb::ExpressionClass::SUBQUERY:
        WalkNode(*e.Cast<duckdb::SubqueryExpression>().subquery->node);
        break;
      default:
        break;
    }
    if (!status_.ok()) return;
    duckdb::ParsedExpressionIterator::EnumerateChildren(
        e, [this](ParsedExpression& child) { WalkExpression(child); });
  }

  void CheckFunction(const duckdb::FunctionExpression& f) {
    std::string name = Lower(f.function_name);
    if (kDeniedScalarFunctions.count(name)) {
      Fail(Status::InvalidArgument(
          fmt::format("function {}() is not available to queries", f.function_name)));
      return;
    }
    // The structure must be a literal: a computed one (repeat('[', n) || ...) would escape the
    // check of string constants' nesting that CheckSqlText made.
    if (kTypeStringFunctions.count(name) && f.children.size() >= 2) {
      const auto& structure = *f.children[1];
      if (structure.GetExpressionClass() != duckdb::ExpressionClass::CONSTANT ||
          structure.Cast<duckdb::ConstantExpression>().value.type().id() !=
              duckdb::LogicalTypeId::VARCHAR) {
        Fail(Status::InvalidArgument(fmt::format(
            "{}(): the structure (second argument) must be a string literal", f.function_name)));
      }
    }
  }

  // `slot` owns the reference: a table the query names may be replaced by a subquery.
  void VisitRef(duckdb::unique_ptr<TableRef>& slot) {
    Nest nest(*this);
    if (!status_.ok()) return;
    TableRef& ref = *slot;
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
          return;
        }
        WalkExpression(*tf.function);
        if (tf.subquery)
          WalkNode(*tf.subquery->node, tf.alias.empty() ? "unnamed_query" : tf.alias);
        break;
      }
      case duckdb::TableReferenceType::BASE_TABLE:
        RewriteBaseTable(slot);
        break;
      case duckdb::TableReferenceType::JOIN: {
        auto& join = ref.Cast<duckdb::JoinRef>();
        VisitRef(join.left);
        VisitRef(join.right);
        if (join.condition) WalkExpression(*join.condition);
        for (auto& e : join.duplicate_eliminated_columns) WalkExpression(*e);
        break;
      }
      case duckdb::TableReferenceType::SUBQUERY:
        WalkNode(*ref.Cast<duckdb::SubqueryRef>().subquery->node,
                 ref.alias.empty() ? "unnamed_subquery" : ref.alias);
        break;
      case duckdb::TableReferenceType::EXPRESSION_LIST:
        for (auto& row : ref.Cast<duckdb::ExpressionListRef>().values)
          for (auto& e : row) WalkExpression(*e);
        break;
      case duckdb::TableReferenceType::PIVOT: {
        auto& pivot = ref.Cast<duckdb::PivotRef>();
        VisitRef(pivot.source);
        for (auto& e : pivot.aggregates) WalkExpression(*e);
        for (auto& col : pivot.pivots) {
          for (auto& e : col.pivot_expressions) WalkExpression(*e);
          if (col.subquery) WalkNode(*col.subquery);
          // An enum type from the catalog: there are none users may name.
          if (!col.pivot_enum.empty())
            Fail(Status::InvalidArgument("PIVOT ... IN over an enum type is not supported"));
        }
        break;
      }
      case duckdb::TableReferenceType::SHOW_REF: {
        auto& show = ref.Cast<duckdb::ShowRef>();
        if (!show.query && !show.table_name.empty()) {
          // DESCRIBE / SUMMARIZE name: a table of the warehouse, never a CTE (they take no
          // WITH). DuckDB answers DESCRIBE of a name from its catalog functions, which the
          // plan check refuses; of a query it answers from the query's types. So the name
          // becomes SELECT * FROM its view, which describes the same columns.
          const StandIn* stand_in =
              Resolve(show.schema_name, show.table_name, nullptr, show.catalog_name);
          if (!stand_in) break;
          auto select = duckdb::make_uniq<duckdb::SelectNode>();
          select->select_list.push_back(duckdb::make_uniq<duckdb::StarExpression>());
          select->from_table = StandInRef(*stand_in, show.table_name);
          show.query = std::move(select);
          show.catalog_name.clear();
          show.schema_name.clear();
          show.table_name.clear();
          // Its only table is the view: nothing further to rewrite.
          if (show.show_type == duckdb::ShowType::DESCRIBE) described_.push_back(show.query.get());
          break;
        }
        // DuckDB's parser gives DESCRIBE / SUMMARIZE of an ordinary name as a query already
        // (SELECT * FROM name); the branch above takes the names it keeps.
        if (show.query) {
          WalkNode(*show.query);
          if (show.show_type == duckdb::ShowType::DESCRIBE) described_.push_back(show.query.get());
        }
        break;
      }
      case duckdb::TableReferenceType::EMPTY_FROM:
        break;
      default:
        Fail(Status::InvalidArgument("unsupported table reference in query"));
        break;
    }
  }

  void RewriteBaseTable(duckdb::unique_ptr<TableRef>& slot) {
    auto& ref = slot->Cast<duckdb::BaseTableRef>();
    // DuckDB looks a name up among the CTEs only when it has no schema (or the "recurring"
    // pseudo-schema of USING KEY, which the guard does not allow) and no AT clause matters.
    if (ref.catalog_name.empty() && ref.schema_name.empty() && !ref.at_clause &&
        IsCte(ref.table_name)) {
      return;
    }
    auto hints = pushable_.find(&ref);
    const StandIn* stand_in =
        Resolve(ref.schema_name, ref.table_name, ref.at_clause.get(), ref.catalog_name,
                hints == pushable_.end() ? kNoConjuncts : hints->second);
    if (!stand_in) return;
    // Keep the name the query uses to qualify columns (orders.id, or the alias), and what the
    // reference says besides its name: column aliases, a sample.
    auto replacement = StandInRef(*stand_in, ref.alias.empty() ? ref.table_name : ref.alias);
    replacement->column_name_alias = std::move(ref.column_name_alias);
    replacement->sample = std::move(ref.sample);
    replacement->query_location = ref.query_location;
    slot = std::move(replacement);
  }

  // A stand-in, with its query parsed once however often the statement names the table.
  struct StandIn {
    std::string view;
    duckdb::unique_ptr<duckdb::SelectStatement> query;
  };

  static duckdb::unique_ptr<TableRef> StandInRef(const StandIn& s, const std::string& alias) {
    if (s.query) {
      auto copy =
          duckdb::unique_ptr_cast<duckdb::SQLStatement, duckdb::SelectStatement>(s.query->Copy());
      return duckdb::make_uniq<duckdb::SubqueryRef>(std::move(copy), alias);
    }
    auto base = duckdb::make_uniq<duckdb::BaseTableRef>();
    base->table_name = s.view;
    base->alias = alias;
    return base;
  }

  Result<StandIn> Parse(TableStandIn t) {
    StandIn out;
    out.view = std::move(t.view);
    if (!out.view.empty()) return out;
    duckdb::Parser parser;
    try {
      parser.ParseQuery(t.query);
    } catch (const std::exception& e) {
      duckdb::ErrorData error(e);
      return FromDuckError(error);
    }
    if (parser.statements.size() != 1 ||
        parser.statements[0]->type != duckdb::StatementType::SELECT_STATEMENT) {
      return Status::Internal("a table's stand-in is not one query");
    }
    out.query = duckdb::unique_ptr_cast<duckdb::SQLStatement, duckdb::SelectStatement>(
        std::move(parser.statements[0]));
    size_t put = 0;
    PutFileLists(*out.query->node, t.file_lists, put);
    if (put != t.file_lists.size()) return Status::Internal("a table's stand-in lost a file list");
    return out;
  }

  // Replaces the parameters $1, $2, ... of a stand-in by its lists of files, as list values.
  static void PutFileLists(QueryNode& node, const std::vector<std::vector<std::string>>& lists,
                           size_t& put) {
    std::function<void(duckdb::unique_ptr<duckdb::ParsedExpression>&)> expr;
    std::function<void(TableRef&)> ref;
    expr = [&](duckdb::unique_ptr<duckdb::ParsedExpression>& e) {
      if (e->GetExpressionClass() == duckdb::ExpressionClass::PARAMETER) {
        size_t n =
            std::strtoul(e->Cast<duckdb::ParameterExpression>().identifier.c_str(), nullptr, 10);
        if (n < 1 || n > lists.size()) return;  // not one of ours: counted as missing
        duckdb::vector<duckdb::Value> paths;
        for (const auto& p : lists[n - 1]) paths.emplace_back(p);
        e = duckdb::make_uniq<duckdb::ConstantExpression>(
            duckdb::Value::LIST(duckdb::LogicalType::VARCHAR, std::move(paths)));
        ++put;
        return;
      }
      duckdb::ParsedExpressionIterator::EnumerateChildren(*e, expr);
    };
    ref = [&](TableRef& r) {
      switch (r.type) {
        case duckdb::TableReferenceType::TABLE_FUNCTION:
          expr(r.Cast<duckdb::TableFunctionRef>().function);
          break;
        case duckdb::TableReferenceType::SUBQUERY:
          PutFileLists(*r.Cast<duckdb::SubqueryRef>().subquery->node, lists, put);
          break;
        case duckdb::TableReferenceType::JOIN:
          ref(*r.Cast<duckdb::JoinRef>().left);
          ref(*r.Cast<duckdb::JoinRef>().right);
          break;
        default:
          break;
      }
    };
    if (node.type == duckdb::QueryNodeType::SET_OPERATION_NODE) {
      auto& set = node.Cast<duckdb::SetOperationNode>();
      PutFileLists(*set.left, lists, put);
      PutFileLists(*set.right, lists, put);
    } else if (node.type == duckdb::QueryNodeType::SELECT_NODE) {
      auto& sel = node.Cast<duckdb::SelectNode>();
      if (sel.from_table) ref(*sel.from_table);
    }
  }

  const StandIn* Resolve(const std::string& schema, const std::string& table, duckdb::AtClause* at,
                         const std::string& catalog,
                         const PruneConjuncts& conjuncts = kNoConjuncts) {
    if (!catalog.empty()) {
      Fail(Status::InvalidArgument(
          fmt::format("'{}.{}.{}': name tables as table or super.table", catalog, schema, table)));
      return nullptr;
    }
    TableName name{schema, table, std::nullopt};
    if (at) {
      std::string unit = Lower(at->Unit());
      auto value = ConstantOf(*at->ExpressionMutable());
      if (!value || value->IsNull()) {
        Fail(Status::InvalidArgument(
            fmt::format("AT ({} => ...) on '{}' needs a constant", at->Unit(), table)));
        return nullptr;
      }
      AsOf as_of;
      if (unit == "version") {
        try {
          as_of.version = value->DefaultCastAs(duckdb::LogicalType::BIGINT).GetValue<int64_t>();
        } catch (...) {
          Fail(Status::InvalidArgument(
              fmt::format("AT (VERSION => {}): expected a version number", value->ToString())));
          return nullptr;
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
          return nullptr;
        }
        as_of.timestamp_micros = micros;
      } else {
        Fail(Status::InvalidArgument(
            fmt::format("AT ({} => ...): expected VERSION or TIMESTAMP", at->Unit())));
        return nullptr;
      }
      name.as_of = as_of;
    }
    std::string key = fmt::format(
        "{}\x1f{}\x1f{}\x1f{}", Lower(schema), Lower(table),
        name.as_of && name.as_of->version ? *name.as_of->version : -1,
        name.as_of && name.as_of->timestamp_micros ? *name.as_of->timestamp_micros : -1);
    // A reference with conjuncts gets a view of its own: another may read other files.
    if (conjuncts.empty()) {
      auto it = shared_.find(key);
      if (it != shared_.end()) return it->second;
    }
    auto made = view_for_(name, conjuncts);
    Result<StandIn> parsed = made.ok() ? Parse(std::move(made).value()) : made.status();
    if (!parsed.ok()) {
      Fail(parsed.status());
      return nullptr;
    }
    stand_ins_.push_back(std::make_unique<StandIn>(std::move(parsed).value()));
    if (conjuncts.empty()) shared_[key] = stand_ins_.back().get();
    return stand_ins_.back().get();
  }

  static inline const PruneConjuncts kNoConjuncts{};
  // The conjuncts of the SELECT whose FROM is being rewritten, by table reference.
  std::map<const duckdb::TableRef*, PruneConjuncts> pushable_;

  const ViewForTable& view_for_;
  const SqlLimits& limits_;
  struct Scope {
    std::set<std::string> ctes;  // lower case
    std::string binder_alias;
  };
  // The CTE names visible at the current point of the walk, innermost scope last.
  std::vector<Scope> scopes_;
  std::vector<std::unique_ptr<StandIn>> stand_ins_;
  std::map<std::string, const StandIn*>
      shared_;  // by table and time, for references without conjuncts
  std::vector<QueryNode*> described_;
  int depth_ = 0;
  int in_copies_ = 0;  // > 0 while walking cte_map copies, which DuckDB does not bind
  int64_t expressions_ = 0;
  Status status_;
};

}  // namespace

Result<GuardedStatement> GuardStatement(duckdb::Connection& con, const std::string& sql,
                                        const ViewForTable& view_for, const SqlLimits& limits) {
  ST_RETURN_IF_ERROR(CheckSqlText(sql, limits));
  duckdb::vector<duckdb::unique_ptr<duckdb::SQLStatement>> statements;
  try {
    statements = con.ExtractStatements(sql);
  } catch (const std::exception& e) {
    duckdb::ErrorData error(e);
    // DuckDB's transformer stops at its own depth (max_expression_depth, 1000) and suggests a
    // SET that users cannot run: say which of ours applies instead.
    if (error.RawMessage().find("Max expression depth limit") != std::string::npos) {
      return TooDeep("expressions", limits);
    }
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
  Guard guard(view_for, limits);
  ST_RETURN_IF_ERROR(guard.Run(*st->Cast<duckdb::SelectStatement>().node));
  GuardedStatement out;
  for (QueryNode* node : guard.described()) {
    auto select = duckdb::make_uniq<duckdb::SelectStatement>();
    select->node = node->Copy();
    out.described.push_back(std::move(select));
  }
  out.statement = std::move(statements[0]);
  return out;
}

}  // namespace supertable

namespace supertable {

Result<std::string> RowFilterSql(const std::string& filter, const std::string& user) {
  auto bad = [&](const std::string& why) {
    return Status::InvalidArgument(fmt::format("invalid row filter: {}", why));
  };
  if (filter.size() > 64 * 1024) return bad("longer than 64 KiB");
  duckdb::vector<duckdb::unique_ptr<ParsedExpression>> list;
  try {
    list = duckdb::Parser::ParseExpressionList(filter);
  } catch (const std::exception& e) {
    return bad(duckdb::ErrorData(e).RawMessage());
  }
  if (list.size() != 1) return bad("expected exactly one SQL predicate, such as region = 'EU'");
  Status status;
  int depth = 0;
  std::function<void(duckdb::unique_ptr<ParsedExpression>&)> walk =
      [&](duckdb::unique_ptr<ParsedExpression>& e) {
        if (!status.ok()) return;
        if (++depth > kDefaultMaxSqlDepth) {
          status = bad("nested too deeply");
          return;
        }
        if (e->GetExpressionClass() == duckdb::ExpressionClass::SUBQUERY) {
          status = bad("a subquery is not allowed (a filter sees only its own table's columns)");
          return;
        }
        if (e->GetExpressionClass() == duckdb::ExpressionClass::FUNCTION) {
          auto& f = e->Cast<duckdb::FunctionExpression>();
          std::string name = Lower(f.function_name);
          if (name == "current_user" && f.children.empty()) {
            e = duckdb::make_uniq<duckdb::ConstantExpression>(duckdb::Value(user));
            --depth;
            return;
          }
          if (kDeniedScalarFunctions.count(name)) {
            status = bad(fmt::format("function {}() is not allowed", name));
            return;
          }
        }
        if (e->GetExpressionClass() == duckdb::ExpressionClass::COLUMN_REF) {
          auto& c = e->Cast<duckdb::ColumnRefExpression>();
          // `current_user` without brackets parses as a column name.
          if (c.column_names.size() == 1 && Lower(c.column_names[0]) == "current_user") {
            e = duckdb::make_uniq<duckdb::ConstantExpression>(duckdb::Value(user));
            --depth;
            return;
          }
          if (c.column_names.size() != 1) {
            status =
                bad(fmt::format("'{}': name columns of the table only, unqualified", c.ToString()));
            return;
          }
        }
        duckdb::ParsedExpressionIterator::EnumerateChildren(*e, walk);
        --depth;
      };
  walk(list[0]);
  ST_RETURN_IF_ERROR(status);
  return list[0]->ToString();
}

}  // namespace supertable
