// JSON Schema subset validation.
#include "mcp/schema_validator.h"

#include <fmt/format.h>

namespace supertable::mcp {

using nlohmann::json;

namespace {

bool HasType(const json& v, const std::string& t) {
  if (t == "object") return v.is_object();
  if (t == "array") return v.is_array();
  if (t == "string") return v.is_string();
  if (t == "integer")
    return v.is_number_integer() ||
           (v.is_number_float() &&
            v.get<double>() == static_cast<double>(static_cast<int64_t>(v.get<double>())));
  if (t == "number") return v.is_number();
  if (t == "boolean") return v.is_boolean();
  if (t == "null") return v.is_null();
  return true;
}

std::string Brief(const json& v) {
  std::string s = v.dump(-1, ' ', false, json::error_handler_t::replace);
  return s.size() > 60 ? s.substr(0, 57) + "..." : s;
}

}  // namespace

std::string ValidateAgainstSchema(const json& schema, const json& v, const std::string& path) {
  if (!schema.is_object()) return "";
  if (schema.contains("type")) {
    const json& t = schema["type"];
    bool ok = false;
    std::string expected;
    if (t.is_string()) {
      ok = HasType(v, t);
      expected = t;
    } else if (t.is_array()) {
      for (const auto& one : t) {
        ok = ok || HasType(v, one);
        expected += (expected.empty() ? "" : " or ") + one.get<std::string>();
      }
    }
    if (!ok) return fmt::format("{}: expected {}, got {}", path, expected, Brief(v));
  }
  if (schema.contains("enum")) {
    bool found = false;
    for (const auto& e : schema["enum"]) found = found || e == v;
    if (!found)
      return fmt::format("{}: expected one of {}, got {}", path, schema["enum"].dump(), Brief(v));
  }
  if (schema.contains("const") && schema["const"] != v) {
    return fmt::format("{}: expected {}, got {}", path, schema["const"].dump(), Brief(v));
  }
  if (v.is_number()) {
    double d = v.get<double>();
    if (schema.contains("minimum") && d < schema["minimum"].get<double>()) {
      return fmt::format("{}: must be >= {}, got {}", path, schema["minimum"].dump(), Brief(v));
    }
    if (schema.contains("maximum") && d > schema["maximum"].get<double>()) {
      return fmt::format("{}: must be <= {}, got {}", path, schema["maximum"].dump(), Brief(v));
    }
  }
  if (v.is_string()) {
    size_t n = 0;
    for (unsigned char c : v.get_ref<const std::string&>()) n += (c & 0xC0) != 0x80;
    if (schema.contains("minLength") && n < schema["minLength"].get<size_t>()) {
      return fmt::format("{}: must be at least {} characters", path,
                         schema["minLength"].get<size_t>());
    }
    if (schema.contains("maxLength") && n > schema["maxLength"].get<size_t>()) {
      return fmt::format("{}: must be at most {} characters", path,
                         schema["maxLength"].get<size_t>());
    }
  }
  if (v.is_array()) {
    if (schema.contains("minItems") && v.size() < schema["minItems"].get<size_t>()) {
      return fmt::format("{}: needs at least {} items", path, schema["minItems"].get<size_t>());
    }
    if (schema.contains("maxItems") && v.size() > schema["maxItems"].get<size_t>()) {
      return fmt::format("{}: allows at most {} items", path, schema["maxItems"].get<size_t>());
    }
    if (schema.contains("items")) {
      for (size_t i = 0; i < v.size(); ++i) {
        std::string e =
            ValidateAgainstSchema(schema["items"], v[i], fmt::format("{}[{}]", path, i));
        if (!e.empty()) return e;
      }
    }
  }
  if (v.is_object()) {
    if (schema.contains("required")) {
      for (const auto& r : schema["required"]) {
        if (!v.contains(r.get<std::string>())) {
          return fmt::format("{}: missing required property '{}'", path, r.get<std::string>());
        }
      }
    }
    const json props = schema.value("properties", json::object());
    for (auto it = v.begin(); it != v.end(); ++it) {
      if (props.contains(it.key())) {
        std::string e = ValidateAgainstSchema(props[it.key()], it.value(), path + "." + it.key());
        if (!e.empty()) return e;
      } else if (schema.contains("additionalProperties") &&
                 schema["additionalProperties"] == false) {
        std::string known;
        for (auto p = props.begin(); p != props.end(); ++p)
          known += (known.empty() ? "" : ", ") + p.key();
        return fmt::format("{}: unknown property '{}' (expected: {})", path, it.key(), known);
      }
    }
  }
  return "";
}

}  // namespace supertable::mcp
