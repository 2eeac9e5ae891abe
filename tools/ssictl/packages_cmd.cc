#include "tools/ssictl/packages_cmd.h"

#include <cstdio>

#include "common/error.h"
#include "provision/packages/config_xml.h"
#include "provision/packages/resolver.h"

namespace ssivm {
namespace {

std::string Join(const std::vector<std::string>& v) {
  std::string out;
  for (const std::string& s : v) out += (out.empty() ? "" : ", ") + s;
  return out.empty() ? "(none)" : out;
}

int Check(const std::string& set_file, const std::vector<std::string>& dirs,
          const std::string& dist) {
  provision::PackageSet set = provision::LoadPackageSet(set_file);
  provision::Target target = set.target;
  if (!dist.empty()) target = provision::TargetFromFileName(dist + ".xml");
  if (!dist.empty() && target.dist.empty()) {
    throw Error("--dist '" + dist + "': expected DIST-VERSION-ARCH, e.g. debian-12-x86_64");
  }
  provision::Repository repo;
  std::string dir;
  for (const std::string& d : dirs) {
    for (auto& [name, opkg] : provision::LoadOpkgDirectory(d)) {
      if (auto it = repo.find(name); it != repo.end()) {
        throw Error(opkg.file + ": package name '" + name + "' is also used by " + it->second.file);
      }
      repo.emplace(name, std::move(opkg));
    }
    dir += (dir.empty() ? "" : " + ") + d;
  }
  provision::Resolution r = provision::Resolve(repo, set.opkgs, target);
  std::string where = target.dist.empty()
                          ? std::string("no distribution (distribution-specific blocks ignored)")
                          : target.dist + "-" + target.version + "-" + target.arch;
  std::printf("%s: package set %s for %s: %zu requested, %zu packages in %s\n", set_file.c_str(),
              set.name.c_str(), where.c_str(), set.opkgs.size(), repo.size(), dir.c_str());
  for (const std::string& n : r.notes) std::printf("note: %s\n", n.c_str());
  if (!r.ok()) {
    std::fprintf(stderr, "%s: package set %s cannot be resolved (%zu problems):\n",
                 set_file.c_str(), set.name.c_str(), r.problems.size());
    for (const std::string& p : r.problems) std::fprintf(stderr, "  %s\n", p.c_str());
    return 1;
  }
  std::printf("closure (%zu packages):\n", r.closure.size());
  for (const provision::Selected& s : r.closure) {
    std::printf("  %s %s (%s)\n", s.name.c_str(), s.version.c_str(), s.why.c_str());
  }
  std::printf("distribution packages, server: %s\n", Join(r.native_server).c_str());
  std::printf("distribution packages, client: %s\n", Join(r.native_client).c_str());
  return 0;
}

}  // namespace

PackagesCommands::PackagesCommands(CLI::App& app) {
  CLI::App* packages = app.add_subcommand("packages", "OSCAR package sets");
  packages->require_subcommand(1);
  check_ = packages->add_subcommand(
      "check", "Resolve a package set: print its closure, or exit 1 saying why there is none");
  check_->add_option("set", set_file_, "Package set file (OSCAR share/package_sets format)")
      ->required();
  check_
      ->add_option("--packages", packages_dirs_,
                   "Directory of OSCAR packages (*/config.xml); repeat for several")
      ->required();
  check_->add_option("--dist", dist_,
                     "Target as DIST-VERSION-ARCH (default: from the set's file name)");
}

int PackagesCommands::Run() {
  if (!*check_) return -1;
  try {
    return Check(set_file_, packages_dirs_, dist_);
  } catch (const Error& e) {
    std::fprintf(stderr, "ssictl: error: %s\n", e.what());
    return 1;
  }
}

}  // namespace ssivm
