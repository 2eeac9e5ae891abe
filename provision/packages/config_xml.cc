#include "provision/packages/config_xml.h"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>

#include "common/error.h"
#include "common/file.h"
#include "provision/packages/xml.h"

namespace ssivm::provision {
namespace {

std::string Where(const std::string& file, const xmlNode* node) {
  return file + ":" + std::to_string(xmlGetLineNo(node));
}

Relation ReadRelation(const std::string& file, const xmlNode* node) {
  std::string rel = Attr(node, "rel");
  std::optional<Relation> r = ParseRelation(rel);
  if (!r) {
    throw Error(Where(file, node) + ": <" + std::string(NameOf(node)) + "> has rel=\"" + rel +
                "\"; expected one of < <= = >= >");
  }
  if (*r != Relation::kAny && Attr(node, "version").empty()) {
    throw Error(Where(file, node) + ": <" + std::string(NameOf(node)) + "> has rel=\"" + rel +
                "\" but no version");
  }
  return *r;
}

Filters ReadFilters(const std::string& file, const xmlNode* block) {
  Filters f;
  for (xmlNode* filters : Children(block, "filters")) {
    for (xmlNode* d : Children(filters, "dist")) {
      f.dists.push_back({Text(d), ReadRelation(file, d), Attr(d, "version")});
    }
    for (xmlNode* a : Children(filters, "arch")) f.archs.push_back(Text(a));
  }
  return f;
}

std::optional<DepKind> KindOf(std::string_view name) {
  if (name == "provides") return DepKind::kProvides;
  if (name == "requires") return DepKind::kRequires;
  if (name == "conflicts") return DepKind::kConflicts;
  if (name == "suggests") return DepKind::kSuggests;
  return std::nullopt;
}

void ReadBlock(const std::string& file, const xmlNode* node, Scope scope, DepKind kind, Opkg* out) {
  DepBlock b;
  b.scope = scope;
  b.kind = kind;
  b.filters = ReadFilters(file, node);
  for (xmlNode* p : Children(node, "pkg")) {
    PackageRef ref{Text(p), ReadRelation(file, p), Attr(p, "version")};
    if (ref.name.empty()) throw Error(Where(file, p) + ": empty <pkg>");
    b.pkgs.push_back(std::move(ref));
  }
  if (b.pkgs.empty()) {  // legacy: <requires><type>package</type><name>x</name></requires>
    if (xmlNode* n = Child(node, "name"); n != nullptr && !Text(n).empty()) {
      b.pkgs.push_back({Text(n), Relation::kAny, ""});
    }
  }
  if (!b.pkgs.empty()) out->deps.push_back(std::move(b));
}

std::string LegacyVersion(const xmlNode* v) {
  auto part = [&](const char* name) {
    xmlNode* n = Child(v, name);
    return n ? Text(n) : std::string();
  };
  std::string out = part("major");
  for (const char* name : {"minor", "subversion"}) {
    if (std::string s = part(name); !s.empty()) out += "." + s;
  }
  if (std::string r = part("release"); !r.empty()) out += "-" + r;
  if (std::string e = part("epoch"); !e.empty() && e != "0") out = e + ":" + out;
  return out;
}

std::string ReadText(const std::string& path) {
  std::vector<uint8_t> bytes = ReadFileBytes(path, 16 << 20);
  return {bytes.begin(), bytes.end()};
}

}  // namespace

Opkg ParseOpkg(std::string_view xml, const std::string& file_name) {
  XmlDocPtr doc = ParseXml(xml, file_name);
  const xmlNode* root = xmlDocGetRootElement(doc.get());
  if (NameOf(root) != "oscar") {
    throw Error(Where(file_name, root) + ": root element is <" + std::string(NameOf(root)) +
                ">, not <oscar>");
  }
  Opkg p;
  p.file = file_name;
  xmlNode* name = Child(root, "name");
  if (name == nullptr || Text(name).empty()) throw Error(file_name + ": <oscar> has no <name>");
  p.name = Text(name);
  if (xmlNode* c = Child(root, "class")) p.package_class = Text(c);
  if (xmlNode* s = Child(root, "summary")) p.summary = Text(s);
  if (xmlNode* log = Child(root, "changelog")) {
    // Newest first, as in Debian changelogs (opkgc turns it into one): the
    // first entry is the current version, even where an older entry carries a
    // higher epoch (real torque: 2.4.4-1 above 1:2.1.8-1).
    std::vector<xmlNode*> entries = Children(log, "versionEntry");
    if (!entries.empty()) p.version = Attr(entries.front(), "version");
  }
  if (p.version.empty()) {
    if (xmlNode* v = Child(root, "version")) p.version = LegacyVersion(v);
  }
  if (p.version.empty()) p.version = "0";
  for (xmlNode* c : Children(root)) {
    std::string_view n = NameOf(c);
    if (std::optional<DepKind> k = KindOf(n)) {
      ReadBlock(file_name, c, Scope::kPackage, *k, &p);
      continue;
    }
    Scope scope;
    if (n == "serverDeps") {
      scope = Scope::kServer;
    } else if (n == "clientDeps") {
      scope = Scope::kClient;
    } else if (n == "commonDeps") {
      scope = Scope::kCommon;
    } else if (n == "apiDeps") {
      scope = Scope::kApi;
    } else {
      continue;
    }
    for (xmlNode* b : Children(c)) {
      if (std::optional<DepKind> k = KindOf(NameOf(b))) ReadBlock(file_name, b, scope, *k, &p);
    }
  }
  return p;
}

Opkg LoadOpkg(const std::string& path) {
  return ParseOpkg(ReadText(path), path);
}

std::map<std::string, Opkg> LoadOpkgDirectory(const std::string& dir) {
  std::unique_ptr<DIR, int (*)(DIR*)> d(opendir(dir.c_str()), closedir);
  if (!d) ThrowErrno("cannot open package directory " + dir);
  std::vector<std::string> entries;
  while (dirent* e = readdir(d.get())) {
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    std::string config = dir + "/" + name + "/config.xml";
    struct stat st {};
    if (::stat(config.c_str(), &st) == 0 && S_ISREG(st.st_mode)) entries.push_back(config);
  }
  std::sort(entries.begin(), entries.end());
  if (entries.empty()) throw Error(dir + ": no */config.xml package files");
  std::map<std::string, Opkg> out;
  for (const std::string& config : entries) {
    Opkg p = LoadOpkg(config);
    auto [it, inserted] = out.emplace(p.name, p);
    if (!inserted) {
      throw Error(config + ": package name '" + p.name + "' is also used by " + it->second.file);
    }
  }
  return out;
}

Target TargetFromFileName(std::string_view path) {
  size_t slash = path.rfind('/');
  std::string_view base = slash == std::string_view::npos ? path : path.substr(slash + 1);
  if (base.size() < 4 || base.substr(base.size() - 4) != ".xml") return {};
  base.remove_suffix(4);
  size_t last = base.rfind('-');
  if (last == std::string_view::npos) return {};
  size_t mid = base.rfind('-', last - 1);
  if (mid == std::string_view::npos || mid == 0) return {};
  return {std::string(base.substr(0, mid)), std::string(base.substr(mid + 1, last - mid - 1)),
          std::string(base.substr(last + 1))};
}

PackageSet ParsePackageSet(std::string_view xml, const std::string& file_name) {
  XmlDocPtr doc = ParseXml(xml, file_name);
  const xmlNode* root = xmlDocGetRootElement(doc.get());
  if (NameOf(root) != "package_set") {
    throw Error(Where(file_name, root) + ": root element is <" + std::string(NameOf(root)) +
                ">, not <package_set>");
  }
  PackageSet s;
  s.file = file_name;
  s.target = TargetFromFileName(file_name);
  xmlNode* name = Child(root, "name");
  if (name == nullptr || Text(name).empty()) {
    throw Error(file_name + ": <package_set> has no <name>");
  }
  s.name = Text(name);
  xmlNode* packages = Child(root, "packages");
  if (packages == nullptr) throw Error(file_name + ": <package_set> has no <packages>");
  for (xmlNode* o : Children(packages, "opkg")) {
    std::string opkg = Text(o);
    if (opkg.empty()) throw Error(Where(file_name, o) + ": empty <opkg>");
    if (std::find(s.opkgs.begin(), s.opkgs.end(), opkg) != s.opkgs.end()) {
      throw Error(Where(file_name, o) + ": <opkg>" + opkg + "</opkg> is listed twice");
    }
    s.opkgs.push_back(std::move(opkg));
  }
  if (s.opkgs.empty()) throw Error(file_name + ": the package set lists no <opkg>");
  return s;
}

PackageSet LoadPackageSet(const std::string& path) {
  return ParsePackageSet(ReadText(path), path);
}

}  // namespace ssivm::provision
