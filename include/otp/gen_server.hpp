#pragma once
/// \file otp/gen_server.hpp
/// The GenServer behaviour (Erlang's `gen_server`, Elixir's `GenServer`).
///
///   struct counter {
///     using state = int;
///     struct increment { int amount = 1; };          // a cast
///     struct get_count { using reply = int; };        // a call with a typed reply
///
///     otp::init_result<state> init(int start) { return otp::ok(start); }
///     otp::call_result<int> handle_call(get_count, const otp::from&, state& n) { return otp::reply(n); }
///     otp::cast_result handle_cast(increment m, state& n) { n += m.amount; return otp::noreply(); }
///   };
///
///   auto srv = otp::gen_server::start_link<counter>(0, {.name = "counter"}).value();
///   otp::gen_server::cast(srv, counter::increment{5});
///   int n = otp::gen_server::call(srv, counter::get_count{});      // 5 (5 s timeout)
///
/// Callbacks (all optional except that a server must handle what it is
/// sent): `init(arg)`, `handle_call(req, from, state&)`,
/// `handle_cast(msg, state&)`, `handle_info(msg, state&)`,
/// `handle_continue(value, state&)`, `terminate(reason, state&)`,
/// `code_change(old_vsn, state&, extra)`, `format_status(const state&)`. The
/// `from` and `state&` parameters may be left out. Returns mirror OTP's
/// tuples: `reply(v[, next])`, `noreply([next])`, `stop(reason[, reply])`,
/// `ok(state[, next])`, `ignore()`, where `next` is a timeout, `hibernate`
/// or `continue_with(value)`.
///
/// Dispatch. A call or cast through a `server_ref<S>` (what start returns)
/// or `call<S>(...)` is checked at compile time: S must have a handle_call
/// (handle_cast) taking the request, and a request type with a nested
/// `reply` type makes `call` return that type. Everything that arrives
/// untyped — infos (`otp::send`, timers, DOWN, EXIT), continues, and calls
/// or casts made without the server type — is matched at run time against
/// the types listed in `S::accepts` (an `otp::types<...>`), then against a
/// catch-all `handle_xxx(otp::message&, ...)`, then OTP's defaults (§7):
/// an unexpected call or cast crashes the server, an unexpected info is
/// logged and dropped.

#include <chrono>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <typeinfo>
#include <utility>
#include <vector>

#include "otp/describe.hpp"
#include "otp/error.hpp"
#include "otp/exit_reason.hpp"
#include "otp/message.hpp"
#include "otp/names.hpp"
#include "otp/pid.hpp"
#include "otp/process.hpp"
#include "otp/receive.hpp"
#include "otp/ref.hpp"

namespace otp {

/// A list of message types, for `S::accepts`.
template <class... T>
struct types {};

/// Where a call's reply goes: the caller and its call tag. Opaque; copy it
/// to reply later, from any process, with `gen_server::reply`.
class from {
 public:
  from() = default;
  from(pid caller, std::uint64_t tag) : caller_(std::move(caller)), tag_(tag) {}
  const pid& caller() const noexcept { return caller_; }
  std::uint64_t tag() const noexcept { return tag_; }
  explicit operator bool() const noexcept { return static_cast<bool>(caller_); }
  friend bool operator==(const from&, const from&) = default;

 private:
  pid caller_;
  std::uint64_t tag_ = 0;
};

/// What a server does next when it returns `hibernate`.
struct hibernate_t {
  explicit constexpr hibernate_t() = default;
};
inline constexpr hibernate_t hibernate{};

/// `{continue, Value}`: handle_continue(value) runs before any queued message.
struct continue_t {
  message value;
};
template <class T>
continue_t continue_with(T&& value) {
  return continue_t{message(std::forward<T>(value))};
}

/// The optional third element of a callback result: a timeout (after which
/// `handle_info(gen_server::timeout_event)` runs if nothing arrived),
/// `hibernate`, or `continue_with(value)`.
class next_step {
 public:
  enum class kind : unsigned char { none, timeout, hibernate, continue_ };
  next_step() noexcept {}  // NOLINT(modernize-use-equals-default): no zeroing on value-init (see message())
  template <class Rep, class Period>
  next_step(std::chrono::duration<Rep, Period> d)  // NOLINT: implicit by design
      : kind_(kind::timeout), timeout_(std::chrono::duration_cast<timeout>(d)) {}
  next_step(hibernate_t) : kind_(kind::hibernate) {}                                        // NOLINT
  next_step(continue_t c) : kind_(kind::continue_), continue_(std::move(c.value)) {}  // NOLINT

  kind get_kind() const noexcept { return kind_; }
  otp::timeout get_timeout() const noexcept { return timeout_; }
  message& continue_value() noexcept { return continue_; }

 private:
  kind kind_ = kind::none;
  otp::timeout timeout_{0};
  message continue_;
};

namespace detail {
enum class result_kind : unsigned char { ok, reply, noreply, stop, stop_reply, ignore };

/// A callback's result with its types erased (what the server loop acts on).
struct outcome {
  result_kind kind = result_kind::noreply;
  next_step next;
  exit_reason reason;
  message reply;  // reply, stop_reply

