#include "tools/bench/summary.h"

#include <algorithm>

namespace ssivm::bench {

nlohmann::json Summary(std::vector<double> us) {
  std::sort(us.begin(), us.end());
  auto pct = [&](double p) {
    return us.empty() ? 0.0
                      : us[std::min(us.size() - 1,
                                    static_cast<size_t>(p * static_cast<double>(us.size())))];
  };
  return {{"median_us", pct(0.5)}, {"p99_us", pct(0.99)}, {"samples", us.size()}};
}

double Median(const nlohmann::json& summary) {
  return summary.at("median_us").get<double>();
}

}  // namespace ssivm::bench
