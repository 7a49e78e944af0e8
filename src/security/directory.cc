// Users, roles and tokens in catalog documents, with the version-checked cache.
#include "security/directory.h"

#include <algorithm>
#include <functional>

#include <fmt/format.h>

#include "common/crypto.h"
#include "common/ids.h"
#include "common/log.h"
#include "common/names.h"
#include "common/text.h"
#include "engine/engine.h"

namespace supertable::security {

namespace {

constexpr const char* kUsers = "user";
constexpr const char* kRoles = "role";
constexpr const char* kTokens = "token";
constexpr const char* kMeta = "security";
constexpr const char* kUsage = "usage";
constexpr int64_t kNoteEveryMicros = 60ll * 1000000;
constexpr int64_t kRecheckMicros = 1000000;

}  // namespace

Status ValidateUserName(const std::string& name) {
  if (name.empty() || name.size() > 256) {
    return Status::InvalidArgument(
        fmt::format("invalid user name '{}': expected 1 to 256 characters", name));
  }
  for (unsigned char c : name) {
    if (c <= ' ' || c >= 127 || c == '\'' || c == '"' || c == '\\' || c == '`') {
      return Status::InvalidArgument(
          fmt::format("invalid user name '{}': expected printable ASCII without spaces, quotes or "
                      "backslashes (such as ann, ann@example.com or auth0|123)",
                      name));
    }
  }
  return Status::Ok();
}

bool LooksLikeSuperTableToken(std::string_view token) {
  return token.size() == 3 + 16 + 1 + 64 && token.substr(0, 3) == "st_" && token[19] == '_';
}

Status Directory::Bump() {
  ST_RETURN_IF_ERROR(catalog_.PutDocument(org_, kMeta, "version", RandomId()));
  std::lock_guard<std::mutex> g(mu_);
  state_.reset();
  return Status::Ok();
}

Result<std::string> Directory::Secret(const std::string& name) {
  ST_ASSIGN_OR_RETURN(auto salt, catalog_.GetDocument(org_, kMeta, name));
  if (salt) return *salt;
  std::string fresh = RandomId() + RandomId();
  std::string none;
  Status s = catalog_.PutDocument(org_, kMeta, name, fresh, &none);
  if (s.code() == StatusCode::kConflict) {  // another replica made it first: use theirs
    ST_ASSIGN_OR_RETURN(salt, catalog_.GetDocument(org_, kMeta, name));
    if (salt) return *salt;
  }
  ST_RETURN_IF_ERROR(s);
  return fresh;
}

Result<std::shared_ptr<const DirectoryState>> Directory::Current() {
  // Taken before the version is read: a change after this point changes the marker again, so
  // the next request reads.
  std::optional<std::string> marker = catalog_.DocumentsMarker();
  int64_t now = NowMicros();
  {
    std::lock_guard<std::mutex> g(mu_);
    // Unchanged marker: no document changed anywhere. Read at least once a second all the same:
    // a writer that died between its commit and the marker would otherwise hide its change.
    if (state_ && marker && *marker == marker_ && now - checked_micros_ < kRecheckMicros) {
      return state_;
    }
  }
  ST_ASSIGN_OR_RETURN(auto version, catalog_.GetDocument(org_, kMeta, "version"));
  std::string v = version.value_or("");
  {
    std::lock_guard<std::mutex> g(mu_);
    if (state_ && state_->version == v) {
      marker_ = marker.value_or("");
      checked_micros_ = now;
      return state_;
    }
  }
  // Read after the version: a change that lands meanwhile bumps it again, and the next request
  // reloads (docs/SECURITY.md, "Where identities live").
  auto state = std::make_shared<DirectoryState>();
  state->version = v;
  ST_ASSIGN_OR_RETURN(auto users, catalog_.ListDocuments(org_, kUsers));
  for (const auto& [name, body] : users) {
    ST_ASSIGN_OR_RETURN(User u, UserFromJson(body));
    state->users[name] = std::move(u);
  }
  ST_ASSIGN_OR_RETURN(auto roles, catalog_.ListDocuments(org_, kRoles));
  for (const auto& [name, body] : roles) {
    ST_ASSIGN_OR_RETURN(Role r, RoleFromJson(body));
    state->roles[name] = std::move(r);
  }
  ST_ASSIGN_OR_RETURN(auto tokens, catalog_.ListDocuments(org_, kTokens));
  for (const auto& [id, body] : tokens) {
    ST_ASSIGN_OR_RETURN(TokenRecord t, TokenFromJson(body));
    state->tokens[id] = std::move(t);
  }
  ST_ASSIGN_OR_RETURN(state->mask_salt, Secret("mask_salt"));
  std::lock_guard<std::mutex> g(mu_);
  state_ = state;
  marker_ = marker.value_or("");
  checked_micros_ = now;
  return std::shared_ptr<const DirectoryState>(state);
}

// Read-modify-write of one document with compare-and-set, retried when another administrator
// changed it meanwhile.
template <typename T>
Status Directory::Update(const std::string& kind, const std::string& name,
                         const std::function<Status(T&)>& change) {
  for (int attempt = 0; attempt < 10; ++attempt) {
    ST_ASSIGN_OR_RETURN(auto body, catalog_.GetDocument(org_, kind, name));
    if (!body) return Status::NotFound(fmt::format("unknown {} '{}'", kind, name));
    T record;
    if constexpr (std::is_same_v<T, User>) {
      ST_ASSIGN_OR_RETURN(record, UserFromJson(*body));
    } else {
      ST_ASSIGN_OR_RETURN(record, TokenFromJson(*body));
    }
    ST_RETURN_IF_ERROR(change(record));
    Status s = catalog_.PutDocument(org_, kind, name, StoredJson(record), &*body);
    if (s.code() == StatusCode::kConflict) continue;
    ST_RETURN_IF_ERROR(s);
    return Bump();
  }
  return Status::Conflict(fmt::format("{} '{}' keeps changing; try again", kind, name));
}

Result<User> Directory::AddUser(const std::string& name, const std::string& email,
                                const std::vector<std::string>& roles) {
  ST_RETURN_IF_ERROR(ValidateUserName(name));
  for (const auto& r : roles) ST_RETURN_IF_ERROR(GetRole(r).status());
  User u;
  u.name = name;
  u.email = email;
  u.created_micros = NowMicros();
  u.roles = roles;
  u.user_hash = RandomId();
  std::string none;
  Status s = catalog_.PutDocument(org_, kUsers, name, StoredJson(u), &none);
  if (s.code() == StatusCode::kConflict) {
    return Status::AlreadyExists(fmt::format("user '{}' already exists", name));
  }
  ST_RETURN_IF_ERROR(s);
  ST_RETURN_IF_ERROR(Bump());
  return u;
}

Result<User> Directory::GetUser(const std::string& name) {
  ST_ASSIGN_OR_RETURN(auto body, catalog_.GetDocument(org_, kUsers, name));
  if (!body) return Status::NotFound(fmt::format("unknown user '{}'", name));
  ST_ASSIGN_OR_RETURN(User u, UserFromJson(*body));
  if (auto seen = catalog_.GetDocument(org_, kUsage, "user:" + name); seen.ok() && *seen) {
    u.last_seen_micros = std::max<int64_t>(u.last_seen_micros, std::atoll((*seen)->c_str()));
  }
  return u;
}

Result<std::vector<User>> Directory::ListUsers() {
  ST_ASSIGN_OR_RETURN(auto docs, catalog_.ListDocuments(org_, kUsers));
  std::vector<User> out;
  for (const auto& [name, body] : docs) {
    ST_ASSIGN_OR_RETURN(User u, GetUser(name));
    out.push_back(std::move(u));
  }
  return out;
}

Status Directory::SetUserEnabled(const std::string& name, bool enabled) {
  return Update<User>(kUsers, name, [&](User& u) {
    u.enabled = enabled;
    return Status::Ok();
  });
}

Status Directory::RemoveUser(const std::string& name) {
  ST_ASSIGN_OR_RETURN(auto tokens, ListTokens(name));
  for (const auto& t : tokens) {
    if (!t.revoked_micros) ST_RETURN_IF_ERROR(RevokeToken(t.id));
  }
  ST_ASSIGN_OR_RETURN(bool removed, catalog_.DeleteDocument(org_, kUsers, name));
  if (!removed) return Status::NotFound(fmt::format("unknown user '{}'", name));
  return Bump();
}

Status Directory::Grant(const std::string& role, const std::string& user) {
  ST_RETURN_IF_ERROR(GetRole(role).status());
  return Update<User>(kUsers, user, [&](User& u) {
    if (std::find(u.roles.begin(), u.roles.end(), role) == u.roles.end()) u.roles.push_back(role);
    return Status::Ok();
  });
}

Status Directory::Revoke(const std::string& role, const std::string& user) {
  return Update<User>(kUsers, user, [&](User& u) {
    auto it = std::find(u.roles.begin(), u.roles.end(), role);
    if (it == u.roles.end()) {
      return Status::NotFound(fmt::format("user '{}' does not have role '{}'", user, role));
    }
    u.roles.erase(it);
    return Status::Ok();
  });
}

Status Directory::AddRole(const Role& role) {
  ST_RETURN_IF_ERROR(ValidateRole(role));
  for (const auto& [table, filter] : role.row_filters) {
    ST_RETURN_IF_ERROR(engine_.CheckRowFilter(filter).WithContext("row filter for " + table));
  }
  Role r = role;
  r.created_micros = NowMicros();
  std::string none;
  Status s = catalog_.PutDocument(org_, kRoles, r.name, StoredJson(r), &none);
  if (s.code() == StatusCode::kConflict) {
    return Status::AlreadyExists(fmt::format("role '{}' already exists", r.name));
  }
  ST_RETURN_IF_ERROR(s);
  return Bump();
}

Result<Role> Directory::GetRole(const std::string& name) {
  ST_ASSIGN_OR_RETURN(auto body, catalog_.GetDocument(org_, kRoles, name));
  if (!body) return Status::NotFound(fmt::format("unknown role '{}'", name));
  return RoleFromJson(*body);
}

Result<std::vector<Role>> Directory::ListRoles() {
  ST_ASSIGN_OR_RETURN(auto docs, catalog_.ListDocuments(org_, kRoles));
  std::vector<Role> out;
  for (const auto& [name, body] : docs) {
    ST_ASSIGN_OR_RETURN(Role r, RoleFromJson(body));
    out.push_back(std::move(r));
  }
  return out;
}

Status Directory::RemoveRole(const std::string& name) {
  ST_RETURN_IF_ERROR(GetRole(name).status());
  ST_ASSIGN_OR_RETURN(auto users, ListUsers());
  std::vector<std::string> holders;
  for (const auto& u : users) {
    if (std::find(u.roles.begin(), u.roles.end(), name) != u.roles.end()) holders.push_back(u.name);
  }
  if (!holders.empty()) {
    return Status::InvalidArgument(
        fmt::format("role '{}' is granted to {}; revoke it first (supertable revoke {} USER)", name,
                    fmt::join(holders, ", "), name));
  }
  ST_RETURN_IF_ERROR(catalog_.DeleteDocument(org_, kRoles, name).status());
  return Bump();
}

Result<IssuedToken> Directory::CreateToken(const std::string& owner, const std::string& name,
                                           const std::vector<std::string>& scopes,
                                           int64_t expires_micros) {
  ST_RETURN_IF_ERROR(GetUser(owner).status());
  for (const auto& s : scopes) ST_RETURN_IF_ERROR(ValidateScope(s));
  IssuedToken out;
  TokenRecord& t = out.record;
  t.id = RandomId().substr(0, 16);
  t.owner = owner;
  t.name = name;
  t.scopes = scopes;
  t.created_micros = NowMicros();
  t.expires_micros = expires_micros;
  out.token = "st_" + t.id + "_" + RandomId() + RandomId();  // 256 random bits after the id
  t.hash = Sha256Hex(out.token);
  std::string none;
  ST_RETURN_IF_ERROR(catalog_.PutDocument(org_, kTokens, t.id, StoredJson(t), &none));
  ST_RETURN_IF_ERROR(Bump());
  return out;
}

Result<std::vector<TokenRecord>> Directory::ListTokens(const std::string& owner) {
  ST_ASSIGN_OR_RETURN(auto docs, catalog_.ListDocuments(org_, kTokens));
  std::vector<TokenRecord> out;
  for (const auto& [id, body] : docs) {
    ST_ASSIGN_OR_RETURN(TokenRecord t, TokenFromJson(body));
    if (!owner.empty() && t.owner != owner) continue;
    if (auto used = catalog_.GetDocument(org_, kUsage, "token:" + id); used.ok() && *used) {
      t.last_used_micros = std::max<int64_t>(t.last_used_micros, std::atoll((*used)->c_str()));
    }
    out.push_back(std::move(t));
  }
  return out;
}

Status Directory::RevokeToken(const std::string& id) {
  return Update<TokenRecord>(kTokens, id, [](TokenRecord& t) {
    if (!t.revoked_micros) t.revoked_micros = NowMicros();
    return Status::Ok();
  });
}

Result<TokenRecord> Directory::VerifyToken(const std::string& token) {
  ST_ASSIGN_OR_RETURN(auto state, Current());
  return VerifyToken(token, *state);
}

Result<TokenRecord> Directory::VerifyToken(const std::string& token, const DirectoryState& state) {
  if (!LooksLikeSuperTableToken(token)) {
    return Status::Unauthenticated("not a SuperTable token (expected st_<id>_<secret>)");
  }
  auto it = state.tokens.find(TokenIdOf(token));
  // Compared in constant time all the same: the id is public, the rest is the secret.
  if (it == state.tokens.end() || !SecretEquals(Sha256Hex(token), it->second.hash)) {
    return Status::Unauthenticated("unknown token");
  }
  const TokenRecord& t = it->second;
  if (t.revoked_micros) {
    return Status::Unauthenticated(fmt::format("token {} was revoked", t.id));
  }
  if (t.expires_micros && t.expires_micros <= NowMicros()) {
    return Status::Unauthenticated(
        fmt::format("token {} expired at {}", t.id, FormatTimestamp(t.expires_micros)));
  }
  auto owner = state.users.find(t.owner);
  if (owner == state.users.end() || !owner->second.enabled) {
    return Status::Unauthenticated(
        fmt::format("token {} belongs to '{}', who is disabled or removed", t.id, t.owner));
  }
  return t;
}

Result<User> Directory::FindByUserHash(const std::string& user_hash) {
  ST_ASSIGN_OR_RETURN(auto state, Current());
  for (const auto& [name, u] : state->users) {
    if (!u.user_hash.empty() && SecretEquals(u.user_hash, user_hash)) return u;
  }
  return Status::Unauthenticated("no user has this user_hash");
}

void Directory::NoteUse(const std::string& user, const std::string& token_id) {
  int64_t now = NowMicros();
  std::vector<std::string> due;
  {
    std::lock_guard<std::mutex> g(mu_);
    auto note = [&](std::map<std::string, int64_t, std::less<>>& noted, const char* kind,
                    const std::string& name) {
      if (name.empty()) return;
      auto it = noted.find(name);
      if (it != noted.end() && now - it->second < kNoteEveryMicros) return;
      if (noted.size() > 100000) noted.clear();  // bounded; forgetting only costs a write
      noted[name] = now;
      due.push_back(kind + name);
    };
    note(noted_users_, "user:", user);
    note(noted_tokens_, "token:", token_id);
  }
  for (const auto& key : due) {
    Status s = catalog_.PutDocument(org_, kUsage, key, std::to_string(now));
    if (!s.ok()) log::Debug("security: cannot record use of {}: {}", key, s.message());
  }
}

}  // namespace supertable::security
