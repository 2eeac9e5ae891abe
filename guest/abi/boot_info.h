// ssivm boot-info ABI, shared by the VMM (hypervisor/) and the ssivm guest
// kernel (guest/). Freestanding: only <stdint.h> and <stddef.h>.
//
// Every vCPU starts directly in 64-bit mode with paging on:
//   RIP = kernel entry, RSP = top of its boot stack (in its per-vCPU slot),
//   RSI = guest-physical address of the Linux-style boot_params ("zero page"),
//   RDI = the vCPU's index (0 = boot vCPU).
// This is the Linux x86-64 boot protocol entry (which reads only RSI) plus the
// vCPU index, so a Linux bzImage and the ssivm guest boot the same way. The
// ssivm-specific description of the machine is a setup_data entry of type
// kSetupDataSsivm in boot_params.hdr.setup_data's list.
#ifndef SSIVM_GUEST_ABI_BOOT_INFO_H_
#define SSIVM_GUEST_ABI_BOOT_INFO_H_

#include <stddef.h>
#include <stdint.h>

#include "guest/abi/page.h"

namespace ssivm::abi {

// ---- Guest-physical layout (ARCHITECTURE.md, "Guest-physical memory") ------

// Boot region [0, 1 MiB): replicated, read-only after boot.
inline constexpr uint64_t kBootRegionBase = 0;
inline constexpr uint64_t kBootRegionSize = 1ull << 20;
inline constexpr uint64_t kBootParamsGpa = 0x7000;  // boot_params, one page
inline constexpr uint64_t kSetupDataGpa = 0x8000;   // ssivm setup_data, 16 KiB max
inline constexpr uint64_t kSetupDataMaxSize = 0x4000;
inline constexpr uint64_t kCmdlineGpa = 0x20000;      // kernel command line
inline constexpr uint64_t kCmdlineMaxSize = 0x10000;  // including the NUL
inline constexpr uint64_t kLowRamEnd = 0x9fc00;       // legacy EBDA/ROM hole above

// Node-private region [1 MiB, 16 MiB): per node, never coherent.
inline constexpr uint64_t kPrivateBase = 1ull << 20;
inline constexpr uint64_t kPrivateSize = 15ull << 20;
//   page tables (identity map with 2 MiB pages), filled by the VMM
inline constexpr uint64_t kPageTablesGpa = kPrivateBase;
inline constexpr uint64_t kPageTablesMaxSize = 2ull << 20;  // PML4+PDPT+PDs (<= 510 GiB)
//   descriptor tables: GDT (with one TSS descriptor per vCPU), IDT
inline constexpr uint64_t kGdtGpa = kPrivateBase + kPageTablesMaxSize;
inline constexpr uint64_t kGdtMaxSize = 0x10000;
inline constexpr uint64_t kIdtGpa = kGdtGpa + kGdtMaxSize;  // 256 gates, filled by the guest
inline constexpr uint64_t kIdtSize = 0x1000;
//   per-vCPU slots
inline constexpr uint64_t kVcpuSlotsGpa = kPrivateBase + (4ull << 20);
inline constexpr uint64_t kVcpuSlotSize = 0x10000;
// As many slots as fit in the rest of the node-private region.
inline constexpr uint32_t kMaxVcpus =
    static_cast<uint32_t>((kPrivateBase + kPrivateSize - kVcpuSlotsGpa) / kVcpuSlotSize);
static_assert(kMaxVcpus == 176);

// Layout of one per-vCPU slot (offsets from the slot base).
inline constexpr uint64_t kSlotVifCell = 0x0000;  // PVM vIF cell (page aligned)
inline constexpr uint64_t kSlotTss = 0x1000;      // 64-bit TSS (104 bytes)
inline constexpr uint64_t kSlotPerCpu = 0x2000;   // per-CPU data, guest's own
inline constexpr uint64_t kSlotIst1Top = 0x5000;  // IST1 stack [0x3000, 0x5000): #DF, NMI, #MC
inline constexpr uint64_t kSlotIst2Top = 0x8000;  // IST2 stack [0x5000, 0x8000): interrupts
inline constexpr uint64_t kSlotBootStackTop = 0x10000;  // boot stack [0x8000, 0x10000)

inline constexpr uint64_t VcpuSlotGpa(uint32_t vcpu) {
  return kVcpuSlotsGpa + static_cast<uint64_t>(vcpu) * kVcpuSlotSize;
}

// Kernel image: loaded at or above 16 MiB (replicated, read-only text).
inline constexpr uint64_t kKernelBase = 16ull << 20;

// The legacy 32-bit MMIO hole: no RAM between 3 GiB and 4 GiB.
inline constexpr uint64_t kMmioHoleBase = 3ull << 30;
inline constexpr uint64_t kMmioHoleEnd = 4ull << 30;
inline constexpr uint64_t kIoApicGpa = 0xfec00000;
inline constexpr uint64_t kLapicGpa = 0xfee00000;

// ---- GDT selectors (Linux's __BOOT_CS/__BOOT_DS for the 64-bit entry) -------
inline constexpr uint16_t kSelKernelCode = 0x10;
inline constexpr uint16_t kSelKernelData = 0x18;
inline constexpr uint16_t kSelUserCode32 = 0x23;
inline constexpr uint16_t kSelUserData = 0x2b;
inline constexpr uint16_t kSelUserCode = 0x33;
inline constexpr uint16_t kSelTssBase = 0x40;  // vCPU n: kSelTssBase + 16 * n

inline constexpr uint16_t TssSelector(uint32_t vcpu) {
  return static_cast<uint16_t>(kSelTssBase + 16 * vcpu);
}

// ---- PVM ---------------------------------------------------------------
inline constexpr uint32_t kMsrPvmVif = 0x4b564d10;        // vIF cell GPA | flags
inline constexpr uint32_t kMsrPvmSignature = 0x4b564d11;  // reads 0x4d5650 on PVM
inline constexpr uint64_t kPvmSignature = 0x4d5650;       // "PVM"
inline constexpr uint64_t kPvmVifRestore = 1ull << 10;    // host-initiated write form

// The vIF cell (PLATFORM.md): byte 0 = virtual IF, byte 1 = interrupt pending.
struct VifCell {
  volatile uint8_t enabled;
  volatile uint8_t pending;
  uint8_t pad[6];
  volatile uint64_t cr2;
};
static_assert(sizeof(VifCell) == 16);

// ---- Linux boot_params (the "zero page"), x86 boot protocol -----------------
inline constexpr uint32_t kE820Max = 128;
inline constexpr uint32_t kE820Ram = 1;
inline constexpr uint32_t kE820Reserved = 2;
inline constexpr uint32_t kE820Acpi = 3;

struct __attribute__((packed)) E820Entry {
  uint64_t addr;
  uint64_t size;
  uint32_t type;
};
static_assert(sizeof(E820Entry) == 20);

inline constexpr uint16_t kBootFlag = 0xaa55;
inline constexpr uint32_t kHdrSMagic = 0x53726448;  // "HdrS"
inline constexpr uint8_t kLoadedHigh = 0x01;        // loadflags
inline constexpr uint8_t kCanUseHeap = 0x80;
inline constexpr uint16_t kXlfKernel64 = 0x01;  // xloadflags
inline constexpr uint16_t kXlfCanBeLoadedAbove4G = 0x02;

// The setup header, as found at offset 0x1f1 of a bzImage and of boot_params.
struct __attribute__((packed)) SetupHeader {
  uint8_t setup_sects;
  uint16_t root_flags;
  uint32_t syssize;
  uint16_t ram_size;
  uint16_t vid_mode;
  uint16_t root_dev;
  uint16_t boot_flag;
  uint16_t jump;
  uint32_t header;
  uint16_t version;
  uint32_t realmode_swtch;
  uint16_t start_sys_seg;
  uint16_t kernel_version;
  uint8_t type_of_loader;
  uint8_t loadflags;
  uint16_t setup_move_size;
  uint32_t code32_start;
  uint32_t ramdisk_image;
  uint32_t ramdisk_size;
  uint32_t bootsect_kludge;
  uint16_t heap_end_ptr;
  uint8_t ext_loader_ver;
  uint8_t ext_loader_type;
  uint32_t cmd_line_ptr;
  uint32_t initrd_addr_max;
  uint32_t kernel_alignment;
  uint8_t relocatable_kernel;
  uint8_t min_alignment;
  uint16_t xloadflags;
  uint32_t cmdline_size;
  uint32_t hardware_subarch;
  uint64_t hardware_subarch_data;
  uint32_t payload_offset;
  uint32_t payload_length;
  uint64_t setup_data;
  uint64_t pref_address;
  uint32_t init_size;
  uint32_t handover_offset;
  uint32_t kernel_info_offset;
};
inline constexpr size_t kSetupHeaderOffset = 0x1f1;
static_assert(offsetof(SetupHeader, header) == 0x202 - kSetupHeaderOffset);
static_assert(offsetof(SetupHeader, cmd_line_ptr) == 0x228 - kSetupHeaderOffset);
static_assert(offsetof(SetupHeader, setup_data) == 0x250 - kSetupHeaderOffset);
static_assert(offsetof(SetupHeader, init_size) == 0x260 - kSetupHeaderOffset);
static_assert(sizeof(SetupHeader) == 0x26c - kSetupHeaderOffset);

struct __attribute__((packed)) BootParams {
  uint8_t screen_info[0x40];
  uint8_t apm_bios_info[0x14];
  uint8_t pad0[4];
  uint64_t tboot_addr;
  uint8_t ist_info[0x10];
  uint64_t acpi_rsdp_addr;
  uint8_t pad1[8];
  uint8_t hd0_info[0x10];
  uint8_t hd1_info[0x10];
  uint8_t sys_desc_table[0x10];
  uint8_t olpc_ofw_header[0x10];
  uint32_t ext_ramdisk_image;
  uint32_t ext_ramdisk_size;
  uint32_t ext_cmd_line_ptr;
  uint8_t pad2[0x74];
  uint8_t edid_info[0x80];
  uint8_t efi_info[0x20];
  uint32_t alt_mem_k;
  uint32_t scratch;
  uint8_t e820_entries;
  uint8_t eddbuf_entries;
  uint8_t edd_mbr_sig_buf_entries;
  uint8_t kbd_status;
  uint8_t secure_boot;
  uint8_t pad3[2];
  uint8_t sentinel;
  uint8_t pad4;
  SetupHeader hdr;
  uint8_t pad5[0x290 - 0x1f1 - sizeof(SetupHeader)];
  uint32_t edd_mbr_sig_buffer[16];
  E820Entry e820_table[kE820Max];
  uint8_t pad6[0x30];
  uint8_t eddbuf[0x1ec];
  uint8_t pad7[0x114];
};
static_assert(offsetof(BootParams, acpi_rsdp_addr) == 0x070);
static_assert(offsetof(BootParams, ext_ramdisk_image) == 0x0c0);
static_assert(offsetof(BootParams, ext_cmd_line_ptr) == 0x0c8);
static_assert(offsetof(BootParams, e820_entries) == 0x1e8);
static_assert(offsetof(BootParams, sentinel) == 0x1ef);
static_assert(offsetof(BootParams, hdr) == 0x1f1);
static_assert(offsetof(BootParams, e820_table) == 0x2d0);
static_assert(sizeof(BootParams) == 4096);

// The initrd the loader placed (0, 0 if none): 64-bit from the split fields.
inline uint64_t InitrdBase(const BootParams& bp) {
  return bp.hdr.ramdisk_image | (static_cast<uint64_t>(bp.ext_ramdisk_image) << 32);
}
inline uint64_t InitrdSize(const BootParams& bp) {
  return bp.hdr.ramdisk_size | (static_cast<uint64_t>(bp.ext_ramdisk_size) << 32);
}

struct __attribute__((packed)) SetupData {
  uint64_t next;
  uint32_t type;
  uint32_t len;
  // uint8_t data[len] follows
};

// ---- The ssivm table (a setup_data entry) ------------------------------------
inline constexpr uint32_t kSetupDataSsivm = 0x73736976;  // "viss"
inline constexpr uint32_t kSsivmInfoMagic = 0x4d564953;  // "SIVM"
inline constexpr uint16_t kSsivmInfoVersion = 1;
inline constexpr uint32_t kMaxMemRanges = 64;

enum class HostKind : uint32_t { kHardware = 1, kPvm = 2 };

// SsivmInfo::features: what the VMM offers beyond the fixed ABI.
enum Feature : uint32_t {
  // HLT does not exit: idle through abi::kIdlePort (pv_devices.h) instead.
  kFeatureIdlePort = 1u << 0,
};

enum MemRangeKind : uint32_t {
  kRangeShared = 1,   // coherent DSM RAM, homed at `home_node`
  kRangeKernel = 2,   // the kernel image (replicated, text read-only)
  kRangePrivate = 3,  // node-private region
  kRangeBoot = 4,     // boot region
  kRangeInitrd = 5,   // the initrd the VMM loaded (replicated; never handed out)
};

struct MemRange {
  uint64_t base;
  uint64_t size;
  uint32_t kind;  // MemRangeKind
  uint32_t home_node;
};

struct SsivmInfo {
  uint32_t magic;      // kSsivmInfoMagic
  uint16_t version;    // kSsivmInfoVersion
  uint16_t size;       // sizeof(SsivmInfo)
  uint32_t host_kind;  // HostKind, as the VMM detected it
  uint32_t vcpu_count;
  uint32_t node_count;
  uint32_t boot_vcpu;
  uint64_t vcpu_slots_gpa;  // per-vCPU slot n at vcpu_slots_gpa + n * vcpu_slot_size
  uint64_t vcpu_slot_size;
  uint64_t gdt_gpa;
  uint64_t idt_gpa;
  uint64_t kernel_base;  // the loaded image [kernel_base, kernel_end)
  uint64_t kernel_end;
  uint64_t ram_end;  // highest guest-physical RAM address + 1
  uint32_t range_count;
  uint32_t features;  // Feature bits; 0 from a VMM that offers none
  MemRange ranges[kMaxMemRanges];
  // The cluster node that runs each vCPU (at boot; migration changes it).
  uint8_t vcpu_node[kMaxVcpus];
};
static_assert(sizeof(SsivmInfo) + sizeof(SetupData) <= kSetupDataMaxSize);

}  // namespace ssivm::abi

#endif  // SSIVM_GUEST_ABI_BOOT_INFO_H_
