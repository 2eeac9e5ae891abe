// Bad input to ssictl and ssivm gets a clear error and the documented exit
// status, and no vCPU runs when the image is bad.
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/support/subprocess.h"

namespace ssivm {
namespace {

using testing::Describe;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::ProcessResult;
using testing::RunProcess;

const char kSsictl[] = "tools/ssictl/ssictl";

// A run directory of our own (short: it holds Unix sockets), so that status
// and down see only this test's VMs.
class RunDirEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    dir_ = "/tmp/ssivm-test-" + std::to_string(std::random_device{}() % 1000000);
    ::setenv("SSIVM_RUN_DIR", dir_.c_str(), 1);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

 private:
  std::string dir_;
};
const auto* const kRunDir = ::testing::AddGlobalTestEnvironment(new RunDirEnvironment);
const char kSsivm[] = "hypervisor/ssivm";
const char kKernel[] = "guest/kernel";

std::string TempPath(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return std::string(dir ? dir : "/tmp") + "/" + name;
}

// Unix socket paths must be short (108 bytes): not under TEST_TMPDIR.
std::string SocketPath(const std::string& name) {
  static const std::string token = std::to_string(std::random_device{}() % 1000000);
  const std::string path = "/tmp/ssivm-test-" + token + "-" + name;
  ::unlink(path.c_str());  // never connect to a stale socket of an earlier run
  return path;
}

std::string WriteFile(const std::string& name, const std::string& bytes) {
  const std::string path = TempPath(name);
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

std::string ReadFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), {}};
}

ProcessResult Ssictl(std::vector<std::string> args, const std::string& input = "") {
  args.insert(args.begin(), kSsictl);
  return RunProcess(args, input);
}

TEST(SsictlUp, BootsTheBundledGuestWithDefaults) {
  const ProcessResult r = Ssictl({"up"});
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_THAT(r.out, HasSubstr("all 2 cpus online")) << Describe(r);
}

TEST(SsictlUp, PassesGuestStatusThrough) {
  const ProcessResult r = Ssictl({"up", "--vcpus", "1", "--cmdline", "ssi.exit=5"});
  EXPECT_EQ(r.exit_code, 5) << Describe(r);
}

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

// The console on a Unix socket, attached to with `ssictl console`: output
// produced before the client came is replayed, and typed input reaches the
// guest.
TEST(SsictlConsole, AttachesToASocketConsole) {
  const std::string sock = SocketPath("console.sock");
  ProcessResult vm;
  std::thread up([&] {
    vm = Ssictl({"up", "--vcpus", "2", "--console", "socket:" + sock, "--cmdline", "ssi.echo=1"});
  });
  // Wait (sleeping, bounded) for the VM to create its socket.
  for (int i = 0; i < 600 && ::access(sock.c_str(), F_OK) != 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  const ProcessResult client = Ssictl({"console", sock}, "typed into the socket\r");
  up.join();
  EXPECT_EQ(client.exit_code, 0) << Describe(client);
  EXPECT_THAT(client.out, HasSubstr("ssivm guest kernel booting: 2 vCPUs")) << Describe(client);
  EXPECT_THAT(client.out, HasSubstr("echo: typed into the socket")) << Describe(client);
  EXPECT_EQ(vm.exit_code, 0) << Describe(vm);
  EXPECT_NE(::access(sock.c_str(), F_OK), 0) << "the VM left its socket behind";
}

TEST(SsictlStatus, ShowsARunningVmAndDownStopsIt) {
  const std::string name = "status-test-" + std::to_string(::getpid());
  ProcessResult vm;
  std::thread up([&] {
    // The guest waits for a console line that never comes: only `down` ends it.
    vm = Ssictl({"up", "--vcpus", "2", "--name", name, "--cmdline", "ssi.echo=1"});
  });
  ProcessResult status;
  for (int i = 0; i < 600; ++i) {
    status = Ssictl({"status", name, "--json"});
    if (status.exit_code == 0 && status.out.find("\"vcpus\"") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(status.exit_code, 0) << Describe(status);
  EXPECT_THAT(status.out, HasSubstr("\"name\": \"" + name + "\"")) << Describe(status);
  EXPECT_THAT(status.out, HasSubstr("\"vcpus_total\": 2")) << Describe(status);
  const ProcessResult down = Ssictl({"down", name});
  EXPECT_EQ(down.exit_code, 0) << Describe(down);
  up.join();
  EXPECT_EQ(vm.exit_code, 0) << Describe(vm);
  EXPECT_THAT(vm.err, HasSubstr("stopped by ssictl down")) << Describe(vm);
  const ProcessResult gone = Ssictl({"status", name});
  EXPECT_EQ(gone.exit_code, 125) << Describe(gone);
  EXPECT_THAT(gone.err, HasSubstr("no running VM named")) << Describe(gone);
}

TEST(SsictlDown, ExplainsThatNothingRuns) {
  const ProcessResult r = Ssictl({"down", "no-such-vm"});
  EXPECT_EQ(r.exit_code, 125) << Describe(r);
  EXPECT_THAT(r.err, HasSubstr("no running VM named 'no-such-vm'")) << Describe(r);
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

TEST(Ssivm, RejectsMissingKernelOption) {
  const ProcessResult r = RunProcess({kSsivm, "--vcpus", "1"});
  EXPECT_EQ(r.exit_code, 2) << Describe(r);
  EXPECT_THAT(r.err, HasSubstr("--kernel")) << Describe(r);
}

TEST(Ssivm, ExplainsAMissingKvmDevice) {
  const ProcessResult r =
      RunProcess({kSsivm, "--kernel", kKernel, "--kvm", "/nonexistent/kvm", "--memory", "64"});
  EXPECT_EQ(r.exit_code, 125) << Describe(r);
  EXPECT_THAT(r.err, HasSubstr("KVM is not available")) << Describe(r);
}

TEST(Ssivm, RejectsTooLongCommandLine) {
  const ProcessResult r = RunProcess(
      {kSsivm, "--kernel", kKernel, "--memory", "64", "--cmdline", std::string(70000, 'x')});
  EXPECT_EQ(r.exit_code, 125) << Describe(r);
  EXPECT_THAT(r.err, HasSubstr("command line")) << Describe(r);
}

}  // namespace
}  // namespace ssivm
