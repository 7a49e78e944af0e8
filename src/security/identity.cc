// Users, roles and tokens: JSON forms and validation.
#include "security/identity.h"

#include <strings.h>

#include <algorithm>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/names.h"

namespace supertable::security {

using nlohmann::json;

namespace {

bool SameName(const std::string& a, const std::string& b) {
  return strcasecmp(a.c_str(), b.c_str()) == 0;
}

// Finds the per-table entry for super_name.table in a map keyed by "super.table".
template <typename Map>
const typename Map::mapped_type* FindTableKey(const Map& m, const std::string& super_name,
                                              const std::string& table) {
  std::string full = super_name + "." + table;
  for (const auto& [k, v] : m) {
    if (SameName(k, full)) return &v;
  }
  return nullptr;
}

// Splits "super.table" into its two names, each checked.
Status CheckTableKey(const std::string& key, bool allow_patterns) {
  if (allow_patterns && key == "*") return Status::Ok();
  size_t dot = key.find('.');
  if (dot == std::string::npos || key.find('.', dot + 1) != std::string::npos) {
    return Status::InvalidArgument(fmt::format("invalid table '{}': expected super.table{}", key,
                                               allow_patterns ? ", super.* or *" : ""));
  }
  ST_RETURN_IF_ERROR(ValidateName(key.substr(0, dot), "super table"));
  std::string table = key.substr(dot + 1);
  if (allow_patterns && table == "*") return Status::Ok();
  return ValidateName(table, "table");
}

template <typename T>
Result<T> Parse(const std::string& text, const char* what, T (*from)(const json&)) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return Status::Internal(fmt::format("stored {} record is not a JSON object", what));
  }
  try {
    return from(j);
  } catch (const json::exception& e) {
    return Status::Internal(fmt::format("stored {} record is malformed: {}", what, e.what()));
  }
}

}  // namespace

Result<RoleType> ParseRoleType(const std::string& text) {
  static const std::pair<const char*, RoleType> kTypes[] = {{"superadmin", RoleType::kSuperadmin},
                                                            {"admin", RoleType::kAdmin},
                                                            {"writer", RoleType::kWriter},
                                                            {"reader", RoleType::kReader},
                                                            {"meta", RoleType::kMeta}};
  for (const auto& [name, t] : kTypes) {
    if (SameName(text, name)) return t;
  }
  return Status::InvalidArgument(fmt::format(
      "unknown role type '{}': expected superadmin, admin, writer, reader or meta", text));
}

std::string RoleTypeName(RoleType t) {
  switch (t) {
    case RoleType::kSuperadmin:
      return "superadmin";
    case RoleType::kAdmin:
      return "admin";
    case RoleType::kWriter:
      return "writer";
    case RoleType::kReader:
      return "reader";
    case RoleType::kMeta:
      return "meta";
  }
  return "reader";
}

Result<ColumnMask> ParseMask(const std::string& text) {
  ColumnMask m;
  if (SameName(text, "null")) return m;
  if (SameName(text, "hash")) {
    m.kind = ColumnMask::Kind::kHash;
    return m;
  }
  if (SameName(text, "partial")) {
    m.kind = ColumnMask::Kind::kPartial;
    return m;
  }
  if (text.size() >= 2 && text.front() == '\'' && text.back() == '\'') {
    std::string body = text.substr(1, text.size() - 2);
    std::string value;
    for (size_t i = 0; i < body.size(); ++i) {
      if (body[i] == '\'') {
        if (i + 1 >= body.size() || body[i + 1] != '\'') {
          return Status::InvalidArgument(fmt::format(
              "invalid mask constant {}: a quote inside it must be doubled ('it''s')", text));
        }
        ++i;
      }
      value += body[i];
    }
    m.kind = ColumnMask::Kind::kConstant;
    m.constant = value;
    return m;
  }
  return Status::InvalidArgument(fmt::format(
      "invalid mask '{}': expected null, hash, partial or a quoted constant such as 'hidden'",
      text));
}

