#pragma once
// The process control block. A process is this block plus, only while it is
// suspended inside its own code (receive, blocking, yield), a fiber.
//
// Ownership. The block is reference-counted by pids (otp::pid); a live
// process holds one reference on itself, dropped when it has fully exited.
// Fields marked "owner" are touched only by the process itself (its fiber or
// its foreign thread); everything else reaches it through the inbox as a
// signal, as in ERTS — so links, monitors and trap_exit need no locks.

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "otp/pid.hpp"
#include "otp/process.hpp"
#include "otp/receive.hpp"
#include "process/link_set.hpp"
#include "process/mailbox.hpp"
#include "process/monitor_table.hpp"
#include "runtime/block_pool.hpp"
#include "runtime/futex.hpp"
#include "runtime/timer_service.hpp"

namespace otp::internal {

class fiber;
class node_impl;
class scheduler;
struct remote_target;
void forward_to_remote(process& proxy, mail_node* n);
void release_dist_ids(process* p) noexcept;  // from ~process, for a proxy or an exported process

/// Thrown through a process's own stack to unwind it when it must exit
/// (exit/1, an untrappable or unhandled exit signal, node shutdown). Not a
/// std::exception, so `catch (const std::exception&)` in user code lets it
/// pass; user code must not swallow it with `catch (...)` without rethrowing.
struct exit_unwind {
  exit_reason reason;
  /// The process called exit/1 itself (a gen_server then runs terminate,
  /// OTP §4.10); false when a signal kills it (no terminate, §6.2).
  bool voluntary = false;
};

/// Call tags are unique on the node, not just per caller, and come from a
/// per-thread block of them: no per-process counter (8 bytes in every
/// process) and no shared counter (a cache line every caller would fight
/// over). A tag is never 0 (0 marks a request that wants no answer).
inline constexpr std::uint64_t call_tag_block = std::uint64_t{1} << 32;
inline thread_local std::uint64_t t_next_call_tag = 0;
/// The first tag of a block no thread has used (never block 0).
std::uint64_t fresh_call_tags() noexcept;

/// A call a server has taken and not yet answered.
struct held_call {
  pid caller;
  std::uint64_t tag;
};

class process final : public detail::process_base, public detail::pooled {
 public:
  process(node_impl& node, std::unique_ptr<detail::body_base> body, bool foreign);
  ~process();

  /// A process and its body in one block: `build(where)` constructs the
  /// body right after the process (at body_area) and returns it; the
  /// process is constructed once it has. The caller enrolls it in the node.
  template <class Build>
  static process* make_with_body(node_impl& node, std::size_t body_bytes, Build&& build);
  static void* body_area(void* self) noexcept { return static_cast<char*>(self) + sizeof(process); }

  node_impl& node() const noexcept { return *node_; }
  pid self_pid() noexcept {
    detail::retain(this);
    return pid::adopt(this);
  }
  bool foreign() const noexcept { return foreign_; }

  // ---- any thread ----
  /// Pushes a node into the inbox and wakes the process if it waits. Returns
  /// false if the process has exited (the node is not taken).
  bool deliver(mail_node* n);
  bool alive() const noexcept { return !inbox_.is_closed(); }
  /// Set by the process while its queue is long: senders then give up their
  /// slice after sending to it (BEAM's "sender punishment"), so a flooded
  /// receiver gets the CPU instead of its queue growing without bound.
  bool congested() const noexcept { return congested_.load(std::memory_order_relaxed); }
  std::atomic<process_status> status{process_status::runnable};
  // The one-byte fields of the sections below sit together, so that the
  // block has no padding holes (a million idle servers pay for each byte).
  bool started = false;                        // scheduler: has run once
  bool hibernated = false;                     // see compact()
  std::atomic<bool> named{false};              // has had a name (node_impl::register_name)
  bool exported = false;                       // see remote

 private:
  // Three of the owner's flags, in the hole before slices_ended.
  bool reactive_ = false;  // has waited without a stack (a gen_server)
  bool stackless_more_ = false;
  bool receive_timed_out_ = false;

