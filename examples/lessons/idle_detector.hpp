#pragma once
/// \file examples/lessons/idle_detector.hpp
/// `IdleDetector` — seed 003 ("Section 5: Timeouts"): the timeout element
/// of a callback result. :timeout arrives in handle_info after
/// @idle_timeout ms with no message; every :ping resets it.
///
///   def init(_), do: {:ok, %{last_activity: DateTime.utc_now()}, @idle_timeout}
///   def handle_call(:ping, _from, state),
///     do: {:reply, :pong, %{state | last_activity: DateTime.utc_now()}, @idle_timeout}
///   def handle_info(:timeout, state) do
///     IO.puts("Been idle since #{state.last_activity}")
///     {:noreply, state, @idle_timeout}
///   end
///
/// @idle_timeout (5_000 ms) is configurable. `last_activity` is read on the
/// node's clock (ms since the node started; the manual clock in tests)
/// instead of DateTime.utc_now(). The seed has no client API; here
/// start_link(options) and ping(pid) (-> "pong").

#include <chrono>
#include <string>

#include "common.hpp"

namespace lessons::idle_detector {

using namespace std::chrono_literals;

struct options {
  std::chrono::milliseconds idle_timeout = 5'000ms;
  puts_fn puts = stdout_puts;
};

struct server {
  struct state {
    std::chrono::milliseconds last_activity{};
    std::chrono::milliseconds idle_timeout{};
    std::size_t timeouts = 0;
    puts_fn puts;
  };
  struct ping_req {  // :ping -> :pong
    using reply = std::string;
  };

  otp::init_result<state> init(options o) {
    // Will receive :timeout in handle_info after idle_timeout of no messages.
    auto t = o.idle_timeout;
    return otp::ok(state{lessons::now(), t, 0, std::move(o.puts)}, t);
  }
  otp::call_result<std::string> handle_call(ping_req, state& s) {
    s.last_activity = lessons::now();
    return otp::reply(std::string("pong"), s.idle_timeout);  // reset the timeout
  }
  otp::info_result handle_info(otp::gen_server::timeout_event, state& s) {
    ++s.timeouts;
    s.puts("Been idle since " + std::to_string(s.last_activity.count()) + " ms");
    return otp::noreply(s.idle_timeout);
  }
};

using ref = otp::server_ref<server>;

inline otp::start_result<server> start_link(options o = {}) { return otp::gen_server::start_link<server>(std::move(o)); }
inline std::string ping(const ref& pid) { return otp::gen_server::call(pid, server::ping_req{}); }

}  // namespace lessons::idle_detector
