#pragma once
// The node's internals: schedulers, process table, names, timers, the
// blocking pool and the watchdog that reports long schedules.

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "otp/logger.hpp"
#include "otp/node.hpp"
#include "process/process.hpp"
#include "runtime/context.hpp"
#include "runtime/run_queue.hpp"
#include "runtime/kept_stacks.hpp"
#include "runtime/scheduler.hpp"
#include "runtime/timer_service.hpp"

namespace otp::internal {

class reactor;
class dist_node;

class node_impl {
 public:
  node_impl(node& owner, node_options opts);
  ~node_impl();
  void start();
  void shutdown();

  const node_options& options() const noexcept { return opts_; }
  otp::logger& logger() noexcept { return logger_; }
  timer_service& timers() noexcept { return timers_; }
  node& owner() noexcept { return owner_; }

  // ---- processes ----
  /// A spawn option's stack size as a process stores it: 0 (a pooled stack)
  /// for the node's default; badarg past 4 GiB.
  std::uint32_t own_stack_size(std::size_t requested) const;
  process* create_process(std::unique_ptr<detail::body_base> body, bool foreign);
  /// Makes a process made elsewhere (process::make_with_body) part of the node.
  process* enroll(process* p, bool foreign);
  void process_exiting(process* p) noexcept;  // no longer counted as live
  void process_exited(process* p) noexcept;   // removes from the table, drops its self-reference
  std::size_t process_count() const noexcept { return live_.load(std::memory_order_acquire); }
  std::uint64_t next_serial() noexcept { return serial_.fetch_add(1, std::memory_order_relaxed); }

  // ---- scheduling ----
  /// Makes `p` runnable. From a scheduler of this node: locally (`next` puts
  /// it in the LIFO slot); from any other thread: injected.
  void schedule(process* p, bool next) {
    p->status.store(process_status::runnable, std::memory_order_relaxed);
    scheduler* s = tctx().sched;
    // The usual case, inline: woken by a process of its own scheduler.
    if (s && p->home.load(std::memory_order_relaxed) == s) return s->push(p, next);
    schedule_from(s, p, next);
  }
  void inject(process* p);
  /// schedule()'s other cases: `s` is the calling thread's scheduler (of
  /// any node) or null.
  void schedule_from(scheduler* s, process* p, bool next);
  process* pop_injected() { return injected_.pop(); }
  bool has_injected() const noexcept { return !injected_.empty(); }
  /// Wakes one parked scheduler if any (after work was published).
  /// Wakes one parked scheduler, if any. `only_indefinite`: only one parked
  /// until woken, not one watching (scheduler::park), which looks soon anyway.
  void notify_one(bool only_indefinite = false);
  std::vector<std::unique_ptr<scheduler>>& schedulers() noexcept { return scheds_; }
  /// Licences for idle servers to keep their stacks (see kept_stacks.hpp).
  internal::kept_stacks& kept_stacks() noexcept { return kept_stacks_; }
  std::atomic<unsigned> idle{0};
  bool stopping() const noexcept { return stopping_.load(std::memory_order_acquire); }

  // ---- names (local registry) ----
  bool register_name(const std::string& name, process* p);
  bool unregister_name(std::string_view name);
  void unregister_process(process* p);  // on exit
  std::optional<pid> whereis(std::string_view name);
  std::vector<std::string> registered();
  std::string name_of(process* p);
  /// Distinguishes this node from earlier ones at the same address.
  std::uint64_t generation() const noexcept { return generation_; }

  // ---- blocking pool ----
  void run_blocking_job(std::function<void()> job);

  std::size_t pending_timers() const { return timers_.pending(); }

  /// The I/O reactor (net/reactor.hpp): its thread starts on first use and
  /// stops at shutdown, after every process has been terminated.
  internal::reactor& reactor() noexcept { return *reactor_; }
  /// The distribution state (dist/dist_node.hpp), created on first use;
  /// distribution itself starts with otp::dist::start.
  dist_node& dist();

  // ---- ordered stop ----
  /// Runs `hook` when shutdown begins, before any process is terminated,
  /// on the thread calling shutdown; the last added runs first (so the
  /// applications stop in reverse start order).
  void at_shutdown(std::function<void()> hook);

 private:
  void watchdog_main();
  void blocking_main();
  void terminate_all();

  node& owner_;
  node_options opts_;
  const std::uint64_t generation_;
  otp::logger logger_;
  timer_service timers_;
  std::vector<std::unique_ptr<scheduler>> scheds_;
  internal::kept_stacks kept_stacks_;
  locked_fifo<process, &process::run_next> injected_;
  std::atomic<bool> stopping_{false};
  bool stopped_ = false;

  // process table, sharded to keep spawn/exit off one lock
  struct alignas(64) table_shard {
    std::mutex mu;
    process* head = nullptr;  // intrusive list: no allocation per spawn
    template <class F>
    void for_each(F&& f) {
      for (process* p = head; p; p = p->table_next) f(p);
    }
  };
  static constexpr unsigned table_shards = 16;
  table_shard table_[table_shards];
  std::atomic<std::size_t> live_{0};
  std::atomic<std::size_t> fiber_live_{0};  // live processes that are not foreign threads
  std::atomic<std::uint64_t> serial_{1};
  std::mutex exit_mu_;
  std::condition_variable exit_cv_;

  // names
  std::mutex names_mu_;
  std::unordered_map<std::string, pid> names_;
  // Each named process's key in names_ (stable: the map's nodes do not
  // move), so that a process carries no name field of its own.
  std::unordered_map<const process*, const std::string*> name_keys_;

  // blocking pool
  std::mutex blocking_mu_;
  std::condition_variable blocking_cv_;
  std::deque<std::function<void()>> blocking_jobs_;
  std::vector<std::thread> blocking_threads_;
  bool blocking_stop_ = false;

  std::mutex hooks_mu_;
  std::vector<std::function<void()>> shutdown_hooks_;

  std::unique_ptr<internal::reactor> reactor_;
  std::once_flag dist_once_;
  std::atomic<bool> dist_made_{false};
  std::unique_ptr<dist_node> dist_;  // after reactor_: destroyed first (it owns sockets of the reactor)

  // watchdog
  std::mutex watchdog_mu_;
  std::condition_variable watchdog_cv_;
  bool watchdog_stop_ = false;
  std::thread watchdog_;
};

/// Holds back the scheduler wake-ups (futex wakes) of the deliveries this
/// thread makes while it lives, and makes them when destroyed.
///  - A timer firer declares it before the firing lock, so it outlives it:
///    the woken thread often lands on the waker's CPU and preempts it, and a
///    firer preempted in mid-batch held fire_mu_ until the kernel's next tick
///    (4 ms here) while every other poller skipped: 1-3 % of 100k timers
///    fired milliseconds late.
///  - The reactor holds the wakes of one read's packets: a scheduler woken
///    by the first of them would often run it, park, and be woken again by
///    the next (one futex wake per remote call under load); held, it is
///    woken once and finds the whole batch.
class held_batch {
 public:
  explicit held_batch(node_impl& node) : node_(node) { tctx().held = &wakes_; }
  held_batch(const held_batch&) = delete;
  held_batch& operator=(const held_batch&) = delete;
  ~held_batch();

 private:
  node_impl& node_;
  held_wakes wakes_;
};

/// The node of the calling process, or the default node. Throws if none.
node_impl& current_node();

}  // namespace otp::internal
