#include "runtime/scheduler.hpp"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <cstring>
#include <memory>

#include "node_impl.hpp"
#include "process/process.hpp"
#include "runtime/block_pool.hpp"
#include "runtime/context.hpp"
#include "runtime/fiber.hpp"
#include "runtime/futex.hpp"

namespace otp::internal {

namespace {
// How often the injection queue is checked before the local queue, so that
// injected work is not starved by a busy local queue (Go uses 61 too).
constexpr std::uint32_t global_check_interval = 61;
// Polls of all queues (and of due timers) before parking: cross-CPU futex
// wake-ups cost tens of microseconds on virtual machines, so a short spin
// pays for itself. (2,048 rounds, ~50 µs, did not help timer lateness and
// made single-scheduler runs worse: kept short.)
constexpr unsigned spin_rounds = 64;
// Another scheduler's queue is stolen from only when it holds more than
// this, or when that scheduler has been in one slice for a whole watch
// period. Processes that talk to each other (clients calling a server, a
// parent and the children it spawns and monitors) keep a queue on one core,
// and taking some to the other made every message cross cores:
// fan_in_calls_16 ran at 0.7M calls/s on two schedulers against 5.4M on
// one, spawn_exit at 1.6 µs against 0.44. Stealing only beyond 128 queued
// processes (or from a scheduler stuck in a slice, which is what parallel
// computation looks like) gave 5.2M calls/s and 0.4-0.8 µs; 32 was not
// enough for 1000 clients (fan_in_calls_1000 fell by 15 %).
constexpr std::uint32_t steal_threshold = 128;
constexpr std::chrono::microseconds watch_period{1000};
}  // namespace

// ---------------------------------------------------------------- stack overflow
//
// A process that overflows its stack hits the guard page below it. The
// SIGSEGV handler runs on an alternate signal stack, names the process in
// the report and lets the default action end the program: memory is never
// corrupted silently, and the report says whose stack it was.
namespace {
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
void write_str(const char* s) { (void)!::write(2, s, std::strlen(s)); }

void write_u64(std::uint64_t v) {
  char buf[24];
  int i = 23;
  buf[i] = 0;
  do {
    buf[--i] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v && i > 0);
  write_str(buf + i);
}

struct sigaction previous_segv;

void on_segv(int sig, siginfo_t* info, void* uctx) {
  fiber* f = fiber::current();
  if (f && f->in_guard_page(info->si_addr)) {
    write_str("otp: stack overflow in process <0.");
    process* p = tctx().proc;
    write_u64(p ? p->serial : 0);
    write_str(".0>: it hit the guard page below its stack (raise spawn_options::stack_size or node_options::stack_size)\n");
  }
  sigaction(SIGSEGV, &previous_segv, nullptr);  // then fault again under the previous handler
  (void)sig;
  (void)uctx;
}

#endif

void install_overflow_handler() {
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
  static bool installed = [] {
    struct sigaction sa {};
    sa.sa_sigaction = &on_segv;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSEGV, &sa, &previous_segv);
    return true;
  }();
  (void)installed;
#endif
}

// An alternate signal stack for this thread, so the handler can run when
// the fiber's stack is exhausted.
struct alt_stack {
  std::unique_ptr<char[]> mem;
  alt_stack() : mem(new char[64 * 1024]) {
    stack_t st{};
    st.ss_sp = mem.get();
    st.ss_size = 64 * 1024;
    sigaltstack(&st, nullptr);
  }
  ~alt_stack() {
    stack_t st{};
    st.ss_flags = SS_DISABLE;
    sigaltstack(&st, nullptr);
  }
};
}  // namespace

scheduler::scheduler(node_impl& node, unsigned index)
    : node_(node), index_(index), rng_(0x9E3779B97F4A7C15ull * (index + 1)) {}

scheduler::~scheduler() = default;

void scheduler::start() { thread_ = std::thread([this] { thread_main(); }); }

void scheduler::join() {
  if (thread_.joinable()) thread_.join();
}

