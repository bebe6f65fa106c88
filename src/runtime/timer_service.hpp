#pragma once
// Timers of a node: sharded timing wheels (one lock each, so schedulers
// starting and cancelling timers rarely meet), fired by the schedulers
// themselves, as the BEAM's schedulers check their timer wheels and Go's
// idle Ps sleep until the next timer. There is no timer thread: on a
// 2-core machine a third busy thread was often left waiting for a CPU
// (a kernel tick, 4 ms) while timers came due, and 1 % of 100k timers
// fired milliseconds late.
//  - A scheduler between two processes polls: fires what is due.
//  - A scheduler about to park with timers armed and no other keeper
//    becomes the *keeper*: it sleeps only until the earliest deadline.
//    Arming an earlier timer wakes it (or, with no keeper, an idle
//    scheduler, which becomes one).
//  - A foreign thread in a timed wait sleeps until its own deadline and
//    polls then, so its timeouts need no scheduler.
// With the manual clock timers fire only in advance(), on the calling
// thread.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <ctime>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "otp/pid.hpp"
#include "otp/process.hpp"
#include "otp/ref.hpp"
#include "runtime/timer_wheel.hpp"

namespace otp::internal {

struct mail_node;
class node_impl;
class process;
class scheduler;

/// A process's wait deadline, allocated with the process's rarely used
/// fields on its first timed wait (no allocation per wait, no map): armed
/// lazily by arm_wait and left in the wheel between waits.
struct wait_entry : wheel_entry {
  process* owner = nullptr;
  std::uint64_t due_us = 0;
  /// The deadline (µs) of the owner's current timed wait, UINT64_MAX if
  /// none; and where this entry sits in the wheel (see arm_wait).
  std::atomic<std::uint64_t> wait_deadline{UINT64_MAX};
  std::atomic<std::uint64_t> wait_armed{UINT64_MAX};
  std::atomic<bool> counted{false};  // in pending() now (manual clock only)
};

class timer_service {
 public:
  static constexpr std::uint64_t tick_us = 100;  // wheel resolution: 0.1 ms

  timer_service(node_impl& node, bool manual);
  ~timer_service();

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
  /// Armed timers, plus processes now waiting with a deadline.
  std::size_t pending() const;

  // ---- wait deadlines (calls' timeouts) ----
  //
  // A call arms no timer of its own. The caller publishes its deadline in
  // `wait_deadline`; its wait_entry is in the wheel at or before
  // that deadline, and stays there when the wait ends. When the entry comes
  // due, the firer reads the current deadline: none → dropped; later (a
  // newer wait) → put back at it; passed → a wait_timeout signal carrying
  // the deadline. So back-to-back calls with a 5 s timeout cost a coarse
  // clock read and two stores each, instead of a timer start and cancel.
  // `wait_armed` is the owner's hint of where the entry sits (UINT64_MAX:
  // maybe nowhere); the owner's store to wait_deadline and the firer's
  // store to wait_armed are a Dekker pair (seq_cst), so at least one side
  // sees the other and the entry is always (re)armed in time.
  /// The absolute deadline (µs) of a wait of `t` starting now; never early,
  /// at most one coarse-clock period late for timeouts of a second or more.
  /// Inline, with the coarse clock read: a call's timed wait pays no call
  /// into this file for it.
  std::uint64_t deadline_after(std::chrono::milliseconds t) const {
    if (manual_ || t < std::chrono::seconds(1)) [[unlikely]] return precise_deadline_after(t);
    // The coarse clock's lag is added so that we never fire early.
    return coarse_now_us() + coarse_lag_us_ + static_cast<std::uint64_t>(t.count()) * 1000;
  }
  void arm_wait(wait_entry& e, std::uint64_t due_us, std::uint64_t serial);
  /// At process exit: the entry leaves the wheel for good.
  void disarm_wait(wait_entry& e, std::uint64_t serial);
  /// Waits are counted for pending() only under the manual clock, where
  /// tests use it to know that a process has started waiting; on the real
  /// clock a shared counter would be two contended atomics per call.
  /// A wait counts from its start until it fires or ends, whichever comes
  /// first: once advance_time has fired it, pending() no longer shows it, so
  /// a test waiting for the process's *next* timed wait is not fooled.
  void wait_started(wait_entry& w) noexcept {
    if (!manual_) return;
    w.counted.store(true, std::memory_order_release);
    active_waits_.fetch_add(1, std::memory_order_acq_rel);
  }
  void wait_ended(wait_entry& w) noexcept {
    if (manual_ && w.counted.exchange(false, std::memory_order_acq_rel))
      active_waits_.fetch_sub(1, std::memory_order_acq_rel);
  }

