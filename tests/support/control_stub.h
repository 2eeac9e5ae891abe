// A stand-in for a node's control socket in tests: listens on a Unix socket
// (ListenPrivate, as a node does) and answers each connection's request
// line with the next of its canned answers, sent as given (so a test can
// send malformed ones), after an optional delay. It records the requests.
#ifndef SSIVM_TESTS_SUPPORT_CONTROL_STUB_H_
#define SSIVM_TESTS_SUPPORT_CONTROL_STUB_H_

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "common/unique_fd.h"

namespace ssivm::testing {

class ControlStub {
 public:
  // Once the answers are used up, each further request gets an
  // {"error": ...} saying so.
  ControlStub(std::string path, std::vector<std::string> answers,
              std::chrono::milliseconds delay = std::chrono::milliseconds(0));
  ~ControlStub();  // stops serving and removes the socket
  ControlStub(const ControlStub&) = delete;
  ControlStub& operator=(const ControlStub&) = delete;

  // The request lines received so far (without their newline).
  std::vector<std::string> Requests() const;

 private:
  void Serve(const std::stop_token& stop);
  void Answer(int fd, const std::stop_token& stop);

  std::string path_;
  std::vector<std::string> answers_;
  std::chrono::milliseconds delay_;
  UniqueFd listen_;
  mutable std::mutex mutex_;
  std::condition_variable_any wake_;
  std::vector<std::string> requests_;
  std::jthread thread_;  // last: started once the rest is set up
};

}  // namespace ssivm::testing

#endif  // SSIVM_TESTS_SUPPORT_CONTROL_STUB_H_
