// multipart/form-data (RFC 7578), the body of a browser's upload form: the boundary from the
// Content-Type, and the parts of a body held in memory (a mapped file: the REST door spools
// uploads to disk). Strict: a body that does not follow the format is an error that says where.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace supertable {

struct FormPart {
  std::string name;          // Content-Disposition's name
  std::string filename;      // its filename, "" for a plain field
  std::string content_type;  // the part's Content-Type, "" when absent
  std::string_view body;     // a view into the parsed data
};

// The boundary of a "multipart/form-data; boundary=..." Content-Type; nullopt when it is not one
// or names no valid boundary (1-70 characters, RFC 2046).
std::optional<std::string> MultipartBoundary(const std::string& content_type);

// The parts of `data`, at most `max_parts`.
Result<std::vector<FormPart>> ParseMultipart(std::string_view data, const std::string& boundary,
                                             size_t max_parts = 64);

}  // namespace supertable
