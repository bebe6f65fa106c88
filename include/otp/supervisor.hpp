#pragma once
/// \file otp/supervisor.hpp
/// Supervisors (Erlang's `supervisor`, Elixir's `Supervisor`): a gen_server
/// that starts children in order, restarts them by strategy within a
/// restart intensity, and stops them in reverse order.
///
///   auto sup = otp::supervisor::start_link(
///       {otp::child<counter>(0), otp::child<kv_store>({.id = "kv"})},
///       {.strategy = otp::supervisor::strategy::one_for_one}).value();
///   otp::supervisor::which_children(sup);   // [{"kv", <0.9.0>, worker}, {"counter", ...}]
///
/// A supervisor *module* is a type with `init(arg)` returning
/// `otp::supervisor::init_result` (a `spec`, or `ignore()`); start it with
/// `supervisor::start_link<M>(arg)` or put `otp::child<M>(arg)` in a parent.
///
/// Semantics follow OTP (../shared/otp-semantics.md §11): children start in
/// list order and a failing one aborts the start with
/// `{shutdown,{failed_to_start_child,Id,Reason}}`; `max_restarts` R within
/// `max_seconds` P (Elixir's defaults 3 and 5 s, whole seconds as OTP) —
/// the (R+1)-th restart in the window makes the supervisor stop its children
/// and exit `shutdown`; failed restarts are retried and count; supervisors
/// trap exits; sys messages work on them like on any gen_server.

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "otp/child_spec.hpp"
#include "otp/gen_server.hpp"

namespace otp {

/// The gen_server type that runs every supervisor (opaque).
class supervisor_server;

namespace supervisor {

enum class strategy { one_for_one, one_for_all, rest_for_one };
/// When significant children stop the supervisor (§11.22).
enum class auto_shutdown { never, any_significant, all_significant };

/// Supervisor flags. Elixir's defaults (`Supervisor.init/2`): 3 restarts in 5 s.
struct flags {
  supervisor::strategy strategy = strategy::one_for_one;
  int max_restarts = 3;
  std::chrono::seconds max_seconds{5};
  supervisor::auto_shutdown auto_shutdown = auto_shutdown::never;
};

/// What a supervisor module's init returns: the children and the flags.
struct spec {
  std::vector<child_spec> children;
  supervisor::flags flags;
};

/// `{ok, {Flags, Children}}` or `ignore` (start then returns ignored).
class init_result {
 public:
  init_result(spec s) : spec_(std::move(s)) {}  // NOLINT: implicit by design
  init_result(otp::detail::ignore_t) {}         // NOLINT
  std::optional<spec>& get() noexcept { return spec_; }

 private:
  std::optional<spec> spec_;
};

using ref = server_ref<supervisor_server>;
using start_result = otp::start_result<supervisor_server>;

/// What the child administration calls return: ok (with a pid, or none for
/// `{ok, undefined}`), `ignored()` (a dynamic supervisor's child returned
/// ignore), or an error reason such as `not_found`, `running`, `restarting`,
/// `already_present`, `max_children`, `{already_started, Pid}` (the pid also
/// in `existing()`), or the child's own start error.
class result {
 public:
  result() = default;
  static result ok_with(pid p) { return result(status::ok, std::move(p), {}, {}); }
  static result ignore() { return result(status::ignored, {}, exit_reason::other("ignore"), {}); }
  static result error(exit_reason reason, pid existing = {}) {
    return result(status::error, {}, std::move(reason), std::move(existing));
  }
  bool ok() const noexcept { return st_ == status::ok; }
  explicit operator bool() const noexcept { return ok(); }
  bool ignored() const noexcept { return st_ == status::ignored; }
  /// The child (empty for `{ok, undefined}`: it returned ignore).
  const pid& get_pid() const noexcept { return pid_; }
  const exit_reason& error() const noexcept { return error_; }
  const pid& existing() const noexcept { return existing_; }

