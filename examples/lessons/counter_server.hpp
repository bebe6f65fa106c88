#pragma once
/// \file examples/lessons/counter_server.hpp
/// `CounterServer` — seed 003 ("Section 3: Implementing Each Callback"),
/// the three snippets put together:
///   init/1         {:ok, %{count: n, started_at: DateTime.utc_now()}} for an
///                  integer, else {:stop, :invalid_initial_value}
///   handle_call    :get, :increment (replies the new count), {:add, n},
///                  :who_called (replies `from`), :slow_operation (replies
///                  later with GenServer.reply/2 from a spawned process)
///   handle_cast    :increment and :reset (increment_async, reset_async)
///
/// The init argument is any term in Elixir (`when is_integer(...)`): here
/// it is a `std::any`, so `start_link(5)` starts and `start_link("five"s)`
/// is refused. Note that start_link links: a refused start also sends the
/// caller the exit signal {:stop, reason} ended the process with (as in OTP).

#include <any>
#include <chrono>
#include <string>

#include "common.hpp"

namespace lessons::counter_server {

// --- Server callbacks
struct server {
  struct state {
    int count = 0;
    std::chrono::system_clock::time_point started_at;
  };
  struct get_req {
    using reply = int;
  };
  struct increment_req {
    using reply = int;
  };
  struct add_req {
    using reply = int;
    int n;
  };
  struct who_called_req {
    using reply = otp::from;
  };
  struct slow_operation_req {
    using reply = std::string;
  };
  struct increment_msg {};
  struct reset_msg {};

  otp::init_result<state> init(std::any initial_count) {
    // This runs in the NEW process; the caller blocks until it returns.
    if (auto* n = std::any_cast<int>(&initial_count)) return otp::ok(state{*n, std::chrono::system_clock::now()});
    return otp::stop(otp::exit_reason::other("invalid_initial_value"));
  }

  otp::call_result<int> handle_call(get_req, state& s) { return otp::reply(s.count); }
  otp::call_result<int> handle_call(increment_req, state& s) { return otp::reply(++s.count); }
  otp::call_result<int> handle_call(add_req r, state& s) { return otp::reply(s.count += r.n); }
  otp::call_result<otp::from> handle_call(who_called_req, const otp::from& from, state&) { return otp::reply(from); }
  otp::call_result<std::string> handle_call(slow_operation_req, const otp::from& from, state& s) {
    // Respond later from another process; don't block the server.
    otp::spawn([from, count = s.count] { otp::gen_server::reply(from, do_expensive_work(count)); });
    return otp::noreply();
  }

  otp::cast_result handle_cast(increment_msg, state& s) {
    ++s.count;
    return otp::noreply();
  }
  otp::cast_result handle_cast(reset_msg, state& s) {
    s.count = 0;
    return otp::noreply();
  }

  static std::string do_expensive_work(int count) { return "expensive result for count " + std::to_string(count); }
};

using ref = otp::server_ref<server>;

// --- Client API
inline otp::start_result<server> start_link(std::any initial_count) {
  return otp::gen_server::start_link<server>(std::move(initial_count));
}
inline int get(const ref& pid) { return otp::gen_server::call(pid, server::get_req{}); }
inline int increment(const ref& pid) { return otp::gen_server::call(pid, server::increment_req{}); }
inline int add(const ref& pid, int n) { return otp::gen_server::call(pid, server::add_req{n}); }
inline otp::from who_called(const ref& pid) { return otp::gen_server::call(pid, server::who_called_req{}); }
inline std::string slow_operation(const ref& pid) { return otp::gen_server::call(pid, server::slow_operation_req{}); }
inline void increment_async(const ref& pid) { otp::gen_server::cast(pid, server::increment_msg{}); }
inline void reset_async(const ref& pid) { otp::gen_server::cast(pid, server::reset_msg{}); }

}  // namespace lessons::counter_server
