// The package-set resolver: given OSCAR packages and a requested set, the
// closure under requirements, or exactly why there is none.
//
// Names: a selected package P provides, at its version, the name P and the
// native package names opkgc builds from it (opkg-P for the head node's API
// package, opkg-P-server, opkg-P-client), plus every name in its <provides>
// blocks. Top-level <requires> name OSCAR packages: a name no package
// provides is a missing requirement. {server,client,common,api}Deps
// <requires> name native packages: one an OSCAR package provides (e.g.
// opkg-torque-server) pulls that package in, any other is a distribution
// package listed in the result. <conflicts> in any block conflict with every
// other selected package that provides the name (directly, through its
// opkg-* native packages or through <provides>) at a matching version.
// Blocks whose <filters> do not match the target are ignored.
//
// Choice: when several packages provide a required name, one already
// selected wins; otherwise the one named exactly so, then the first by name
// that does not conflict with the selection so far (greedy, no backtracking;
// the choice is reported in notes).
#ifndef SSIVM_PROVISION_PACKAGES_RESOLVER_H_
#define SSIVM_PROVISION_PACKAGES_RESOLVER_H_

#include <map>
#include <string>
#include <vector>

#include "provision/packages/opkg.h"

namespace ssivm::provision {

struct Selected {
  std::string name;
  std::string version;
  std::string why;  // "requested", or the chain "requested a; a requires b; b requires c"
};

struct Resolution {
  bool ok() const { return problems.empty(); }
  std::vector<Selected> closure;           // in selection order
  std::vector<std::string> problems;       // missing requirements and conflicts, one per line
  std::vector<std::string> notes;          // provider choices, ignored blocks
  std::vector<std::string> native_server;  // distribution packages for the head node (server, api)
  std::vector<std::string> native_client;  // and for the client image (sorted, unique)
};

using Repository = std::map<std::string, Opkg>;  // by package name

Resolution Resolve(const Repository& repo, const std::vector<std::string>& requested,
                   const Target& target);

}  // namespace ssivm::provision

#endif  // SSIVM_PROVISION_PACKAGES_RESOLVER_H_
