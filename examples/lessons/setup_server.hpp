#pragma once
/// \file examples/lessons/setup_server.hpp
/// The init/1 snippet of seed 001 ("For expensive initialization, return
/// {:ok, state} quickly and send yourself a message to do the work
/// asynchronously"). The seed gives it no module name; here `SetupServer`,
/// with a `status(pid)` call to watch :initializing become :ready.
///
///   def init(args) do
///     send(self(), :do_expensive_setup)
///     {:ok, %{status: :initializing}}
///   end
///   def handle_info(:do_expensive_setup, state) do
///     # expensive work here
///     {:noreply, %{state | status: :ready}}
///   end
///
/// start_link returns as soon as init has returned; the setup message is
/// the first thing in the mailbox, so a call made after start_link sees
/// :ready (it waits behind the setup). sys::get_state right after
/// start_link can be made before it too — it goes in the same queue.

#include <string>

#include "common.hpp"

namespace lessons::setup_server {

struct server {
  struct state {
    std::string status;
    int setup_runs = 0;
  };
  struct do_expensive_setup {};
  struct status_req {
    using reply = std::string;
  };
  using accepts = otp::types<do_expensive_setup>;

  otp::init_result<state> init() {
    otp::send(otp::self(), do_expensive_setup{});
    return otp::ok(state{":initializing"});
  }
  otp::info_result handle_info(do_expensive_setup, state& s) {
    // expensive work here
    s.status = ":ready";
    ++s.setup_runs;
    return otp::noreply();
  }
  otp::call_result<std::string> handle_call(status_req, state& s) { return otp::reply(s.status); }
};

using ref = otp::server_ref<server>;

inline otp::start_result<server> start_link() { return otp::gen_server::start_link<server>(); }
inline std::string status(const ref& pid) { return otp::gen_server::call(pid, server::status_req{}); }

}  // namespace lessons::setup_server