 private:
  enum class status : unsigned char { ok, ignored, error };
  result(status st, pid p, exit_reason e, pid existing)
      : pid_(std::move(p)), error_(std::move(e)), existing_(std::move(existing)), st_(st) {}
  pid pid_;
  exit_reason error_;
  pid existing_;
  status st_ = status::ok;
};

/// One entry of which_children: `{Id, Child, Type, Modules}`.
struct child_info {
  enum class status { running, restarting, undefined };
  std::string id;  ///< empty for a dynamic supervisor's children (`undefined`)
  pid child;       ///< empty unless running
  status state = status::undefined;
  child_type type = child_type::worker;
};
/// count_children: `%{specs:, active:, supervisors:, workers:}`.
struct child_counts {
  std::size_t specs = 0;
  std::size_t active = 0;
  std::size_t supervisors = 0;
  std::size_t workers = 0;
  friend bool operator==(const child_counts&, const child_counts&) = default;
};

namespace detail {
using init_fn = std::function<init_result()>;
start_result start_core(init_fn init, const start_options& opts, otp::detail::start_mode mode);
}  // namespace detail

/// Starts a supervisor linked to the caller with these children and flags.
/// Returns when every child has started (or one failed: then the started
/// ones are stopped again and the error is `{shutdown,{failed_to_start_child,Id,Reason}}`).
start_result start_link(std::vector<child_spec> children, flags f = {}, const start_options& opts = {});
/// The same, not linked.
start_result start(std::vector<child_spec> children, flags f = {}, const start_options& opts = {});

/// Starts the supervisor module M (its `init(arg)` gives children and flags).
template <class M>
  requires otp::detail::init_traits<M>::takes_arg
start_result start_link(typename otp::detail::init_traits<M>::arg arg, const start_options& opts = {}) {
  return detail::start_core([a = std::move(arg)]() mutable { return M().init(std::move(a)); }, opts,
                            otp::detail::start_mode::link);
}
template <class M>
  requires(!otp::detail::init_traits<M>::takes_arg)
start_result start_link(const start_options& opts = {}) {
  return detail::start_core([] { return M().init(); }, opts, otp::detail::start_mode::link);
}

/// Children in reverse start order (as OTP's which_children).
std::vector<child_info> which_children(const otp::detail::target& sup);
child_counts count_children(const otp::detail::target& sup);
/// Stops the child (per its shutdown) and keeps its spec, except for a
/// temporary child. ok also if it is not running; else `not_found`.
result terminate_child(const otp::detail::target& sup, const std::string& id);
/// Starts a stopped child again: ok(pid), ok(none) if it returned ignore,
/// or `running`, `restarting`, `not_found`, or its start error.
result restart_child(const otp::detail::target& sup, const std::string& id);
/// Removes a stopped child's spec: ok, or `running`, `restarting`, `not_found`.
result delete_child(const otp::detail::target& sup, const std::string& id);
/// Adds and starts a child: ok(pid); ok(none) if it returned ignore (the spec
/// is kept); `{already_started, Pid}`; `already_present`; or
/// `{Reason, {child, Id}}` if its start failed (the spec is dropped).
result start_child(const otp::detail::target& sup, child_spec spec);
/// The child's spec as the supervisor holds it (defaults filled in).
std::optional<child_spec> get_childspec(const otp::detail::target& sup, const std::string& id);

}  // namespace supervisor

namespace detail {
template <class S>
  requires requires(S s) {
    { s.init() } -> std::same_as<supervisor::init_result>;
  } || requires(S s, typename init_traits<S>::arg a) {
    { s.init(std::move(a)) } -> std::same_as<supervisor::init_result>;
  }
inline constexpr bool is_supervisor_module<S> = true;

template <class S, class... A>
child_start start_child_of(const start_options& opts, const A&... arg) {
  if constexpr (is_supervisor_module<S>) return supervisor::start_link<S>(arg..., opts);
  else return gen_server::start_link<S>(arg..., opts);
}
}  // namespace detail

}  // namespace otp
