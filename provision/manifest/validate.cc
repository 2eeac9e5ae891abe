// Semantic checks of a parsed manifest.
#include <algorithm>
#include <map>
#include <string>

#include "common/error.h"
#include "provision/manifest/address.h"
#include "provision/manifest/manifest.h"

namespace ssivm::provision {
namespace {

bool IsNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-';
}

std::string CheckName(std::string_view name) {
  if (name.empty()) return "must not be empty";
  if (name.size() > 64) return "longer than 64 characters";
  for (char c : name) {
    if (!IsNameChar(c))
      return std::string("invalid character '") + c + "' (allowed: A-Z a-z 0-9 . _ -)";
  }
  return "";
}

std::string NodeKey(size_t i, const char* field) {
  return "nodes[" + std::to_string(i) + "]." + field;
}

void CheckGuest(const Guest& g, std::vector<Problem>* out) {
  if (g.vcpus_total == 0) out->push_back({"guest.vcpus_total", "must be at least 1"});
  if (g.vcpus_total > kMaxVcpus) {
    out->push_back({"guest.vcpus_total", "is " + std::to_string(g.vcpus_total) + "; at most " +
                                             std::to_string(kMaxVcpus)});
  }
  if (g.vcpus_online == 0) out->push_back({"guest.vcpus_online", "must be at least 1"});
  if (g.vcpus_online > g.vcpus_total) {
    out->push_back({"guest.vcpus_online", std::to_string(g.vcpus_online) +
                                              " is more than guest.vcpus_total (" +
                                              std::to_string(g.vcpus_total) + ")"});
  }
  if (g.page_size_kib != 4 && g.page_size_kib != 2048 && g.page_size_kib != 1048576) {
    out->push_back({"guest.page_size_kib",
                    std::to_string(g.page_size_kib) + " is not a page size (4, 2048 or 1048576)"});
  }
  for (char c : g.cmdline) {
    if (c == '\n' || c == '\0') out->push_back({"guest.cmdline", "contains a newline or NUL"});
  }
}

void CheckCache(const Node& n, size_t i, std::vector<Problem>* out) {
  if (n.vcpus.first > n.vcpus.last) return;  // reported already
  if (std::string e = CacheMibProblem(n.cache_mib, n.vcpus.count()); !e.empty()) {
    out->push_back({NodeKey(i, "cache_mib"), e});
  }
}

void CheckNode(const Node& n, size_t i, uint32_t page_kib, std::vector<Problem>* out) {
  if (n.id >= kMaxNodes) {
    out->push_back({NodeKey(i, "id"),
                    std::to_string(n.id) + " is out of range 0-" + std::to_string(kMaxNodes - 1)});
  }
  if (std::string e = CheckName(n.name); !e.empty()) out->push_back({NodeKey(i, "name"), e});
  if (std::string e = CheckHost(n.host); !e.empty()) {
    out->push_back({NodeKey(i, "host"), "'" + n.host + "': " + e});
  }
  Address a;
  if (std::string e; !ParseAddress(n.address, &a, &e)) {
    out->push_back({NodeKey(i, "address"), "'" + n.address + "': " + e});
  }
  if (n.vcpus.first > n.vcpus.last) {
    out->push_back({NodeKey(i, "vcpus"), "first (" + std::to_string(n.vcpus.first) +
                                             ") is greater than last (" +
                                             std::to_string(n.vcpus.last) + ")"});
  }
  if (n.memory_mib == 0) {
    out->push_back({NodeKey(i, "memory_mib"), "must not be zero"});
  } else if (n.memory_mib > kMaxMemoryMib) {
    out->push_back({NodeKey(i, "memory_mib"), std::to_string(n.memory_mib) + " MiB is more than " +
                                                  std::to_string(kMaxMemoryMib) + " MiB"});
  } else if (page_kib >= 1024 && (n.memory_mib * 1024) % page_kib != 0) {
    out->push_back(
        {NodeKey(i, "memory_mib"), std::to_string(n.memory_mib) +
                                       " MiB is not a multiple of the guest page size (" +
                                       std::to_string(page_kib) + " KiB)"});
  }
  CheckCache(n, i, out);
}

// vCPU ranges, sorted, must tile 0..vcpus_total-1 exactly.
void CheckCoverage(const ClusterManifest& m, std::vector<Problem>* out) {
  std::vector<std::pair<VcpuRange, size_t>> ranges;
  for (size_t i = 0; i < m.nodes.size(); ++i) {
    if (m.nodes[i].vcpus.first <= m.nodes[i].vcpus.last) ranges.emplace_back(m.nodes[i].vcpus, i);
  }
  std::sort(ranges.begin(), ranges.end(), [](const auto& a, const auto& b) {
    return a.first.first < b.first.first || (a.first.first == b.first.first && a.second < b.second);
  });
  auto range_text = [](VcpuRange r) {
    return std::to_string(r.first) + ".." + std::to_string(r.last);
  };
  uint64_t next = 0;  // first vCPU not yet covered
  for (size_t k = 0; k < ranges.size(); ++k) {
    auto [r, i] = ranges[k];
    if (r.first > next) {
      out->push_back({NodeKey(i, "vcpus"), "gap: no node hosts vCPUs " + std::to_string(next) +
                                               ".." + std::to_string(r.first - 1)});
    } else if (r.first < next && k > 0) {
      out->push_back({NodeKey(i, "vcpus"), range_text(r) + " overlaps nodes[" +
                                               std::to_string(ranges[k - 1].second) + "].vcpus (" +
                                               range_text(ranges[k - 1].first) + ")"});
    }
    next = std::max<uint64_t>(next, uint64_t{r.last} + 1);
  }
  if (m.guest.vcpus_total > 0 && next < m.guest.vcpus_total && !m.nodes.empty()) {
    out->push_back({"nodes", "no node hosts vCPUs " + std::to_string(next) + ".." +
                                 std::to_string(m.guest.vcpus_total - 1) +
                                 " (guest.vcpus_total is " + std::to_string(m.guest.vcpus_total) +
                                 ")"});
  }
  if (next > m.guest.vcpus_total && !ranges.empty()) {
    auto last = ranges.back();
    out->push_back({NodeKey(last.second, "vcpus"), range_text(last.first) +
                                                       " goes beyond guest.vcpus_total (" +
                                                       std::to_string(m.guest.vcpus_total) + ")"});
  }
}

template <typename Field>
void CheckUnique(const ClusterManifest& m, const char* key, Field field,
                 std::vector<Problem>* out) {
  std::map<std::string, size_t> seen;
  for (size_t i = 0; i < m.nodes.size(); ++i) {
    std::string v = field(m.nodes[i]);
    auto [it, inserted] = seen.emplace(v, i);
    if (!inserted) {
      out->push_back({NodeKey(i, key), "duplicate " + std::string(key) + " '" + v +
                                           "' (also nodes[" + std::to_string(it->second) + "])"});
    }
  }
}

}  // namespace