void scheduler::thread_main() {
  // Named as the BEAM names its threads (1_scheduler, ...), for top -H, perf and gdb.
  pthread_setname_np(pthread_self(), ("otp_sched_" + std::to_string(index_)).c_str());
  block_pool::thread_scope pool;
  install_overflow_handler();
  alt_stack signal_stack;
  ctx_ = &tctx();
  ctx_->sched = this;
  thread_fiber_ = fiber::adopt_thread();
  fiber::switch_to(take_fiber(), nullptr, nullptr);
  // Back on the thread's own stack: the loop has quit and every pooled fiber
  // of this thread has ended.
  delete thread_fiber_;
  tctx().current_fiber = nullptr;
  tctx().sched = nullptr;
}

fiber* scheduler::take_fiber() {
  if (fiber* f = pool_) {
    pool_ = f->pool_next;
    return f;
  }
  return new fiber(node_.options().stack_size, &scheduler::loop_entry, nullptr);
}


fiber* scheduler::loop_entry(void*) {
  run_loop();
  // Quitting: end this fiber, continuing with the next pooled one so that it
  // ends too, and finally with the thread's own stack.
  scheduler* s = tctx().sched;
  if (fiber* f = s->pool_) {
    s->pool_ = f->pool_next;
    return f;
  }
  return s->thread_fiber_;
}

void scheduler::run_loop() {
  thread_context* ctx = &tctx();
  for (;;) {
    scheduler* s = ctx->sched;
    if (s->quit_.load(std::memory_order_acquire)) return s->flush_deferred();
    process* p = s->find_work();
    if (p) ctx = &s->run(p);  // this fiber may have changed threads
  }
}

void scheduler::push_queued(process* p, bool next, bool yielded) {
  if (next) {
    process* prev = std::exchange(next_, p);
    if (!prev) return;
    p = prev;  // the displaced one goes to the queue
  }
  // Once anything waits in the injection queue, runnable processes queue
  // behind it: otherwise the (bounded) local queue would keep cycling its
  // own 256 processes while the overflow, polled only every 61 ticks,
  // starves (e.g. a receiver that yielded among 1000 busy senders).
  if (node_.has_injected() || !queue_.push(p)) {
    node_.inject(p);
    return;
  }
  // Wake an idle scheduler only when there is more here than this one will
  // get to at once: waking another core for a single process would split
  // communicating processes across cores (a cross-CPU wake-up costs tens of
  // microseconds on these machines). A process that used up its budget is
  // not new work: waking a core for it split a sender from the server it
  // casts to, and then every message crossed cores (cast throughput fell
  // from 20M/s to 3M/s on 2 schedulers).
  const std::uint32_t queued = queue_.size();
  if (yielded || queued <= 1) return;
  // A short queue is told only to a scheduler parked until woken, so that
  // it parks watching (and steals if this one gets stuck in a slice).
  node_.notify_one(/*only_indefinite=*/queued <= steal_threshold);
}

process* scheduler::find_work() {
  node_.timers().poll(++polls_);
  // The LIFO slot, inline: the loop below saves six registers to run.
  if (next_ && next_streak_ < max_next_streak) {
    ++next_streak_;
    return std::exchange(next_, nullptr);
  }
  return search_work();
}

process* scheduler::search_work() {
  for (unsigned spin = 0;; ++spin) {
    if (next_ && next_streak_ < max_next_streak) {
      ++next_streak_;
      return std::exchange(next_, nullptr);
    }
    next_streak_ = 0;
    if (next_) {  // streak exhausted: queue it behind the others
      process* p = std::exchange(next_, nullptr);
      if (!queue_.push(p)) node_.inject(p);
    }
    if (++tick_ % global_check_interval == 0) {
      if (process* p = node_.pop_injected()) return p;
    }
    if (process* p = inbound_.pop()) return p;
    if (process* p = queue_.pop()) return p;
    if (process* p = node_.pop_injected()) return p;
    if (process* p = steal()) return p;
    if (!deferred_.empty()) flush_deferred();  // nothing to run: write now
    if (quit_.load(std::memory_order_acquire)) return nullptr;
    if (spin < spin_rounds) {
#if defined(__x86_64__)
      __builtin_ia32_pause();
#endif
      if (spin % 16 == 15) node_.timers().poll();
      continue;
    }
    park();
    spin = 0;
    if (quit_.load(std::memory_order_acquire)) return nullptr;
    node_.timers().poll();  // a keeper wakes at the earliest deadline
  }
}

