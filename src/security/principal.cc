// Principals and the policy of their roles.
#include "security/principal.h"

#include <algorithm>

namespace supertable::security {

bool Principal::HasScope(const std::string& scope) const {
  return !scopes || std::find(scopes->begin(), scopes->end(), scope) != scopes->end();
}

bool Principal::IsAdmin() const {
  if (superuser) return true;
  if (!HasScope(kScopeAdmin)) return false;
  return std::any_of(roles.begin(), roles.end(), [](const Role& r) {
    return r.type == RoleType::kAdmin || r.type == RoleType::kSuperadmin;
  });
}

std::vector<std::string> Principal::RoleNames() const {
  if (superuser) return {"superuser"};
  std::vector<std::string> out;
  for (const auto& r : roles) out.push_back(r.name + " (" + RoleTypeName(r.type) + ")");
  return out;
}

TableAccess RolePolicy::ForTable(const std::string& super_name, const std::string& table,
                                 TablePolicy* policy) const {
  const Principal& p = *principal_;
  if (p.superuser) return TableAccess::kWrite;
  // Scopes narrow what a token may do, whatever the roles allow: without the read scope a
  // token sees no table at all.
  if (!p.HasScope(kScopeRead)) return TableAccess::kNone;
  TableAccess access = TableAccess::kNone;
  TablePolicy out;
  out.user = p.user;
  out.mask_salt = p.mask_salt;
  bool unrestricted = false;
  for (const Role& r : p.roles) {
    if (!r.Grants(super_name, table)) continue;
    switch (r.type) {
      case RoleType::kMeta:
        access = std::max(access, TableAccess::kMeta);
        continue;
      case RoleType::kSuperadmin:
        unrestricted = true;
        access = TableAccess::kWrite;
        continue;
      case RoleType::kReader:
        access = std::max(access, TableAccess::kRead);
        break;
      case RoleType::kWriter:
      case RoleType::kAdmin:
        access = std::max(access, TableAccess::kWrite);
        break;
    }
    RoleView v;
    if (const auto* f = r.RowFilterFor(super_name, table)) v.row_filter = *f;
    if (const auto* c = r.ColumnsFor(super_name, table)) v.columns = *c;
    if (const auto* m = r.MasksFor(super_name, table)) v.masks = *m;
    // A role that shows everything makes the others irrelevant: the union is the table.
    if (v.row_filter.empty() && !v.columns && v.masks.empty()) unrestricted = true;
    out.views.push_back(std::move(v));
  }
  if (access == TableAccess::kWrite && !p.HasScope(kScopeWrite)) access = TableAccess::kRead;
  if (unrestricted) out.views.clear();
  if (policy) *policy = std::move(out);
  return access;
}

bool RolePolicy::ShowsSuper(const std::string& super_name) const {
  const Principal& p = *principal_;
  if (p.superuser) return true;
  if (!p.HasScope(kScopeRead)) return false;
  return std::any_of(p.roles.begin(), p.roles.end(),
                     [&](const Role& r) { return r.GrantsAnyIn(super_name); });
}

std::shared_ptr<const AccessPolicy> PolicyFor(std::shared_ptr<const Principal> p) {
  if (!p || p->superuser) return nullptr;
  return std::make_shared<RolePolicy>(std::move(p));
}

}  // namespace supertable::security
