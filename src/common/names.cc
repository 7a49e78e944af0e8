// Name validation and nearest-name suggestions.
#include "common/names.h"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>

namespace supertable {

namespace {
constexpr size_t kMaxNameLength = 128;
constexpr std::string_view kSystemPrefix = "__st_";

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      bool same = std::tolower(static_cast<unsigned char>(a[i - 1])) ==
                  std::tolower(static_cast<unsigned char>(b[j - 1]));
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (same ? 0 : 1)});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}
}  // namespace

Status ValidateName(std::string_view name, std::string_view what) {
  if (name.empty()) return Status::InvalidArgument(fmt::format("{} name is empty", what));
  if (name.size() > kMaxNameLength) {
    return Status::InvalidArgument(
        fmt::format("{} name is {} characters long; at most {} are allowed", what, name.size(),
                    kMaxNameLength));
  }
  bool ok = std::isalpha(static_cast<unsigned char>(name[0])) || name[0] == '_';
  for (char c : name) ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '_');
  if (!ok) {
    return Status::InvalidArgument(
        fmt::format("invalid {} name '{}': expected letters, digits and '_', not starting with a "
                    "digit (^[A-Za-z_][A-Za-z0-9_]*$)",
                    what, name));
  }
  // The organization's audit trail lives under <org>/__audit/ in the object store, where a super
  // table of that name would put its tables (and dropping it would delete the trail).
  if (what == "super table" && name.size() == 7 &&
      std::equal(name.begin(), name.end(), "__audit",
                 [](char a, char b) { return std::tolower(static_cast<unsigned char>(a)) == b; })) {
    return Status::InvalidArgument(
        "super table name '__audit' is reserved for the organization's audit trail; choose "
        "another name");
  }
  return Status::Ok();
}

Status ValidateColumnName(std::string_view name) {
  if (name.empty()) return Status::InvalidArgument("a column has an empty name");
  if (name.substr(0, kSystemPrefix.size()) == kSystemPrefix) {
    return Status::InvalidArgument(
        fmt::format("column name '{}' uses the reserved prefix '{}' (system columns); rename it",
                    name, kSystemPrefix));
  }
  return Status::Ok();
}

std::vector<std::string> NearestNames(std::string_view name,
                                      const std::vector<std::string>& candidates,
                                      size_t max_results) {
  std::vector<std::pair<size_t, std::string>> scored;
  for (const auto& c : candidates) {
    size_t d = EditDistance(name, c);
    // Allow roughly one typo per three characters; more than that is not "near".
    if (d <= std::max<size_t>(2, name.size() / 3)) scored.emplace_back(d, c);
  }
  std::sort(scored.begin(), scored.end());
  std::vector<std::string> out;
  for (size_t i = 0; i < scored.size() && i < max_results; ++i) out.push_back(scored[i].second);
  return out;
}

std::string DidYouMean(std::string_view name, const std::vector<std::string>& candidates) {
  auto near = NearestNames(name, candidates, 3);
  if (near.empty()) return "";
  std::string s = "; did you mean ";
  for (size_t i = 0; i < near.size(); ++i) {
    if (i) s += i + 1 == near.size() ? " or " : ", ";
    s += "'" + near[i] + "'";
  }
  return s + "?";
}

}  // namespace supertable
