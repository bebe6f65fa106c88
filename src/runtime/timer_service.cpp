#include "runtime/timer_service.hpp"

#include <time.h>

#include <algorithm>

#include "node_impl.hpp"
#include "process/mailbox.hpp"
#include "process/process.hpp"
#include "runtime/block_pool.hpp"
#include "runtime/context.hpp"
#include "runtime/scheduler.hpp"

namespace otp::internal {

namespace {
// How far CLOCK_MONOTONIC_COARSE may lag the precise clock: two of its
// ticks. One tick is its resolution, but it is updated by the timer tick,
// which on these VMs comes late: after short sleeps it lagged by up to
// 5.2 ms with a 4 ms resolution (HZ=250). Trusting one tick made calls'
// timeouts fire up to ~1.2 ms early, and the poll gate below skip due
// timers for as long.
std::uint64_t measure_coarse_lag_us() {
  timespec r{};
  clock_getres(CLOCK_MONOTONIC_COARSE, &r);
  return 2 * (static_cast<std::uint64_t>(r.tv_sec) * 1'000'000 + static_cast<std::uint64_t>(r.tv_nsec) / 1000) + 2;
}
}  // namespace

timer_service::timer_service(node_impl& node, bool manual)
    : node_(node), manual_(manual), coarse_lag_us_(measure_coarse_lag_us()) {}

timer_service::~timer_service() {
  for (auto& sh : shards_) {
    for (auto& [id, e] : sh.by_id) delete e->payload;
    sh.by_id.clear();
  }
}

std::uint64_t timer_service::now_us() const {
  if (manual_) return manual_now_us_.load(std::memory_order_acquire);
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - epoch_).count());
}

void timer_service::start_timer(ref id, pid target, std::string name, mail_node* payload, std::uint64_t delay_us,
                                pid creator, std::uint64_t creator_slice) {
  auto e = std::make_unique<entry>();
  e->creator = std::move(creator);
  e->creator_slice = creator_slice;
  e->id = id;
  e->target = std::move(target);
  e->name = std::move(name);
  e->payload = payload;
  const std::uint64_t now = now_us();
  e->due_us = now + delay_us;
  // Round the deadline up to a tick: a timer never fires early.
  e->deadline = (e->due_us + tick_us - 1) / tick_us;
  const std::uint64_t due = e->due_us;
  shard& sh = shard_of(id);
  {
    std::lock_guard lk(sh.mu);
    sh.wheel.insert(e.get());
    sh.by_id.emplace(id.id(), std::move(e));
  }
  pending_.fetch_add(1, std::memory_order_acq_rel);
  arms_.fetch_add(1, std::memory_order_seq_cst);
  announce(due);
}

void timer_service::announce(std::uint64_t due) {
  if (manual_) return;
  std::uint64_t hint = hint_us_.load(std::memory_order_relaxed);
  do {
    if (due >= hint) return;  // not the earliest: whoever armed that one saw to it
  } while (!hint_us_.compare_exchange_weak(hint, due, std::memory_order_seq_cst, std::memory_order_relaxed));
  const std::uint64_t until = keeper_until_.load(std::memory_order_seq_cst);
  if (until > due) {  // the keeper sleeps past it
    if (scheduler* k = keeper_.load(std::memory_order_seq_cst)) k->unpark();
    return;
  }
  // No keeper sleeps. An awake keeper parks again after reading the hint;
  // with none at all, an idle scheduler is woken to keep (none idle: the
  // running ones poll).
  if (until == 0 && !keeper_.load(std::memory_order_seq_cst)) node_.notify_one();
}

std::optional<std::uint64_t> timer_service::cancel(ref id) {
  std::unique_ptr<entry> e;
  {
    shard& sh = shard_of(id);
    std::lock_guard lk(sh.mu);
    auto it = sh.by_id.find(id.id());
    if (it == sh.by_id.end()) return std::nullopt;
    e = std::move(it->second);
    sh.by_id.erase(it);
    sh.wheel.remove(e.get());
  }
  pending_.fetch_sub(1, std::memory_order_acq_rel);
  delete e->payload;
  auto* target = static_cast<process*>(e->target.get());
  if (target && !target->alive()) return std::nullopt;  // a dead target had cancelled it (§14.4)
  const std::uint64_t now = now_us();
  return e->due_us > now ? e->due_us - now : 0;
}

