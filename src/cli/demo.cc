// The demo: a warehouse built from demo/data in a temporary home.
#include "cli/demo.h"

#include <stdlib.h>

#include <filesystem>
#include <iostream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/ids.h"
#include "engine/result_format.h"
#include "table/warehouse.h"

#ifndef SUPERTABLE_SOURCE_DIR
#define SUPERTABLE_SOURCE_DIR "."
#endif

namespace supertable {

namespace fs = std::filesystem;

namespace {

void Heading(const std::string& text) { std::cout << "\n== " << text << "\n"; }

Status Show(Warehouse& w, const std::string& sql) {
  std::cout << "$ supertable query shop \"" << sql << "\"\n";
  auto sink = MakeResultSink(OutputFormat::kTable, std::cout);
  return w.Query({"shop", sql, 50, false}, *sink).status();
}

}  // namespace

void UseDemoHome(Config& config, const std::string& home) {
  config.home = home;
  config.locking_backend = "sqlite";
  config.storage_type = "LOCAL";
}

Result<std::string> RunDemo(Config config, const DemoOptions& options) {
  std::string data = options.data_dir.empty() ? std::string(SUPERTABLE_SOURCE_DIR) + "/demo/data"
                                              : options.data_dir;
  if (!fs::exists(data + "/orders.csv")) {
    return Status::InvalidArgument(
        fmt::format("no demo data in {}; pass --data DIR (demo/data in the repository)", data));
  }
  std::string tmpl = (fs::temp_directory_path() / "supertable-demo-XXXXXX").string();
  if (!mkdtemp(tmpl.data())) return Status::IoError("cannot create a temporary directory");
  UseDemoHome(config, tmpl);
  ST_ASSIGN_OR_RETURN(auto w, Warehouse::Open(config));
  struct Cleanup {
    std::string path;
    bool keep;
    ~Cleanup() {
      std::error_code ec;
      if (!keep) fs::remove_all(path, ec);
    }
  } cleanup{tmpl, options.keep};

  Heading(fmt::format("A new warehouse in {} (embedded SQLite catalog, local disk)", tmpl));
  for (const char* t : {"customers", "products", "orders"}) {
    WriteRequest req;
    req.input_path = data + "/" + t + ".csv";
    ST_ASSIGN_OR_RETURN(auto r, w->Write(w->Ref("shop", t), req));
    std::cout << fmt::format("$ supertable ingest shop {0} {0}.csv  ->  version {1}, {2} rows\n", t,
                             r.version, r.outcome.inserted);
  }

  Heading("Upsert: order updates keyed by order_id; rows not newer by updated_at are skipped");
  WriteRequest up;
  up.input_path = data + "/orders_update.csv";
  up.mode = WriteMode::kUpsert;
  up.key_columns = {"order_id"};
  up.newer_than = "updated_at";
  ST_ASSIGN_OR_RETURN(auto r, w->Write(w->Ref("shop", "orders"), up));
  const auto& o = r.outcome;
  std::cout << fmt::format(
      "$ supertable ingest shop orders orders_update.csv --overwrite-columns order_id --newer-than "
      "updated_at\n"
      "  version {}: {} rows in, {} duplicates in the batch (last wins), {} not newer (skipped), "
      "{} replaced, {} "
      "inserted\n",
      r.version, o.input_rows, o.skipped_duplicates, o.skipped_stale, o.deleted, o.inserted);

  Heading("Queries over the latest snapshots");
  ST_RETURN_IF_ERROR(Show(*w,
                          "SELECT status, count(*) AS orders, round(sum(amount), 2) AS revenue "
                          "FROM orders GROUP BY status ORDER BY orders DESC"));
  ST_RETURN_IF_ERROR(Show(*w,
                          "SELECT c.country, count(DISTINCT c.customer_id) AS customers, "
                          "round(sum(o.amount), 2) AS revenue "
                          "FROM orders o JOIN customers c USING (customer_id) GROUP BY c.country "
                          "ORDER BY revenue DESC LIMIT 5"));
  ST_RETURN_IF_ERROR(Show(
      *w,
      "SELECT p.category, sum(o.quantity) AS units, round(avg(o.amount), 2) AS avg_order "
      "FROM orders o JOIN products p USING (product_id) GROUP BY p.category ORDER BY units DESC"));

  Heading("History of shop.orders");
  ST_ASSIGN_OR_RETURN(auto history, w->History(w->Ref("shop", "orders")));
  auto sink = MakeResultSink(OutputFormat::kTable, std::cout);
  sink->Begin({{"version", "BIGINT"},
               {"committed_at", "TIMESTAMPTZ"},
               {"operation", "VARCHAR"},
               {"summary", "JSON"}});
  for (const auto& h : history) {
    sink->Row({nlohmann::json(h.version), nlohmann::json(FormatTimestamp(h.committed_micros)),
               nlohmann::json(h.operation), nlohmann::json(h.summary_json)});
  }
  sink->End(false);

  ST_ASSIGN_OR_RETURN(auto d, w->Describe(w->Ref("shop", "orders")));
  Heading("shop.orders now");
  std::cout << fmt::format(
      "version {}, {} live rows in {} file(s), {} rows hidden by delete files\n", d.summary.version,
      d.summary.rows, d.summary.files, d.deleted_rows);
  if (options.keep && !options.for_serve) {
    std::cout << fmt::format("\nThe warehouse is kept: supertable --home {} tables shop\n", tmpl);
  }
  return tmpl;
}

}  // namespace supertable
