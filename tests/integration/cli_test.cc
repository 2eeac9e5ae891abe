// Bad input to ssictl and ssivm gets a clear error and the documented exit
// status, before any VM (or the emulated machine) starts: these need no KVM.
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/integration/cli_support.h"
#include "tests/support/subprocess.h"

namespace ssivm {
namespace {

using namespace cli_test;  // NOLINT(google-build-using-namespace): the test vocabulary

TEST(SsictlUp, RejectsZeroVcpus) {
  const ProcessResult r = Ssictl({"up", "--vcpus", "0"});
  EXPECT_EQ(r.exit_code, 125) << Describe(r);
  EXPECT_THAT(r.err, HasSubstr("--vcpus 0 is out of range")) << Describe(r);
}

TEST(SsictlUp, RejectsTooManyVcpus) {
  const ProcessResult r = Ssictl({"up", "--vcpus", "5000"});
  EXPECT_EQ(r.exit_code, 125) << Describe(r);
  EXPECT_THAT(r.err, HasSubstr("out of range")) << Describe(r);
}

TEST(SsictlUp, RejectsNonNumericVcpus) {
  const ProcessResult r = Ssictl({"up", "--vcpus", "two"});
  EXPECT_EQ(r.exit_code, 2) << Describe(r);
  EXPECT_THAT(r.err, HasSubstr("--vcpus")) << Describe(r);
}

TEST(SsictlUp, RejectsTinyMemory) {
  const ProcessResult r = Ssictl({"up", "--memory", "8"});
  EXPECT_EQ(r.exit_code, 125) << Describe(r);
  EXPECT_THAT(r.err, HasSubstr("too small")) << Describe(r);
}

TEST(SsictlUp, RejectsMemoryTheHostDoesNotHave) {
  const ProcessResult r = Ssictl({"up", "--memory", "500000"});
  EXPECT_EQ(r.exit_code, 125) << Describe(r);
  EXPECT_THAT(r.err, HasSubstr("not enough host memory")) << Describe(r);
}

TEST(SsictlUp, RejectsMissingKernel) {
  const ProcessResult r = Ssictl({"up", "--kernel", "/nonexistent/vmlinuz"});
  EXPECT_EQ(r.exit_code, 125) << Describe(r);
  EXPECT_THAT(r.err, HasSubstr("/nonexistent/vmlinuz: no such file")) << Describe(r);
}

TEST(SsictlUp, RejectsMissingInitrd) {
  const ProcessResult r = Ssictl({"up", "--initrd", "/nonexistent/initrd"});
  EXPECT_EQ(r.exit_code, 125) << Describe(r);
  EXPECT_THAT(r.err, HasSubstr("--initrd /nonexistent/initrd: no such file")) << Describe(r);
}

TEST(SsictlUp, RejectsUnknownOption) {
  const ProcessResult r = Ssictl({"up", "--frobnicate"});
  EXPECT_EQ(r.exit_code, 2) << Describe(r);
  EXPECT_THAT(r.err, HasSubstr("frobnicate")) << Describe(r);
}

TEST(SsictlUp, RejectsBadConsole) {
  const ProcessResult r = Ssictl({"up", "--console", "tcp:1234"});
  EXPECT_EQ(r.exit_code, 125) << Describe(r);
  EXPECT_THAT(r.err, HasSubstr("bad console 'tcp:1234'")) << Describe(r);
}

TEST(Ssictl, RequiresACommand) {
  const ProcessResult r = Ssictl({});
  EXPECT_EQ(r.exit_code, 2) << Describe(r);
}

TEST(SsictlConsole, ExplainsAMissingSocket) {
  const ProcessResult r = Ssictl({"console", SocketPath("no-such.sock")});
  EXPECT_EQ(r.exit_code, 125) << Describe(r);
  EXPECT_THAT(r.err, HasSubstr("cannot attach to console socket")) << Describe(r);
}

TEST(SsictlDown, ExplainsThatNothingRuns) {
  const ProcessResult r = Ssictl({"down", "no-such-vm"});
  EXPECT_EQ(r.exit_code, 125) << Describe(r);
  EXPECT_THAT(r.err, HasSubstr("no running VM named 'no-such-vm'")) << Describe(r);
}

// A vCPU and a node are plain decimal numbers, checked before any VM is
// looked for.
TEST(SsictlMigrate, RejectsABadVcpuOrNode) {
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{"migrate", "-1", "--to", "1"},
                                             {"migrate", "1", "--to", "0x1"},
                                             {"pin", "one", "1"},
                                             {"unpin", "1.5"}}) {
    const ProcessResult r = Ssictl(args);
    EXPECT_EQ(r.exit_code, 2) << Describe(r);
    EXPECT_THAT(r.err, HasSubstr("is not a non-negative integer")) << Describe(r);
  }
  const ProcessResult no_node = Ssictl({"migrate", "1"});
  EXPECT_EQ(no_node.exit_code, 2) << Describe(no_node);
  EXPECT_THAT(no_node.err, HasSubstr("--to is required")) << Describe(no_node);
}

