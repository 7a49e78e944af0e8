// The TPC-H-like generator: SQL text only, run by a DuckSession (tpch_gen.h).
#include "tpch_gen.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "engine/sql_text.h"

namespace supertable::bench {

namespace {

int64_t Scaled(double base, double sf) { return std::max<int64_t>(1, std::llround(base * sf)); }

// Text for comments, built from words like dbgen's grammar uses, so that LIKE patterns such as
// '%special%requests%' (Q13) select a small fraction of rows.
constexpr const char* kWords =
    "['furiously', 'special', 'requests', 'packages', 'deposits', 'accounts', 'carefully', "
    "'blithely', 'quickly', 'slyly', 'regular', 'express', 'final', 'pending', 'ironic', 'bold', "
    "'even', 'silent', 'unusual', 'daring', 'theodolites', 'pinto', 'beans', 'instructions', "
    "'dependencies', 'excuses', 'platelets', 'asymptotes', 'courts', 'dolphins', 'multipliers', "
    "'sauternes', 'warthogs', 'frets', 'dinos', 'attainments', 'somas', 'foxes', 'ideas', "
    "'sleep', 'wake', 'haggle', 'nag', 'use', 'boost', 'affix', 'detect', 'integrate', 'cajole', "
    "'among', 'above', 'across', 'along', 'after']";

// The 92 colours of TPC-H's P_NAME.
constexpr const char* kColors =
    "['almond', 'antique', 'aquamarine', 'azure', 'beige', 'bisque', 'black', 'blanched', "
    "'blue', 'blush', 'brown', 'burlywood', 'burnished', 'chartreuse', 'chiffon', 'chocolate', "
    "'coral', 'cornflower', 'cornsilk', 'cream', 'cyan', 'dark', 'deep', 'dim', 'dodger', "
    "'drab', 'firebrick', 'floral', 'forest', 'frosted', 'gainsboro', 'ghost', 'goldenrod', "
    "'green', 'grey', 'honeydew', 'hot', 'indian', 'ivory', 'khaki', 'lace', 'lavender', 'lawn', "
    "'lemon', 'light', 'lime', 'linen', 'magenta', 'maroon', 'medium', 'metallic', 'midnight', "
    "'mint', 'misty', 'moccasin', 'navajo', 'navy', 'olive', 'orange', 'orchid', 'pale', "
    "'papaya', 'peach', 'peru', 'pink', 'plum', 'powder', 'puff', 'purple', 'red', 'rose', "
    "'rosy', 'royal', 'saddle', 'salmon', 'sandy', 'seashell', 'sienna', 'sky', 'slate', "
    "'smoke', 'snow', 'spring', 'steel', 'tan', 'thistle', 'tomato', 'turquoise', 'violet', "
    "'wheat', 'white', 'yellow']";

}  // namespace

TpchSizes TpchSizes::For(double sf) {
  return {Scaled(10'000, sf), Scaled(200'000, sf), Scaled(150'000, sf), Scaled(1'500'000, sf),
          Scaled(1'000, sf)};
}

std::vector<std::string> TpchSetupSql(double sf) {
  TpchSizes n = TpchSizes::For(sf);
  // Customers with a key divisible by 3 place no orders (as in dbgen, so Q13 finds customers
  // without orders): pick r in [0, 2C/3) and map it to the r-th key that is not.
  int64_t order_customers = std::max<int64_t>(1, n.customer * 2 / 3);
  return {
      // A deterministic pseudo-random integer in [0, n): salt separates the columns.
      "CREATE MACRO rnd(i, salt, n) AS CAST(hash(i, salt) % CAST(n AS UBIGINT) AS BIGINT)",
      "CREATE MACRO pick(lst, i, salt) AS lst[rnd(i, salt, len(lst)) + 1]",
      fmt::format("CREATE MACRO word(i, salt) AS pick({}, i, salt)", kWords),
      fmt::format("CREATE MACRO color(i, salt) AS pick({}, i, salt)", kColors),
      "CREATE MACRO blurb(i, salt) AS word(i, salt) || ' ' || word(i, salt + 100) || ' ' || "
      "word(i, salt + 200) || CASE WHEN rnd(i, salt + 300, 2) = 0 THEN ' ' || word(i, salt + 400) "
      "ELSE '' END",
      "CREATE MACRO addr(i, salt) AS substr(md5(CAST(i AS VARCHAR) || '-' || CAST(salt AS "
      "VARCHAR)), 1, CAST(10 + rnd(i, salt, 21) AS INTEGER))",
      "CREATE MACRO phone(nk, i, salt) AS CAST(nk + 10 AS VARCHAR) || '-' || CAST(100 + rnd(i, "
      "salt, 900) AS VARCHAR) || '-' || CAST(100 + rnd(i, salt + 1, 900) AS VARCHAR) || '-' || "
      "CAST(1000 + rnd(i, salt + 2, 9000) AS VARCHAR)",
      "CREATE MACRO acctbal(i, salt) AS CAST((rnd(i, salt, 1099999) - 99999) / 100 AS "
      "DECIMAL(15,2))",
      // TPC-H's P_RETAILPRICE formula; lineitem's extended price is quantity times this.
      "CREATE MACRO retail(pk) AS CAST((90000 + ((pk // 10) % 20001) + 100 * (pk % 1000)) / 100 "
      "AS DECIMAL(15,2))",
      // Order headers: dbgen's sparse order keys (8 of every 32), order dates from 1992-01-01 to
      // 1998-08-02, 1 to 7 lines per order.
      fmt::format(R"(CREATE TEMP TABLE order_base AS
SELECT (i // 8) * 32 + i % 8 + 1 AS o_orderkey,
       CAST((c // 2) * 3 + c % 2 + 1 AS INTEGER) AS o_custkey,
       DATE '1992-01-01' + CAST(rnd(i, 2, 2406) AS INTEGER) AS o_orderdate,
       1 + rnd(i, 3, 7) AS nlines
FROM (SELECT i, rnd(i, 1, {}) AS c FROM range({}) AS t(i)) AS s)",
                  order_customers, n.orders),
  };
}

std::vector<TpchStep> TpchSteps(double sf, const std::string& dir) {
  TpchSizes n = TpchSizes::For(sf);
  auto out = [&](const std::string& table) { return sql::Literal(dir + "/" + table + ".parquet"); };
  auto copy = [&](const std::string& table, const std::string& select) {
    return fmt::format("COPY (\n{}\n) TO {} (FORMAT parquet, COMPRESSION zstd)", select,
                       out(table));
  };
  std::vector<TpchStep> steps;

  steps.push_back(
      {"region", 5, copy("region", R"(SELECT CAST(k AS INTEGER) AS r_regionkey, name AS r_name,
       blurb(k, 81) AS r_comment
FROM (VALUES (0, 'AFRICA'), (1, 'AMERICA'), (2, 'ASIA'), (3, 'EUROPE'), (4, 'MIDDLE EAST'))
  AS v(k, name))")});

  steps.push_back(
      {"nation", 25, copy("nation", R"(SELECT CAST(k AS INTEGER) AS n_nationkey, name AS n_name,
       CAST(r AS INTEGER) AS n_regionkey, blurb(k, 71) AS n_comment
FROM (VALUES (0, 'ALGERIA', 0), (1, 'ARGENTINA', 1), (2, 'BRAZIL', 1), (3, 'CANADA', 1),
  (4, 'EGYPT', 4), (5, 'ETHIOPIA', 0), (6, 'FRANCE', 3), (7, 'GERMANY', 3), (8, 'INDIA', 2),
  (9, 'INDONESIA', 2), (10, 'IRAN', 4), (11, 'IRAQ', 4), (12, 'JAPAN', 2), (13, 'JORDAN', 4),
  (14, 'KENYA', 0), (15, 'MOROCCO', 0), (16, 'MOZAMBIQUE', 0), (17, 'PERU', 1), (18, 'CHINA', 2),
  (19, 'ROMANIA', 3), (20, 'SAUDI ARABIA', 4), (21, 'VIETNAM', 2), (22, 'RUSSIA', 3),
  (23, 'UNITED KINGDOM', 3), (24, 'UNITED STATES', 1)) AS v(k, name, r))")});

  steps.push_back({"supplier", n.supplier,
                   copy("supplier", fmt::format(R"(SELECT CAST(i + 1 AS INTEGER) AS s_suppkey,
       'Supplier#' || lpad(CAST(i + 1 AS VARCHAR), 9, '0') AS s_name,
       addr(i, 61) AS s_address,
       CAST(nk AS INTEGER) AS s_nationkey,
       phone(nk, i, 63) AS s_phone,
       acctbal(i, 66) AS s_acctbal,
       blurb(i, 67) AS s_comment
FROM (SELECT i, rnd(i, 62, 25) AS nk FROM range({}) AS t(i)) AS s)",
                                                n.supplier))});

  steps.push_back({"customer", n.customer,
                   copy("customer", fmt::format(R"(SELECT CAST(i + 1 AS INTEGER) AS c_custkey,
       'Customer#' || lpad(CAST(i + 1 AS VARCHAR), 9, '0') AS c_name,
       addr(i, 31) AS c_address,
       CAST(nk AS INTEGER) AS c_nationkey,
       phone(nk, i, 33) AS c_phone,
       acctbal(i, 36) AS c_acctbal,
       pick(['AUTOMOBILE', 'BUILDING', 'FURNITURE', 'MACHINERY', 'HOUSEHOLD'], i, 37) AS c_mktsegment,
       blurb(i, 38) AS c_comment
FROM (SELECT i, rnd(i, 32, 25) AS nk FROM range({}) AS t(i)) AS s)",
                                                n.customer))});

  steps.push_back({"part", n.part,
                   copy("part", fmt::format(R"(SELECT CAST(i + 1 AS INTEGER) AS p_partkey,
       color(i, 41) || ' ' || color(i, 42) || ' ' || color(i, 43) || ' ' || color(i, 44) || ' ' ||
         color(i, 45) AS p_name,
       'Manufacturer#' || CAST(m AS VARCHAR) AS p_mfgr,
       'Brand#' || CAST(m AS VARCHAR) || CAST(1 + rnd(i, 47, 5) AS VARCHAR) AS p_brand,
       pick(['STANDARD', 'SMALL', 'MEDIUM', 'LARGE', 'ECONOMY', 'PROMO'], i, 48) || ' ' ||
         pick(['ANODIZED', 'BURNISHED', 'PLATED', 'POLISHED', 'BRUSHED'], i, 49) || ' ' ||
         pick(['TIN', 'NICKEL', 'BRASS', 'STEEL', 'COPPER'], i, 50) AS p_type,
       CAST(1 + rnd(i, 51, 50) AS INTEGER) AS p_size,
       pick(['SM', 'LG', 'MED', 'JUMBO', 'WRAP'], i, 52) || ' ' ||
         pick(['CASE', 'BOX', 'BAG', 'JAR', 'PKG', 'PACK', 'CAN', 'DRUM'], i, 53) AS p_container,
       retail(i + 1) AS p_retailprice,
       blurb(i, 54) AS p_comment
FROM (SELECT i, 1 + rnd(i, 46, 5) AS m FROM range({}) AS t(i)) AS s)",
                                            n.part))});

  // Lines of each order: the part uniform, the supplier one of the part's four (dbgen's
  // formula), ship 1-121 days after the order, commit 30-90 days after it, receipt 1-30 days
  // after shipping; return flag and line status from the dates against 1995-06-17, as in TPC-H.
  steps.push_back(
      {"lineitem", n.orders * 4,
       copy("lineitem", fmt::format(R"(WITH l AS (
  SELECT o_orderkey, o_orderdate, unnest(range(1, nlines + 1)) AS ln FROM order_base
), k AS (
  SELECT o_orderkey, o_orderdate, ln, o_orderkey * 8 + ln AS k,
         CAST(1 + rnd(o_orderkey * 8 + ln, 11, {parts}) AS INTEGER) AS l_partkey
  FROM l
), d AS (
  SELECT *, o_orderdate + CAST(1 + rnd(k, 16, 121) AS INTEGER) AS l_shipdate,
         o_orderdate + CAST(30 + rnd(k, 17, 61) AS INTEGER) AS l_commitdate,
         CAST(1 + rnd(k, 13, 50) AS DECIMAL(15,2)) AS l_quantity
  FROM k
), r AS (
  SELECT *, l_shipdate + CAST(1 + rnd(k, 18, 30) AS INTEGER) AS l_receiptdate FROM d
)
SELECT o_orderkey AS l_orderkey,
       l_partkey,
       CAST((l_partkey + rnd(k, 12, 4) * ({supp} // 4 + (l_partkey - 1) // {supp})) % {supp} + 1
            AS INTEGER) AS l_suppkey,
       CAST(ln AS INTEGER) AS l_linenumber,
       l_quantity,
       CAST(l_quantity * retail(l_partkey) AS DECIMAL(15,2)) AS l_extendedprice,
       CAST(rnd(k, 14, 11) / 100 AS DECIMAL(15,2)) AS l_discount,
       CAST(rnd(k, 15, 9) / 100 AS DECIMAL(15,2)) AS l_tax,
       CASE WHEN l_receiptdate <= DATE '1995-06-17'
            THEN CASE WHEN rnd(k, 19, 2) = 0 THEN 'R' ELSE 'A' END ELSE 'N' END AS l_returnflag,
       CASE WHEN l_shipdate > DATE '1995-06-17' THEN 'O' ELSE 'F' END AS l_linestatus,
       l_shipdate, l_commitdate, l_receiptdate,
       pick(['DELIVER IN PERSON', 'COLLECT COD', 'NONE', 'TAKE BACK RETURN'], k, 20)
         AS l_shipinstruct,
       pick(['REG AIR', 'AIR', 'RAIL', 'SHIP', 'TRUCK', 'MAIL', 'FOB'], k, 21) AS l_shipmode,
       blurb(k, 22) AS l_comment
FROM r)",
                                    fmt::arg("parts", n.part), fmt::arg("supp", n.supplier)))});

  // Status and total price come from the order's lines, as in dbgen.
  steps.push_back({"orders", n.orders,
                   copy("orders", fmt::format(R"(SELECT b.o_orderkey, b.o_custkey,
       CASE WHEN a.f = a.n THEN 'F' WHEN a.f = 0 THEN 'O' ELSE 'P' END AS o_orderstatus,
       a.total AS o_totalprice,
       b.o_orderdate,
       pick(['1-URGENT', '2-HIGH', '3-MEDIUM', '4-NOT SPECIFIED', '5-LOW'], b.o_orderkey, 5)
         AS o_orderpriority,
       'Clerk#' || lpad(CAST(1 + rnd(b.o_orderkey, 6, {clerks}) AS VARCHAR), 9, '0') AS o_clerk,
       CAST(0 AS INTEGER) AS o_shippriority,
       blurb(b.o_orderkey, 7) AS o_comment
FROM order_base AS b JOIN (
  SELECT l_orderkey, count(*) AS n, count(*) FILTER (WHERE l_linestatus = 'F') AS f,
         CAST(sum(l_extendedprice * (1 + l_tax) * (1 - l_discount)) AS DECIMAL(15,2)) AS total
  FROM read_parquet({lineitem}) GROUP BY l_orderkey
) AS a ON a.l_orderkey = b.o_orderkey
ORDER BY b.o_orderkey)",
                                              fmt::arg("clerks", n.clerks),
                                              fmt::arg("lineitem", out("lineitem"))))});
  return steps;
}

}  // namespace supertable::bench
