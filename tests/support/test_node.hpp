#pragma once
/// \file tests/support/test_node.hpp
/// Helpers for the conformance tests: a per-test node (manual clock by
/// default), a watchdog that turns a hang into a named failure, and small
/// receive helpers for the test body (a foreign thread with a pseudo-process).
///
/// Rules the tests follow:
///  * With the manual clock, time moves only by `advance_time()`. A receive
///    with a finite timeout from the test body would wait for ever, so the
///    test body receives with `infinity` (for messages that must come) or
///    with `0ms` (to check that nothing is queued, after a synchronisation
///    point that guarantees anything that would come has come: per-pair
///    ordering, a DOWN, a reply).
///  * The only polling allowed is `wait_for_timers()` (a process has armed
///    its timer) and `wait_until()` on a process-state predicate; never a
///    sleep.

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unistd.h>
#include <utility>
#include <vector>

#include "otp/error.hpp"
#include "otp/logger.hpp"
#include "otp/exit_reason.hpp"
#include "otp/message.hpp"
#include "otp/node.hpp"
#include "otp/pid.hpp"
#include "otp/process.hpp"
#include "otp/receive.hpp"
#include "otp/ref.hpp"
#include "otp/timer.hpp"

namespace otp_test {

using namespace std::chrono_literals;

/// `OTP_STRESS_SCALE` (default 1.0): sanitizer builds scale sizes down.
inline double stress_scale() {
  static const double s = [] {
    const char* e = std::getenv("OTP_STRESS_SCALE");
    if (!e || !*e) return 1.0;
    double v = std::atof(e);
    return v > 0 ? v : 1.0;
  }();
  return s;
}
/// `n` scaled by `stress_scale()`, at least `min`.
inline std::size_t scaled(std::size_t n, std::size_t min = 1) {
  auto v = static_cast<std::size_t>(static_cast<double>(n) * stress_scale());
  return std::max(v, min);
}

/// Seconds a single test may take before the watchdog aborts the run
/// (`OTP_TEST_TIMEOUT`, default 60; stress tests pass their own).
inline std::chrono::seconds default_test_timeout() {
  const char* e = std::getenv("OTP_TEST_TIMEOUT");
  if (e && *e && std::atoi(e) > 0) return std::chrono::seconds(std::atoi(e));
  return std::chrono::seconds(60);
}

/// Aborts the process (with the test's name) if the scope is not left in
/// time: a hung receive then shows up as a named failure instead of a CI
/// timeout. It waits on a condition variable; it never synchronises a test.
class watchdog {
 public:
  explicit watchdog(std::chrono::seconds limit = default_test_timeout()) {
    std::string name = "<unknown test>";
    if (auto* info = ::testing::UnitTest::GetInstance()->current_test_info())
      name = std::string(info->test_suite_name()) + "." + info->name();
    thread_ = std::thread([this, limit, name] {
      std::unique_lock lk(mu_);
      if (!cv_.wait_for(lk, limit, [this] { return done_; })) {
        std::fprintf(stderr, "\n*** WATCHDOG: %s did not finish within %llds (hang?) — aborting\n", name.c_str(),
                     static_cast<long long>(limit.count()));
        std::fflush(stderr);
        std::_Exit(124);
      }
    });
  }
  ~watchdog() {
    {
      std::lock_guard lk(mu_);
      done_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  watchdog(const watchdog&) = delete;
  watchdog& operator=(const watchdog&) = delete;

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  std::thread thread_;
};

/// Clock selector for `test_node`.
enum class clock_kind { manual, real };

/// The node options the tests use: 2 schedulers, manual clock by default.
inline otp::node_options test_options(clock_kind c = clock_kind::manual, unsigned schedulers = 2) {
  otp::node_options o;
  o.schedulers = schedulers;
  o.manual_clock = c == clock_kind::manual;
  return o;
}

/// One node per test (the default node while it lives), guarded by a
/// watchdog. Declare it first in the test body so that it outlives
/// everything else in the test.
struct test_node {
  explicit test_node(clock_kind c = clock_kind::manual, unsigned schedulers = 2,
                     std::chrono::seconds limit = default_test_timeout())
      : dog(limit), node(test_options(c, schedulers)) {
    quiet();
  }
  explicit test_node(otp::node_options opts, std::chrono::seconds limit = default_test_timeout())
      : dog(limit), node(std::move(opts)) {
    quiet();
  }
  /// Crash reports and traces are dropped unless OTP_TEST_LOG is set (tests
  /// that check them install their own sink).
  void quiet() {
    const char* e = std::getenv("OTP_TEST_LOG");
    if (!e || !*e) node.logger().set_sink([](otp::log_level, std::string_view) {});
  }

  otp::node* operator->() { return &node; }
  operator otp::node&() { return node; }  // NOLINT: implicit for helpers

  watchdog dog;  // destroyed last: also guards the node's shutdown
  otp::node node;
};

/// How long the polling helpers below spin before giving up: a safety net
/// that turns a missing state change into a test failure, not a hang.
inline constexpr std::chrono::seconds poll_limit{10};

/// Spins (yielding) until `pred()` holds; false if it did not within
/// `limit`. For process-state predicates only (queue length, status, armed
/// timers, process count), never as a sleep. Use as
/// `ASSERT_TRUE(wait_until(...))`.
template <class Pred>
[[nodiscard]] bool wait_until(Pred&& pred, std::chrono::milliseconds limit = poll_limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::yield();
  }
  return true;
}
/// Spins until `node` has at least `n` armed timers (timers and receive
/// timeouts): a process has reached its `after` / `send_after`.
[[nodiscard]] inline bool wait_for_timers(otp::node& node, std::size_t n, std::chrono::milliseconds limit = poll_limit) {
  return wait_until([&] { return node.pending_timers() >= n; }, limit);
}

// ---------------------------------------------------------------- messages

/// A type nobody sends: `receive_as<never_t>()` waits for ever (idle).
struct never_t {};
/// A generic "go on" message.
struct go {};
/// A process that idles for ever (until killed or the node stops).
inline void idle() { (void)otp::receive_as<never_t>(); }

// ------------------------------------------------------------ receive helpers

/// Receives the next `T` (waits for ever; the watchdog bounds it).
template <class T>
T recv() {
  return *otp::receive_as<T>(otp::infinity);
}
/// Receives the DOWN of monitor `r`.
inline otp::down_msg await_down(const otp::ref& r) {
  return *otp::receive_if<otp::down_msg>([r](const otp::down_msg& d) { return d.mref == r; }, otp::infinity);
}
/// Receives the trapped EXIT from `from`.
inline otp::exit_msg await_exit(const otp::pid& from) {
  return *otp::receive_if<otp::exit_msg>([from](const otp::exit_msg& e) { return e.from == from; }, otp::infinity);
}
/// Monitors `p` and waits for its DOWN; returns the exit reason.
inline otp::exit_reason wait_dead(const otp::pid& p) {
  return await_down(otp::monitor(p)).reason;
}
/// Removes and returns everything queued now (no wait).
inline std::vector<otp::message> drain() {
  std::vector<otp::message> out;
  while (auto m = otp::receive_any(otp::timeout::zero())) out.push_back(std::move(*m));
  return out;
}
/// True if the mailbox is empty right now.
inline bool mailbox_empty() {
  return !otp::receive_any(otp::timeout::zero()).has_value();
}

/// Spawns a process that exits normally at once and waits for its death:
/// a pid that is certainly dead.
/// The reason a non-trapping process dies with when a child it is linked to
/// exits itself with `r` (observed through a monitor on the parent).
inline otp::exit_reason reason_through_link(const otp::exit_reason& r) {
  auto [parent, mref] = otp::spawn_monitor([r] {
    otp::spawn_link([r] { otp::exit(r); });
    idle();
  });
  (void)parent;
  return await_down(mref).reason;
}

inline otp::pid dead_pid() {
  auto [p, r] = otp::spawn_monitor([] {});
  (void)await_down(r);
  return p;
}

/// Resident set size of this process in bytes (/proc/self/statm).
inline std::size_t rss_bytes() {
  std::ifstream f("/proc/self/statm");
  std::size_t size = 0, resident = 0;
  f >> size >> resident;
  return resident * static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
}

}  // namespace otp_test

// Pretty-printing for gtest failure messages.
namespace otp {
inline void PrintTo(const exit_reason& r, std::ostream* os) { *os << r.to_string(); }
inline void PrintTo(const pid& p, std::ostream* os) { *os << (p ? p.to_string() : std::string("<no pid>")); }
inline void PrintTo(const ref& r, std::ostream* os) { *os << (r ? r.to_string() : std::string("<no ref>")); }
}  // namespace otp
