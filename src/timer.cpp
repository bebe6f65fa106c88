// The timer API of otp/timer.hpp over the node's timer service.

#include "otp/timer.hpp"

#include <algorithm>

#include "node_impl.hpp"
#include "otp/error.hpp"

namespace otp {

namespace {
std::uint64_t delay_us(std::chrono::milliseconds delay) {
  if (delay.count() < 0) throw badarg("timer: negative time");  // §14.4
  // With the real clock a 0 ms timer fires no sooner than 1 ms later: the
  // timer thread must not beat a plain send that the creator makes right
  // after (OTP §14.5 observes send_after(0) as asynchronous; Erlang's own
  // resolution is 1 ms). The manual clock needs no such floor: its timers
  // fire only inside advance_time().
  const bool manual = internal::current_node().timers().manual();
  return static_cast<std::uint64_t>(manual ? delay.count() : std::max<std::int64_t>(delay.count(), 1)) * 1000;
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
  internal::current_node().timers().start_timer(tref, dest, {}, new internal::message_node(std::move(m)), us);
  return tref;
}

ref start_timer_core(const pid& dest, message&& m, std::chrono::milliseconds delay) {
  return start_timer_core(make_ref(), dest, std::move(m), delay);
}

ref start_timer_core(std::string name, message&& m, std::chrono::milliseconds delay) {
  const std::uint64_t us = delay_us(delay);
  ref tref = make_ref();
  internal::current_node().timers().start_timer(tref, {}, std::move(name), new internal::message_node(std::move(m)), us);
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