  // Constructors rather than aggregate initialisation: GCC zeroed all 192
  // bytes of an aggregate-initialised outcome (a `rep stos`) before setting
  // its members, on every callback.
  outcome() noexcept {}  // NOLINT(modernize-use-equals-default)
  outcome(result_kind k, next_step&& n, exit_reason r, message&& m) noexcept
      : kind(k), next(std::move(n)), reason(std::move(r)), reply(std::move(m)) {}
};

template <class V>
struct reply_t {
  V value;
  next_step next;
};
struct noreply_t {
  next_step next;
};
struct stop_t {
  exit_reason reason;
};
template <class V>
struct stop_reply_t {
  exit_reason reason;
  V value;
};
template <class V>
struct ok_t {
  V state;
  next_step next;
};
struct ignore_t {};

template <class R, class V>
message make_reply(V&& v) {
  if constexpr (std::is_same_v<R, message>) return message(std::forward<V>(v));
  else return message(R(std::forward<V>(v)));
}
}  // namespace detail

/// `{reply, Value, State[, Next]}`.
template <class V>
detail::reply_t<std::decay_t<V>> reply(V&& value, next_step next = {}) {
  return {std::forward<V>(value), std::move(next)};
}
/// `{noreply, State[, Next]}`.
inline detail::noreply_t noreply(next_step next = {}) { return {std::move(next)}; }
/// `{stop, Reason, State}` (from init: `{stop, Reason}`).
inline detail::stop_t stop(exit_reason reason) { return {std::move(reason)}; }
/// `{stop, Reason, Reply, State}`: terminate runs first, then the reply is sent.
template <class V>
detail::stop_reply_t<std::decay_t<V>> stop(exit_reason reason, V&& reply_value) {
  return {std::move(reason), std::forward<V>(reply_value)};
}
/// `{ok, State[, Next]}` from init.
template <class V>
detail::ok_t<std::decay_t<V>> ok(V&& state, next_step next = {}) {
  return {std::forward<V>(state), std::move(next)};
}
/// `ignore` from init: start returns `ignored`, the process exits normal.
inline detail::ignore_t ignore() { return {}; }

/// What handle_call returns; `R` is the request's reply type.
template <class R>
class call_result {
 public:
  template <class V>
    requires std::is_convertible_v<V&&, R> || std::is_same_v<R, message>
  call_result(detail::reply_t<V>&& r)  // NOLINT: implicit by design
      : o_{detail::result_kind::reply, std::move(r.next), {}, detail::make_reply<R>(std::move(r.value))} {}
  call_result(detail::noreply_t n) : o_{detail::result_kind::noreply, std::move(n.next), {}, {}} {}  // NOLINT
  call_result(detail::stop_t s) : o_{detail::result_kind::stop, {}, std::move(s.reason), {}} {}      // NOLINT
  template <class V>
    requires std::is_convertible_v<V&&, R> || std::is_same_v<R, message>
  call_result(detail::stop_reply_t<V>&& s)  // NOLINT
      : o_{detail::result_kind::stop_reply, {}, std::move(s.reason), detail::make_reply<R>(std::move(s.value))} {}
  detail::outcome take() && { return std::move(o_); }

 private:
  detail::outcome o_;
};

/// What handle_cast, handle_info and handle_continue return.
class noreply_result {
 public:
  noreply_result(detail::noreply_t n) : o_{detail::result_kind::noreply, std::move(n.next), {}, {}} {}  // NOLINT
  noreply_result(detail::stop_t s) : o_{detail::result_kind::stop, {}, std::move(s.reason), {}} {}      // NOLINT
  detail::outcome take() && { return std::move(o_); }

 private:
  detail::outcome o_;
};
using cast_result = noreply_result;
using info_result = noreply_result;
using continue_result = noreply_result;

/// What init returns: `ok(state[, next])`, `stop(reason)` or `ignore()`.
template <class S>
class init_result {
 public:
  template <class V>
    requires std::is_convertible_v<V&&, S>
  init_result(detail::ok_t<V>&& o)  // NOLINT: implicit by design
      : o_{detail::result_kind::ok, std::move(o.next), {}, {}}, state_(std::in_place, std::move(o.state)) {}
  init_result(detail::stop_t s) : o_{detail::result_kind::stop, {}, std::move(s.reason), {}} {}  // NOLINT
  init_result(detail::ignore_t) : o_{detail::result_kind::ignore, {}, {}, {}} {}               // NOLINT
  detail::outcome& outcome() noexcept { return o_; }
  std::optional<S>& state() noexcept { return state_; }

 private:
  detail::outcome o_;
  std::optional<S> state_;
};

/// What code_change returns: `ok(new_state)` or `stop(reason)` (OTP's
/// `{error, Reason}`: the state is kept and change_code reports the error).
template <class S>
class code_change_result {
 public:
  template <class V>
    requires std::is_convertible_v<V&&, S>
  code_change_result(detail::ok_t<V>&& o) : state_(std::in_place, std::move(o.state)) {}  // NOLINT
  code_change_result(detail::stop_t s) : error_(std::move(s.reason)) {}                 // NOLINT
  std::optional<S>& state() noexcept { return state_; }
  const exit_reason& error() const noexcept { return error_; }

