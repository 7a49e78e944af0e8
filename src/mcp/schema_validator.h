// A JSON Schema (2020-12) validator for the subset tool input schemas use: type (incl. arrays
// of types), properties, required, additionalProperties (bool), enum, const, minimum, maximum,
// minLength, maxLength, pattern-free strings, items, minItems, maxItems. Unknown keywords are
// ignored, as the specification asks of annotations.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace supertable::mcp {

// Empty when `value` is valid; otherwise one sentence naming the first problem and its path
// ("arguments.limit: expected an integer >= 1, got -5").
std::string ValidateAgainstSchema(const nlohmann::json& schema, const nlohmann::json& value,
                                  const std::string& path = "arguments");

}  // namespace supertable::mcp
