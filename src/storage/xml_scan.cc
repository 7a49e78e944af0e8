// Element-by-name XML scanning for object-store responses.
#include "storage/xml_scan.h"

#include <cstdlib>

namespace supertable {

namespace {

// Finds the next start tag <name> or <name ...> at or after `from`; returns the offset just past
// it (npos when none). A self-closing <name/> counts as empty: *empty is set.
size_t FindOpen(std::string_view xml, std::string_view name, size_t from, bool* empty,
                size_t* tag_start) {
  while (true) {
    size_t p = xml.find('<', from);
    if (p == std::string_view::npos) return p;
    size_t after = p + 1 + name.size();
    if (xml.compare(p + 1, name.size(), name) == 0 && after < xml.size() &&
        (xml[after] == '>' || xml[after] == ' ' || xml[after] == '/' || xml[after] == '\t' ||
         xml[after] == '\n' || xml[after] == '\r')) {
      size_t close = xml.find('>', after);
      if (close == std::string_view::npos) return std::string_view::npos;
      *empty = xml[close - 1] == '/';
      *tag_start = p;
      return close + 1;
    }
    from = p + 1;
  }
}

}  // namespace

std::vector<std::string_view> XmlElements(std::string_view xml, std::string_view name) {
  std::vector<std::string_view> out;
  const std::string close = "</" + std::string(name) + ">";
  size_t from = 0;
  while (true) {
    bool empty = false;
    size_t tag_start = 0;
    size_t body = FindOpen(xml, name, from, &empty, &tag_start);
    if (body == std::string_view::npos) break;
    if (empty) {
      out.emplace_back();
      from = body;
      continue;
    }
    size_t end = xml.find(close, body);
    if (end == std::string_view::npos) break;
    out.push_back(xml.substr(body, end - body));
    from = end + close.size();
  }
  return out;
}

std::optional<std::string> XmlText(std::string_view xml, std::string_view name) {
  auto all = XmlElements(xml, name);
  if (all.empty()) return std::nullopt;
  return XmlDecode(all.front());
}

std::string XmlDecode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '&') {
      out.push_back(text[i]);
      continue;
    }
    size_t semi = text.find(';', i);
    if (semi == std::string_view::npos || semi - i > 10) {
      out.push_back('&');
      continue;
    }
    std::string_view ent = text.substr(i + 1, semi - i - 1);
    if (ent == "lt")
      out.push_back('<');
    else if (ent == "gt")
      out.push_back('>');
    else if (ent == "amp")
      out.push_back('&');
    else if (ent == "quot")
      out.push_back('"');
    else if (ent == "apos")
      out.push_back('\'');
    else if (!ent.empty() && ent[0] == '#') {
      std::string num(ent.substr(1));
      long cp = num[0] == 'x' ? std::strtol(num.c_str() + 1, nullptr, 16)
                              : std::strtol(num.c_str(), nullptr, 10);
      // UTF-8 encode the code point.
      if (cp < 0x80)
        out.push_back(static_cast<char>(cp));
      else if (cp < 0x800) {
        out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
      } else if (cp < 0x10000) {
        out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
      } else {
        out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
      }
    } else {
      out.append(text.substr(i, semi - i + 1));
    }
    i = semi;
  }
  return out;
}

}  // namespace supertable