std::string MaskText(const ColumnMask& m) {
  switch (m.kind) {
    case ColumnMask::Kind::kNull:
      return "null";
    case ColumnMask::Kind::kHash:
      return "hash";
    case ColumnMask::Kind::kPartial:
      return "partial";
    case ColumnMask::Kind::kConstant: {
      std::string out = "'";
      for (char c : m.constant) out += c == '\'' ? std::string("''") : std::string(1, c);
      return out + "'";
    }
  }
  return "null";
}

bool Role::Grants(const std::string& super_name, const std::string& table) const {
  if (type == RoleType::kSuperadmin) return true;
  for (const auto& p : tables) {
    if (p == "*") return true;
    size_t dot = p.find('.');
    if (dot == std::string::npos || !SameName(p.substr(0, dot), super_name)) continue;
    std::string t = p.substr(dot + 1);
    if (t == "*" || SameName(t, table)) return true;
  }
  return false;
}

bool Role::GrantsAnyIn(const std::string& super_name) const {
  if (type == RoleType::kSuperadmin) return true;
  for (const auto& p : tables) {
    if (p == "*") return true;
    size_t dot = p.find('.');
    if (dot != std::string::npos && SameName(p.substr(0, dot), super_name)) return true;
  }
  return false;
}

const std::vector<std::string>* Role::ColumnsFor(const std::string& s, const std::string& t) const {
  return FindTableKey(columns, s, t);
}
const std::string* Role::RowFilterFor(const std::string& s, const std::string& t) const {
  return FindTableKey(row_filters, s, t);
}
const std::map<std::string, ColumnMask>* Role::MasksFor(const std::string& s,
                                                        const std::string& t) const {
  return FindTableKey(masks, s, t);
}

Status ValidateScope(const std::string& scope) {
  if (scope == kScopeRead || scope == kScopeWrite || scope == kScopeAdmin) return Status::Ok();
  return Status::InvalidArgument(fmt::format("unknown scope '{}': expected {}, {} or {}", scope,
                                             kScopeRead, kScopeWrite, kScopeAdmin));
}

Status ValidateRole(const Role& r) {
  ST_RETURN_IF_ERROR(ValidateName(r.name, "role"));
  for (const auto& t : r.tables) ST_RETURN_IF_ERROR(CheckTableKey(t, true));
  auto granted = [&](const std::string& key, const char* what) -> Status {
    ST_RETURN_IF_ERROR(CheckTableKey(key, false));
    size_t dot = key.find('.');
    if (!r.Grants(key.substr(0, dot), key.substr(dot + 1))) {
      return Status::InvalidArgument(fmt::format(
          "{} for {}: the role does not grant that table (add it to --tables)", what, key));
    }
    return Status::Ok();
  };
  for (const auto& [key, cols] : r.columns) {
    ST_RETURN_IF_ERROR(granted(key, "columns"));
    if (cols.empty()) {
      return Status::InvalidArgument(
          fmt::format("columns for {}: name at least one column (super.table=c1,c2)", key));
    }
    for (const auto& c : cols) ST_RETURN_IF_ERROR(ValidateColumnName(c));
  }
  for (const auto& [key, filter] : r.row_filters) {
    ST_RETURN_IF_ERROR(granted(key, "row filter"));
    if (filter.find_first_not_of(" \t\r\n") == std::string::npos) {
      return Status::InvalidArgument(
          fmt::format("row filter for {} is empty: expected a SQL predicate", key));
    }
  }
  for (const auto& [key, cols] : r.masks) {
    ST_RETURN_IF_ERROR(granted(key, "mask"));
    for (const auto& [c, m] : cols) ST_RETURN_IF_ERROR(ValidateColumnName(c));
  }
  if ((r.type == RoleType::kMeta || r.type == RoleType::kSuperadmin) &&
      (!r.columns.empty() || !r.row_filters.empty() || !r.masks.empty())) {
    return Status::InvalidArgument(fmt::format(
        "a {} role has no per-table columns, row filters or masks: {}", RoleTypeName(r.type),
        r.type == RoleType::kMeta ? "it never reads rows" : "it reads everything"));
  }
  return Status::Ok();
}

