// The emulated hardware-KVM machine as a runtime, driven from this host as
// a user drives it (`--kvm emulated`, whatever this host has): the guest's
// exit status and output come back, stdout and stderr apart; the console is
// a terminal here (login, line editing, Ctrl-A x); ssictl status, down and
// console reach the nodes inside; a signal stops the VM; a machine that
// cannot start says why. Every test boots the machine once.
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <functional>
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
constexpr auto kMachineTimeout = std::chrono::seconds(600);

TEST(Emulated, SsivmRunsTheGuestAndPassesItsStatusThrough) {
  const ProcessResult r = RunProcess({kSsivm, "--kvm", "emulated", "--kernel", kKernel, "--vcpus",
                                      "2", "--memory", "128", "--cmdline", "ssi.exit=7"},
                                     "", kMachineTimeout);
  EXPECT_EQ(r.exit_code, 7) << Describe(r);
  EXPECT_THAT(r.err, HasSubstr("--kvm emulated: running in the emulated hardware-KVM machine"))
      << Describe(r);
  EXPECT_THAT(r.err, HasSubstr("host KVM kind: hardware")) << Describe(r);
  // The guest's console on stdout, the VMM's log on stderr.
  EXPECT_THAT(r.out, HasSubstr("all 2 cpus online")) << Describe(r);
  EXPECT_THAT(r.out, Not(HasSubstr("host KVM kind"))) << Describe(r);
}

