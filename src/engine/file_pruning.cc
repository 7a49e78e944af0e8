// File pruning from catalog statistics (file_pruning.h).
#include "engine/file_pruning.h"

#include <duckdb/parser/expression/between_expression.hpp>
#include <duckdb/parser/expression/cast_expression.hpp>
#include <duckdb/parser/expression/columnref_expression.hpp>
#include <duckdb/parser/expression/comparison_expression.hpp>
#include <duckdb/parser/expression/conjunction_expression.hpp>
#include <duckdb/parser/expression/constant_expression.hpp>
#include <duckdb/parser/expression/function_expression.hpp>
#include <duckdb/parser/expression/operator_expression.hpp>
#include <duckdb/parser/expression/window_expression.hpp>
#include <duckdb/parser/parsed_expression_iterator.hpp>
#include <duckdb/parser/query_node/select_node.hpp>
#include <duckdb/parser/tableref/basetableref.hpp>
#include <duckdb/parser/tableref/joinref.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <iterator>
#include <map>
#include <optional>
#include <set>
#include <utility>

#include "common/text.h"
#include "engine/schema_evolution.h"

namespace supertable {
namespace {

using duckdb::ExpressionClass;
using duckdb::ExpressionType;
using duckdb::LogicalType;
using duckdb::LogicalTypeId;
using duckdb::ParsedExpression;
using duckdb::Value;

// ---------------------------------------------------------------------------------------------
// Which conjuncts constrain which table

void SplitAnd(const ParsedExpression& e, PruneConjuncts& out) {
  if (e.GetExpressionType() == ExpressionType::CONJUNCTION_AND) {
    for (const auto& c : e.Cast<duckdb::ConjunctionExpression>().children) SplitAnd(*c, out);
  } else {
    out.push_back(&e);
  }
}

struct Leaf {
  const duckdb::BaseTableRef* ref;
  std::string alias;  // lower case: what qualifies its columns
  bool blocked;       // its rows must all be read (a sample, renamed columns, a positional join)
};

class FromTree {
 public:
  explicit FromTree(const duckdb::TableRef& from) {
    single_ = from.type == duckdb::TableReferenceType::BASE_TABLE;
    preserved_ = Walk(from, false);
  }

  // The leaves whose rows reach the FROM clause's output unchanged, never replaced by NULLs: a
  // WHERE conjunct over one of them rejects the rows it rejects in that table.
  const std::vector<size_t>& preserved() const { return preserved_; }
  // Join conditions with the leaves each may prune.
  const std::vector<std::pair<const ParsedExpression*, std::vector<size_t>>>& on() const {
    return on_;
  }

  // The one leaf every column of `e` belongs to; when `e` names no column, every candidate.
  std::vector<size_t> Bind(const ParsedExpression& e, const std::vector<size_t>& candidates) const {
    std::optional<size_t> leaf;
    bool ok = true, any = false;
    std::function<void(const ParsedExpression&)> visit = [&](const ParsedExpression& x) {
      if (!ok) return;
      if (x.GetExpressionClass() == ExpressionClass::COLUMN_REF) {
        any = true;
        const auto& names = x.Cast<duckdb::ColumnRefExpression>().column_names;
        std::optional<size_t> at;
        if (names.size() == 1 && single_) {
          at = 0;
        } else if (names.size() == 2) {
          std::string q = AsciiLower(names[0]);
          for (size_t i = 0; i < leaves_.size(); ++i) {
            if (leaves_[i].alias != q) continue;
            if (at) {  // two tables with one alias: DuckDB refuses it; nothing to prune
              ok = false;
              return;
            }
            at = i;
          }
        }
        if (!at || (leaf && *leaf != *at)) {
          ok = false;
          return;
        }
        leaf = at;
        return;
      }
      duckdb::ParsedExpressionIterator::EnumerateChildren(x, visit);
    };
    visit(e);
    std::vector<size_t> out;
    if (!ok) return out;
    for (size_t c : candidates) {
      if (leaves_[c].blocked) continue;
      if (!any || c == *leaf) out.push_back(c);
    }
    return out;
  }

  const Leaf& leaf(size_t i) const { return leaves_[i]; }

