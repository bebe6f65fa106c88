#pragma once
/// \file otp/task_supervisor.hpp
/// Elixir's `Task.Supervisor`: a dynamic supervisor of tasks. Tasks started
/// through it are its (temporary) children, so they are shut down with it,
/// and `async_nolink` lets a caller run work whose crash it survives:
///
///   auto ts = otp::task_supervisor::start_link().value();
///   auto t = otp::task_supervisor::async_nolink(ts, [] { return fetch(); });
///   auto r = otp::tasks::yield(t, 1s);   // {ok, v}, {exit, reason} or nullopt
///
/// Semantics (../shared/otp-semantics.md §13.8): `async` links the task to
/// the caller as `tasks::async` does; `async_nolink` does not (a crash
/// reaches the caller only as the monitor's DOWN: `await` then throws
/// `{Reason,{Task,await,[...]}}`); both are monitored and awaited with
/// `otp::tasks::await/yield/shutdown`. `start_child` runs a function with
/// no reply (`{ok, pid}`).

#include <chrono>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "otp/child_spec.hpp"
#include "otp/dynamic_supervisor.hpp"
#include "otp/error.hpp"
#include "otp/process.hpp"
#include "otp/task.hpp"

namespace otp::task_supervisor {

/// `Task.Supervisor.start_link/1` options.
struct options {
  std::optional<std::size_t> max_children;  ///< nullopt: infinity
  int max_restarts = 3;
  std::chrono::seconds max_seconds{5};
};

dynamic_supervisor::start_result start_link(options o = {}, const start_options& opts = {});

namespace detail {
supervisor::result start_task_child(const otp::detail::target& sup, start_function start, restart_type restart,
                                    shutdown_policy shutdown);

template <class F>
task<otp::detail::task_value_t<F>> supervised_async(const otp::detail::target& sup, F&& fn, bool link) {
  using T = otp::detail::task_value_t<F>;
  auto slot = std::make_shared<otp::detail::task_slot>();
  pid owner = self();
  // Shared: a restart type other than temporary would start it again.
  auto shared_fn = std::make_shared<std::decay_t<F>>(std::forward<F>(fn));
  auto r = start_task_child(
      sup,
      [shared_fn, owner, slot]() -> child_start {
        return spawn_link([shared_fn, owner, slot] {
          ref tref = otp::detail::task_await_go();
          T v = otp::detail::run_task_fn<T>(*shared_fn);
          if (slot->claim()) send(owner, task_reply<T>{tref, std::move(v)});
        });
      },
      restart_type::temporary, std::chrono::milliseconds(5000));
  if (!r.ok()) throw exit_error(r.error());  // e.g. max_children (Elixir raises too)
  pid p = r.get_pid();
  // The task waits for task_start's go-ahead, so it is alive to link to.
  if (link) otp::link(p);
  ref tref = otp::detail::task_start(p);
  return task<T>(std::move(p), tref, std::move(owner), std::move(slot));
}
}  // namespace detail

/// A task under `sup`, linked to the caller and monitored (Elixir
/// `Task.Supervisor.async/2`). Throws `otp::exit_error` if the supervisor
/// refuses it (`max_children`).
template <class F>
task<otp::detail::task_value_t<F>> async(const otp::detail::target& sup, F&& fn) {
  return detail::supervised_async(sup, std::forward<F>(fn), true);
}
/// A task under `sup`, monitored but not linked (Elixir
/// `Task.Supervisor.async_nolink/2`): its crash does not kill the caller.
template <class F>
task<otp::detail::task_value_t<F>> async_nolink(const otp::detail::target& sup, F&& fn) {
  return detail::supervised_async(sup, std::forward<F>(fn), false);
}

/// Runs `fn()` under `sup` with no reply (Elixir
/// `Task.Supervisor.start_child/3`): ok(pid) or the supervisor's error.
/// `restart` may be `transient` (restarted if it crashes); the default is
/// `temporary`.
template <class F>
supervisor::result start_child(const otp::detail::target& sup, F&& fn,
                               restart_type restart = restart_type::temporary,
                               shutdown_policy shutdown = std::chrono::milliseconds(5000)) {
  auto shared_fn = std::make_shared<std::decay_t<F>>(std::forward<F>(fn));
  return detail::start_task_child(
      sup, [shared_fn]() -> child_start { return spawn_link([shared_fn] { (void)std::invoke(*shared_fn); }); },
      restart, shutdown);
}

/// The running tasks' pids (Elixir `Task.Supervisor.children/1`).
std::vector<pid> children(const otp::detail::target& sup);
/// Stops a task (Elixir `Task.Supervisor.terminate_child/2`): ok or `not_found`.
supervisor::result terminate_child(const otp::detail::target& sup, const pid& task);

}  // namespace otp::task_supervisor