TEST(SsictlMigrate, ExplainsThatNothingRuns) {
  const ProcessResult named = Ssictl({"migrate", "1", "--to", "0", "no-such-vm"});
  EXPECT_EQ(named.exit_code, 125) << Describe(named);
  EXPECT_THAT(named.err, HasSubstr("ssictl: error: no running VM named 'no-such-vm'"))
      << Describe(named);
  const ProcessResult any = Ssictl({"pin", "1", "0"});
  EXPECT_EQ(any.exit_code, 125) << Describe(any);
  EXPECT_THAT(any.err, HasSubstr("ssictl: error: no running ssivm VM")) << Describe(any);
}

// A bad image is refused while loading: no vCPU ever runs.
void ExpectRejectedImage(const std::string& path, const std::string& why) {
  const ProcessResult r = RunProcess({kSsivm, "--kernel", path, "--vcpus", "1", "--memory", "64"});
  EXPECT_EQ(r.exit_code, 125) << Describe(r);
  EXPECT_THAT(r.err, HasSubstr(why)) << Describe(r);
  EXPECT_THAT(r.err, Not(HasSubstr(" entry (monotonic"))) << "a vCPU ran: " << Describe(r);
  EXPECT_THAT(r.err, Not(HasSubstr("starting"))) << Describe(r);
}

TEST(Ssivm, RejectsAFileThatIsNoKernel) {
  ExpectRejectedImage(WriteFile("text.img", "just some text, not a kernel\n"),
                      "not an ELF64 kernel nor a Linux bzImage");
}

TEST(Ssivm, RejectsATruncatedElfKernel) {
  const std::string elf = ReadFile(kKernel);
  ASSERT_GT(elf.size(), 200u);
  ExpectRejectedImage(WriteFile("truncated.elf", elf.substr(0, 100)), "truncated.elf");
}

TEST(Ssivm, RejectsACorruptedBzImage) {
  // A valid-looking 64-bit bzImage header ("HdrS", boot flag, protocol 2.15,
  // relocatable) whose syssize claims far more kernel than the file holds.
  std::string img(0x1000, '\0');
  auto put = [&img](size_t off, uint64_t v, int n) {
    for (int i = 0; i < n; ++i) img[off + i] = static_cast<char>(v >> (8 * i));
  };
  put(0x1f1, 1, 1);        // setup_sects
  put(0x1f4, 0x7f000, 4);  // syssize (16-byte units): ~8 MiB
  put(0x1fe, 0xaa55, 2);   // boot_flag
  put(0x200, 0x6aeb, 2);   // jmp over the header: it ends at 0x26c
  img.replace(0x202, 4, "HdrS");
  put(0x206, 0x020f, 2);     // version
  put(0x211, 1, 1);          // loadflags: LOADED_HIGH
  put(0x230, 0x200000, 4);   // kernel_alignment
  put(0x234, 1, 1);          // relocatable_kernel
  put(0x236, 3, 2);          // xloadflags: 64-bit
  put(0x258, 0x1000000, 8);  // pref_address
  put(0x260, 0x1000000, 4);  // init_size
  ExpectRejectedImage(WriteFile("corrupt.bzImage", img), "corrupt.bzImage: truncated");
}

TEST(Ssivm, QueryTakesACommandOrAJsonRequest) {
  for (const char* bad : {"reboot", R"({"vcpu":1})", "{not json"}) {
    const ProcessResult r = RunProcess({kSsivm, "--query", bad, "--control", "/nonexistent.sock"});
    EXPECT_EQ(r.exit_code, 2) << Describe(r);
    EXPECT_THAT(r.err, HasSubstr("use status, stop or a JSON request object")) << Describe(r);
  }
  const ProcessResult none = RunProcess(
      {kSsivm, "--query", R"({"cmd":"unpin","vcpu":1})", "--control", "/nonexistent.sock"});
  EXPECT_EQ(none.exit_code, 3) << Describe(none);
}

