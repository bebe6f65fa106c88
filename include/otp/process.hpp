#pragma once
/// \file otp/process.hpp
/// The process API, mirroring Erlang's BIFs: spawn*, self, send, exit,
/// link/unlink, monitor/demonitor, trap_exit, local names, process_info.
///
/// Every function may be called from a process or from a foreign thread (a
/// thread the node does not own): a foreign thread gets a thread-bound
/// pseudo-process on first use, which blocks only that thread.

#include <chrono>
#include <cstddef>
#include <memory>
#include <new>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "otp/error.hpp"
#include "otp/exit_reason.hpp"
#include "otp/message.hpp"
#include "otp/pid.hpp"
#include "otp/ref.hpp"

namespace otp {

/// Options for spawn, spawn_link and spawn_monitor (Erlang's spawn_opt).
struct spawn_options {
  std::size_t stack_size = 0;  ///< bytes; 0 = the node's default (a pooled stack)
  bool trap_exit = false;      ///< start with trap_exit set
  std::string name;            ///< register this local name before the body runs
};

/// A trapped exit signal: Erlang's `{'EXIT', From, Reason}`.
struct exit_msg {
  pid from;
  exit_reason reason;
};

/// A monitor notification: Erlang's `{'DOWN', Ref, process, Object, Reason}`.
/// `name` is set when the monitor was made by registered name.
struct down_msg {
  ref mref;
  pid process;
  std::string name;
  exit_reason reason;
};

namespace detail {
/// Objects the runtime keeps one of per process (process bodies, server
/// callbacks) live in its block pool, which spares them malloc's page faults
/// and cross-thread lock traffic (src/runtime/block_pool.hpp). Over-aligned
/// types go to the global aligned operator new.
struct pooled {
  static void* operator new(std::size_t n);
  static void operator delete(void* p) noexcept;
  static void* operator new(std::size_t n, std::align_val_t a) { return ::operator new(n, a); }
  static void operator delete(void* p, std::align_val_t a) noexcept { ::operator delete(p, a); }
};
struct body_base : pooled {
  virtual ~body_base() = default;
  virtual void run() = 0;
  /// Bodies that wait without a stack (gen_server) are resumed here.
  virtual void resume() {}
};
template <class F>
struct body_impl final : body_base {
  explicit body_impl(F&& f) : fn(std::move(f)) {}
  explicit body_impl(const F& f) : fn(f) {}
  void run() override { fn(); }
  F fn;
};
/// link_monitor: both at once, as `spawn_opt(F, [link, monitor])` (Task).
/// For monitor modes, a non-empty `*mref` is used as the monitor's ref, so
/// the body may capture the ref before the process exists.
enum class spawn_mode { plain, link, monitor, link_monitor };
pid spawn_core(std::unique_ptr<body_base> body, const spawn_options& opts, spawn_mode mode, ref* mref);
void send_core(const pid& to, message&& m);
void send_core(std::string_view name, message&& m);
template <class F>
std::unique_ptr<body_base> make_body(F&& f) {
  return std::make_unique<body_impl<std::decay_t<F>>>(std::forward<F>(f));
}
}  // namespace detail

/// Starts a process running `f()` (Erlang `spawn/1`). When `f` returns the
/// process exits `normal`; an escaping exception becomes its exit reason.
template <class F>
pid spawn(F&& f, const spawn_options& opts = {}) {
  return detail::spawn_core(detail::make_body(std::forward<F>(f)), opts, detail::spawn_mode::plain, nullptr);
}
/// Like spawn, atomically linked to the caller (Erlang `spawn_link/1`).
template <class F>
pid spawn_link(F&& f, const spawn_options& opts = {}) {
  return detail::spawn_core(detail::make_body(std::forward<F>(f)), opts, detail::spawn_mode::link, nullptr);
}
/// Like spawn, atomically monitored by the caller (Erlang `spawn_monitor/1`).
template <class F>
std::pair<pid, ref> spawn_monitor(F&& f, const spawn_options& opts = {}) {
  ref r;
  pid p = detail::spawn_core(detail::make_body(std::forward<F>(f)), opts, detail::spawn_mode::monitor, &r);
  return {std::move(p), r};
}

/// The calling process (a foreign thread's pseudo-process if not in a process).
pid self();

/// Sends `m` to `to`. Never fails and never blocks: a message to a dead
/// process is dropped (Erlang `!`). Per sender–receiver pair, order is kept.
template <class T>
void send(const pid& to, T&& m) {
  detail::send_core(to, message(std::forward<T>(m)));
}
/// Sends to a locally registered name; throws `otp::badarg` if no process has
/// that name (as `erlang:send/2` raises badarg).
template <class T>
void send(std::string_view name, T&& m) {
  detail::send_core(name, message(std::forward<T>(m)));
}

/// Links the caller and `p` (idempotent). If `p` is dead: a trapping caller
/// gets `exit_msg{p, noproc}`; a non-trapping one gets `otp::exit_error(noproc)`.
void link(const pid& p);
/// Removes the link in both directions; no exit signal of it arrives after.
void unlink(const pid& p);

/// Monitors `p`: a `down_msg` arrives when it exits (at once with `noproc` if
/// it is already dead). Each call makes an independent monitor.
ref monitor(const pid& p);
/// Monitors the process registered as `name`; `down_msg::name` is set, and an
/// unregistered name gives an immediate `noproc` DOWN.
ref monitor(std::string_view name);

struct demonitor_options {
  bool flush = false;  ///< also remove a DOWN for this monitor already in the mailbox
  bool info = false;   ///< return whether the monitor was still active
};
/// Removes a monitor. Once it returns, no DOWN for `r` will arrive. Returns
/// true, or with `info`: whether the monitor was active (Erlang semantics).
bool demonitor(const ref& r, demonitor_options opts = {});

/// Sends an exit signal to `p` (Erlang `exit/2`). `kill` is untrappable and
/// the victim dies `killed`; `normal` is ignored by a non-trapping target
/// unless the target is the caller itself. Dead targets: no effect.
void exit(const pid& p, const exit_reason& reason);
/// Terminates the calling process with `reason` (Erlang `exit/1`).
[[noreturn]] void exit(const exit_reason& reason);

/// Sets the caller's trap_exit flag; returns the previous value.
bool trap_exit(bool on);

/// Registers `name` for `p`. Throws `otp::badarg` if the name is taken, `p`
/// already has a name, or `p` is not alive. A name is freed when its process dies.
void register_name(std::string name, const pid& p);
/// Removes a registration; returns false if the name was not registered.
bool unregister(std::string_view name);
/// The pid registered as `name`, if any.
std::optional<pid> whereis(std::string_view name);
/// All registered names.
std::vector<std::string> registered();

/// True while `p` has not exited.
bool is_alive(const pid& p);

enum class process_status : std::uint8_t { runnable, running, waiting, exiting };
/// What `process_info` reports (Erlang `process_info/1` items).
struct process_details {
  std::size_t message_queue_len = 0;
  std::vector<pid> links;
  std::vector<ref> monitors;       ///< monitors this process holds
  std::vector<pid> monitored_by;   ///< processes monitoring this one
  bool trap_exit = false;
  process_status status = process_status::waiting;
  std::size_t memory = 0;          ///< bytes: control block + queued messages + stack
  std::string registered_name;     ///< empty if none
  bool hibernated = false;         ///< a gen_server hibernating (OTP's erlang:hibernate/3)
};
/// Information about `p`, or nullopt if it is dead. For another process this
/// is a request it answers at its next scheduling point (as in ERTS).
std::optional<process_details> process_info(const pid& p);

}  // namespace otp
