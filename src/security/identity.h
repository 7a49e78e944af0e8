// Users, roles and tokens: the records the security layer keeps in the catalog (as documents,
// catalog/catalog.h), their JSON forms and the checks a new record must pass. Role types follow
// the original SuperTable: superadmin, admin, writer, reader, meta (docs/SECURITY.md).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "common/status.h"
#include "engine/table_policy.h"

namespace supertable::security {

enum class RoleType { kSuperadmin, kAdmin, kWriter, kReader, kMeta };
Result<RoleType> ParseRoleType(const std::string& text);
std::string RoleTypeName(RoleType t);

// Masks as people write them: "null", "hash", "partial", or a quoted constant: 'text' (a quote
// inside doubled: 'it''s').
Result<ColumnMask> ParseMask(const std::string& text);
std::string MaskText(const ColumnMask& m);

struct Role {
  std::string name;
  RoleType type = RoleType::kReader;
  // Tables granted: "super.table", "super.*" or "*". superadmin: every table, always.
  std::vector<std::string> tables;
  // Per table ("super.table"): the columns it may read (absent: all), a row filter (a SQL
  // predicate over the table's columns; current_user() is the caller's user name) and masks
  // (column -> mask).
  std::map<std::string, std::vector<std::string>> columns;
  std::map<std::string, std::string> row_filters;
  std::map<std::string, std::map<std::string, ColumnMask>> masks;
  int64_t created_micros = 0;

  // Whether `tables` grants super_name.table (names compared as SQL does, ignoring case).
  bool Grants(const std::string& super_name, const std::string& table) const;
  bool GrantsAnyIn(const std::string& super_name) const;  // a pattern that names this super
  // The role's per-table settings for super_name.table, found ignoring case.
  const std::vector<std::string>* ColumnsFor(const std::string& super_name,
                                             const std::string& table) const;
  const std::string* RowFilterFor(const std::string& super_name, const std::string& table) const;
  const std::map<std::string, ColumnMask>* MasksFor(const std::string& super_name,
                                                    const std::string& table) const;
};

struct User {
  std::string name;
  std::string email;
  bool enabled = true;
  int64_t created_micros = 0;
  int64_t last_seen_micros = 0;
  std::vector<std::string> roles;
  // 32 hex characters identifying the user to the original SuperTable's tools (`user_hash`).
  std::string user_hash;
};

// Token scopes (OAuth style): what a token may be used for, whatever its owner's roles allow.
inline constexpr const char* kScopeRead = "supertable:read";
inline constexpr const char* kScopeWrite = "supertable:write";
inline constexpr const char* kScopeAdmin = "supertable:admin";
Status ValidateScope(const std::string& scope);

struct TokenRecord {
  std::string id;  // public: names the token in lists, revocation and the audit trail
  std::string owner;
  std::string name;
  std::vector<std::string> scopes;  // empty: every scope its owner's roles allow
  int64_t created_micros = 0;
  int64_t expires_micros = 0;  // 0: never
  int64_t last_used_micros = 0;
  int64_t revoked_micros = 0;  // 0: not revoked
  std::string hash;            // hex SHA-256 of the whole token; the token itself is never kept
};

nlohmann::json ToJson(const Role& r);
nlohmann::json ToJson(const User& u);
nlohmann::json ToJson(const TokenRecord& t);  // without `hash`
Result<Role> RoleFromJson(const std::string& text);
Result<User> UserFromJson(const std::string& text);
Result<TokenRecord> TokenFromJson(const std::string& text);
std::string StoredJson(const Role& r);
std::string StoredJson(const User& u);
std::string StoredJson(const TokenRecord& t);  // with `hash`

// Checks a role before it is stored: its name, table patterns ("super.table", "super.*", "*"),
// per-table keys naming a granted table, column names, and that row filters are non-empty.
// (The SQL of a row filter is checked by the engine's parser: security::CheckRowFilter.)
Status ValidateRole(const Role& r);

}  // namespace supertable::security
