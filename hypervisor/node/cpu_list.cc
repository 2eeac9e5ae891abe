#include "hypervisor/node/cpu_list.h"

#include <algorithm>
#include <charconv>

#include <fmt/format.h>

#include "common/error.h"

namespace ssivm {
namespace {

int ParseCpu(std::string_view list, std::string_view part, std::string_view number) {
  int cpu = -1;
  const auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), cpu);
  if (number.empty() || ec != std::errc() || end != number.data() + number.size()) {
    throw Error(fmt::format("CPU list '{}': '{}' is not a CPU number or range", list, part));
  }
  if (cpu < 0 || cpu > kMaxHostCpu) {
    throw Error(
        fmt::format("CPU list '{}': CPU {} is out of range (0-{})", list, number, kMaxHostCpu));
  }
  return cpu;
}

}  // namespace

std::vector<int> ParseCpuList(std::string_view text) {
  if (text.empty()) throw Error("CPU list is empty (expected e.g. 1 or 0-3,6)");
  std::vector<int> cpus;
  size_t start = 0;
  while (start <= text.size()) {
    const size_t comma = std::min(text.find(',', start), text.size());
    const std::string_view part = text.substr(start, comma - start);
    const size_t dash = part.find('-');
    const int first = ParseCpu(text, part, part.substr(0, dash));
    const int last =
        dash == std::string_view::npos ? first : ParseCpu(text, part, part.substr(dash + 1));
    if (last < first) {
      throw Error(fmt::format("CPU list '{}': range '{}' runs backwards", text, part));
    }
    for (int c = first; c <= last; ++c) cpus.push_back(c);
    start = comma + 1;
  }
  std::sort(cpus.begin(), cpus.end());
  cpus.erase(std::unique(cpus.begin(), cpus.end()), cpus.end());
  return cpus;
}

std::string FormatCpuList(const std::vector<int>& cpus) {
  std::string out;
  for (size_t i = 0; i < cpus.size();) {
    size_t j = i;
    while (j + 1 < cpus.size() && cpus[j + 1] == cpus[j] + 1) ++j;
    if (!out.empty()) out += ',';
    out += j == i ? fmt::format("{}", cpus[i]) : fmt::format("{}-{}", cpus[i], cpus[j]);
    i = j + 1;
  }
  return out;
}

}  // namespace ssivm