 public:
  /// Bumped (release) each time the process stops running: parks, yields,
  /// blocks or exits. A 0 ms timer it created waits for this to change, so
  /// a send made later in the same slice arrives first (OTP §14.5).
  std::atomic<std::uint32_t> slices_ended{0};  // compared for change only: wrapping is harmless
  void end_slice(process_status next) noexcept {
    status.store(next, std::memory_order_relaxed);
    slices_ended.store(slices_ended.load(std::memory_order_relaxed) + 1, std::memory_order_release);
  }

  // ---- scheduler ----
  fiber* parked = nullptr;  // the fiber holding this process while it is suspended
  std::atomic<scheduler*> home{nullptr};  // where it last ran (woken there when that one is busy)
  process* run_next = nullptr;  // intrusive link in the injection queue
  /// Runs the body on the calling fiber (first activation), or resumes a
  /// body that waits without a stack (later activations), then exits unless
  /// the body asked to wait again (see wait_stackless).
  void activate();

  // ---- owner only ----
  /// Counts one unit of work (a send, a spawn, a receive) and yields when
  /// the budget is used up: BEAM's reductions, so a process that only sends
  /// cannot starve the others on its scheduler.
  /// The budget counts down, so the limit (the node's message_budget) is
  /// read only on refill and no process carries a copy of it.
  unsigned budget_limit() const noexcept;
  void reduce(unsigned cost = 1) {
    if (cost < budget_left_) {
      budget_left_ -= cost;
      return;
    }
    budget_left_ = budget_limit();
    yield();
  }
  /// Runs `job` on the blocking pool; suspends the fiber (not the thread)
  /// until it is done. Exit signals wait until then (like a dirty NIF).
  void run_blocking(std::function<void()> job);
  std::optional<message> receive(detail::match_fn match, const void* ctx, timeout t);
  void link(const pid& other);
  void unlink(const pid& other);
  ref monitor(const pid& target, std::string name);
  bool demonitor(ref r, demonitor_options o);
  void exit_signal(const pid& target, const exit_reason& reason);  // exit/2
  /// spawn_link / spawn_monitor: both sides set before the child first runs.
  void adopt_link(const pid& child_pid, process* child) {
    links_.add(child_pid);
    child->links_.add(self_pid());
  }
  /// `r`: the monitor's ref, made by the caller (empty: a new one).
  ref adopt_monitor(const pid& child_pid, process* child, ref r = {}) {
    if (!r) r = make_ref();
    monitors().held.add(r, monitor_entry{child_pid, {}});
    child->monitors().watchers.add(r, monitor_entry{self_pid(), {}});
    return r;
  }
  /// The body is about to return to the scheduler without exiting: it waits
  /// for mail with no stack (more_work = false) or just yields (true).
  /// The body waits without a stack from its start (process_info then
  /// reports no stack even during its first activation).
  void declare_stackless() noexcept { reactive_ = true; }
  void wait_stackless(bool more_work) noexcept {
    stackless_ = reactive_ = true;
    stackless_more_ = more_work;
  }
  /// Next mail in arrival order (messages, calls, casts), draining the inbox
  /// when the queue is empty; null if there is none. Acts on signals.
  mail_node* next_mail() {
    // Inline when a message is queued and nothing waits in the inbox (a
    // call placed straight in our queue by its sender, process::deliver).
    if (!queue_.head() || inbox_.has_pending()) return drain_would_act() ? next_mail_drained() : nullptr;
    return take_queued();
  }
  /// First queued mail for which `pred` holds, or null; waits for none.
  template <class Pred>
  mail_node* take_first(Pred&& pred) {
    drain();
    mail_node* prev = nullptr;
    for (mail_node* n = queue_.head(); n; prev = n, n = n->next) {
      if (!pred(n)) continue;
      queue_.remove_after(prev);
      count_out(n);
      return n;
    }
    return nullptr;
  }
  /// True if a message, call or cast is queued (after draining the inbox).
  bool has_mail() {
    drain();
    return queue_.head() != nullptr;
  }