 private:
  // Returns the leaves under `ref` preserved in its output. `blocked`: below a join whose answer
  // depends on every row (positional, as-of, lateral).
  std::vector<size_t> Walk(const duckdb::TableRef& ref, bool blocked) {
    if (ref.type == duckdb::TableReferenceType::BASE_TABLE) {
      const auto& base = ref.Cast<duckdb::BaseTableRef>();
      leaves_.push_back({&base, AsciiLower(base.alias.empty() ? base.table_name : base.alias),
                         blocked || ref.sample || !ref.column_name_alias.empty()});
      return {leaves_.size() - 1};
    }
    if (ref.type != duckdb::TableReferenceType::JOIN) return {};  // subqueries prune themselves
    const auto& join = ref.Cast<duckdb::JoinRef>();
    bool opaque = join.ref_type == duckdb::JoinRefType::POSITIONAL ||
                  join.ref_type == duckdb::JoinRefType::ASOF ||
                  join.ref_type == duckdb::JoinRefType::DEPENDENT;
    // A sample over a join samples its rows: every row of every table below counts.
    opaque = opaque || ref.sample != nullptr;
    auto left = Walk(*join.left, blocked || opaque);
    auto right = Walk(*join.right, blocked || opaque);
    if (opaque) return {};
    std::vector<size_t> both = left;
    both.insert(both.end(), right.begin(), right.end());
    std::vector<size_t> on_targets, out;
    switch (join.type) {
      case duckdb::JoinType::INNER:
        on_targets = both;
        out = both;
        break;
      case duckdb::JoinType::LEFT:
        on_targets = right;  // a right row the condition rejects never joins
        out = left;
        break;
      case duckdb::JoinType::RIGHT:
        on_targets = left;
        out = right;
        break;
      case duckdb::JoinType::SEMI:
      case duckdb::JoinType::ANTI:
        on_targets = right;  // only right rows that pass the condition can match
        out = left;
        break;
      default:  // FULL OUTER and the rest: every row may come out, with NULLs or without
        break;
    }
    if (join.condition && join.ref_type == duckdb::JoinRefType::REGULAR) {
      PruneConjuncts parts;
      SplitAnd(*join.condition, parts);
      for (const ParsedExpression* p : parts) on_.emplace_back(p, on_targets);
    }
    return out;
  }

