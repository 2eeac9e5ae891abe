// An OSCAR package ("opkg") as its config.xml describes it, reduced to what
// package-set resolution needs.
#ifndef SSIVM_PROVISION_PACKAGES_OPKG_H_
#define SSIVM_PROVISION_PACKAGES_OPKG_H_

#include <string>
#include <vector>

#include "provision/packages/version.h"

namespace ssivm::provision {

// Where a dependency block sits in config.xml. kPackage: top level (between
// OSCAR packages); the others name native packages of the head node's API
// package (kApi), the server (kServer), the client image (kClient) or both
// server and client (kCommon).
enum class Scope { kPackage, kApi, kServer, kClient, kCommon };
const char* ScopeText(Scope s);  // "package", "apiDeps", "serverDeps", ...

enum class DepKind { kProvides, kRequires, kConflicts, kSuggests };
const char* DepKindText(DepKind k);  // "provides", ...

// <dist rel=">=" version="9">rhel</dist>
struct DistFilter {
  std::string name;
  Relation rel = Relation::kAny;
  std::string version;
};

// A block's <filters>: it applies if one dist (if any) and one arch (if any)
// match the target.
struct Filters {
  std::vector<DistFilter> dists;
  std::vector<std::string> archs;
  bool empty() const { return dists.empty() && archs.empty(); }
};

// <pkg rel=">=" version="3.5.0">ganglia-gmetad</pkg>
struct PackageRef {
  std::string name;
  Relation rel = Relation::kAny;
  std::string version;
};
std::string RefText(const PackageRef& ref);  // "ganglia-gmetad >= 3.5.0"

struct DepBlock {
  Scope scope = Scope::kPackage;
  DepKind kind = DepKind::kRequires;
  Filters filters;
  std::vector<PackageRef> pkgs;
};

struct Opkg {
  std::string name;
  std::string version;        // newest changelog versionEntry (or legacy <version>)
  std::string package_class;  // core, base, included, third-party
  std::string summary;
  std::string file;  // the config.xml it came from
  std::vector<DepBlock> deps;
};

// The distribution a package set targets, e.g. debian 11 x86_64.
struct Target {
  std::string dist;  // empty: unknown (distribution-specific blocks are skipped)
  std::string version;
  std::string arch;
};

// Whether a block with these filters applies on target.
bool FiltersMatch(const Filters& f, const Target& target);

}  // namespace ssivm::provision

#endif  // SSIVM_PROVISION_PACKAGES_OPKG_H_