std::optional<std::uint64_t> timer_service::read(ref id) {
  std::uint64_t due = 0;
  {
    shard& sh = shard_of(id);
    std::lock_guard lk(sh.mu);
    auto it = sh.by_id.find(id.id());
    if (it == sh.by_id.end()) return std::nullopt;
    auto* target = static_cast<process*>(it->second->target.get());
    if (!target || target->alive()) {
      due = it->second->due_us;
    } else {
      due = UINT64_MAX;
    }
  }
  if (due == UINT64_MAX) {  // the target died: the timer is gone (§14.4)
    cancel(id);
    return std::nullopt;
  }
  const std::uint64_t now = now_us();
  return due > now ? due - now : 0;
}

std::size_t timer_service::pending() const {
  return pending_.load(std::memory_order_acquire) + active_waits_.load(std::memory_order_acquire);
}

namespace {
std::uint64_t timeout_us(std::chrono::milliseconds t) noexcept {
  return static_cast<std::uint64_t>(std::max<std::int64_t>(t.count(), 0)) * 1000;
}
}  // namespace

// Out of line: with the precise clock's call inline, deadline_after saved
// and restored five registers for the common (coarse) case too.
std::uint64_t timer_service::precise_deadline_after(std::chrono::milliseconds t) const {
  return now_us() + timeout_us(t);
}

void timer_service::arm_wait(wait_entry& e, std::uint64_t due_us, std::uint64_t serial) {
  {
    shard& sh = shards_[serial % shard_count];
    std::lock_guard lk(sh.mu);
    if (e.linked) {
      if (e.due_us <= due_us) return;  // already armed early enough
      sh.wheel.remove(&e);
    }
    e.is_wait = true;
    e.due_us = due_us;
    e.deadline = (due_us + tick_us - 1) / tick_us;
    sh.wheel.insert(&e);
  }
  arms_.fetch_add(1, std::memory_order_seq_cst);
  announce(due_us);
}

void timer_service::disarm_wait(wait_entry& e, std::uint64_t serial) {
  shard& sh = shards_[serial % shard_count];
  std::lock_guard lk(sh.mu);
  sh.wheel.remove(&e);
}

void timer_service::deliver(std::unique_ptr<entry> e) {
  mail_node* payload = std::exchange(e->payload, nullptr);
  process* target = static_cast<process*>(e->target.get());
  std::optional<pid> named;
  if (!e->name.empty()) {
    named = node_.whereis(e->name);  // resolved at expiry; dropped if unregistered
    target = named ? static_cast<process*>(named->get()) : nullptr;
  }
  if (!target || !target->deliver(payload)) delete payload;
}

// acquire pairs with process::end_slice: once the slice has visibly ended,
// every send the creator made in it is already in its target's inbox, so the
// timer's message is pushed after it.
bool timer_service::creator_still_running(const entry& e) const noexcept {
  auto* p = static_cast<const process*>(e.creator.get());
  return p->slices_ended.load(std::memory_order_acquire) == e.creator_slice;
}


void timer_service::fire_due(std::uint64_t now) {
  held_batch wakes(node_);
  std::lock_guard lk(fire_mu_);
  fire_locked(now);
}

void timer_service::fire_locked(std::uint64_t now) {
  const std::uint64_t to = ticks(now);
  for (auto& sh : shards_) {
    std::lock_guard lk(sh.mu);
    sh.wheel.advance(to, [&](wheel_entry* w) {
      if (w->is_wait) {
        expire_wait(sh, static_cast<wait_entry*>(w), now, waits_);
        return;
      }
      auto* e = static_cast<entry*>(w);
      if (e->creator && creator_still_running(*e)) {
        postponed_.push_back(e);
        return;
      }
      auto it = sh.by_id.find(e->id.id());
      due_.push_back(std::move(it->second));
      sh.by_id.erase(it);
    });
    for (entry* e : postponed_) {
      e->deadline = to + 1;  // look again at the next tick
      sh.wheel.insert(e);
    }
    postponed_.clear();
  }
  for (wait_fire& f : waits_) {
    auto* s = new signal_node(mail_kind::wait_timeout);
    s->seq = f.due_us;
    if (!static_cast<process*>(f.target.get())->deliver(s)) delete s;
  }
  waits_.clear();
  if (due_.empty()) return;
  pending_.fetch_sub(due_.size(), std::memory_order_acq_rel);
  // Equal deadlines fire in creation order (§14.6): refs grow monotonically
  // per creating thread, and ids are unique, so this order is total (no
  // stable sort needed, and std::sort allocates no buffer).
  std::sort(due_.begin(), due_.end(), [](const auto& a, const auto& b) {
    return a->due_us != b->due_us ? a->due_us < b->due_us : a->id.id() < b->id.id();
  });
  for (auto& e : due_) deliver(std::move(e));
  due_.clear();
}