 private:
  std::optional<S> state_;
  exit_reason error_;
};

/// sys debug flags a server can start with (OTP's `debug: [...]` option).
struct debug_options {
  bool trace = false;       ///< print every event (sys:trace)
  std::size_t log = 0;      ///< keep the last N events (sys:log)
  bool statistics = false;  ///< count messages (sys:statistics)
};

/// What a server does when its bounded mailbox (`max_queue`) is full.
enum class overflow_policy {
  reject,  ///< drop the cast / fail the call at once with `{overloaded, ...}` (default)
  crash,   ///< the server exits with reason `overloaded`
};

/// Options for start, start_link and start_monitor.
struct start_options {
  server_name name;                 ///< local name, `via(...)` or `global(...)`; empty: unnamed
  otp::timeout timeout = infinity;  ///< init must finish within this, else {error, timeout}
  std::size_t stack_size = 0;       ///< a stack of its own (callbacks run on it); 0: pooled
  debug_options debug{};            ///< sys debugging from the start
  otp::timeout hibernate_after = infinity;  ///< hibernate after this long idle
  std::size_t max_queue = 0;        ///< bound on queued calls/casts/infos; 0: unbounded
  overflow_policy on_overflow = overflow_policy::reject;
};

/// The default call timeout (OTP's 5000 ms).
inline constexpr timeout default_call_timeout{5000};

namespace gen_server {
/// What `handle_info` gets when a `{.., timeout}` return expires (OTP's
/// `timeout` message; sending one yourself is indistinguishable, §5.5).
struct timeout_event {};
}  // namespace gen_server

// ============================================================ internals

namespace detail {

template <class T>
concept has_state_type = requires { typename T::state; };
/// The state of servers that declare none.
struct no_state {};
template <class S>
struct state_of {
  using type = no_state;
};
template <has_state_type S>
struct state_of<S> {
  using type = typename S::state;
};
template <class S>
using state_t = typename state_of<S>::type;

template <class R>
struct reply_of {
  using type = message;
};
template <class R>
  requires requires { typename R::reply; }
struct reply_of<R> {
  using type = typename R::reply;
};
/// A term request (to a BEAM process, or to a server that takes terms)
/// gets a term reply.
template <>
struct reply_of<term> {
  using type = term;
};
template <class R>
using reply_type_t = typename reply_of<std::remove_cvref_t<R>>::type;

template <class S>
struct accepts_of {
  using type = types<>;
};
template <class S>
  requires requires { typename S::accepts; }
struct accepts_of<S> {
  using type = typename S::accepts;
};

// ---- invoking callbacks with or without `from` and `state&`
template <class S, class M>
concept call_with_from_state = requires(S& s, M&& m, const from& f, state_t<S>& st) {
  s.handle_call(std::forward<M>(m), f, st);
};
template <class S, class M>
concept call_with_state = requires(S& s, M&& m, state_t<S>& st) { s.handle_call(std::forward<M>(m), st); };
template <class S, class M>
concept call_with_from = requires(S& s, M&& m, const from& f) { s.handle_call(std::forward<M>(m), f); };
template <class S, class M>
concept handles_call = call_with_from_state<S, M> || call_with_state<S, M> || call_with_from<S, M>;

template <class S, class M>
decltype(auto) invoke_call(S& s, M&& m, const from& f, state_t<S>& st) {
  if constexpr (call_with_from_state<S, M>) return s.handle_call(std::forward<M>(m), f, st);
  else if constexpr (call_with_state<S, M>) return s.handle_call(std::forward<M>(m), st);
  else return s.handle_call(std::forward<M>(m), f);
}

#define OTP_DETAIL_ONE_ARG_CALLBACK(NAME)                                                              \
  template <class S, class M>                                                                          \
  concept NAME##_with_state = requires(S& s, M&& m, state_t<S>& st) { s.NAME(std::forward<M>(m), st); }; \
  template <class S, class M>                                                                          \
  concept NAME##_alone = requires(S& s, M&& m) { s.NAME(std::forward<M>(m)); };                        \
  template <class S, class M>                                                                          \
  concept has_##NAME = NAME##_with_state<S, M> || NAME##_alone<S, M>;                                   \
  template <class S, class M>                                                                          \
  decltype(auto) invoke_##NAME(S& s, M&& m, state_t<S>& st) {                                          \
    if constexpr (NAME##_with_state<S, M>) return s.NAME(std::forward<M>(m), st);                      \
    else return s.NAME(std::forward<M>(m));                                                            \
  }
OTP_DETAIL_ONE_ARG_CALLBACK(handle_cast)
OTP_DETAIL_ONE_ARG_CALLBACK(handle_info)
OTP_DETAIL_ONE_ARG_CALLBACK(handle_continue)
#undef OTP_DETAIL_ONE_ARG_CALLBACK

template <class Res, class Want>
inline constexpr bool result_is = std::is_convertible_v<Res, Want>;

/// The runtime's side of a server: what the server loop calls. Implemented
/// for each server type by server_impl<S>.
class server_base {
 public:
  virtual ~server_base() = default;
  /// Destroys the state (`state_made`: init returned ok) or else the unused
  /// init closure; the owner calls it once, before the destructor (the
  /// flag lives with the loop, where it costs no padding).
  virtual void dispose(bool state_made) noexcept = 0;
  virtual const void* type_tag() const noexcept = 0;
  virtual std::string type_name() const = 0;
  virtual outcome init() = 0;
  virtual outcome handle_call(message& req, const from& f) = 0;
  virtual outcome handle_cast(message& req) = 0;
  virtual outcome handle_info(message& msg) = 0;
  virtual outcome handle_continue(message& value) = 0;
  virtual bool has_handle_continue() const noexcept = 0;
  virtual void terminate(const exit_reason& reason) = 0;
  /// ok: nullopt; error: the reason (the state is unchanged).
  virtual std::optional<exit_reason> code_change(std::string_view old_vsn, const message& extra) = 0;
  /// The state as format_status shows it (or otp::describe of it).
  virtual std::string format_state() = 0;
  /// The state's address and type, for sys::get_state / replace_state.
  virtual void* state_ptr() noexcept = 0;
  virtual const std::type_info& state_type() const noexcept = 0;
};

template <class S>
inline constexpr char server_tag = 0;  // its address identifies server type S

/// A typed entry made at a call site that knows the server type: the
/// server checks `server` against its own tag and calls `fn` directly.
struct typed_entry {
  const void* server;
  outcome (*fn)(server_base& srv, message& req, const from& f);
};

[[noreturn]] void unexpected_request(std::string_view what, const message& m);
void unexpected_info(server_base& srv, const message& m);
std::string default_format(const void* state, std::string (*describe)(const void*));

/// init with its argument, kept until the server runs (move-only is fine).
template <class S>
struct init_call : pooled {
  virtual ~init_call() = default;
  virtual init_result<state_t<S>> run(S& s) = 0;
};
template <class S, class F>
struct init_call_of final : init_call<S> {
  explicit init_call_of(F&& f) : fn(std::move(f)) {}
  init_result<state_t<S>> run(S& s) override { return fn(s); }
  F fn;
};

template <class S>
class server_impl final : public server_base {
 public:
  using state_value = state_t<S>;
  template <class F>
  explicit server_impl(F&& init_fn) : init_(new init_call_of<S, std::decay_t<F>>(std::forward<F>(init_fn))) {}
  ~server_impl() override {}  // the union's member: see dispose
  void dispose(bool state_made) noexcept override {
    if (state_made) state_.~state_value();
    else delete init_;
  }
  server_impl(const server_impl&) = delete;
  server_impl& operator=(const server_impl&) = delete;

