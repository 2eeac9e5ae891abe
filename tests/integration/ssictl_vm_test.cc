// ssictl boots, reports on, attaches to and stops real VMs (in the emulated
// hardware-KVM machine where this host has no KVM).
#include <unistd.h>

#include <chrono>
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

TEST(SsictlUp, BootsTheBundledGuestWithDefaults) {
  const ProcessResult r = Ssictl({"up"});
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_THAT(r.out, HasSubstr("all 2 cpus online")) << Describe(r);
}

TEST(SsictlUp, PassesGuestStatusThrough) {
  const ProcessResult r = Ssictl({"up", "--vcpus", "1", "--cmdline", "ssi.exit=5"});
  EXPECT_EQ(r.exit_code, 5) << Describe(r);
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

}  // namespace
}  // namespace ssivm
