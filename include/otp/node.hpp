#pragma once
/// \file otp/node.hpp
/// `otp::node`: the runtime. Owns the scheduler threads, the fiber pool, the
/// process table, the names, the timer wheel and the blocking-call pool.
///
/// A program usually creates one node in main(); the first node created is
/// the *default node*, used by process API calls made from foreign threads.
/// Destroying (or `shutdown()`-ing) a node terminates every live process with
/// reason `shutdown` (links and monitors fire), then joins all its threads.

#include <chrono>
#include <cstddef>
#include <memory>

#include "otp/logger.hpp"

namespace otp {

namespace internal {
class node_impl;
}

struct node_options {
  unsigned schedulers = 0;                      ///< scheduler threads; 0 = hardware cores
  std::size_t stack_size = 128 * 1024;          ///< default process stack (bytes, + guard page)
  bool manual_clock = false;                    ///< time moves only by advance_time() (tests)
  std::chrono::milliseconds long_schedule{100};  ///< report a slice longer than this; 0 = off
  unsigned message_budget = 200;                ///< receives before a process yields (reductions)
  unsigned blocking_threads = 4;                ///< threads for otp::blocking()
  log_level level = log_level::warning;         ///< initial logger level
};

class node {
 public:
  explicit node(node_options opts = {});
  ~node();
  node(const node&) = delete;
  node& operator=(const node&) = delete;

  /// Terminates every process with `shutdown` and stops all threads. Idempotent.
  void shutdown();

  /// Milliseconds on the node's clock since the node started.
  std::chrono::milliseconds now() const;
  /// Manual clock only: moves time forward and fires what became due, before
  /// returning (timers, receive timeouts).
  void advance_time(std::chrono::milliseconds d);

  /// Live processes (including foreign-thread pseudo-processes).
  std::size_t process_count() const;
  unsigned scheduler_count() const;
  /// Armed timers, including receive timeouts (tests use it with the manual
  /// clock to know that a process has armed its timeout before advancing).
  std::size_t pending_timers() const;
  otp::logger& logger();

  /// The default node (the first node alive), or nullptr.
  static node* default_node() noexcept;

  internal::node_impl& impl() noexcept { return *impl_; }

 private:
  std::unique_ptr<internal::node_impl> impl_;
};

}  // namespace otp
