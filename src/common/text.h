// Small text formatting shared by every front door and tool.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace supertable {

// "512 B", "1.5 KiB", "30.6 MiB": sizes for people (binary units).
std::string FormatBytes(int64_t bytes);

// ASCII letters lowercased, everything else as is: header names, schemes, host names.
std::string AsciiLower(std::string_view s);

// "a, b,,c" -> {"a", "b", "c"}: comma lists in flags and settings, blanks trimmed and dropped.
std::vector<std::string> SplitComma(const std::string& s);

// A directory of the server and the word that stands for it where it must not be shown.
struct PathLabel {
  std::string path;   // absolute, without a trailing slash
  std::string label;  // e.g. "<data>"
};

// `text` with every occurrence of each path replaced by its label, longer paths first (so the
// data root inside the home reads "<data>", not "<home>/data"). For callers who may not learn
// where the server keeps its files.
std::string ScrubPaths(std::string text, std::vector<PathLabel> paths);

// "500ms", "90s", "15m", "12h", "7d"; a bare "0" means zero.
Result<int64_t> ParseDurationMicros(const std::string& text);

// URL percent-decoding of a path segment or query value ("%2F" -> "/"; with `plus_is_space`,
// as in a query string, "+" -> " "); nullopt when a "%" is not followed by two hex digits.
std::optional<std::string> PercentDecode(std::string_view s, bool plus_is_space);
// Percent-encodes everything but RFC 3986's unreserved characters (and '/' with keep_slash): a
// query string's values, and AWS's canonical URIs (SigV4's UriEncode is exactly this).
std::string PercentEncode(std::string_view s, bool keep_slash = false);

// Text with the five markup characters (< > & " ') as entities: safe as XML and HTML text and
// attribute values.
std::string MarkupEscape(std::string_view text);

// The name=value pairs of application/x-www-form-urlencoded text (a query string, a form body),
// percent-decoded, in order; empty pieces skipped. InvalidArgument for bad percent-encoding.
Result<std::vector<std::pair<std::string, std::string>>> ParseUrlEncoded(std::string_view text);

// Constant-time comparison, for secrets: the time taken does not depend on where they differ.
bool SecretEquals(std::string_view a, std::string_view b);

}  // namespace supertable
