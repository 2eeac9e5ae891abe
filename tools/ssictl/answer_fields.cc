#include "tools/ssictl/answer_fields.h"

#include <fmt/format.h>

namespace ssivm {

const nlohmann::json& Field(const nlohmann::json& j, const char* key) {
  static const nlohmann::json kNone;
  const auto it = j.find(key);  // end() unless j is an object
  return it != j.end() ? *it : kNone;
}

std::optional<uint64_t> Unsigned(const nlohmann::json& j, const char* key) {
  const nlohmann::json& f = Field(j, key);
  if (!f.is_number_unsigned()) return std::nullopt;
  return f.get<uint64_t>();
}

std::optional<bool> Flag(const nlohmann::json& j, const char* key) {
  const nlohmann::json& f = Field(j, key);
  if (!f.is_boolean()) return std::nullopt;
  return f.get<bool>();
}

std::optional<std::string> Text(const nlohmann::json& j, const char* key) {
  const nlohmann::json& f = Field(j, key);
  if (!f.is_string()) return std::nullopt;
  return f.get<std::string>();
}

uint64_t Count(const nlohmann::json& j, const char* key) {
  return Unsigned(j, key).value_or(0);
}

std::string Millis(uint64_t us, int decimals) {
  return fmt::format("{:.{}f} ms", static_cast<double>(us) / 1000.0, decimals);
}

}  // namespace ssivm
