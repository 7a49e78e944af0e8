// `supertable user|role|grant|revoke|token`: thin wrappers over security::Directory.
#include "cli/security_commands.h"

#include <iostream>

#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "common/ids.h"
#include "common/text.h"
#include "security/audit.h"
#include "security/directory.h"
#include "table/warehouse.h"

namespace supertable {

namespace {

using nlohmann::json;
using security::Directory;

// Every option of every command, alive as long as the CLI app.
struct Flags {
  std::string name, email, type, tables, format = "table", token_name, scopes, expires, owner;
  std::vector<std::string> roles, columns, row_filters, masks;
  std::string role, user, id;
};

std::string When(int64_t micros) { return micros ? FormatTimestamp(micros) : ""; }

// "super.table=rest": the table key and what follows the first '='.
Result<std::pair<std::string, std::string>> SplitAssignment(const std::string& text,
                                                            const char* flag, const char* example) {
  size_t eq = text.find('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 >= text.size()) {
    return Status::InvalidArgument(
        fmt::format("invalid {} '{}': expected {}", flag, text, example));
  }
  return std::make_pair(text.substr(0, eq), text.substr(eq + 1));
}

Result<security::Role> RoleFromFlags(const Flags& f) {
  security::Role r;
  r.name = f.name;
  ST_ASSIGN_OR_RETURN(r.type, security::ParseRoleType(f.type));
  r.tables = SplitComma(f.tables);
  for (const auto& c : f.columns) {
    ST_ASSIGN_OR_RETURN(auto kv, SplitAssignment(c, "--columns", "super.table=c1,c2"));
    r.columns[kv.first] = SplitComma(kv.second);
  }
  for (const auto& c : f.row_filters) {
    ST_ASSIGN_OR_RETURN(auto kv, SplitAssignment(c, "--row-filter", "super.table=PREDICATE"));
    r.row_filters[kv.first] = kv.second;
  }
  for (const auto& m : f.masks) {
    ST_ASSIGN_OR_RETURN(auto kv, SplitAssignment(m, "--mask", "super.table.column=hash"));
    size_t dot = kv.first.rfind('.');
    if (dot == std::string::npos || kv.first.find('.') == dot) {
      return Status::InvalidArgument(fmt::format(
          "invalid --mask '{}': expected super.table.column=null|hash|partial|'text'", m));
    }
    ST_ASSIGN_OR_RETURN(ColumnMask mask, security::ParseMask(kv.second));
    r.masks[kv.first.substr(0, dot)][kv.first.substr(dot + 1)] = mask;
  }
  return r;
}

void PrintUsers(OutputFormat f, const std::vector<security::User>& users) {
  std::vector<std::vector<json>> rows;
  for (const auto& u : users) {
    rows.push_back({u.name, u.email, u.enabled, fmt::format("{}", fmt::join(u.roles, ",")),
                    When(u.created_micros), When(u.last_seen_micros), u.user_hash});
  }
  PrintRows(f,
            {{"user", "VARCHAR"},
             {"email", "VARCHAR"},
             {"enabled", "BOOLEAN"},
             {"roles", "VARCHAR"},
             {"created", "VARCHAR"},
             {"last_seen", "VARCHAR"},
             {"user_hash", "VARCHAR"}},
            rows);
}

void PrintRoles(OutputFormat f, const std::vector<security::Role>& roles) {
  if (f == OutputFormat::kJson) {
    json out = json::array();
    for (const auto& r : roles) out.push_back(security::ToJson(r));
    std::cout << out.dump(2) << "\n";
    return;
  }
  std::vector<std::vector<json>> rows;
  for (const auto& r : roles) {
    std::vector<std::string> rules;
    for (const auto& [t, c] : r.columns)
      rules.push_back(fmt::format("{} columns {}", t, fmt::join(c, ",")));
    for (const auto& [t, p] : r.row_filters) rules.push_back(fmt::format("{} rows where {}", t, p));
    for (const auto& [t, cols] : r.masks) {
      for (const auto& [c, m] : cols)
        rules.push_back(fmt::format("{}.{} {}", t, c, security::MaskText(m)));
    }
    rows.push_back({r.name, security::RoleTypeName(r.type),
                    fmt::format("{}", fmt::join(r.tables, ",")),
                    fmt::format("{}", fmt::join(rules, "; "))});
  }
  PrintRows(f,
            {{"role", "VARCHAR"}, {"type", "VARCHAR"}, {"tables", "VARCHAR"}, {"rules", "VARCHAR"}},
            rows);
}

}  // namespace

void RegisterSecurityCommands(CLI::App& app, CliContext& context) {
  auto f = std::make_shared<Flags>();
  auto open = context.open_warehouse;
  std::function<Status()>* action = context.action;
  // Runs `body` with the directory of the warehouse the CLI opens; every command that changes
  // something is recorded in the audit trail as the local administrator's.
  auto with_directory = [open, action, f](std::string command,
                                          std::function<Status(Directory&, Warehouse&)> body) {
    return [open, body, action, f, command] {
      *action = [open, body, f, command]() -> Status {
        ST_ASSIGN_OR_RETURN(auto w, open());
        Directory d(w->catalog(), w->config().organization, w->engine());
        Status s = body(d, *w);
        bool changes = command.find(" list") == std::string::npos &&
                       command.find(" show") == std::string::npos;
        if (changes) {
          ST_ASSIGN_OR_RETURN(auto options, security::AuditOptionsFromEnvironment());
          if (options) {
            ST_ASSIGN_OR_RETURN(
                auto log, security::AuditLog::Open(w->store(), w->config().organization, *options));
            security::AuditRecord r;
            r.kind = "admin";
            r.principal = "local";
            r.auth = "local";
            r.client = std::make_shared<const json>(json{{"transport", "cli"}});
            r.action = command;
            r.arguments = {
                {"name", f->name},     {"email", f->email},     {"type", f->type},
                {"tables", f->tables}, {"columns", f->columns}, {"row_filters", f->row_filters},
                {"masks", f->masks},   {"roles", f->roles},     {"role", f->role},
                {"user", f->user},     {"owner", f->owner},     {"id", f->id},
                {"scopes", f->scopes}, {"expires", f->expires}, {"token_name", f->token_name}};
            r.outcome = s.ok() ? "ok" : "error";
            r.error = s.ok() ? "" : s.message();
            log->Append(std::move(r));
            ST_RETURN_IF_ERROR(log->Close());
          }
        }
        return s;
      };
    };
  };
  auto format_option = [f](CLI::App* c) {
    c->add_option("--format", f->format, "table, csv, json or line");
  };

  // user
  auto* user =
      app.add_subcommand("user", "Manage users (add, list, show, disable, enable, remove)");
  user->require_subcommand(1);
  auto* user_add = user->add_subcommand("add", "Create a user");
  user_add->add_option("name", f->name, "User name (what tokens, JWT 'sub' or a proxy header name)")
      ->required();
  user_add->add_option("--email", f->email, "Email address");
  user_add->add_option("--role", f->roles, "Role to grant (repeatable)");
  user_add->callback(with_directory("user add", [f](Directory& d, Warehouse&) -> Status {
    ST_ASSIGN_OR_RETURN(auto u, d.AddUser(f->name, f->email, f->roles));
    std::cout << fmt::format("user '{}' created (user_hash {})\n", u.name, u.user_hash);
    return Status::Ok();
  }));
  auto* user_list = user->add_subcommand("list", "List users");
  format_option(user_list);
  user_list->callback(with_directory("user list", [f](Directory& d, Warehouse&) -> Status {
    ST_ASSIGN_OR_RETURN(auto fmt_, ParseOutputFormat(f->format));
    ST_ASSIGN_OR_RETURN(auto users, d.ListUsers());
    PrintUsers(fmt_, users);
    return Status::Ok();
  }));
  auto* user_show = user->add_subcommand("show", "Show one user, with their tokens");
  user_show->add_option("name", f->name, "User name")->required();
  user_show->callback(with_directory("user show", [f](Directory& d, Warehouse&) -> Status {
    ST_ASSIGN_OR_RETURN(auto u, d.GetUser(f->name));
    ST_ASSIGN_OR_RETURN(auto tokens, d.ListTokens(u.name));
    json out = security::ToJson(u);
    out["tokens"] = json::array();
    for (const auto& t : tokens) out["tokens"].push_back(security::ToJson(t));
    std::cout << out.dump(2) << "\n";
    return Status::Ok();
  }));
  for (bool enable : {false, true}) {
    auto* c = user->add_subcommand(
        enable ? "enable" : "disable",
        enable ? "Let a user authenticate again" : "Stop a user from authenticating (tokens too)");
    c->add_option("name", f->name, "User name")->required();
    c->callback(with_directory(
        enable ? "user enable" : "user disable", [f, enable](Directory& d, Warehouse&) -> Status {
          ST_RETURN_IF_ERROR(d.SetUserEnabled(f->name, enable));
          std::cout << fmt::format("user '{}' {}\n", f->name, enable ? "enabled" : "disabled");
          return Status::Ok();
        }));
  }
  auto* user_remove = user->add_subcommand("remove", "Remove a user and revoke their tokens");
  user_remove->add_option("name", f->name, "User name")->required();
  user_remove->callback(with_directory("user remove", [f](Directory& d, Warehouse&) -> Status {
    ST_RETURN_IF_ERROR(d.RemoveUser(f->name));
    std::cout << fmt::format("user '{}' removed\n", f->name);
    return Status::Ok();
  }));

  // role
  auto* role = app.add_subcommand("role", "Manage roles (add, list, show, remove)");
  role->require_subcommand(1);
  auto* role_add = role->add_subcommand("add", "Create a role");
  role_add->add_option("name", f->name, "Role name")->required();
  role_add->add_option("--type", f->type, "superadmin, admin, writer, reader or meta")->required();
  role_add->add_option("--tables", f->tables,
                       "Tables granted: super.table, super.* or *, comma separated");
  role_add->add_option("--columns", f->columns,
                       "Columns it may read of a table: super.table=c1,c2 (repeatable)");
  role_add->add_option("--row-filter", f->row_filters,
                       "Rows it may read: \"super.table=PREDICATE\", may use current_user() "
                       "(repeatable)");
  role_add->add_option("--mask", f->masks,
                       "A masked column: super.table.column=null|hash|partial|'text' (repeatable)");
  role_add->callback(with_directory("role add", [f](Directory& d, Warehouse&) -> Status {
    ST_ASSIGN_OR_RETURN(auto r, RoleFromFlags(*f));
    ST_RETURN_IF_ERROR(d.AddRole(r));
    std::cout << fmt::format("role '{}' ({}) created\n", r.name, security::RoleTypeName(r.type));
    if (r.tables.empty() && r.type != security::RoleType::kSuperadmin) {
      std::cerr << "note: the role grants no table yet (--tables)\n";
    }
    return Status::Ok();
  }));
  auto* role_list = role->add_subcommand("list", "List roles");
  format_option(role_list);
  role_list->callback(with_directory("role list", [f](Directory& d, Warehouse&) -> Status {
    ST_ASSIGN_OR_RETURN(auto fmt_, ParseOutputFormat(f->format));
    ST_ASSIGN_OR_RETURN(auto roles, d.ListRoles());
    PrintRoles(fmt_, roles);
    return Status::Ok();
  }));
  auto* role_show = role->add_subcommand("show", "Show one role");
  role_show->add_option("name", f->name, "Role name")->required();
  role_show->callback(with_directory("role show", [f](Directory& d, Warehouse&) -> Status {
    ST_ASSIGN_OR_RETURN(auto r, d.GetRole(f->name));
    std::cout << security::ToJson(r).dump(2) << "\n";
    return Status::Ok();
  }));
  auto* role_remove = role->add_subcommand("remove", "Remove a role no user holds");
  role_remove->add_option("name", f->name, "Role name")->required();
  role_remove->callback(with_directory("role remove", [f](Directory& d, Warehouse&) -> Status {
    ST_RETURN_IF_ERROR(d.RemoveRole(f->name));
    std::cout << fmt::format("role '{}' removed\n", f->name);
    return Status::Ok();
  }));

  // grant / revoke
  for (bool grant : {true, false}) {
    auto* c = app.add_subcommand(grant ? "grant" : "revoke",
                                 grant ? "Give a user a role" : "Take a role from a user");
    c->add_option("role", f->role, "Role")->required();
    c->add_option("user", f->user, "User")->required();
    c->callback(
        with_directory(grant ? "grant" : "revoke", [f, grant](Directory& d, Warehouse&) -> Status {
          ST_RETURN_IF_ERROR(grant ? d.Grant(f->role, f->user) : d.Revoke(f->role, f->user));
          std::cout << fmt::format("role '{}' {} '{}'\n", f->role,
                                   grant ? "granted to" : "revoked from", f->user);
          return Status::Ok();
        }));
  }

  // token
  auto* token = app.add_subcommand("token", "Manage access tokens (create, list, revoke)");
  token->require_subcommand(1);
  auto* token_create = token->add_subcommand(
      "create", "Create a token for a user; prints only the token, which is shown this once");
  token_create->add_option("user", f->owner, "Owner")->required();
  token_create->add_option("--name", f->token_name, "What the token is for");
  token_create->add_option("--scopes", f->scopes,
                           "supertable:read, supertable:write, supertable:admin (comma separated; "
                           "default: whatever the owner's roles allow)");
  token_create->add_option("--expires", f->expires, "Lifetime such as 30d, 12h (default: never)");
  token_create->callback(with_directory("token create", [f](Directory& d, Warehouse&) -> Status {
    int64_t expires = 0;
    if (!f->expires.empty()) {
      ST_ASSIGN_OR_RETURN(int64_t life, ParseDurationMicros(f->expires));
      if (life <= 0) return Status::InvalidArgument("--expires must be longer than zero");
      expires = NowMicros() + life;
    }
    ST_ASSIGN_OR_RETURN(auto issued,
                        d.CreateToken(f->owner, f->token_name, SplitComma(f->scopes), expires));
    std::cout << issued.token << "\n";
    std::cerr << fmt::format("token {} for '{}' created{}; it is not shown again\n",
                             issued.record.id, f->owner,
                             expires ? ", expires " + FormatTimestamp(expires) : "");
    return Status::Ok();
  }));
  auto* token_list = token->add_subcommand("list", "List tokens (never their secrets)");
  token_list->add_option("user", f->owner, "Only this user's");
  format_option(token_list);
  token_list->callback(with_directory("token list", [f](Directory& d, Warehouse&) -> Status {
    ST_ASSIGN_OR_RETURN(auto fmt_, ParseOutputFormat(f->format));
    ST_ASSIGN_OR_RETURN(auto tokens, d.ListTokens(f->owner));
    std::vector<std::vector<json>> rows;
    for (const auto& t : tokens) {
      rows.push_back({t.id, t.owner, t.name, fmt::format("{}", fmt::join(t.scopes, ",")),
                      When(t.created_micros), When(t.expires_micros), When(t.last_used_micros),
                      When(t.revoked_micros)});
    }
    PrintRows(fmt_,
              {{"id", "VARCHAR"},
               {"owner", "VARCHAR"},
               {"name", "VARCHAR"},
               {"scopes", "VARCHAR"},
               {"created", "VARCHAR"},
               {"expires", "VARCHAR"},
               {"last_used", "VARCHAR"},
               {"revoked", "VARCHAR"}},
              rows);
    return Status::Ok();
  }));
  auto* token_revoke = token->add_subcommand("revoke", "Revoke a token by its id");
  token_revoke->add_option("id", f->id, "Token id (token list shows it)")->required();
  token_revoke->callback(with_directory("token revoke", [f](Directory& d, Warehouse&) -> Status {
    ST_RETURN_IF_ERROR(d.RevokeToken(f->id));
    std::cout << fmt::format("token {} revoked\n", f->id);
    return Status::Ok();
  }));
}

}  // namespace supertable
