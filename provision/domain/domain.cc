// Normalized domain XML <-> ClusterManifest, and the elements ssivm ignores.
#include <algorithm>
#include <charconv>
#include <set>

#include "common/error.h"
#include "common/xml_escape.h"
#include "provision/domain/domain.h"
#include "provision/manifest/address.h"
#include "provision/packages/xml.h"

namespace ssivm::provision {
namespace {

[[noreturn]] void Fail(const std::string& file, const xmlNode* node, const std::string& what) {
  throw Error(file + ":" + std::to_string(xmlGetLineNo(node)) + ": " + what);
}

uint64_t Number(const std::string& file, const xmlNode* node, const std::string& what,
                const std::string& text) {
  uint64_t v = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || ptr != text.data() + text.size()) {
    Fail(file, node, what + " '" + text + "' is not a number");
  }
  return v;
}

// KiB of a normalized memory element or attribute set.
uint64_t Kib(const std::string& file, const xmlNode* node, const std::string& what,
             const std::string& value, const std::string& unit) {
  uint64_t v = Number(file, node, what, value);
  if (unit == "KiB" || unit == "k" || unit == "K" || unit.empty()) return v;
  if (unit == "MiB" || unit == "M") return v * 1024;
  if (unit == "GiB" || unit == "G") return v * 1024 * 1024;
  Fail(file, node, what + ": unit '" + unit + "' (expected KiB, MiB or GiB)");
}

// "0-3", "4", "0,1,2": a contiguous range of vCPUs.
VcpuRange CpuRange(const std::string& file, const xmlNode* cell, const std::string& cpus) {
  std::set<uint64_t> set;
  size_t start = 0;
  while (start <= cpus.size()) {
    size_t comma = cpus.find(',', start);
    if (comma == std::string::npos) comma = cpus.size();
    std::string item = cpus.substr(start, comma - start);
    size_t dash = item.find('-');
    uint64_t lo = Number(file, cell, "cell cpus", item.substr(0, dash));
    uint64_t hi =
        dash == std::string::npos ? lo : Number(file, cell, "cell cpus", item.substr(dash + 1));
    if (hi < lo || hi >= kMaxVcpus) Fail(file, cell, "cell cpus '" + cpus + "': bad range");
    for (uint64_t c = lo; c <= hi; ++c) set.insert(c);
    start = comma + 1;
  }
  VcpuRange r{static_cast<uint32_t>(*set.begin()), static_cast<uint32_t>(*set.rbegin())};
  if (set.size() != r.count()) {
    Fail(
        file, cell,
        "cell cpus '" + cpus + "': an ssivm node hosts one contiguous range of vCPUs (first-last)");
  }
  return r;
}

struct Placement {
  std::string host, name, address;
  uint32_t id = 0;
};

bool IsSsivm(const xmlNode* n) {
  return n->ns != nullptr && n->ns->href != nullptr &&
         std::string_view(reinterpret_cast<const char*>(n->ns->href)) == kSsivmXmlns;
}

// The <metadata><ssivm:cluster> element, or nullptr.
const xmlNode* SsivmCluster(const xmlNode* dom) {
  const xmlNode* cluster = nullptr;
  if (xmlNode* meta = Child(dom, "metadata")) {
    for (xmlNode* c : Children(meta, "cluster")) {
      if (IsSsivm(c)) cluster = c;
    }
  }
  return cluster;
}

}  // namespace

