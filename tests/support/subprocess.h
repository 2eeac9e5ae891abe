// Runs a program to completion for tests: feeds stdin, captures stdout and
// stderr, and kills it if it outlives a (generous) deadline.
#ifndef SSIVM_TESTS_SUPPORT_SUBPROCESS_H_
#define SSIVM_TESTS_SUPPORT_SUBPROCESS_H_

#include <chrono>
#include <string>
#include <vector>

namespace ssivm::testing {

struct ProcessResult {
  int exit_code = -1;  // -1 if killed by a signal
  int signal = 0;
  bool timed_out = false;
  std::string out;
  std::string err;
};

ProcessResult RunProcess(const std::vector<std::string>& argv, const std::string& stdin_data = "",
                         std::chrono::seconds timeout = std::chrono::seconds(120));

// Describes a result for assertion messages.
std::string Describe(const ProcessResult& r);

}  // namespace ssivm::testing

#endif  // SSIVM_TESTS_SUPPORT_SUBPROCESS_H_