  // ---- calls (gen_server) ----
  /// A fresh call tag, now awaited: a reply or a failure for it is kept
  /// from now on (set before the request is sent).
  std::uint64_t begin_call() noexcept {
    std::uint64_t& next = t_next_call_tag;
    if ((next & (call_tag_block - 1)) == 0) next = fresh_call_tags();
    const std::uint64_t tag = next++;
    awaiting_.store(tag, std::memory_order_release);
    return tag;
  }
  void end_call() noexcept { awaiting_.store(0, std::memory_order_release); }
  /// Waits for the reply to call `tag` (begun with begin_call; the caller side of gen_server:call);
  /// null if `t` passed first. A reply already in the inbox when the time is
  /// up is still taken (as gen's final `receive ... after 0`).
  std::unique_ptr<reply_node> await_reply(std::uint64_t tag, timeout t);
  /// Server side: remember a taken call until it is answered, so that the
  /// caller hears of our death (what its monitor does in OTP).
  void hold_call(pid caller, std::uint64_t tag);
  /// The first call held, taken out of the held calls: a server's start
  /// request while init runs (start_core holds it before the server runs,
  /// and no other call is taken before init returns).
  held_call take_first_held() noexcept { return std::exchange(held_first_, held_call{}); }
  const pid& first_held_caller() const noexcept { return held_first_.caller; }
  /// Server side, while a callback handles call (caller, tag): holds it in
  /// the inline slot on the handler's own reference to the caller, taking
  /// no count of its own (a reply from the callback then costs no atomic
  /// operation on the caller's control block). False if the slot is taken
  /// (then hold_call it). End with end_in_flight_call before that reference
  /// goes, also when unwinding.
  bool hold_in_flight_call(const pid& caller, std::uint64_t tag) noexcept {
    if (held_first_.caller) return false;
    held_first_ = held_call{pid::adopt(caller.get()), tag};
    held_first_borrowed_ = true;
    return true;
  }
  /// A call held by hold_in_flight_call and not answered takes a reference
  /// of its own now: it stays held past the callback (a deferred reply).
  void end_in_flight_call() noexcept {
    if (held_first_borrowed_) keep_in_flight_call();
  }
  /// Forgets a held call (answered by us). False if we did not hold it.
  bool release_call(const process* caller, std::uint64_t tag) noexcept {
    if (held_first_.tag != tag || held_first_.caller.get() != caller) return release_other_call(caller, tag);
    if (std::exchange(held_first_borrowed_, false)) held_first_.caller.release();  // not ours to drop
    held_first_ = held_call{};
    return true;
  }
  /// The tag this process waits for in a call now (0 if none). Read by
  /// other threads to drop stale held calls and to detect call cycles.
  std::uint64_t awaiting() const noexcept { return awaiting_.load(std::memory_order_acquire); }
  /// Call-cycle detection: the process this one waits on in a call.
  std::atomic<process*> waiting_on{nullptr};
  /// Releases what an idle process can: spare capacity of its tables (the
  /// part of OTP's hibernate that applies to a process without a heap).
  void compact();

  /// Scheduler, right after parking this process's fiber.
  bool try_block_inbox() noexcept { return inbox_.try_block(); }
  bool set_trap_exit(bool on) noexcept { return std::exchange(trap_exit_, on); }
  bool trapping() const noexcept { return trap_exit_; }
  /// Suspends the fiber until mail arrives (fiber-mode servers).
  void wait_for_mail() {
    if (!inbox_.has_pending()) wait();
  }
  /// Waiting now would switch straight to a process parked on a fiber (the
  /// one in the LIFO slot), with no pass through the scheduler loop.
  bool wait_hands_off() const noexcept;
  /// Gives up the rest of the slice.
  void yield_now() { yield(); }
  /// Bounded mailbox (gen_server's max_queue), set by start_core before
  /// the process can be sent to. Senders count the calls, casts and
  /// messages they queue; the owner counts them out.
  void set_bound(std::uint32_t limit, bool crash_on_overflow);
  std::uint64_t overflows() const noexcept {
    return bounded_.load(std::memory_order_acquire) ? extras_->mailbox_bound->overflows.load(std::memory_order_relaxed) : 0;
  }
  /// Sender side: true if `n` may be queued (marked counted when the
  /// mailbox is bounded); false if the queue is full (then, under the crash
  /// policy, the process is told to exit `overloaded`).
  bool offer(mail_node* n);
  /// Terminates this process with `reason`: closes the inbox, frees the name,
  /// fires links and monitors. Idempotent. Does not unwind the stack.
  void finish(const exit_reason& reason);
  /// A foreign thread's pseudo-process, finished from another thread (node
  /// shutdown, thread exit): also wakes the thread if it waits.
  void force_finish(const exit_reason& reason) {
    finish(reason);
    if (!foreign_) return;  // also called on what a shutdown finds left, not always a thread's
    extras_->thread_wake.store(1, std::memory_order_release);
    futex_wake_one(extras_->thread_wake);
  }
  bool finished() const noexcept { return finished_.load(std::memory_order_acquire); }
  /// Handles pending signals now (used before the body starts).
  void process_signals();
  process_details details();
  /// Distribution (dist/dist_node.hpp): a proxy is the stand-in of a
  /// process or name on another node, whose mail is forwarded to it
  /// (made so right after construction, before its pid is handed out; the
  /// target is dropped only as the proxy dies); `exported` once this pid
  /// has been sent to another node (it is then in the table that maps wire
  /// pids back). Both under the dist id mutex.
  remote_target* remote() const noexcept { return proxy_ ? remote_ : nullptr; }
  void make_proxy(remote_target* t) noexcept {
    proxy_ = true;
    remote_ = t;
  }
  void drop_remote() noexcept { remote_ = nullptr; }
  /// Links in the node's process table shard (guarded by its mutex).
  process* table_prev = nullptr;
  process* table_next = nullptr;

