#include "provision/packages/resolver.h"

#include <algorithm>
#include <deque>
#include <set>
#include <utility>

namespace ssivm::provision {
namespace {

// One name a package provides, and how.
struct Provision {
  const Opkg* opkg;
  std::string version;
  std::string how;  // "its name", "its server package", "<provides> mpi"
};

class Resolver {
 public:
  Resolver(const Repository& repo, Target target) : repo_(repo), target_(std::move(target)) {
    for (const auto& [name, p] : repo_) Index(p);
  }

  Resolution Run(const std::vector<std::string>& requested) {
    for (const std::string& r : requested) {
      PackageRef ref{r, Relation::kAny, ""};
      std::vector<const Provision*> c = Candidates(ref);
      if (c.empty()) {
        out_.problems.push_back("missing: the set requests '" + r +
                                "', but no package has that name or provides it");
        continue;
      }
      Select(Choose(ref, c, "the set's request"), "", "requested " + r);
    }
    while (!queue_.empty()) {
      const Opkg* p = queue_.front();
      queue_.pop_front();
      Expand(*p);
    }
    CheckConflicts();
    Sort(&out_.native_server);
    Sort(&out_.native_client);
    return std::move(out_);
  }

 private:
  void Index(const Opkg& p) {
    provided_[p.name].push_back({&p, p.version, "its name"});
    provided_["opkg-" + p.name].push_back({&p, p.version, "its head-node package opkg-" + p.name});
    provided_["opkg-" + p.name + "-server"].push_back(
        {&p, p.version, "its server package opkg-" + p.name + "-server"});
    provided_["opkg-" + p.name + "-client"].push_back(
        {&p, p.version, "its client package opkg-" + p.name + "-client"});
    for (const DepBlock& b : p.deps) {
      if (b.kind != DepKind::kProvides || !FiltersMatch(b.filters, target_)) continue;
      for (const PackageRef& ref : b.pkgs) {
        std::string version = ref.version.empty() ? p.version : ref.version;
        provided_[ref.name].push_back(
            {&p, version, std::string("<provides> in ") + ScopeText(b.scope) + ": " + ref.name});
      }
    }
  }

  // Providers of ref.name whose version satisfies ref.
  std::vector<const Provision*> Candidates(const PackageRef& ref) const {
    std::vector<const Provision*> out;
    auto it = provided_.find(ref.name);
    if (it == provided_.end()) return out;
    for (const Provision& pr : it->second) {
      if (Satisfies(pr.version, ref.rel, ref.version)) out.push_back(&pr);
    }
    return out;
  }

  const Opkg* Choose(const PackageRef& ref, std::vector<const Provision*> c,
                     const std::string& who) {
    for (const Provision* pr : c) {
      if (selected_.count(pr->opkg->name)) return pr->opkg;
    }
    std::sort(c.begin(), c.end(), [&](const Provision* a, const Provision* b) {
      bool ea = a->opkg->name == ref.name, eb = b->opkg->name == ref.name;
      if (ea != eb) return ea;
      return a->opkg->name < b->opkg->name;
    });
    const Opkg* chosen = c.front()->opkg;
    for (const Provision* pr : c) {
      if (ConflictsWithSelection(*pr->opkg).empty()) {
        chosen = pr->opkg;
        break;
      }
    }
    std::set<std::string> names;
    for (const Provision* pr : c) names.insert(pr->opkg->name);
    if (names.size() > 1) {
      std::string all;
      for (const std::string& n : names) all += (all.empty() ? "" : ", ") + n;
      out_.notes.push_back("chose " + chosen->name + " for " + RefText(ref) + " (" + who +
                           "; candidates: " + all + ")");
    }
    return chosen;
  }

  void Select(const Opkg* p, const std::string& parent, const std::string& step) {
    if (selected_.count(p->name)) return;
    std::string why = parent.empty() ? step : why_[parent] + "; " + step;
    why_[p->name] = why;
    selected_.insert(p->name);
    out_.closure.push_back({p->name, p->version, why});
    queue_.push_back(p);
  }