  const void* type_tag() const noexcept override { return &server_tag<S>; }
  std::string type_name() const override { return detail::demangle(typeid(S).name()); }

  outcome init() override {
    std::unique_ptr<init_call<S>> fn(std::exchange(init_, nullptr));
    auto res = fn->run(server_);
    fn.reset();
    if (res.state()) new (&state_) state_value(std::move(*res.state()));  // ok: the state exists from now on
    return std::move(res.outcome());
  }

  /// A typed call: R is known at the call site, checked there.
  template <class R>
  outcome call_typed(message& req, const from& f) {
    using Res = decltype(invoke_call(server_, std::move(req.get<R>()), f, state_));
    static_assert(result_is<Res, call_result<reply_type_t<R>>>,
                  "otp::gen_server: handle_call(Request, ...) must return otp::call_result<Request::reply> "
                  "(otp::call_result<otp::message> when Request declares no reply type)");
    return call_result<reply_type_t<R>>(invoke_call(server_, std::move(req.get<R>()), f, state_)).take();
  }
  template <class M>
  outcome cast_typed(message& m) {
    return noreply_result(invoke_handle_cast(server_, std::move(m.get<M>()), state_)).take();
  }

  outcome handle_call(message& req, const from& f) override {
    outcome o;
    if (match_accepted(req, typename accepts_of<S>::type{}, [&]<class T>() {
          if constexpr (handles_call<S, T>) {
            o = call_typed<T>(req, f);
            return true;
          } else {
            return false;
          }
        }))
      return o;
    if constexpr (handles_call<S, message&>)
      return call_result<message>(invoke_call(server_, req, f, state_)).take();
    unexpected_request("call", req);
  }
  outcome handle_cast(message& m) override {
    outcome o;
    if (match_accepted(m, typename accepts_of<S>::type{}, [&]<class T>() {
          if constexpr (has_handle_cast<S, T>) {
            o = cast_typed<T>(m);
            return true;
          } else {
            return false;
          }
        }))
      return o;
    if constexpr (has_handle_cast<S, message&>) return noreply_result(invoke_handle_cast(server_, m, state_)).take();
    unexpected_request("cast", m);
  }
  outcome handle_info(message& m) override {
    outcome o;
    if (match_accepted(m, typename accepts_of<S>::type{}, [&]<class T>() {
          if constexpr (has_handle_info<S, T>) {
            o = noreply_result(invoke_handle_info(server_, std::move(m.get<T>()), state_)).take();
            return true;
          } else {
            return false;
          }
        }))
      return o;
    if constexpr (has_handle_info<S, gen_server::timeout_event>) {
      if (m.is<gen_server::timeout_event>())
        return noreply_result(invoke_handle_info(server_, gen_server::timeout_event{}, state_)).take();
    }
    if constexpr (has_handle_info<S, message&>) return noreply_result(invoke_handle_info(server_, m, state_)).take();
    unexpected_info(*this, m);
    return outcome{};
  }
  outcome handle_continue(message& v) override {
    outcome o;
    if (match_accepted(v, typename accepts_of<S>::type{}, [&]<class T>() {
          if constexpr (detail::has_handle_continue<S, T>) {
            o = noreply_result(invoke_handle_continue(server_, std::move(v.get<T>()), state_)).take();
            return true;
          } else {
            return false;
          }
        }))
      return o;
    if constexpr (detail::has_handle_continue<S, message&>)
      return noreply_result(invoke_handle_continue(server_, v, state_)).take();
    unexpected_request("continue", v);
  }
  bool has_handle_continue() const noexcept override {
    return detail::has_handle_continue<S, message&> || any_accepted_continue(typename accepts_of<S>::type{});
  }

