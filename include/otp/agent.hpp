#pragma once
/// \file otp/agent.hpp
/// Elixir's `Agent`: a process holding a state, read and changed by
/// functions sent to it. A gen_server underneath (§13.10), so every call
/// behaves as `gen_server::call` does.
///
///   auto a = otp::agents::start_link([] { return std::vector<int>{}; }).value();  // agent<vector<int>>
///   a.update([](std::vector<int> v) { v.push_back(1); return v; });
///   std::size_t n = a.get([](const std::vector<int>& v) { return v.size(); });   // 1
///   int first = a.get_and_update([](std::vector<int> v) {
///     int x = v.front(); v.erase(v.begin()); return std::pair{x, v}; });         // 1, state {}
///   a.cast([](std::vector<int> v) { v.push_back(2); return v; });                 // async
///   a.stop();
///
/// The functions run in the agent. Failures:
///  * a call that does not finish in time throws `otp::exit_error`
///    `{timeout,{gen_server,call,[Agent,Request,Timeout]}}` (the agent goes on);
///  * a function that throws crashes the agent, and the caller's call
///    throws `{{Exception,What},{gen_server,call,[...]}}`;
///  * an init function that throws makes start return `error()` =
///    `{Exception,What}` (and, with start_link, the link carries it: §1.9).
///
/// A function given to update, cast or get_and_update may take the state by
/// value (it is moved in: the agent then keeps what it returns) or, if it
/// returns void, by `State&` to change it in place.

#include <functional>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>

#include "otp/gen_server.hpp"

namespace otp {

template <class State>
class agent;

namespace detail {

/// A move-only `R(A...)` callable (std::function wants copyable targets;
/// an agent function may own move-only things).
template <class Sig>
class unique_fn;
template <class R, class... A>
class unique_fn<R(A...)> {
 public:
  template <class F>
    requires(!std::is_same_v<std::decay_t<F>, unique_fn>)
  unique_fn(F&& f) : p_(std::make_unique<impl<std::decay_t<F>>>(std::forward<F>(f))) {}  // NOLINT
  R operator()(A... a) { return p_->call(std::forward<A>(a)...); }

 private:
  struct base {
    virtual ~base() = default;
    virtual R call(A... a) = 0;
  };
  template <class F>
  struct impl final : base {
    explicit impl(F&& f) : fn(std::move(f)) {}
    explicit impl(const F& f) : fn(f) {}
    R call(A... a) override { return std::invoke(fn, std::forward<A>(a)...); }
    F fn;
  };
  std::unique_ptr<base> p_;
};

/// Applies an update function to the state: `s = fn(move(s))`, or `fn(s)`
/// for a function returning void that takes `State&`.
template <class State, class F>
void agent_apply(F& fn, State& s) {
  if constexpr (std::is_invocable_v<F&, State&&>) {
    using R = std::invoke_result_t<F&, State&&>;
    if constexpr (std::is_void_v<R>) {
      std::invoke(fn, s);  // e.g. a `const State&` reader: nothing changes
    } else {
      static_assert(std::is_convertible_v<R, State>, "otp::agent: an update function must return the new state");
      s = std::invoke(fn, std::move(s));
    }
  } else {
    static_assert(std::is_invocable_v<F&, State&>, "otp::agent: the function must take the state");
    static_assert(std::is_void_v<std::invoke_result_t<F&, State&>>,
                  "otp::agent: a function taking State& changes it in place and returns void");
    std::invoke(fn, s);
  }
}

/// The gen_server behind an agent of State.
template <class State>
struct agent_server {
  using state = State;
  /// The init function (Elixir `Agent.start_link(fun)`).
  struct agent_init {
    unique_fn<State()> fn;
  };
  /// `{get, fun}`: the reply is fn(state).
  struct agent_get {
    using reply = message;
    unique_fn<message(const State&)> fn;
  };
  /// `{update, fun}`: the reply is `ok`.
  struct agent_update {
    using reply = bool;
    unique_fn<void(State&)> fn;
  };
  /// `{get_and_update, fun}`: fn(state) gives {reply, new state}.
  struct agent_get_and_update {
    using reply = message;
    unique_fn<message(State&)> fn;
  };
  /// `{cast, fun}`.
  struct agent_cast {
    unique_fn<void(State&)> fn;
  };

  init_result<State> init(agent_init a) { return ok(a.fn()); }
  call_result<message> handle_call(agent_get r, State& s) { return reply(r.fn(s)); }
  call_result<bool> handle_call(agent_update r, State& s) {
    r.fn(s);
    return reply(true);
  }
  call_result<message> handle_call(agent_get_and_update r, State& s) { return reply(r.fn(s)); }
  cast_result handle_cast(agent_cast c, State& s) {
    c.fn(s);
    return noreply();
  }
};

}  // namespace detail

/// What agent start functions return: the agent, or why it did not start
/// (Elixir's `{ok, pid}` / `{error, reason}`).
template <class State>
class agent_start_result {
 public:
  using server = detail::agent_server<State>;
  explicit agent_start_result(start_result<server> r) : r_(std::move(r)) {}
  bool ok() const noexcept { return r_.ok(); }
  explicit operator bool() const noexcept { return ok(); }
  /// The error: the init function's exception `{Type,What}`, `timeout`,
  /// `{already_started,Pid}` (then `existing()` is set).
  const exit_reason& error() const noexcept { return r_.error(); }
  const pid& existing() const noexcept { return r_.existing(); }
  const pid& get_pid() const noexcept { return r_.get_pid(); }
  /// The agent; throws `otp::exit_error` with the error.
  agent<State> value() const;
  /// The underlying gen_server start result (for supervisors' child_start).
  const start_result<server>& raw() const noexcept { return r_; }

