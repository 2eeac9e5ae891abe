#include "provision/packages/opkg.h"

namespace ssivm::provision {

const char* ScopeText(Scope s) {
  switch (s) {
    case Scope::kPackage:
      return "package";
    case Scope::kApi:
      return "apiDeps";
    case Scope::kServer:
      return "serverDeps";
    case Scope::kClient:
      return "clientDeps";
    case Scope::kCommon:
      return "commonDeps";
  }
  return "?";
}

const char* DepKindText(DepKind k) {
  switch (k) {
    case DepKind::kProvides:
      return "provides";
    case DepKind::kRequires:
      return "requires";
    case DepKind::kConflicts:
      return "conflicts";
    case DepKind::kSuggests:
      return "suggests";
  }
  return "?";
}

std::string RefText(const PackageRef& ref) {
  if (ref.rel == Relation::kAny) return ref.name;
  return ref.name + " " + RelationText(ref.rel) + " " + ref.version;
}

bool FiltersMatch(const Filters& f, const Target& target) {
  if (f.empty()) return true;
  if (!f.dists.empty()) {
    if (target.dist.empty()) return false;
    bool any = false;
    for (const DistFilter& d : f.dists) {
      if (d.name != target.dist) continue;
      if (d.version.empty()) {
        any = true;
      } else {
        // A version without a relation means that release.
        Relation rel = d.rel == Relation::kAny ? Relation::kEqual : d.rel;
        any = any || (!target.version.empty() && Satisfies(target.version, rel, d.version));
      }
    }
    if (!any) return false;
  }
  if (!f.archs.empty()) {
    if (target.arch.empty()) return false;
    bool any = false;
    for (const std::string& a : f.archs) {
      // Debian says amd64 where RPM distributions say x86_64.
      bool same = a == target.arch || (a == "amd64" && target.arch == "x86_64") ||
                  (a == "x86_64" && target.arch == "amd64");
      any = any || same;
    }
    if (!any) return false;
  }
  return true;
}

}  // namespace ssivm::provision
