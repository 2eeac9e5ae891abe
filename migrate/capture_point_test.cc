#include "migrate/capture_point.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace ssivm::migrate {
namespace {

using ::testing::HasSubstr;

TEST(CapturePoint, AQuietVcpuIsCapturedAnywhere) {
  const kvm_vcpu_events quiet{};
  EXPECT_EQ(CaptureBlocker(quiet, nullptr), "");
  const PvmEventState pvm{0, 0x90};
  EXPECT_EQ(CaptureBlocker(quiet, &pvm), "");
}

TEST(CapturePoint, AnEventKvmIsDeliveringWaits) {
  kvm_vcpu_events e{};
  e.exception.injected = 1;
  e.exception.nr = 14;
  EXPECT_THAT(CaptureBlocker(e, nullptr), HasSubstr("exception 14"));
  e = {};
  e.interrupt.injected = 1;
  e.interrupt.nr = 0x20;
  EXPECT_THAT(CaptureBlocker(e, nullptr), HasSubstr("interrupt 0x20"));
  e = {};
  e.nmi.injected = 1;
  EXPECT_THAT(CaptureBlocker(e, nullptr), HasSubstr("NMI"));
}

// What only PVM holds: checked on PVM hosts only.
TEST(CapturePoint, PvmsHeldInterruptAndInt3Wait) {
  const kvm_vcpu_events quiet{};
  const PvmEventState held{1, 0x90};
  EXPECT_THAT(CaptureBlocker(quiet, &held), HasSubstr("held by PVM"));
  const PvmEventState trap{0, 0xcc};
  EXPECT_THAT(CaptureBlocker(quiet, &trap), HasSubstr("INT3"));
  EXPECT_EQ(CaptureBlocker(quiet, nullptr), "");
  const PvmEventState outside_ram{0, std::nullopt};
  EXPECT_EQ(CaptureBlocker(quiet, &outside_ram), "");
}

}  // namespace
}  // namespace ssivm::migrate
