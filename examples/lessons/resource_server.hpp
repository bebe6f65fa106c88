#pragma once
/// \file examples/lessons/resource_server.hpp
/// `ResourceServer` — seed 003 ("terminate/2 - Cleanup"): "whatever was
/// done in init/1 should have its opposite in terminate/2".
///
///   def init(_) do
///     file = File.open!("/tmp/server.log", [:write])
///     {:ok, %{file: file}}
///   end
///   def terminate(reason, state) do
///     IO.puts("Terminating because: #{inspect(reason)}")
///     File.close(state.file)
///     :ok
///   end
///
/// The seed has only init and terminate. To exercise its "When Does
/// terminate/2 Run?" table this version adds a small client API:
/// `write_line` (so there is something to flush on close), `crash`
/// (an exception in handle_cast), `stop_with` (handle_cast returns
/// {:stop, reason, state}) and `stop` (GenServer.stop/2). The path is
/// configurable (default /tmp/server.log), and `trap_exit` makes init trap
/// exits (terminate runs on the parent's shutdown only then).
///
/// The file is a C `FILE*` (buffered): lines written reach the disk when
/// terminate closes it — like an Elixir file handle, nothing closes it for
/// you if terminate does not run.

#include <cstdio>
#include <memory>
#include <stdexcept>
#include <string>

#include "common.hpp"

namespace lessons::resource_server {

struct options {
  std::string path = "/tmp/server.log";
  puts_fn puts = stdout_puts;
  bool trap_exit = false;
};

struct server {
  struct state {
    std::shared_ptr<std::FILE> file;  // shared so that :sys.get_state can copy the state
    puts_fn puts;
  };
  struct write_line_msg {
    std::string line;
  };
  struct crash_msg {};
  struct stop_with_msg {
    otp::exit_reason reason;
  };

  otp::init_result<state> init(options o) {
    if (o.trap_exit) otp::trap_exit(true);
    // Open a resource (File.open! raises: so does this)
    std::FILE* f = std::fopen(o.path.c_str(), "w");
    if (!f) throw std::runtime_error("File.open!: cannot open " + o.path);
    return otp::ok(state{std::shared_ptr<std::FILE>(f, [](std::FILE* p) { std::fclose(p); }), std::move(o.puts)});
  }

  otp::cast_result handle_cast(write_line_msg m, state& s) {
    std::fputs((m.line + "\n").c_str(), s.file.get());
    return otp::noreply();
  }
  otp::cast_result handle_cast(crash_msg, state&) { throw std::runtime_error("boom"); }
  otp::cast_result handle_cast(stop_with_msg m, state&) { return otp::stop(m.reason); }

  void terminate(const otp::exit_reason& reason, state& s) {
    // Clean up the resource
    s.puts("Terminating because: " + reason.to_string());
    s.file.reset();  // File.close(state.file)
  }
};

using ref = otp::server_ref<server>;

inline otp::start_result<server> start_link(options o = {}) { return otp::gen_server::start_link<server>(std::move(o)); }
inline otp::start_result<server> start(options o = {}) { return otp::gen_server::start<server>(std::move(o)); }
inline void write_line(const ref& pid, std::string line) {
  otp::gen_server::cast(pid, server::write_line_msg{std::move(line)});
}
inline void crash(const ref& pid) { otp::gen_server::cast(pid, server::crash_msg{}); }
inline void stop_with(const ref& pid, otp::exit_reason reason) {
  otp::gen_server::cast(pid, server::stop_with_msg{std::move(reason)});
}
/// GenServer.stop(pid, reason): returns once terminate has run and the server exited.
inline void stop(const ref& pid, otp::exit_reason reason = otp::exit_reason::normal()) {
  otp::gen_server::stop(pid.target(), std::move(reason));
}

}  // namespace lessons::resource_server