TEST(Ssivm, RejectsMissingKernelOption) {
  const ProcessResult r = RunProcess({kSsivm, "--vcpus", "1"});
  EXPECT_EQ(r.exit_code, 2) << Describe(r);
  EXPECT_THAT(r.err, HasSubstr("--kernel")) << Describe(r);
}

TEST(Ssivm, ExplainsAMissingKvmDevice) {
  const ProcessResult r = RunProcess({kSsivm, "--kernel", kKernel, "--kvm", "host", "--kvm-device",
                                      "/nonexistent/kvm", "--memory", "64"});
  EXPECT_EQ(r.exit_code, 125) << Describe(r);
  EXPECT_THAT(r.err, HasSubstr("--kvm host, but /nonexistent/kvm: No such file or directory"))
      << Describe(r);
}

TEST(Ssivm, RejectsAnUnknownKvmChoice) {
  const ProcessResult r = RunProcess({kSsivm, "--kernel", kKernel, "--kvm", "qemu"});
  EXPECT_EQ(r.exit_code, 2) << Describe(r);
  EXPECT_THAT(r.err, HasSubstr("--kvm")) << Describe(r);
}

TEST(Ssivm, RejectsABadVcpuCpuList) {
  const ProcessResult r =
      RunProcess({kSsivm, "--kernel", kKernel, "--vcpu-cpus", "3-1", "--check"});
  EXPECT_EQ(r.exit_code, 2) << Describe(r);
  EXPECT_THAT(r.err, HasSubstr("--vcpu-cpus (or $SSIVM_VCPU_CPUS): CPU list '3-1': range '3-1' "
                               "runs backwards"))
      << Describe(r);
}

TEST(Ssivm, ChecksAGuestWithoutRunningIt) {
  const ProcessResult good = RunProcess({kSsivm, "--kernel", kKernel, "--memory", "64", "--check"});
  EXPECT_EQ(good.exit_code, 0) << Describe(good);
  EXPECT_THAT(good.err, Not(HasSubstr("emulated"))) << Describe(good);
  const ProcessResult bad =
      RunProcess({kSsivm, "--kernel", WriteFile("bad.img", "no kernel"), "--check"});
  EXPECT_EQ(bad.exit_code, 125) << Describe(bad);
  EXPECT_THAT(bad.err, HasSubstr("not an ELF64 kernel nor a Linux bzImage")) << Describe(bad);
}

// Where no /dev/kvm is, a bad guest is still refused at once: before the
// emulated machine starts.
TEST(SsictlUp, RefusesABadKernelBeforeAnyMachineStarts) {
  for (const std::vector<std::string>& extra :
       {std::vector<std::string>{},
        std::vector<std::string>{"--nodes", "2", "--net", "loopback"}}) {
    std::vector<std::string> args = {"up", "--kvm", "emulated", "--kernel",
                                     WriteFile("junk.img", "junk")};
    args.insert(args.end(), extra.begin(), extra.end());
    const ProcessResult r = Ssictl(args);
    EXPECT_EQ(r.exit_code, 125) << Describe(r);
    EXPECT_THAT(r.err, HasSubstr("not an ELF64 kernel nor a Linux bzImage")) << Describe(r);
    EXPECT_THAT(r.err, Not(HasSubstr("starting the emulated"))) << Describe(r);
  }
}

TEST(SsictlUp, RejectsAnUnknownKvmChoice) {
  const ProcessResult r = Ssictl({"up", "--kvm", "qemu"});
  EXPECT_EQ(r.exit_code, 2) << Describe(r);
  EXPECT_THAT(r.err, HasSubstr("--kvm")) << Describe(r);
}

TEST(SsictlUp, RejectsAnUnknownPlacement) {
  const ProcessResult r = Ssictl({"up", "--nodes", "2", "--placement", "maybe"});
  EXPECT_EQ(r.exit_code, 2) << Describe(r);
  EXPECT_THAT(r.err, HasSubstr("--placement: maybe not in {on,off}")) << Describe(r);
}

