// DuckDB Value -> JSON.
#include "engine/value_encoding.h"

#include <duckdb.hpp>
#include <duckdb/common/types/blob.hpp>

#include <cmath>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace supertable {

using duckdb::LogicalTypeId;
using nlohmann::json;

namespace {

constexpr int64_t kMaxSafeInteger = (int64_t{1} << 53) - 1;

json EncodeFloat(double d) {
  if (std::isnan(d)) return "NaN";
  if (std::isinf(d)) return d > 0 ? "Infinity" : "-Infinity";
  return d;
}

json EncodeInteger(int64_t v) {
  // JSON readers (JavaScript above all) lose precision past 2^53: send those as strings.
  if (v > kMaxSafeInteger || v < -kMaxSafeInteger) return std::to_string(v);
  return v;
}

std::string IsoTimestamp(const duckdb::Value& v, bool tz) {
  // DuckDB prints "2024-01-02 03:04:05.123456[+00]" (and "03:04:05+02" for TIMETZ); ISO 8601
  // wants a 'T' and a full "+HH:MM" offset, "Z" for UTC.
  std::string s = v.ToString();
  if (s.size() > 10 && s[10] == ' ') s[10] = 'T';
  if (tz) {
    size_t time_start = s.find(':');
    size_t sign = s.find_last_of("+-");
    if (time_start != std::string::npos && sign != std::string::npos && sign > time_start) {
      std::string off = s.substr(sign);
      if (off.size() == 3) off += ":00";
      s = s.substr(0, sign) + (off == "+00:00" ? "Z" : off);
    }
  }
  return s;
}

std::string IsoInterval(const duckdb::interval_t& iv) {
  int64_t years = iv.months / 12, months = iv.months % 12;
  int64_t micros = iv.micros;
  bool neg_time = micros < 0;
  if (neg_time) micros = -micros;
  int64_t hours = micros / 3600000000LL;
  micros %= 3600000000LL;
  int64_t minutes = micros / 60000000LL;
  micros %= 60000000LL;
  std::string out = "P";
  if (years) out += fmt::format("{}Y", years);
  if (months) out += fmt::format("{}M", months);
  if (iv.days) out += fmt::format("{}D", iv.days);
  if (hours || minutes || micros) {
    std::string sign = neg_time ? "-" : "";
    out += "T";
    if (hours) out += fmt::format("{}{}H", sign, hours);
    if (minutes) out += fmt::format("{}{}M", sign, minutes);
    if (micros) {
      std::string secs = fmt::format("{}.{:06d}", micros / 1000000, micros % 1000000);
      while (secs.back() == '0') secs.pop_back();
      if (secs.back() == '.') secs.pop_back();
      out += sign + secs + "S";
    }
  }
  return out == "P" ? "PT0S" : out;
}

}  // namespace

