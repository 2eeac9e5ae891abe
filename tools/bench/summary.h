// Summaries of timing samples for the benchmarks' JSON.
#ifndef SSIVM_TOOLS_BENCH_SUMMARY_H_
#define SSIVM_TOOLS_BENCH_SUMMARY_H_

#include <vector>

#include <nlohmann/json.hpp>

namespace ssivm::bench {

// {"median_us", "p99_us", "samples"} of samples in microseconds.
nlohmann::json Summary(std::vector<double> us);
// A Summary's median.
double Median(const nlohmann::json& summary);

}  // namespace ssivm::bench

#endif  // SSIVM_TOOLS_BENCH_SUMMARY_H_
