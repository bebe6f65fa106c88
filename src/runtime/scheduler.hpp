#pragma once
// A scheduler: one OS thread running processes.
//
// Finding work, in order: the LIFO "next" slot (a process woken by the one
// running here runs next, so a ping-pong pair stays on one core and in
// cache), the local queue, the global injection queue (every 61 ticks first,
// for fairness, as Go does), then stealing half of another scheduler's
// queue, or a process waiting in its inbound queue. With nothing to do it
// spins briefly, then parks on a futex; parking and waking follow a
// Dekker-style protocol on `idle_` (see node_impl), so no
// wake-up is lost.
//
// Stealing is reserved for work worth a migration (see steal_threshold in
// scheduler.cpp): a queue longer than 128, or a scheduler stuck in one slice
// for a millisecond while others wait behind it. A scheduler that parks
// while another has a short queue sleeps 1 ms at a time to watch for that.
//
// Fibers. The thread's loop itself runs on a pooled fiber. Running a process
// that has not blocked before costs no switch: its code runs right here.
// When it blocks, this fiber stays with it and the thread continues on
// another pooled fiber; when it is resumed, the resuming fiber returns to
// the pool.

#include <atomic>
#include <cstdint>
#include <memory>
#include <thread>
#include <utility>
#include <vector>

#include "process/process.hpp"
#include "runtime/deferred_output.hpp"
#include "runtime/fiber.hpp"
#include "runtime/run_queue.hpp"

namespace otp::internal {

class node_impl;
class process;
struct thread_context;

class scheduler {
 public:
  scheduler(node_impl& node, unsigned index);
  ~scheduler();
  void start();
  void join();

  unsigned index() const noexcept { return index_; }
  /// Its thread's context (a scheduler never changes threads).
  thread_context& context() const noexcept { return *ctx_; }
  /// Owner thread: makes `p` runnable here. `next`: in the LIFO slot.
  /// `yielded`: p was running here and gave up its slice; that is no new
  /// work, so no idle scheduler is woken for it.
  void push(process* p, bool next, bool yielded = false) {
    if (next && !next_) {  // the LIFO slot was free: nothing displaced, nothing to wake
      next_ = p;
      return;
    }
    push_queued(p, next, yielded);
  }
  /// Owner thread: a fiber to continue the loop on (from the pool or new).
  fiber* take_fiber();
  void pool_fiber(fiber* f) noexcept {
    f->pool_next = pool_;
    pool_ = f;
  }
  /// Owner thread: if the LIFO slot holds a process suspended on a fiber,
  /// takes it and starts its slice, for a direct fiber-to-fiber hand-off
  /// (one switch instead of two through the loop).
  /// Inline, as begin_slice: a call's two hand-offs go through here.
  process* take_next_parked() {
    if (!next_is_parked()) return nullptr;
    ++next_streak_;
    process* p = std::exchange(next_, nullptr);
    begin_slice(p);
    return p;
  }
  /// Owner thread: take_next_parked would succeed.
  bool next_is_parked() const noexcept { return next_ && next_->parked && next_streak_ < max_next_streak; }
  void begin_slice(process* p) {
    if (!deferred_.empty() && ++deferred_slices_ > max_deferred_slices) flush_deferred();
    ctx_->proc = p;
    if (p->home.load(std::memory_order_relaxed) != this) p->home.store(this, std::memory_order_relaxed);
    // Watchdog bookkeeping: two relaxed stores, no clock read on this path.
    running.store(p->serial, std::memory_order_relaxed);
    slice.store(slice.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    p->status.store(process_status::running, std::memory_order_relaxed);
  }
  /// Any thread: hands a woken process back to this, its home scheduler.
  void push_inbound(process* p);
  /// Any thread: true while this scheduler is parked (or about to be).
  bool idle_now() const noexcept { return sleeping_.load(std::memory_order_relaxed) != awake; }
  /// Any thread: wakes this scheduler if it is parked. True if it was.
  /// `only_indefinite`: not if it sleeps a watch period (it looks soon).
  bool unpark(bool only_indefinite = false);
  void request_quit();
  /// Owner thread: `out` is flushed before this scheduler idles, or within
  /// `max_deferred_slices` slices.
  void add_deferred(const std::shared_ptr<deferred_output>& out);

  // watchdog (read by the node's monitor thread)
  std::atomic<std::uint64_t> running{0};  // serial of the running process, 0 if none
  std::atomic<std::uint64_t> slice{0};    // bumped at every process switch

 private:
  friend class node_impl;
  void thread_main();
  static fiber* loop_entry(void* arg);
  static void run_loop();
  process* find_work();
  [[gnu::noinline]] process* search_work();  // find_work past the LIFO slot
  void push_queued(process* p, bool next, bool yielded);
  process* steal();
  bool stuck(unsigned victim) const noexcept;
  thread_context& run(process* p);
  static thread_context& hand_off(thread_context& ctx);
  void park();
  void flush_deferred();

  node_impl& node_;
  const unsigned index_;
  std::thread thread_;
  fiber* thread_fiber_ = nullptr;
  thread_context* ctx_ = nullptr;  // its thread's (a scheduler never changes threads)
  local_queue queue_;
  locked_fifo<process, &process::run_next> inbound_;  // wake-ups from other threads
  // Consecutive runs from the LIFO slot before it yields to the queue, so
  // that two processes bouncing messages cannot starve the rest. A pair
  // hands off directly, bypassing the loop (and its timer poll) until then:
  // 128 hops are a few microseconds (32 cost a call ~1 % more).
  static constexpr unsigned max_next_streak = 128;
  process* next_ = nullptr;
  unsigned next_streak_ = 0;
  std::uint32_t tick_ = 0;
  std::uint32_t polls_ = 0;  // timer polls between processes (timer_service::poll)
  fiber* pool_ = nullptr;  // idle loop fibers, linked through pool_next (a push is two stores)
  // awake, parked until woken, or parked for one watch period (park()).
  static constexpr std::uint32_t awake = 0, parked = 1, watching = 2;
  std::atomic<std::uint32_t> sleeping_{awake};
  std::vector<std::uint64_t> seen_slices_;  // others' `slice` when this one last parked watching
  bool watch_expired_ = false;              // woke from a watch period: steal from a stuck scheduler
  std::atomic<bool> quit_{false};
  std::uint64_t rng_;
  std::vector<std::shared_ptr<deferred_output>> deferred_, flushing_;
  unsigned deferred_slices_ = 0;
  // Slices after which deferred output is written even if work remains: a
  // burst of replies shares a system call, and none waits behind more than
  // a few other processes.
  static constexpr unsigned max_deferred_slices = 8;
};

}  // namespace otp::internal
