// TOML text -> ClusterManifest, through toml11. Every problem is collected
// (wrong types, missing and unknown keys, then the semantic checks) and
// reported at once, each naming the file, the key and, when known, the line.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>

#include <toml.hpp>

#include "common/error.h"
#include "common/file.h"
#include "common/utf8.h"
#include "provision/manifest/manifest.h"

namespace ssivm::provision {
namespace {

using Value = toml::value;

int LineOf(const Value& v) {
  return static_cast<int>(v.location().line());
}

// Reads the keys of one TOML table, remembering which were consumed so the
// rest can be reported as unknown.
class TableReader {
 public:
  TableReader(const Value& table, std::string prefix, std::vector<Problem>* problems,
              std::map<std::string, int>* lines)
      : table_(table), prefix_(std::move(prefix)), problems_(problems), lines_(lines) {}

  // Returns the value of key if present with the right type; records a
  // problem if it is missing (and required) or has another type.
  const Value* Get(const std::string& key, toml::value_t type, bool required) {
    known_.insert(key);
    const auto& t = table_.as_table();
    auto it = t.find(key);
    if (it == t.end()) {
      if (required) problems_->push_back({Key(key), "missing", LineOf(table_)});
      return nullptr;
    }
    (*lines_)[Key(key)] = LineOf(it->second);
    if (it->second.type() != type) {
      problems_->push_back(
          {Key(key),
           "must be a " + toml::stringize(type) + ", not a " + toml::stringize(it->second.type()),
           LineOf(it->second)});
      return nullptr;
    }
    return &it->second;
  }

  void String(const std::string& key, bool required, std::string* out) {
    if (const Value* v = Get(key, toml::value_t::string, required)) out->assign(v->as_string().str);
  }

  // An integer in [min, max].
  template <typename T>
  void Integer(const std::string& key, bool required, int64_t min, int64_t max, T* out) {
    const Value* v = Get(key, toml::value_t::integer, required);
    if (v == nullptr) return;
    if (std::numeric_limits<T>::max() < static_cast<uint64_t>(INT64_MAX)) {
      max = std::min<int64_t>(max, static_cast<int64_t>(std::numeric_limits<T>::max()));
    }
    int64_t i = v->as_integer();
    if (i < min || i > max) {
      problems_->push_back({Key(key),
                            std::to_string(i) + " is out of range " + std::to_string(min) + "-" +
                                std::to_string(max),
                            LineOf(*v)});
      return;
    }
    *out = static_cast<T>(i);
  }

  // An optional string naming one of a few values: from_name maps it to the
  // value, or to nullopt when it is none of them (`allowed` lists them).
  template <typename T, typename FromName>
  void Choice(const std::string& key, FromName from_name, const char* allowed, T* out) {
    const Value* v = Get(key, toml::value_t::string, false);
    if (v == nullptr) return;
    const std::string& name = v->as_string().str;
    if (const std::optional<T> value = from_name(name)) {
      *out = *value;
    } else {
      problems_->push_back(
          {Key(key), "'" + name + "' is not one of " + std::string(allowed), LineOf(*v)});
    }
  }

  // Reports every key that no Get asked for.
  void RejectUnknown() {
    std::vector<std::pair<std::string, int>> unknown;
    for (const auto& [k, v] : table_.as_table()) {
      if (!known_.count(k)) unknown.emplace_back(k, LineOf(v));
    }
    std::sort(unknown.begin(), unknown.end());
    for (const auto& [k, line] : unknown) {
      problems_->push_back({Key(k), "unknown key", line});
    }
  }

  std::string Key(const std::string& key) const {
    return prefix_.empty() ? key : prefix_ + "." + key;
  }

