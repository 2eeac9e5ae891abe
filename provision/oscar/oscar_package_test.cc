// The ssivm OSCAR package: its config.xml is valid under OSCAR's opkg.xsd
// (libxml2's schema validator), and the ssivm package sets resolve against
// the real OSCAR packages.
#include <gtest/gtest.h>
#include <libxml/parser.h>
#include <libxml/xmlschemas.h>

#include <cstdio>
#include <memory>
#include <string>

#include "provision/packages/config_xml.h"
#include "provision/packages/resolver.h"

namespace ssivm::provision {
namespace {

const char kXsd[] = "provision/packages/testdata/oscar/schema/opkg.xsd";
const char kRealPackages[] = "provision/packages/testdata/oscar/packages";

// Validates file against kXsd; returns libxml2's messages ("" if valid).
std::string SchemaErrors(const std::string& file) {
  std::string errors;
  auto collect = [](void* ctx, xmlErrorPtr e) {
    std::string& out = *static_cast<std::string*>(ctx);
    out += "line " + std::to_string(e->line) + ": " + (e->message ? e->message : "?");
  };
  std::unique_ptr<xmlSchemaParserCtxt, void (*)(xmlSchemaParserCtxtPtr)> pctxt(
      xmlSchemaNewParserCtxt(kXsd), xmlSchemaFreeParserCtxt);
  if (!pctxt) return "cannot read the schema";
  std::unique_ptr<xmlSchema, void (*)(xmlSchemaPtr)> schema(xmlSchemaParse(pctxt.get()),
                                                            xmlSchemaFree);
  if (!schema) return "cannot parse the schema";
  std::unique_ptr<xmlSchemaValidCtxt, void (*)(xmlSchemaValidCtxtPtr)> vctxt(
      xmlSchemaNewValidCtxt(schema.get()), xmlSchemaFreeValidCtxt);
  xmlSchemaSetValidStructuredErrors(vctxt.get(), collect, &errors);
  int rc = xmlSchemaValidateFile(vctxt.get(), file.c_str(), XML_PARSE_NONET);
  if (rc != 0 && errors.empty()) errors = "invalid (code " + std::to_string(rc) + ")";
  return errors;
}

TEST(OscarPackage, ConfigXmlValidatesAgainstOpkgXsd) {
  EXPECT_EQ(SchemaErrors("provision/oscar/ssivm/config.xml"), "");
}

TEST(OscarPackage, ValidatorRejectsABrokenCopy) {
  // The validator really checks: a package without <changelog> is refused.
  std::string broken = ::testing::TempDir() + "/config.xml";
  FILE* f = fopen(broken.c_str(), "w");
  ASSERT_NE(f, nullptr);
  fputs(
      "<oscar><name>x</name><summary>s</summary><license>GPL</license><group>g</group>"
      "<authors><author cat=\"maintainer\"><name>n</name><email>e</email></author></authors>"
      "</oscar>",
      f);
  fclose(f);
  EXPECT_NE(SchemaErrors(broken), "");
}

TEST(OscarPackage, ReaderSeesItsDependencies) {
  Opkg p = LoadOpkg("provision/oscar/ssivm/config.xml");
  EXPECT_EQ(p.name, "ssivm");
  EXPECT_EQ(p.version, "0.1.0-1");
  EXPECT_EQ(p.package_class, "third-party");
}

Repository Everything() {
  Repository repo = LoadOpkgDirectory(kRealPackages);
  Opkg ssivm = LoadOpkg("provision/oscar/ssivm/config.xml");
  repo.emplace(ssivm.name, ssivm);
  return repo;
}

TEST(OscarPackage, SsivmPackageSetsResolve) {
  Repository repo = Everything();
  for (const char* file : {"provision/oscar/package_sets/ssivm/debian-12-x86_64.xml",
                           "provision/oscar/package_sets/ssivm/rhel-9-x86_64.xml"}) {
    PackageSet set = LoadPackageSet(file);
    EXPECT_EQ(set.name, "ssivm");
    Resolution r = Resolve(repo, set.opkgs, set.target);
    std::string problems;
    for (const std::string& p : r.problems) problems += p + "\n";
    EXPECT_TRUE(r.ok()) << file << ":\n" << problems;
    std::string client;
    for (const std::string& n : r.native_client) client += n + " ";
    EXPECT_NE(client.find("ssivm-node"), std::string::npos) << client;
    EXPECT_NE(client.find("rdma-core"), std::string::npos) << client;
  }
}

TEST(OscarPackage, BatchSchedulersConflictWithSsivm) {
  Repository repo = Everything();
  for (const char* scheduler : {"torque", "sge", "slurm"}) {
    Resolution r = Resolve(repo, {"ssivm", scheduler}, {"debian", "12", "x86_64"});
    ASSERT_EQ(r.problems.size(), 1u) << scheduler;
    EXPECT_EQ(r.problems[0], std::string("conflict: ssivm conflicts with ") + scheduler +
                                 ": ssivm's clientDeps <conflicts> opkg-" + scheduler +
                                 "-client matches " + scheduler + " " + repo.at(scheduler).version +
                                 " through its client package opkg-" + scheduler +
                                 "-client [ssivm: requested ssivm; " + scheduler + ": requested " +
                                 scheduler + "]");
  }
}

TEST(OscarPackage, RequiresC3) {
  Repository repo = Everything();
  Resolution r = Resolve(repo, {"ssivm"}, {"debian", "12", "x86_64"});
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r.closure.size(), 2u);
  EXPECT_EQ(r.closure[1].name, "c3");
  EXPECT_EQ(r.closure[1].why, "requested ssivm; ssivm requires c3");
}

}  // namespace
}  // namespace ssivm::provision