// --cache-mib goes into the manifest --nodes makes: without --nodes it is bad
// usage; below the minimum for a node's vCPUs it is refused before anything
// starts, naming the minimum.
TEST(SsictlUp, ChecksTheCacheSize) {
  const ProcessResult alone = Ssictl({"up", "--cache-mib", "64"});
  EXPECT_EQ(alone.exit_code, 2) << Describe(alone);
  EXPECT_THAT(alone.err, HasSubstr("--cache-mib requires --nodes")) << Describe(alone);
  const ProcessResult small =
      Ssictl({"up", "--nodes", "2", "--vcpus-per-node", "3", "--cache-mib", "5"});
  EXPECT_EQ(small.exit_code, 125) << Describe(small);
  EXPECT_THAT(small.err, HasSubstr("--cache-mib 5 MiB is less than the minimum of 6 MiB for the "
                                   "node's 3 vCPUs (2 MiB per vCPU, at least 4 MiB"))
      << Describe(small);
}

// A cluster node checks its host for what it holds (its share of the guest,
// its private regions, its cache), not for the whole guest: node 0 of a guest
// far larger than this host passes while its share is small; an explicit
// cache the host cannot hold is refused naming cache_mib and the numbers.
TEST(Ssivm, AClusterNodeChecksTheHostForWhatItHolds) {
  const std::string manifest =
      "cluster_id = \"big\"\nepoch = 1\ntransport_security = \"none\"\n"
      "[guest]\nvcpus_total = 2\n"
      "[[nodes]]\nid = 1\nname = \"b\"\nhost = \"localhost\"\naddress = \"127.0.0.1:7991\"\n"
      "vcpus = { first = 1, last = 1 }\nmemory_mib = 400000\n"
      "[[nodes]]\nid = 0\nname = \"a\"\nhost = \"localhost\"\naddress = \"127.0.0.1:7990\"\n"
      "vcpus = { first = 0, last = 0 }\nmemory_mib = 64\n";
  const auto check = [](const std::string& file) {
    return RunProcess({kSsivm, "--manifest", file, "--node", "0", "--kernel", kKernel, "--check"});
  };
  const ProcessResult fits = check(WriteFile("big.toml", manifest));
  EXPECT_EQ(fits.exit_code, 0) << Describe(fits);
  const ProcessResult greedy = check(WriteFile("greedy.toml", manifest + "cache_mib = 16000000\n"));
  EXPECT_EQ(greedy.exit_code, 125) << Describe(greedy);
  EXPECT_THAT(greedy.err, HasSubstr("not enough host memory for this node: it holds "))
      << Describe(greedy);
  EXPECT_THAT(greedy.err, HasSubstr("(64 MiB of guest RAM it is home of, ")) << Describe(greedy);
  EXPECT_THAT(greedy.err, HasSubstr(" and cache_mib = 16000000 MiB of other nodes' pages"))
      << Describe(greedy);
}

TEST(Ssivm, RejectsTooLongCommandLine) {
  const ProcessResult r = RunProcess(
      {kSsivm, "--kernel", kKernel, "--memory", "64", "--cmdline", std::string(70000, 'x')});
  EXPECT_EQ(r.exit_code, 125) << Describe(r);
  EXPECT_THAT(r.err, HasSubstr("command line")) << Describe(r);
}

// A run-state file ssictl cannot read (edited by hand, truncated, from
// another version) is named with its problem; status and down go on with
// the other VMs, and nothing crashes.
TEST(SsictlStatus, AMalformedRunStateFileGetsAClearError) {
  const std::string dir = std::getenv("SSIVM_RUN_DIR");
  ::mkdir(dir.c_str(), 0700);
  const std::string file = dir + "/bad.json";
  std::ofstream(file) << R"({"name": "bad", "pid": "twelve", "control": ["/s.sock"]})";
  const ProcessResult all = Ssictl({"status"});
  const ProcessResult named = Ssictl({"status", "bad"});
  const ProcessResult down = Ssictl({"down", "bad"});
  const ProcessResult up = Ssictl({"up", "--name", "bad", "--cmdline", "ssi.exit=0"});
  std::filesystem::remove(file);
  EXPECT_EQ(all.exit_code, 125) << Describe(all);
  EXPECT_THAT(all.err, HasSubstr("ignoring " + file + ": not a valid run-state file: pid: "))
      << Describe(all);
  EXPECT_THAT(all.err, HasSubstr("no running ssivm VM")) << Describe(all);
  for (const ProcessResult& r : {named, down, up}) {
    EXPECT_EQ(r.exit_code, 125) << Describe(r);
    EXPECT_THAT(r.err, HasSubstr(file + ": not a valid run-state file: pid: ")) << Describe(r);
  }
  EXPECT_THAT(up.err, HasSubstr("remove it if no VM named 'bad' runs")) << Describe(up);
}

}  // namespace
}  // namespace ssivm
