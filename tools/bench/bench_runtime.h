// Benchmarks measure where KVM is. With --kvm auto (the default) they run on
// this host's /dev/kvm; without one (or with --kvm emulated) the whole
// benchmark runs again inside the emulated hardware-KVM machine, so that its
// floors are measured in the same run, there. The JSON says where it ran.
#ifndef SSIVM_TOOLS_BENCH_BENCH_RUNTIME_H_
#define SSIVM_TOOLS_BENCH_BENCH_RUNTIME_H_

#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace ssivm::bench {

// nullopt: run here. Otherwise the benchmark's exit status inside the
// emulated machine (of `memory_mib`), its JSON already printed.
std::optional<int> RunInEmulatedMachineIfNeeded(const std::string& kvm, int argc, char** argv,
                                                uint64_t memory_mib = 2048);

// {"kvm": "host" or "emulated", "host_kind", "cpus", "memory_mib"}: where
// the numbers come from. Under emulation absolute times mean nothing.
nlohmann::json RuntimeJson();

}  // namespace ssivm::bench

#endif  // SSIVM_TOOLS_BENCH_BENCH_RUNTIME_H_