  std::vector<Leaf> leaves_;
  bool single_ = false;
  std::vector<size_t> preserved_;
  std::vector<std::pair<const ParsedExpression*, std::vector<size_t>>> on_;
};

// ---------------------------------------------------------------------------------------------
// Evaluating conjuncts against a file's statistics

struct Constant {
  std::string sql;      // the expression, as DuckDB prints it
  LogicalType target;   // the type the comparison happens in
  bool string_literal;  // a quoted literal: DuckDB casts it to the other side's type
};

struct Node {
  enum Kind { kMay, kNever, kAnd, kOr, kCompare, kIsNull, kNotNull, kPrefix } kind = kMay;
  std::vector<Node> children;
  std::string column;  // the snapshot's column name
  LogicalType as;      // kCompare: the type compared in (the column's, or its cast's)
  ExpressionType op = ExpressionType::INVALID;
  size_t constant = 0;  // kCompare: index into the constants
  std::string lo, hi;   // kPrefix: [lo, hi) in byte order; hi empty: no upper bound
};

// The comparison true exactly when `op` is false (for non-NULL operands), and `op` with its
// operands swapped. DuckDB's own helpers throw on IS [NOT] DISTINCT FROM.
ExpressionType Negated(ExpressionType op) {
  switch (op) {
    case ExpressionType::COMPARE_EQUAL:
      return ExpressionType::COMPARE_NOTEQUAL;
    case ExpressionType::COMPARE_NOTEQUAL:
      return ExpressionType::COMPARE_EQUAL;
    case ExpressionType::COMPARE_LESSTHAN:
      return ExpressionType::COMPARE_GREATERTHANOREQUALTO;
    case ExpressionType::COMPARE_GREATERTHANOREQUALTO:
      return ExpressionType::COMPARE_LESSTHAN;
    case ExpressionType::COMPARE_GREATERTHAN:
      return ExpressionType::COMPARE_LESSTHANOREQUALTO;
    case ExpressionType::COMPARE_LESSTHANOREQUALTO:
      return ExpressionType::COMPARE_GREATERTHAN;
    case ExpressionType::COMPARE_DISTINCT_FROM:
      return ExpressionType::COMPARE_NOT_DISTINCT_FROM;
    case ExpressionType::COMPARE_NOT_DISTINCT_FROM:
      return ExpressionType::COMPARE_DISTINCT_FROM;
    default:
      return ExpressionType::INVALID;
  }
}
ExpressionType Flipped(ExpressionType op) {
  switch (op) {
    case ExpressionType::COMPARE_LESSTHAN:
      return ExpressionType::COMPARE_GREATERTHAN;
    case ExpressionType::COMPARE_GREATERTHAN:
      return ExpressionType::COMPARE_LESSTHAN;
    case ExpressionType::COMPARE_LESSTHANOREQUALTO:
      return ExpressionType::COMPARE_GREATERTHANOREQUALTO;
    case ExpressionType::COMPARE_GREATERTHANOREQUALTO:
      return ExpressionType::COMPARE_LESSTHANOREQUALTO;
    default:
      return op;  // =, <>, IS [NOT] DISTINCT FROM are symmetric
  }
}

Node May() { return Node{}; }
Node Never() {
  Node n;
  n.kind = Node::kNever;
  return n;
}

bool IsStringType(const LogicalType& t) { return t.id() == LogicalTypeId::VARCHAR; }
bool IsTemporalType(const LogicalType& t) {
  switch (t.id()) {
    case LogicalTypeId::DATE:
    case LogicalTypeId::TIMESTAMP:
    case LogicalTypeId::TIMESTAMP_SEC:
    case LogicalTypeId::TIMESTAMP_MS:
    case LogicalTypeId::TIMESTAMP_NS:
    case LogicalTypeId::TIMESTAMP_TZ:
      return true;
    default:
      return false;
  }
}
bool IsOrderedNumeric(const LogicalType& t) { return t.IsNumeric(); }  // integers, decimals, floats

// The types whose statistics the engine records and whose order DuckDB's comparison and the
// statistics' order agree on (strings by bytes, numbers by value with NaN largest, time by time).
bool Prunable(const LogicalType& t) {
  return t.id() == LogicalTypeId::BOOLEAN || IsStringType(t) || IsTemporalType(t) ||
         IsOrderedNumeric(t);
}

// Both sides of a comparison compare as `as` after DuckDB's own implicit casts: numbers with
// numbers, times with times, strings with strings, booleans with booleans.
bool SameFamily(const LogicalType& a, const LogicalType& b) {
  if (IsOrderedNumeric(a)) return IsOrderedNumeric(b);
  if (IsTemporalType(a)) return IsTemporalType(b);
  return a.id() == b.id();
}

// Casts that never reorder values and never fail: lossless widening, date <-> timestamp.
bool OrderPreservingCast(const LogicalType& from, const LogicalType& to) {
  if (from == to) return true;
  if (IsLosslessWidening(from.ToString(), to.ToString())) return true;
  auto plain_ts = [](const LogicalType& t) {
    return t.id() == LogicalTypeId::TIMESTAMP || t.id() == LogicalTypeId::TIMESTAMP_SEC ||
           t.id() == LogicalTypeId::TIMESTAMP_MS || t.id() == LogicalTypeId::TIMESTAMP_NS;
  };
  if (from.id() == LogicalTypeId::DATE && plain_ts(to)) return true;
  if (plain_ts(from) && (to.id() == LogicalTypeId::DATE || plain_ts(to))) return true;
  return false;
}

// Deterministic functions a constant may be built with (arithmetic, intervals).
bool ConstantFunction(const std::string& name) {
  static const std::set<std::string> kAllowed = {
      "+",
      "-",
      "*",
      "/",
      "//",
      "%",
      "to_years",
      "to_months",
      "to_weeks",
      "to_days",
      "to_hours",
      "to_minutes",
      "to_seconds",
      "to_milliseconds",
      "to_microseconds",
      "make_date",
      "make_timestamp",
      "trunc"};  // INTERVAL 1 DAY parses as to_days(CAST(trunc(CAST(1 AS DOUBLE)) AS INTEGER))
  return kAllowed.count(AsciiLower(name)) > 0;
}

bool IsConstant(const ParsedExpression& e, int depth = 0) {
  if (depth > 8) return false;
  switch (e.GetExpressionClass()) {
    case ExpressionClass::CONSTANT:
      return true;
    case ExpressionClass::CAST: {
      const auto& c = e.Cast<duckdb::CastExpression>();
      return !c.cast_type.IsNested() && IsConstant(*c.child, depth + 1);
    }
    case ExpressionClass::FUNCTION: {
      const auto& f = e.Cast<duckdb::FunctionExpression>();
      if (!ConstantFunction(f.function_name) || f.distinct || f.filter ||
          (f.order_bys && !f.order_bys->orders.empty()) || !f.schema.empty() ||
          !f.catalog.empty()) {
        return false;
      }
      for (const auto& c : f.children) {
        if (!IsConstant(*c, depth + 1)) return false;
      }
      return true;
    }
    default:
      return false;
  }
}

class Compiler {
 public:
  Compiler(const Snapshot& snap, const std::set<std::string>& columns)
      : snap_(snap), columns_(columns) {}

