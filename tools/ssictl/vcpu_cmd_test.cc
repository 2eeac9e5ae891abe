// ssictl migrate|pin|unpin end to end, against control sockets with canned
// answers: a VM of this machine (its run-state file), and a manifest's
// cluster on localhost, reached through the real `ssivm --query` as on
// remote hosts (only without ssh).
#include "tools/ssictl/vcpu_cmd.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/temp_dir.h"
#include "tests/support/control_stub.h"
#include "tests/support/error_of.h"
#include "tools/ssictl/run_state.h"

namespace ssivm {
namespace {

using testing::ControlStub;
using ::testing::ElementsAre;
using testing::ErrorOf;
using ::testing::HasSubstr;

constexpr VcpuRequest kMigrate{VcpuRequest::Kind::kMigrate, 1, 1};
constexpr char kMigrated[] =
    R"({"ok":true,"vcpu":1,"from":0,"to":1,"downtime_us":1234,"total_us":5600})";
constexpr char kMigratedLine[] =
    "vCPU 1 moved from node 0 to node 1: downtime 1.234 ms (request 5.6 ms)\n";
constexpr char kRefused[] = R"({"error":"vCPU 1 is already on node 1"})";

// What VcpuCommand printed, and the Error it threw ("" if none).
struct Outcome {
  std::string out;
  std::string error;
};

Outcome Send(const VcpuRequest& r, const std::string& name, const RemoteOptions& remote) {
  char* text = nullptr;
  size_t size = 0;
  FILE* out = ::open_memstream(&text, &size);
  Outcome o;
  o.error = ErrorOf([&] { EXPECT_EQ(VcpuCommand(r, name, remote, out), 0); });
  std::fclose(out);
  o.out.assign(text, size);
  std::free(text);
  return o;
}

RemoteOptions Json() {
  RemoteOptions o;
  o.json = true;
  return o;
}

// VMs of this machine: run-state files in a run directory of our own.
class LocalVm : public ::testing::Test {
 protected:
  void SetUp() override { ::setenv("SSIVM_RUN_DIR", (dir_.path() + "/run").c_str(), 1); }
  void TearDown() override { ::unsetenv("SSIVM_RUN_DIR"); }

  // A VM "name" of two nodes, recorded as run by this process.
  std::unique_ptr<RunStateFile> Record(const std::string& name) {
    return std::make_unique<RunStateFile>(
        RunState{name, ::getpid(), 0, {ControlPath(name, 0), ControlPath(name, 1)}});
  }

