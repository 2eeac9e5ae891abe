#include "hypervisor/x86/cpu_setup.h"

#include <asm/kvm_para.h>
#include <gtest/gtest.h>

namespace ssivm {
namespace {

kvm_cpuid_entry2 Leaf(uint32_t function, uint32_t eax) {
  kvm_cpuid_entry2 e{};
  e.function = function;
  e.eax = eax;
  return e;
}

const kvm_cpuid_entry2* Find(const std::vector<kvm_cpuid_entry2>& t, uint32_t function) {
  for (const auto& e : t) {
    if (e.function == function) return &e;
  }
  return nullptr;
}

TEST(CpuidForVcpu, TheTimingLeafCarriesTheTscFrequency) {
  const std::vector<kvm_cpuid_entry2> kvm = {Leaf(1, 0), Leaf(0x40000000, 0x40000001),
                                             Leaf(0x40000001, 7)};
  const auto t = CpuidForVcpu(kvm, 3, 2'600'000);
  ASSERT_NE(Find(t, 0x40000000), nullptr);
  EXPECT_EQ(Find(t, 0x40000000)->eax, 0x40000010u);
  ASSERT_NE(Find(t, 0x40000010), nullptr);
  EXPECT_EQ(Find(t, 0x40000010)->eax, 2'600'000u);
  EXPECT_EQ(Find(t, 0x40000010)->ebx, 1'000'000u);
  EXPECT_EQ(Find(t, 1)->ebx >> 24, 3u);  // the APIC id
  EXPECT_EQ(Find(t, 0x40000001)->eax, 7u);
}

TEST(CpuidForVcpu, AnUnknownTscFrequencyLeavesKvmsLeavesAlone) {
  const std::vector<kvm_cpuid_entry2> kvm = {Leaf(0x40000000, 0x40000001)};
  const auto t = CpuidForVcpu(kvm, 0, 0);
  EXPECT_EQ(Find(t, 0x40000000)->eax, 0x40000001u);
  EXPECT_EQ(Find(t, 0x40000010), nullptr);
}

TEST(CpuidForVcpu, AHypervisorBaseLeafIsAddedIfKvmHasNone) {
  const auto t = CpuidForVcpu({Leaf(0, 0xd)}, 0, 3'000'000);
  ASSERT_NE(Find(t, 0x40000000), nullptr);
  EXPECT_EQ(Find(t, 0x40000000)->eax, 0x40000010u);
  EXPECT_EQ(Find(t, 0x40000010)->eax, 3'000'000u);
}

TEST(CpuidForVcpu, WithoutAsyncPageFaultsTheirPvFeaturesAreHidden) {
  constexpr uint32_t kAsyncPf = (1u << KVM_FEATURE_ASYNC_PF) | (1u << KVM_FEATURE_ASYNC_PF_VMEXIT) |
                                (1u << KVM_FEATURE_ASYNC_PF_INT);
  const uint32_t features = kAsyncPf | (1u << KVM_FEATURE_CLOCKSOURCE2);
  const std::vector<kvm_cpuid_entry2> kvm = {Leaf(0x40000000, 0x40000001),
                                             Leaf(0x40000001, features)};
  EXPECT_EQ(Find(CpuidForVcpu(kvm, 0, 0), 0x40000001)->eax, features);
  EXPECT_EQ(Find(CpuidForVcpu(kvm, 0, 0, false), 0x40000001)->eax, 1u << KVM_FEATURE_CLOCKSOURCE2);
}

}  // namespace
}  // namespace ssivm
