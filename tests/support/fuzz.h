// What the fuzz targets share. A fuzz target is one file defining
// libFuzzer's entry point, LLVMFuzzerTestOneInput, built by ssivm_fuzz_test
// (tests/support/fuzz.bzl): under --config=asan it links libFuzzer, otherwise
// fuzz_replay_main.cc, which runs its seed corpus once (a plain test).
//
// An input is either rejected with ssivm::Error (the decoder's documented
// way to refuse bad input) or accepted; anything else (another exception, a
// crash, a sanitizer report, a failed Check) is a bug the fuzzer reports.
#ifndef SSIVM_TESTS_SUPPORT_FUZZ_H_
#define SSIVM_TESTS_SUPPORT_FUZZ_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace ssivm::fuzz {

struct Seed {
  std::string name;  // its file name in the corpus
  std::vector<uint8_t> bytes;
};
using SeedMaker = std::vector<Seed> (*)();

// A target of a binary format makes its seeds with the encoder (one valid
// input of each kind) and registers them at namespace scope:
//   const fuzz::SeedRegistration kSeeds(&Seeds);
// so that its corpus can be rewritten when the format changes:
//   bazel build //PKG:TARGET && bazel-bin/PKG/TARGET --write-seeds $PWD/PKG/TARGET_corpus
// (not `bazel run`: it puts the corpus files before the arguments)
class SeedRegistration {
 public:
  explicit SeedRegistration(SeedMaker make);
};

// The registered seed maker, or nullptr.
SeedMaker RegisteredSeeds();

// Aborts with `what` unless `ok`: an invariant the input broke (a decoder
// that accepted something it cannot encode back, ...). Unlike assert, it
// stays in optimized builds.
void Check(bool ok, std::string_view what);

inline std::span<const uint8_t> Bytes(const uint8_t* data, size_t size) {
  return {data, size};
}
inline std::string_view Text(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

}  // namespace ssivm::fuzz

#endif  // SSIVM_TESTS_SUPPORT_FUZZ_H_