process* scheduler::steal() {
  auto& all = node_.schedulers();
  const std::size_t n = all.size();
  if (n < 2) return nullptr;
  rng_ ^= rng_ << 13;
  rng_ ^= rng_ >> 7;
  rng_ ^= rng_ << 17;
  const std::size_t start = rng_ % n;
  const bool watched = std::exchange(watch_expired_, false);
  for (std::size_t i = 0; i < n; ++i) {
    const auto v = static_cast<unsigned>((start + i) % n);
    scheduler* victim = all[v].get();
    if (victim == this) continue;
    if (victim->queue_.size() > steal_threshold || (watched && stuck(v)))
      if (process* p = victim->queue_.steal_into(queue_)) return p;
    // Processes woken from other threads wait in their home's inbound
    // queue; while the home runs one long slice they would wait with it.
    if (process* p = victim->inbound_.pop()) return p;
  }
  return nullptr;
}

// Still in the slice it was running when this one parked watching (the
// watch period ago), with processes waiting behind it.
bool scheduler::stuck(unsigned victim) const noexcept {
  const scheduler& v = *node_.schedulers()[victim];
  return v.running.load(std::memory_order_relaxed) != 0 && v.queue_.size() > 0 &&
         v.slice.load(std::memory_order_relaxed) == seen_slices_[victim];
}

void scheduler::add_deferred(const std::shared_ptr<deferred_output>& out) {
  for (const auto& d : deferred_)
    if (d == out) return;
  if (deferred_.empty()) deferred_slices_ = 0;
  deferred_.push_back(out);
}

void scheduler::flush_deferred() {
  flushing_.swap(deferred_);
  for (const auto& d : flushing_) d->flush_output();
  flushing_.clear();
}

bool defer_output(const std::shared_ptr<deferred_output>& out) {
  scheduler* s = tctx().sched;
  if (!s) return false;
  s->add_deferred(out);
  return true;
}

void scheduler::park() {
  running.store(0, std::memory_order_relaxed);  // idle is not a long schedule
  sleeping_.store(parked, std::memory_order_seq_cst);
  node_.idle.fetch_add(1, std::memory_order_seq_cst);
  // Re-check after announcing: a producer that published work before seeing
  // idle > 0 is caught here; one that published after will wake us.
  bool work = node_.has_injected() || !inbound_.empty() || queue_.size() > 0 || quit_.load(std::memory_order_seq_cst);
  bool others_queued = false;
  for (auto& other : node_.schedulers()) {
    if (work || other.get() == this) continue;
    const std::uint32_t queued = other->queue_.size();
    work = queued > steal_threshold;
    others_queued = others_queued || queued > 0;
  }
  if (work) {
    if (sleeping_.exchange(awake, std::memory_order_seq_cst) != awake) node_.idle.fetch_sub(1, std::memory_order_seq_cst);
    return;
  }
  // Counted idle before keep() reads the timers: a thread arming an earlier
  // deadline either sees us idle (or keeping) and wakes us, or we see it.
  timer_service& timers = node_.timers();
  std::optional<std::chrono::microseconds> limit = timers.keep(*this);
  std::uint32_t state = parked;
  bool watch = false;
  if (others_queued) {
    // Another scheduler has a short queue: look again after a watch period
    // whether it is stuck in one slice.
    seen_slices_.resize(node_.schedulers().size());
    for (std::size_t i = 0; i < seen_slices_.size(); ++i)
      seen_slices_[i] = node_.schedulers()[i]->slice.load(std::memory_order_relaxed);
    std::uint32_t expected = parked;
    if (!sleeping_.compare_exchange_strong(expected, watching, std::memory_order_seq_cst)) {  // woken meanwhile
      timers.woke(*this, true);
      return;
    }
    state = watching;
    watch = !limit || *limit >= watch_period;
    if (watch) limit = watch_period;
  }
  if (!limit) {
    while (sleeping_.load(std::memory_order_acquire) == parked) futex_wait(sleeping_, parked);
    timers.woke(*this, true);
    return;
  }
  if (limit->count() > 0) futex_wait_for(sleeping_, state, *limit);
  // Timed out (or spurious): take ourselves out of the idle count, unless a
  // waker already did.
  if (sleeping_.exchange(awake, std::memory_order_seq_cst) == awake) {
    timers.woke(*this, true);
    return;
  }
  node_.idle.fetch_sub(1, std::memory_order_seq_cst);
  watch_expired_ = watch;
  timers.woke(*this, false);
}

