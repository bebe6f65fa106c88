// Processes: receive, signals (exit, link, monitor), exit, and the API
// functions of otp/process.hpp.
//
// Signal protocol. Everything one process does to another travels through
// the target's inbox as a signal, and the target acts on it when it drains
// its inbox (in receive, or before its body starts). So per-pair order holds
// for messages and signals alike (ERTS's guarantee, otp-semantics §15.1),
// and a process's links and monitors are only ever touched by itself:
//  - link: A adds B locally, sends `link`; B adds A when it drains. If B is
//    already gone (inbox closed), A gets noproc at once (§8.14).
//  - exit: a process that finishes closes its inbox, then sends `link_exit`
//    to each link and `down` to each monitor holder. An inbox closed before
//    a pending `link`/`monitor` was drained answers it with the exit reason.
//  - a `down` or `link_exit` whose monitor/link the receiver has already
//    removed is dropped: after demonitor/unlink returns, none arrives.

#include "process/process.hpp"

#include <algorithm>

#include "node_impl.hpp"
#include "otp/logger.hpp"
#include "runtime/block_pool.hpp"
#include "runtime/context.hpp"
#include "runtime/fiber.hpp"
#include "runtime/scheduler.hpp"

namespace otp {
namespace detail {
struct info_reply {
  ref tag;
  std::optional<process_details> details;
};
}  // namespace detail

namespace internal {

std::uint64_t fresh_call_tags() noexcept {
  static std::atomic<std::uint64_t> blocks{0};
  // A block's first value has its low bits 0, which begin_call reads as
  // "spent": the block starts one past it.
  return (blocks.fetch_add(1, std::memory_order_relaxed) + 1) * call_tag_block + 1;
}

process::process(node_impl& node, std::unique_ptr<detail::body_base> body, bool foreign)
    : node_(&node), body_(body.release()), budget_left_(node.options().message_budget), foreign_(foreign) {
  serial = node.next_serial();
  if (foreign) ext();  // its wake-up word, there before any thread can wake it
}

void process::drop_body() noexcept {
  if (proxy_) return;  // the word is the remote target (see remote())
  detail::body_base* b = std::exchange(body_, nullptr);
  if (!b) return;
  if (b == body_area(this)) b->~body_base();  // its memory is ours, freed with us
  else delete b;
}

unsigned process::budget_limit() const noexcept { return node_->options().message_budget; }

process::~process() {
  drop_body();
  if (remote() || exported) release_dist_ids(this);
  if (extras_) {
    for (signal_node* s : extras_->info_requests) delete s;
    delete extras_->reply;
  }
}

// ---------------------------------------------------------------- delivery

[[gnu::always_inline]] inline void process::wake() {
  if (foreign_) {
    extras_->thread_wake.store(1, std::memory_order_release);
    futex_wake_one(extras_->thread_wake);
  } else {
    node_->schedule(this, true);
  }
}

// On the sender's thread, which took our wake-up: we wait with an empty
// inbox and touch nothing of ours until woken, so the sender does what our
// drain would (a call and its reply each spare their receiver an exchange
// and a pass over the inbox). Messages go to the private queue, behind
// everything already there and ahead of anything pushed from now on (all
// of it lands in the inbox, drained after): arrival order is kept.
[[gnu::always_inline]] inline void process::take_handed(mail_node* n) {
  if (n->kind != mail_kind::reply) {
    queue_.push_back(n);
    note_queue_length();
  } else if (extras_) {
    take_reply(static_cast<reply_node*>(n));
  } else {
    inbox_.push(n);  // would allocate our extras: left to our own drain
  }
}

bool process::deliver(mail_node* n) {
  if (proxy_ && remote_) [[unlikely]] {
    // A process of another node: process_info answers as for a dead one;
    // everything else travels.
    if (n->kind == mail_kind::info_request) answer_dead(n, exit_reason::noproc());
    else forward_to_remote(*this, n);
    return true;
  }
  switch (inbox_.push(n, is_handed_kind(n->kind))) {
    case inbox::push_result::ok:
      return true;
    case inbox::push_result::handed:
      take_handed(n);
      [[fallthrough]];
    case inbox::push_result::wake:
      wake();
      return true;
    case inbox::push_result::closed:
      return false;
  }
  return false;
}

void process::send_signal(const pid& to, mail_kind k, const exit_reason& reason, ref mref) {
  auto* target = static_cast<process*>(to.get());
  if (!target) return;
  auto* s = new signal_node(k);
  s->from = self_pid();
  s->reason = reason;
  s->mref = mref;
  if (!target->deliver(s)) delete s;
}

// ---------------------------------------------------------------- waiting

namespace {
void park_waiting(fiber* from, void* arg, thread_context& ctx) {
  auto* p = static_cast<process*>(arg);
  p->parked = from;
  // Only now, with the fiber saved, may a producer wake us. If something
  // arrived meanwhile, we are runnable at once.
  if (!p->try_block_inbox()) ctx.sched->push(p, true);
}
void park_yielding(fiber* from, void* arg, thread_context& ctx) {
  auto* p = static_cast<process*>(arg);
  p->parked = from;
  ctx.sched->push(p, false, true);
}
struct blocking_park {
  process* p;
  std::atomic<int>* state;
};
void park_blocking(fiber* from, void* arg, thread_context& ctx) {
  auto* b = static_cast<blocking_park*>(arg);
  b->p->parked = from;
  int expected = 0;  // 0 running, 1 parked, 2 done
  if (!b->state->compare_exchange_strong(expected, 1, std::memory_order_acq_rel)) ctx.sched->push(b->p, true);
}
}  // namespace

void process::wait() {
  end_slice(process_status::waiting);
  if (foreign_) [[unlikely]]
    return wait_foreign();
  // The scheduler running us is `home` (begin_slice): its thread's
  // context without a thread-local lookup.
  scheduler* s = home.load(std::memory_order_relaxed);
  thread_context& ctx = s->context();
  fiber* to;
  if (process* next = s->take_next_parked()) to = std::exchange(next->parked, nullptr);
  else to = s->take_fiber();
  fiber::switch_to(ctx, to, &park_waiting, this);
}

// `home` is the scheduler running us (begin_slice sets it): no thread-local lookup.
bool process::wait_hands_off() const noexcept {
  return !foreign_ && home.load(std::memory_order_relaxed)->next_is_parked();
}

void process::wait_foreign() {
  if (!inbox_.try_block()) return;
  // A foreign thread waiting for a reply usually gets it within a few µs;
  // sleeping on the futex at once would add a cross-CPU wake-up (tens of
  // µs on these VMs) to every call from main(). Spin briefly first.
  constexpr int spin_rounds = 4096;
  for (int i = 0; i < spin_rounds; ++i) {
    if (extras_->thread_wake.load(std::memory_order_acquire) != 0) break;
#if defined(__x86_64__)
    __builtin_ia32_pause();
#endif
  }
  sleep_foreign();
}

// A foreign thread in a timed wait sleeps only until its deadline and then
// fires what is due itself, its own timeout included: its timeouts do not
// depend on a scheduler being free to fire them (all may be in long slices).
void process::sleep_foreign() {
  timer_service& timers = node_->timers();
  while (extras_->thread_wake.exchange(0, std::memory_order_acquire) == 0) {
    const std::uint64_t due = extras_ && !timers.manual() ? extras_->wait.wait_deadline.load(std::memory_order_relaxed)
                                                          : UINT64_MAX;
    if (due == UINT64_MAX) {
      futex_wait(extras_->thread_wake, 0);
      continue;
    }
    const std::uint64_t now = timers.now_us();
    if (now < due) {
      futex_wait_for(extras_->thread_wake, 0, std::chrono::microseconds(due - now));
      continue;
    }
    timers.poll();
    // Another thread may be firing it right now: look again shortly.
    futex_wait_for(extras_->thread_wake, 0, std::chrono::microseconds(timer_service::tick_us));
  }
}

void process::yield() {
  if (foreign_) return;
  end_slice(process_status::runnable);
  fiber::switch_to(tctx().sched->take_fiber(), &park_yielding, this);
}

void process::park_stackless() {
  // Past try_block another thread may run us at once: `this` is not touched
  // after it succeeds.
  if (stackless_more_) {
    end_slice(process_status::runnable);
    tctx().sched->push(this, false, true);
    return;
  }
  end_slice(process_status::waiting);
  if (!inbox_.try_block()) tctx().sched->push(this, false);
}

void process::run_blocking(std::function<void()> job) {
  if (foreign_) {  // a foreign thread may block itself
    job();
    return;
  }
  std::atomic<int> state{0};
  node_impl* n = node_;
  process* self = this;
  n->run_blocking_job([job = std::move(job), &state, n, self]() mutable {
    job();
    if (state.exchange(2, std::memory_order_acq_rel) == 1) n->schedule(self, false);
  });
  end_slice(process_status::waiting);
  blocking_park b{this, &state};
  fiber::switch_to(tctx().sched->take_fiber(), &park_blocking, &b);
}

// ---------------------------------------------------------------- receive

void process::append_message(message&& m) { queue_.push_back(new message_node(std::move(m))); }

void process::pend_exit(exit_reason r) {
  if (!ext().pending_exit) extras_->pending_exit = std::move(r);
}

message process::take(mail_node* prev) {
  auto* n = static_cast<message_node*>(queue_.remove_after(prev));
  count_out(n);
  message m = std::move(n->msg);
  delete n;
  return m;
}

void process::drain_pending() {
  if (drain_inbox()) [[unlikely]]
    if (auto why = after_signals()) die(*why);
}

std::optional<exit_reason> process::drain_to_exit() {
  return drain_inbox() ? after_signals() : std::nullopt;
}

// The common part of every receive, kept apart from the optional<exit_reason>
// that only signals need: returning that from here cost a call's two
// drains a fifth of their instructions.
bool process::drain_inbox() {
  bool signalled = false;
  bool queued = false;
  for (mail_node* n = inbox_.take_all(); n;) {
    mail_node* next = n->next;
    if (is_message_kind(n->kind)) {
      queue_.push_back(n);
      queued = true;
    } else if (n->kind == mail_kind::reply) {
      take_reply(static_cast<reply_node*>(n));
    } else {
      handle_signal(static_cast<signal_node*>(n));
      signalled = true;
    }
    n = next;
  }
  // The queue only grows here and in take_handed: unless something was
  // queued, a flag that is clear stays right.
  if (queued || congested_.load(std::memory_order_relaxed)) note_queue_length();
  // Only a signal handled here leaves work (an info request, an exit).
  return signalled;
}

// Past this many queued messages, senders are slowed (see congested()).
void process::note_queue_length() noexcept {
  constexpr std::size_t congestion_threshold = 4096;
  const bool long_queue = queue_.size() > congestion_threshold;
  if (long_queue != congested_.load(std::memory_order_relaxed)) congested_.store(long_queue, std::memory_order_relaxed);
}

// Out of line, as handle_signal is: the draining loop above runs once per
// receive that waits, and its frame stays small without them.
[[gnu::noinline]] std::optional<exit_reason> process::after_signals() {
  if (!extras_) return std::nullopt;
  if (!extras_->info_requests.empty()) {
    auto requests = std::move(extras_->info_requests);
    extras_->info_requests.clear();
    for (signal_node* s : requests) {
      if (auto* asker = static_cast<process*>(s->from.get())) {
        auto* reply = new message_node(message(detail::info_reply{s->mref, details()}));
        if (!asker->deliver(reply)) delete reply;
      }
      delete s;
    }
  }
  if (!extras_->pending_exit) return std::nullopt;
  std::optional<exit_reason> why = std::move(extras_->pending_exit);
  extras_->pending_exit.reset();
  return why;
}

[[gnu::noinline]] void process::handle_signal(signal_node* s) {
  std::unique_ptr<signal_node> owned(s);
  switch (s->kind) {
    case mail_kind::exit:  // exit/2
      if (s->reason.is_kill()) pend_exit(exit_reason::killed());
      else if (trap_exit_) append_message(exit_msg{std::move(s->from), std::move(s->reason)});
      else if (!s->reason.is_normal()) pend_exit(std::move(s->reason));
      else if (s->from.get() == this) pend_exit(exit_reason::normal());  // §8.7
      break;
    case mail_kind::link_exit:
      if (!has_link(s->from)) break;  // unlinked meanwhile: no signal after unlink
      remove_link(s->from);
      if (trap_exit_) append_message(exit_msg{std::move(s->from), std::move(s->reason)});
      else if (!s->reason.is_normal()) pend_exit(std::move(s->reason));
      break;
    case mail_kind::terminate:
      pend_exit(std::move(s->reason));
      break;
    case mail_kind::call_abandoned:  // only meaningful to a proxy (proxy.cpp)
      break;
    case mail_kind::link:
      if (!has_link(s->from)) links_.add(std::move(s->from));
      break;
    case mail_kind::unlink:
      remove_link(s->from);
      break;
    case mail_kind::monitor:
      monitors().watchers.add(s->mref, monitor_entry{std::move(s->from), {}});
      break;
    case mail_kind::demonitor:
      if (monitors_) monitors_->watchers.take(s->mref);
      break;
    case mail_kind::down: {
      auto held = take_held_monitor(s->mref);
      if (!held) break;  // demonitored: dropped
      append_message(down_msg{s->mref, std::move(s->from), std::move(held->name), std::move(s->reason)});
      break;
    }
    case mail_kind::wait_timeout:
      // A deadline equal to the current one is ours (or an earlier wait's
      // with the same deadline, which has passed for this one too).
      if (s->seq == extras_->wait.wait_deadline.load(std::memory_order_relaxed)) receive_timed_out_ = true;
      break;
    case mail_kind::info_request:
      ext().info_requests.push_back(owned.release());
      break;
    default:
      break;
  }
}

mail_node* process::next_mail_drained() {
  in_receive_ = true;  // process_info answered now sees a server waiting for mail
  drain();
  in_receive_ = false;
  return queue_.head() ? take_queued() : nullptr;
}

void process::begin_timed_wait(timeout t) {
  timer_service& timers = node_->timers();
  const std::uint64_t due = timers.deadline_after(t);
  extras& x = ext();
  if (!x.wait_used) {
    x.wait_used = true;
    x.wait.owner = this;
  }
  x.wait.wait_deadline.store(due, std::memory_order_seq_cst);
  if (x.wait.wait_armed.load(std::memory_order_seq_cst) > due) {
    x.wait.wait_armed.store(due, std::memory_order_seq_cst);
    timers.arm_wait(x.wait, due, serial);
  }
  // Counted only now that the deadline is in the wheel: a test that sees
  // the count and advances the manual clock must find it there.
  timers.wait_started(x.wait);
}

void process::end_timed_wait() noexcept {
  extras_->wait.wait_deadline.store(UINT64_MAX, std::memory_order_release);
  node_->timers().wait_ended(extras_->wait);
}

std::unique_ptr<reply_node> process::await_reply(std::uint64_t tag, timeout t) {
  receive_timed_out_ = false;
  struct await_guard {
    process* self;
    bool timed = false;
    ~await_guard() {
      self->end_call();
      self->in_receive_ = false;
      if (timed) self->end_timed_wait();
    }
  } guard{this};
  in_receive_ = true;
  for (;;) {
    drain();
    if (extras_ && extras_->reply) {
      status.store(process_status::running, std::memory_order_relaxed);
      return std::unique_ptr<reply_node>(std::exchange(extras_->reply, nullptr));
    }
    if (receive_timed_out_ || t == timeout::zero()) return nullptr;
    if (t != infinity && !guard.timed) {
      guard.timed = true;
      begin_timed_wait(t);
    }
    if (!inbox_.has_pending()) wait();
    if (finished_.load(std::memory_order_acquire)) throw exit_error(exit_reason::shutdown());
  }
}

void process::keep_in_flight_call() noexcept {
  held_first_borrowed_ = false;
  detail::retain(held_first_.caller.get());
}

// release_call past the inline slot: calls held in the extras.
bool process::release_other_call(const process* caller, std::uint64_t tag) noexcept {
  if (!extras_) return false;
  auto& held = extras_->held;
  for (auto it = held.rbegin(); it != held.rend(); ++it) {
    if (it->tag == tag && it->caller.get() == caller) {
      *it = std::move(held.back());
      held.pop_back();
      return true;
    }
  }
  return false;
}

// Calls answered by a third process stay in held_ (only the caller learns of
// the reply); they are dropped once their caller no longer waits for them.
void process::prune_held_calls() {
  auto& held = extras_->held;
  std::erase_if(held, [](const held_call& h) {
    auto* c = static_cast<process*>(h.caller.get());
    return !c->alive() || c->awaiting() != h.tag;
  });
  extras_->prune_held_at = std::max<std::size_t>(64, held.size() * 2);
}

void process::hold_call(pid caller, std::uint64_t tag) {
  if (!held_first_.caller) {
    held_first_ = held_call{std::move(caller), tag};
    return;
  }
  extras& x = ext();
  if (x.held.size() >= x.prune_held_at) prune_held_calls();
  x.held.push_back(held_call{std::move(caller), tag});
}

namespace {
void send_failure(const pid& caller, std::uint64_t tag, const exit_reason& reason) {
  auto* c = static_cast<process*>(caller.get());
  // Tag 0: a request that wants no answer (gen_server:stop's terminate).
  if (!c || tag == 0 || c->awaiting() != tag) return;  // it no longer waits: nothing to tell
  auto* r = new reply_node(tag, message());
  r->failed = true;
  r->reason = reason;
  if (!c->deliver(r)) delete r;
}
}  // namespace

void process::fail_request(mail_node* n, const exit_reason& reason) {
  if (n->kind != mail_kind::call) return;
  auto* r = static_cast<request_node*>(n);
  send_failure(r->caller, r->tag, reason);
}

void process::fail_held_calls(const exit_reason& reason) {
  if (held_first_.caller) send_failure(held_first_.caller, held_first_.tag, reason);
  // Still borrowed only if the handler's frame will never unwind (its
  // fiber is abandoned): its reference is never dropped, so this drop
  // balances it.
  held_first_borrowed_ = false;
  held_first_ = held_call{};
  if (!extras_) return;
  for (const held_call& h : extras_->held) send_failure(h.caller, h.tag, reason);
  extras_->held.clear();
}

void process::set_bound(std::uint32_t limit, bool crash_on_overflow) {
  if (limit == 0) return;
  ext().mailbox_bound = std::make_unique<bound>(limit, crash_on_overflow);
  bounded_.store(true, std::memory_order_release);
}

bool process::offer(mail_node* n) {
  if (!bounded_.load(std::memory_order_acquire)) return true;
  bound* b = extras_->mailbox_bound.get();
  if (b->len.fetch_add(1, std::memory_order_relaxed) < b->limit) {
    n->counted = true;
    return true;
  }
  b->len.fetch_sub(1, std::memory_order_relaxed);
  b->overflows.fetch_add(1, std::memory_order_relaxed);
  if (b->crash_on_overflow) {
    auto* s = new signal_node(mail_kind::terminate);
    s->reason = exit_reason::other("overloaded");
    if (!deliver(s)) delete s;
  }
  return false;
}

void process::compact() {
  links_.compact();
  if (extras_) {
    extras_->held.shrink_to_fit();
    extras_->info_requests.shrink_to_fit();
  }
  if (!monitors_) return;
  if (monitors_->held.size() + monitors_->watchers.size() == 0) {
    monitors_.reset();
    return;
  }
  monitors_->held.compact();
  monitors_->watchers.compact();
}

void process::process_signals() { drain(); }

std::optional<message> process::receive(detail::match_fn match, const void* ctx, timeout t) {
  mail_node* prev = nullptr;
  for (mail_node* n = queue_.head(); n; prev = n, n = n->next)
    if (match(ctx, static_cast<message_node*>(n)->msg)) return take(prev);

  receive_timed_out_ = false;
  // A finite timeout uses the process's lazily re-armed wait deadline, as a
  // call does (begin_timed_wait): no timer to start and cancel per receive.
  struct receive_guard {
    process* self;
    bool timed = false;
    ~receive_guard() {
      self->in_receive_ = false;
      if (timed) self->end_timed_wait();
    }
  } guard{this};
  in_receive_ = true;  // an info request answered while we wait says `waiting`

  for (;;) {
    drain();
    for (mail_node* n = prev ? prev->next : queue_.head(); n; prev = n, n = n->next) {
      if (!match(ctx, static_cast<message_node*>(n)->msg)) continue;
      message m = take(prev);
      // A congested process pays one reduction per 16 messages (its senders
      // are the ones that yield), so a flood cannot outgrow it, yet it still
      // lets others run now and then.
      if (!congested_.load(std::memory_order_relaxed) || (++congested_receives_ & 15) == 0) reduce();
      status.store(process_status::running, std::memory_order_relaxed);
      return m;
    }
    if (receive_timed_out_ || t == timeout::zero()) return std::nullopt;
    if (t != infinity && !guard.timed) {
      guard.timed = true;
      begin_timed_wait(t);
    }
    if (!inbox_.has_pending()) wait();
    status.store(process_status::running, std::memory_order_relaxed);
    if (finished_.load(std::memory_order_acquire)) throw exit_error(exit_reason::shutdown());
  }
}

// ---------------------------------------------------------------- links, monitors

bool process::has_link(const pid& p) const noexcept { return links_.contains(p); }

void process::remove_link(const pid& p) noexcept { links_.remove(p); }

void process::link(const pid& other) {
  if (!other || other.get() == this || has_link(other)) return;
  links_.add(other);
  auto* target = static_cast<process*>(other.get());
  auto* s = new signal_node(mail_kind::link);
  s->from = self_pid();
  if (target->deliver(s)) return;
  delete s;
  remove_link(other);
  if (trap_exit_) append_message(exit_msg{other, exit_reason::noproc()});
  else throw exit_error(exit_reason::noproc());  // §8.14
}

void process::unlink(const pid& other) {
  if (!other || !has_link(other)) return;
  remove_link(other);
  send_signal(other, mail_kind::unlink, {});
}

ref process::monitor(const pid& target, std::string name) {
  ref r = make_ref();
  auto* t = static_cast<process*>(target.get());
  if (t) {
    monitors().held.add(r, monitor_entry{target, name});
    auto* s = new signal_node(mail_kind::monitor);
    s->from = self_pid();
    s->mref = r;
    if (t->deliver(s)) return r;
    delete s;
    monitors_->held.take(r);
  }
  append_message(down_msg{r, target, std::move(name), exit_reason::noproc()});  // §8.10, §8.11
  return r;
}

bool process::demonitor(ref r, demonitor_options o) {
  auto held = take_held_monitor(r);
  const bool active = held.has_value();
  if (active) send_signal(held->other, mail_kind::demonitor, {}, r);
  if (o.flush) {
    mail_node* prev = nullptr;
    for (mail_node* n = queue_.head(); n;) {
      auto* d = static_cast<message_node*>(n)->msg.get_if<down_msg>();
      if (d && d->mref == r) {
        delete queue_.remove_after(prev);
        n = prev ? prev->next : queue_.head();
      } else {
        prev = n;
        n = n->next;
      }
    }
  }
  return o.info ? active : true;
}

void process::exit_signal(const pid& target, const exit_reason& reason) {
  if (!target) return;
  send_signal(target, mail_kind::exit, reason);
  if (target.get() == this) drain();  // a signal to oneself takes effect now
}

// ---------------------------------------------------------------- exit

void process::die(const exit_reason& why) {
  exit_reason reason = why;  // `why` may live in pending_exit
  if (extras_) extras_->pending_exit.reset();
  if (!foreign_) throw exit_unwind{std::move(reason)};
  finish(reason);
  throw exit_error(reason);
}

void process::answer_dead(mail_node* n, const exit_reason& reason) {
  std::unique_ptr<mail_node> owned(n);
  if (n->kind == mail_kind::call) fail_request(n, reason);
  if (is_message_kind(n->kind) || n->kind == mail_kind::reply) return;
  auto* s = static_cast<signal_node*>(n);
  switch (s->kind) {
    case mail_kind::link:  // linked just before we died: they get our exit
      send_signal(s->from, mail_kind::link_exit, reason);
      break;
    case mail_kind::monitor:
      send_signal(s->from, mail_kind::down, reason, s->mref);
      break;
    case mail_kind::info_request:
      if (auto* asker = static_cast<process*>(s->from.get())) {
        auto* reply = new message_node(message(detail::info_reply{s->mref, std::nullopt}));
        if (!asker->deliver(reply)) delete reply;
      }
      break;
    default:
      break;
  }
}

void process::finish(const exit_reason& reason) {
  if (finished_.exchange(true, std::memory_order_acq_rel)) return;
  end_slice(process_status::exiting);
  mail_node* rest = inbox_.close();  // from now on sends are dropped
  node_->process_exiting(this);      // not counted as alive once its DOWNs can be seen
  node_->unregister_process(this);
  for (mail_node* n = rest; n;) {
    mail_node* next = n->next;
    answer_dead(n, reason);
    n = next;
  }
  if (extras_) {
    for (signal_node* s : extras_->info_requests) answer_dead(s, reason);
    extras_->info_requests.clear();
  }
  for (mail_node* n = queue_.head(); n; n = n->next) fail_request(n, reason);
  queue_.clear();
  fail_held_calls(reason);
  if (extras_ && extras_->wait_used) node_->timers().disarm_wait(extras_->wait, serial);
  // The reason goes out as it is: a process killed by exit(P, kill) already
  // has `killed`, while one that called exit(kill) itself sends an ordinary,
  // trappable `kill` to its links (ERTS behaves the same way).
  links_.for_each([&](const pid& l) { send_signal(l, mail_kind::link_exit, reason); });
  if (monitors_) {
    monitors_->watchers.for_each([&](ref r, const monitor_entry& m) { send_signal(m.other, mail_kind::down, reason, r); });
    monitors_->held.for_each([&](ref r, const monitor_entry& m) { send_signal(m.other, mail_kind::demonitor, {}, r); });
  }
  links_.clear();
  monitors_.reset();
  node_->process_exited(this);  // drops the process's reference on itself: last use of `this`
}

void process::activate() {
  exit_reason reason;
  try {
    stackless_ = false;
    // An exit signal that arrived while the process had nothing on a stack
    // (killed before it ran, or while a stackless server was idle) ends it
    // here, without throwing: unwinding would cost more than the exit does
    // (it was most of a supervised restart's latency).
    // A started process woken here was waiting for mail (as next_mail's
    // drain, process_info answered now says `waiting`).
    in_receive_ = body_started_;
    std::optional<exit_reason> why = drain_to_exit();
    in_receive_ = false;
    if (why) {
      reason = std::move(*why);
    } else {
      if (!body_started_) {
        body_started_ = true;
        body_->run();
      } else {
        body_->resume();
      }
      if (stackless_) {
        park_stackless();
        return;
      }
    }
  } catch (exit_unwind& e) {
    reason = std::move(e.reason);
  } catch (const exit_error& e) {
    // An exit raised as an exception (a failed call, Task.await's timeout)
    // that nobody caught: the process exits with its reason, as an uncaught
    // exit/1 does in Erlang (no error report: it is an exit, not an error).
    reason = e.reason();
  } catch (...) {
    reason = exit_reason::from_exception(std::current_exception());
    node_->logger().log(log_level::error, "Error in process " + self_pid().to_string() + " with exit value: " + reason.to_string());
  }
  drop_body();  // the body's captures die before the exit signals go out
  finish(reason);
}

process_details process::details() {
  process_details d;
  d.message_queue_len = queue_.size();
  d.links = links_.to_vector();
  if (monitors_) {
    monitors_->held.for_each([&](ref r, const monitor_entry&) { d.monitors.push_back(r); });
    monitors_->watchers.for_each([&](ref, const monitor_entry& m) { d.monitored_by.push_back(m.other); });
  }
  d.trap_exit = trap_exit_;
  d.status = in_receive_ ? process_status::waiting : status.load(std::memory_order_relaxed);
  const bool has_stack = started && !foreign_ && (!reactive_ || parked);
  d.memory = sizeof(process) + queue_.size() * sizeof(message_node) + (has_stack ? node_->options().stack_size : 0);
  d.hibernated = hibernated;
  d.registered_name = node_->name_of(this);
  return d;
}

// ---------------------------------------------------------------- current process

namespace {
// A foreign thread's pseudo-process ends with the thread (reason normal),
// unless its node already finished it at shutdown.
struct foreign_binding {
  pid proc;
  std::uint64_t node_generation = 0;
  ~foreign_binding() {
    auto* p = static_cast<process*>(proc.get());
    if (p && !p->finished()) p->finish(exit_reason::normal());
  }
};
foreign_binding& foreign_tls() {
  static thread_local foreign_binding b;
  return b;
}
}  // namespace

process& current_process() {
  if (process* p = tctx().proc) return *p;
  node_impl& n = current_node();
  foreign_binding& b = foreign_tls();
  auto* p = static_cast<process*>(b.proc.get());
  if (!p || b.node_generation != n.generation() || p->finished()) {
    process* fresh = n.create_process(nullptr, true);
    fresh->started = true;
    fresh->status.store(process_status::running, std::memory_order_relaxed);
    b.proc = fresh->self_pid();
    b.node_generation = n.generation();
    p = fresh;
  }
  return *p;
}

}  // namespace internal

// ==================================================================== API

namespace detail {

void* pooled::operator new(std::size_t n) { return internal::block_pool::allocate(n); }
void pooled::operator delete(void* p) noexcept { internal::block_pool::deallocate(p); }

pid spawn_core(std::unique_ptr<body_base> body, const spawn_options& opts, spawn_mode mode, ref* mref) {
  using namespace internal;
  process& parent = current_process();
  node_impl& n = parent.node();
  const std::uint32_t stack = n.own_stack_size(opts.stack_size);
  process* child = n.create_process(std::move(body), false);
  child->set_stack_size(stack);
  child->set_trap_exit(opts.trap_exit);
  pid child_pid = child->self_pid();
  if (!opts.name.empty() && !n.register_name(opts.name, child)) {
    child->finish(exit_reason::normal());
    throw badarg("spawn: name already registered: " + opts.name);
  }
  // The child has not run yet, so its side of the link/monitor is set here
  // directly: spawn_link and spawn_monitor are atomic, as in Erlang.
  if (mode == spawn_mode::link || mode == spawn_mode::link_monitor) parent.adopt_link(child_pid, child);
  if (mode == spawn_mode::monitor || mode == spawn_mode::link_monitor)
    *mref = parent.adopt_monitor(child_pid, child, *mref);
  n.schedule(child, false);
  parent.reduce();
  return child_pid;
}

void send_core(const pid& to, message&& m) {
  auto* target = static_cast<internal::process*>(to.get());
  if (!target) return;
  auto* n = new internal::message_node(std::move(m));
  // dead (or a full bounded mailbox): dropped, as in Erlang
  if (!target->offer(n) || !target->deliver(n)) delete n;
  // Sender punishment: after sending to a congested process, give up the slice.
  if (internal::process* me = internal::tctx().proc) me->reduce(target->congested() ? me->budget_limit() : 1);
}

void send_core(std::string_view name, message&& m) {
  auto p = internal::current_node().whereis(name);
  if (!p) throw badarg("send: no process registered as " + std::string(name));
  send_core(*p, std::move(m));
}

std::optional<message> receive_core(match_fn match, const void* ctx, timeout t) {
  return internal::current_process().receive(match, ctx, t);
}

void run_blocking(std::function<void()> job) { internal::current_process().run_blocking(std::move(job)); }

}  // namespace detail

pid self() { return internal::current_process().self_pid(); }

void link(const pid& p) { internal::current_process().link(p); }
void unlink(const pid& p) { internal::current_process().unlink(p); }

ref monitor(const pid& p) { return internal::current_process().monitor(p, {}); }

ref monitor(std::string_view name) {
  auto p = internal::current_node().whereis(name);
  return internal::current_process().monitor(p ? *p : pid{}, std::string(name));
}

bool demonitor(const ref& r, demonitor_options opts) { return internal::current_process().demonitor(r, opts); }

void exit(const pid& p, const exit_reason& reason) { internal::current_process().exit_signal(p, reason); }

void exit(const exit_reason& reason) {
  internal::process& p = internal::current_process();
  if (!p.foreign()) throw internal::exit_unwind{reason, true};
  p.finish(reason);
  throw exit_error(reason);
}

bool trap_exit(bool on) { return internal::current_process().set_trap_exit(on); }

void register_name(std::string name, const pid& p) {
  auto* target = static_cast<internal::process*>(p.get());
  if (!target || !internal::current_node().register_name(name, target))
    throw badarg("register: cannot register " + name);
}

bool unregister(std::string_view name) { return internal::current_node().unregister_name(name); }

std::optional<pid> whereis(std::string_view name) { return internal::current_node().whereis(name); }

std::vector<std::string> registered() { return internal::current_node().registered(); }

bool is_alive(const pid& p) {
  auto* target = static_cast<internal::process*>(p.get());
  return target && target->alive();
}

std::optional<process_details> process_info(const pid& p) {
  auto* target = static_cast<internal::process*>(p.get());
  if (!target) return std::nullopt;
  internal::process& me = internal::current_process();
  if (target == &me) {
    me.process_signals();  // count what has arrived, as Erlang does
    return me.details();
  }
  ref tag = make_ref();
  auto* s = new internal::signal_node(internal::mail_kind::info_request);
  s->from = me.self_pid();
  s->mref = tag;
  if (!target->deliver(s)) {
    delete s;
    return std::nullopt;
  }
  auto reply = receive_if<detail::info_reply>([tag](const detail::info_reply& r) { return r.tag == tag; });
  return std::move(reply->details);
}

}  // namespace otp
