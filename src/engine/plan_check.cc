// The bound-plan check behind the guard.
#include "engine/plan_check.h"

#include <duckdb/common/multi_file/multi_file_list.hpp>
#include <duckdb/common/multi_file/multi_file_states.hpp>
#include <duckdb/main/client_context_state.hpp>
#include <duckdb/optimizer/optimizer_extension.hpp>
#include <duckdb/planner/expression/bound_subquery_expression.hpp>
#include <duckdb/planner/expression_iterator.hpp>
#include <duckdb/planner/logical_operator_visitor.hpp>
#include <duckdb/planner/operator/logical_get.hpp>

#include <fmt/format.h>

namespace supertable {

namespace {

constexpr const char* kStateKey = "supertable_plan_check";

// Table functions that compute and read nothing.
const std::set<std::string> kGenerators = {"range", "generate_series", "unnest"};

using duckdb::LogicalOperatorType;

// The operators a read-only query over the views may plan to; writes, catalog changes,
// settings, pragmas, COPY and EXPORT are not among them.
bool IsQueryOperator(LogicalOperatorType t) {
  switch (t) {
    case LogicalOperatorType::LOGICAL_PROJECTION:
    case LogicalOperatorType::LOGICAL_FILTER:
    case LogicalOperatorType::LOGICAL_AGGREGATE_AND_GROUP_BY:
    case LogicalOperatorType::LOGICAL_WINDOW:
    case LogicalOperatorType::LOGICAL_UNNEST:
    case LogicalOperatorType::LOGICAL_LIMIT:
    case LogicalOperatorType::LOGICAL_ORDER_BY:
    case LogicalOperatorType::LOGICAL_TOP_N:
    case LogicalOperatorType::LOGICAL_DISTINCT:
    case LogicalOperatorType::LOGICAL_SAMPLE:
    case LogicalOperatorType::LOGICAL_PIVOT:
    case LogicalOperatorType::LOGICAL_GET:  // checked further below
    case LogicalOperatorType::LOGICAL_CHUNK_GET:
    case LogicalOperatorType::LOGICAL_DELIM_GET:
    case LogicalOperatorType::LOGICAL_EXPRESSION_GET:
    case LogicalOperatorType::LOGICAL_DUMMY_SCAN:
    case LogicalOperatorType::LOGICAL_EMPTY_RESULT:
    case LogicalOperatorType::LOGICAL_CTE_REF:
    case LogicalOperatorType::LOGICAL_JOIN:
    case LogicalOperatorType::LOGICAL_DELIM_JOIN:
    case LogicalOperatorType::LOGICAL_COMPARISON_JOIN:
    case LogicalOperatorType::LOGICAL_ANY_JOIN:
    case LogicalOperatorType::LOGICAL_CROSS_PRODUCT:
    case LogicalOperatorType::LOGICAL_POSITIONAL_JOIN:
    case LogicalOperatorType::LOGICAL_ASOF_JOIN:
    case LogicalOperatorType::LOGICAL_DEPENDENT_JOIN:
    case LogicalOperatorType::LOGICAL_UNION:
    case LogicalOperatorType::LOGICAL_EXCEPT:
    case LogicalOperatorType::LOGICAL_INTERSECT:
    case LogicalOperatorType::LOGICAL_RECURSIVE_CTE:
    case LogicalOperatorType::LOGICAL_MATERIALIZED_CTE:
    case LogicalOperatorType::LOGICAL_EXPLAIN:
      return true;
    default:
      return false;
  }
}

[[noreturn]] void Refuse(const std::string& what) {
  throw duckdb::PermissionException(
      "the query reaches %s, which is not one of the warehouse's tables; queries read only "
      "tables named as table or super.table",
      what);
}

}  // namespace

class PlanCheckState : public duckdb::ClientContextState {
 public:
  PlanCheckState(std::set<std::string> files, std::set<std::string> json_files)
      : allowed_files(std::move(files)), allowed_json_files(std::move(json_files)) {}
  const std::set<std::string> allowed_files;
  const std::set<std::string> allowed_json_files;
  int checks = 0;
};

namespace {

void CheckGet(duckdb::LogicalGet& get, const PlanCheckState& state) {
  const std::string& name = get.function.name;
  if (kGenerators.count(name)) return;
  // Each reader over its own set: Parquet over the tables' files, JSON over the system tables'
  // objects (none unless the query names one the caller may read).
  const bool json = name == "read_json";
  const std::set<std::string>& allowed = json ? state.allowed_json_files : state.allowed_files;
  if ((name != "read_parquet" && !json) || !get.bind_data || (json && allowed.empty())) {
    Refuse(fmt::format("table function {}()", name));
  }
  // Both bind to MultiFileBindData (core, not the extensions): the files they will read.
  auto& bind = get.bind_data->Cast<duckdb::MultiFileBindData>();
  if (!bind.file_list) Refuse(fmt::format("{}() without a file list", name));
  auto files = bind.file_list->GetAllFiles();
  if (files.empty()) Refuse(fmt::format("{}() over no file", name));
  for (const auto& f : files) {
    // The path is not named: it may be another organization's, or tell where the data lives.
    if (!allowed.count(f.path)) {
      Refuse(json ? "a JSON file outside the query's system tables"
                  : "a Parquet file outside the query's tables");
    }
  }
}

void CheckOperator(duckdb::LogicalOperator& op, const PlanCheckState& state, int depth) {
  // Plans of accepted statements are far shallower; the guard bounds nesting well below this.
  if (depth > 10000) Refuse("a plan nested too deeply");
  if (!IsQueryOperator(op.type)) Refuse(fmt::format("operator {}", op.GetName()));
  if (op.type == LogicalOperatorType::LOGICAL_GET) CheckGet(op.Cast<duckdb::LogicalGet>(), state);
  // The planner has turned every subquery into operators by now; one left as an expression
  // would hide a plan this walk cannot see.
  duckdb::LogicalOperatorVisitor::EnumerateExpressions(
      op, [&](duckdb::unique_ptr<duckdb::Expression>* e) {
        duckdb::ExpressionIterator::VisitExpressionClass(
            **e, duckdb::ExpressionClass::BOUND_SUBQUERY,
            [](const duckdb::Expression&) { Refuse("an unplanned subquery"); });
      });
  for (auto& child : op.children) CheckOperator(*child, state, depth + 1);
}

void CheckPlan(duckdb::OptimizerExtensionInput& input,
               duckdb::unique_ptr<duckdb::LogicalOperator>& plan) {
  auto state = input.context.registered_state->Get<PlanCheckState>(kStateKey);
  if (!state) return;  // not a user's statement
  CheckOperator(*plan, *state, 0);
  ++state->checks;
}

}  // namespace

void InstallPlanCheck(duckdb::DuckDB& db) {
  duckdb::OptimizerExtension ext;
  ext.pre_optimize_function = CheckPlan;
  duckdb::DBConfig::GetConfig(*db.instance).optimizer_extensions.push_back(std::move(ext));
}

PlanCheck::PlanCheck(duckdb::Connection& con, std::set<std::string> allowed_files,
                     std::set<std::string> allowed_json_files)
    : con_(con),
      state_(duckdb::make_shared_ptr<PlanCheckState>(std::move(allowed_files),
                                                     std::move(allowed_json_files))) {
  con_.context->registered_state->Insert(kStateKey, state_);
}

PlanCheck::~PlanCheck() { con_.context->registered_state->Remove(kStateKey); }

int PlanCheck::checks() const { return state_->checks; }

}  // namespace supertable
