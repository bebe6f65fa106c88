#pragma once
/// \file otp/sys.hpp
/// Debugging and introspection of running servers (OTP's `sys` module):
/// get_state, replace_state, get_status, suspend/resume, change_code,
/// statistics, trace, log and terminate. Each is a system message that the
/// server answers from its loop, in mailbox order (so it waits behind a
/// callback that is running), which is why it works on every gen_server.
///
/// Failures throw `otp::exit_error` with `{Reason, {sys, Function, Args}}`,
/// e.g. `{timeout,{sys,get_state,[counter,100]}}` (OTP Appendix A).

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <typeinfo>
#include <vector>

#include "otp/gen_server.hpp"

namespace otp::sys {

/// The default timeout of sys requests (OTP's 5000 ms).
inline constexpr timeout default_timeout{5000};

/// What get_status reports (OTP's `{status, Pid, {module, gen_server}, [...]}`).
struct status {
  pid server;
  std::string name;                       ///< registered name, or the pid as text
  std::string module;                     ///< the server's C++ type
  bool suspended = false;
  pid parent;                             ///< the start_link caller, or the server itself
  std::string state;                      ///< format_status(state), or the state described
  std::vector<std::string> logged_events;
  std::string header() const { return "Status for generic server " + name; }
};

/// statistics(server, true) then get_statistics (OTP's `statistics(N, get)`).
struct statistics_data {
  std::chrono::system_clock::time_point start_time;
  std::chrono::system_clock::time_point current_time;
  std::uint64_t reductions = 0;    ///< callbacks run
  std::uint64_t messages_in = 0;   ///< calls, casts and infos handled
  std::uint64_t messages_out = 0;  ///< replies sent
  std::uint64_t overflows = 0;     ///< messages refused by a full bounded mailbox (max_queue)
};

/// replace_state's function threw: the server keeps its old state (OTP's
/// `{callback_failed, {gen_server, system_replace_state}, ...}` error).
class callback_failed : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

namespace detail {
/// Runs `fn` on the server's side, in its loop; returns what it returns.
message state_call(const otp::detail::target& server, bool replace,
                   std::function<message(otp::detail::server_base&)> fn, timeout t);
template <class State>
State& state_of(otp::detail::server_base& srv) {
  if (srv.state_type() != typeid(State))
    throw std::logic_error("sys: the server's state is a " + otp::detail::demangle(srv.state_type().name()) +
                           ", not a " + otp::detail::demangle(typeid(State).name()));
  return *static_cast<State*>(srv.state_ptr());
}
}  // namespace detail

/// A copy of the server's state (OTP `sys:get_state/2`). Works while suspended.
template <class S>
otp::detail::state_t<S> get_state(const server_ref<S>& server, timeout t = default_timeout) {
  using State = otp::detail::state_t<S>;
  message m = detail::state_call(
      server.target(), false, [](otp::detail::server_base& srv) { return message(detail::state_of<State>(srv)); }, t);
  return std::move(m.get<State>());
}

/// Replaces the state with `fn(old_state)` and returns the new state (OTP
/// `sys:replace_state/3`). If `fn` throws, `callback_failed` is thrown here
/// and the server keeps its state.
template <class S, class F>
otp::detail::state_t<S> replace_state(const server_ref<S>& server, F fn, timeout t = default_timeout) {
  using State = otp::detail::state_t<S>;
  message m = detail::state_call(
      server.target(), true,
      [fn = std::move(fn)](otp::detail::server_base& srv) mutable {
        State& st = detail::state_of<State>(srv);
        State next = fn(static_cast<const State&>(st));
        st = std::move(next);
        return message(st);
      },
      t);
  return std::move(m.get<State>());
}

using otp::detail::target;

status get_status(const target& server, timeout t = default_timeout);
/// While suspended a server handles only system messages (and its parent's
/// exit); calls and casts wait in its queue, in order, until resume.
void suspend(const target& server, timeout t = default_timeout);
void resume(const target& server, timeout t = default_timeout);
/// Calls `code_change(old_vsn, state, extra)`; the server must be suspended.
/// nullopt on success, else the error (`{unknown_system_msg, ...}` when
/// not suspended, or what code_change's stop(...) gave).
std::optional<exit_reason> change_code(const target& server, std::string old_vsn, message extra = {},
                                       timeout t = default_timeout);
void statistics(const target& server, bool on, timeout t = default_timeout);
/// nullopt when statistics are off (OTP's `{ok, no_statistics}`).
std::optional<statistics_data> get_statistics(const target& server, timeout t = default_timeout);
/// Prints every event like `*DBG* counter got call ... from <0.5.0>` through
/// the node's logger (logger::print).
void trace(const target& server, bool on, timeout t = default_timeout);
/// Keeps the last `n` events (0 turns logging off).
void log(const target& server, std::size_t n, timeout t = default_timeout);
std::vector<std::string> get_log(const target& server, timeout t = default_timeout);
/// Turns trace, log and statistics off.
void no_debug(const target& server, timeout t = default_timeout);
/// Returns once the request is accepted; then terminate runs and the server
/// exits with `reason` (OTP `sys:terminate/3`).
void terminate(const target& server, exit_reason reason, timeout t = default_timeout);

}  // namespace otp::sys