ClusterManifest ManifestFromDomainXml(std::string_view xml, const std::string& file,
                                      const DomainImportOptions& opt) {
  XmlDocPtr doc = ParseXml(xml, file);
  const xmlNode* dom = xmlDocGetRootElement(doc.get());
  if (NameOf(dom) != "domain") Fail(file, dom, "root element is not <domain>");
  ClusterManifest m;
  xmlNode* name = Child(dom, "name");
  if (name == nullptr) Fail(file, dom, "<domain> has no <name>");
  m.cluster_id = Text(name);

  xmlNode* memory = Child(dom, "memory");
  if (memory == nullptr) Fail(file, dom, "<domain> has no <memory>");
  uint64_t total_kib = Kib(file, memory, "<memory>", Text(memory), Attr(memory, "unit"));

  xmlNode* vcpu = Child(dom, "vcpu");
  if (vcpu == nullptr) Fail(file, dom, "<domain> has no <vcpu>");
  uint64_t max = Number(file, vcpu, "<vcpu>", Text(vcpu));
  std::string current = Attr(vcpu, "current");
  uint64_t online = current.empty() ? max : Number(file, vcpu, "<vcpu current>", current);
  if (max > kMaxVcpus)
    Fail(file, vcpu, "<vcpu> " + std::to_string(max) + ": at most " + std::to_string(kMaxVcpus));
  m.guest.vcpus_total = static_cast<uint32_t>(max);
  m.guest.vcpus_online = static_cast<uint32_t>(online);

  if (xmlNode* os = Child(dom, "os")) {
    if (xmlNode* k = Child(os, "kernel")) m.guest.kernel = Text(k);
    if (xmlNode* i = Child(os, "initrd")) m.guest.initrd = Text(i);
    if (xmlNode* c = Child(os, "cmdline")) m.guest.cmdline = Text(c);
  }
  if (xmlNode* backing = Child(dom, "memoryBacking")) {
    if (xmlNode* huge = Child(backing, "hugepages")) {
      m.guest.page_size_kib = 2048;  // libvirt's default hugepage size on x86-64
      if (xmlNode* page = Child(huge, "page")) {
        uint64_t kib = Kib(file, page, "hugepage size", Attr(page, "size"), Attr(page, "unit"));
        if (kib != 2048 && kib != 1048576) {
          Fail(file, page,
               "hugepage size " + std::to_string(kib) + " KiB: ssivm supports 2048 and 1048576");
        }
        m.guest.page_size_kib = static_cast<uint32_t>(kib);
      }
    }
  }

  // One node per NUMA cell (or one node for a domain without cells).
  struct Cell {
    uint32_t id;
    VcpuRange vcpus;
    uint64_t kib;
    const xmlNode* node;
  };
  std::vector<Cell> cells;
  const xmlNode* numa = nullptr;
  if (xmlNode* cpu = Child(dom, "cpu")) numa = Child(cpu, "numa");
  if (numa != nullptr) {
    for (xmlNode* c : Children(numa, "cell")) {
      std::string id = Attr(c, "id");
      uint64_t cid = id.empty() ? cells.size() : Number(file, c, "cell id", id);
      cells.push_back({static_cast<uint32_t>(cid), CpuRange(file, c, Attr(c, "cpus")),
                       Kib(file, c, "cell memory", Attr(c, "memory"), Attr(c, "unit")), c});
    }
  }
  if (cells.empty()) {
    if (max == 0) Fail(file, vcpu, "<vcpu> must be at least 1");
    cells.push_back({0, {0, static_cast<uint32_t>(max - 1)}, total_kib, dom});
  }
  uint64_t cells_kib = 0;
  for (const Cell& c : cells) cells_kib += c.kib;
  if (cells_kib != total_kib) {
    Fail(file, memory,
         "<memory> is " + std::to_string(total_kib) + " KiB but the cells add up to " +
             std::to_string(cells_kib) + " KiB");
  }

  // Where each cell runs.
  std::vector<Placement> where(cells.size());
  std::vector<bool> placed(cells.size(), false);
  const xmlNode* cluster = SsivmCluster(dom);
  m.epoch = 1;
  if (cluster != nullptr) {
    if (std::string e = Attr(cluster, "epoch"); !e.empty())
      m.epoch = Number(file, cluster, "epoch", e);
    for (xmlNode* n : Children(cluster, "node")) {
      uint64_t cell = Number(file, n, "ssivm:node cell", Attr(n, "cell"));
      auto it =
          std::find_if(cells.begin(), cells.end(), [&](const Cell& c) { return c.id == cell; });
      if (it == cells.end())
        Fail(file, n, "ssivm:node cell " + std::to_string(cell) + ": no such <cell>");
      size_t i = static_cast<size_t>(it - cells.begin());
      if (placed[i]) Fail(file, n, "cell " + std::to_string(cell) + " is placed twice");
      placed[i] = true;
      Placement& p = where[i];
      p.host = Attr(n, "host");
      if (p.host.empty())
        Fail(file, n, "ssivm:node for cell " + std::to_string(cell) + " has no host");
      p.name = Attr(n, "name").empty() ? p.host : Attr(n, "name");
      p.address = Attr(n, "address").empty() ? FormatAddress(p.host, opt.port) : Attr(n, "address");
      std::string id = Attr(n, "id");
      p.id = static_cast<uint32_t>(id.empty() ? cell : Number(file, n, "ssivm:node id", id));
    }
    for (size_t i = 0; i < cells.size(); ++i) {
      if (!placed[i])
        Fail(file, cluster,
             "no ssivm:node says where cell " + std::to_string(cells[i].id) + " runs");
    }
  } else if (opt.hosts.empty() && opt.local) {
    for (size_t i = 0; i < cells.size(); ++i) {
      const auto port = static_cast<uint16_t>(opt.port + i);
      where[i] = {"localhost", "cell" + std::to_string(cells[i].id),
                  FormatAddress("127.0.0.1", port), cells[i].id};
    }
  } else {
    if (opt.hosts.size() != cells.size()) {
      throw Error(file + ": " + std::to_string(cells.size()) + " cells (cluster nodes) but " +
                  std::to_string(opt.hosts.size()) +
                  " hosts given: say where each cell runs, in cell order (a nodes file), or with "
                  "<ssivm:node> elements in <metadata>");
    }
    for (size_t i = 0; i < cells.size(); ++i) {
      where[i] = {opt.hosts[i], opt.hosts[i], FormatAddress(opt.hosts[i], opt.port), cells[i].id};
    }
  }
  for (size_t i = 0; i < cells.size(); ++i) {
    if (cells[i].kib % 1024 != 0) {
      Fail(file, cells[i].node,
           "cell " + std::to_string(cells[i].id) + " memory " + std::to_string(cells[i].kib) +
               " KiB is not a whole number of MiB");
    }
    m.nodes.push_back({where[i].id, where[i].name, where[i].host, where[i].address, cells[i].vcpus,
                       cells[i].kib / 1024});
  }
  ThrowIfInvalid(m, file + " (as a cluster manifest)");
  return m;
}