 private:
  // Drains the inbox into queue_, acting on signals; may throw exit_unwind.
  // Nothing new and no congestion flag to bring up to date: nothing to do,
  // inline (half of a call's drains find the inbox empty).
  void drain() {
    if (drain_would_act()) drain_pending();
  }
  bool drain_would_act() const noexcept {
    return inbox_.has_pending() || congested_.load(std::memory_order_relaxed);
  }
  void drain_pending();
  /// drain() without acting on an exit it leaves pending: takes and returns
  /// that exit instead (activate ends such a process without unwinding).
  std::optional<exit_reason> drain_to_exit();
  bool drain_inbox();  // true if a signal was handled (then after_signals)
  void take_handed(mail_node* n);
  mail_node* next_mail_drained();
  mail_node* take_queued() noexcept {  // the queue's head (it has one)
    mail_node* n = queue_.remove_after(nullptr);
    count_out(n);
    return n;
  }
  bool release_other_call(const process* caller, std::uint64_t tag) noexcept;
  void note_queue_length() noexcept;
  void keep_in_flight_call() noexcept;
  void handle_signal(signal_node* s);
  std::optional<exit_reason> after_signals();  // drain_to_exit's rare part
  void die(const exit_reason& reason);  // unwinds (fiber) or finishes (foreign)
  void fail_held_calls(const exit_reason& reason);
  void take_reply(reply_node* r) {
    // Only the reply to the call we wait for now is kept; a late one (its
    // call timed out) or a second reply to the same call is dropped here,
    // before it could ever be seen as a message.
    const std::uint64_t want = awaiting_.load(std::memory_order_relaxed);
    if (want != 0 && r->tag == want && !(extras_ && extras_->reply)) [[likely]]
      ext().reply = r;
    else
      delete r;
  }
  void count_out(mail_node* n) noexcept {
    if (n && n->counted) extras_->mailbox_bound->len.fetch_sub(1, std::memory_order_relaxed);
  }
  void park_stackless();
  void fail_request(mail_node* n, const exit_reason& reason);
  void prune_held_calls();
  void wait();                          // suspends until the inbox is non-empty
  [[gnu::noinline]] void wait_foreign();  // wait() of a foreign thread
  void sleep_foreign();                 // wait() of a foreign thread: on its futex, timed by its own deadline
  void yield();
  void answer_dead(mail_node* n, const exit_reason& reason);
  void append_message(message&& m);
  void pend_exit(exit_reason r);
  message take(mail_node* prev);
  void wake();
  void wait_blocking_job(std::atomic<int>& state);
  void send_signal(const pid& to, mail_kind k, const exit_reason& reason, ref mref = {});
  bool has_link(const pid& p) const noexcept;
  void remove_link(const pid& p) noexcept;

