#include <gtest/gtest.h>

#include <string>

#include "provision/packages/config_xml.h"
#include "provision/packages/resolver.h"

namespace ssivm::provision {
namespace {

// Builds a package from its dependency elements.
void Add(Repository* repo, const std::string& name, const std::string& version,
         const std::string& deps = "") {
  std::string xml = "<oscar><name>" + name + "</name>" + deps +
                    "<changelog><versionEntry version=\"" + version + "\"/></changelog></oscar>";
  repo->emplace(name, ParseOpkg(xml, name + "/config.xml"));
}

std::string Names(const Resolution& r) {
  std::string out;
  for (const Selected& s : r.closure) out += (out.empty() ? "" : " ") + s.name;
  return out;
}

std::string Problems(const Resolution& r) {
  std::string out;
  for (const std::string& p : r.problems) out += p + "\n";
  return out;
}

const Target kDebian{"debian", "12", "x86_64"};

TEST(Resolver, Closure) {
  Repository repo;
  Add(&repo, "a", "1", "<requires><pkg>b</pkg></requires>");
  Add(&repo, "b", "1", "<requires><pkg>c</pkg></requires>");
  Add(&repo, "c", "1");
  Add(&repo, "unrelated", "1");
  Resolution r = Resolve(repo, {"a"}, kDebian);
  EXPECT_TRUE(r.ok()) << Problems(r);
  EXPECT_EQ(Names(r), "a b c");
  EXPECT_EQ(r.closure[2].why, "requested a; a requires b; b requires c");
}

TEST(Resolver, MissingRequirement) {
  Repository repo;
  Add(&repo, "a", "1", "<requires><pkg>b</pkg></requires>");
  Add(&repo, "b", "1", "<requires><pkg>nowhere</pkg></requires>");
  Resolution r = Resolve(repo, {"a", "ghost"}, kDebian);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(Problems(r),
            "missing: the set requests 'ghost', but no package has that name or provides it\n"
            "missing: b requires nowhere, but no package provides nowhere "
            "[b is in the set because: requested a; a requires b]\n");
}

TEST(Resolver, VersionRelations) {
  Repository repo;
  Add(&repo, "lib", "2.4-1");
  Add(&repo, "new", "1", R"(<requires><pkg rel="&gt;=" version="3.0">lib</pkg></requires>)");
  Add(&repo, "ok", "1",
      "<requires><pkg rel=\"&gt;\" version=\"2.3\">lib</pkg>"
      "<pkg rel=\"&lt;\" version=\"2.10\">lib</pkg><pkg rel=\"=\" version=\"2.4-1\">lib</pkg>"
      "<pkg rel=\"&lt;=\" version=\"2.4-1\">lib</pkg></requires>");
  Resolution r = Resolve(repo, {"ok"}, kDebian);
  EXPECT_TRUE(r.ok()) << Problems(r);
  EXPECT_EQ(Names(r), "ok lib");
  r = Resolve(repo, {"new"}, kDebian);
  EXPECT_EQ(Problems(r),
            "missing: new requires lib >= 3.0, but only lib provides it at version 2.4-1 "
            "[new is in the set because: requested new]\n");
}

TEST(Resolver, DirectConflict) {
  Repository repo;
  Add(&repo, "sge", "6",
      "<serverDeps><conflicts><pkg>opkg-torque-server</pkg></conflicts>"
      "</serverDeps>");
  Add(&repo, "torque", "2");
  Add(&repo, "cluster", "1", "<requires><pkg>torque</pkg></requires>");
  Resolution r = Resolve(repo, {"sge", "cluster"}, kDebian);
  EXPECT_EQ(Problems(r),
            "conflict: sge conflicts with torque: sge's serverDeps <conflicts> opkg-torque-server "
            "matches torque 2 through its server package opkg-torque-server "
            "[sge: requested sge; torque: requested cluster; cluster requires torque]\n");
}

TEST(Resolver, IndirectConflictThroughProvides) {
  Repository repo;
  Add(&repo, "ssi", "1", "<conflicts><pkg>batch-scheduler</pkg></conflicts>");
  Add(&repo, "pbs", "1", "<provides><pkg>batch-scheduler</pkg></provides>");
  Add(&repo, "hpc", "1", "<requires><pkg>pbs</pkg></requires>");
  Resolution r = Resolve(repo, {"ssi", "hpc"}, kDebian);
  ASSERT_EQ(r.problems.size(), 1u) << Problems(r);
  EXPECT_EQ(r.problems[0],
            "conflict: ssi conflicts with pbs: ssi's package <conflicts> batch-scheduler matches "
            "pbs 1 through <provides> in package: batch-scheduler "
            "[ssi: requested ssi; pbs: requested hpc; hpc requires pbs]");
}

TEST(Resolver, VersionedConflict) {
  Repository repo;
  Add(&repo, "a", "1", R"(<conflicts><pkg rel="&lt;" version="2">b</pkg></conflicts>)");
  Add(&repo, "b", "2");
  EXPECT_TRUE(Resolve(repo, {"a", "b"}, kDebian).ok());
  repo.erase("b");
  Add(&repo, "b", "1.9");
  EXPECT_FALSE(Resolve(repo, {"a", "b"}, kDebian).ok());
}

TEST(Resolver, Cycles) {
  Repository repo;
  Add(&repo, "a", "1", "<requires><pkg>b</pkg></requires>");
  Add(&repo, "b", "1", "<requires><pkg>c</pkg></requires>");
  Add(&repo, "c", "1", "<requires><pkg>a</pkg></requires>");
  Resolution r = Resolve(repo, {"b"}, kDebian);
  EXPECT_TRUE(r.ok()) << Problems(r);
  EXPECT_EQ(Names(r), "b c a");
}

TEST(Resolver, ProviderChoiceAvoidsConflicts) {
  Repository repo;
  Add(&repo, "app", "1", "<requires><pkg>mpi</pkg></requires>");
  Add(&repo, "lam", "1", "<provides><pkg>mpi</pkg></provides>");
  Add(&repo, "openmpi", "1", "<provides><pkg>mpi</pkg></provides>");
  Add(&repo, "nolam", "1", "<conflicts><pkg>lam</pkg></conflicts>");
  Resolution r = Resolve(repo, {"nolam", "app"}, kDebian);
  EXPECT_TRUE(r.ok()) << Problems(r);
  EXPECT_EQ(Names(r), "nolam app openmpi");
  ASSERT_EQ(r.notes.size(), 1u);
  EXPECT_EQ(r.notes[0], "chose openmpi for mpi (app requires mpi; candidates: lam, openmpi)");
  // An already selected provider wins.
  r = Resolve(repo, {"lam", "app"}, kDebian);
  EXPECT_EQ(Names(r), "lam app");
}

TEST(Resolver, FiltersAndNativePackages) {
  Repository repo;
  Add(&repo, "x", "1",
      "<serverDeps><requires><filters><dist>rhel</dist></filters><pkg>x-rpm</pkg></requires>"
      "<requires><filters><dist>debian</dist></filters>"
      "<pkg rel=\"&gt;=\" version=\"2\">x-deb</pkg></requires></serverDeps>"
      "<clientDeps><requires><pkg>x-client</pkg><pkg>opkg-y-client</pkg></requires></clientDeps>"
      "<requires><filters><dist>rhel</dist></filters><pkg>only-on-rhel</pkg></requires>");
  Add(&repo, "y", "1");
  Resolution r = Resolve(repo, {"x"}, kDebian);
  EXPECT_TRUE(r.ok()) << Problems(r);
  EXPECT_EQ(Names(r), "x y");  // opkg-y-client pulls in y
  EXPECT_EQ(r.native_server, (std::vector<std::string>{"x-deb >= 2"}));
  EXPECT_EQ(r.native_client, (std::vector<std::string>{"x-client"}));
  r = Resolve(repo, {"x"}, {"rhel", "9", "x86_64"});
  EXPECT_FALSE(r.ok());  // only-on-rhel is missing there
  EXPECT_EQ(r.native_server, (std::vector<std::string>{"x-rpm"}));
}

}  // namespace
}  // namespace ssivm::provision
