#pragma once
/// \file otp/timer.hpp
/// Timers: send_after, start_timer, cancel_timer, read_timer (Erlang's
/// `erlang:send_after/3` family). Resolution 1 ms, on the node's clock (the
/// manual clock in tests). Held in a hierarchical timing wheel: O(1) to start
/// and to cancel.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "otp/message.hpp"
#include "otp/pid.hpp"
#include "otp/ref.hpp"

namespace otp {

/// What `start_timer` delivers: Erlang's `{timeout, TRef, Msg}`.
template <class T>
struct timer_timeout {
  ref tref;
  T msg;
};

namespace detail {
ref start_timer_core(const pid& dest, message&& m, std::chrono::milliseconds delay);
ref start_timer_core(std::string name, message&& m, std::chrono::milliseconds delay);
ref next_timer_ref();  ///< a fresh ref usable as a timer ref
ref start_timer_core(ref tref, const pid& dest, message&& m, std::chrono::milliseconds delay);
}  // namespace detail

/// Delivers `msg` to `dest` after `delay` (0 allowed; still asynchronous, so
/// a send made right after arrives first). Throws `otp::badarg` for a negative
/// delay. A dead `dest` cancels the timer. Returns the timer ref.
template <class T>
ref send_after(const pid& dest, T&& msg, std::chrono::milliseconds delay) {
  return detail::start_timer_core(dest, message(std::forward<T>(msg)), delay);
}
/// As above to a registered name, resolved at expiry (dropped if unregistered).
template <class T>
ref send_after(std::string name, T&& msg, std::chrono::milliseconds delay) {
  return detail::start_timer_core(std::move(name), message(std::forward<T>(msg)), delay);
}
/// Delivers `timer_timeout<T>{tref, msg}` to `dest` after `delay`.
template <class T>
ref start_timer(const pid& dest, T&& msg, std::chrono::milliseconds delay) {
  ref tref = detail::next_timer_ref();
  return detail::start_timer_core(tref, dest, message(timer_timeout<std::decay_t<T>>{tref, std::forward<T>(msg)}), delay);
}

/// Cancels a timer: the remaining time if it was active (its message will
/// never be delivered), nullopt (Erlang's `false`) if it already fired, was
/// cancelled, or `tref` is no timer.
std::optional<std::chrono::milliseconds> cancel_timer(const ref& tref);
/// The remaining time of an active timer, or nullopt (Erlang's `false`).
std::optional<std::chrono::milliseconds> read_timer(const ref& tref);

}  // namespace otp