std::vector<std::string> IgnoredDomainElements(std::string_view xml, const std::string& file) {
  static const std::set<std::string> kUsed = {"name",
                                              "uuid",
                                              "title",
                                              "description",
                                              "metadata",
                                              "memory",
                                              "currentMemory",
                                              "vcpu",
                                              "os",
                                              "os/type",
                                              "os/kernel",
                                              "os/initrd",
                                              "os/cmdline",
                                              "cpu",
                                              "cpu/numa",
                                              "cpu/numa/cell",
                                              "memoryBacking",
                                              "memoryBacking/hugepages",
                                              "memoryBacking/hugepages/page"};
  XmlDocPtr doc = ParseXml(xml, file);
  std::vector<std::string> out;
  auto walk = [&](auto&& self, const xmlNode* node, const std::string& prefix) -> void {
    for (xmlNode* c : Children(node)) {
      std::string path =
          prefix.empty() ? std::string(NameOf(c)) : prefix + "/" + std::string(NameOf(c));
      if (prefix == "metadata") continue;
      if (!kUsed.count(path)) {
        if (std::find(out.begin(), out.end(), path) == out.end()) out.push_back(path);
        continue;
      }
      self(self, c, path);
    }
  };
  walk(walk, xmlDocGetRootElement(doc.get()), "");
  return out;
}

std::string DomainXmlFromManifest(const ClusterManifest& m) {
  std::string x = "<domain type='kvm'>\n";
  x += "  <name>" + XmlEscape(m.cluster_id) + "</name>\n";
  x += "  <metadata>\n";
  x += "    <ssivm:cluster xmlns:ssivm='" + std::string(kSsivmXmlns) + "' epoch='" +
       std::to_string(m.epoch) + "'>\n";
  for (size_t i = 0; i < m.nodes.size(); ++i) {
    const Node& n = m.nodes[i];
    x += "      <ssivm:node cell='" + std::to_string(i) + "' id='" + std::to_string(n.id) +
         "' name='" + XmlEscape(n.name) + "' host='" + XmlEscape(n.host) + "' address='" +
         XmlEscape(n.address) + "'/>\n";
  }
  x += "    </ssivm:cluster>\n  </metadata>\n";
  x += "  <memory unit='MiB'>" + std::to_string(m.TotalMemoryMib()) + "</memory>\n";
  if (m.guest.page_size_kib != 4) {
    x += "  <memoryBacking>\n    <hugepages>\n      <page size='" +
         std::to_string(m.guest.page_size_kib) +
         "' unit='KiB'/>\n    </hugepages>\n  </memoryBacking>\n";
  }
  x += "  <vcpu current='" + std::to_string(m.guest.vcpus_online) + "'>" +
       std::to_string(m.guest.vcpus_total) + "</vcpu>\n";
  x += "  <os>\n    <type arch='x86_64'>hvm</type>\n";
  if (!m.guest.kernel.empty()) x += "    <kernel>" + XmlEscape(m.guest.kernel) + "</kernel>\n";
  if (!m.guest.initrd.empty()) x += "    <initrd>" + XmlEscape(m.guest.initrd) + "</initrd>\n";
  if (!m.guest.cmdline.empty()) x += "    <cmdline>" + XmlEscape(m.guest.cmdline) + "</cmdline>\n";
  x += "  </os>\n  <cpu>\n    <numa>\n";
  for (size_t i = 0; i < m.nodes.size(); ++i) {
    const Node& n = m.nodes[i];
    x += "      <cell id='" + std::to_string(i) + "' cpus='" + std::to_string(n.vcpus.first) + "-" +
         std::to_string(n.vcpus.last) + "' memory='" + std::to_string(n.memory_mib) +
         "' unit='MiB'/>\n";
  }
  x += "    </numa>\n  </cpu>\n</domain>\n";
  return x;
}

}  // namespace ssivm::provision
