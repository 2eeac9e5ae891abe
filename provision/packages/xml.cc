#include "provision/packages/xml.h"

#include <libxml/parser.h>
#include <libxml/xmlerror.h>

#include "common/error.h"

namespace ssivm::provision {
namespace {

struct CtxtFree {
  void operator()(xmlParserCtxt* c) const { xmlFreeParserCtxt(c); }
};

constexpr int kOptions = XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING;

std::string Trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

}  // namespace

XmlDocPtr ParseXml(std::string_view text, const std::string& name) {
  std::unique_ptr<xmlParserCtxt, CtxtFree> ctxt(xmlNewParserCtxt());
  if (!ctxt) throw Error(name + ": cannot create an XML parser");
  XmlDocPtr doc(xmlCtxtReadMemory(ctxt.get(), text.data(), static_cast<int>(text.size()),
                                  name.c_str(), nullptr, kOptions));
  if (!doc || !ctxt->wellFormed) {
    const xmlError* e = xmlCtxtGetLastError(ctxt.get());
    std::string message = e && e->message ? Trim(e->message) : "not well-formed XML";
    int line = e ? e->line : 0;
    throw Error(name + ":" + std::to_string(line) + ": " + message);
  }
  if (xmlDocGetRootElement(doc.get()) == nullptr) throw Error(name + ": empty XML document");
  return doc;
}

std::vector<xmlNode*> Children(const xmlNode* node, const char* name) {
  std::vector<xmlNode*> out;
  for (xmlNode* c = node->children; c != nullptr; c = c->next) {
    if (c->type != XML_ELEMENT_NODE) continue;
    if (name == nullptr || NameOf(c) == name) out.push_back(c);
  }
  return out;
}

xmlNode* Child(const xmlNode* node, const char* name) {
  for (xmlNode* c = node->children; c != nullptr; c = c->next) {
    if (c->type == XML_ELEMENT_NODE && NameOf(c) == name) return c;
  }
  return nullptr;
}

std::string Text(const xmlNode* node) {
  xmlChar* content = xmlNodeGetContent(node);
  if (content == nullptr) return "";
  std::string s(reinterpret_cast<const char*>(content));
  xmlFree(content);
  return Trim(s);
}

std::string Attr(const xmlNode* node, const char* name) {
  xmlChar* v = xmlGetProp(node, reinterpret_cast<const xmlChar*>(name));
  if (v == nullptr) return "";
  std::string s(reinterpret_cast<const char*>(v));
  xmlFree(v);
  return Trim(s);
}

std::string_view NameOf(const xmlNode* node) {
  return reinterpret_cast<const char*>(node->name);
}

}  // namespace ssivm::provision
