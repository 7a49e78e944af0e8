// multipart/form-data parsing.
#include "api/multipart.h"

#include <fmt/format.h>

#include "common/text.h"

namespace supertable {

namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// The value of `key` among a header's ";"-separated parameters (name="x"; filename="y.csv"),
// unquoted; nullopt when absent.
std::optional<std::string> Parameter(std::string_view header, std::string_view key) {
  size_t i = header.find(';');
  while (i != std::string_view::npos && i < header.size()) {
    std::string_view rest = header.substr(i + 1);
    size_t eq = rest.find('=');
    if (eq == std::string_view::npos) return std::nullopt;
    std::string_view name = Trim(rest.substr(0, eq));
    std::string_view value = rest.substr(eq + 1);
    while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    std::string out;
    size_t end = 0;
    if (!value.empty() && value.front() == '"') {
      for (end = 1; end < value.size() && value[end] != '"'; ++end) {
        if (value[end] == '\\' && end + 1 < value.size()) ++end;
        out += value[end];
      }
      if (end >= value.size()) return std::nullopt;  // unterminated quote
      ++end;
    } else {
      end = value.find(';');
      if (end == std::string_view::npos) end = value.size();
      out = std::string(Trim(value.substr(0, end)));
    }
    if (AsciiLower(name) == key) return out;
    size_t next = value.find(';', end);
    if (next == std::string_view::npos) return std::nullopt;
    i = (value.data() - header.data()) + next;
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> MultipartBoundary(const std::string& content_type) {
  std::string lower = AsciiLower(content_type);
  if (Trim(std::string_view(lower).substr(0, lower.find(';'))) != "multipart/form-data") {
    return std::nullopt;
  }
  auto b = Parameter(content_type, "boundary");
  if (!b || b->empty() || b->size() > 70 || b->back() == ' ') return std::nullopt;
  for (char c : *b) {
    if (c < 0x20 || c > 0x7e) return std::nullopt;
  }
  return b;
}

Result<std::vector<FormPart>> ParseMultipart(std::string_view data, const std::string& boundary,
                                             size_t max_parts) {
  const std::string dash = "--" + boundary;
  const std::string delimiter = "\r\n" + dash;
  auto bad = [](const std::string& what) {
    return Status::InvalidArgument("malformed multipart/form-data body: " + what);
  };
  // The preamble (usually empty) ends at the first boundary line.
  size_t pos;
  if (data.substr(0, dash.size()) == dash) {
    pos = dash.size();
  } else {
    size_t first = data.find(delimiter);
    if (first == std::string_view::npos) return bad("no boundary line '" + dash + "'");
    pos = first + delimiter.size();
  }
  std::vector<FormPart> parts;
  for (;;) {
    // After a boundary: "--" ends the body, CRLF starts a part.
    if (data.substr(pos, 2) == "--") return parts;
    // Transport padding (spaces and tabs) may follow the boundary.
    while (pos < data.size() && (data[pos] == ' ' || data[pos] == '\t')) ++pos;
    if (data.substr(pos, 2) != "\r\n") return bad("a boundary line is not followed by CRLF");
    pos += 2;
    if (parts.size() >= max_parts) {
      return bad(fmt::format("more than {} parts; send one file and its fields", max_parts));
    }
    size_t headers_end = data.find("\r\n\r\n", pos);
    size_t immediate = data.substr(pos, 2) == "\r\n" ? pos : std::string_view::npos;
    if (headers_end == std::string_view::npos && immediate == std::string_view::npos) {
      return bad("a part's headers do not end (a blank line is expected)");
    }
    FormPart part;
    size_t body_start;
    if (immediate != std::string_view::npos) {
      body_start = pos + 2;  // a part without headers
    } else {
      if (headers_end - pos > 16384) return bad("a part's headers exceed 16 KiB");
      std::string_view headers = data.substr(pos, headers_end - pos);
      body_start = headers_end + 4;
      size_t h = 0;
      while (h <= headers.size()) {
        size_t eol = headers.find("\r\n", h);
        if (eol == std::string_view::npos) eol = headers.size();
        std::string_view line = headers.substr(h, eol - h);
        h = eol + 2;
        if (line.empty()) continue;
        size_t colon = line.find(':');
        if (colon == std::string_view::npos) return bad("a part header has no ':'");
        std::string name = AsciiLower(Trim(line.substr(0, colon)));
        std::string value(Trim(line.substr(colon + 1)));
        if (name == "content-disposition") {
          if (AsciiLower(Trim(std::string_view(value).substr(0, value.find(';')))) != "form-data") {
            return bad("a part's Content-Disposition is not form-data");
          }
          part.name = Parameter(value, "name").value_or("");
          part.filename = Parameter(value, "filename").value_or("");
        } else if (name == "content-type") {
          part.content_type = value;
        }
      }
      if (part.name.empty()) return bad("a part has no Content-Disposition name");
    }
    size_t end = data.find(delimiter, body_start);
    if (end == std::string_view::npos) {
      return bad("the body ends inside a part (the closing boundary is missing: a cut upload?)");
    }
    part.body = data.substr(body_start, end - body_start);
    parts.push_back(std::move(part));
    pos = end + delimiter.size();
  }
}

}  // namespace supertable
