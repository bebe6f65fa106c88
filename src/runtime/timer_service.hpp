#pragma once
// Timers of a node: sharded timing wheels (one lock each, so schedulers
// starting and cancelling timers rarely meet) and one timer thread that
// sleeps until the earliest deadline. With the manual clock there is no
// thread: advance() fires what became due on the calling thread.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>

#include "otp/pid.hpp"
#include "otp/ref.hpp"
#include "runtime/timer_wheel.hpp"

namespace otp::internal {

struct mail_node;
class node_impl;

class timer_service {
 public:
  static constexpr std::uint64_t tick_us = 100;  // wheel resolution: 0.1 ms

  timer_service(node_impl& node, bool manual);
  ~timer_service();
  void start();
  void stop();

  /// Arms a timer that pushes `payload` to `target` (or, if `name` is set, to
  /// the process registered under it at expiry) after `delay_us`.
  /// `creator`, if set, is a process whose current slice must end before the
  /// timer may fire (for 0 ms timers, OTP §14.5); `creator_slice` is its
  /// slices_ended value at creation.
  void start_timer(ref id, pid target, std::string name, mail_node* payload, std::uint64_t delay_us,
                   pid creator = {}, std::uint64_t creator_slice = 0);
  /// Remaining microseconds if it was armed (and now is not), else nullopt.
  std::optional<std::uint64_t> cancel(ref id);
  std::optional<std::uint64_t> read(ref id);
  std::size_t pending() const;

  /// Microseconds on the node clock.
  std::uint64_t now_us() const;
  /// Scheduler threads call this between processes: fires what is due
  /// without waiting for the timer thread to be given a CPU (on a busy
  /// machine the OS may delay that thread by milliseconds). Cheap when
  /// nothing is due: two atomic loads and, only with timers pending, a
  /// clock read.
  void poll();
  void advance(std::chrono::microseconds d);  // manual clock only
  bool manual() const noexcept { return manual_; }

 private:
  struct entry : wheel_entry {
    ref id;
    pid target;
    std::string name;
    mail_node* payload = nullptr;
    std::uint64_t due_us = 0;
    pid creator;
    std::uint64_t creator_slice = 0;
  };
  struct alignas(64) shard {
    mutable std::mutex mu;
    timer_wheel wheel;
    std::unordered_map<std::uint64_t, std::unique_ptr<entry>> by_id;
  };
  static constexpr unsigned shard_count = 8;

  shard& shard_of(ref id) noexcept { return shards_[id.id() % shard_count]; }
  void fire_due(std::uint64_t now_us);
  void fire_locked(std::uint64_t now_us);  // fire_mu_ held
  bool creator_still_running(const entry& e) const noexcept;
  void deliver(std::unique_ptr<entry> e);
  void thread_main();
  std::uint64_t ticks(std::uint64_t us) const noexcept { return us / tick_us; }

  node_impl& node_;
  const bool manual_;
  const std::chrono::steady_clock::time_point epoch_ = std::chrono::steady_clock::now();
  std::atomic<std::uint64_t> manual_now_us_{0};
  shard shards_[shard_count];
  std::atomic<std::size_t> pending_{0};
  // timer thread
  std::mutex wake_mu_;
  std::condition_variable wake_cv_;
  std::atomic<std::uint64_t> next_due_us_{UINT64_MAX};
  // A hint for poll(): the earliest deadline known (lowered by start_timer,
  // recomputed after each firing). The timer thread remains the backstop.
  std::atomic<std::uint64_t> poll_due_us_{UINT64_MAX};
  // One firer at a time (timer thread or a polling scheduler), held through
  // delivery: two batches delivered concurrently could reorder timers (§14.6).
  std::mutex fire_mu_;
  std::uint64_t earliest_us();
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace otp::internal
