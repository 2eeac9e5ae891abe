#include "provision/packages/version.h"

#include <cctype>

namespace ssivm::provision {
namespace {

int Order(char c) {
  if (std::isdigit(static_cast<unsigned char>(c))) return 0;
  if (std::isalpha(static_cast<unsigned char>(c))) return c;
  if (c == '~') return -1;
  if (c) return c + 256;
  return 0;
}

// dpkg's verrevcmp.
int CompareFragment(std::string_view a, std::string_view b) {
  size_t i = 0, j = 0;
  while (i < a.size() || j < b.size()) {
    int first_diff = 0;
    while ((i < a.size() && !std::isdigit(static_cast<unsigned char>(a[i]))) ||
           (j < b.size() && !std::isdigit(static_cast<unsigned char>(b[j])))) {
      int ac = i < a.size() ? Order(a[i]) : 0;
      int bc = j < b.size() ? Order(b[j]) : 0;
      if (ac != bc) return ac - bc;
      ++i;
      ++j;
    }
    while (i < a.size() && a[i] == '0') ++i;
    while (j < b.size() && b[j] == '0') ++j;
    while (i < a.size() && j < b.size() && std::isdigit(static_cast<unsigned char>(a[i])) &&
           std::isdigit(static_cast<unsigned char>(b[j]))) {
      if (!first_diff) first_diff = a[i] - b[j];
      ++i;
      ++j;
    }
    if (i < a.size() && std::isdigit(static_cast<unsigned char>(a[i]))) return 1;
    if (j < b.size() && std::isdigit(static_cast<unsigned char>(b[j]))) return -1;
    if (first_diff) return first_diff;
  }
  return 0;
}

struct Parts {
  long epoch = 0;
  std::string_view upstream;
  std::string_view revision;
};

Parts Split(std::string_view v) {
  Parts p;
  if (size_t colon = v.find(':'); colon != std::string_view::npos) {
    bool digits = colon > 0 && colon <= 9;
    for (size_t k = 0; k < colon && digits; ++k) {
      digits = std::isdigit(static_cast<unsigned char>(v[k]));
    }
    if (digits) {
      p.epoch = std::stol(std::string(v.substr(0, colon)));
      v = v.substr(colon + 1);
    }
  }
  if (size_t dash = v.rfind('-'); dash != std::string_view::npos) {
    p.upstream = v.substr(0, dash);
    p.revision = v.substr(dash + 1);
  } else {
    p.upstream = v;
  }
  return p;
}

}  // namespace

int CompareVersions(std::string_view a, std::string_view b) {
  Parts pa = Split(a), pb = Split(b);
  if (pa.epoch != pb.epoch) return pa.epoch < pb.epoch ? -1 : 1;
  if (int c = CompareFragment(pa.upstream, pb.upstream)) return c < 0 ? -1 : 1;
  int c = CompareFragment(pa.revision, pb.revision);
  return c < 0 ? -1 : (c > 0 ? 1 : 0);
}

std::optional<Relation> ParseRelation(std::string_view t) {
  if (t.empty()) return Relation::kAny;
  if (t == "<" || t == "lt" || t == "<<") return Relation::kLess;
  if (t == "<=" || t == "lte") return Relation::kLessEqual;
  if (t == "=" || t == "==" || t == "eq") return Relation::kEqual;
  if (t == ">=" || t == "gte") return Relation::kGreaterEqual;
  if (t == ">" || t == "gt" || t == ">>") return Relation::kGreater;
  return std::nullopt;
}

const char* RelationText(Relation r) {
  switch (r) {
    case Relation::kAny:
      return "";
    case Relation::kLess:
      return "<";
    case Relation::kLessEqual:
      return "<=";
    case Relation::kEqual:
      return "=";
    case Relation::kGreaterEqual:
      return ">=";
    case Relation::kGreater:
      return ">";
  }
  return "?";
}

bool Satisfies(std::string_view version, Relation rel, std::string_view wanted) {
  if (rel == Relation::kAny) return true;
  int c = CompareVersions(version, wanted);
  switch (rel) {
    case Relation::kLess:
      return c < 0;
    case Relation::kLessEqual:
      return c <= 0;
    case Relation::kEqual:
      return c == 0;
    case Relation::kGreaterEqual:
      return c >= 0;
    case Relation::kGreater:
      return c > 0;
    case Relation::kAny:
      return true;
  }
  return false;
}

}  // namespace ssivm::provision
