// Validation of the names users give organizations, super tables and tables.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace supertable {

// Names match ^[A-Za-z_][A-Za-z0-9_]*$ and are at most 128 characters; `what` ("table",
// "super table", "organization") appears in the error so the user knows which one was wrong.
Status ValidateName(std::string_view name, std::string_view what);

// Column names may be any non-empty text (CSV headers carry spaces), but the `__st_` prefix is
// reserved for system columns.
Status ValidateColumnName(std::string_view name);

// The candidates closest to `name` by edit distance (case-insensitive), best first; used in
// "did you mean" suggestions.
std::vector<std::string> NearestNames(std::string_view name,
                                      const std::vector<std::string>& candidates,
                                      size_t max_results = 3);

// "unknown table 'ordrs' in super 'shop'" + "; did you mean 'orders'?" when one is close.
std::string DidYouMean(std::string_view name, const std::vector<std::string>& candidates);

}  // namespace supertable