TEST(Emulated, StatusAndDownReachTheNodesInside) {
  const std::string name = "emu-" + std::to_string(::getpid());
  ProcessResult vm;
  std::thread up([&] {
    vm = testing::RunProcess({kSsictl, "up", "--kvm", "emulated", "--nodes", "2", "--net",
                              "loopback", "--name", name, "--cmdline", "ssi.echo=1"},
                             "", kMachineTimeout);
  });
  ProcessResult status;
  for (int i = 0; i < 600; ++i) {  // sleeping, bounded: the machine boots first
    status = Ssictl({"status", name, "--json"});
    if (status.exit_code == 0 && status.out.find("\"vcpus_total\": 2") != std::string::npos &&
        status.out.find("\"node\": 1") != std::string::npos) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  EXPECT_EQ(status.exit_code, 0) << Describe(status);
  EXPECT_THAT(status.out, HasSubstr("\"host_kind\": \"hardware\"")) << Describe(status);
  EXPECT_THAT(status.out, HasSubstr("\"node\": 1")) << Describe(status);
  const ProcessResult down = Ssictl({"down", name});
  EXPECT_EQ(down.exit_code, 0) << Describe(down);
  up.join();
  EXPECT_EQ(vm.exit_code, 0) << Describe(vm);
  EXPECT_THAT(vm.err, HasSubstr("stopped by ssictl down")) << Describe(vm);
  const ProcessResult gone = Ssictl({"status", name});
  EXPECT_THAT(gone.err, HasSubstr("no running VM named")) << Describe(gone);
}

// A manifest with every node on this machine, started detached: the
// machine runs on after `up` returns, status and down reach its nodes, and
// it stops when they do.
TEST(Emulated, ADetachedClusterRunsUntilItsNodesStop) {
  const auto port = static_cast<uint16_t>(30000 + (::getpid() * 7) % 20000);
  std::string m = "cluster_id = \"emud\"\nepoch = 1\n[guest]\nkernel = \"" +
                  std::filesystem::absolute(kKernel).string() +
                  "\"\ncmdline = \"ssi.echo=1\"\nvcpus_total = 2\n";
  for (int k = 0; k < 2; ++k) {
    m += "[[nodes]]\nid = " + std::to_string(k) + "\nname = \"n" + std::to_string(k) +
         "\"\nhost = \"localhost\"\naddress = \"127.0.0.1:" + std::to_string(port + k) +
         "\"\nvcpus = { first = " + std::to_string(k) + ", last = " + std::to_string(k) +
         " }\nmemory_mib = 64\n";
  }
  const std::string manifest = WriteFile("detach.toml", m);
  const ProcessResult up =
      testing::RunProcess({kSsictl, "up", "--kvm", "emulated", "--manifest", manifest, "--detach"},
                          "", kMachineTimeout);
  ASSERT_EQ(up.exit_code, 0) << Describe(up);
  EXPECT_THAT(up.err, HasSubstr("the emulated machine keeps running")) << Describe(up);
  const ProcessResult status = Ssictl({"status", "--manifest", manifest});
  EXPECT_EQ(status.exit_code, 0) << Describe(status);
  EXPECT_THAT(status.out, ::testing::ContainsRegex("\n  1 +n1 +localhost +running"))
      << Describe(status);
  const ProcessResult down = Ssictl({"down", "--manifest", manifest});
  EXPECT_EQ(down.exit_code, 0) << Describe(down);
  EXPECT_THAT(down.out, HasSubstr("node 1 (n1) on localhost: stopped")) << Describe(down);
  // The machine powers off once its nodes are gone; its log says so.
  const std::string log = std::string(std::getenv("SSIVM_RUN_DIR")) + "/emud.emulated.log";
  std::string text;
  for (int i = 0; i < 240 && text.find("the emulated machine stopped") == std::string::npos; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    text = ReadFile(log);
  }
  EXPECT_THAT(text, HasSubstr("the emulated machine stopped")) << text;
}

TEST(Emulated, ASocketConsoleIsReachedFromHere) {
  const std::string sock = SocketPath("emu-console.sock");
  ProcessResult vm;
  std::thread up([&] {
    vm = testing::RunProcess({kSsictl, "up", "--kvm", "emulated", "--vcpus", "1", "--console",
                              "socket:" + sock, "--cmdline", "ssi.echo=1"},
                             "", kMachineTimeout);
  });
  ProcessResult client;
  for (int i = 0; i < 600; ++i) {  // the socket answers once the VM runs inside
    client = Ssictl({"console", sock}, "typed from the host\r");
    if (client.out.find("echo: typed from the host") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  up.join();
  EXPECT_THAT(client.out, HasSubstr("echo: typed from the host")) << Describe(client);
  EXPECT_EQ(vm.exit_code, 0) << Describe(vm);
}

// A terminal: ssictl runs on a pseudo-terminal, as on a user's.
class Terminal {
 public:
  explicit Terminal(const std::vector<std::string>& argv) {
    pid_ = ::forkpty(&master_, nullptr, nullptr, nullptr);
    if (pid_ == 0) {
      std::vector<char*> a;
      a.reserve(argv.size());
      for (const std::string& s : argv) a.push_back(const_cast<char*>(s.c_str()));
      a.push_back(nullptr);
      ::execv(a[0], a.data());
      ::_exit(127);
    }
  }
  ~Terminal() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      Wait();
    }
    if (master_ >= 0) ::close(master_);
  }
  // Reads until `text` has appeared after offset `from` of what was seen
  // (true) or `seconds` pass.
  bool WaitFor(const std::string& text, int seconds, size_t from = 0) {
    ReadUntil([&] { return seen_.find(text, from) != std::string::npos; }, seconds);
    return seen_.find(text, from) != std::string::npos;
  }
  // Reads until the program closes the terminal (true: it ended) or
  // `seconds` pass.
  bool WaitForEnd(int seconds) {
    return ReadUntil([] { return false; }, seconds);
  }
  void Type(const std::string& s) { (void)!::write(master_, s.data(), s.size()); }
  int Wait() {
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  const std::string& seen() const { return seen_; }
  pid_t pid() const { return pid_; }

 private:
  // Reads until done() holds (false) or the terminal closes (true) or
  // `seconds` pass (false).
  bool ReadUntil(const std::function<bool()>& done, int seconds) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
    while (!done()) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      pollfd p{master_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      char buf[4096];
      const ssize_t n = ::read(master_, buf, sizeof(buf));
      if (n <= 0) return true;
      seen_.append(buf, static_cast<size_t>(n));
    }
    return false;
  }

  int master_ = -1;
  pid_t pid_ = -1;
  std::string seen_;
};

TEST(Emulated, TheConsoleIsThisTerminal) {
  Terminal t({kSsictl, "up", "--kvm", "emulated", "--nodes", "2", "--net", "loopback", "--cmdline",
              "ssi.shell=1"});
  ASSERT_TRUE(t.WaitFor("login:", 600)) << t.seen();
  t.Type("admin\r");
  ASSERT_TRUE(t.WaitFor("ssivm#", 60)) << t.seen();
  // Line editing happens inside: a backspace removes the typo.
  const size_t mark = t.seen().size();
  t.Type("cpuz\x7fs\r");
  ASSERT_TRUE(t.WaitFor("ssivm#", 60, mark)) << t.seen();  // the next prompt
  EXPECT_THAT(t.seen().substr(mark), HasSubstr("switches")) << t.seen();
  EXPECT_THAT(t.seen(), ::testing::ContainsRegex("\n +1 +1 +1 ")) << t.seen();  // cpu 1 on node 1
  t.Type("\x01x");  // Ctrl-A x stops the VM
  t.WaitFor("stopped from the console", 60);
  EXPECT_EQ(t.Wait(), 130) << t.seen();
}

TEST(Emulated, ASignalStopsTheGuestInside) {
  Terminal t({kSsictl, "up", "--kvm", "emulated", "--vcpus", "1", "--cmdline", "ssi.echo=1"});
  ASSERT_TRUE(t.WaitFor("all 1 cpus online", 600)) << t.seen();
  // What `kill` or a service manager does: SIGTERM to ssictl alone. It
  // reaches the VMM inside, which stops the guest with 128 + 15.
  ::kill(t.pid(), SIGTERM);
  t.WaitFor("stopped by signal", 120);
  EXPECT_EQ(t.Wait(), 143) << t.seen();
  EXPECT_THAT(t.seen(), HasSubstr("stopped by signal Terminated")) << t.seen();
}

TEST(Emulated, AStoppedVmTestStartsNoOtherMachine) {
  // A VM test's main() as Bazel runs it, told to stop (Bazel's timeout)
  // while its machine boots: that machine fails to start, and no other
  // machine may take the case up again.
  const std::string dir = ::testing::TempDir() + "/stopped_vm_test";
  std::filesystem::create_directories(dir);
  Terminal t({"/usr/bin/env", "SSIVM_KVM=emulated", "TEST_TMPDIR=" + dir,
              "XML_OUTPUT_FILE=" + dir + "/test.xml", "TEST_UNDECLARED_OUTPUTS_DIR=" + dir,
              "tests/integration/waiting_vm_test_program"});
  ASSERT_TRUE(t.WaitFor("the machine's kernel boots", 300)) << t.seen();
  ::kill(t.pid(), SIGTERM);
  // Before the stop was heeded, a new machine took the case up (and ran
  // it for its 10 minutes).
  ASSERT_TRUE(t.WaitForEnd(120)) << t.seen();
  EXPECT_EQ(t.Wait(), 125) << t.seen();
  EXPECT_THAT(t.seen(), HasSubstr("stopped by signal Terminated while starting")) << t.seen();
  EXPECT_THAT(t.seen(), Not(HasSubstr("in a new emulated machine"))) << t.seen();
}

TEST(Emulated, AMachineThatCannotStartSaysWhy) {
  const ProcessResult r = RunProcess(
      {"tools/hwkvm/hwkvm", "run", "--boot-timeout", "1", "--", "true"}, "", kMachineTimeout);
  EXPECT_EQ(r.exit_code, 125) << Describe(r);
  EXPECT_THAT(r.err, HasSubstr("the emulated machine failed: not ready after 1 s")) << Describe(r);
  const ProcessResult missing = RunProcess(
      {"tools/hwkvm/hwkvm", "run", "-q", "--", "/nonexistent/program"}, "", kMachineTimeout);
  EXPECT_EQ(missing.exit_code, 127) << Describe(missing);
  EXPECT_THAT(missing.err, HasSubstr("cannot run /nonexistent/program")) << Describe(missing);
}

}  // namespace
}  // namespace ssivm
