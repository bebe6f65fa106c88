// A process that overflows its stack hits the guard page; the report names
// the process and the program ends (memory is never corrupted silently).

#include <gtest/gtest.h>

#include "otp/otp.hpp"

namespace {

[[gnu::noinline]] int recurse(int depth) {
  volatile char pad[512];
  pad[0] = static_cast<char>(depth);
  return depth > 1000000000 ? pad[0] : recurse(depth + 1) + pad[0];
}

void overflow_in_a_process() {
  otp::node node({.schedulers = 1});
  otp::spawn_options opts;
  opts.stack_size = 64 * 1024;
  auto pm = otp::spawn_monitor([] { recurse(0); }, opts);
  (void)pm;
  otp::receive_as<otp::down_msg>();
}

}  // namespace

TEST(stack, overflow_hits_guard_page_and_report_names_the_process) {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  GTEST_SKIP() << "the sanitizers report stack overflows themselves";
#else
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(overflow_in_a_process(), "stack overflow in process <0\\.[0-9]+\\.0>");
#endif
}
