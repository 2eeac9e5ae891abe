// Package versions and the relations OSCAR's config.xml uses (< <= = >= >).
#ifndef SSIVM_PROVISION_PACKAGES_VERSION_H_
#define SSIVM_PROVISION_PACKAGES_VERSION_H_

#include <optional>
#include <string>
#include <string_view>

namespace ssivm::provision {

// Compares versions like dpkg: [epoch:]upstream[-revision], digits compared
// numerically, '~' sorting before everything. Returns <0, 0 or >0.
int CompareVersions(std::string_view a, std::string_view b);

enum class Relation { kAny, kLess, kLessEqual, kEqual, kGreaterEqual, kGreater };

// "<", "<=", "=", ">=", ">" (also "lt", "lte", "eq", "gte", "gt" and dpkg's
// "<<", ">>"); nullopt for anything else. "" is kAny.
std::optional<Relation> ParseRelation(std::string_view text);
const char* RelationText(Relation r);

// Whether version satisfies "rel wanted" (kAny: always).
bool Satisfies(std::string_view version, Relation rel, std::string_view wanted);

}  // namespace ssivm::provision

#endif  // SSIVM_PROVISION_PACKAGES_VERSION_H_