 private:
  start_result<server> r_;
};

/// A handle on an agent holding a `State`: a pid or a registered name.
template <class State>
class agent {
 public:
  using server = detail::agent_server<State>;

  agent() = default;
  agent(pid p) : ref_(std::move(p)) {}                          // NOLINT: implicit by design
  agent(server_name n) : ref_(std::move(n)) {}                  // NOLINT
  agent(const char* local) : ref_(local) {}                     // NOLINT
  agent(std::string local) : ref_(std::move(local)) {}          // NOLINT

  /// Starts an agent whose state is `init()` (Elixir `Agent.start_link/2`),
  /// linked to the caller. `opts.name` registers it.
  template <class F>
  static agent_start_result<State> start_link(F&& init, const start_options& opts = {}) {
    return agent_start_result<State>(gen_server::start_link<server>(make_init(std::forward<F>(init)), opts));
  }
  /// As start_link, not linked (Elixir `Agent.start/2`).
  template <class F>
  static agent_start_result<State> start(F&& init, const start_options& opts = {}) {
    return agent_start_result<State>(gen_server::start<server>(make_init(std::forward<F>(init)), opts));
  }

  /// `fn(state)`, computed in the agent (Elixir `Agent.get/3`).
  template <class F>
  auto get(F&& fn, timeout t = default_call_timeout) const {
    using R = std::decay_t<std::invoke_result_t<F&, const State&>>;
    static_assert(!std::is_void_v<R>, "otp::agent::get: the function must return a value");
    message m = gen_server::call(ref_, typename server::agent_get{
                                           [f = std::forward<F>(fn)](const State& s) mutable -> message {
                                             return message(R(std::invoke(f, s)));
                                           }},
                                 t);
    return R(std::move(m.get<R>()));
  }

  /// Replaces the state by `fn(state)` (Elixir `Agent.update/3`, `:ok`).
  template <class F>
  void update(F&& fn, timeout t = default_call_timeout) const {
    (void)gen_server::call(ref_,
                           typename server::agent_update{
                               [f = std::forward<F>(fn)](State& s) mutable { detail::agent_apply(f, s); }},
                           t);
  }

  /// `fn(state)` returns `{reply, new_state}` (a std::pair): the agent keeps
  /// the new state and the caller gets the reply (Elixir `Agent.get_and_update/3`).
  template <class F>
  auto get_and_update(F&& fn, timeout t = default_call_timeout) const {
    using P = std::decay_t<std::invoke_result_t<F&, State&&>>;
    static_assert(requires { typename P::first_type; typename P::second_type; },
                  "otp::agent::get_and_update: the function must return std::pair<Reply, State>");
    static_assert(std::is_convertible_v<typename P::second_type, State>,
                  "otp::agent::get_and_update: the pair's second element is the new state");
    using G = std::decay_t<typename P::first_type>;
    message m = gen_server::call(ref_, typename server::agent_get_and_update{
                                           [f = std::forward<F>(fn)](State& s) mutable -> message {
                                             P p = std::invoke(f, std::move(s));
                                             s = std::move(p.second);
                                             return message(G(std::move(p.first)));
                                           }},
                                 t);
    return G(std::move(m.get<G>()));
  }

  /// Replaces the state by `fn(state)` without waiting (Elixir `Agent.cast/2`).
  template <class F>
  void cast(F&& fn) const {
    gen_server::cast(ref_, typename server::agent_cast{
                               [f = std::forward<F>(fn)](State& s) mutable { detail::agent_apply(f, s); }});
  }

  /// Stops the agent with `reason` and waits (Elixir `Agent.stop/3`, default
  /// `normal`, `infinity`). Throws as `gen_server::stop` does.
  void stop(exit_reason reason = exit_reason::normal(), timeout t = infinity) const {
    gen_server::stop(ref_.target(), std::move(reason), t);
  }

  /// The agent's pid (resolving a name now); empty if none.
  pid get_pid() const { return ref_.get_pid(); }
  /// The gen_server handle (for sys functions).
  const server_ref<server>& server_handle() const noexcept { return ref_; }

 private:
  template <class F>
  static typename server::agent_init make_init(F&& init) {
    static_assert(std::is_convertible_v<std::invoke_result_t<std::decay_t<F>&>, State>,
                  "otp::agent: the init function must return the initial state");
    return typename server::agent_init{[f = std::forward<F>(init)]() mutable -> State { return std::invoke(f); }};
  }
  server_ref<server> ref_;
};

template <class State>
agent<State> agent_start_result<State>::value() const {
  return agent<State>(r_.value().get_pid());
}

namespace agents {
/// `otp::agent<State>::start_link` with State deduced from `init()`.
template <class F>
auto start_link(F&& init, const start_options& opts = {}) {
  using State = std::decay_t<std::invoke_result_t<std::decay_t<F>&>>;
  return agent<State>::start_link(std::forward<F>(init), opts);
}
/// `otp::agent<State>::start` with State deduced from `init()`.
template <class F>
auto start(F&& init, const start_options& opts = {}) {
  using State = std::decay_t<std::invoke_result_t<std::decay_t<F>&>>;
  return agent<State>::start(std::forward<F>(init), opts);
}
}  // namespace agents

}  // namespace otp
