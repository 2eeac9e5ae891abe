// Reading OSCAR package config.xml files (current opkg schema, root <oscar>,
// and the legacy OSCAR <= 5 format) and package-set files.
#ifndef SSIVM_PROVISION_PACKAGES_CONFIG_XML_H_
#define SSIVM_PROVISION_PACKAGES_CONFIG_XML_H_

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "provision/packages/opkg.h"

namespace ssivm::provision {

// Parses one config.xml. Throws ssivm::Error naming the file, the element and
// the problem (not XML, no <name>, a bad relation, ...).
Opkg ParseOpkg(std::string_view xml, const std::string& file_name);
Opkg LoadOpkg(const std::string& path);

// Every DIR/*/config.xml, by package name. Throws if two packages share a name.
std::map<std::string, Opkg> LoadOpkgDirectory(const std::string& dir);

// A package set: share/package_sets/<Set>/<dist>-<version>-<arch>.xml, i.e.
// <package_set><name>N</name><packages><opkg>p</opkg>...</packages></package_set>.
struct PackageSet {
  std::string name;
  std::vector<std::string> opkgs;
  Target target;  // from the file name when it has the <dist>-<version>-<arch>.xml form
  std::string file;
};
PackageSet ParsePackageSet(std::string_view xml, const std::string& file_name);
PackageSet LoadPackageSet(const std::string& path);

// "debian-11-x86_64.xml" -> {debian, 11, x86_64}; an empty Target otherwise.
Target TargetFromFileName(std::string_view path);

}  // namespace ssivm::provision

#endif  // SSIVM_PROVISION_PACKAGES_CONFIG_XML_H_
