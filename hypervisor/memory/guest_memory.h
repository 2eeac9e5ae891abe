// A bounds-checked view of guest-physical RAM as mapped in this process.
// Pure logic over host pointers: no KVM, so loaders and devices that use it
// are unit-testable over plain buffers.
#ifndef SSIVM_HYPERVISOR_MEMORY_GUEST_MEMORY_H_
#define SSIVM_HYPERVISOR_MEMORY_GUEST_MEMORY_H_

#include <cstdint>
#include <cstring>
#include <span>
#include <type_traits>
#include <vector>

namespace ssivm {

class GuestMemory {
 public:
  struct Region {
    uint64_t gpa;
    uint64_t size;
    uint8_t* host;
  };

  GuestMemory() = default;
  // Regions must not overlap; they are sorted here.
  explicit GuestMemory(std::vector<Region> regions);

  const std::vector<Region>& regions() const { return regions_; }

  // True if [gpa, gpa + size) lies inside one RAM region.
  bool Contains(uint64_t gpa, uint64_t size) const;
  // The host bytes of [gpa, gpa + size); throws Error naming the range if it
  // is not entirely inside one RAM region.
  std::span<uint8_t> Span(uint64_t gpa, uint64_t size) const;

  void Write(uint64_t gpa, std::span<const uint8_t> bytes) const;
  void Fill(uint64_t gpa, uint64_t size, uint8_t value) const;

  template <class T>
  void WriteObject(uint64_t gpa, const T& value) const {
    static_assert(std::is_trivially_copyable_v<T>);
    std::memcpy(Span(gpa, sizeof(T)).data(), &value, sizeof(T));
  }
  template <class T>
  T ReadObject(uint64_t gpa) const {
    static_assert(std::is_trivially_copyable_v<T>);
    T value;
    std::memcpy(&value, Span(gpa, sizeof(T)).data(), sizeof(T));
    return value;
  }

 private:
  const Region* Find(uint64_t gpa, uint64_t size) const;
  std::vector<Region> regions_;
};

}  // namespace ssivm

#endif  // SSIVM_HYPERVISOR_MEMORY_GUEST_MEMORY_H_