json EncodeValue(const duckdb::Value& v) {
  if (v.IsNull()) return nullptr;
  const auto& type = v.type();
  switch (type.id()) {
    case LogicalTypeId::BOOLEAN:
      return v.GetValue<bool>();
    case LogicalTypeId::TINYINT:
    case LogicalTypeId::SMALLINT:
    case LogicalTypeId::INTEGER:
    case LogicalTypeId::BIGINT:
    case LogicalTypeId::UTINYINT:
    case LogicalTypeId::USMALLINT:
    case LogicalTypeId::UINTEGER:
      return EncodeInteger(v.GetValue<int64_t>());
    case LogicalTypeId::UBIGINT: {
      uint64_t u = v.GetValue<uint64_t>();
      if (u > static_cast<uint64_t>(kMaxSafeInteger)) return std::to_string(u);
      return static_cast<int64_t>(u);
    }
    case LogicalTypeId::HUGEINT:
    case LogicalTypeId::UHUGEINT:
    case LogicalTypeId::DECIMAL:
    case LogicalTypeId::BIT:
    case LogicalTypeId::UUID:
    case LogicalTypeId::TIME:
    case LogicalTypeId::DATE:
      return v.ToString();  // exact text; ISO 8601 for DATE/TIME already
    case LogicalTypeId::FLOAT:
    case LogicalTypeId::DOUBLE:
      return EncodeFloat(v.GetValue<double>());
    case LogicalTypeId::TIMESTAMP:
    case LogicalTypeId::TIMESTAMP_SEC:
    case LogicalTypeId::TIMESTAMP_MS:
    case LogicalTypeId::TIMESTAMP_NS:
      return IsoTimestamp(v, false);
    case LogicalTypeId::TIMESTAMP_TZ:
    case LogicalTypeId::TIME_TZ:
      return IsoTimestamp(v, true);
    case LogicalTypeId::INTERVAL:
      return IsoInterval(v.GetValue<duckdb::interval_t>());
    case LogicalTypeId::BLOB: {
      const auto& s = duckdb::StringValue::Get(v);
      return duckdb::Blob::ToBase64(duckdb::string_t(s.data(), static_cast<uint32_t>(s.size())));
    }
    case LogicalTypeId::LIST:
    case LogicalTypeId::ARRAY: {
      json arr = json::array();
      const auto& children = type.id() == LogicalTypeId::LIST ? duckdb::ListValue::GetChildren(v)
                                                              : duckdb::ArrayValue::GetChildren(v);
      for (const auto& c : children) arr.push_back(EncodeValue(c));
      return arr;
    }
    case LogicalTypeId::STRUCT: {
      json obj = json::object();
      const auto& children = duckdb::StructValue::GetChildren(v);
      for (size_t i = 0; i < children.size(); ++i) {
        obj[duckdb::StructType::GetChildName(type, i)] = EncodeValue(children[i]);
      }
      return obj;
    }
    case LogicalTypeId::MAP: {
      const auto& entries = duckdb::ListValue::GetChildren(v);
      bool text_keys = duckdb::MapType::KeyType(type).id() == LogicalTypeId::VARCHAR;
      json out = text_keys ? json::object() : json::array();
      for (const auto& e : entries) {
        const auto& kv = duckdb::StructValue::GetChildren(e);
        if (text_keys) {
          out[kv[0].ToString()] = EncodeValue(kv[1]);
        } else {
          out.push_back(json::array({EncodeValue(kv[0]), EncodeValue(kv[1])}));
        }
      }
      return out;
    }
    case LogicalTypeId::UNION:
      return EncodeValue(duckdb::UnionValue::GetValue(v));
    case LogicalTypeId::VARCHAR:
      return duckdb::StringValue::Get(v);
    default:
      return v.ToString();
  }
}

bool DecodeParameter(const nlohmann::json& v, duckdb::Value* out) {
  switch (v.type()) {
    case nlohmann::json::value_t::null:
      *out = duckdb::Value();
      return true;
    case nlohmann::json::value_t::boolean:
      *out = duckdb::Value::BOOLEAN(v.get<bool>());
      return true;
    case nlohmann::json::value_t::number_integer:
      *out = duckdb::Value::BIGINT(v.get<int64_t>());
      return true;
    case nlohmann::json::value_t::number_unsigned:
      *out = duckdb::Value::UBIGINT(v.get<uint64_t>());
      return true;
    case nlohmann::json::value_t::number_float:
      *out = duckdb::Value::DOUBLE(v.get<double>());
      return true;
    case nlohmann::json::value_t::string:
      *out = duckdb::Value(v.get<std::string>());
      return true;
    case nlohmann::json::value_t::array: {
      duckdb::vector<duckdb::Value> items;
      for (const auto& item : v) {
        duckdb::Value d;
        if (item.is_array() || item.is_object() || !DecodeParameter(item, &d)) return false;
        items.push_back(std::move(d));
      }
      duckdb::LogicalType type = duckdb::LogicalType::VARCHAR;
      for (const auto& d : items) {
        if (d.IsNull()) continue;
        if (type != duckdb::LogicalType::VARCHAR && d.type() != type) return false;
        type = d.type();
      }
      for (const auto& d : items) {
        if (!d.IsNull() && d.type() != type) return false;  // mixed kinds
      }
      for (auto& d : items) {
        if (d.IsNull()) d = duckdb::Value(type);
      }
      *out = duckdb::Value::LIST(type, std::move(items));
      return true;
    }
    default:
      return false;
  }
}

}  // namespace supertable
