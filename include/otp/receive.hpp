#pragma once
/// \file otp/receive.hpp
/// Selective receive with timeout, like Erlang's `receive ... after ... end`.
///
///   otp::receive(
///       [](const ping& p) { ... },                       // match by type
///       otp::when([](const int& n) { return n > 3; },    // type + guard
///                 [](int n) { ... }),
///       [](otp::message& any) { ... },                   // catch-all
///       otp::after(100ms, [] { ... }));                  // timeout clause
///
/// The first message in arrival order that any clause matches is removed and
/// handed to the first clause that matches it; the others stay queued in
/// their order. Without `after`, it waits forever. Only the owning process
/// (or foreign thread) may receive from its mailbox.

#include <chrono>
#include <optional>
#include <tuple>
#include <type_traits>
#include <utility>

#include "otp/message.hpp"

namespace otp {

using timeout = std::chrono::milliseconds;
/// Wait forever.
inline constexpr timeout infinity = timeout::max();

namespace detail {
using match_fn = bool (*)(const void* ctx, const message& m);
/// Removes and returns the first queued message for which `match` is true,
/// waiting up to `t`; nullopt on timeout. `match` may be called many times.
std::optional<message> receive_core(match_fn match, const void* ctx, timeout t);

template <class F>
struct callable_traits : callable_traits<decltype(&std::decay_t<F>::operator())> {};
template <class C, class R, class A>
struct callable_traits<R (C::*)(A) const> {
  using arg = A;
  using result = R;
};
template <class C, class R, class A>
struct callable_traits<R (C::*)(A)> {
  using arg = A;
  using result = R;
};
template <class R, class A>
struct callable_traits<R (*)(A)> {
  using arg = A;
  using result = R;
};
template <class F>
using clause_arg_t = std::remove_cvref_t<typename callable_traits<F>::arg>;
template <class F>
using clause_result_t = typename callable_traits<F>::result;
}  // namespace detail

/// A clause with a guard: matches a `T` for which `pred(const T&)` is true.
template <class Pred, class F>
struct guarded_clause {
  Pred pred;
  F fn;
};
template <class Pred, class F>
guarded_clause<std::decay_t<Pred>, std::decay_t<F>> when(Pred&& pred, F&& fn) {
  return {std::forward<Pred>(pred), std::forward<F>(fn)};
}

/// The timeout clause: runs `fn()` if nothing matched within `t`.
template <class F>
struct after_clause {
  timeout t;
  F fn;
};
template <class F>
after_clause<std::decay_t<F>> after(timeout t, F&& fn) {
  return {t, std::forward<F>(fn)};
}

namespace detail {
template <class C>
struct clause_info {  // a plain handler
  using arg = clause_arg_t<C>;
  using result = clause_result_t<C>;
  static const C& fn(const C& c) { return c; }
  static bool guard(const C&, const arg&) { return true; }
};
template <class P, class F>
struct clause_info<guarded_clause<P, F>> {
  using arg = clause_arg_t<F>;
  using result = clause_result_t<F>;
  static const F& fn(const guarded_clause<P, F>& c) { return c.fn; }
  static bool guard(const guarded_clause<P, F>& c, const arg& a) { return c.pred(a); }
};

template <class C>
bool clause_matches(const C& c, const message& m) {
  using A = typename clause_info<C>::arg;
  if constexpr (std::is_same_v<A, message>) {
    return clause_info<C>::guard(c, m);
  } else {
    return m.is<A>() && clause_info<C>::guard(c, m.get<A>());
  }
}

// Calls the clause's function with the message: by reference for `T&` and
// `const T&` parameters, moved out of the message for `T` and `T&&` ones
// (so move-only messages can be taken by value).
template <class C>
decltype(auto) invoke_clause(const C& c, message& m) {
  using A = typename clause_info<C>::arg;
  using F = std::decay_t<decltype(clause_info<C>::fn(c))>;
  using Param = typename callable_traits<F>::arg;
  auto& f = const_cast<F&>(clause_info<C>::fn(c));
  if constexpr (std::is_same_v<A, message>) {
    if constexpr (std::is_lvalue_reference_v<Param>) return f(m);
    else return f(std::move(m));
  } else {
    if constexpr (std::is_lvalue_reference_v<Param>) return f(m.get<A>());
    else return f(std::move(m.get<A>()));
  }
}

template <class... Cs>
struct clause_set {
  std::tuple<const Cs&...> clauses;
  mutable std::size_t matched = 0;