  /// Microseconds on the node clock.
  std::uint64_t now_us() const;
  /// Fires what is due (schedulers between processes, the keeper, a
  /// foreign thread whose deadline passed). Cheap when nothing is due: an
  /// atomic load when nothing is armed, or only calls' deadlines and
  /// `round` (the caller's count of polls) is not a multiple of 64; else a
  /// coarse clock read (~5 ns), and the precise clock only near the
  /// earliest deadline.
  void poll(std::uint32_t round = 0) {
    // Only calls' deadlines armed (they rest in the wheel between calls, so
    // this is the usual case): a scheduler looks at the clock every 64th
    // round between processes, not at every switch (fan_in_calls_16 lost 5 %
    // to the coarse clock read); a sleeping keeper wakes for them anyway.
    // Inline: between two processes this check is all a poll costs.
    if (round % 64 != 0 && pending_.load(std::memory_order_relaxed) == 0) return;
    poll_now();
  }
  /// A scheduler about to park (counted idle already): if it is (or now
  /// becomes) the keeper, how long it may sleep before the earliest
  /// deadline (zero: something is due); nullopt: sleep until woken.
  std::optional<std::chrono::microseconds> keep(scheduler& s);
  /// `s` stopped sleeping. Woken by another thread for work, it stops
  /// keeping (it may now run a long slice) and the next scheduler to park
  /// keeps; at its deadline, it keeps and fires what is due.
  void woke(scheduler& s, bool for_work) noexcept;
  void advance(std::chrono::microseconds d);  // manual clock only
  bool manual() const noexcept { return manual_; }

 private:
  void poll_now();
  // From the block pool: 100k timers armed in a burst used to leave glibc's
  // fastbins full, and the next large malloc consolidated them for
  // milliseconds under the firing lock.
  struct entry : wheel_entry, detail::pooled {
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
  // How far CLOCK_MONOTONIC_COARSE may lag the precise clock (see
  // measure_coarse_lag_us in timer_service.cpp).
  const std::uint64_t coarse_lag_us_;
  const std::uint64_t epoch_us_ = static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(epoch_.time_since_epoch()).count());
  std::atomic<std::uint64_t> manual_now_us_{0};
  shard shards_[shard_count];
  std::atomic<std::size_t> pending_{0};
  std::atomic<std::size_t> active_waits_{0};
  struct wait_fire {
    pid target;
    std::uint64_t due_us;
  };
  /// Under the shard lock: a due wait entry is dropped, re-armed, or (its
  /// deadline passed) queued in `fired`.
  void expire_wait(shard& sh, wait_entry* e, std::uint64_t now_us, std::vector<wait_fire>& fired);
  /// After arming something due at `due_us`: lowers the hint and, if no
  /// sleeping keeper would wake by then, wakes one.
  void announce(std::uint64_t due_us);
  /// Under fire_mu_: the hint becomes the wheels' earliest deadline.
  void refresh_hint();
  std::uint64_t earliest_us();
  // CLOCK_MONOTONIC_COARSE costs ~5 ns against ~25 ns for the precise
  // clock on these VMs, and lags it by up to coarse_lag_us_.
  std::uint64_t coarse_now_us() const {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    // Plain integers: the chrono conversions cost as much as the clock read.
    // steady_clock is CLOCK_MONOTONIC, the coarse clock's base; flooring the
    // two terms apart loses at most 1 µs, which coarse_lag_us_ covers (its +2).
    const std::uint64_t us =
        static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000 + static_cast<std::uint64_t>(ts.tv_nsec) / 1000;
    return us > epoch_us_ ? us - epoch_us_ : 0;
  }
  [[gnu::noinline]] std::uint64_t precise_deadline_after(std::chrono::milliseconds t) const;

  // Never later than the earliest armed deadline (µs), UINT64_MAX if none:
  // lowered (seq_cst) by whoever arms, raised only by a firer, and only to
  // what the wheels hold (refresh_hint).
  std::atomic<std::uint64_t> hint_us_{UINT64_MAX};
  // Bumped (seq_cst) by whoever arms, after the insert and before lowering
  // the hint: refresh_hint scans again if it moved during a scan (see there).
  std::atomic<std::uint64_t> arms_{0};
  // The keeper, and the time it sleeps until (UINT64_MAX: until woken);
  // 0 while it is awake or there is none. Who arms an earlier deadline
  // reads keeper_until_ after lowering hint_us_, and the keeper reads
  // hint_us_ after publishing keeper_until_ (both seq_cst): one of the two
  // sees the other, so no deadline is slept through.
  std::atomic<scheduler*> keeper_{nullptr};
  std::atomic<std::uint64_t> keeper_until_{0};
  // One firer at a time, held through delivery: two batches delivered
  // concurrently could reorder timers (§14.6).
  std::mutex fire_mu_;
  // fire_locked's lists, kept (with their capacity) between firings.
  std::vector<std::unique_ptr<entry>> due_;
  std::vector<entry*> postponed_;
  std::vector<wait_fire> waits_;
};

}  // namespace otp::internal