  void terminate(const exit_reason& reason) override {
    if constexpr (requires(S& s, state_value& st) { s.terminate(reason, st); }) server_.terminate(reason, state_);
    else if constexpr (requires(S& s) { s.terminate(reason); }) server_.terminate(reason);
  }

  std::optional<exit_reason> code_change(std::string_view old_vsn, const message& extra) override {
    if constexpr (requires(S& s, state_value& st) { s.code_change(old_vsn, st, extra); }) {
      code_change_result<state_value> r = server_.code_change(old_vsn, state_, extra);
      if (!r.state()) return r.error();
      state_ = std::move(*r.state());
      return std::nullopt;
    } else {
      // No code_change: keep the state (Elixir's default `{ok, State}`).
      return std::nullopt;
    }
  }

  std::string format_state() override {
    if constexpr (requires(S& s, const state_value& st) { s.format_status(st); })
      return std::string(server_.format_status(state_));
    else return otp::describe(state_);
  }
  void* state_ptr() noexcept override { return &state_; }
  const std::type_info& state_type() const noexcept override { return typeid(state_value); }

 private:
  /// Runs `f<T>` for the first accepted type T that `m` holds. A term (from
  /// another node) is first decoded into each accepted type with a codec,
  /// in order, until one is taken: so a BEAM client's `{:put, "k", 1}`
  /// reaches `handle_call(put)`.
  template <class... T, class F>
  static bool match_accepted(message& m, types<T...>, F&& f) {
    if (((m.is<T>() && f.template operator()<T>()) || ...)) return true;
    if (!m.is<term>()) return false;
    const term t = m.get<term>();
    if (((decode_into<T>(m, t) && f.template operator()<T>()) || ...)) return true;
    m = message(t);
    return false;
  }
  template <class T>
  static bool decode_into(message& m, const term& t) {
    if constexpr (std::is_same_v<T, term> || !term_decodable<T>) {
      return false;
    } else {
      try {
        m = message(from_term<T>(t));
        return true;
      } catch (const bad_term&) {
        return false;
      }
    }
  }
  template <class... T>
  static constexpr bool any_accepted_continue(types<T...>) {
    return (detail::has_handle_continue<S, T> || ...);
  }

  [[no_unique_address]] S server_{};
  // The init closure until init has run, the state after (if init returned
  // ok): never both. Callbacks other than init run only once it exists.
  union {
    init_call<S>* init_;
    state_value state_;
  };
};

/// The typed entry for request R on server S, generated at the call site.
template <class S, class R>
inline const typed_entry call_entry{&server_tag<S>, [](server_base& srv, message& req, const from& f) {
                                      return static_cast<server_impl<S>&>(srv).template call_typed<R>(req, f);
                                    }};
template <class S, class M>
inline const typed_entry cast_entry{&server_tag<S>, [](server_base& srv, message& m, const from&) {
                                      return static_cast<server_impl<S>&>(srv).template cast_typed<M>(m);
                                    }};

template <class S>
struct init_traits {
  static constexpr bool has_init = false;
  static constexpr bool takes_arg = false;
  using arg = void;
};
template <class S>
  requires requires { &S::init; }
struct init_traits<S> : init_traits<decltype(&S::init)> {
  static constexpr bool has_init = true;
};
template <class C, class R>
struct init_traits<R (C::*)()> {
  static constexpr bool takes_arg = false;
  using arg = void;
};
template <class C, class R, class A>
struct init_traits<R (C::*)(A)> {
  static constexpr bool takes_arg = true;
  using arg = std::remove_cvref_t<A>;
};
template <class C, class R>
struct init_traits<R (C::*)() const> : init_traits<R (C::*)()> {};
template <class C, class R, class A>
struct init_traits<R (C::*)(A) const> : init_traits<R (C::*)(A)> {};

/// A server to talk to: a pid or a name.
///
/// One word, so that a handle costs what a pid costs (a million kept
/// server_refs are 8 MB, not 48): the pid itself, or, with the low bit set,
/// a shared immutable name (names are rarely copied in bulk, pids are).
class target {
 public:
  target(pid p) noexcept : pid_(std::move(p)) {}             // NOLINT: implicit by design
  target(server_name n);                                     // NOLINT
  target(const char* local) : target(server_name(local)) {}  // NOLINT
  target(std::string local) : target(server_name(std::move(local))) {}  // NOLINT
  target(std::string_view local) : target(server_name(local)) {}       // NOLINT
  /// `{name, node}`: whatever is registered as `name` on `node` (another
  /// node of the cluster, see otp/dist.hpp; or this one).
  target(std::string_view name, std::string_view node);
  target(const target& o) noexcept;
  target(target&& o) noexcept;
  target& operator=(const target& o) noexcept;
  target& operator=(target&& o) noexcept;
  ~target();

  std::optional<pid> resolve() const;
  std::string to_string() const;
  /// The pid if the target is one (no copy), else null.
  const pid* direct() const noexcept { return !holds_name() && pid_ ? &pid_ : nullptr; }
  /// The pid (empty for a name).
  const pid& get_pid() const noexcept;
  /// The name (empty for a pid).
  const server_name& name() const noexcept;

