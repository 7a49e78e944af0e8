// The audit commands: thin wrappers over ReadAudit and VerifyAudit (src/security/audit.h).
#include "cli/audit_commands.h"

#include <iostream>

#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "common/ids.h"
#include "common/text.h"
#include "engine/result_format.h"
#include "security/audit.h"
#include "table/warehouse.h"

namespace supertable {

namespace {

using nlohmann::json;

std::string JoinList(const json& list) {
  std::string out;
  if (!list.is_array()) return out;
  for (const auto& v : list) {
    if (v.is_string()) out += (out.empty() ? "" : ",") + v.get<std::string>();
  }
  return out;
}

void PrintTable(const std::vector<json>& records) {
  std::vector<Column> columns = {
      {"time", "VARCHAR"},   {"principal", "VARCHAR"}, {"auth", "VARCHAR"},   {"kind", "VARCHAR"},
      {"action", "VARCHAR"}, {"outcome", "VARCHAR"},   {"tables", "VARCHAR"}, {"rows", "BIGINT"},
      {"ms", "DOUBLE"},      {"error", "VARCHAR"}};
  auto sink = MakeResultSink(OutputFormat::kTable, std::cout);
  sink->Begin(columns);
  for (const auto& r : records) {
    sink->Row({FormatTimestamp(r.value("time_micros", int64_t{0})),
               r.value("principal", std::string()), r.value("auth", std::string()),
               r.value("kind", std::string()), r.value("action", std::string()),
               r.value("outcome", std::string()), JoinList(r.value("tables", json::array())),
               r.value("rows", int64_t{0}), r.value("duration_micros", int64_t{0}) / 1000.0,
               r.value("error", std::string())});
  }
  sink->End(false);
}

}  // namespace

void RegisterAuditCommands(CLI::App& app, CliContext& context) {
  // Static: CLI11 keeps pointers to these until the action has run, after this returns.
  static std::string user, since, format = "table";
  static int64_t limit = 100;
  auto* audit = app.add_subcommand(
      "audit", "Show the organization's audit trail, newest last (see also: audit verify)");
  audit->require_subcommand(0, 1);
  audit->add_option("--user", user, "Only records of this principal");
  audit->add_option("--since", since,
                    "Only records this recent (30m, 1h, 2d) or after this UTC timestamp");
  audit->add_option("--limit", limit, "The newest this many records (default 100)");
  audit->add_option("--format", format, "table (default) or json (the stored records)");
  auto* verify = audit->add_subcommand(
      "verify", "Check the audit trail's hash chains; exit 1 and name each damaged stream/seq");

  verify->callback([&context] {
    *context.action = [&context]() -> Status {
      ST_ASSIGN_OR_RETURN(auto w, context.open_warehouse());
      const std::string& org = w->config().organization;
      ST_ASSIGN_OR_RETURN(auto report, security::VerifyAudit(w->store(), org));
      for (const auto& p : report.problems) std::cout << "problem: " << p << "\n";
      std::cout << fmt::format(
          "audit trail of '{}': {} stream(s), {} segment(s), {} record(s): {}\n", org,
          report.streams, report.segments, report.records, report.ok ? "OK" : "DAMAGED");
      if (report.ok) return Status::Ok();
      return Status::Conflict(
          fmt::format("the audit trail failed verification: {} problem(s), listed above",
                      report.problems.size()));
    };
  });
  audit->callback([verify, &context] {
    if (verify->parsed()) return;  // its own callback ran first and set the action
    *context.action = [&context]() -> Status {
      if (format != "table" && format != "json") {
        return Status::InvalidArgument(
            fmt::format("invalid --format '{}': expected table or json", format));
      }
      security::AuditQuery q;
      q.user = user;
      q.limit = limit;
      ST_ASSIGN_OR_RETURN(q.since_micros, security::ParseAuditSince(since, "--since"));
      ST_ASSIGN_OR_RETURN(auto w, context.open_warehouse());
      ST_ASSIGN_OR_RETURN(auto records,
                          security::ReadAudit(w->store(), w->config().organization, q));
      if (format == "json") {
        std::cout << json(records).dump() << "\n";
      } else {
        PrintTable(records);
      }
      return Status::Ok();
    };
  });
}

}  // namespace supertable
