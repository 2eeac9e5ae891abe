#include "tools/hwkvm/test_progress.h"

#include <algorithm>

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/xml_escape.h"

namespace ssivm::hwkvm {
namespace {

std::string Line(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

std::optional<CaseOutcome> OutcomeFromName(const std::string& s) {
  for (CaseOutcome o : {CaseOutcome::kPassed, CaseOutcome::kFailed, CaseOutcome::kSkipped,
                        CaseOutcome::kEmulatorFault}) {
    if (s == CaseOutcomeName(o)) return o;
  }
  return std::nullopt;
}

CaseId IdFrom(const nlohmann::json& j, std::string_view line) {
  if (!j.contains("suite") || !j["suite"].is_string() || !j.contains("name") ||
      !j["name"].is_string()) {
    throw Error(fmt::format("test progress line without suite and name: {}", line));
  }
  return {j["suite"].get<std::string>(), j["name"].get<std::string>()};
}

}  // namespace

const char* CaseOutcomeName(CaseOutcome o) {
  switch (o) {
    case CaseOutcome::kPassed:
      return "passed";
    case CaseOutcome::kFailed:
      return "failed";
    case CaseOutcome::kSkipped:
      return "skipped";
    case CaseOutcome::kEmulatorFault:
      return "emulator-fault";
  }
  return "?";
}

std::string PlanLine(const CaseId& id) {
  return Line({{"event", "plan"}, {"suite", id.suite}, {"name", id.name}});
}

std::string StartLine(const CaseId& id) {
  return Line({{"event", "start"}, {"suite", id.suite}, {"name", id.name}});
}

std::string EndLine(const CaseEnd& end) {
  return Line({{"event", "end"},
               {"suite", end.id.suite},
               {"name", end.id.name},
               {"outcome", CaseOutcomeName(end.outcome)},
               {"seconds", end.seconds},
               {"message", end.message}});
}

RunProgress ParseProgress(std::string_view text) {
  RunProgress p;
  size_t at = 0;
  while (at < text.size()) {
    const size_t nl = text.find('\n', at);
    if (nl == std::string_view::npos) break;  // torn by a dying machine
    const std::string_view line = text.substr(at, nl - at);
    at = nl + 1;
    if (line.empty()) continue;
    const nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("event") || !j["event"].is_string()) {
      throw Error(fmt::format("not a test progress line: {}", line));
    }
    const std::string event = j["event"].get<std::string>();
    const CaseId id = IdFrom(j, line);
    if (event == "plan") {
      p.planned.push_back(id);
    } else if (event == "start") {
      p.in_flight = id;
    } else if (event == "end") {
      CaseEnd e;
      e.id = id;
      const auto o = j.contains("outcome") && j["outcome"].is_string()
                         ? OutcomeFromName(j["outcome"].get<std::string>())
                         : std::nullopt;
      if (!o) throw Error(fmt::format("test progress line without a known outcome: {}", line));
      e.outcome = *o;
      if (j.contains("seconds") && j["seconds"].is_number()) e.seconds = j["seconds"].get<double>();
      if (j.contains("message") && j["message"].is_string()) {
        e.message = j["message"].get<std::string>();
      }
      p.ended.push_back(std::move(e));
      if (p.in_flight == id) p.in_flight.reset();
    } else {
      throw Error(fmt::format("test progress line with an unknown event: {}", line));
    }
  }
  return p;
}

void CaseLedger::Finish(const CaseId& id, CaseOutcome o, double seconds,
                        const std::string& message) {
  CaseResult r;
  r.id = id;
  r.outcome = o;
  r.seconds = seconds;
  r.message = message;
  r.attempts = attempts_[id.FullName()];
  final_[id.FullName()] = std::move(r);
}

void CaseLedger::Attempted(const CaseId& id, const std::string& why) {
  const std::string full = id.FullName();
  last_fault_[full] = why;
  if (attempts_[full] >= max_attempts_) {
    Finish(id, CaseOutcome::kFailed, 0,
           fmt::format("the emulator fault hit this case in each of its {} machines; the last: {}",
                       attempts_[full], why));
  }
}

void CaseLedger::Record(const RunProgress& run, const std::string& machine_failure, int status) {
  if (plan_.empty()) {
    if (run.planned.empty()) {
      ++unplanned_runs_;
      unplanned_machine_failed_ = !machine_failure.empty();
      return;
    }
    plan_ = run.planned;
  }
  // The program stops itself at the first sign of the fault, whichever way
  // its case ended.
  bool fault = !machine_failure.empty() || status == kEmulatorFaultStatus;

  for (const CaseEnd& e : run.ended) {
    if (final_.count(e.id.FullName()) != 0) continue;
    ++attempts_[e.id.FullName()];
    if (e.outcome == CaseOutcome::kEmulatorFault) {
      fault = true;
      Attempted(e.id, e.message);
    } else {
      Finish(e.id, e.outcome, e.seconds, e.message);
    }
  }
  if (run.in_flight && final_.count(run.in_flight->FullName()) == 0) {
    ++attempts_[run.in_flight->FullName()];
    if (!machine_failure.empty()) {
      Attempted(*run.in_flight, machine_failure);
    } else {
      Finish(*run.in_flight, CaseOutcome::kFailed, 0,
             fmt::format("the test program ended during this case (status {})", status));
    }
  }
  if (run.ended.empty() && !run.in_flight) {
    // The machine failed before its first case: count it against them all.
    if (++idle_runs_ >= max_attempts_) {
      Abandon(fmt::format(
          "{} machines failed before this case started; the last: {}", idle_runs_,
          machine_failure.empty() ? fmt::format("status {}", status) : machine_failure));
    }
    return;
  }
  if (!fault) {
    // The program ran to its end, yet left cases out: nothing will run them.
    Abandon(fmt::format("the test program ended (status {}) without running this case", status));
  }
}

CaseLedger::Next CaseLedger::NextRun() const {
  Next n;
  if (plan_.empty()) {
    n.rerun_all =
        unplanned_runs_ == 0 || (unplanned_machine_failed_ && unplanned_runs_ < max_attempts_);
    n.done = !n.rerun_all;
    return n;
  }
  for (const CaseId& id : plan_) {
    if (final_.count(id.FullName()) == 0) n.cases.push_back(id);
  }
  n.done = n.cases.empty();
  return n;
}

void CaseLedger::Abandon(const std::string& why) {
  for (const CaseId& id : plan_) {
    if (final_.count(id.FullName()) != 0) continue;
    const auto fault = last_fault_.find(id.FullName());
    Finish(id, CaseOutcome::kFailed, 0,
           fault == last_fault_.end() ? why : fmt::format("{}; before: {}", why, fault->second));
  }
}

std::vector<CaseResult> CaseLedger::Results() const {
  std::vector<CaseResult> out;
  for (const CaseId& id : plan_) {
    if (auto it = final_.find(id.FullName()); it != final_.end()) out.push_back(it->second);
  }
  return out;
}

std::vector<std::string> CaseLedger::Retried() const {
  std::vector<std::string> out;
  for (const CaseId& id : plan_) {
    const auto it = attempts_.find(id.FullName());
    if (it != attempts_.end() && it->second > 1) out.push_back(id.FullName());
  }
  return out;
}

int CaseLedger::failed() const {
  int n = 0;
  for (const auto& [name, r] : final_) n += r.outcome == CaseOutcome::kFailed ? 1 : 0;
  return n;
}

std::string JunitXml(const std::string& program, const std::vector<CaseResult>& results) {
  // Grouped by suite, in first-seen order.
  std::vector<std::string> suites;
  for (const CaseResult& r : results) {
    if (std::find(suites.begin(), suites.end(), r.id.suite) == suites.end()) {
      suites.push_back(r.id.suite);
    }
  }
  int failures = 0, skipped = 0;
  double total = 0;
  for (const CaseResult& r : results) {
    failures += r.outcome == CaseOutcome::kFailed ? 1 : 0;
    skipped += r.outcome == CaseOutcome::kSkipped ? 1 : 0;
    total += r.seconds;
  }
  std::string x = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  x += fmt::format(
      "<testsuites tests=\"{}\" failures=\"{}\" disabled=\"0\" skipped=\"{}\" errors=\"0\" "
      "time=\"{:.3f}\" name=\"{}\">\n",
      results.size(), failures, skipped, total, XmlEscape(program));
  for (const std::string& suite : suites) {
    std::string cases;
    int n = 0, f = 0, s = 0;
    double t = 0;
    for (const CaseResult& r : results) {
      if (r.id.suite != suite) continue;
      ++n;
      t += r.seconds;
      const bool skip = r.outcome == CaseOutcome::kSkipped;
      f += r.outcome == CaseOutcome::kFailed ? 1 : 0;
      s += skip ? 1 : 0;
      cases += fmt::format(
          "    <testcase name=\"{}\" status=\"run\" result=\"{}\" time=\"{:.3f}\" "
          "classname=\"{}\" attempts=\"{}\"",
          XmlEscape(r.id.name), skip ? "skipped" : "completed", r.seconds, XmlEscape(suite),
          r.attempts);
      if (r.outcome == CaseOutcome::kFailed) {
        cases += fmt::format(">\n      <failure message=\"{}\" type=\"\"/>\n    </testcase>\n",
                             XmlEscape(r.message));
      } else if (skip) {
        cases += fmt::format(">\n      <skipped message=\"{}\"/>\n    </testcase>\n",
                             XmlEscape(r.message));
      } else {
        cases += " />\n";
      }
    }
    x += fmt::format(
        "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" disabled=\"0\" skipped=\"{}\" "
        "errors=\"0\" time=\"{:.3f}\">\n{}  </testsuite>\n",
        XmlEscape(suite), n, f, s, t, cases);
  }
  x += "</testsuites>\n";
  return x;
}

}  // namespace ssivm::hwkvm