void scheduler::push_inbound(process* p) {
  inbound_.push(p);
  // Dekker pair with park(): published before reading `sleeping_`.
  if (sleeping_.fetch_add(0, std::memory_order_seq_cst) != awake) {
    if (held_wakes* h = tctx().held) h->unparks.push_back(this);
    else unpark();
  }
}

bool scheduler::unpark(bool only_indefinite) {
  std::uint32_t was = parked;
  if (!sleeping_.compare_exchange_strong(was, awake, std::memory_order_seq_cst)) {
    if (only_indefinite || was != watching) return false;
    if (!sleeping_.compare_exchange_strong(was, awake, std::memory_order_seq_cst)) return false;
  }
  node_.idle.fetch_sub(1, std::memory_order_seq_cst);
  futex_wake_one(sleeping_);
  return true;
}

void scheduler::request_quit() {
  quit_.store(true, std::memory_order_seq_cst);
  unpark();
}

namespace {
void pool_on_top(fiber* from, void*, thread_context& ctx) { ctx.sched->pool_fiber(from); }
}  // namespace

// A process that ran on this loop fiber has ended its slice. If it put a
// process suspended on a fiber of its own into the LIFO slot (a server
// that answered a waiting caller), switch to that one straight from here:
// the loop's next pass would pick it anyway, and this fiber waits in the
// pool exactly where the first branch of run() leaves one. A call then
// costs one pass through the loop instead of two (find_work, the timer
// poll, run's bookkeeping).
[[gnu::always_inline]] inline thread_context& scheduler::hand_off(thread_context& ctx) {
  if (process* next = ctx.sched->take_next_parked())
    return fiber::switch_to(ctx, std::exchange(next->parked, nullptr), &pool_on_top, nullptr);
  return ctx;
}

namespace {

// A process spawned with its own stack size runs on a fiber of its own,
// which ends with the process.
fiber* dedicated_entry(void* arg) {
  static_cast<process*>(arg)->activate();
  return tctx().sched->take_fiber();
}
}  // namespace

// Returns the context of the thread it ends on: possibly another one (if
// this fiber was pooled and taken again, or the process blocked on it).
[[gnu::always_inline]] inline thread_context& scheduler::run(process* p) {
  begin_slice(p);
  thread_context* ctx = ctx_;
  if (fiber* f = std::exchange(p->parked, nullptr)) {
    ctx = &fiber::switch_to(*ctx, f, &pool_on_top, nullptr);
  } else if (!p->started) {
    p->started = true;
    if (p->stack_size() == 0) {
      p->activate();  // on this very fiber: no switch
      ctx = &hand_off(tctx());
    } else {
      ctx = &fiber::switch_to(*ctx, new fiber(p->stack_size(), &dedicated_entry, p), &pool_on_top, nullptr);
    }
  } else {
    p->activate();  // it waited with no stack: resumed right here, no switch
    ctx = &hand_off(tctx());
  }
  ctx->proc = nullptr;
  ctx->sched->running.store(0, std::memory_order_relaxed);
  return *ctx;
}

}  // namespace otp::internal