  node_impl* node_;
  // A proxy has no body: the same word holds its remote target instead.
  union {
    // Owned: deleted, or only destroyed when it lives in this process's own
    // block (made by make_with_body: it is then at body_area(this)).
    detail::body_base* body_;
    remote_target* remote_;  // proxy_ only
  };
  void drop_body() noexcept;
  inbox inbox_;
  // owner:
  mail_queue queue_;
  link_set links_;
  struct monitor_sets {
    monitor_table held;      // we monitor them
    monitor_table watchers;  // they monitor us
  };
  // Allocated on first use: one pointer in a process that has none (an
  // idle server), instead of the two tables inline (a quarter of its bytes).
  std::unique_ptr<monitor_sets> monitors_;
  monitor_sets& monitors() {
    if (!monitors_) monitors_ = std::make_unique<monitor_sets>();
    return *monitors_;
  }
  std::optional<monitor_entry> take_held_monitor(ref r) { return monitors_ ? monitors_->held.take(r) : std::nullopt; }
  // What few processes need, allocated on first use, so that a million idle
  // processes do not each carry it. Owner only, except the fields marked
  // below, which other threads read once set before the process is reached.
  struct bound {
    std::uint32_t limit;
    bool crash_on_overflow;
    std::atomic<std::int64_t> len{0};
    std::atomic<std::uint64_t> overflows{0};
  };
  struct extras {
    std::optional<exit_reason> pending_exit;  // set while draining, acted on after
    std::vector<signal_node*> info_requests;  // answered after draining
    std::vector<held_call> held;              // calls a server took and has not answered
    std::size_t prune_held_at = 64;
    wait_entry wait;                          // the timed-wait deadline (see begin_timed_wait)
    bool wait_used = false;
    // Set before the process can be reached (so other threads may read
    // them): a foreign thread's wake-up word (futex), made with the process;
    // a stack of its own, set by the spawner before the first run.
    std::atomic<std::uint32_t> thread_wake{0};
    std::uint32_t stack_size = 0;  // bytes; 0 = pooled (node_impl::own_stack_size)
    // A bounded server's counters, read by senders once bounded_ says so.
    std::unique_ptr<process::bound> mailbox_bound;
    reply_node* reply = nullptr;  // the reply to the awaited call, once drained (owned)
  };
  std::unique_ptr<extras> extras_;
  held_call held_first_{};  // the usual single held call, inline (more go to extras)
  extras& ext() {
    if (!extras_) [[unlikely]] make_extras();
    return *extras_;
  }
  [[gnu::noinline]] void make_extras() { extras_ = std::make_unique<extras>(); }
  std::atomic<std::uint64_t> awaiting_{0};
  void begin_timed_wait(timeout t);
  void end_timed_wait() noexcept;
  unsigned budget_left_;
  std::uint8_t congested_receives_ = 0;  // only its low 4 bits are read
  // one-byte fields, together (see `started`)
  const bool foreign_;
  bool trap_exit_ = false;
  std::atomic<bool> finished_{false};
  bool stackless_ = false;
  bool body_started_ = false;
  bool in_receive_ = false;
  std::atomic<bool> congested_{false};
  bool proxy_ = false;    // see remote()
  bool held_first_borrowed_ = false;  // held_first_.caller is not counted (hold_in_flight_call)
  // Set (release) by start_core before the process is sent to: then
  // extras_->mailbox_bound exists. Atomic because the process table makes a process reachable
  // (processes()) just before that.
  std::atomic<bool> bounded_{false};

 public:
  /// A stack of its own (bytes; 0 = pooled), set before the first run.
  void set_stack_size(std::uint32_t bytes) {
    if (bytes) ext().stack_size = bytes;
  }
  std::uint32_t stack_size() const noexcept { return extras_ ? extras_->stack_size : 0; }

 private:
  friend class scheduler;
  friend class node_impl;
};

template <class Build>
process* process::make_with_body(node_impl& node, std::size_t body_bytes, Build&& build) {
  void* block = block_pool::allocate(sizeof(process) + body_bytes);
  detail::body_base* body = nullptr;
  try {
    body = build(body_area(block));
    auto* p = ::new (block) process(node, nullptr, false);
    p->body_ = body;
    return p;
  } catch (...) {
    if (body) body->~body_base();
    block_pool::deallocate(block);
    throw;
  }
}

/// The process running on this thread, or (on a foreign thread) its
/// pseudo-process, created on first use.
process& current_process();

}  // namespace otp::internal
