#include "provision/hostlist/hostlist.h"

#include <charconv>
#include <map>

#include "common/error.h"
#include "common/file.h"
#include "provision/manifest/address.h"

namespace ssivm::provision {
namespace {

[[noreturn]] void Fail(std::string_view expression, const std::string& problem) {
  throw Error("'" + std::string(expression) + "': " + problem);
}

struct Bound {
  unsigned long value = 0;
  size_t width = 0;  // digits to pad to, 0 = none
};

Bound ParseBound(std::string_view expression, std::string_view digits) {
  if (digits.empty()) Fail(expression, "empty number in range");
  Bound b;
  auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), b.value);
  if (ec != std::errc() || ptr != digits.data() + digits.size() || digits.size() > 9) {
    Fail(expression, "'" + std::string(digits) + "' is not a number of at most 9 digits");
  }
  if (digits.size() > 1 && digits.front() == '0') b.width = digits.size();
  return b;
}

std::string Pad(unsigned long value, size_t width) {
  std::string s = std::to_string(value);
  if (s.size() < width) s.insert(0, width - s.size(), '0');
  return s;
}

}  // namespace

std::vector<std::string> ExpandHostRange(std::string_view expression) {
  size_t open = expression.find('[');
  if (open == std::string_view::npos) {
    if (expression.find(']') != std::string_view::npos) Fail(expression, "']' without '['");
    if (std::string e = CheckHost(expression); !e.empty()) Fail(expression, e);
    return {std::string(expression)};
  }
  size_t close = expression.find(']', open);
  if (close == std::string_view::npos) Fail(expression, "'[' without ']'");
  std::string_view prefix = expression.substr(0, open);
  std::string_view body = expression.substr(open + 1, close - open - 1);
  std::string_view suffix = expression.substr(close + 1);
  if (suffix.find_first_of("[]") != std::string_view::npos) {
    Fail(expression, "only one [range] per host expression");
  }
  if (body.empty()) Fail(expression, "empty range []");
  std::vector<std::string> hosts;
  size_t start = 0;
  while (start <= body.size()) {
    size_t comma = body.find(',', start);
    if (comma == std::string_view::npos) comma = body.size();
    std::string_view item = body.substr(start, comma - start);
    size_t dash = item.find('-');
    Bound lo = ParseBound(expression, item.substr(0, dash));
    Bound hi = dash == std::string_view::npos ? lo : ParseBound(expression, item.substr(dash + 1));
    if (hi.value < lo.value) {
      Fail(expression, "range " + std::string(item) + " is descending");
    }
    if (hi.value - lo.value >= kMaxHostListHosts ||
        hosts.size() + (hi.value - lo.value) >= kMaxHostListHosts) {
      Fail(expression, "expands to more than " + std::to_string(kMaxHostListHosts) + " hosts");
    }
    for (unsigned long v = lo.value; v <= hi.value; ++v) {
      std::string host = std::string(prefix) + Pad(v, lo.width) + std::string(suffix);
      if (std::string e = CheckHost(host); !e.empty()) Fail(expression, "'" + host + "': " + e);
      hosts.push_back(std::move(host));
    }
    start = comma + 1;
  }
  return hosts;
}

std::vector<std::string> ParseHostList(std::string_view text, std::string_view file_name) {
  std::vector<std::string> hosts;
  std::map<std::string, int> seen;  // host -> line
  int line_number = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_number;
    if (size_t hash = line.find('#'); hash != std::string_view::npos) line = line.substr(0, hash);
    size_t i = 0;
    while (i < line.size()) {
      while (i < line.size() && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r')) ++i;
      size_t j = i;
      while (j < line.size() && line[j] != ' ' && line[j] != '\t' && line[j] != '\r') ++j;
      if (j == i) break;
      std::string_view token = line.substr(i, j - i);
      i = j;
      std::string where = std::string(file_name) + ":" + std::to_string(line_number) + ": ";
      std::vector<std::string> expanded;
      try {
        expanded = ExpandHostRange(token);
      } catch (const Error& e) {
        throw Error(where + e.what());
      }
      for (std::string& host : expanded) {
        auto [it, inserted] = seen.emplace(host, line_number);
        if (!inserted) {
          throw Error(where + "host '" + host + "' is listed twice (also line " +
                      std::to_string(it->second) + ")");
        }
        if (hosts.size() >= kMaxHostListHosts) {
          throw Error(where + "more than " + std::to_string(kMaxHostListHosts) + " hosts");
        }
        hosts.push_back(std::move(host));
      }
    }
  }
  if (hosts.empty()) throw Error(std::string(file_name) + ": no hosts listed");
  return hosts;
}

std::vector<std::string> LoadHostList(const std::string& path) {
  std::vector<uint8_t> bytes = ReadFileBytes(path, 1 << 20);
  return ParseHostList(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()),
                       path);
}

}  // namespace ssivm::provision