 private:
  const Value& table_;
  std::string prefix_;
  std::vector<Problem>* problems_;
  std::map<std::string, int>* lines_;
  std::set<std::string> known_;
};

constexpr int64_t kMaxVcpuIndex = kMaxVcpus - 1;

void ReadGuest(const Value& v, std::vector<Problem>* problems, std::map<std::string, int>* lines,
               Guest* g) {
  TableReader r(v, "guest", problems, lines);
  r.String("kernel", false, &g->kernel);
  r.String("initrd", false, &g->initrd);
  r.String("cmdline", false, &g->cmdline);
  r.Integer("vcpus_total", true, 0, INT64_MAX, &g->vcpus_total);
  g->vcpus_online = g->vcpus_total;
  r.Integer("vcpus_online", false, 0, INT64_MAX, &g->vcpus_online);
  r.Integer("page_size_kib", false, 0, INT64_MAX, &g->page_size_kib);
  r.RejectUnknown();
}

void ReadNode(const Value& v, const std::string& prefix, std::vector<Problem>* problems,
              std::map<std::string, int>* lines, Node* n) {
  TableReader r(v, prefix, problems, lines);
  r.Integer("id", true, 0, kMaxNodes - 1, &n->id);
  r.String("name", true, &n->name);
  r.String("host", true, &n->host);
  r.String("address", true, &n->address);
  if (const Value* vc = r.Get("vcpus", toml::value_t::table, true)) {
    TableReader rv(*vc, prefix + ".vcpus", problems, lines);
    rv.Integer("first", true, 0, kMaxVcpuIndex, &n->vcpus.first);
    rv.Integer("last", true, 0, kMaxVcpuIndex, &n->vcpus.last);
    rv.RejectUnknown();
  }
  r.Integer("memory_mib", true, 0, INT64_MAX, &n->memory_mib);
  r.Integer("cache_mib", false, 0, INT64_MAX, &n->cache_mib);
  r.RejectUnknown();
}

ClusterManifest ReadManifest(const Value& root, std::vector<Problem>* problems,
                             std::map<std::string, int>* lines) {
  ClusterManifest m;
  TableReader r(root, "", problems, lines);
  r.String("cluster_id", true, &m.cluster_id);
  r.Integer("epoch", true, 1, INT64_MAX, &m.epoch);
  r.Choice("transport_security", cluster::SecurityFromName, "encrypted, authenticated, none",
           &m.transport_security);
  r.Integer("heartbeat_timeout_ms", false, 100, 3600000, &m.heartbeat_timeout_ms);
  r.Choice("placement", PlacementFromName, "on, off", &m.placement);
  if (const Value* g = r.Get("guest", toml::value_t::table, true)) {
    ReadGuest(*g, problems, lines, &m.guest);
  }
  if (const Value* nodes = r.Get("nodes", toml::value_t::array, true)) {
    const auto& array = nodes->as_array();
    for (size_t i = 0; i < array.size(); ++i) {
      std::string prefix = "nodes[" + std::to_string(i) + "]";
      Node n;
      if (!array[i].is_table()) {
        problems->push_back({prefix, "must be a table ([[nodes]])", LineOf(array[i])});
      } else {
        (*lines)[prefix] = LineOf(array[i]);
        ReadNode(array[i], prefix, problems, lines, &n);
      }
      m.nodes.push_back(std::move(n));
    }
  }
  r.RejectUnknown();
  return m;
}

// The line of key, or of its closest enclosing key.
int FindLine(const std::map<std::string, int>& lines, std::string key) {
  while (!key.empty()) {
    if (auto it = lines.find(key); it != lines.end()) return it->second;
    size_t cut = key.find_last_of(".[");
    if (cut == std::string::npos) break;
    key.resize(cut);
  }
  return 0;
}

}  // namespace

ClusterManifest Parse(std::string_view text, const std::string& file_name) {
  // TOML is UTF-8, and toml11 3.7 reads out of bounds when a literal string
  // is not (found by //provision/manifest:manifest_fuzz).
  if (const std::optional<size_t> bad = FirstInvalidUtf8(text)) {
    const auto line =
        1 + std::count(text.begin(), text.begin() + static_cast<ptrdiff_t>(*bad), '\n');
    char byte[8];
    std::snprintf(byte, sizeof(byte), "%#04x", static_cast<uint8_t>(text[*bad]));
    throw Error(file_name + ":" + std::to_string(line) + ": byte " + byte +
                " is not UTF-8 (a TOML file is UTF-8 text)");
  }
  Value root;
  try {
    std::istringstream in{std::string(text)};
    root = toml::parse(in, file_name);
  } catch (const toml::exception& e) {
    throw Error(file_name + ": TOML syntax error: " + e.what());
  } catch (const std::exception& e) {  // toml11 reports some bad input this way
    throw Error(file_name + ": TOML syntax error: " + e.what());
  }
  std::vector<Problem> problems;
  std::map<std::string, int> lines;
  ClusterManifest m = ReadManifest(root, &problems, &lines);
  if (problems.empty()) {
    problems = Validate(m);
    for (Problem& p : problems) p.line = FindLine(lines, p.key);
  }
  if (!problems.empty()) {
    std::string text_out = FormatProblems(file_name, problems);
    text_out.pop_back();  // the last newline
    throw Error("invalid cluster manifest:\n" + text_out);
  }
  return m;
}

ClusterManifest Load(const std::string& path) {
  constexpr uint64_t kMaxManifestBytes = 4 << 20;
  std::vector<uint8_t> bytes = ReadFileBytes(path, kMaxManifestBytes);
  return Parse(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()), path);
}

}  // namespace ssivm::provision
