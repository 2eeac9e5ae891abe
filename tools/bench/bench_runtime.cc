#include "tools/bench/bench_runtime.h"

#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

#include "hypervisor/emulated/runtime.h"
#include "hypervisor/kvm/host_kind.h"

namespace ssivm::bench {

std::optional<int> RunInEmulatedMachineIfNeeded(const std::string& kvm, int argc, char** argv,
                                                uint64_t memory_mib) {
  namespace em = emulated;
  const em::KvmDecision where =
      em::DecideKvm(em::ChoiceFrom(kvm), em::ProbeHostKvm(), "/dev/kvm", false);
  if (!where.emulated) return std::nullopt;
  const std::string who = std::filesystem::path(argv[0]).filename().string();
  std::fprintf(stderr, "%s: %s: measuring in the emulated hardware-KVM machine\n", who.c_str(),
               where.reason.c_str());
  em::MachineOptions o;
  o.cpus = std::max(1u, std::thread::hardware_concurrency());
  o.memory_mib = memory_mib;
  return em::RunSelfInEmulatedMachine(who, em::ArgsForInside(argc, argv), o);
}

nlohmann::json RuntimeJson() {
  const char* inside = std::getenv(emulated::kInsideEnv);
  const bool emulated = inside != nullptr && std::strcmp(inside, "1") == 0;
  uint64_t mem_kib = 0;
  std::ifstream f("/proc/meminfo");
  std::string key, unit;
  while (f >> key >> mem_kib >> unit && key != "MemTotal:") {
  }
  nlohmann::json j = {
      {"kvm", emulated ? "emulated" : "host"},
      {"host_kind", HostKindName(DetectHostKind())},
      {"cpus", std::thread::hardware_concurrency()},
      {"memory_mib", mem_kib / 1024},
  };
  if (emulated) {
    j["note"] =
        "inside the emulated hardware-KVM machine (QEMU TCG with SVM): every instruction is "
        "emulated; compare ratios within this run, never absolute times";
  }
  return j;
}

}  // namespace ssivm::bench
