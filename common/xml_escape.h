// Text for XML attribute values and character data.
#ifndef SSIVM_COMMON_XML_ESCAPE_H_
#define SSIVM_COMMON_XML_ESCAPE_H_

#include <string>
#include <string_view>

namespace ssivm {

// `s` with & < > " ' as entities, and the control characters XML 1.0 does
// not allow (all but tab, newline and carriage return) as '?'.
std::string XmlEscape(std::string_view s);

}  // namespace ssivm

#endif  // SSIVM_COMMON_XML_ESCAPE_H_
