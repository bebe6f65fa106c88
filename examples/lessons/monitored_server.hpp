#pragma once
/// \file examples/lessons/monitored_server.hpp
/// `MonitoredServer` — seed 003 ("handle_info/2 - Everything Else"): init
/// monitors a process; handle_info gets its :DOWN, a :timeout, and a
/// catch-all for anything else.
///
///   def init(monitored_pid) do
///     ref = Process.monitor(monitored_pid)
///     {:ok, %{monitored: monitored_pid, ref: ref, alive: true}}
///   end
///   def handle_info({:DOWN, ref, :process, pid, reason}, state) ->
///     if ref == state.ref: IO.puts("Monitored process #{inspect(pid)} died: #{inspect(reason)}")
///                          {:noreply, %{state | alive: false}}
///     else {:noreply, state}
///   def handle_info(:timeout, state)  -> IO.puts("Timeout fired!")
///   def handle_info(msg, state)       -> IO.puts("Unexpected message: #{inspect(msg)}")
///
/// The seed has no client API besides start_link; its state is read with
/// :sys.get_state (otp::sys::get_state). Its init returns no timeout, so
/// :timeout only arrives if someone sends it (`send(pid, :timeout)`; here
/// `otp::send(pid, otp::gen_server::timeout_event{})`).

#include <string>

#include "common.hpp"

namespace lessons::monitored_server {

struct options {
  otp::pid monitored_pid;
  puts_fn puts = stdout_puts;
};

struct server {
  struct state {
    otp::pid monitored;
    otp::ref ref;
    bool alive = true;
    puts_fn puts;
  };
  using accepts = otp::types<otp::down_msg>;

  otp::init_result<state> init(options o) {
    // Set up a monitor - we'll get :DOWN messages in handle_info.
    otp::ref r = otp::monitor(o.monitored_pid);
    return otp::ok(state{o.monitored_pid, r, true, std::move(o.puts)});
  }

  otp::info_result handle_info(otp::down_msg d, state& s) {
    if (d.mref == s.ref) {
      s.puts("Monitored process " + inspect(d.process) + " died: " + d.reason.to_string());
      s.alive = false;
    }
    return otp::noreply();
  }
  otp::info_result handle_info(otp::gen_server::timeout_event, state& s) {
    s.puts("Timeout fired!");
    return otp::noreply();
  }
  otp::info_result handle_info(otp::message& msg, state& s) {
    s.puts("Unexpected message: " + msg.describe());
    return otp::noreply();
  }
};

using ref = otp::server_ref<server>;

inline otp::start_result<server> start_link(otp::pid monitored_pid, puts_fn puts = stdout_puts) {
  return otp::gen_server::start_link<server>(options{std::move(monitored_pid), std::move(puts)});
}

}  // namespace lessons::monitored_server
