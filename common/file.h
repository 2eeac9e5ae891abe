// Whole-file reading with errors that name the file.
#ifndef SSIVM_COMMON_FILE_H_
#define SSIVM_COMMON_FILE_H_

#include <cstdint>
#include <string>
#include <vector>

namespace ssivm {

// Reads a regular file completely; refuses files larger than max_bytes.
std::vector<uint8_t> ReadFileBytes(const std::string& path, uint64_t max_bytes);

}  // namespace ssivm

#endif  // SSIVM_COMMON_FILE_H_
