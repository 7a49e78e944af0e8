// XmlScan: just enough XML reading for object-store answers (listings, upload ids, error
// codes). These documents are flat and machine-written, so a scanner that finds elements by name
// and decodes entities is enough; a full parser would add a dependency for nothing.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace supertable {

// The decoded text of the first <name>...</name> in `xml`; nullopt when absent.
std::optional<std::string> XmlText(std::string_view xml, std::string_view name);

// The inner XML of every <name>...</name> in `xml`, in order (not decoded: scan them further).
std::vector<std::string_view> XmlElements(std::string_view xml, std::string_view name);

// &lt; &gt; &amp; &quot; &apos; and numeric references decoded.
std::string XmlDecode(std::string_view text);

}  // namespace supertable
