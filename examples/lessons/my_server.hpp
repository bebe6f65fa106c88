#pragma once
/// \file examples/lessons/my_server.hpp
/// `MyServer` — seed 003 ("Understanding the Boundary"): which process runs
/// which part. The client function prints its pid (the caller's), the
/// callback prints `state.server_pid` (the server's).
///
///   def get_value(pid) do
///     IO.puts("In get_value, my pid is: #{inspect(self())}")
///     GenServer.call(pid, :get)
///   end
///   def handle_call(:get, _from, state) do
///     IO.puts("In handle_call, my pid is: #{inspect(state.server_pid)}")
///     {:reply, state.value, state}
///   end
///
/// The seed shows no init; here init(value) records `self()` as
/// `server_pid` (where the callback really runs) and takes the value.
/// `IO.puts` is a `puts_fn` so that tests can read the lines.

#include <string>

#include "common.hpp"

namespace lessons::my_server {

struct options {
  int value = 0;
  puts_fn puts = stdout_puts;
};

struct server {
  struct state {
    otp::pid server_pid;
    int value = 0;
    puts_fn puts;
  };
  struct get_req {  // :get
    using reply = int;
  };
  otp::init_result<state> init(options o) { return otp::ok(state{otp::self(), o.value, std::move(o.puts)}); }
  otp::call_result<int> handle_call(get_req, state& s) {
    s.puts("In handle_call, my pid is: " + inspect(s.server_pid) + " (self() here: " + inspect(otp::self()) + ")");
    return otp::reply(s.value);
  }
};

using ref = otp::server_ref<server>;

inline otp::start_result<server> start_link(options o = {}) { return otp::gen_server::start_link<server>(std::move(o)); }
/// Runs in the CALLER's process; only handle_call runs in the server.
inline int get_value(const ref& pid, const puts_fn& puts = stdout_puts) {
  puts("In get_value, my pid is: " + inspect(otp::self()));
  return otp::gen_server::call(pid, server::get_req{});
}

}  // namespace lessons::my_server