 private:
  struct shared_name;
  // The word's bytes read through memcpy: well defined whichever member is
  // active, and the low bit says which (a pid's block is 8-aligned).
  std::uintptr_t word() const noexcept {
    std::uintptr_t w;
    std::memcpy(&w, static_cast<const void*>(this), sizeof w);
    return w;
  }
  bool holds_name() const noexcept { return (word() & 1) != 0; }
  shared_name* named() const noexcept { return reinterpret_cast<shared_name*>(word() & ~std::uintptr_t{1}); }
  void destroy() noexcept;
  union {
    pid pid_;
    std::uintptr_t name_;  // shared_name* | 1
  };
};

enum class start_mode { plain, link, monitor };
struct start_outcome {
  enum class status { ok, ignore, error } st = status::error;
  pid server;
  exit_reason reason;
  pid existing;  // already_started
  ref mref;      // start_monitor
};
/// How start_core builds a server's callbacks in place: in the block it
/// allocates for the whole server, after the loop's own fields (one
/// allocation per server instead of two).
struct server_maker {
  std::size_t size;
  std::size_t align;
  void* init_fn;                                        // moved from by construct
  server_base* (*construct)(void* where, void* init_fn);  // may throw (nothing is left then)
};
start_outcome start_core(server_maker make, const start_options& opts, start_mode mode);

struct call_outcome {
  bool ok = false;
  message reply;
  exit_reason reason;  // failed: {Reason, {gen_server, call, [...]}}

  // Not an aggregate: GCC zeroed all of an aggregate-initialised one (a
  // `rep stos`, ~4 % of a call) before setting its members.
  call_outcome(bool succeeded, message&& r, exit_reason why) noexcept
      : ok(succeeded), reply(std::move(r)), reason(std::move(why)) {}
};
call_outcome call_core(const target& t, message&& req, const typed_entry* entry, timeout tmo);
void cast_core(const target& t, message&& m, const typed_entry* entry);
void reply_core(const from& f, message&& value);

template <class S, class F>
struct server_recipe {
  F init_fn;
  operator server_maker() {  // NOLINT: implicit, for start_core(make_server<S>(...), ...)
    return {sizeof(server_impl<S>), alignof(server_impl<S>), &init_fn, [](void* where, void* fn) -> server_base* {
              return ::new (where) server_impl<S>(std::move(*static_cast<F*>(fn)));
            }};
  }
};
template <class S, class F>
server_recipe<S, F> recipe(F&& f) {
  return {std::forward<F>(f)};
}

/// What start_core builds a server from (it lives until start_core returns).
template <class S, class A>
auto make_server(A&& arg) {
  using St = state_t<S>;
  return recipe<S>([a = std::forward<A>(arg)](S& s) mutable -> init_result<St> { return s.init(std::move(a)); });
}
template <class S>
auto make_server() {
  using St = state_t<S>;
  if constexpr (init_traits<S>::has_init) {
    return recipe<S>([](S& s) -> init_result<St> { return s.init(); });
  } else {
    return recipe<S>([](S&) -> init_result<St> { return ok(St{}); });
  }
}

template <class R>
reply_type_t<R> take_reply(call_outcome&& o);
}  // namespace detail

/// A typed handle on a server of type S: calls and casts through it are
/// checked at compile time. Copyable; made from a pid or a name.
template <class S>
class server_ref {
 public:
  server_ref() = default;
  server_ref(pid p) : target_(std::move(p)) {}             // NOLINT: implicit by design
  server_ref(server_name n) : target_(std::move(n)) {}     // NOLINT
  server_ref(const char* local) : target_(local) {}        // NOLINT
  server_ref(std::string local) : target_(std::move(local)) {}  // NOLINT
  explicit server_ref(detail::target t) : target_(std::move(t)) {}
  const detail::target& target() const noexcept { return target_; }
  /// The pid (resolving a name now); empty if there is no such process.
  pid get_pid() const { return target_.resolve().value_or(pid{}); }

 private:
  detail::target target_{pid{}};
};

/// What start returns: the server, `ignored()`, or the error reason
/// (`{already_started, Pid}` sets `existing()` too).
template <class S>
class start_result {
 public:
  explicit start_result(detail::start_outcome o) : o_(std::move(o)) {}
  bool ok() const noexcept { return o_.st == detail::start_outcome::status::ok; }
  explicit operator bool() const noexcept { return ok(); }
  bool ignored() const noexcept { return o_.st == detail::start_outcome::status::ignore; }
  /// The error reason (normal if ok or ignored).
  const exit_reason& error() const noexcept { return o_.reason; }
  /// The holder of the name when the error is `already_started`.
  const pid& existing() const noexcept { return o_.existing; }
  const pid& get_pid() const noexcept { return o_.server; }
  /// The monitor of start_monitor.
  const ref& monitor() const noexcept { return o_.mref; }
  /// The server; throws `otp::exit_error` with the error (or `ignore`).
  server_ref<S> value() const {
    if (ok()) return server_ref<S>(o_.server);
    throw exit_error(ignored() ? exit_reason::other("ignore") : o_.reason);
  }

