// Directory: the organization's users, roles and tokens, kept as catalog documents (so every
// replica sees a change at once) and read through a cache: every change bumps a version
// document, and a request that finds the version it knows uses what it read before. Where the
// catalog offers a cheap change marker (the embedded one), a request whose marker is unchanged
// reads nothing at all. Token secrets are never stored: only their SHA-256.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "catalog/catalog.h"
#include "common/status.h"
#include "security/identity.h"

namespace supertable {
class Engine;
}  // namespace supertable

namespace supertable::security {

// Everything the directory holds at one moment; immutable once built.
struct DirectoryState {
  std::string version;
  std::map<std::string, User> users;
  std::map<std::string, Role> roles;
  std::map<std::string, TokenRecord, std::less<>> tokens;  // by id
  std::string mask_salt;
};

struct IssuedToken {
  std::string token;  // shown once; nowhere else
  TokenRecord record;
};

class Directory {
 public:
  // `engine` checks the row filters of roles (Engine::CheckRowFilter); it must outlive this.
  Directory(Catalog& catalog, std::string org, Engine& engine)
      : catalog_(catalog), engine_(engine), org_(std::move(org)) {}

  // The current state (one catalog read when nothing changed since the last call).
  Result<std::shared_ptr<const DirectoryState>> Current();

  Result<User> AddUser(const std::string& name, const std::string& email,
                       const std::vector<std::string>& roles);
  Result<User> GetUser(const std::string& name);
  Result<std::vector<User>> ListUsers();
  Status SetUserEnabled(const std::string& name, bool enabled);
  // Also revokes the user's tokens.
  Status RemoveUser(const std::string& name);
  Status Grant(const std::string& role, const std::string& user);
  Status Revoke(const std::string& role, const std::string& user);

  // Validates the role (identity.h) and its row filters (the engine's parser) first.
  Status AddRole(const Role& role);
  Result<Role> GetRole(const std::string& name);
  Result<std::vector<Role>> ListRoles();
  // Refused while a user holds the role (revoke it first), so no grant silently vanishes.
  Status RemoveRole(const std::string& name);

  // `expires_micros` 0: never. Scopes checked by ValidateScope.
  Result<IssuedToken> CreateToken(const std::string& owner, const std::string& name,
                                  const std::vector<std::string>& scopes, int64_t expires_micros);
  Result<std::vector<TokenRecord>> ListTokens(const std::string& owner = "");
  Status RevokeToken(const std::string& id);

  // The record of a presented token that is valid now (known, not revoked, not expired, its
  // owner enabled); Unauthenticated otherwise, with the reason (for the server log only).
  Result<TokenRecord> VerifyToken(const std::string& token);
  // The same against a state already read (one catalog read per request, not one per check).
  static Result<TokenRecord> VerifyToken(const std::string& token, const DirectoryState& state);
  // The user whose user_hash (the original SuperTable's) this is.
  Result<User> FindByUserHash(const std::string& user_hash);

  // Records that a user was seen or a token used, at most once a minute each (the write is a
  // catalog round trip, and a request's latency must not pay for it every time).
  void NoteUse(const std::string& user, const std::string& token_id);

  // A random secret of the organization by name, made by whichever replica asks first and the
  // same for all of them from then on (the masks' salt, the key MCP request states are signed
  // with). Kept in the catalog, readable by whoever can read the catalog.
  Result<std::string> Secret(const std::string& name);

 private:
  Status Bump();  // after every change
  template <typename T>
  Status Update(const std::string& kind, const std::string& name,
                const std::function<Status(T&)>& change);

  Catalog& catalog_;
  Engine& engine_;
  std::string org_;
  std::mutex mu_;
  std::shared_ptr<const DirectoryState> state_;
  std::string marker_;          // Catalog::DocumentsMarker when state_ was last confirmed
  int64_t checked_micros_ = 0;  // when that was
  // When each user and token was last written to the usage documents, by name and by id:
  // looked up without building a key, since every authenticated request asks.
  std::map<std::string, int64_t, std::less<>> noted_users_, noted_tokens_;
};

// Names of users: what identity providers put in `sub`, `email` or `username` ("auth0|123",
// "ann@example.com"), so more than SQL identifiers: 1-256 printable ASCII characters without
// spaces, quotes or backslashes.
Status ValidateUserName(const std::string& name);

// Tokens look like "st_<id>_<secret>": the id finds the record, the secret (256 random bits)
// proves possession.
bool LooksLikeSuperTableToken(std::string_view token);
// The public id of a token that LooksLikeSuperTableToken.
inline std::string_view TokenIdOf(std::string_view token) { return token.substr(3, 16); }

}  // namespace supertable::security
