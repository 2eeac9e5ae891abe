// NormalizeDomainXml: libvirt's own parser and validator, in process.
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include <memory>
#include <mutex>

#include "common/error.h"
#include "provision/domain/domain.h"

namespace ssivm::provision {
namespace {

// libvirt prints errors to stderr by default; ssivm reports them itself.
void Quiet(void*, virErrorPtr) {}

struct ConnectClose {
  void operator()(virConnectPtr c) const { virConnectClose(c); }
};
struct DomainFree {
  void operator()(virDomainPtr d) const { virDomainFree(d); }
};
struct CharFree {
  void operator()(char* p) const { free(p); }
};

std::string LastError() {
  const char* m = virGetLastErrorMessage();
  std::string s = m ? m : "unknown libvirt error";
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

}  // namespace

std::string NormalizeDomainXml(std::string_view xml, const std::string& file_name) {
  static std::once_flag once;
  std::call_once(once, [] {
    virInitialize();
    virSetErrorFunc(nullptr, Quiet);
  });
  // A fresh test:///default connection each time: its state (defined
  // domains) is private to the connection.
  std::unique_ptr<virConnect, ConnectClose> conn(virConnectOpen("test:///default"));
  if (!conn) throw Error(file_name + ": libvirt: cannot open test:///default: " + LastError());
  std::string text(xml);
  std::unique_ptr<virDomain, DomainFree> dom(
      virDomainDefineXMLFlags(conn.get(), text.c_str(), VIR_DOMAIN_DEFINE_VALIDATE));
  if (!dom) throw Error(file_name + ": libvirt: " + LastError());
  std::unique_ptr<char, CharFree> out(virDomainGetXMLDesc(dom.get(), VIR_DOMAIN_XML_INACTIVE));
  if (!out) throw Error(file_name + ": libvirt: " + LastError());
  return {out.get()};
}

}  // namespace ssivm::provision
