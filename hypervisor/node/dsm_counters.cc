#include "hypervisor/node/dsm_counters.h"

#include <fmt/format.h>

#include "guest/abi/pv_devices.h"

namespace ssivm {
namespace {

struct Counter {
  const char* json;  // key in `ssictl status`
  const char* log;   // words in the log line
  uint32_t info_key;
  uint64_t dsm::DsmStats::*field;
};

constexpr Counter kCounters[] = {
    {"read_faults", "read faults", abi::kInfoReadFaults, &dsm::DsmStats::read_faults},
    {"write_faults", "write faults", abi::kInfoWriteFaults, &dsm::DsmStats::write_faults},
    {"pages_sent", "pages sent", abi::kInfoPagesSent, &dsm::DsmStats::pages_sent},
    {"pages_received", "received", abi::kInfoPagesReceived, &dsm::DsmStats::pages_received},
    {"zero_fills", "zero-filled", abi::kInfoZeroFills, &dsm::DsmStats::zero_fills},
    {"invalidations", "invalidated", abi::kInfoInvalidations, &dsm::DsmStats::invalidations},
    {"messages", "messages", abi::kInfoMessages, &dsm::DsmStats::messages_handled},
    {"cached_pages", "pages cached", abi::kInfoCachedPages, &dsm::DsmStats::cached_pages},
    {"evicted_clean", "evicted clean", abi::kInfoEvictedClean, &dsm::DsmStats::evicted_clean},
    {"written_back", "written back", abi::kInfoWrittenBack, &dsm::DsmStats::written_back},
};

}  // namespace

std::optional<uint64_t> DsmCounterForInfoKey(const dsm::DsmStats& s, uint32_t key) {
  for (const Counter& c : kCounters) {
    if (c.info_key == key) return s.*c.field;
  }
  return std::nullopt;
}

nlohmann::json DsmCountersJson(const dsm::DsmStats& s) {
  nlohmann::json j;
  for (const Counter& c : kCounters) j[c.json] = s.*c.field;
  j["fault_latency"] = dsm::FormatLatency(s);
  j["cache_limit_pages"] = s.cache_limit_pages;
  j["metadata_bytes"] = s.metadata_bytes;
  j["metadata_bytes_per_page"] = s.metadata_pages == 0 ? 0.0
                                                       : static_cast<double>(s.metadata_bytes) /
                                                             static_cast<double>(s.metadata_pages);
  return j;
}

std::string DsmCountersLine(const dsm::DsmStats& s) {
  std::string out;
  for (const Counter& c : kCounters) {
    out += fmt::format("{}{} {}", out.empty() ? "" : ", ", s.*c.field, c.log);
  }
  return out;
}

}  // namespace ssivm
