#pragma once
/// \file otp/child_spec.hpp
/// What a supervisor knows about a child (OTP's child specification,
/// Elixir's `child_spec/1` map): how to start it, when to restart it, how to
/// stop it. Shared by `otp::supervisor` and `otp::dynamic_supervisor`.
///
///   otp::child<counter>(0)                                   // id "counter", permanent worker
///   otp::child<cache>(cfg, {.id = "cache", .restart = otp::restart_type::transient})
///   otp::child_spec{.id = "x", .start = [] { return otp::gen_server::start_link<x>(); }}

#include <any>
#include <chrono>
#include <concepts>
#include <functional>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>

#include "otp/describe.hpp"
#include "otp/exit_reason.hpp"
#include "otp/gen_server.hpp"
#include "otp/pid.hpp"

namespace otp {

/// `permanent` (always restarted), `transient` (restarted unless it exits
/// normal, shutdown or {shutdown, _}), `temporary` (never; its spec is
/// deleted when it exits). OTP §11.13.
enum class restart_type { permanent, transient, temporary };
/// A worker, or a supervisor (default shutdown infinity, counted apart).
enum class child_type { worker, supervisor };

/// How a supervisor stops a child: `exit(child, shutdown)` then `kill`
/// after a time, `brutal_kill` at once, or wait for ever (`infinity`).
class shutdown_policy {
 public:
  enum class kind : unsigned char { brutal_kill, timeout, infinity };
  template <class Rep, class Period>
  shutdown_policy(std::chrono::duration<Rep, Period> d)  // NOLINT: implicit by design
      : kind_(kind::timeout), ms_(std::chrono::duration_cast<std::chrono::milliseconds>(d)) {}
  static shutdown_policy brutal_kill() { return shutdown_policy(kind::brutal_kill); }
  static shutdown_policy infinity() { return shutdown_policy(kind::infinity); }
  kind get_kind() const noexcept { return kind_; }
  std::chrono::milliseconds get_timeout() const noexcept { return ms_; }
  std::string to_string() const;
  friend bool operator==(const shutdown_policy&, const shutdown_policy&) = default;

 private:
  explicit shutdown_policy(kind k) : kind_(k) {}
  kind kind_;
  std::chrono::milliseconds ms_{0};
};

/// What a child's start function returns: `{ok, Pid}`, `ignore` or
/// `{error, Reason}`. Made from a `start_result` or a pid.
class child_start {
 public:
  child_start(pid p) : pid_(std::move(p)) {}  // NOLINT: implicit by design
  template <class S>
  child_start(const start_result<S>& r)  // NOLINT
      : pid_(r.get_pid()), ignored_(r.ignored()), error_(r.error()) {}
  static child_start ignore() { return child_start(pid{}, true, {}); }
  static child_start error(exit_reason reason) { return child_start(pid{}, false, std::move(reason)); }

  bool ok() const noexcept { return static_cast<bool>(pid_); }
  bool ignored() const noexcept { return ignored_; }
  const pid& get_pid() const noexcept { return pid_; }
  const exit_reason& get_error() const noexcept { return error_; }

 private:
  child_start(pid p, bool ignored, exit_reason e) : pid_(std::move(p)), ignored_(ignored), error_(std::move(e)) {}
  pid pid_;
  bool ignored_ = false;
  exit_reason error_;
};

/// A child's start function: `child_start()` or, to receive a dynamic
/// supervisor's `extra_arguments` (Elixir prepends them to the start args),
/// `child_start(const std::any& extra)`. It runs in the supervisor, so a
/// `start_link` in it links the child to the supervisor.
class start_function {
 public:
  start_function() = default;
  template <class F>
    requires std::invocable<F&> && std::convertible_to<std::invoke_result_t<F&>, child_start>
  start_function(F f)  // NOLINT: implicit by design
      : fn_([f = std::move(f)](const std::any&) mutable -> child_start { return f(); }) {}
  template <class F>
    requires std::invocable<F&, const std::any&> &&
             std::convertible_to<std::invoke_result_t<F&, const std::any&>, child_start>
  start_function(F f)  // NOLINT
      : fn_(std::move(f)) {}
  child_start operator()(const std::any& extra) const { return fn_(extra); }
  explicit operator bool() const noexcept { return static_cast<bool>(fn_); }

 private:
  std::function<child_start(const std::any&)> fn_;
};

/// OTP's child specification. `shutdown` defaults to 5000 ms for a worker
/// and `infinity` for a supervisor (§11.1); `significant` children stop
/// their supervisor when they exit and are not restarted (§11.22).
struct child_spec {
  std::string id;
  start_function start;
  restart_type restart = restart_type::permanent;
  std::optional<shutdown_policy> shutdown;
  child_type type = child_type::worker;
  bool significant = false;

  /// The shutdown in effect (the default for the type if unset).
  shutdown_policy effective_shutdown() const {
    if (shutdown) return *shutdown;
    return type == child_type::worker ? shutdown_policy(std::chrono::milliseconds(5000))
                                      : shutdown_policy::infinity();
  }
};

/// Options of `otp::child<S>(...)`: the spec fields and the server's start options.
struct child_options {
  std::string id;  ///< default: the server type's name
  restart_type restart = restart_type::permanent;
  std::optional<shutdown_policy> shutdown;
  bool significant = false;
  start_options server;  ///< name, debug, ... of the started server
};

namespace detail {
template <class S>
inline constexpr bool is_supervisor_module = false;  // specialised by otp/supervisor.hpp
template <class S>
std::string default_child_id() {
  return demangle(typeid(S).name());
}
template <class S, class... A>
child_start start_child_of(const start_options& opts, const A&... arg);
}  // namespace detail

namespace detail {
template <class S>
child_spec child_spec_of(child_options& opts) {
  return child_spec{.id = opts.id.empty() ? default_child_id<S>() : std::move(opts.id),
                    .start = {},
                    .restart = opts.restart,
                    .shutdown = opts.shutdown,
                    .type = is_supervisor_module<S> ? child_type::supervisor : child_type::worker,
                    .significant = opts.significant};
}
}  // namespace detail

/// The child spec of a gen_server (or supervisor module) S started with
/// `start_link<S>(arg, opts.server)` — Elixir's `{Module, arg}` child.
/// `arg` is copied: every restart starts from it. (Defined with
/// otp/supervisor.hpp, which every user of a child spec includes.)
template <class S>
  requires otp::detail::init_traits<S>::takes_arg
child_spec child(typename otp::detail::init_traits<S>::arg arg, child_options opts = {}) {
  child_spec spec = detail::child_spec_of<S>(opts);
  spec.start = [a = std::move(arg), so = std::move(opts.server)] { return detail::start_child_of<S>(so, a); };
  return spec;
}
template <class S>
  requires(!otp::detail::init_traits<S>::takes_arg)
child_spec child(child_options opts = {}) {
  child_spec spec = detail::child_spec_of<S>(opts);
  spec.start = [so = std::move(opts.server)] { return detail::start_child_of<S>(so); };
  return spec;
}

}  // namespace otp