json ToJson(const Role& r) {
  json masks = json::object();
  for (const auto& [t, cols] : r.masks) {
    for (const auto& [c, m] : cols) masks[t][c] = MaskText(m);
  }
  return {{"name", r.name},
          {"type", RoleTypeName(r.type)},
          {"tables", r.tables},
          {"columns", r.columns},
          {"row_filters", r.row_filters},
          {"masks", masks},
          {"created_micros", r.created_micros}};
}

json ToJson(const User& u) {
  return {{"name", u.name},
          {"email", u.email},
          {"enabled", u.enabled},
          {"created_micros", u.created_micros},
          {"last_seen_micros", u.last_seen_micros},
          {"roles", u.roles},
          {"user_hash", u.user_hash}};
}

json ToJson(const TokenRecord& t) {
  return {{"id", t.id},
          {"owner", t.owner},
          {"name", t.name},
          {"scopes", t.scopes},
          {"created_micros", t.created_micros},
          {"expires_micros", t.expires_micros},
          {"last_used_micros", t.last_used_micros},
          {"revoked_micros", t.revoked_micros}};
}

std::string StoredJson(const Role& r) { return ToJson(r).dump(); }
std::string StoredJson(const User& u) { return ToJson(u).dump(); }
std::string StoredJson(const TokenRecord& t) {
  json j = ToJson(t);
  j["hash"] = t.hash;
  return j.dump();
}

Result<Role> RoleFromJson(const std::string& text) {
  return Parse<Role>(text, "role", [](const json& j) {
    Role r;
    r.name = j.at("name").get<std::string>();
    // A stored type that no longer parses reads nothing: fail closed.
    auto type = ParseRoleType(j.at("type").get<std::string>());
    r.type = type.ok() ? *type : RoleType::kMeta;
    r.tables = j.value("tables", std::vector<std::string>{});
    r.columns = j.value("columns", std::map<std::string, std::vector<std::string>>{});
    r.row_filters = j.value("row_filters", std::map<std::string, std::string>{});
    // Named, not `j.value(...).items()`: the range would iterate a destroyed temporary.
    const json masks = j.value("masks", json::object());
    for (const auto& [t, cols] : masks.items()) {
      for (const auto& [c, m] : cols.items()) {
        // A stored mask that no longer parses shows NULL: fail closed.
        auto mask = ParseMask(m.get<std::string>());
        r.masks[t][c] = mask.ok() ? *mask : ColumnMask{};
      }
    }
    r.created_micros = j.value("created_micros", int64_t{0});
    return r;
  });
}

Result<User> UserFromJson(const std::string& text) {
  return Parse<User>(text, "user", [](const json& j) {
    User u;
    u.name = j.at("name").get<std::string>();
    u.email = j.value("email", "");
    u.enabled = j.value("enabled", false);
    u.created_micros = j.value("created_micros", int64_t{0});
    u.last_seen_micros = j.value("last_seen_micros", int64_t{0});
    u.roles = j.value("roles", std::vector<std::string>{});
    u.user_hash = j.value("user_hash", "");
    return u;
  });
}

Result<TokenRecord> TokenFromJson(const std::string& text) {
  return Parse<TokenRecord>(text, "token", [](const json& j) {
    TokenRecord t;
    t.id = j.at("id").get<std::string>();
    t.owner = j.at("owner").get<std::string>();
    t.name = j.value("name", "");
    t.scopes = j.value("scopes", std::vector<std::string>{});
    t.created_micros = j.value("created_micros", int64_t{0});
    t.expires_micros = j.value("expires_micros", int64_t{0});
    t.last_used_micros = j.value("last_used_micros", int64_t{0});
    t.revoked_micros = j.value("revoked_micros", int64_t{0});
    t.hash = j.at("hash").get<std::string>();
    return t;
  });
}

}  // namespace supertable::security
