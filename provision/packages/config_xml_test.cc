#include <gtest/gtest.h>

#include <string>

#include "common/error.h"
#include "provision/packages/config_xml.h"

namespace ssivm::provision {
namespace {

std::string ErrorOf(const std::string& xml) {
  try {
    ParseOpkg(xml, "p/config.xml");
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "accepted " << xml;
  return "";
}

TEST(ConfigXml, ReadsCurrentFormat) {
  Opkg p = ParseOpkg(R"(<?xml version="1.0" encoding="ISO-8859-1"?>
<oscar>
  <name>demo</name>
  <class>third-party</class>
  <summary>Demo</summary>
  <provides><pkg>mpi</pkg></provides>
  <requires><pkg rel="&gt;=" version="2.0">base</pkg></requires>
  <serverDeps>
    <requires>
      <filters><dist rel="&gt;=" version="9">rhel</dist><arch>x86_64</arch></filters>
      <pkg>demo-server</pkg>
    </requires>
    <conflicts><pkg>opkg-torque-server</pkg></conflicts>
  </serverDeps>
  <clientDeps><requires><pkg>demo-client</pkg></requires></clientDeps>
  <apiDeps/>
  <changelog>
    <versionEntry version="1.10-1"><changelogEntry authorName="a" date="2021-01-01T00:00:00Z"><item>y</item></changelogEntry></versionEntry>
    <versionEntry version="1:1.2-1"><changelogEntry authorName="a" date="2020-01-01T00:00:00Z"><item>x</item></changelogEntry></versionEntry>
  </changelog>
</oscar>)",
                     "demo/config.xml");
  EXPECT_EQ(p.name, "demo");
  EXPECT_EQ(p.version, "1.10-1");  // the first (newest) entry, whatever the epochs
  EXPECT_EQ(p.package_class, "third-party");
  ASSERT_EQ(p.deps.size(), 5u);
  EXPECT_EQ(p.deps[0].kind, DepKind::kProvides);
  EXPECT_EQ(p.deps[1].pkgs[0].rel, Relation::kGreaterEqual);
  EXPECT_EQ(RefText(p.deps[1].pkgs[0]), "base >= 2.0");
  EXPECT_EQ(p.deps[2].scope, Scope::kServer);
  ASSERT_EQ(p.deps[2].filters.dists.size(), 1u);
  EXPECT_EQ(p.deps[2].filters.dists[0].name, "rhel");
  EXPECT_TRUE(FiltersMatch(p.deps[2].filters, {"rhel", "9", "x86_64"}));
  EXPECT_FALSE(FiltersMatch(p.deps[2].filters, {"rhel", "8", "x86_64"}));
  EXPECT_FALSE(FiltersMatch(p.deps[2].filters, {"rhel", "9", "ppc64"}));
  EXPECT_FALSE(FiltersMatch(p.deps[2].filters, {"debian", "12", "x86_64"}));
  EXPECT_EQ(p.deps[3].kind, DepKind::kConflicts);
  EXPECT_EQ(p.deps[4].scope, Scope::kClient);
}

TEST(ConfigXml, ReadsLegacyFormat) {
  Opkg p = ParseOpkg(R"(<oscar><name>old</name>
  <version><major>5</major><minor>1</minor><subversion>2</subversion><release>3</release></version>
  <requires><type>package</type><name>base</name></requires>
</oscar>)",
                     "old/config.xml");
  EXPECT_EQ(p.version, "5.1.2-3");
  ASSERT_EQ(p.deps.size(), 1u);
  EXPECT_EQ(p.deps[0].pkgs[0].name, "base");
}

TEST(ConfigXml, Errors) {
  EXPECT_EQ(ErrorOf("<oscar><name>x</name>"),
            "p/config.xml:1: Premature end of data in tag oscar line 1");
  EXPECT_EQ(ErrorOf("<opkg/>"), "p/config.xml:1: root element is <opkg>, not <oscar>");
  EXPECT_EQ(ErrorOf("<oscar/>"), "p/config.xml: <oscar> has no <name>");
  EXPECT_EQ(ErrorOf("<oscar><name>x</name>\n<requires><pkg rel=\"=>\" version=\"1\">y</pkg>"
                    "</requires></oscar>"),
            "p/config.xml:2: <pkg> has rel=\"=>\"; expected one of < <= = >= >");
  EXPECT_EQ(ErrorOf("<oscar><name>x</name><requires><pkg rel=\"&gt;\">y</pkg></requires></oscar>"),
            "p/config.xml:1: <pkg> has rel=\">\" but no version");
  EXPECT_EQ(ErrorOf(""), "p/config.xml:1: Document is empty");
}

TEST(ConfigXml, NoNetworkNoEntities) {
  // An external entity is neither fetched nor expanded.
  std::string xml =
      "<!DOCTYPE oscar [<!ENTITY e SYSTEM \"file:///etc/hostname\">]>"
      "<oscar><name>x&e;</name></oscar>";
  Opkg p = ParseOpkg(xml, "p/config.xml");
  EXPECT_EQ(p.name, "x");
}

TEST(PackageSet, ParsesAndTakesTargetFromFileName) {
  PackageSet s = ParsePackageSet(
      "<package_set><name>S</name><packages><opkg>a</opkg><opkg> b </opkg></packages>"
      "</package_set>",
      "sets/S/debian-11-x86_64.xml");
  EXPECT_EQ(s.name, "S");
  EXPECT_EQ(s.opkgs, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(s.target.dist, "debian");
  EXPECT_EQ(s.target.version, "11");
  EXPECT_EQ(s.target.arch, "x86_64");
  EXPECT_EQ(TargetFromFileName("set.xml").dist, "");
}

TEST(PackageSet, Errors) {
  EXPECT_THROW(ParsePackageSet("<package_set><name>S</name></package_set>", "s.xml"), Error);
  EXPECT_THROW(ParsePackageSet("<package_set><name>S</name><packages/></package_set>", "s.xml"),
               Error);
  EXPECT_THROW(ParsePackageSet("<package_set><name>S</name><packages><opkg>a</opkg>"
                               "<opkg>a</opkg></packages></package_set>",
                               "s.xml"),
               Error);
  EXPECT_THROW(ParsePackageSet("<set/>", "s.xml"), Error);
}

}  // namespace
}  // namespace ssivm::provision
