// Elixir's Task: the parts of async / await / yield / shutdown / await_many
// that do not depend on the result type (../shared/otp-semantics.md §13).
//
// Exit reasons are printed as Elixir builds them, `{Reason,{Task,await,
// [Task,Timeout]}}`, with the task as Elixir inspects it
// (`%Task{owner: <0.1.0>, pid: <0.2.0>, ref: #Ref<0.3>}`).

#include <algorithm>
#include <string>
#include <unordered_map>

#include "node_impl.hpp"
#include "otp/node.hpp"
#include "otp/task.hpp"

namespace otp::detail {

namespace {

std::string timeout_text(timeout t) { return t == infinity ? "infinity" : std::to_string(t.count()); }

std::string where(const char* fn, const std::string& args) { return std::string("{Task,") + fn + ",[" + args + "]}"; }

void check_owner(const task_base& t) {
  pid me = self();
  if (t.owner() != me)
    throw badarg("task " + t.to_string() + " must be queried from the owner but was queried from " + me.to_string());
}

/// Waits up to `tmo` for the task's reply or the DOWN of its monitor.
task_wait wait_task(const task_base& t, reply_ref_fn f, timeout tmo) {
  struct ctx_t {
    ref r;
    reply_ref_fn f;
  } ctx{t.get_ref(), f};
  auto m = receive_core(
      [](const void* c, const message& m) {
        auto& x = *static_cast<const ctx_t*>(c);
        if (const ref* r = x.f(m)) return *r == x.r;
        auto* d = m.get_if<down_msg>();
        return d && d->mref == x.r;
      },
      &ctx, tmo);
  task_wait w;
  if (!m) return w;
  if (auto* d = m->get_if<down_msg>()) {
    w.k = task_wait::kind::down;
    w.reason = d->reason;
  } else {
    w.k = task_wait::kind::reply;
    w.reply = std::move(*m);
  }
  return w;
}

/// Gives up on a task whose monitor is active: after this no reply of it
/// can reach the mailbox, and no DOWN.
void abandon(const task_base& t, reply_ref_fn f) {
  if (t.slot().abandon() == task_slot::sent) (void)wait_task(t, f, infinity);  // in flight: take it
  demonitor(t.get_ref(), {.flush = true});
  t.slot().state.store(task_slot::abandoned, std::memory_order_release);
}

}  // namespace

std::string task_base::to_string() const {
  return "%Task{owner: " + owner_.to_string() + ", pid: " + pid_.to_string() + ", ref: " + ref_.to_string() + "}";
}

ref task_start(const pid& p) {
  ref r = monitor(p);
  send(p, task_go{r});
  return r;
}

ref task_await_go() { return receive_as<task_go>(infinity)->tref; }

std::chrono::milliseconds task_now() { return internal::current_node().owner().now(); }

unsigned task_schedulers() { return internal::current_node().owner().scheduler_count(); }

message await_core(const task_base& t, reply_ref_fn f, timeout tmo) {
  check_owner(t);
  task_wait w = wait_task(t, f, tmo);
  if (w.k == task_wait::kind::none) {
    // §13.2: give up. If the task won the race its reply is in flight: take it
    // (as gen.erl's last `receive after 0`), so that it never lands later.
    if (t.slot().abandon() == task_slot::sent) {
      w = wait_task(t, f, infinity);
    } else {
      demonitor(t.get_ref(), {.flush = true});
      throw exit_error(exit_reason::wrap(exit_reason::timeout(),
                                         where("await", t.to_string() + "," + timeout_text(tmo))));
    }
  }
  if (w.k == task_wait::kind::reply) {
    demonitor(t.get_ref(), {.flush = true});
    t.slot().state.store(task_slot::received, std::memory_order_release);
    return std::move(w.reply);
  }
  // §13.3: the task died first (a non-trapping owner is already dead by the link).
  t.slot().state.store(task_slot::abandoned, std::memory_order_release);
  throw exit_error(exit_reason::wrap(std::move(w.reason), where("await", t.to_string() + "," + timeout_text(tmo))));
}

task_wait yield_core(const task_base& t, reply_ref_fn f, timeout tmo) {
  check_owner(t);
  task_wait w = wait_task(t, f, tmo);
  switch (w.k) {
    case task_wait::kind::reply:
      demonitor(t.get_ref(), {.flush = true});
      t.slot().state.store(task_slot::received, std::memory_order_release);
      break;
    case task_wait::kind::down:
      t.slot().state.store(task_slot::abandoned, std::memory_order_release);
      break;
    case task_wait::kind::none:  // §13.5: nil, the monitor stays
      break;
  }
  return w;
}

task_wait shutdown_core(const task_base& t, reply_ref_fn f, std::optional<timeout> tmo) {
  if (!t.get_pid()) throw badarg("task " + t.to_string() + " does not have an associated task process");
  check_owner(t);
  const bool brutal = !tmo;
  const pid& p = t.get_pid();
  ref mon = monitor(p);
  // Elixir spawns an "enforcer" so that the task still gets the signal if
  // the owner dies between unlink and exit; here nothing can run in
  // between (neither call acts on the owner's incoming signals).
  unlink(p);
  exit(p, brutal ? exit_reason::kill() : exit_reason::shutdown());
  auto down_of = [](ref r, timeout w) {
    return receive_if<down_msg>([r](const down_msg& d) { return d.mref == r; }, w);
  };
  auto d = down_of(mon, brutal ? infinity : *tmo);
  if (!d) {  // did not stop in time (it traps exits): kill it
    exit(p, exit_reason::kill());
    d = down_of(mon, infinity);
  }
  // The expected end: `shutdown` for a timeout shutdown, `killed` for brutal_kill
  // (a task killed after its timeout is `{exit, killed}`, §13.6).
  auto expected = [&](const exit_reason& r) {
    return brutal ? r == exit_reason::killed() : r == exit_reason::shutdown();
  };
  task_wait out;
  if (d->reason == exit_reason::noproc()) {
    // It was dead before our monitor: its own DOWN tells why. That DOWN may
    // still be on its way (the noproc DOWN can overtake a dying process's
    // last signals): if our monitor is still active it is coming, so wait.
    auto mine = process_info(self());
    const bool coming = mine && std::find(mine->monitors.begin(), mine->monitors.end(), t.get_ref()) != mine->monitors.end();
    if (auto d2 = down_of(t.get_ref(), coming ? infinity : timeout::zero())) {
      if (!expected(d2->reason)) {
        out.k = task_wait::kind::down;
        out.reason = d2->reason;
      }
    } else {
      demonitor(t.get_ref(), {.flush = true});
      out.k = task_wait::kind::down;
      out.reason = exit_reason::noproc();
    }
  } else {
    demonitor(t.get_ref(), {.flush = true});
    if (!expected(d->reason)) {
      out.k = task_wait::kind::down;
      out.reason = d->reason;
    }
  }
  // A reply sent before it died is queued before its DOWN: it wins.
  task_wait rep = wait_task(t, f, timeout::zero());
  if (rep.k == task_wait::kind::reply) out = std::move(rep);
  t.slot().state.store(out.k == task_wait::kind::reply ? task_slot::received : task_slot::abandoned,
                       std::memory_order_release);
  return out;
}

std::vector<message> await_many_core(const std::vector<const task_base*>& ts, reply_ref_fn f, timeout tmo) {
  for (auto* t : ts) check_owner(*t);
  auto where_many = [&] {
    std::string list = "[";
    for (std::size_t i = 0; i < ts.size(); ++i) list += (i ? "," : "") + ts[i]->to_string();
    return where("await_many", list + "]," + timeout_text(tmo));
  };
  std::vector<message> out(ts.size());
  std::unordered_map<std::uint64_t, std::size_t> pending;  // ref -> index
  for (std::size_t i = 0; i < ts.size(); ++i) pending.emplace(ts[i]->get_ref().id(), i);
  const bool forever = tmo == infinity;
  const auto deadline = forever ? std::chrono::milliseconds(0) : task_now() + tmo;
  auto give_up = [&](exit_reason inner) {
    for (auto& [id, i] : pending) abandon(*ts[i], f);
    throw exit_error(exit_reason::wrap(std::move(inner), where_many()));
  };
  struct ctx_t {
    const std::unordered_map<std::uint64_t, std::size_t>* pending;
    reply_ref_fn f;
  } ctx{&pending, f};
  while (!pending.empty()) {
    timeout left = forever ? infinity : std::max(timeout::zero(), deadline - task_now());
    auto m = receive_core(
        [](const void* c, const message& m) {
          auto& x = *static_cast<const ctx_t*>(c);
          if (const ref* r = x.f(m)) return x.pending->count(r->id()) != 0;
          auto* d = m.get_if<down_msg>();
          return d && x.pending->count(d->mref.id()) != 0;
        },
        &ctx, left);
    if (!m) give_up(exit_reason::timeout());
    if (auto* d = m->get_if<down_msg>()) {
      std::size_t i = pending.at(d->mref.id());
      pending.erase(d->mref.id());
      ts[i]->slot().state.store(task_slot::abandoned, std::memory_order_release);
      give_up(d->reason);
    }
    const ref r = *f(*m);
    std::size_t i = pending.at(r.id());
    pending.erase(r.id());
    demonitor(r, {.flush = true});
    ts[i]->slot().state.store(task_slot::received, std::memory_order_release);
    out[i] = std::move(*m);
  }
  return out;
}

}  // namespace otp::detail
