// The timer API of otp/timer.hpp over the node's timer service.

#include "otp/timer.hpp"

#include <algorithm>

#include "node_impl.hpp"
#include "otp/error.hpp"
#include "runtime/context.hpp"

namespace otp {

namespace {
std::uint64_t delay_us(std::chrono::milliseconds delay) {
  if (delay.count() < 0) throw badarg("timer: negative time");  // §14.4
  return static_cast<std::uint64_t>(delay.count()) * 1000;
}

// Arms a timer. A 0 ms timer must not overtake a plain send its creator
// makes right after (OTP §14.5: on the BEAM the creator's scheduler cannot
// check timers while the creator runs). From a process: the timer waits for
// the creator's slice to end. From a foreign thread (no slices): it fires no
// sooner than 1 ms later. The manual clock needs neither: its timers fire
// only inside advance_time().
void arm(internal::node_impl& node, ref tref, pid dest, std::string name, message&& m, std::uint64_t us) {
  auto& timers = node.timers();
  pid creator;
  std::uint64_t slice = 0;
  if (us == 0 && !timers.manual()) {
    if (internal::process* me = internal::tctx().proc) {
      creator = me->self_pid();
      slice = me->slices_ended.load(std::memory_order_relaxed);
    } else {
      us = 1000;
    }
  }
  timers.start_timer(tref, std::move(dest), std::move(name), new internal::message_node(std::move(m)), us,
                     std::move(creator), slice);
  // Starting a timer is work like a send: a process arming 100k timers in a
  // loop must still let the processes that receive them run.
  if (internal::process* me = internal::tctx().proc) me->reduce();
}

std::optional<std::chrono::milliseconds> to_ms(std::optional<std::uint64_t> us) {
  if (!us) return std::nullopt;
  return std::chrono::milliseconds((*us + 999) / 1000);  // Erlang rounds remaining time up
}
}  // namespace

namespace detail {

ref next_timer_ref() { return make_ref(); }

ref start_timer_core(ref tref, const pid& dest, message&& m, std::chrono::milliseconds delay) {
  const std::uint64_t us = delay_us(delay);
  auto* target = static_cast<internal::process*>(dest.get());
  if (!target || !target->alive()) return tref;  // a dead target: the timer is cancelled at once
  arm(internal::current_node(), tref, dest, {}, std::move(m), us);
  return tref;
}

ref start_timer_core(const pid& dest, message&& m, std::chrono::milliseconds delay) {
  return start_timer_core(make_ref(), dest, std::move(m), delay);
}

ref start_timer_core(std::string name, message&& m, std::chrono::milliseconds delay) {
  const std::uint64_t us = delay_us(delay);
  ref tref = make_ref();
  arm(internal::current_node(), tref, {}, std::move(name), std::move(m), us);
  return tref;
}

}  // namespace detail

std::optional<std::chrono::milliseconds> cancel_timer(const ref& tref) {
  return to_ms(internal::current_node().timers().cancel(tref));
}

std::optional<std::chrono::milliseconds> read_timer(const ref& tref) {
  return to_ms(internal::current_node().timers().read(tref));
}

}  // namespace otp
