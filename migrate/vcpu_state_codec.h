// The wire form of a VcpuState, and its defensive decoder: the bytes come
// from another node, so every size, count and section is checked.
//
//   header: u32 magic "SSIV", u16 version, u16 section count, u32 vCPU id
//   section: u16 tag, u16 zero, u32 length, then `length` bytes
// KVM structs travel as their x86-64 in-memory bytes (both ends are x86-64
// Linux with the same KVM ABI); each has one exact length.
#ifndef SSIVM_MIGRATE_VCPU_STATE_CODEC_H_
#define SSIVM_MIGRATE_VCPU_STATE_CODEC_H_

#include <cstdint>
#include <span>
#include <vector>

#include "migrate/vcpu_state.h"

namespace ssivm::migrate {

inline constexpr uint32_t kVcpuStateMagic = 0x56495353;  // "SSIV"
inline constexpr uint16_t kVcpuStateVersion = 1;
inline constexpr size_t kMaxMigratedMsrs = 1024;

std::vector<uint8_t> EncodeVcpuState(const VcpuState& s);

// Throws Error naming the problem (magic, version, unknown or repeated
// section, a wrong length, a missing section, trailing bytes).
VcpuState DecodeVcpuState(std::span<const uint8_t> bytes);

}  // namespace ssivm::migrate

#endif  // SSIVM_MIGRATE_VCPU_STATE_CODEC_H_
