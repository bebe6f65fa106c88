#pragma once
/// \file examples/lessons/sum_server.hpp
/// `SumServer` — seed 002 (Elixir in Action, listing 1.2): a server process
/// that adds two numbers. Started with GenServer.start (not linked, not
/// named) and a nil state; no init/1 (the `use GenServer` default returns
/// {:ok, nil}, here the server declares no state at all).
///
///   def start, do: GenServer.start(__MODULE__, nil)
///   def sum(server, a, b), do: GenServer.call(server, {:sum, a, b})
///   def handle_call({:sum, a, b}, _from, state), do: {:reply, a + b, state}

#include "common.hpp"

namespace lessons::sum_server {

struct server {
  struct sum_req {  // {:sum, a, b}
    using reply = long long;
    long long a, b;
  };
  otp::call_result<long long> handle_call(sum_req r, const otp::from&) { return otp::reply(r.a + r.b); }
};

using ref = otp::server_ref<server>;

inline otp::start_result<server> start() { return otp::gen_server::start<server>(); }
inline long long sum(const ref& srv, long long a, long long b) {
  return otp::gen_server::call(srv, server::sum_req{a, b});
}

}  // namespace lessons::sum_server
