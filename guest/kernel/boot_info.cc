#include "guest/kernel/boot_info.h"

namespace ssivm::guest {
namespace {

// Bounds a corrupt setup_data list that loops back on itself.
constexpr int kMaxSetupDataEntries = 64;

const abi::SetupData* FindSsivmSetupData(const abi::BootParams* params) {
  uint64_t gpa = params->hdr.setup_data;
  for (int i = 0; i < kMaxSetupDataEntries && gpa != 0; ++i) {
    const auto* entry = reinterpret_cast<const abi::SetupData*>(gpa);
    if (entry->type == abi::kSetupDataSsivm) return entry;
    gpa = entry->next;
  }
  return nullptr;
}

const char* Fail(uint64_t* detail, uint64_t value, const char* what) {
  *detail = value;
  return what;
}

}  // namespace

const char* ParseBootInfo(const abi::BootParams* params, BootInfo* info, uint64_t* detail) {
  *detail = 0;
  if (params == nullptr) return "no boot_params (RSI = 0)";
  const abi::SetupData* entry = FindSsivmSetupData(params);
  if (entry == nullptr) return "no ssivm setup_data entry";
  const auto* ssivm = reinterpret_cast<const abi::SsivmInfo*>(entry + 1);
  if (entry->len < sizeof(abi::SsivmInfo)) {
    return Fail(detail, entry->len, "ssivm setup_data too short");
  }
  if (ssivm->magic != abi::kSsivmInfoMagic) {
    return Fail(detail, ssivm->magic, "bad SsivmInfo magic");
  }
  if (ssivm->version != abi::kSsivmInfoVersion) {
    return Fail(detail, ssivm->version, "unsupported SsivmInfo version");
  }
  if (ssivm->size != sizeof(abi::SsivmInfo)) return Fail(detail, ssivm->size, "bad SsivmInfo size");
  if (ssivm->vcpu_count == 0 || ssivm->vcpu_count > abi::kMaxVcpus) {
    return Fail(detail, ssivm->vcpu_count, "bad vCPU count");
  }
  // The kernel relies on these fixed layout facts (vCPU 0 boots, the slots
  // and the IDT sit where boot_info.h puts them); refuse a VMM that disagrees.
  if (ssivm->boot_vcpu != 0) return Fail(detail, ssivm->boot_vcpu, "boot vCPU is not 0");
  if (ssivm->vcpu_slots_gpa != abi::kVcpuSlotsGpa) {
    return Fail(detail, ssivm->vcpu_slots_gpa, "unexpected vCPU slot address");
  }
  if (ssivm->vcpu_slot_size != abi::kVcpuSlotSize) {
    return Fail(detail, ssivm->vcpu_slot_size, "unexpected vCPU slot size");
  }
  if (ssivm->idt_gpa != abi::kIdtGpa) return Fail(detail, ssivm->idt_gpa, "unexpected IDT address");
  if (ssivm->range_count > abi::kMaxMemRanges) {
    return Fail(detail, ssivm->range_count, "too many memory ranges");
  }

  uint64_t ram = 0;
  for (uint32_t i = 0; i < ssivm->range_count; ++i) ram += ssivm->ranges[i].size;

  // The Linux protocol splits the pointer; ext_cmd_line_ptr holds bits 32-63.
  const uint64_t cmdline_gpa =
      params->hdr.cmd_line_ptr | (static_cast<uint64_t>(params->ext_cmd_line_ptr) << 32);
  info->params = params;
  info->ssivm = ssivm;
  info->cmdline = cmdline_gpa != 0 ? reinterpret_cast<const char*>(cmdline_gpa) : "";
  // cmdline_size, if set, is the protocol's bound on the length.
  const uint64_t size = params->hdr.cmdline_size;
  info->cmdline_max = size != 0 && size < abi::kCmdlineMaxSize ? size : abi::kCmdlineMaxSize;
  info->vcpu_count = ssivm->vcpu_count;
  info->ram_bytes = ram;
  return nullptr;
}

}  // namespace ssivm::guest