 private:
  detail::start_outcome o_;
};

/// What try_call returns: the reply, or why the call failed.
template <class T>
class call_result_or_error {
 public:
  call_result_or_error(T v) : value_(std::move(v)) {}                      // NOLINT
  call_result_or_error(exit_reason e) : error_(std::move(e)) {}            // NOLINT
  bool ok() const noexcept { return value_.has_value(); }
  explicit operator bool() const noexcept { return ok(); }
  T& value() { return *value_; }
  T& operator*() { return *value_; }
  T* operator->() { return &*value_; }
  /// `{Reason, {gen_server, call, [Server, Request, Timeout]}}`.
  const exit_reason& error() const noexcept { return error_; }

 private:
  std::optional<T> value_;
  exit_reason error_;
};

namespace gen_server {

namespace detail_start {
template <class S, class... A>
start_result<S> start(otp::detail::start_mode mode, const start_options& opts, A&&... arg) {
  static_assert(std::is_default_constructible_v<S>, "otp::gen_server: a server type must be default-constructible");
  return start_result<S>(otp::detail::start_core(otp::detail::make_server<S>(std::forward<A>(arg)...), opts, mode));
}
}  // namespace detail_start

/// Starts a server, not linked (OTP `gen_server:start/3`). Synchronous:
/// returns once init has returned.
template <class S>
  requires otp::detail::init_traits<S>::takes_arg
start_result<S> start(typename otp::detail::init_traits<S>::arg arg, const start_options& opts = {}) {
  return detail_start::start<S>(otp::detail::start_mode::plain, opts, std::move(arg));
}
template <class S>
  requires(!otp::detail::init_traits<S>::takes_arg)
start_result<S> start(const start_options& opts = {}) {
  return detail_start::start<S>(otp::detail::start_mode::plain, opts);
}
/// Starts a server linked to the caller (OTP `gen_server:start_link/3`).
template <class S>
  requires otp::detail::init_traits<S>::takes_arg
start_result<S> start_link(typename otp::detail::init_traits<S>::arg arg, const start_options& opts = {}) {
  return detail_start::start<S>(otp::detail::start_mode::link, opts, std::move(arg));
}
template <class S>
  requires(!otp::detail::init_traits<S>::takes_arg)
start_result<S> start_link(const start_options& opts = {}) {
  return detail_start::start<S>(otp::detail::start_mode::link, opts);
}
/// Starts a server monitored by the caller (OTP `gen_server:start_monitor/3`);
/// `monitor()` of the result is the ref. On failure the DOWN is consumed.
template <class S>
  requires otp::detail::init_traits<S>::takes_arg
start_result<S> start_monitor(typename otp::detail::init_traits<S>::arg arg, const start_options& opts = {}) {
  return detail_start::start<S>(otp::detail::start_mode::monitor, opts, std::move(arg));
}
template <class S>
  requires(!otp::detail::init_traits<S>::takes_arg)
start_result<S> start_monitor(const start_options& opts = {}) {
  return detail_start::start<S>(otp::detail::start_mode::monitor, opts);
}

/// Calls a server and waits for its reply (OTP `gen_server:call/3`).
/// `call<S>(pid_or_name, request)` names the server type explicitly.
/// Throws `otp::exit_error` with `{Reason, {gen_server, call, [Server,
/// Request, Timeout]}}`: Reason is `timeout`, `noproc`, `calling_self`,
/// `{calling_cycle, [Pids]}`, or the server's exit reason if it died first
/// (even `normal`). A reply that comes after the timeout is dropped.
template <class S, class R>
otp::detail::reply_type_t<R> call(const server_ref<S>& server, R&& request, timeout t = default_call_timeout) {
  using Req = std::remove_cvref_t<R>;
  static_assert(otp::detail::handles_call<S, Req>,
                "otp::gen_server::call: the server type has no handle_call for this request type");
  return otp::detail::take_reply<Req>(
      otp::detail::call_core(server.target(), message(std::forward<R>(request)), &otp::detail::call_entry<S, Req>, t));
}
/// Calls a server whose type is not known here: it matches the request at
/// run time (see the file comment). The reply must have the request's reply
/// type (else `{bad_reply_type, T}`), or any type for `otp::message`.
template <class R>
otp::detail::reply_type_t<R> call(const otp::detail::target& server, R&& request, timeout t = default_call_timeout) {
  using Req = std::remove_cvref_t<R>;
  return otp::detail::take_reply<Req>(otp::detail::call_core(server, message(std::forward<R>(request)), nullptr, t));
}

/// Like call, but a failure is returned instead of thrown.
template <class S, class R>
call_result_or_error<otp::detail::reply_type_t<R>> try_call(const server_ref<S>& server, R&& request,
                                                            timeout t = default_call_timeout) {
  try {
    return call(server, std::forward<R>(request), t);
  } catch (const exit_error& e) {
    return e.reason();
  }
}
template <class R>
call_result_or_error<otp::detail::reply_type_t<R>> try_call(const otp::detail::target& server, R&& request,
                                                            timeout t = default_call_timeout) {
  try {
    return call(server, std::forward<R>(request), t);
  } catch (const exit_error& e) {
    return e.reason();
  }
}

/// Sends a cast (OTP `gen_server:cast/2`): returns at once, also when the
/// server does not exist.
template <class S, class M>
void cast(const server_ref<S>& server, M&& msg) {
  using Msg = std::remove_cvref_t<M>;
  static_assert(otp::detail::has_handle_cast<S, Msg>,
                "otp::gen_server::cast: the server type has no handle_cast for this message type");
  otp::detail::cast_core(server.target(), message(std::forward<M>(msg)), &otp::detail::cast_entry<S, Msg>);
}
template <class M>
void cast(const otp::detail::target& server, M&& msg) {
  otp::detail::cast_core(server, message(std::forward<M>(msg)), nullptr);
}

/// Answers a call whose handle_call returned noreply (OTP `gen_server:reply/2`).
/// From any process; a caller that gave up or died is not told.
template <class V>
void reply(const from& to, V&& value) {
  otp::detail::reply_core(to, message(std::forward<V>(value)));
}

/// Stops a server (OTP `gen_server:stop/3`): terminate runs (even if the
/// server does not trap exits) and this returns once it has exited with
/// `reason`. Throws `otp::exit_error` `{R, {gen_server, stop, [...]}}` with
/// R = noproc, timeout (the server is not killed), calling_self, or the
/// other reason it exited with.
void stop(const otp::detail::target& server, exit_reason reason = exit_reason::normal(), timeout t = infinity);

/// The pid behind a name (OTP `GenServer.whereis/1`).
std::optional<pid> whereis(const otp::detail::target& server);

/// The nodes `abcast` and `multi_call` reach by default: this node and every
/// node connected now (OTP `[node() | nodes()]`).
std::vector<std::string> cluster_nodes();
/// The server registered as `name` on `node`, this node included.
otp::detail::target on_node(const std::string& name, const std::string& node);
/// This node's name (`nonode@nohost` when not distributed).
std::string node_name();

/// Casts `msg` to the server registered as `name` on each of `nodes`
/// (OTP `abcast/3`): returns at once; unknown names and unreachable nodes
/// are skipped.
template <class M>
void abcast(const std::vector<std::string>& nodes, const std::string& name, const M& msg) {
  for (const std::string& node : nodes) cast(on_node(name, node), msg);
}
/// `abcast` to every node (OTP `abcast/2`).
template <class M>
void abcast(const std::string& name, const M& msg) {
  abcast(cluster_nodes(), name, msg);
}

/// What `multi_call` got: the replies by node, in the order of the nodes
/// asked, and the nodes that did not answer in time, had no such server,
/// could not be reached, or whose server failed the call (OTP
/// `{Replies, BadNodes}`).
template <class R>
struct multi_call_result {
  std::vector<std::pair<std::string, otp::detail::reply_type_t<R>>> replies;
  std::vector<std::string> bad_nodes;
};

/// Calls the server registered as `name` on each of `nodes`, all at once, and
/// waits up to `t` for every answer (OTP `multi_call/4`). As in OTP, helper
/// processes make the calls, so a late reply never reaches the caller.
template <class R>
multi_call_result<std::remove_cvref_t<R>> multi_call(const std::vector<std::string>& nodes, const std::string& name,
                                                     const R& request, timeout t = infinity) {
  using reply_t = otp::detail::reply_type_t<std::remove_cvref_t<R>>;
  struct answer {
    ref call;
    std::size_t index;
    std::optional<reply_t> reply;
  };
  const pid me = self();
  const ref call = make_ref();
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    spawn([me, call, i, server = on_node(name, nodes[i]), request, t] {
      std::optional<reply_t> reply;
      try {
        if (auto r = try_call(server, request, t)) reply.emplace(std::move(*r));
      } catch (const std::exception&) {  // a reply of the wrong type: a bad node
      }
      send(me, answer{call, i, std::move(reply)});
    });
  }
  std::vector<std::optional<reply_t>> got(nodes.size());
  for (std::size_t k = 0; k < nodes.size(); ++k) {
    answer a = *receive_if<answer>([&call](const answer& x) { return x.call == call; });
    got[a.index] = std::move(a.reply);
  }
  multi_call_result<std::remove_cvref_t<R>> out;
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    if (got[i]) out.replies.emplace_back(nodes[i], std::move(*got[i]));
    else out.bad_nodes.push_back(nodes[i]);
  }
  return out;
}
/// `multi_call` to every node (OTP `multi_call/2,3`).
template <class R>
multi_call_result<std::remove_cvref_t<R>> multi_call(const std::string& name, const R& request, timeout t = infinity) {
  return multi_call(cluster_nodes(), name, request, t);
}

}  // namespace gen_server

namespace detail {
[[noreturn]] void bad_reply_type(const message& got, const std::type_info& want);
template <class R>
reply_type_t<R> take_reply(call_outcome&& o) {
  using T = reply_type_t<R>;
  if (!o.ok) throw exit_error(std::move(o.reason));
  if constexpr (std::is_same_v<T, message>) {
    return std::move(o.reply);
  } else {
    if (o.reply.template is<T>()) return std::move(o.reply.template get<T>());
    // Across the wire the reply is a term: decode it into the reply type
    // (or, for a term request answered with a typed value, encode that).
    if constexpr (std::is_same_v<T, term>) {
      if (o.reply.can_encode()) return o.reply.to_term();
    } else if constexpr (term_decodable<T>) {
      if (const term* t = o.reply.template get_if<term>()) {
        try {
          return from_term<T>(*t);
        } catch (const bad_term&) {
        }
      }
    }
    bad_reply_type(o.reply, typeid(T));
  }
}
}  // namespace detail

}  // namespace otp