  Node Compile(const ParsedExpression& e, bool negate) {
    if (++nodes_ > 10000) return May();
    switch (e.GetExpressionType()) {
      case ExpressionType::CONJUNCTION_AND:
      case ExpressionType::CONJUNCTION_OR: {
        bool is_and = (e.GetExpressionType() == ExpressionType::CONJUNCTION_AND) != negate;
        Node n;
        n.kind = is_and ? Node::kAnd : Node::kOr;
        for (const auto& c : e.Cast<duckdb::ConjunctionExpression>().children)
          n.children.push_back(Compile(*c, negate));
        return n;
      }
      case ExpressionType::OPERATOR_NOT: {
        const auto& op = e.Cast<duckdb::OperatorExpression>();
        if (op.children.size() != 1) return May();
        return Compile(*op.children[0], !negate);
      }
      case ExpressionType::OPERATOR_IS_NULL:
      case ExpressionType::OPERATOR_IS_NOT_NULL: {
        const auto& op = e.Cast<duckdb::OperatorExpression>();
        if (op.children.size() != 1) return May();
        auto col = ColumnOf(*op.children[0]);
        if (!col) return May();
        bool is_null = (e.GetExpressionType() == ExpressionType::OPERATOR_IS_NULL) != negate;
        Node n;
        n.kind = is_null ? Node::kIsNull : Node::kNotNull;
        n.column = col->first;
        return n;
      }
      case ExpressionType::COMPARE_EQUAL:
      case ExpressionType::COMPARE_NOTEQUAL:
      case ExpressionType::COMPARE_LESSTHAN:
      case ExpressionType::COMPARE_GREATERTHAN:
      case ExpressionType::COMPARE_LESSTHANOREQUALTO:
      case ExpressionType::COMPARE_GREATERTHANOREQUALTO:
      case ExpressionType::COMPARE_DISTINCT_FROM:
      case ExpressionType::COMPARE_NOT_DISTINCT_FROM: {
        const auto& c = e.Cast<duckdb::ComparisonExpression>();
        return Comparison(*c.left, e.GetExpressionType(), *c.right, negate);
      }
      case ExpressionType::COMPARE_BETWEEN: {
        const auto& b = e.Cast<duckdb::BetweenExpression>();
        Node n;
        n.kind = negate ? Node::kOr : Node::kAnd;
        // NOT (x BETWEEN l AND u) is x < l OR x > u: the negations of the two halves.
        n.children.push_back(
            Comparison(*b.input, ExpressionType::COMPARE_GREATERTHANOREQUALTO, *b.lower, negate));
        n.children.push_back(
            Comparison(*b.input, ExpressionType::COMPARE_LESSTHANOREQUALTO, *b.upper, negate));
        return n;
      }
      case ExpressionType::COMPARE_IN:
      case ExpressionType::COMPARE_NOT_IN: {
        const auto& op = e.Cast<duckdb::OperatorExpression>();
        if (op.children.size() < 2) return May();
        bool in = (e.GetExpressionType() == ExpressionType::COMPARE_IN) != negate;
        // x IN (a, b) is x = a OR x = b; x NOT IN (a, b) is x <> a AND x <> b, which a NULL in
        // the list makes never true, as SQL has it.
        Node n;
        n.kind = in ? Node::kOr : Node::kAnd;
        for (size_t i = 1; i < op.children.size(); ++i) {
          n.children.push_back(
              Comparison(*op.children[0], ExpressionType::COMPARE_EQUAL, *op.children[i], !in));
        }
        return n;
      }
      case ExpressionType::FUNCTION:
        return Function(e.Cast<duckdb::FunctionExpression>(), negate);
      case ExpressionType::VALUE_CONSTANT:
        return Truth(e.Cast<duckdb::ConstantExpression>().value, negate);
      case ExpressionType::OPERATOR_CAST: {
        // TRUE and FALSE parse as CAST('t' AS BOOLEAN) and CAST('f' AS BOOLEAN).
        const auto& c = e.Cast<duckdb::CastExpression>();
        if (c.cast_type.id() != LogicalTypeId::BOOLEAN ||
            c.child->GetExpressionClass() != ExpressionClass::CONSTANT) {
          return May();
        }
        try {
          return Truth(
              c.child->Cast<duckdb::ConstantExpression>().value.DefaultCastAs(LogicalType::BOOLEAN),
              negate);
        } catch (...) {
          return May();
        }
      }
      default:
        return May();
    }
  }