  static bool match(const void* self, const message& m) {
    auto& me = *static_cast<const clause_set*>(self);
    return me.find(m, std::index_sequence_for<Cs...>{});
  }
  template <std::size_t... I>
  bool find(const message& m, std::index_sequence<I...>) const {
    return ((clause_matches(std::get<I>(clauses), m) ? (matched = I, true) : false) || ...);
  }
  template <class R, std::size_t I = 0>
  R dispatch(message& m) const {
    if constexpr (I + 1 < sizeof...(Cs)) {
      if (matched != I) return dispatch<R, I + 1>(m);
    }
    if constexpr (std::is_void_v<R>) invoke_clause(std::get<I>(clauses), m);
    else return invoke_clause(std::get<I>(clauses), m);
  }
};

template <class T>
struct is_after : std::false_type {};
template <class F>
struct is_after<after_clause<F>> : std::true_type {};

template <class R, class... Cs>
R receive_clauses(timeout t, const Cs&... cs) {
  clause_set<Cs...> set{std::tie(cs...)};
  auto m = receive_core(&clause_set<Cs...>::match, &set, t);
  return set.template dispatch<R>(*m);
}

template <class... Cs, std::size_t... I, class A>
decltype(auto) receive_with_after(std::tuple<const Cs&...> cs, std::index_sequence<I...>, const A& a) {
  using R = std::common_type_t<typename clause_info<std::decay_t<std::tuple_element_t<I, std::tuple<Cs...>>>>::result...,
                               std::invoke_result_t<decltype(a.fn)>>;
  clause_set<std::decay_t<std::tuple_element_t<I, std::tuple<Cs...>>>...> set{std::tie(std::get<I>(cs)...)};
  auto m = receive_core(&decltype(set)::match, &set, a.t);
  if (!m) {
    if constexpr (std::is_void_v<R>) { const_cast<A&>(a).fn(); return; }
    else return static_cast<R>(const_cast<A&>(a).fn());
  }
  if constexpr (std::is_void_v<R>) set.template dispatch<void>(*m);
  else return static_cast<R>(set.template dispatch<R>(*m));
}
}  // namespace detail

/// Selective receive over the given clauses; see the file comment.
template <class... Cs>
decltype(auto) receive(const Cs&... cs) {
  static_assert(sizeof...(Cs) > 0, "otp::receive needs at least one clause");
  constexpr bool has_after = detail::is_after<std::decay_t<std::tuple_element_t<sizeof...(Cs) - 1, std::tuple<Cs...>>>>::value;
  if constexpr (has_after) {
    static_assert(sizeof...(Cs) > 1, "otp::receive needs a message clause besides after()");
    auto all = std::tie(cs...);
    return detail::receive_with_after(all, std::make_index_sequence<sizeof...(Cs) - 1>{}, std::get<sizeof...(Cs) - 1>(all));
  } else {
    using R = std::common_type_t<typename detail::clause_info<Cs>::result...>;
    return detail::receive_clauses<R>(infinity, cs...);
  }
}

/// Receives the first message of type `T` (others stay queued); nullopt on timeout.
template <class T>
std::optional<T> receive_as(timeout t = infinity) {
  auto m = detail::receive_core([](const void*, const message& x) { return x.is<T>(); }, nullptr, t);
  // One conditional expression, here and in receive_if, rather than two
  // returns or a helper: GCC then builds the optional in place. Otherwise it
  // assembled it from a byte store and copied it with a wider load, a
  // store-forwarding stall that cost 5 % of a message hop (thread_ring).
  return m ? std::optional<T>(std::in_place, std::move(m->template get<T>())) : std::optional<T>();
}

/// Receives the first `T` for which `pred(const T&)` holds; nullopt on timeout.
template <class T, class Pred>
std::optional<T> receive_if(Pred&& pred, timeout t = infinity) {
  auto m = detail::receive_core(
      [](const void* p, const message& x) {
        return x.is<T>() && (*static_cast<const std::remove_reference_t<Pred>*>(p))(x.get<T>());
      },
      &pred, t);
  return m ? std::optional<T>(std::in_place, std::move(m->template get<T>())) : std::optional<T>();
}

/// Receives the oldest message of any type; nullopt on timeout.
inline std::optional<message> receive_any(timeout t = infinity) {
  return detail::receive_core([](const void*, const message&) { return true; }, nullptr, t);
}

}  // namespace otp
