// main() of a fuzz target outside --config=asan (no libFuzzer there): runs
// each input once through LLVMFuzzerTestOneInput, so that `bazel test`
// replays every target's seed corpus.
//   TARGET FILE|DIR...             every file given, and every file in each DIR
//   TARGET --write-seeds DIR       writes the registered seeds (fuzz.h) to DIR
#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/file.h"
#include "tests/support/fuzz.h"

namespace {

namespace fs = std::filesystem;

int WriteSeeds(const std::string& dir) {
  const ssivm::fuzz::SeedMaker make = ssivm::fuzz::RegisteredSeeds();
  if (make == nullptr) {
    std::fprintf(stderr, "this target registers no seeds: its corpus is written by hand\n");
    return 2;
  }
  fs::create_directories(dir);
  for (const ssivm::fuzz::Seed& s : make()) {
    const fs::path path = fs::path(dir) / s.name;
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(s.bytes.data()),
              static_cast<std::streamsize>(s.bytes.size()));
    if (!out) throw ssivm::Error("cannot write " + path.string());
    std::printf("%s (%zu bytes)\n", path.c_str(), s.bytes.size());
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const std::vector<std::string> args(argv + 1, argv + argc);
    if (args.size() == 2 && args[0] == "--write-seeds") return WriteSeeds(args[1]);
    std::vector<std::string> inputs;
    for (const std::string& a : args) {
      if (!fs::is_directory(a)) {
        inputs.push_back(a);
        continue;
      }
      for (const auto& e : fs::directory_iterator(a)) inputs.push_back(e.path().string());
    }
    if (inputs.empty()) {
      std::fprintf(stderr, "usage: %s FILE|DIR... | --write-seeds DIR\n", argv[0]);
      return 2;
    }
    for (const std::string& in : inputs) {
      // Named before it runs: a crash leaves the culprit as the last line.
      std::fprintf(stderr, "input %s\n", in.c_str());
      const std::vector<uint8_t> bytes = ssivm::ReadFileBytes(in, uint64_t{64} << 20);
      LLVMFuzzerTestOneInput(bytes.data(), bytes.size());
    }
    std::printf("%zu inputs ran without a crash\n", inputs.size());
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
}
