#include "tests/support/fuzz.h"

#include <cstdio>
#include <cstdlib>

namespace ssivm::fuzz {
namespace {

SeedMaker& Maker() {
  static SeedMaker maker = nullptr;
  return maker;
}

}  // namespace

SeedRegistration::SeedRegistration(SeedMaker make) {
  Maker() = make;
}

SeedMaker RegisteredSeeds() {
  return Maker();
}

void Check(bool ok, std::string_view what) {
  if (ok) return;
  std::fprintf(stderr, "fuzz check failed: %.*s\n", static_cast<int>(what.size()), what.data());
  std::abort();
}

}  // namespace ssivm::fuzz