std::vector<Problem> Validate(const ClusterManifest& m) {
  std::vector<Problem> out;
  if (std::string e = CheckName(m.cluster_id); !e.empty()) out.push_back({"cluster_id", e});
  if (m.epoch == 0) out.push_back({"epoch", "must be at least 1"});
  CheckGuest(m.guest, &out);
  if (m.nodes.empty()) out.push_back({"nodes", "the cluster has no nodes"});
  if (m.nodes.size() > kMaxNodes) {
    out.push_back(
        {"nodes", std::to_string(m.nodes.size()) + " nodes; at most " + std::to_string(kMaxNodes)});
  }
  for (size_t i = 0; i < m.nodes.size(); ++i) CheckNode(m.nodes[i], i, m.guest.page_size_kib, &out);
  CheckUnique(
      m, "id", [](const Node& n) { return std::to_string(n.id); }, &out);
  CheckUnique(
      m, "name", [](const Node& n) { return n.name; }, &out);
  CheckUnique(
      m, "address", [](const Node& n) { return n.address; }, &out);
  CheckCoverage(m, &out);
  return out;
}

std::string CacheMibProblem(uint64_t cache_mib, uint32_t vcpus) {
  if (cache_mib == 0) return "";
  if (cache_mib > kMaxMemoryMib) {
    return std::to_string(cache_mib) + " MiB is more than " + std::to_string(kMaxMemoryMib) +
           " MiB";
  }
  const uint64_t min = MinCacheMib(vcpus);
  if (cache_mib >= min) return "";
  return std::to_string(cache_mib) + " MiB is less than the minimum of " + std::to_string(min) +
         " MiB for the node's " + std::to_string(vcpus) + " vCPU" + (vcpus == 1 ? "" : "s") + " (" +
         std::to_string(kCacheMibPerVcpu) + " MiB per vCPU, at least " +
         std::to_string(kMinCacheMib) +
         " MiB: one instruction and the guest kernel's page-table walk can need several pages "
         "of other nodes at once); leave it out for automatic";
}

std::string FormatProblems(std::string_view file_name, const std::vector<Problem>& problems) {
  std::string out;
  for (const Problem& p : problems) {
    out += file_name;
    if (p.line > 0) out += ":" + std::to_string(p.line);
    out += ": " + p.key + ": " + p.message + "\n";
  }
  return out;
}

uint64_t ClusterManifest::TotalMemoryMib() const {
  uint64_t total = 0;
  for (const Node& n : nodes) total += n.memory_mib;
  return total;
}

const Node* ClusterManifest::FindNode(uint32_t id) const {
  for (const Node& n : nodes) {
    if (n.id == id) return &n;
  }
  return nullptr;
}

uint32_t ClusterManifest::DeviceNodeId() const {
  if (nodes.empty()) throw Error("the manifest has no node");
  uint32_t lowest = nodes.front().id;
  for (const Node& n : nodes) lowest = std::min(lowest, n.id);
  return lowest;
}

const Node* ClusterManifest::FindNodeByName(std::string_view name) const {
  for (const Node& n : nodes) {
    if (n.name == name) return &n;
  }
  return nullptr;
}

void ThrowIfInvalid(const ClusterManifest& m, std::string_view what) {
  const std::vector<Problem> problems = Validate(m);
  if (problems.empty()) return;
  std::string text = FormatProblems(what, problems);
  text.pop_back();  // the last newline
  throw Error(text);
}

}  // namespace ssivm::provision
