// Principal: who a request acts as, and the one AccessPolicy built from that principal's roles.
// Every front door (CLI, MCP over stdio and HTTP, REST, UI) turns its credentials into a
// Principal and hands its policy to the warehouse; nothing else decides what a caller sees.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "security/identity.h"
#include "table/warehouse.h"

namespace supertable::security {

struct Principal {
  std::string user;  // the user name; "local" for the local administrator
  // How the caller proved it: "local" (opened the home), "supertoken" (SUPERTABLE_SUPERTOKEN),
  // "shared_token" (SUPERTABLE_MCP_AUTH_TOKEN), "token", "jwt", "proxy" (a trusted header),
  // "user_hash" (the original SuperTable's per-call arguments), "none" (unauthenticated
  // loopback, which acts as the local administrator).
  std::string auth;
  bool superuser = false;  // every table and every operation, no roles consulted
  std::vector<Role> roles;
  std::optional<std::vector<std::string>> scopes;  // nullopt: not narrowed by scopes
  std::string token_id;                            // the SuperTable token used, if any
  std::string mask_salt;
  std::string directory_version;  // of the users and roles it was built from

  // Tells principals apart for sessions, rate limits and per-principal caps: a user is one
  // principal however they authenticate (a token, a JWT, a proxy header), so their budget and
  // sessions are theirs alone.
  std::string Key() const { return user.empty() ? auth + ":" : "user:" + user; }
  bool HasScope(const std::string& scope) const;
  // Manages users, roles and tokens; reads the audit trail.
  bool IsAdmin() const;
  // The role types this principal holds, for whoami ("superuser" for a superuser).
  std::vector<std::string> RoleNames() const;
};

// The principal's policy: the union of its roles (engine/table_policy.h has the rule).
class RolePolicy : public AccessPolicy {
 public:
  explicit RolePolicy(std::shared_ptr<const Principal> principal)
      : principal_(std::move(principal)) {}
  TableAccess ForTable(const std::string& super_name, const std::string& table,
                       TablePolicy* policy) const override;
  bool ShowsSuper(const std::string& super_name) const override;
  bool ReadsAudit() const override { return principal_->IsAdmin(); }
  const Principal& principal() const { return *principal_; }

 private:
  std::shared_ptr<const Principal> principal_;
};

// The policy to hand the warehouse for `p`: nullptr (everything) for a superuser.
std::shared_ptr<const AccessPolicy> PolicyFor(std::shared_ptr<const Principal> p);

}  // namespace supertable::security
