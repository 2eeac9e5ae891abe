#include "tests/support/node_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <thread>

#include "provision/manifest/secret.h"

namespace ssivm::testing {

std::string WriteManifest(const std::string& name, uint16_t port0, const std::string& cmdline,
                          const std::vector<int>& ids, const std::string& top,
                          uint32_t vcpus_per_node, const std::vector<uint64_t>& memory_mib,
                          const std::string& node_lines) {
  const char* dir = std::getenv("TEST_TMPDIR");
  std::string path = std::string(dir ? dir : "/tmp") + "/" + name;
  std::ofstream f(path);
  f << "cluster_id = \"t\"\nepoch = 1\n"
    << top << "[guest]\nkernel = \"" << std::getenv("TEST_SRCDIR")
    << "/ssivm/guest/kernel\"\ncmdline = \"" << cmdline
    << "\"\nvcpus_total = " << ids.size() * vcpus_per_node << "\n";
  for (uint32_t k = 0; k < ids.size(); ++k) {
    f << "[[nodes]]\nid = " << ids[k] << "\nname = \"n" << k << "\"\nhost = \"localhost\"\n"
      << "address = \"127.0.0.1:" << port0 + k << "\"\nvcpus = { first = " << k * vcpus_per_node
      << ", last = " << (k + 1) * vcpus_per_node - 1
      << " }\nmemory_mib = " << (k < memory_mib.size() ? memory_mib[k] : 64) << "\n"
      << node_lines;
  }
  f.close();
  provision::EnsureSecret(path);
  return path;
}

uint16_t PortBase() {
  return static_cast<uint16_t>(20000 + (::getpid() * 7) % 20000);
}

NodeProcess::NodeProcess(const std::vector<std::string>& argv, Output output) {
  int out[2];
  int in[2];
  if (::pipe2(out, O_CLOEXEC) != 0) return;
  if (::pipe2(in, O_CLOEXEC) != 0) {
    ::close(out[0]);
    ::close(out[1]);
    return;
  }
  pid_ = ::fork();
  if (pid_ == 0) {
    ::dup2(out[1], STDOUT_FILENO);
    if (output == Output::kStdoutAndStderr) ::dup2(out[1], STDERR_FILENO);
    ::dup2(in[0], STDIN_FILENO);
    std::vector<char*> args;
    args.reserve(argv.size());
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    _exit(127);
  }
  ::close(out[1]);
  ::close(in[0]);
  out_fd_ = out[0];
  in_fd_ = in[1];
}

NodeProcess::~NodeProcess() {
  if (in_fd_ >= 0) ::close(in_fd_);
  if (pid_ > 0) {
    ::kill(pid_, SIGTERM);
    // A frozen (SIGSTOPped) process acts on SIGTERM only once it runs again.
    ::kill(pid_, SIGCONT);
    // A node that stops cleanly may wait for its peers' flush timeouts; one
    // that does not end by then never will.
    if (WaitExit(std::chrono::seconds(60)) < 0 && pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  if (out_fd_ >= 0) ::close(out_fd_);
}

bool NodeProcess::Signal(int sig) const {
  return pid_ > 0 && ::kill(pid_, sig) == 0;
}

bool NodeProcess::ReadMore(std::chrono::steady_clock::time_point deadline) {
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{out_fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    char buf[4096];
    const ssize_t n = ::read(out_fd_, buf, sizeof(buf));
    if (n <= 0) return false;
    out_.append(buf, static_cast<size_t>(n));
    return true;
  }
}

bool NodeProcess::WaitFor(const std::string& text, std::chrono::seconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (out_.find(text) == std::string::npos) {
    if (!ReadMore(deadline)) return false;
  }
  return true;
}

bool NodeProcess::Type(const std::string& text) {
  return in_fd_ >= 0 &&
         ::write(in_fd_, text.data(), text.size()) == static_cast<ssize_t>(text.size());
}

int NodeProcess::WaitExit(std::chrono::seconds timeout) {
  if (pid_ <= 0) return -1;
  // The output ends when the process does (its write end closes).
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (ReadMore(deadline)) {
  }
  for (int i = 0; i < 100; ++i) {
    int status = 0;
    const pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      pid_ = -1;
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return -1;
}

}  // namespace ssivm::testing
