// otp::node and its internals: process table, names, scheduling entry
// points, the blocking pool, the long-schedule watchdog, and shutdown.
//
// Shutdown protocol:
//  1. `stopping` is set; every live process is sent an untrappable
//     `terminate` signal with reason `shutdown` (links and monitors fire as
//     usual); pseudo-processes of other foreign threads get it too and act
//     on it at their next receive;
//  2. wait until every fiber process has exited (the schedulers keep running
//     until then);
//  3. the calling thread's own pseudo-process finishes;
//  4. the I/O reactor releases its sockets and its thread is joined (no
//     process is left to wait for I/O);
//  5. timers, watchdog, blocking pool and schedulers stop; each scheduler
//     ends its pooled fibers, returns to its own stack and is joined.

#include <pthread.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "dist/dist_node.hpp"
#include "net/reactor.hpp"
#include "node_impl.hpp"
#include "otp/node.hpp"
#include "runtime/context.hpp"
#include "runtime/scheduler.hpp"

namespace otp {

namespace {
std::atomic<node*> g_default_node{nullptr};
std::atomic<std::uint64_t> g_node_generation{1};
}  // namespace

node::node(node_options opts) : impl_(std::make_unique<internal::node_impl>(*this, opts)) {
  node* expected = nullptr;
  g_default_node.compare_exchange_strong(expected, this);
  impl_->start();
}

node::~node() {
  shutdown();
  node* expected = this;
  g_default_node.compare_exchange_strong(expected, nullptr);
}

void node::shutdown() { impl_->shutdown(); }

std::chrono::milliseconds node::now() const {
  return std::chrono::milliseconds(impl_->timers().now_us() / 1000);
}

void node::advance_time(std::chrono::milliseconds d) { impl_->timers().advance(d); }

std::size_t node::process_count() const { return impl_->process_count(); }
unsigned node::scheduler_count() const { return static_cast<unsigned>(impl_->schedulers().size()); }
std::size_t node::pending_timers() const { return impl_->pending_timers(); }
otp::logger& node::logger() { return impl_->logger(); }
node* node::default_node() noexcept { return g_default_node.load(std::memory_order_acquire); }

namespace internal {

node_impl& current_node() {
  if (process* p = tctx().proc) return p->node();
  node* n = node::default_node();
  if (!n) throw std::logic_error("otp: no node is running (create an otp::node first)");
  return n->impl();
}

namespace {
node_options resolved(node_options opts) {
  if (opts.schedulers == 0) opts.schedulers = std::max(1u, std::thread::hardware_concurrency());
  if (opts.message_budget == 0) opts.message_budget = 1;
  return opts;
}
// Idle servers that may keep a stack, per scheduler: enough for the
// callers a scheduler can keep busy, few enough that the stacks they hold
// (at most this many × node_options::stack_size of address space, a few
// pages each in use) do not matter.
constexpr std::size_t kept_stacks_per_scheduler = 32;
}  // namespace

node_impl::node_impl(node& owner, node_options opts)
    : owner_(owner),
      opts_(resolved(opts)),
      generation_(g_node_generation.fetch_add(1, std::memory_order_relaxed)),
      timers_(*this, opts.manual_clock),
      kept_stacks_(kept_stacks_per_scheduler * opts_.schedulers),
      reactor_(std::make_unique<internal::reactor>(logger_, [this] {
        return idle.load(std::memory_order_relaxed) != 0;
      })) {
  logger_.set_level(opts_.level);
  for (unsigned i = 0; i < opts_.schedulers; ++i) scheds_.push_back(std::make_unique<scheduler>(*this, i));
}

node_impl::~node_impl() { shutdown(); }

dist_node& node_impl::dist() {
  std::call_once(dist_once_, [this] {
    dist_ = std::make_unique<dist_node>(*this);
    dist_made_.store(true, std::memory_order_release);
  });
  return *dist_;
}

void node_impl::start() {
  for (auto& s : scheds_) s->start();
  for (unsigned i = 0; i < opts_.blocking_threads; ++i) blocking_threads_.emplace_back([this] { blocking_main(); });
  watchdog_ = std::thread([this] { watchdog_main(); });
}

// ---------------------------------------------------------------- processes

std::uint32_t node_impl::own_stack_size(std::size_t requested) const {
  if (requested == options().stack_size) return 0;
  if (requested > UINT32_MAX) throw badarg("spawn: stack_size over 4 GiB");
  return static_cast<std::uint32_t>(requested);
}

process* node_impl::create_process(std::unique_ptr<detail::body_base> body, bool foreign) {
  return enroll(new process(*this, std::move(body), foreign), foreign);
}

process* node_impl::enroll(process* p, bool foreign) {
  table_shard& sh = table_[p->serial % table_shards];
  {
    std::lock_guard lk(sh.mu);
    p->table_next = sh.head;
    if (sh.head) sh.head->table_prev = p;
    sh.head = p;
  }
  live_.fetch_add(1, std::memory_order_acq_rel);
  if (!foreign) fiber_live_.fetch_add(1, std::memory_order_acq_rel);
  // Spawned while the node shuts down (e.g. a supervisor restarting a child
  // it just lost): terminate_all may have scanned this shard already, so the
  // newcomer gets its `shutdown` here — else shutdown would wait for it for
  // ever. stopping_ is set before the scan takes the shard locks, so after
  // our insert under the same lock one of the two always sees the other. A
  // fresh process only queues the signal (nothing wakes it before
  // spawn_core schedules it) and ends on its first activation.
  if (!foreign && stopping()) {
    auto* s = new signal_node(mail_kind::terminate);
    s->reason = exit_reason::shutdown();
    if (!p->deliver(s)) delete s;
  }
  return p;
}

void node_impl::process_exiting(process* p) noexcept {
  live_.fetch_sub(1, std::memory_order_acq_rel);
  if (!p->foreign() && fiber_live_.fetch_sub(1, std::memory_order_acq_rel) == 1 && stopping()) {
    std::lock_guard lk(exit_mu_);
    exit_cv_.notify_all();
  }
}

void node_impl::process_exited(process* p) noexcept {
  table_shard& sh = table_[p->serial % table_shards];
  {
    std::lock_guard lk(sh.mu);
    if (p->table_prev) p->table_prev->table_next = p->table_next;
    else sh.head = p->table_next;
    if (p->table_next) p->table_next->table_prev = p->table_prev;
    p->table_prev = p->table_next = nullptr;
  }
  detail::release(p);  // the process's reference on itself
}

// ---------------------------------------------------------------- scheduling

// Where a woken process runs. On its home scheduler (where it last ran) if
// that is the waker's, or if the home is busy: a receiver flooded from
// several cores then stays put instead of being dragged to each waker (an
// idle scheduler steals it from there if the home stays busy). If
// the home is idle, the waker takes the process (LIFO slot), so two
// processes talking to each other end up on one core.
void node_impl::schedule_from(scheduler* s, process* p, bool next) {
  scheduler* home = p->home.load(std::memory_order_relaxed);
  if (s && &s->node_ != this) s = nullptr;
  if (home && home != s && !home->idle_now()) {
    home->push_inbound(p);
    // Woken from outside the schedulers (the reactor, main(), a timer fired
    // by a foreign thread or the watchdog): a parked scheduler may steal it
    // if the home stays busy. Only a hint (relaxed load): the home runs it
    // anyway, so a missed wake loses nothing.
    if (!s && idle.load(std::memory_order_relaxed) != 0) notify_one();
    return;
  }
  if (s) s->push(p, next);
  else inject(p);
}

void node_impl::inject(process* p) {
  injected_.push(p);
  notify_one();
}

held_batch::~held_batch() {
  tctx().held = nullptr;
  for (scheduler* s : wakes_.unparks) s->unpark();
  for (unsigned i = 0; i < wakes_.notifies && i < node_.schedulers().size(); ++i) node_.notify_one();
}

void node_impl::notify_one(bool only_indefinite) {
  // Pairs with scheduler::park(): work was published before this read. A
  // seq_cst read-modify-write rather than a fence, which TSan cannot model.
  if (idle.fetch_add(0, std::memory_order_seq_cst) == 0) return;
  if (held_wakes* h = tctx().held) {  // made (and idle re-checked) after the batch
    ++h->notifies;
    return;
  }
  for (auto& s : scheds_)
    if (s->unpark(only_indefinite)) return;
}

// ---------------------------------------------------------------- names

// `named` and the inbox's closed state form a Dekker pair (both seq_cst):
// either register_name sees the process closed and fails, or the exiting
// process sees `named` and takes the lock to remove the name.
bool node_impl::register_name(const std::string& name, process* p) {
  std::lock_guard lk(names_mu_);
  if (names_.count(name) || name_keys_.count(p)) return false;
  p->named.store(true, std::memory_order_seq_cst);
  if (!p->alive()) {
    p->named.store(false, std::memory_order_seq_cst);
    return false;
  }
  name_keys_.emplace(p, &names_.emplace(name, p->self_pid()).first->first);
  return true;
}

bool node_impl::unregister_name(std::string_view name) {
  std::lock_guard lk(names_mu_);
  auto it = names_.find(std::string(name));
  if (it == names_.end()) return false;
  name_keys_.erase(static_cast<const process*>(it->second.get()));
  names_.erase(it);
  return true;
}

void node_impl::unregister_process(process* p) {
  if (!p->named.load(std::memory_order_seq_cst)) return;
  std::lock_guard lk(names_mu_);
  auto k = name_keys_.find(p);
  if (k == name_keys_.end()) return;
  names_.erase(*k->second);
  name_keys_.erase(k);
}

std::optional<pid> node_impl::whereis(std::string_view name) {
  std::lock_guard lk(names_mu_);
  auto it = names_.find(std::string(name));
  if (it == names_.end()) return std::nullopt;
  return it->second;
}

std::vector<std::string> node_impl::registered() {
  std::lock_guard lk(names_mu_);
  std::vector<std::string> out;
  out.reserve(names_.size());
  for (auto& [n, p] : names_) out.push_back(n);
  return out;
}

std::string node_impl::name_of(process* p) {
  std::lock_guard lk(names_mu_);
  auto k = name_keys_.find(p);
  return k != name_keys_.end() ? *k->second : std::string();
}

// ---------------------------------------------------------------- blocking pool

void node_impl::run_blocking_job(std::function<void()> job) {
  {
    std::lock_guard lk(blocking_mu_);
    blocking_jobs_.push_back(std::move(job));
  }
  blocking_cv_.notify_one();
}

void node_impl::blocking_main() {
  pthread_setname_np(pthread_self(), "otp_blocking");
  for (;;) {
    std::function<void()> job;
    {
      std::unique_lock lk(blocking_mu_);
      blocking_cv_.wait(lk, [&] { return blocking_stop_ || !blocking_jobs_.empty(); });
      if (blocking_jobs_.empty()) return;
      job = std::move(blocking_jobs_.front());
      blocking_jobs_.pop_front();
    }
    job();
  }
}

// ---------------------------------------------------------------- watchdog

// Samples each scheduler's slice counter four times per long_schedule
// threshold (every 25 ms when reports are off): a slice seen unchanged for a whole
// threshold is reported once (BEAM's long_schedule), without adding a clock
// read to the scheduling path. A slice seen unchanged across one sample
// while processes wait behind it also wakes an idle scheduler, which then
// watches and steals them (scheduler::park): a single process queued behind
// a long computation wakes no one when it is queued.
void node_impl::watchdog_main() {
  pthread_setname_np(pthread_self(), "otp_watchdog");
  const auto period = opts_.long_schedule.count() > 0
                          ? std::max(opts_.long_schedule / 4, std::chrono::milliseconds(1))
                          : std::chrono::milliseconds(25);
  struct seen {
    std::uint64_t slice = 0;
    unsigned samples = 0;
    bool reported = false;
  };
  std::vector<seen> last(scheds_.size());
  std::unique_lock lk(watchdog_mu_);
  while (!watchdog_cv_.wait_for(lk, period, [&] { return watchdog_stop_; })) {
    timers_.poll();  // the backstop for timers while every scheduler is in a long slice
    for (std::size_t i = 0; i < scheds_.size(); ++i) {
      const std::uint64_t slice = scheds_[i]->slice.load(std::memory_order_relaxed);
      const std::uint64_t running = scheds_[i]->running.load(std::memory_order_relaxed);
      seen& s = last[i];
      if (slice != s.slice || running == 0) {
        s = {slice, 0, false};
        continue;
      }
      if (scheds_[i]->queue_.size() > 0) notify_one();
      if (++s.samples >= 4 && !s.reported && opts_.long_schedule.count() > 0) {
        s.reported = true;
        logger_.log(log_level::warning, "long_schedule: process <0." + std::to_string(running) +
                                            ".0> has run for more than " + std::to_string(opts_.long_schedule.count()) +
                                            " ms without yielding on scheduler " + std::to_string(i));
      }
    }
  }
}

// ---------------------------------------------------------------- shutdown

void node_impl::terminate_all() {
  std::vector<pid> all;
  for (auto& sh : table_) {
    std::lock_guard lk(sh.mu);
    sh.for_each([&](process* p) { all.push_back(p->self_pid()); });
  }
  process* me = tctx().proc;
  for (const pid& p : all) {
    auto* proc = static_cast<process*>(p.get());
    if (proc == me) continue;
    auto* s = new signal_node(mail_kind::terminate);
    s->reason = exit_reason::shutdown();
    if (!proc->deliver(s)) delete s;
  }
}

void node_impl::at_shutdown(std::function<void()> hook) {
  std::lock_guard lk(hooks_mu_);
  shutdown_hooks_.push_back(std::move(hook));
}

void node_impl::shutdown() {
  if (stopped_) return;
  stopped_ = true;
  for (;;) {  // hooks may add hooks (an application stopping another)
    std::function<void()> hook;
    {
      std::lock_guard lk(hooks_mu_);
      if (shutdown_hooks_.empty()) break;
      hook = std::move(shutdown_hooks_.back());
      shutdown_hooks_.pop_back();
    }
    hook();
  }
  stopping_.store(true, std::memory_order_release);
  terminate_all();
  {
    std::unique_lock lk(exit_mu_);
    exit_cv_.wait(lk, [&] { return fiber_live_.load(std::memory_order_acquire) == 0; });
  }
  // What is left are pseudo-processes of foreign threads (this one's, and
  // those of threads that no longer use the node).
  std::vector<pid> foreign;
  for (auto& sh : table_) {
    std::lock_guard lk(sh.mu);
    sh.for_each([&](process* p) { foreign.push_back(p->self_pid()); });
  }
  for (const pid& p : foreign) static_cast<process*>(p.get())->force_finish(exit_reason::shutdown());
  if (dist_made_.load(std::memory_order_acquire)) dist_->stop();  // connections close after the processes (their links and monitors fired)
  reactor_->stop();
  {
    std::lock_guard lk(watchdog_mu_);
    watchdog_stop_ = true;
  }
  watchdog_cv_.notify_all();
  if (watchdog_.joinable()) watchdog_.join();
  {
    std::lock_guard lk(blocking_mu_);
    blocking_stop_ = true;
  }
  blocking_cv_.notify_all();
  for (auto& t : blocking_threads_) t.join();
  blocking_threads_.clear();
  for (auto& s : scheds_) s->request_quit();
  for (auto& s : scheds_) s->join();
}

}  // namespace internal
}  // namespace otp
