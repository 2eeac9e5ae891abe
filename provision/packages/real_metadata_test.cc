// The reader and the resolver against real OSCAR metadata (testdata/oscar).
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "provision/packages/config_xml.h"
#include "provision/packages/resolver.h"

namespace ssivm::provision {
namespace {

const char kDir[] = "provision/packages/testdata/oscar";

std::string Problems(const Resolution& r) {
  std::string out;
  for (const std::string& p : r.problems) out += p + "\n";
  return out;
}

TEST(RealMetadata, ReadsAll35Packages) {
  Repository repo = LoadOpkgDirectory(std::string(kDir) + "/packages");
  EXPECT_EQ(repo.size(), 35u);
  // Names come from <name>, not the directory.
  EXPECT_TRUE(repo.count("mtaconfig"));
  EXPECT_TRUE(repo.count("mpich-oscar"));
  EXPECT_EQ(repo.at("torque").version, "2.4.4-1");
  EXPECT_EQ(repo.at("torque").package_class, "included");
  for (const auto& [name, p] : repo) EXPECT_FALSE(p.version.empty()) << name;
}

TEST(RealMetadata, EveryPackageResolvesAloneOnEveryTarget) {
  Repository repo = LoadOpkgDirectory(std::string(kDir) + "/packages");
  for (const Target& t : {Target{"debian", "11", "x86_64"}, Target{"rhel", "9", "x86_64"}}) {
    for (const auto& [name, p] : repo) {
      Resolution r = Resolve(repo, {name}, t);
      EXPECT_TRUE(r.ok()) << name << " on " << t.dist << ":\n" << Problems(r);
    }
  }
}

struct SetCase {
  const char* file;
  std::vector<std::string> missing;
};

TEST(RealMetadata, RealPackageSetsNameExactlyTheMissingPackages) {
  Repository repo = LoadOpkgDirectory(std::string(kDir) + "/packages");
  const SetCase cases[] = {
      {"Default/debian-11-x86_64.xml", {"switcher"}},
      {"Default/rhel-9-x86_64.xml", {"switcher"}},
      {"Experimental/debian-11-x86_64.xml",
       {"oscarv-kvm", "sis-diskless", "switcher", "torque-oscar"}},
      {"Experimental/rhel-9-x86_64.xml", {"oscar-nat", "oscar-v", "switcher", "system-update"}},
  };
  for (const SetCase& c : cases) {
    PackageSet set = LoadPackageSet(std::string(kDir) + "/package_sets/" + c.file);
    Resolution r = Resolve(repo, set.opkgs, set.target);
    std::string expected;
    for (const std::string& m : c.missing) {
      expected +=
          "missing: the set requests '" + m + "', but no package has that name or provides it\n";
    }
    EXPECT_EQ(Problems(r), expected) << c.file;
    // Without the packages this checkout lacks, the set resolves.
    std::vector<std::string> present;
    for (const std::string& o : set.opkgs) {
      if (std::find(c.missing.begin(), c.missing.end(), o) == c.missing.end()) present.push_back(o);
    }
    r = Resolve(repo, present, set.target);
    EXPECT_TRUE(r.ok()) << c.file << ": " << Problems(r);
    EXPECT_EQ(r.closure.size(), present.size()) << c.file;
    EXPECT_FALSE(r.native_server.empty()) << c.file;
  }
}

TEST(RealMetadata, SgeConflictsWithTorque) {
  Repository repo = LoadOpkgDirectory(std::string(kDir) + "/packages");
  Resolution r = Resolve(repo, {"sge", "torque"}, {"debian", "11", "x86_64"});
  EXPECT_EQ(Problems(r),
            "conflict: sge conflicts with torque: sge's serverDeps <conflicts> opkg-torque-server "
            "matches torque 2.4.4-1 through its server package opkg-torque-server "
            "[sge: requested sge; torque: requested torque]\n"
            "conflict: sge conflicts with torque: sge's clientDeps <conflicts> opkg-torque-client "
            "matches torque 2.4.4-1 through its client package opkg-torque-client "
            "[sge: requested sge; torque: requested torque]\n");
  // sge's server side also conflicts with maui's.
  r = Resolve(repo, {"maui", "sge"}, {"rhel", "9", "x86_64"});
  ASSERT_EQ(r.problems.size(), 1u) << Problems(r);
  EXPECT_NE(r.problems[0].find("opkg-maui-server"), std::string::npos) << r.problems[0];
}

TEST(RealMetadata, DistributionFiltersSelectNativePackages) {
  Repository repo = LoadOpkgDirectory(std::string(kDir) + "/packages");
  Resolution deb = Resolve(repo, {"ganglia"}, {"debian", "11", "x86_64"});
  Resolution rhel = Resolve(repo, {"ganglia"}, {"rhel", "9", "x86_64"});
  ASSERT_TRUE(deb.ok() && rhel.ok());
  EXPECT_NE(deb.native_server, rhel.native_server);
  std::string all;
  for (const std::string& n : deb.native_server) all += n + ";";
  EXPECT_NE(all.find("gmetad >= 3.5.0"), std::string::npos) << all;
}

}  // namespace
}  // namespace ssivm::provision