  TempDir dir_{"vcpu-cmd"};
};

TEST_F(LocalVm, MigrateAsksNode0AndSaysHowLongTheVcpuStopped) {
  const auto vm = Record("vm");
  const ControlStub node0(ControlPath("vm", 0), {kMigrated});
  const Outcome o = Send(kMigrate, "", {});
  EXPECT_EQ(o.error, "");
  EXPECT_EQ(o.out, kMigratedLine);
  EXPECT_THAT(node0.Requests(), ElementsAre(R"({"cmd":"migrate","to":1,"vcpu":1})"));
}

TEST_F(LocalVm, PinAndUnpin) {
  const auto vm = Record("vm");
  const ControlStub node0(ControlPath("vm", 0), {R"({"ok":true,"vcpu":2,"node":1,"moved":false})",
                                                 R"({"ok":true,"vcpu":2})"});
  EXPECT_EQ(Send({VcpuRequest::Kind::kPin, 2, 1}, "vm", {}).out,
            "vCPU 2 pinned to node 1 (already there)\n");
  EXPECT_EQ(Send({VcpuRequest::Kind::kUnpin, 2, 0}, "vm", {}).out,
            "vCPU 2 unpinned: automatic placement may move it again\n");
  EXPECT_THAT(node0.Requests(),
              ElementsAre(R"({"cmd":"pin","node":1,"vcpu":2})", R"({"cmd":"unpin","vcpu":2})"));
}

TEST_F(LocalVm, ARefusalIsAnErrorInTheNodesWords) {
  const auto vm = Record("vm");
  const ControlStub node0(ControlPath("vm", 0), {kRefused, kRefused});
  const Outcome text = Send(kMigrate, "vm", {});
  EXPECT_EQ(text.error, "vCPU 1 is already on node 1");
  EXPECT_EQ(text.out, "");
  const Outcome raw = Send(kMigrate, "vm", Json());
  EXPECT_EQ(raw.error, "vCPU 1 is already on node 1");
  EXPECT_EQ(nlohmann::json::parse(raw.out), nlohmann::json::parse(kRefused));
}

TEST_F(LocalVm, JsonPrintsTheAnswer) {
  const auto vm = Record("vm");
  const ControlStub node0(ControlPath("vm", 0), {kMigrated});
  const Outcome o = Send(kMigrate, "", Json());
  EXPECT_EQ(o.error, "");
  EXPECT_EQ(nlohmann::json::parse(o.out), nlohmann::json::parse(kMigrated));
}

TEST_F(LocalVm, WhichVm) {
  EXPECT_THAT(Send(kMigrate, "", {}).error, HasSubstr("no running ssivm VM"));
  EXPECT_THAT(Send(kMigrate, "nosuch", {}).error, HasSubstr("no running VM named 'nosuch'"));
  const auto a = Record("a");
  EXPECT_EQ(Send(kMigrate, "", {}).error,
            "VM a: node 0 is not running (nothing listens on " + ControlPath("a", 0) + ")");
  const auto b = Record("b");
  const std::string several = Send(kMigrate, "", {}).error;
  EXPECT_THAT(several, HasSubstr("2 VMs are running ("));
  EXPECT_THAT(several, HasSubstr("a"));
  EXPECT_THAT(several, HasSubstr("b"));
  EXPECT_THAT(several, HasSubstr("name the one you mean"));
  const ControlStub b0(ControlPath("b", 0), {kMigrated});
  EXPECT_EQ(Send(kMigrate, "b", {}).out, kMigratedLine);
}

// A manifest's cluster whose nodes are on localhost: ssictl runs `ssivm
// --query REQUEST --control DIR/nodeK.sock` there, as through ssh. Its ids
// have gaps: node 2, the lowest, plays node 0's part (the device node).
class ManifestCluster : public ::testing::Test {
 protected:
  void SetUp() override {
    std::ofstream toml(manifest_);
    toml << "cluster_id = \"lab\"\nepoch = 1\ntransport_security = \"none\"\n"
         << "[guest]\nvcpus_total = 2\nvcpus_online = 2\n";
    for (const int id : {2, 5}) {
      toml << fmt::format(
          "[[nodes]]\nid = {0}\nname = \"n{0}\"\nhost = \"localhost\"\n"
          "address = \"127.0.0.1:{1}\"\nvcpus = {{ first = {2}, last = {2} }}\nmemory_mib = 64\n",
          id, 7400 + id, id == 2 ? 0 : 1);
    }
    toml.close();
    remote_.manifest = manifest_;
    remote_.access.remote_dir = dir_.path();
    remote_.access.ssivm = std::filesystem::absolute("hypervisor/ssivm").string();
  }

  std::string Control(int node) const {
    return dir_.path() + "/node" + std::to_string(node) + ".sock";
  }

  TempDir dir_{"vcpu-cmd"};
  std::string manifest_ = dir_.path() + "/cluster.toml";
  RemoteOptions remote_;
};

TEST_F(ManifestCluster, MigrateThroughSsivmQuery) {
  const ControlStub node0(Control(2), {kMigrated});
  const Outcome o = Send(kMigrate, "", remote_);
  EXPECT_EQ(o.error, "");
  EXPECT_EQ(o.out, kMigratedLine);
  EXPECT_THAT(node0.Requests(), ElementsAre(R"({"cmd":"migrate","to":1,"vcpu":1})"));
}

TEST_F(ManifestCluster, ARefusalIsAnErrorInTheNodesWords) {
  const ControlStub node0(Control(2), {kRefused, kRefused});
  EXPECT_EQ(Send(kMigrate, "", remote_).error, "vCPU 1 is already on node 1");
  remote_.json = true;
  const Outcome raw = Send(kMigrate, "", remote_);
  EXPECT_EQ(raw.error, "vCPU 1 is already on node 1");
  EXPECT_EQ(nlohmann::json::parse(raw.out), nlohmann::json::parse(kRefused));
}

TEST_F(ManifestCluster, Node0NotRunning) {
  EXPECT_EQ(Send(kMigrate, "", remote_).error,
            "cluster lab: node 2 (n2) on localhost is not running");
}

TEST_F(ManifestCluster, AnAnswerThatIsNotJsonIsNamed) {
  const ControlStub node0(Control(2), {"garbage"});
  const std::string error = Send(kMigrate, "", remote_).error;
  EXPECT_THAT(error, HasSubstr("host localhost: asking node 2"));
  EXPECT_THAT(error, HasSubstr("answered something that is not a JSON object"));
}

}  // namespace
}  // namespace ssivm
