// Reading a node's JSON answers field by field. They come from outside
// ssictl: a field that is missing or of the wrong type reads as absent, never
// as an exception that ends ssictl.
#ifndef SSIVM_TOOLS_SSICTL_ANSWER_FIELDS_H_
#define SSIVM_TOOLS_SSICTL_ANSWER_FIELDS_H_

#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace ssivm {

// j[key], or null if j is not an object or has no such key.
const nlohmann::json& Field(const nlohmann::json& j, const char* key);

// j[key] if it is of that type.
std::optional<uint64_t> Unsigned(const nlohmann::json& j, const char* key);
std::optional<bool> Flag(const nlohmann::json& j, const char* key);
std::optional<std::string> Text(const nlohmann::json& j, const char* key);

// A counter: j[key] if it is a non-negative integer, else 0.
uint64_t Count(const nlohmann::json& j, const char* key);

// A duration in microseconds as milliseconds: "1.234 ms" (3 decimals).
std::string Millis(uint64_t us, int decimals = 3);

}  // namespace ssivm

#endif  // SSIVM_TOOLS_SSICTL_ANSWER_FIELDS_H_
