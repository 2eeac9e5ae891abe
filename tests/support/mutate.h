// Mutation fuzzing for decoders of what peers send: every mutated input is
// either rejected with an Error or decodes to something whose encoding is the
// input exactly (nothing is accepted loosely). A fast, fixed-seed regression
// check inside the unit tests (memory errors show under --config=asan);
// coverage-guided fuzzing is the libFuzzer targets' job (fuzz.h, tools/fuzz.sh).
#ifndef SSIVM_TESTS_SUPPORT_MUTATE_H_
#define SSIVM_TESTS_SUPPORT_MUTATE_H_

#include <cstdint>
#include <functional>
#include <random>
#include <vector>

#include "common/error.h"

namespace ssivm::testing {

// Flips bits, truncates or extends, or replaces `in` with random bytes.
inline void Mutate(std::vector<uint8_t>& in, std::mt19937_64& rng) {
  switch (rng() % 3) {
    case 0:
      if (in.empty()) break;
      for (int k = 0, n = 1 + static_cast<int>(rng() % 4); k < n; ++k)
        in[rng() % in.size()] ^= static_cast<uint8_t>(1u << (rng() % 8));
      break;
    case 1:
      in.resize(rng() % (in.size() + 8));
      break;
    default:
      in.resize(rng() % 64);
      for (auto& b : in) b = static_cast<uint8_t>(rng());
      break;
  }
}

struct FuzzCounts {
  int accepted = 0;
  int rejected = 0;
};

// Mutates samples `rounds` times. `reencode(input)` decodes the input and
// returns its encoding, or throws Error; an accepted input must come back
// unchanged (reported through `mismatch`, which gets the input).
inline FuzzCounts FuzzDecoder(const std::vector<std::vector<uint8_t>>& samples, int rounds,
                              const std::function<std::vector<uint8_t>(const std::vector<uint8_t>&,
                                                                       std::mt19937_64&)>& reencode,
                              const std::function<void(const std::vector<uint8_t>&)>& mismatch) {
  std::mt19937_64 rng(12345);
  FuzzCounts counts;
  for (int i = 0; i < rounds; ++i) {
    std::vector<uint8_t> in = samples[rng() % samples.size()];
    Mutate(in, rng);
    try {
      if (reencode(in, rng) != in) mismatch(in);
      ++counts.accepted;
    } catch (const Error&) {
      ++counts.rejected;
    }
  }
  return counts;
}

}  // namespace ssivm::testing

#endif  // SSIVM_TESTS_SUPPORT_MUTATE_H_
