// Creates real namespaces (needs root, outside Bazel's sandbox) and checks
// that they exist, are addressed, reach each other, and are all removed.
#include "tools/ssictl/netns.h"

#include <unistd.h>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/command.h"
#include "common/error.h"

namespace ssivm {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::string Tag() {
  return fmt::format("t{:05x}", ::getpid() & 0xfffff);
}

TEST(NetnsHosts, CreatesAddressedHostsAndRemovesThem) {
  if (::geteuid() != 0) GTEST_SKIP() << "network namespaces need root";
  const std::string tag = Tag();
  {
    NetnsHosts hosts(3, tag, 201);
    EXPECT_EQ(hosts.address(2), "10.233.201.3");
    const std::string addrs = RunChecked({"ip", "-n", hosts.ns(1), "-4", "addr", "show", "eth0"});
    EXPECT_THAT(addrs, HasSubstr("10.233.201.2/24"));
    // Host 0 reaches host 2 through the bridge (a real TCP connect is done
    // by the cluster tests; here the kernel's neighbour resolution will do).
    std::vector<std::string> argv = hosts.Exec(0);
    argv.insert(argv.end(), {"ip", "route", "get", hosts.address(2)});
    EXPECT_THAT(RunChecked(argv), HasSubstr("dev eth0"));
    EXPECT_THAT(RunChecked({"ip", "netns", "list"}), HasSubstr("ssivm-" + tag + "-2"));
  }
  EXPECT_THAT(RunChecked({"ip", "netns", "list"}), Not(HasSubstr("ssivm-" + tag)));
  EXPECT_THAT(RunChecked({"ip", "link", "show"}), Not(HasSubstr("ssb-" + tag)));
}

TEST(NetnsHosts, FailureNamesTheCommandAndCleansUp) {
  if (::geteuid() != 0) GTEST_SKIP() << "network namespaces need root";
  const std::string tag = Tag();
  RunChecked({"ip", "netns", "add", "ssivm-" + tag + "-1"});  // in the way of host 1
  try {
    NetnsHosts hosts(2, tag, 202);
    FAIL() << "an existing namespace was overwritten";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("ip netns add ssivm-" + tag + "-1"));
  }
  RunChecked({"ip", "netns", "del", "ssivm-" + tag + "-1"});
  EXPECT_THAT(RunChecked({"ip", "netns", "list"}), Not(HasSubstr("ssivm-" + tag)));
  EXPECT_THAT(RunChecked({"ip", "link", "show"}), Not(HasSubstr("ssb-" + tag)));
}

}  // namespace
}  // namespace ssivm
