// SQL quoting helpers.
#include "engine/sql_text.h"

namespace supertable::sql {

namespace {
std::string Wrap(std::string_view text, char q) {
  std::string out(1, q);
  for (char c : text) {
    if (c == q) out += q;
    out += c;
  }
  out += q;
  return out;
}
}  // namespace

std::string Ident(std::string_view name) { return Wrap(name, '"'); }
std::string Literal(std::string_view text) { return Wrap(text, '\''); }

std::string LiteralList(const std::vector<std::string>& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) out += ", ";
    out += Literal(items[i]);
  }
  return out + "]";
}

}  // namespace supertable::sql
