// ssictl and ssivm on a machine other users share (issue 14): what another
// user may not do to a running VM, a second `up` of a running name, a run
// directory someone else owns, what happens to the nodes when ssictl goes
// or the terminal hangs up, and a console whose reader stopped reading.
// Real VMs (the small ssivm guest) on this host's KVM, or in the emulated
// machine where there is none (tests/support/vm_test_main).
#include <fcntl.h>
#include <pty.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/command.h"
#include "common/temp_dir.h"
#include "common/unique_fd.h"
#include "tests/integration/cli_support.h"
#include "tests/support/as_user.h"
#include "tests/support/emulation.h"
#include "tests/support/subprocess.h"

namespace ssivm {
namespace {

using namespace cli_test;  // NOLINT(google-build-using-namespace): the test vocabulary
using std::chrono::seconds;
using testing::AskAs;
using testing::kNobody;

constexpr auto kStartTimeout = seconds(120);

std::string RunDirPath() {
  return std::getenv("SSIVM_RUN_DIR");
}

mode_t ModeOf(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

// Polls (sleeping, bounded) until `done` holds.
bool Eventually(const std::function<bool()>& done, std::chrono::seconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + testing::VmTimeout(timeout);
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return true;
}

// `ssictl ARGS` in the background for the length of a test, its output in
// files; its stdin is `in`, or a pipe held open here (a guest with
// ssi.echo=1 waits on it for a line that never comes). Whatever happened,
// the VM named `name` is stopped (`ssictl down`, then SIGKILL) at the end.
class Background {
 public:
  Background(std::string name, std::vector<std::string> args, int in = -1)
      : name_(std::move(name)), out_(TempPath(name_ + ".out")), err_(TempPath(name_ + ".err")) {
    int p[2];
    EXPECT_EQ(::pipe2(p, O_CLOEXEC), 0);
    const UniqueFd input_read(p[0]);
    input_.Reset(p[1]);
    const UniqueFd out(::open(out_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    const UniqueFd err(::open(err_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    args.insert(args.begin(), kSsictl);
    pid_ = Spawn(args, {in >= 0 ? in : input_read.get(), out.get(), err.get()});
  }
  ~Background() {
    if (!status_) {
      Ssictl({"down", name_});
      if (!Wait(seconds(60))) {
        ::kill(pid_, SIGKILL);
        Wait(seconds(60));
      }
    }
  }
  Background(const Background&) = delete;
  Background& operator=(const Background&) = delete;

  pid_t pid() const { return pid_; }
  std::string Err() const { return ReadFile(err_); }

  // The node processes' ids (ssictl's children), once every node answers
  // `ssictl status` (empty if they did not in time, or ssictl ended).
  std::vector<pid_t> WaitUntilRunning(size_t nodes) {
    const bool answered = Eventually(
        [&] {
          if (Wait(seconds(0))) return true;
          const std::string out = Ssictl({"status", name_, "--json"}).out;
          size_t answers = 0;
          for (size_t at = out.find("\"vcpus_total\""); at != std::string::npos;
               at = out.find("\"vcpus_total\"", at + 1)) {
            ++answers;
          }
          return answers == nodes;
        },
        kStartTimeout);
    if (!answered || status_) return {};
    std::vector<pid_t> pids;
    std::error_code ec;
    for (const auto& task :
         std::filesystem::directory_iterator("/proc/" + std::to_string(pid_) + "/task", ec)) {
      std::ifstream children(task.path() / "children");
      for (pid_t child = 0; children >> child;) pids.push_back(child);
    }
    std::sort(pids.begin(), pids.end());
    return pids;
  }

  // ssictl's exit status, once it ended within `timeout`.
  std::optional<int> Wait(std::chrono::seconds timeout) {
    if (!status_) status_ = WaitExitStatusFor(pid_, timeout);
    return status_;
  }

 private:
  std::string name_;
  std::string out_, err_;
  UniqueFd input_;
  pid_t pid_ = -1;
  std::optional<int> status_;
};

std::string NameFor(const std::string& test) {
  return test + "-" + std::to_string(::getpid());
}

// Another local user can neither stop nor even ask a VM, whatever the umask
// ssictl ran with: the run directory is 0700, the control socket 0600, and
// a connection from anyone but root or the owner is refused (SO_PEERCRED),
// which the test shows by loosening the modes one after the other.
TEST(HostSafety, AnotherUserCannotStopARunningVm) {
  if (::geteuid() != 0) GTEST_SKIP() << "acting as another user needs root";
  const std::string name = NameFor("others");
  const mode_t umask_before = ::umask(0);
  Background vm(name, {"up", "--vcpus", "1", "--name", name, "--cmdline", "ssi.echo=1"});
  ::umask(umask_before);
  ASSERT_EQ(vm.WaitUntilRunning(1).size(), 1u) << vm.Err();
  const std::string control = RunDirPath() + "/" + name + "-node0.sock";
  EXPECT_EQ(ModeOf(RunDirPath()), 0700u);
  EXPECT_EQ(ModeOf(control), 0600u);
  const std::string stop = "{\"cmd\":\"stop\"}\n";
  EXPECT_EQ(AskAs(kNobody, control, stop), "connect: Permission denied (errno 13)");
  ASSERT_EQ(::chmod(RunDirPath().c_str(), 0755), 0);
  EXPECT_EQ(AskAs(kNobody, control, stop), "connect: Permission denied (errno 13)");
  ASSERT_EQ(::chmod(control.c_str(), 0666), 0);
  EXPECT_THAT(AskAs(kNobody, control, stop),
              HasSubstr("permission denied: uid 65534 may not use this socket"));
  ::chmod(RunDirPath().c_str(), 0700);
  EXPECT_EQ(vm.Wait(seconds(0)), std::nullopt) << "the VM stopped";
  const ProcessResult status = Ssictl({"status", name});
  EXPECT_EQ(status.exit_code, 0) << Describe(status);
}

TEST(HostSafety, ASecondUpOfARunningNameIsRefusedAndLeavesTheFirstAlone) {
  const std::string name = NameFor("twice");
  Background vm(name, {"up", "--vcpus", "1", "--name", name, "--cmdline", "ssi.echo=1"});
  const std::vector<pid_t> first = vm.WaitUntilRunning(1);
  ASSERT_EQ(first.size(), 1u) << vm.Err();
  for (const std::vector<std::string>& second :
       {std::vector<std::string>{"up", "--vcpus", "1", "--name", name, "--cmdline", "ssi.exit=0"},
        std::vector<std::string>{"up", "--nodes", "2", "--net", "loopback", "--name", name,
                                 "--cmdline", "ssi.exit=0"}}) {
    const ProcessResult r = Ssictl(second);
    EXPECT_EQ(r.exit_code, 125) << Describe(r);
    EXPECT_THAT(r.err, HasSubstr("a VM named '" + name + "' is already running")) << Describe(r);
  }
  // The first VM still answers on its socket.
  EXPECT_EQ(vm.WaitUntilRunning(1), first);
  const ProcessResult down = Ssictl({"down", name});
  EXPECT_EQ(down.exit_code, 0) << Describe(down);
  EXPECT_EQ(vm.Wait(seconds(60)), 0) << vm.Err();
}

TEST(HostSafety, ARunDirectoryOfAnotherUserIsRefused) {
  const TempDir scratch("host-safety");
  std::string theirs = "/";  // root's, for a test not run as root
  if (::geteuid() == 0) {
    theirs = scratch.path() + "/run";
    ASSERT_EQ(::mkdir(theirs.c_str(), 0700), 0);
    ASSERT_EQ(::chown(theirs.c_str(), kNobody, kNobody), 0);
  }
  const std::string ours = RunDirPath();
  ::setenv("SSIVM_RUN_DIR", theirs.c_str(), 1);
  const ProcessResult status = Ssictl({"status"});
  const ProcessResult up = Ssictl({"up", "--vcpus", "1", "--cmdline", "ssi.exit=0"});
  ::setenv("SSIVM_RUN_DIR", ours.c_str(), 1);
  for (const ProcessResult& r : {status, up}) {
    EXPECT_EQ(r.exit_code, 125) << Describe(r);
    EXPECT_THAT(r.err, HasSubstr("run directory: directory " + theirs + " is owned by uid "))
        << Describe(r);
    EXPECT_THAT(r.out, Not(HasSubstr("booting"))) << Describe(r);
  }
}

class NodesDie : public ::testing::TestWithParam<std::vector<std::string>> {};

// `ssictl up --nodes` keeps its manifest in a private temporary directory
// (ssivm-up-XXXXXX), which an ssictl killed with SIGKILL cannot remove: the
// test removes the ones of cluster `name` when it ends.
class RemoveUpDirsOf {
 public:
  explicit RemoveUpDirsOf(std::string name) : name_(std::move(name)) {}
  ~RemoveUpDirsOf() {
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(TempBase(), ec)) {
      if (e.path().filename().string().rfind("ssivm-up-", 0) != 0) continue;
      std::ifstream manifest(e.path() / "cluster.toml");
      const std::string text((std::istreambuf_iterator<char>(manifest)),
                             std::istreambuf_iterator<char>());
      if (text.find("cluster_id = \"" + name_ + "\"") != std::string::npos) {
        std::filesystem::remove_all(e.path(), ec);
      }
    }
  }
  RemoveUpDirsOf(const RemoveUpDirsOf&) = delete;
  RemoveUpDirsOf& operator=(const RemoveUpDirsOf&) = delete;

 private:
  const std::string name_;
};

// ssictl killed (SIGKILL: nothing of it runs) while its VM runs in the
// foreground: its node processes end too (PR_SET_PDEATHSIG), and its record
// in the run directory is known to be stale.
TEST_P(NodesDie, WhenSsictlIsKilledInTheForeground) {
  // Orphans become this process's children, so that it can tell when they end.
  ASSERT_EQ(::prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
  const std::string name = NameFor("killed");
  const RemoveUpDirsOf remove_leftovers(name);
  std::vector<std::string> args = {"up", "--name", name, "--cmdline", "ssi.echo=1"};
  args.insert(args.end(), GetParam().begin(), GetParam().end());
  const size_t nodes = GetParam()[0] == "--nodes" ? 2 : 1;
  Background vm(name, args);
  const std::vector<pid_t> node_pids = vm.WaitUntilRunning(nodes);
  ASSERT_EQ(node_pids.size(), nodes) << vm.Err();
  ASSERT_EQ(::kill(vm.pid(), SIGKILL), 0);
  EXPECT_EQ(vm.Wait(seconds(60)), 128 + SIGKILL);
  for (const pid_t node : node_pids) {
    const std::optional<int> ended = WaitExitStatusFor(node, testing::VmTimeout(seconds(60)));
    EXPECT_TRUE(ended.has_value()) << "node process " << node << " outlived its ssictl";
    if (!ended) {
      ::kill(node, SIGKILL);
      WaitExitStatus(node);
    }
  }
  const ProcessResult status = Ssictl({"status", name});
  EXPECT_THAT(status.err, HasSubstr("no running VM named '" + name + "'")) << Describe(status);
}

INSTANTIATE_TEST_SUITE_P(Shapes, NodesDie,
                         ::testing::Values(std::vector<std::string>{"--vcpus", "1"},
                                           std::vector<std::string>{"--nodes", "2", "--net",
                                                                    "loopback", "--memory-per-node",
                                                                    "64"}),
                         [](const auto& info) { return info.index == 0 ? "OneNode" : "TwoNodes"; });

// A hangup (the admin's ssh session ends) leaves a VM whose console is not
// that terminal running; one whose console it was stops, as with Ctrl-A x.
TEST(HostSafety, AHangupStopsOnlyAVmWhoseConsoleItTookAway) {
  const std::string name = NameFor("hangup");
  Background vm(
      name, {"up", "--vcpus", "1", "--console", "none", "--name", name, "--cmdline", "ssi.echo=1"});
  const std::vector<pid_t> node = vm.WaitUntilRunning(1);
  ASSERT_EQ(node.size(), 1u) << vm.Err();
  const auto ignored = [&vm] {
    const std::string err = vm.Err();
    size_t n = 0;
    for (size_t at = err.find("SIGHUP ignored"); at != std::string::npos;
         at = err.find("SIGHUP ignored", at + 1)) {
      ++n;
    }
    return n;
  };
  ::kill(vm.pid(), SIGHUP);  // ssictl passes it on
  ASSERT_TRUE(Eventually([&] { return ignored() == 1; }, seconds(60))) << vm.Err();
  ::kill(node[0], SIGHUP);
  ASSERT_TRUE(Eventually([&] { return ignored() == 2; }, seconds(60))) << vm.Err();
  EXPECT_EQ(vm.Wait(seconds(0)), std::nullopt) << vm.Err();
  EXPECT_EQ(vm.WaitUntilRunning(1), node);

  int master = -1, slave = -1;
  ASSERT_EQ(::openpty(&master, &slave, nullptr, nullptr, nullptr), 0);
  const UniqueFd master_fd(master), slave_fd(slave);
  const std::string tty_name = NameFor("tty");
  Background on_tty(tty_name, {"up", "--vcpus", "1", "--name", tty_name, "--cmdline", "ssi.echo=1"},
                    slave);
  const std::vector<pid_t> tty_node = on_tty.WaitUntilRunning(1);
  ASSERT_EQ(tty_node.size(), 1u) << on_tty.Err();
  ::kill(tty_node[0], SIGHUP);
  EXPECT_EQ(on_tty.Wait(seconds(60)), 130) << on_tty.Err();
  EXPECT_THAT(on_tty.Err(), HasSubstr("the console's terminal hung up (SIGHUP)"));
}

// The console's reader stops reading (a terminal paused with Ctrl-S, a pipe
// nobody reads) while the guest writes far more than any buffer holds, then
// runs a DSM workload across two nodes: the guest still finishes, its
// console output dropped and counted. Before, the vCPU writing the UART (and
// with it the device node's forwarded I/O) waited for the reader forever.
TEST(HostSafety, AConsoleReaderThatStoppedDoesNotStallTheGuest) {
  if (testing::Emulated()) {
    GTEST_SKIP() << "the guest writes ~90 KB through the UART: minutes in emulation";
  }
  std::string input = "admin\r";
  for (int i = 0; i < 130; ++i) input += "help\r";  // ~690 bytes of output each
  input += "run dsmlat\rpoweroff\r";
  const std::string input_path = WriteFile("flood.in", input);
  const UniqueFd in(::open(input_path.c_str(), O_RDONLY | O_CLOEXEC));
  int p[2];
  ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
  const UniqueFd reader(p[0]), writer(p[1]);  // nobody reads it while the VM runs
  ASSERT_GT(::fcntl(writer.get(), F_SETPIPE_SZ, 4096), 0);
  const std::string err_path = TempPath("flood.err");
  const UniqueFd err(::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  const pid_t pid = Spawn({kSsictl, "up", "--nodes", "2", "--net", "loopback", "--memory-per-node",
                           "64", "--cmdline", "ssi.shell=1"},
                          {in.get(), writer.get(), err.get()});
  const std::optional<int> status = WaitExitStatusFor(pid, seconds(240));
  if (!status) {
    ::kill(pid, SIGKILL);  // its nodes follow (PR_SET_PDEATHSIG)
    WaitExitStatus(pid);
  }
  const std::string log = ReadFile(err_path);
  ASSERT_TRUE(status.has_value()) << "the guest stalled behind its console\n" << log;
  EXPECT_EQ(*status, 0) << log;
  EXPECT_THAT(log, ::testing::ContainsRegex(
                       "ssivm\\[node 0\\]: console: [0-9]+ bytes of guest output dropped"));
  EXPECT_THAT(log, HasSubstr("ssivm[node 1]: dsm: ")) << log;
}

}  // namespace
}  // namespace ssivm
