// A small jq lexer: enough to tell code from strings, comments and field names.
#include "library/jq_gate.h"

#include <cctype>
#include <functional>
#include <vector>

#include <fmt/format.h>

namespace supertable::library {
namespace {

bool IdentStart(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool IdentChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

struct Token {
  // kPlaceholder: the seed YAML's `${name}`, in code or (in_string) in a string's text.
  enum Kind { kName, kVariable, kPlaceholder } kind;
  std::string text;  // "env", "foo::bar"; a variable or placeholder without its '$' and braces
  size_t offset;
  size_t length = 0;  // of a placeholder, in the program
  bool in_string = false;
};

// A `${name}` at p[i], as a placeholder token; false when there is none.
bool Placeholder(const std::string& p, size_t i, bool in_string, Token* t) {
  if (p[i] != '$' || i + 2 >= p.size() || p[i + 1] != '{' || !IdentStart(p[i + 2])) return false;
  size_t j = i + 2;
  while (j < p.size() && IdentChar(p[j])) ++j;
  if (j >= p.size() || p[j] != '}') return false;
  *t = {Token::kPlaceholder, p.substr(i + 2, j - i - 2), i, j + 1 - i, in_string};
  return true;
}

// Walks the code of `p` (outside strings and comments, including the code of string
// interpolations) and reports names and variables. False with *error when a string is not
// closed.
bool Lex(const std::string& p, const std::function<void(const Token&)>& emit, std::string* error) {
  // A stack of what we are inside: code (the top level or an interpolation, with its paren
  // depth) or a string.
  struct Frame {
    bool string;
    int parens;
  };
  std::vector<Frame> stack = {{false, 0}};
  size_t i = 0;
  size_t string_start = 0;
  while (i < p.size()) {
    char c = p[i];
    Token placeholder;
    if (Placeholder(p, i, stack.back().string, &placeholder)) {
      emit(placeholder);
      i += placeholder.length;
      continue;
    }
    if (stack.back().string) {
      if (c == '\\' && i + 1 < p.size()) {
        if (p[i + 1] == '(') {
          stack.push_back({false, 0});
          i += 2;
          continue;
        }
        i += 2;
        continue;
      }
      if (c == '"') stack.pop_back();
      ++i;
      continue;
    }
    if (c == '#') {
      while (i < p.size() && p[i] != '\n') ++i;
      continue;
    }
    if (c == '"') {
      string_start = i;
      stack.push_back({true, 0});
      ++i;
      continue;
    }
    if (c == '(') {
      ++stack.back().parens;
    } else if (c == ')') {
      if (stack.size() > 1 && stack.back().parens == 0) {
        stack.pop_back();  // the end of an interpolation: back in its string
        ++i;
        continue;
      }
      --stack.back().parens;
    }
    if (c == '$' && i + 1 < p.size() && IdentStart(p[i + 1])) {
      size_t j = i + 1;
      while (j < p.size() && IdentChar(p[j])) ++j;
      emit({Token::kVariable, p.substr(i + 1, j - i - 1), i});
      i = j;
      continue;
    }
    if (IdentStart(c)) {
      size_t j = i;
      for (;;) {
        while (j < p.size() && IdentChar(p[j])) ++j;
        if (j + 2 < p.size() && p[j] == ':' && p[j + 1] == ':' && IdentStart(p[j + 2])) {
          j += 2;
          continue;
        }
        break;
      }
      // A field (.name, ?.name) or a format (@base64) is not a call.
      size_t k = i;
      while (k > 0 && std::isspace(static_cast<unsigned char>(p[k - 1]))) --k;
      bool field = k > 0 && (p[k - 1] == '.' || p[k - 1] == '@');
      if (!field) emit({Token::kName, p.substr(i, j - i), i});
      i = j;
      continue;
    }
    if (std::isdigit(static_cast<unsigned char>(c))) {
      // A number such as 1e18: its letters are not names.
      while (i < p.size() && (std::isalnum(static_cast<unsigned char>(p[i])) || p[i] == '.')) ++i;
      continue;
    }
    ++i;
  }
  if (stack.size() > 1) {
    if (error) *error = fmt::format("a string opened at offset {} is never closed", string_start);
    return false;
  }
  return true;
}

std::string Where(const std::string& p, size_t offset) {
  size_t line = 1, col = 1;
  for (size_t i = 0; i < offset && i < p.size(); ++i) {
    if (p[i] == '\n') {
      ++line;
      col = 1;
    } else {
      ++col;
    }
  }
  return fmt::format("line {}, column {}", line, col);
}

const std::set<std::string>& Keywords() {
  static const std::set<std::string> k = {"def",   "if",    "then",   "elif",    "else",
                                          "end",   "as",    "reduce", "foreach", "try",
                                          "catch", "label", "and",    "or",      "__loc__"};
  return k;
}

const char* ForbiddenReason(const Token& t) {
  if (t.kind == Token::kPlaceholder) return nullptr;  // not jq: converted before the gate
  static const std::set<std::string> kNames = {
      "env",    "input",   "inputs",     "input_filename", "input_line_number",
      "import", "include", "modulemeta", "halt",           "halt_error",
      "debug",  "stderr"};
  if (t.kind == Token::kVariable) {
    if (t.text == "ENV") return "reads the server's environment";
    if (t.text.rfind("__", 0) == 0) return "tells where the program came from";
    return nullptr;
  }
  std::string base =
      t.text.substr(t.text.rfind(':') == std::string::npos ? 0 : t.text.rfind(':') + 1);
  if (t.text.find("::") != std::string::npos) return "calls into a module";
  if (base.rfind("get_", 0) == 0) return "reads the server's paths";
  if (!kNames.count(base)) return nullptr;
  if (base == "env") return "reads the server's environment";
  if (base.rfind("input", 0) == 0) return "reads beyond the tool's input";
  if (base == "import" || base == "include" || base == "modulemeta") return "loads modules";
  if (base.rfind("halt", 0) == 0) return "stops the worker";
  return "writes to the server's log streams";
}

}  // namespace

Status CheckJqProgram(const std::string& program) {
  std::string error, refused;
  bool ok = Lex(
      program,
      [&](const Token& t) {
        if (!refused.empty()) return;
        if (const char* why = ForbiddenReason(t)) {
          refused = fmt::format("'{}{}' is not allowed in library jq programs ({}; at {})",
                                t.kind == Token::kVariable ? "$" : "", t.text, why,
                                Where(program, t.offset));
        }
      },
      &error);
  if (!ok) return Status::InvalidArgument("the jq program does not parse: " + error);
  if (!refused.empty()) return Status::InvalidArgument(refused);
  return Status::Ok();
}

std::set<std::string> JqNamesUsed(const std::string& program) {
  std::set<std::string> out;
  Lex(
      program,
      [&](const Token& t) {
        if (t.kind == Token::kName && !Keywords().count(t.text)) out.insert(t.text);
      },
      nullptr);
  return out;
}

std::set<std::string> JqVariablesUsed(const std::string& program) {
  std::set<std::string> out;
  Lex(
      program,
      [&](const Token& t) {
        if (t.kind == Token::kVariable) out.insert(t.text);
      },
      nullptr);
  return out;
}

std::string JqPlaceholdersToVariables(const std::string& p) {
  std::string out;
  size_t copied = 0;
  Lex(
      p,
      [&](const Token& t) {
        if (t.kind != Token::kPlaceholder) return;
        out.append(p, copied, t.offset - copied);
        out += t.in_string ? "\\($" + t.text + ")" : "$" + t.text;
        copied = t.offset + t.length;
      },
      nullptr);
  out.append(p, copied, std::string::npos);
  return out;
}

}  // namespace supertable::library
