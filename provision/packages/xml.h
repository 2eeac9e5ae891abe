// Small RAII helpers over libxml2 for reading OSCAR's XML files.
#ifndef SSIVM_PROVISION_PACKAGES_XML_H_
#define SSIVM_PROVISION_PACKAGES_XML_H_

#include <libxml/tree.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace ssivm::provision {

struct XmlDocFree {
  void operator()(xmlDoc* doc) const { xmlFreeDoc(doc); }
};
using XmlDocPtr = std::unique_ptr<xmlDoc, XmlDocFree>;

// Parses XML (no network, no entity expansion). Throws ssivm::Error
// "NAME:LINE: libxml2's message".
XmlDocPtr ParseXml(std::string_view text, const std::string& name);

// The element children of node, optionally only those named name.
std::vector<xmlNode*> Children(const xmlNode* node, const char* name = nullptr);
// The first element child named name, or nullptr.
xmlNode* Child(const xmlNode* node, const char* name);
// The text content, whitespace-trimmed.
std::string Text(const xmlNode* node);
// An attribute's value ("" if absent).
std::string Attr(const xmlNode* node, const char* name);
// The element's name.
std::string_view NameOf(const xmlNode* node);

}  // namespace ssivm::provision

#endif  // SSIVM_PROVISION_PACKAGES_XML_H_
