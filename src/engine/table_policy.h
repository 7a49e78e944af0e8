// What one caller may see of one table, as the query engine applies it: which rows, which
// columns, and which columns it sees masked. The security layer (src/security/policy.h) builds
// it from the caller's roles; the engine turns it into the view every query reads
// (query_sandbox.cc), so no SQL can get around it.
#pragma once

#include <strings.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace supertable {

// What a masked column shows instead of its value (docs/SECURITY.md, "Masks").
struct ColumnMask {
  enum class Kind { kNull, kHash, kPartial, kConstant } kind = Kind::kNull;
  std::string constant;  // kConstant only
};

// What one role shows of a table.
struct RoleView {
  std::string row_filter;  // SQL predicate over the table's columns; empty: every row
  std::optional<std::vector<std::string>> columns;  // nullopt: every column
  std::map<std::string, ColumnMask> masks;          // column name (any case) -> mask

  // Column names compare as SQL compares them, ignoring case.
  bool Shows(const std::string& column) const {
    if (!columns) return true;
    for (const auto& c : *columns) {
      if (strcasecmp(c.c_str(), column.c_str()) == 0) return true;
    }
    return false;
  }
  const ColumnMask* MaskOf(const std::string& column) const {
    for (const auto& [name, m] : masks) {
      if (strcasecmp(name.c_str(), column.c_str()) == 0) return &m;
    }
    return nullptr;
  }
};

// The union of a caller's roles on one table. A row is visible when any role's filter admits
// it; a column of a visible row shows its value when a role that admits the row shows it
// unmasked, else the mask of the first role that admits the row and shows it masked, else
// NULL (no role that admits the row shows that column). Columns no role shows do not exist.
struct TablePolicy {
  std::vector<RoleView> views;  // empty: every row and column as stored
  std::string user;             // what current_user() means in row filters
  std::string mask_salt;        // salts `hash` masks, so hashes cannot be looked up in a table
  bool restricted() const { return !views.empty(); }
  bool filtered() const {
    for (const auto& v : views) {
      if (v.row_filter.empty()) return false;
    }
    return !views.empty();
  }
  // How the caller sees `column`: not at all, always as stored, or masked or only for some rows.
  enum class Exposure { kHidden, kPlain, kPartly };
  Exposure ExposureOf(const std::string& column) const {
    if (views.empty()) return Exposure::kPlain;
    bool shown = false;
    for (const auto& v : views) {
      if (!v.Shows(column)) continue;
      shown = true;
      if (v.row_filter.empty() && !v.MaskOf(column)) return Exposure::kPlain;
    }
    return shown ? Exposure::kPartly : Exposure::kHidden;
  }
};

}  // namespace supertable