  const std::vector<Constant>& constants() const { return constants_; }

 private:
  static Node Truth(const Value& v, bool negate) {
    if (v.IsNull()) return Never();  // NULL and NOT NULL alike are never true
    if (v.type().id() != LogicalTypeId::BOOLEAN) return May();
    return v.GetValue<bool>() != negate ? May() : Never();
  }

  // A column of the table, possibly under an order-preserving cast: its name, and the type
  // values compare in.
  std::optional<std::pair<std::string, LogicalType>> ColumnOf(const ParsedExpression& e) {
    if (e.GetExpressionClass() == ExpressionClass::CAST) {
      const auto& c = e.Cast<duckdb::CastExpression>();
      auto inner = ColumnOf(*c.child);
      if (!inner || !OrderPreservingCast(inner->second, c.cast_type)) return std::nullopt;
      return std::make_pair(inner->first, c.cast_type);
    }
    if (e.GetExpressionClass() != ExpressionClass::COLUMN_REF) return std::nullopt;
    const auto& names = e.Cast<duckdb::ColumnRefExpression>().column_names;
    const Column* col = snap_.FindColumn(names.back());
    if (!col || !columns_.count(AsciiLower(col->name))) return std::nullopt;
    LogicalType type;
    try {
      type = duckdb::TransformStringToLogicalType(col->type);
    } catch (...) {
      return std::nullopt;
    }
    if (!Prunable(type)) return std::nullopt;
    return std::make_pair(col->name, type);
  }

  Node Comparison(const ParsedExpression& left, ExpressionType op, const ParsedExpression& right,
                  bool negate) {
    auto col = ColumnOf(left);
    const ParsedExpression* other = &right;
    if (!col) {
      col = ColumnOf(right);
      other = &left;
      op = Flipped(op);
    }
    if (!col || !IsConstant(*other) || constants_.size() >= kMaxConstants) return May();
    if (negate) op = Negated(op);
    if (op == ExpressionType::INVALID) return May();
    Node n;
    n.kind = Node::kCompare;
    n.column = col->first;
    n.as = col->second;
    n.op = op;
    n.constant = constants_.size();
    bool literal =
        other->GetExpressionClass() == ExpressionClass::CONSTANT &&
        other->Cast<duckdb::ConstantExpression>().value.type().id() == LogicalTypeId::VARCHAR;
    constants_.push_back({other->ToString(), col->second, literal});
    return n;
  }

  Node Function(const duckdb::FunctionExpression& f, bool negate) {
    std::string name = AsciiLower(f.function_name);
    bool like = name == "~~" || name == "like";
    bool starts = name == "prefix" || name == "starts_with";
    if (negate || (!like && !starts) || f.children.size() != 2 || !f.schema.empty()) return May();
    auto col = ColumnOf(*f.children[0]);
    if (!col || !IsStringType(col->second) ||
        f.children[0]->GetExpressionClass() != ExpressionClass::COLUMN_REF ||
        f.children[1]->GetExpressionClass() != ExpressionClass::CONSTANT) {
      return May();
    }
    const Value& pattern = f.children[1]->Cast<duckdb::ConstantExpression>().value;
    if (pattern.IsNull()) return Never();
    if (pattern.type().id() != LogicalTypeId::VARCHAR) return May();
    std::string p = pattern.GetValue<std::string>();
    if (like) p = p.substr(0, p.find_first_of("%_"));  // LIKE has no escape character here
    if (p.empty()) return May();
    Node n;
    n.kind = Node::kPrefix;
    n.column = col->first;
    n.lo = p;
    // The smallest string above every string with this prefix: the prefix with its last byte
    // below 0xFF incremented (and what follows it dropped).
    std::string hi = p;
    while (!hi.empty() && static_cast<unsigned char>(hi.back()) == 0xFF) hi.pop_back();
    if (!hi.empty()) hi.back() = static_cast<char>(static_cast<unsigned char>(hi.back()) + 1);
    n.hi = hi;
    return n;
  }

