#include <gtest/gtest.h>

#include <functional>
#include <string>

#include "common/error.h"
#include "provision/domain/domain.h"

namespace ssivm::provision {
namespace {

const char kDomain[] = R"(<domain type='kvm'>
  <name>agg</name>
  <memory unit='GiB'>3</memory>
  <vcpu current='4'>6</vcpu>
  <os>
    <type arch='x86_64'>hvm</type>
    <kernel>/boot/guest.elf</kernel>
    <initrd>/boot/initrd.img</initrd>
    <cmdline>console=ttyS0</cmdline>
  </os>
  <cpu>
    <numa>
      <cell id='0' cpus='0-1' memory='1' unit='GiB'/>
      <cell id='1' cpus='2-3' memory='1024' unit='MiB'/>
      <cell id='2' cpus='4,5' memory='1048576' unit='KiB'/>
    </numa>
  </cpu>
  <clock offset='utc'/>
  <devices>
    <disk type='file' device='disk'><source file='/x.img'/><target dev='vda' bus='virtio'/></disk>
    <serial type='pty'/>
  </devices>
</domain>
)";

std::string ErrorOf(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "no error";
  return "";
}

TEST(Domain, AcceptedAndMapped) {
  std::string normalized = NormalizeDomainXml(kDomain, "vm.xml");
  EXPECT_NE(normalized.find("<memory unit='KiB'>3145728</memory>"), std::string::npos)
      << normalized;  // libvirt's normalization
  DomainImportOptions opt;
  opt.hosts = {"n1", "n2", "n3"};
  ClusterManifest m = ManifestFromDomainXml(normalized, "vm.xml", opt);
  EXPECT_EQ(m.cluster_id, "agg");
  EXPECT_EQ(m.epoch, 1u);
  EXPECT_EQ(m.guest.kernel, "/boot/guest.elf");
  EXPECT_EQ(m.guest.initrd, "/boot/initrd.img");
  EXPECT_EQ(m.guest.cmdline, "console=ttyS0");
  EXPECT_EQ(m.guest.vcpus_total, 6u);
  EXPECT_EQ(m.guest.vcpus_online, 4u);
  ASSERT_EQ(m.nodes.size(), 3u);
  EXPECT_EQ(m.nodes[2].vcpus, (VcpuRange{4, 5}));
  EXPECT_EQ(m.nodes[2].memory_mib, 1024u);
  EXPECT_EQ(m.nodes[1].address, "n2:7400");
}

TEST(Domain, RejectedWithLibvirtsMessage) {
  std::string e = ErrorOf([] {
    NormalizeDomainXml("<domain type='kvm'><name>x</name><memory>zz</memory></domain>", "bad.xml");
  });
  EXPECT_NE(e.find("bad.xml: libvirt: "), std::string::npos) << e;
  EXPECT_NE(e.find("Type unsignedLong doesn't allow value 'zz'"), std::string::npos) << e;
  e = ErrorOf([] { NormalizeDomainXml("<domain", "worse.xml"); });
  EXPECT_NE(e.find("worse.xml: libvirt: "), std::string::npos) << e;
}

TEST(Domain, RoundTripThroughLibvirt) {
  ClusterManifest m;
  m.cluster_id = "lab";
  m.epoch = 5;
  m.guest.kernel = "/k & <k>";
  m.guest.cmdline = "console=ttyS0 a='b'";
  m.guest.vcpus_total = 5;
  m.guest.vcpus_online = 3;
  m.guest.page_size_kib = 2048;
  m.nodes.push_back({4, "a", "host-a", "10.0.0.1:7400", {0, 1}, 512});
  m.nodes.push_back({1, "b", "host-b", "[fd00::2]:7401", {2, 4}, 1024});
  std::string xml = DomainXmlFromManifest(m);
  std::string normalized = NormalizeDomainXml(xml, "dump.xml");
  EXPECT_EQ(ManifestFromDomainXml(normalized, "dump.xml", {}), m) << normalized;
  EXPECT_TRUE(!IgnoredDomainElements(normalized, "dump.xml").empty());  // libvirt's defaults
  EXPECT_TRUE(IgnoredDomainElements(xml, "dump.xml").empty());
}

TEST(Domain, IgnoredElementsAreListed) {
  EXPECT_EQ(IgnoredDomainElements(kDomain, "vm.xml"),
            (std::vector<std::string>{"clock", "devices"}));
}

TEST(Domain, MappingErrors) {
  auto import = [](const std::string& xml, std::vector<std::string> hosts) {
    DomainImportOptions opt;
    opt.hosts = std::move(hosts);
    ManifestFromDomainXml(NormalizeDomainXml(xml, "vm.xml"), "vm.xml", opt);
  };
  std::string e = ErrorOf([&] { import(kDomain, {"n1"}); });
  EXPECT_NE(e.find("vm.xml: 3 cells (cluster nodes) but 1 hosts given"), std::string::npos) << e;
  std::string split = kDomain;
  split.replace(split.find("cpus='0-1'"), 10, "cpus='0,2'");
  split.replace(split.find("cpus='2-3'"), 10, "cpus='1,3'");
  e = ErrorOf([&] { import(split, {"a", "b", "c"}); });
  EXPECT_NE(e.find("cell cpus '0,2': an ssivm node hosts one contiguous range"), std::string::npos)
      << e;
}

TEST(Domain, MetadataPlacesCells) {
  std::string xml = kDomain;
  xml.replace(xml.find("<clock"), 0,
              "<metadata><s:cluster xmlns:s='https://ssivm.org/xmlns/cluster/1' epoch='7'>"
              "<s:node cell='0' host='h0'/><s:node cell='1' host='h1' name='one' id='9'/>"
              "<s:node cell='2' host='h2' address='10.1.1.1:99'/></s:cluster></metadata>");
  ClusterManifest m = ManifestFromDomainXml(NormalizeDomainXml(xml, "vm.xml"), "vm.xml", {});
  EXPECT_EQ(m.epoch, 7u);
  EXPECT_EQ(m.nodes[1].id, 9u);
  EXPECT_EQ(m.nodes[1].name, "one");
  EXPECT_EQ(m.nodes[2].address, "10.1.1.1:99");
  EXPECT_EQ(m.nodes[0].address, "h0:7400");
}

}  // namespace
}  // namespace ssivm::provision
