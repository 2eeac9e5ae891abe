#include "hypervisor/emulated/l1_setup.h"

#include <gtest/gtest.h>

namespace ssivm::emulated {
namespace {

TEST(L1Setup, NestedPagingIsOnUnlessTheCommandLineTurnsItOff) {
  EXPECT_EQ(KvmAmdNptOption("console=ttyS0 quiet"), "npt=1");
  EXPECT_EQ(KvmAmdNptOption("console=ttyS0 hwkvm.npt=1 nokaslr"), "npt=1");
  EXPECT_EQ(KvmAmdNptOption("console=ttyS0 hwkvm.npt=0 nokaslr\n"), "npt=0");
  EXPECT_EQ(KvmAmdNptOption("hwkvm.npt=0"), "npt=0");
  // Only a whole parameter counts, and only 0 means off.
  EXPECT_EQ(KvmAmdNptOption("xhwkvm.npt=0"), "npt=1");
  EXPECT_EQ(KvmAmdNptOption("hwkvm.npt=no"), "npt=1");
  EXPECT_EQ(KvmAmdNptOption("hwkvm.npt="), "npt=1");
}

}  // namespace
}  // namespace ssivm::emulated