void timer_service::expire_wait(shard& sh, wait_entry* e, std::uint64_t now, std::vector<wait_fire>& fired) {
  process* p = e->owner;
  e->wait_armed.store(UINT64_MAX, std::memory_order_seq_cst);
  const std::uint64_t want = e->wait_deadline.load(std::memory_order_seq_cst);
  if (want == UINT64_MAX) return;  // no wait now: the entry rests until the next one
  if (want > now) {                // a later wait: follow it
    e->due_us = want;
    e->deadline = (want + tick_us - 1) / tick_us;
    sh.wheel.insert(e);
    e->wait_armed.store(want, std::memory_order_seq_cst);
    return;
  }
  wait_ended(*e);
  fired.push_back(wait_fire{p->self_pid(), want});
}

std::uint64_t timer_service::earliest_us() {
  std::uint64_t next = UINT64_MAX;
  for (auto& sh : shards_) {
    std::lock_guard lk(sh.mu);
    if (auto t = sh.wheel.next_expiry()) next = std::min(next, *t * tick_us);
  }
  return next;
}

void timer_service::poll_now() {
  if (manual_) return;
  const std::uint64_t hint = hint_us_.load(std::memory_order_relaxed);
  if (hint == UINT64_MAX) return;
  if (coarse_now_us() + coarse_lag_us_ < hint) return;
  if (now_us() < hint) return;
  held_batch wakes(node_);
  std::unique_lock lk(fire_mu_, std::try_to_lock);
  if (!lk.owns_lock()) return;  // another scheduler (or the keeper) is at it
  fire_locked(now_us());
  refresh_hint();
}

// Raised only with fire_mu_ held, so firers never race each other here. An
// arming thread inserts into a wheel, bumps arms_, then lowers the hint —
// unless its deadline is not below the hint (announce: "whoever armed the
// earlier one saw to it"). That shortcut is what a scan can miss: an entry
// inserted after earliest_us() passed its shard, armed while the hint was
// still the just-fired deadline, so it did not lower it, and the exchange
// below then raised the hint past it (to UINT64_MAX if nothing else was
// armed): no keeper and no poll would fire it until another timer came.
// A 0 ms timer armed by a process just woken by the previous one, while
// its firer was still in here, hung that way. So the scan is repeated
// whenever an arm completed during it; an arm that completes after the
// final read of arms_ lowers the hint itself, since it sees the new one.
void timer_service::refresh_hint() {
  for (;;) {
    const std::uint64_t arms = arms_.load(std::memory_order_seq_cst);
    std::uint64_t seen = hint_us_.load(std::memory_order_seq_cst);
    const std::uint64_t earliest = earliest_us();
    if (!hint_us_.compare_exchange_strong(seen, earliest, std::memory_order_seq_cst)) {
      while (earliest < seen && !hint_us_.compare_exchange_weak(seen, earliest, std::memory_order_seq_cst)) {
      }
    }
    if (arms_.load(std::memory_order_seq_cst) == arms) return;
  }
}

std::optional<std::chrono::microseconds> timer_service::keep(scheduler& s) {
  if (manual_) return std::nullopt;
  scheduler* k = keeper_.load(std::memory_order_seq_cst);
  if (k != &s && (k || !keeper_.compare_exchange_strong(k, &s, std::memory_order_seq_cst))) return std::nullopt;
  std::uint64_t hint = hint_us_.load(std::memory_order_seq_cst);
  for (;;) {  // publish what we sleep until, then check nothing earlier came meanwhile
    keeper_until_.store(hint, std::memory_order_seq_cst);
    const std::uint64_t again = hint_us_.load(std::memory_order_seq_cst);
    if (again >= hint) break;
    hint = again;
  }
  if (hint == UINT64_MAX) return std::nullopt;  // keeping, until the first timer is armed
  const std::uint64_t now = now_us();
  // Due already: another thread is firing it (our poll found the lock
  // taken). Look again a tick later rather than spin.
  return std::chrono::microseconds(hint > now ? hint - now : tick_us);
}

void timer_service::woke(scheduler& s, bool for_work) noexcept {
  if (keeper_.load(std::memory_order_relaxed) != &s) return;
  keeper_until_.store(0, std::memory_order_seq_cst);
  if (for_work) keeper_.store(nullptr, std::memory_order_seq_cst);
}

void timer_service::advance(std::chrono::microseconds d) {
  const auto add = static_cast<std::uint64_t>(std::max<std::int64_t>(d.count(), 0));
  const std::uint64_t now = manual_now_us_.fetch_add(add, std::memory_order_acq_rel) + add;
  fire_due(now);
}

}  // namespace otp::internal
