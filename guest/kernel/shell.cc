#include "guest/kernel/shell.h"
#include "guest/kernel/boot_info.h"

#include "guest/drivers/pv_info.h"

#include "guest/abi/pv_devices.h"
#include "guest/kernel/clock.h"
#include "guest/kernel/console.h"
#include "guest/kernel/mem.h"
#include "guest/kernel/percpu.h"
#include "guest/kernel/power.h"
#include "guest/kernel/sched.h"
#include "guest/kernel/workloads/workload.h"

namespace ssivm::guest {
namespace {

constexpr int kMaxWords = workloads::kMaxArgs + 2;

struct Words {
  StrView w[kMaxWords];
  int n = 0;
};

Words Split(const char* line) {
  Words words;
  const char* p = line;
  while (*p != '\0') {
    while (*p == ' ' || *p == '\t') ++p;
    if (*p == '\0') break;
    const char* start = p;
    while (*p != '\0' && *p != ' ' && *p != '\t') ++p;
    if (words.n < kMaxWords) words.w[words.n++] = StrView(start, p - start);
  }
  return words;
}

void Login(StrView password) {
  char user[32], pass[64];
  for (;;) {
    console::Printf("ssivm login: ");
    console::ReadLine(user, sizeof(user), console::Echo::kOn);
    if (user[0] == '\0') continue;
    if (password.empty()) break;
    console::Printf("Password: ");
    console::ReadLine(pass, sizeof(pass), console::Echo::kOff);
    if (StrView(pass) == password) break;
    console::Printf("Login incorrect\n");
  }
  console::Printf("Welcome to ssivm, %s. Type 'help' for commands.\n", user);
}

void Help() {
  console::Printf(
      "commands:\n"
      "  help                  this list\n"
      "  cpus                  CPUs: id, node, state, load\n"
      "  mem                   memory, total and per node\n"
      "  uptime                time since boot\n"
      "  stats                 per node: DSM faults, pages moved, VMM exits\n"
      "  run <workload> [args] run a built-in workload\n"
      "  fault <ud|de|pf|gp>   raise a CPU exception (kernel panic)\n"
      "  poweroff              stop the machine\n"
      "workloads:\n");
  for (const workloads::Workload* w = workloads::List(); w->name != nullptr; ++w) {
    console::Printf("  %-9s %s\n", w->name, w->usage);
  }
}

void Cpus() {
  console::Printf("cpu  node  apic  state  load  queue  switches  irqs\n");
  for (uint32_t i = 0; i < CpuCount(); ++i) {
    PerCpu* c = CpuData(i);
    const bool idle = __atomic_load_n(&c->current, __ATOMIC_RELAXED) == c->idle;
    console::Printf("%3u  %4u  %4u  %-5s  %3u%%  %5u  %8lu  %lu\n", i, NodeOfCpu(i), c->apic_id,
                    idle ? "idle" : "busy", c->load_pct.Load(MemoryOrder::kRelaxed),
                    c->rq_len.Load(MemoryOrder::kRelaxed), c->counters.switches, c->counters.irqs);
  }
}

void Mem() {
  uint64_t total = 0, free = 0;
  for (uint32_t n = 0; n < mem::NodeCount(); ++n) {
    const mem::NodeStats s = mem::Stats(n);
    total += s.total_pages;
    free += s.free_pages;
  }
  console::Printf("memory: %lu KiB total, %lu KiB free\n", total * 4, free * 4);
  for (uint32_t n = 0; n < mem::NodeCount(); ++n) {
    const mem::NodeStats s = mem::Stats(n);
    console::Printf("  node %u: %lu KiB total, %lu KiB free\n", n, s.total_pages * 4,
                    s.free_pages * 4);
  }
}

// What one node's VMM reports, read on a CPU of that node.
struct NodeStats {
  uint64_t v[abi::kInfoKeyCount];
};

void ReadNodeStats(void* arg) {
  auto* s = static_cast<NodeStats*>(arg);
  for (uint32_t k = 0; k < abi::kInfoKeyCount; ++k)
    s->v[k] = ReadPvInfo(static_cast<abi::PvInfoKey>(k));
}

void Stats() {
  console::Printf(
      "node  rd-faults  wr-faults  pages-in  pages-out  zero  invalid  messages  exits\n");
  uint32_t nodes = 0;
  for (uint32_t i = 0; i < CpuCount(); ++i)
    nodes = NodeOfCpu(i) + 1 > nodes ? NodeOfCpu(i) + 1 : nodes;
  for (uint32_t n = 0; n < nodes; ++n) {
    // The device answers for the node it is on: ask from a CPU of node n.
    int32_t cpu = -1;
    for (uint32_t i = 0; i < CpuCount() && cpu < 0; ++i) {
      if (NodeOfCpu(i) == n) cpu = static_cast<int32_t>(i);
    }
    if (cpu < 0) continue;
    NodeStats s{};
    Thread* t = sched::Spawn(ReadNodeStats, &s, "stats", cpu);
    if (t == nullptr) {
      console::Printf("stats: out of memory\n");
      return;
    }
    sched::Join(t);
    console::Printf("%4lu  %9lu  %9lu  %8lu  %9lu  %4lu  %7lu  %8lu  %lu\n", s.v[abi::kInfoNodeId],
                    s.v[abi::kInfoReadFaults], s.v[abi::kInfoWriteFaults],
                    s.v[abi::kInfoPagesReceived], s.v[abi::kInfoPagesSent],
                    s.v[abi::kInfoZeroFills], s.v[abi::kInfoInvalidations], s.v[abi::kInfoMessages],
                    s.v[abi::kInfoVcpuExits]);
  }
}

void Uptime() {
  const uint64_t ms = clock::Nanoseconds() / 1000000;
  console::Printf("up %lu.%03lu s, %u cpus, %lu threads\n", ms / 1000, ms % 1000, CpuCount(),
                  sched::ThreadCount());
}

void Run(const Words& words) {
  if (words.n < 2) {
    console::Printf("usage: run <workload> [args]; workloads are listed by 'help'\n");
    return;
  }
  const workloads::Workload* w = workloads::Find(words.w[1]);
  if (w == nullptr) {
    console::Printf("run: no workload named '%.*s' (see 'help')\n", words.w[1].Len(),
                    words.w[1].data);
    return;
  }
  workloads::Args args;
  for (int i = 2; i < words.n && args.argc < workloads::kMaxArgs; ++i) {
    args.argv[args.argc++] = words.w[i];
  }
  w->run(args);
}

}  // namespace

bool TriggerFault(StrView kind) {
  if (kind == "ud") {
    asm volatile("ud2");
  } else if (kind == "de") {
    asm volatile("xor %%ecx, %%ecx; div %%ecx" ::: "rax", "rcx", "rdx");
  } else if (kind == "pf") {
    // Above the RAM the identity map covers: not present.
    *reinterpret_cast<volatile uint64_t*>(0x7fff00000000ull) = 1;
  } else if (kind == "gp") {
    *reinterpret_cast<volatile uint64_t*>(0x8000000000000000ull) = 1;  // non-canonical
  } else {
    return false;
  }
  return true;
}

void RunShell(StrView password) {
  Login(password);
  char line[160];
  for (;;) {
    console::Printf("ssivm# ");
    console::ReadLine(line, sizeof(line), console::Echo::kOn);
    const Words words = Split(line);
    if (words.n == 0) continue;
    const StrView cmd = words.w[0];
    if (cmd == "help") {
      Help();
    } else if (cmd == "cpus") {
      Cpus();
    } else if (cmd == "mem") {
      Mem();
    } else if (cmd == "uptime") {
      Uptime();
    } else if (cmd == "stats") {
      Stats();
    } else if (cmd == "run") {
      Run(words);
    } else if (cmd == "fault") {
      if (words.n != 2 || !TriggerFault(words.w[1])) {
        console::Printf("usage: fault <ud|de|pf|gp>\n");
      }
    } else if (cmd == "poweroff") {
      console::Printf("ssivm: powering off (status %u)\n", abi::kExitSuccess);
      PowerOff(abi::kExitSuccess);
    } else {
      console::Printf("%.*s: unknown command (try 'help')\n", cmd.Len(), cmd.data);
    }
  }
}

}  // namespace ssivm::guest