  void Expand(const Opkg& p) {
    for (const DepBlock& b : p.deps) {
      if (b.kind != DepKind::kRequires) continue;
      if (!FiltersMatch(b.filters, target_)) continue;
      bool between_opkgs = b.scope == Scope::kPackage;
      for (const PackageRef& ref : b.pkgs) {
        std::vector<const Provision*> c = Candidates(ref);
        std::string step =
            p.name + " requires " + RefText(ref) +
            (b.scope == Scope::kPackage ? "" : std::string(" (") + ScopeText(b.scope) + ")");
        if (!c.empty()) {
          Select(Choose(ref, c, step), p.name, step);
          continue;
        }
        if (!between_opkgs) {  // a distribution package
          if (b.scope != Scope::kClient) out_.native_server.push_back(RefText(ref));
          if (b.scope == Scope::kClient || b.scope == Scope::kCommon) {
            out_.native_client.push_back(RefText(ref));
          }
          continue;
        }
        out_.problems.push_back("missing: " + step + ", but " + Unsatisfied(ref) + " [" + p.name +
                                " is in the set because: " + why_[p.name] + "]");
      }
    }
  }

  // Why no provider satisfies ref.
  std::string Unsatisfied(const PackageRef& ref) const {
    auto it = provided_.find(ref.name);
    if (it == provided_.end()) return "no package provides " + ref.name;
    std::string have;
    for (const Provision& pr : it->second) {
      have += (have.empty() ? "" : ", ") + pr.opkg->name + " provides it at version " + pr.version;
    }
    return "only " + have;
  }

  // Conflicts between p and the already selected packages (as messages).
  std::vector<std::string> ConflictsWithSelection(const Opkg& p) const {
    std::vector<std::string> out;
    for (const std::string& name : selected_) {
      const Opkg& q = repo_.at(name);
      if (q.name == p.name) continue;
      for (std::string& m : Conflicts(p, q)) out.push_back(std::move(m));
      for (std::string& m : Conflicts(q, p)) out.push_back(std::move(m));
    }
    return out;
  }

  // Declarations of p that conflict with q.
  std::vector<std::string> Conflicts(const Opkg& p, const Opkg& q) const {
    std::vector<std::string> out;
    for (const DepBlock& b : p.deps) {
      if (b.kind != DepKind::kConflicts || !FiltersMatch(b.filters, target_)) continue;
      for (const PackageRef& ref : b.pkgs) {
        auto it = provided_.find(ref.name);
        if (it == provided_.end()) continue;
        for (const Provision& pr : it->second) {
          if (pr.opkg != &q || !Satisfies(pr.version, ref.rel, ref.version)) continue;
          out.push_back(p.name + " conflicts with " + q.name + ": " + p.name + "'s " +
                        ScopeText(b.scope) + " <conflicts> " + RefText(ref) + " matches " + q.name +
                        " " + pr.version + " through " + pr.how);
        }
      }
    }
    return out;
  }

  void CheckConflicts() {
    for (const Selected& a : out_.closure) {
      for (const Selected& b : out_.closure) {
        if (a.name == b.name) continue;
        for (const std::string& m : Conflicts(repo_.at(a.name), repo_.at(b.name))) {
          out_.problems.push_back("conflict: " + m + " [" + a.name + ": " + why_[a.name] + "; " +
                                  b.name + ": " + why_[b.name] + "]");
        }
      }
    }
  }

  static void Sort(std::vector<std::string>* v) {
    std::sort(v->begin(), v->end());
    v->erase(std::unique(v->begin(), v->end()), v->end());
  }

  const Repository& repo_;
  Target target_;
  std::map<std::string, std::vector<Provision>> provided_;
  std::set<std::string> selected_;
  std::map<std::string, std::string> why_;
  std::deque<const Opkg*> queue_;
  Resolution out_;
};

}  // namespace

Resolution Resolve(const Repository& repo, const std::vector<std::string>& requested,
                   const Target& target) {
  return Resolver(repo, target).Run(requested);
}

}  // namespace ssivm::provision