  static constexpr size_t kMaxConstants = 2000;
  const Snapshot& snap_;
  const std::set<std::string>& columns_;
  std::vector<Constant> constants_;
  int nodes_ = 0;
};

// A folded constant: its value in the comparison type, or why it cannot be used.
struct Folded {
  bool usable = false;  // converts exactly into the comparison type
  bool null = false;    // the constant is NULL: no comparison with it is true
  Value value;
};

std::vector<Folded> Fold(duckdb::Connection& con, const std::vector<Constant>& constants) {
  std::vector<Folded> out(constants.size());
  if (constants.empty()) return out;
  std::string select;
  for (const auto& c : constants) {
    std::string t = c.target.ToString();
    select += fmt::format("{}TRY_CAST(({}) AS {}), (({}) = TRY_CAST(({}) AS {})) IS TRUE, ({})",
                          select.empty() ? "" : ", ", c.sql, t, c.sql, c.sql, t, c.sql);
  }
  auto r = con.Query("SELECT " + select);
  if (r->HasError() || r->RowCount() != 1) return out;  // keep every file
  for (size_t i = 0; i < constants.size(); ++i) {
    Value cast = r->GetValue(3 * i, 0), exact = r->GetValue(3 * i + 1, 0),
          original = r->GetValue(3 * i + 2, 0);
    if (original.IsNull()) {
      out[i].null = true;
      continue;
    }
    if (cast.IsNull()) continue;  // out of the type's range, or not of it: read the files
    if (!constants[i].string_literal &&
        (!exact.GetValue<bool>() || !SameFamily(original.type(), constants[i].target))) {
      continue;
    }
    out[i].usable = true;
    out[i].value = cast;
  }
  return out;
}

// What a file's statistics say about one column, in the type a predicate compares in.
struct Bounds {
  bool known = false;  // false: nothing can be said; the file may hold anything
  bool has_null = false, has_value = false;
  bool has_range = false;
  Value lo, hi;
};

// Column types by their text, parsed once per call of FilesThatMayMatch: DuckDB parses a type
// name with its SQL parser, and every file asks for the same few.
class TypeCache {
 public:
  const LogicalType& Of(const std::string& text) {
    auto it = types_.find(text);
    if (it == types_.end()) {
      it = types_.emplace(text, duckdb::TransformStringToLogicalType(text)).first;
    }
    return it->second;
  }

 private:
  std::map<std::string, LogicalType> types_;
};

class FileView {
 public:
  FileView(const Snapshot& snap, const DataFile& f, TypeCache& types)
      : snap_(snap), f_(f), types_(types) {}

  // One file's bounds of `column` in type `as` (nullptr: NULL counts only), remembered: an IN
  // list asks again for every value.
  const Bounds& Of(const std::string& column, const LogicalType* as) {
    auto key = std::make_pair(column, as ? as->ToString() : std::string());
    auto it = memo_.find(key);
    if (it == memo_.end()) it = memo_.emplace(std::move(key), Compute(column, as)).first;
    return it->second;
  }

 private:
  Bounds Compute(const std::string& column, const LogicalType* as) {
    Bounds b;
    auto schema = snap_.file_schemas.find(f_.schema_id);
    if (schema == snap_.file_schemas.end()) return b;
    const Column* current = snap_.FindColumn(column);
    const Column* in_file = FindColumn(schema->second, column);
    b.known = true;
    if (!in_file) {  // the file predates the column: it reads as NULL in every row
      b.has_null = f_.rows > 0;
      return b;
    }
    auto st = f_.stats.find(in_file->name);
    if (st == f_.stats.end() || !current) {
      b.known = false;
      return b;
    }
    b.has_null = st->second.null_count > 0;
    b.has_value = st->second.null_count < f_.rows;
    if (!as || !st->second.min || !st->second.max) return b;
    try {
      // Parsed in the file's own type (a FLOAT's text is not the DOUBLE it widens to), then
      // widened to the table's type and the predicate's, as the scan and the query do.
      const LogicalType& file_type = types_.Of(in_file->type);
      const LogicalType& table_type = types_.Of(current->type);
      auto convert = [&](const std::string& text) {
        Value v = Value(text).DefaultCastAs(file_type);
        if (file_type != table_type) v = v.DefaultCastAs(table_type);
        if (*as != table_type) v = v.DefaultCastAs(*as);
        return v;
      };
      b.lo = convert(*st->second.min);
      b.hi = convert(*st->second.max);
      b.has_range = !b.lo.IsNull() && !b.hi.IsNull();
    } catch (...) {
      b.has_range = false;  // statistics this build cannot read: the file may hold anything
    }
    return b;
  }

