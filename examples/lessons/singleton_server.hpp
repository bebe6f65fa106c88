#pragma once
/// \file examples/lessons/singleton_server.hpp
/// `SingletonServer` — seed 003 ("Named Processes"): registered under its
/// module name and called by name.
///
///   def start_link(_), do: GenServer.start_link(__MODULE__, nil, name: __MODULE__)
///   def get_value, do: GenServer.call(__MODULE__, :get)
///   def init(_), do: {:ok, 42}
///   def handle_call(:get, _from, state), do: {:reply, state, state}

#include "common.hpp"

namespace lessons::singleton_server {

inline const std::string name = "SingletonServer";

struct server {
  using state = int;
  struct get_req {  // :get
    using reply = int;
  };
  otp::init_result<state> init() { return otp::ok(42); }
  otp::call_result<int> handle_call(get_req, state& s) { return otp::reply(s); }
};

/// `start_link(_)`: the argument is ignored, as in the seed.
template <class Ignored = int>
otp::start_result<server> start_link(Ignored = {}) {
  return otp::gen_server::start_link<server>({.name = name});
}
inline int get_value() { return otp::gen_server::call(otp::server_ref<server>(name), server::get_req{}); }

}  // namespace lessons::singleton_server
