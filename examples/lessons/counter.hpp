#pragma once
/// \file examples/lessons/counter.hpp
/// `Counter` — seed 001 ("Your First GenServer"): a counter registered
/// under its module name, so the client API needs no pid.
///
///   defmodule Counter do
///     use GenServer
///     def start_link(initial_count \\ 0),
///       do: GenServer.start_link(__MODULE__, initial_count, name: __MODULE__)
///     def increment(amount \\ 1), do: GenServer.cast(__MODULE__, {:increment, amount})
///     def get_count, do: GenServer.call(__MODULE__, :get_count)
///     def init(initial_count), do: {:ok, initial_count}
///     def handle_cast({:increment, amount}, count), do: {:noreply, count + amount}
///     def handle_call(:get_count, _from, count), do: {:reply, count, count}
///   end

#include "common.hpp"

namespace lessons::counter {

/// `__MODULE__`: the registered name.
inline const std::string name = "Counter";

// --- Server callbacks (run in the server process)
struct server {
  using state = int;
  struct increment_msg {  // {:increment, amount}
    int amount;
  };
  struct get_count_req {  // :get_count
    using reply = int;
  };
  /// What a BEAM client's terms may be (otp/dist.hpp): `{:increment, n}`, `:get_count`.
  using accepts = otp::types<increment_msg, get_count_req>;

  otp::init_result<state> init(int initial_count) { return otp::ok(initial_count); }
  otp::cast_result handle_cast(increment_msg m, state& count) {
    count += m.amount;
    return otp::noreply();
  }
  otp::call_result<int> handle_call(get_count_req, const otp::from&, state& count) { return otp::reply(count); }
};

// The messages as Elixir writes them, for calls from other nodes.
OTP_TERM_TUPLE(server::increment_msg, "increment", amount)
OTP_TERM_TUPLE(server::get_count_req, "get_count")

// --- Client API (runs in the caller's process)
inline otp::start_result<server> start_link(int initial_count = 0) {
  return otp::gen_server::start_link<server>(initial_count, {.name = name});
}
inline void increment(int amount = 1) { otp::gen_server::cast(otp::server_ref<server>(name), server::increment_msg{amount}); }
inline int get_count() { return otp::gen_server::call(otp::server_ref<server>(name), server::get_count_req{}); }

}  // namespace lessons::counter
