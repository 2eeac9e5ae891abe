// A VM test program whose one case waits to be stopped: emulated_runtime_test
// runs it through the VM tests' main() to see what a stop signal does to a
// test running in the emulated machine.
#include <chrono>
#include <thread>

#include <gtest/gtest.h>

namespace {

TEST(Waiting, UntilStopped) {
  std::this_thread::sleep_for(std::chrono::minutes(10));
}

}  // namespace
