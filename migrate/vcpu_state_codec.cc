#include "migrate/vcpu_state_codec.h"

#include <cstring>
#include <set>
#include <string>

#include <fmt/format.h>

#include "common/error.h"
#include "guest/abi/boot_info.h"

namespace ssivm::migrate {
namespace {

enum Tag : uint16_t {
  kRegs = 1,
  kSregs = 2,
  kFpu = 3,
  kXsave = 4,
  kXcrs = 5,
  kMsrs = 6,
  kLapic = 7,
  kEvents = 8,
  kMpState = 9,
  kPrivateSlot = 10,
};
constexpr size_t kHeaderBytes = 12;
constexpr size_t kSectionHeaderBytes = 8;
constexpr size_t kMsrBytes = 12;  // u32 index, u64 value

const char* TagName(uint16_t tag) {
  switch (tag) {
    case kRegs:
      return "regs";
    case kSregs:
      return "sregs";
    case kFpu:
      return "fpu";
    case kXsave:
      return "xsave";
    case kXcrs:
      return "xcrs";
    case kMsrs:
      return "msrs";
    case kLapic:
      return "lapic";
    case kEvents:
      return "events";
    case kMpState:
      return "mp_state";
    case kPrivateSlot:
      return "private slot";
    default:
      return nullptr;
  }
}

template <class T>
void Put(std::vector<uint8_t>& out, const T& v) {
  const auto* p = reinterpret_cast<const uint8_t*>(&v);
  out.insert(out.end(), p, p + sizeof(T));
}

void PutSection(std::vector<uint8_t>& out, uint16_t tag, const void* data, size_t size) {
  Put(out, tag);
  Put(out, uint16_t{0});
  Put(out, static_cast<uint32_t>(size));
  const auto* p = static_cast<const uint8_t*>(data);
  out.insert(out.end(), p, p + size);
}

template <class T>
void PutStruct(std::vector<uint8_t>& out, uint16_t tag, const T& v) {
  PutSection(out, tag, &v, sizeof(T));
}

template <class T>
T Get(std::span<const uint8_t> bytes, size_t at) {
  T v;
  std::memcpy(&v, bytes.data() + at, sizeof(T));
  return v;
}

template <class T>
T GetStruct(std::span<const uint8_t> payload, uint16_t tag) {
  if (payload.size() != sizeof(T)) {
    throw Error(fmt::format("vCPU state: section {} is {} bytes, must be {}", TagName(tag),
                            payload.size(), sizeof(T)));
  }
  return Get<T>(payload, 0);
}

}  // namespace

std::vector<uint8_t> EncodeVcpuState(const VcpuState& s) {
  std::vector<uint8_t> out;
  uint16_t sections = 5;  // regs, sregs, lapic, events, mp_state
  sections += s.xsave.has_value() + s.fpu.has_value() + s.xcrs.has_value() + !s.msrs.empty() +
              !s.private_slot.empty();
  Put(out, kVcpuStateMagic);
  Put(out, kVcpuStateVersion);
  Put(out, sections);
  Put(out, s.vcpu);
  PutStruct(out, kRegs, s.regs);
  PutStruct(out, kSregs, s.sregs);
  if (s.fpu) PutStruct(out, kFpu, *s.fpu);
  if (s.xsave) PutStruct(out, kXsave, *s.xsave);
  if (s.xcrs) PutStruct(out, kXcrs, *s.xcrs);
  if (!s.msrs.empty()) {
    std::vector<uint8_t> msrs;
    for (const auto& [index, value] : s.msrs) {
      Put(msrs, index);
      Put(msrs, value);
    }
    PutSection(out, kMsrs, msrs.data(), msrs.size());
  }
  PutStruct(out, kLapic, s.lapic);
  PutStruct(out, kEvents, s.events);
  PutStruct(out, kMpState, s.mp_state);
  if (!s.private_slot.empty()) {
    PutSection(out, kPrivateSlot, s.private_slot.data(), s.private_slot.size());
  }
  return out;
}

VcpuState DecodeVcpuState(std::span<const uint8_t> bytes) {
  if (bytes.size() < kHeaderBytes) {
    throw Error(fmt::format("vCPU state: {} bytes, shorter than its header", bytes.size()));
  }
  if (const auto magic = Get<uint32_t>(bytes, 0); magic != kVcpuStateMagic) {
    throw Error(fmt::format("vCPU state: bad magic {:#x}", magic));
  }
  if (const auto version = Get<uint16_t>(bytes, 4); version != kVcpuStateVersion) {
    throw Error(fmt::format("vCPU state: version {}, this ssivm reads version {}", version,
                            kVcpuStateVersion));
  }
  const auto sections = Get<uint16_t>(bytes, 6);
  VcpuState s;
  s.vcpu = Get<uint32_t>(bytes, 8);
  std::set<uint16_t> seen;
  size_t at = kHeaderBytes;
  for (uint16_t i = 0; i < sections; ++i) {
    if (bytes.size() - at < kSectionHeaderBytes) {
      throw Error(fmt::format("vCPU state: section {} of {} is cut off", i + 1, sections));
    }
    const auto tag = Get<uint16_t>(bytes, at);
    const auto zero = Get<uint16_t>(bytes, at + 2);
    const auto length = Get<uint32_t>(bytes, at + 4);
    at += kSectionHeaderBytes;
    if (TagName(tag) == nullptr) throw Error(fmt::format("vCPU state: unknown section {}", tag));
    if (zero != 0) {
      throw Error(fmt::format("vCPU state: section {} has nonzero reserved bits", TagName(tag)));
    }
    if (!seen.insert(tag).second) {
      throw Error(fmt::format("vCPU state: section {} appears twice", TagName(tag)));
    }
    if (length > bytes.size() - at) {
      throw Error(fmt::format("vCPU state: section {} says {} bytes, only {} follow", TagName(tag),
                              length, bytes.size() - at));
    }
    const std::span<const uint8_t> payload = bytes.subspan(at, length);
    at += length;
    switch (tag) {
      case kRegs:
        s.regs = GetStruct<kvm_regs>(payload, tag);
        break;
      case kSregs:
        s.sregs = GetStruct<kvm_sregs>(payload, tag);
        break;
      case kFpu:
        s.fpu = GetStruct<kvm_fpu>(payload, tag);
        break;
      case kXsave:
        s.xsave = GetStruct<kvmabi::Xsave>(payload, tag);
        break;
      case kXcrs:
        s.xcrs = GetStruct<kvm_xcrs>(payload, tag);
        break;
      case kLapic:
        s.lapic = GetStruct<kvm_lapic_state>(payload, tag);
        break;
      case kEvents:
        s.events = GetStruct<kvm_vcpu_events>(payload, tag);
        break;
      case kMpState:
        s.mp_state = GetStruct<uint32_t>(payload, tag);
        break;
      case kMsrs:
        if (length == 0 || length % kMsrBytes != 0 || length / kMsrBytes > kMaxMigratedMsrs) {
          throw Error(
              fmt::format("vCPU state: section msrs is {} bytes, not 1 to {} entries of {} bytes",
                          length, kMaxMigratedMsrs, kMsrBytes));
        }
        for (size_t k = 0; k < length; k += kMsrBytes) {
          s.msrs.emplace_back(Get<uint32_t>(payload, k), Get<uint64_t>(payload, k + 4));
        }
        break;
      case kPrivateSlot:
        if (length == 0 || length > abi::kVcpuSlotSize) {
          throw Error(fmt::format("vCPU state: private slot of {} bytes (1 to {})", length,
                                  abi::kVcpuSlotSize));
        }
        s.private_slot.assign(payload.begin(), payload.end());
        break;
      default:
        break;
    }
  }
  if (at != bytes.size()) {
    throw Error(fmt::format("vCPU state: {} bytes after the last section", bytes.size() - at));
  }
  for (uint16_t required : {kRegs, kSregs, kLapic, kEvents, kMpState}) {
    if (!seen.count(required)) {
      throw Error(fmt::format("vCPU state: section {} is missing", TagName(required)));
    }
  }
  if (!s.fpu && !s.xsave) throw Error("vCPU state: neither fpu nor xsave is there");
  return s;
}

}  // namespace ssivm::migrate