  const Snapshot& snap_;
  const DataFile& f_;
  TypeCache& types_;
  std::map<std::pair<std::string, std::string>, Bounds> memo_;
};

bool MayMatch(const Node& n, FileView& file, const std::vector<Folded>& constants) {
  switch (n.kind) {
    case Node::kMay:
      return true;
    case Node::kNever:
      return false;
    case Node::kAnd:
      for (const auto& c : n.children) {
        if (!MayMatch(c, file, constants)) return false;
      }
      return true;
    case Node::kOr:
      for (const auto& c : n.children) {
        if (MayMatch(c, file, constants)) return true;
      }
      return false;
    case Node::kIsNull: {
      const Bounds& b = file.Of(n.column, nullptr);
      return !b.known || b.has_null;
    }
    case Node::kNotNull: {
      const Bounds& b = file.Of(n.column, nullptr);
      return !b.known || b.has_value;
    }
    case Node::kPrefix: {
      static const LogicalType kVarchar = LogicalType::VARCHAR;
      const Bounds& b = file.Of(n.column, &kVarchar);
      if (!b.known) return true;
      if (!b.has_value) return false;
      if (!b.has_range) return true;
      Value lo(n.lo);
      if (b.hi < lo) return false;
      return n.hi.empty() || b.lo < Value(n.hi);
    }
    case Node::kCompare: {
      const Folded& c = constants[n.constant];
      if (!c.usable && !c.null) return true;
      const Bounds& b = file.Of(n.column, &n.as);
      if (!b.known) return true;
      if (c.null) {
        if (n.op == ExpressionType::COMPARE_DISTINCT_FROM) return b.has_value;
        if (n.op == ExpressionType::COMPARE_NOT_DISTINCT_FROM) return b.has_null;
        return false;  // a comparison with NULL is never true
      }
      if (n.op == ExpressionType::COMPARE_DISTINCT_FROM) {
        if (b.has_null) return true;
      }
      if (!b.has_value) return false;
      if (!b.has_range) return true;
      const Value& v = c.value;
      try {
        switch (n.op) {
          case ExpressionType::COMPARE_EQUAL:
          case ExpressionType::COMPARE_NOT_DISTINCT_FROM:
            return b.lo <= v && v <= b.hi;
          case ExpressionType::COMPARE_NOTEQUAL:
          case ExpressionType::COMPARE_DISTINCT_FROM:
            return !(b.lo == b.hi && b.lo == v);
          case ExpressionType::COMPARE_LESSTHAN:
            return b.lo < v;
          case ExpressionType::COMPARE_LESSTHANOREQUALTO:
            return b.lo <= v;
          case ExpressionType::COMPARE_GREATERTHAN:
            return b.hi > v;
          case ExpressionType::COMPARE_GREATERTHANOREQUALTO:
            return b.hi >= v;
          default:
            return true;
        }
      } catch (...) {
        return true;
      }
    }
  }
  return true;
}

// A column reference's name as written, lower case ("o.customer", "customer").
std::string ColumnText(const duckdb::ColumnRefExpression& c) {
  std::string out;
  for (const auto& n : c.column_names) out += (out.empty() ? "" : ".") + AsciiLower(n);
  return out;
}

// The columns (as written) that every window function of the SELECT partitions by; empty when
// it has none, or one window partitions by none of them.
std::set<std::string> CommonPartitionKeys(const duckdb::SelectNode& select) {
  std::optional<std::set<std::string>> common;
  auto visit = [&](const ParsedExpression& e) {
    duckdb::ParsedExpressionIterator::VisitExpressionClass(
        e, ExpressionClass::WINDOW, [&](const ParsedExpression& w) {
          std::set<std::string> keys;
          for (const auto& p : w.Cast<duckdb::WindowExpression>().partitions) {
            if (p->GetExpressionClass() == ExpressionClass::COLUMN_REF)
              keys.insert(ColumnText(p->Cast<duckdb::ColumnRefExpression>()));
          }
          if (!common) {
            common = std::move(keys);
            return;
          }
          std::set<std::string> both;
          std::set_intersection(common->begin(), common->end(), keys.begin(), keys.end(),
                                std::inserter(both, both.end()));
          common = std::move(both);
        });
  };
  for (const auto& e : select.select_list) visit(*e);
  visit(*select.qualify);
  for (const auto& m : select.modifiers) {
    if (m->type != duckdb::ResultModifierType::ORDER_MODIFIER) continue;
    for (const auto& o : m->Cast<duckdb::OrderModifier>().orders) visit(*o.expression);
  }
  return common.value_or(std::set<std::string>());
}

// A QUALIFY conjunct that prunes like one of WHERE: it names only columns that every window
// partitions by, so it is true or false for a whole partition at once, and leaving out rows it
// rejects changes no window's answer over the rows it keeps. Not when a result column has the
// name of one of those columns (QUALIFY may mean the result column), nor over groups.
bool PrunesLikeWhere(const ParsedExpression& conjunct, const duckdb::SelectNode& select,
                     const std::set<std::string>& keys) {
  bool ok = true, any = false;
  duckdb::ParsedExpressionIterator::VisitExpressionClass(
      conjunct, ExpressionClass::COLUMN_REF, [&](const ParsedExpression& c) {
        any = true;
        const auto& ref = c.Cast<duckdb::ColumnRefExpression>();
        if (!keys.count(ColumnText(ref))) ok = false;
        for (const auto& e : select.select_list) {
          if (!e->alias.empty() && AsciiLower(e->alias) == AsciiLower(ref.GetColumnName()))
            ok = false;
        }
      });
  duckdb::ParsedExpressionIterator::VisitExpressionClass(
      conjunct, ExpressionClass::WINDOW, [&](const ParsedExpression&) { ok = false; });
  duckdb::ParsedExpressionIterator::VisitExpressionClass(
      conjunct, ExpressionClass::SUBQUERY, [&](const ParsedExpression&) { ok = false; });
  return ok && any;
}

}  // namespace

std::map<const duckdb::TableRef*, PruneConjuncts> PushableConjuncts(
    const duckdb::SelectNode& select) {
  std::map<const duckdb::TableRef*, PruneConjuncts> out;
  if (!select.from_table || select.sample) return out;
  FromTree tree(*select.from_table);
  auto assign = [&](const ParsedExpression* e, const std::vector<size_t>& candidates) {
    for (size_t leaf : tree.Bind(*e, candidates)) out[tree.leaf(leaf).ref].push_back(e);
  };
  if (select.where_clause) {
    PruneConjuncts parts;
    SplitAnd(*select.where_clause, parts);
    for (const ParsedExpression* p : parts) assign(p, tree.preserved());
  }
  for (const auto& [e, targets] : tree.on()) assign(e, targets);
  if (select.qualify && select.groups.group_expressions.empty() && !select.having) {
    std::set<std::string> keys = CommonPartitionKeys(select);
    if (!keys.empty()) {
      PruneConjuncts parts;
      SplitAnd(*select.qualify, parts);
      for (const ParsedExpression* p : parts) {
        if (PrunesLikeWhere(*p, select, keys)) assign(p, tree.preserved());
      }
    }
  }
  return out;
}

std::vector<bool> FilesThatMayMatch(duckdb::Connection& con, const Snapshot& snapshot,
                                    const std::set<std::string>& columns,
                                    const PruneConjuncts& conjuncts) {
  std::vector<bool> keep(snapshot.files.size(), true);
  Compiler compiler(snapshot, columns);
  Node all;
  all.kind = Node::kAnd;
  for (const ParsedExpression* c : conjuncts) all.children.push_back(compiler.Compile(*c, false));
  std::vector<Folded> folded;
  try {
    folded = Fold(con, compiler.constants());
  } catch (...) {
    return keep;
  }
  TypeCache types;
  for (size_t i = 0; i < snapshot.files.size(); ++i) {
    FileView file(snapshot, snapshot.files[i], types);
    keep[i] = MayMatch(all, file, folded);
  }
  return keep;
}

}  // namespace supertable
