#pragma once
/// \file otp/term_codec.hpp
/// Converting C++ values to and from `otp::term`s: what lets a value travel to
/// another node (in the spirit of nlohmann/json's `to_json`/`from_json`).
///
/// `otp::to_term(v)` and `otp::from_term<T>(t)` pick, for a type `T`:
///  1. a specialisation `otp::term_codec<T>` with
///     `static term to_term(const T&)` and/or `static T from_term(const term&)`;
///  2. else free functions found by ADL in T's namespace:
///     `term to_term(const T&)` and `void from_term(const term&, T&)` (T
///     default-constructible). `OTP_TERM_TUPLE` and `OTP_TERM_MAP` write them.
/// Types in namespace `otp` itself must use (1): `otp::to_term` is a
/// function object, so a function of that name cannot be declared there.
///
/// Built in (as Elixir sees them):
/// | C++                                   | term                                   |
/// |---------------------------------------|----------------------------------------|
/// | `term`, `atom`                        | itself, an atom                        |
/// | `bool`                                | `true` / `false`                       |
/// | integral types                        | integer (range-checked when decoded)   |
/// | `float`, `double`                     | float (an integer decodes too)         |
/// | `std::string`                         | binary (a charlist decodes too)        |
/// | `std::string_view`, `const char*`     | binary (encode only)                   |
/// | `std::vector<T>`                      | proper list                            |
/// | `std::pair`, `std::tuple`             | tuple                                  |
/// | `std::map`, `std::unordered_map`      | map                                    |
/// | `std::optional<T>`                    | `nil` for nullopt, else the value      |
/// | `term_pid`, `term_ref`, `term_port`   | pid, reference, port                   |
/// | `exit_reason`                         | see `exit_reason_from_term`            |
/// Decoding failures throw `bad_term` naming the expected type and the term.

#include <concepts>
#include <initializer_list>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "otp/exit_reason.hpp"
#include "otp/pid.hpp"
#include "otp/ref.hpp"
#include "otp/term.hpp"

namespace otp {

/// Specialise for a type to give it a codec (see the file comment).
template <class T>
struct term_codec {};

namespace codec_detail {

// Blocks ordinary lookup so that `to_term(v)` / `from_term(t, v)` below find
// only the functions ADL brings in from the argument's namespace.
void to_term() = delete;
void from_term() = delete;

template <class T>
concept codec_encodable = requires(const T& v) {
  { term_codec<T>::to_term(v) } -> std::same_as<term>;
};
template <class T>
concept codec_decodable = requires(const term& t) {
  { term_codec<T>::from_term(t) } -> std::same_as<T>;
};
template <class T>
concept adl_encodable = requires(const T& v) {
  { to_term(v) } -> std::same_as<term>;
};
template <class T>
concept adl_decodable = std::default_initializable<T> && requires(const term& t, T& v) { from_term(t, v); };

template <class T>
term adl_to_term(const T& v) {
  return to_term(v);
}
template <class T>
void adl_from_term(const term& t, T& v) {
  from_term(t, v);
}

}  // namespace codec_detail

/// A type `otp::to_term` accepts.
template <class T>
concept term_encodable = codec_detail::codec_encodable<T> || codec_detail::adl_encodable<T>;
/// A type `otp::from_term<T>` produces.
template <class T>
concept term_decodable = codec_detail::codec_decodable<T> || codec_detail::adl_decodable<T>;

namespace codec_detail {

struct to_term_fn {
  template <class T>
    requires term_encodable<T>
  term operator()(const T& v) const {
    if constexpr (codec_encodable<T>)
      return term_codec<T>::to_term(v);
    else
      return adl_to_term(v);
  }
};

template <class T>
struct from_term_fn {
  T operator()(const term& t) const
    requires term_decodable<T>
  {
    if constexpr (codec_decodable<T>) {
      return term_codec<T>::from_term(t);
    } else {
      T v{};
      adl_from_term(t, v);
      return v;
    }
  }
};

}  // namespace codec_detail

/// `otp::to_term(v)`: the term for `v`.
inline constexpr codec_detail::to_term_fn to_term{};
/// `otp::from_term<T>(t)`: the `T` that `t` denotes; throws `bad_term` if it
/// denotes none.
template <class T>
inline constexpr codec_detail::from_term_fn<T> from_term{};

/// An exit reason received from another node (the inverse of
/// `to_term(exit_reason)`); never throws:
/// - `normal`, `shutdown`, `kill`, `killed`, `noproc` ↔ those atoms;
/// - `{shutdown, D}` ↔ `exit_reason::shutdown(text of D)`;
/// - an exception ↔ an Elixir exception struct
///   `%{__exception__: true, __struct__: :"std::runtime_error", message: "boom"}`;
///   an Elixir crash reason `{exception_struct, stacktrace}` decodes to the
///   exception too;
/// - `wrap(inner, where)` ↔ `{inner, where}` when `where` is a `{M, F, Args}`
///   tuple (as in `{timeout, {gen_server, call, [...]}}`);
/// - `other(text)` ↔ the term `text` parses to; anything else decodes to
///   `other(printed term)`.
/// Texts (`other`, `{shutdown, D}`, `where`) that do not parse as terms, e.g.
/// those naming local pids, travel as binaries and come back verbatim; texts
/// that parse come back as the term prints (canonical spacing).
exit_reason exit_reason_from_term(const term& t);

namespace codec_detail {

[[noreturn]] void fail(std::string_view expected, const term& got);
[[noreturn]] void fail_field(std::string_view type, std::string_view field, const bad_term& inner);
term tagged(const char* tag, std::initializer_list<term> fields);
std::span<const term> untag(const term& t, const char* tag, std::size_t fields, std::string_view type);
term field_map(std::initializer_list<std::pair<const char*, term>> fields);
const term& map_field(const term& t, const char* key, std::string_view type);

template <class T>
T field(const term& t, std::string_view type, std::string_view name) {
  try {
    return ::otp::from_term<T>(t);
  } catch (const bad_term& e) {
    fail_field(type, name, e);
  }
}

std::int64_t integer_in(const term& t, std::int64_t min, std::int64_t max);
std::uint64_t unsigned_in(const term& t, std::uint64_t max);

}  // namespace codec_detail

// ---------------------------------------------------------------- built-ins

template <>
struct term_codec<term> {
  static term to_term(const term& t) { return t; }
  static term from_term(const term& t) { return t; }
};

template <>
struct term_codec<atom> {
  static term to_term(atom a) { return term(a); }
  static atom from_term(const term& t) { return t.as_atom(); }
};

template <>
struct term_codec<bool> {
  static term to_term(bool b) { return term::boolean(b); }
  static bool from_term(const term& t) { return t.as_bool(); }
};

template <class T>
  requires std::integral<T> && (!std::same_as<T, bool>)
struct term_codec<T> {
  static term to_term(T v) {
    if constexpr (std::is_signed_v<T>)
      return term(static_cast<std::int64_t>(v));
    else
      return term::from_uint64(v);
  }
  static T from_term(const term& t) {
    if constexpr (std::is_signed_v<T>)
      return static_cast<T>(codec_detail::integer_in(t, std::numeric_limits<T>::min(), std::numeric_limits<T>::max()));
    else
      return static_cast<T>(codec_detail::unsigned_in(t, std::numeric_limits<T>::max()));
  }
};

template <std::floating_point T>
struct term_codec<T> {
  static term to_term(T v) { return term(static_cast<double>(v)); }
  static T from_term(const term& t) {
    if (!t.is_number()) codec_detail::fail("a float", t);
    return static_cast<T>(t.as_float());
  }
};

template <>
struct term_codec<std::string> {
  static term to_term(const std::string& s) { return term::binary(s); }
  static std::string from_term(const term& t);
};
template <>
struct term_codec<std::string_view> {
  static term to_term(std::string_view s) { return term::binary(s); }
};
template <>
struct term_codec<const char*> {
  static term to_term(const char* s) { return term::binary(std::string_view(s)); }
};
template <std::size_t N>
struct term_codec<char[N]> {  // a string literal or buffer: up to its first NUL
  static term to_term(const char (&s)[N]) {
    const char* end = std::char_traits<char>::find(s, N, '\0');
    return term::binary(std::string_view(s, end ? static_cast<std::size_t>(end - s) : N));
  }
};

template <class T, class A>
struct term_codec<std::vector<T, A>> {
  static term to_term(const std::vector<T, A>& v)
    requires term_encodable<T>
  {
    term_list items;
    items.reserve(v.size());
    for (const auto& e : v) items.push_back(otp::to_term(e));
    return term::list(std::move(items));
  }
  static std::vector<T, A> from_term(const term& t)
    requires term_decodable<T>
  {
    if (!t.is_proper_list()) codec_detail::fail("a proper list", t);
    std::vector<T, A> out;
    out.reserve(t.list_elements().size());
    for (const term& e : t.list_elements()) out.push_back(otp::from_term<T>(e));
    return out;
  }
};

template <class... T>
struct term_codec<std::tuple<T...>> {
  static term to_term(const std::tuple<T...>& v)
    requires(term_encodable<T> && ...)
  {
    return std::apply([](const auto&... e) { return term::tuple({otp::to_term(e)...}); }, v);
  }
  static std::tuple<T...> from_term(const term& t)
    requires(term_decodable<T> && ...)
  {
    if (!t.is_tuple() || t.size() != sizeof...(T)) codec_detail::fail("a tuple of " + std::to_string(sizeof...(T)), t);
    return [&t]<std::size_t... I>(std::index_sequence<I...>) {
      return std::tuple<T...>(otp::from_term<T>(t[I])...);
    }(std::index_sequence_for<T...>{});
  }
};

template <class A, class B>
struct term_codec<std::pair<A, B>> {
  static term to_term(const std::pair<A, B>& v)
    requires term_encodable<A> && term_encodable<B>
  {
    return term::tuple({otp::to_term(v.first), otp::to_term(v.second)});
  }
  static std::pair<A, B> from_term(const term& t)
    requires term_decodable<A> && term_decodable<B>
  {
    if (!t.is_tuple() || t.size() != 2) codec_detail::fail("a tuple of 2", t);
    return {otp::from_term<A>(t[0]), otp::from_term<B>(t[1])};
  }
};

namespace codec_detail {
template <class M>
struct map_codec {
  using K = typename M::key_type;
  using V = typename M::mapped_type;
  static term to_term(const M& m)
    requires term_encodable<K> && term_encodable<V>
  {
    std::vector<std::pair<term, term>> entries;
    entries.reserve(m.size());
    for (const auto& [k, v] : m) entries.emplace_back(otp::to_term(k), otp::to_term(v));
    return term::map(std::move(entries));
  }
  static M from_term(const term& t)
    requires term_decodable<K> && term_decodable<V>
  {
    if (!t.is_map()) fail("a map", t);
    M out;
    for (const auto& [k, v] : t.map_entries()) out.emplace(otp::from_term<K>(k), otp::from_term<V>(v));
    return out;
  }
};
}  // namespace codec_detail

template <class K, class V, class C, class A>
struct term_codec<std::map<K, V, C, A>> : codec_detail::map_codec<std::map<K, V, C, A>> {};
template <class K, class V, class H, class E, class A>
struct term_codec<std::unordered_map<K, V, H, E, A>> : codec_detail::map_codec<std::unordered_map<K, V, H, E, A>> {};

template <class T>
struct term_codec<std::optional<T>> {
  static term to_term(const std::optional<T>& v)
    requires term_encodable<T>
  {
    return v ? otp::to_term(*v) : term(atom("nil"));
  }
  static std::optional<T> from_term(const term& t)
    requires term_decodable<T>
  {
    if (t.is_atom("nil")) return std::nullopt;
    return otp::from_term<T>(t);
  }
};

template <>
struct term_codec<term_pid> {
  static term to_term(const term_pid& p) { return term(p); }
  static term_pid from_term(const term& t) { return t.as_pid(); }
};
template <>
struct term_codec<term_ref> {
  static term to_term(const term_ref& r) { return term(r); }
  static term_ref from_term(const term& t) { return t.as_ref(); }
};
template <>
struct term_codec<term_port> {
  static term to_term(const term_port& p) { return term(p); }
  static term_port from_term(const term& t) { return t.as_port(); }
};

/// A pid of this node, or of another one (then a pid of its stand-in, see
/// otp/dist.hpp): the wire form carries the node's name and creation.
template <>
struct term_codec<pid> {
  static term to_term(const pid& p);
  /// An unknown pid of this node (its process is gone) decodes to the empty pid.
  static pid from_term(const term& t);
};
/// A reference made by this node. References made by other nodes stay
/// `term_ref`s (decoding one into an `otp::ref` throws `bad_term`).
template <>
struct term_codec<ref> {
  static term to_term(const ref& r);
  static ref from_term(const term& t);
};

template <>
struct term_codec<exit_reason> {
  static term to_term(const exit_reason& r);
  static exit_reason from_term(const term& t) { return exit_reason_from_term(t); }
};

}  // namespace otp

// ---------------------------------------------------------------- declaring fields

// OTP_TERM_DETAIL_FOR_EACH(m, a, b, c) expands to m(a) m(b) m(c); up to 16 arguments.
#define OTP_TERM_DETAIL_FE_1(m, x) m(x)
#define OTP_TERM_DETAIL_FE_2(m, x, ...) m(x) OTP_TERM_DETAIL_FE_1(m, __VA_ARGS__)
#define OTP_TERM_DETAIL_FE_3(m, x, ...) m(x) OTP_TERM_DETAIL_FE_2(m, __VA_ARGS__)
#define OTP_TERM_DETAIL_FE_4(m, x, ...) m(x) OTP_TERM_DETAIL_FE_3(m, __VA_ARGS__)
#define OTP_TERM_DETAIL_FE_5(m, x, ...) m(x) OTP_TERM_DETAIL_FE_4(m, __VA_ARGS__)
#define OTP_TERM_DETAIL_FE_6(m, x, ...) m(x) OTP_TERM_DETAIL_FE_5(m, __VA_ARGS__)
#define OTP_TERM_DETAIL_FE_7(m, x, ...) m(x) OTP_TERM_DETAIL_FE_6(m, __VA_ARGS__)
#define OTP_TERM_DETAIL_FE_8(m, x, ...) m(x) OTP_TERM_DETAIL_FE_7(m, __VA_ARGS__)
#define OTP_TERM_DETAIL_FE_9(m, x, ...) m(x) OTP_TERM_DETAIL_FE_8(m, __VA_ARGS__)
#define OTP_TERM_DETAIL_FE_10(m, x, ...) m(x) OTP_TERM_DETAIL_FE_9(m, __VA_ARGS__)
#define OTP_TERM_DETAIL_FE_11(m, x, ...) m(x) OTP_TERM_DETAIL_FE_10(m, __VA_ARGS__)
#define OTP_TERM_DETAIL_FE_12(m, x, ...) m(x) OTP_TERM_DETAIL_FE_11(m, __VA_ARGS__)
#define OTP_TERM_DETAIL_FE_13(m, x, ...) m(x) OTP_TERM_DETAIL_FE_12(m, __VA_ARGS__)
#define OTP_TERM_DETAIL_FE_14(m, x, ...) m(x) OTP_TERM_DETAIL_FE_13(m, __VA_ARGS__)
#define OTP_TERM_DETAIL_FE_15(m, x, ...) m(x) OTP_TERM_DETAIL_FE_14(m, __VA_ARGS__)
#define OTP_TERM_DETAIL_FE_16(m, x, ...) m(x) OTP_TERM_DETAIL_FE_15(m, __VA_ARGS__)
#define OTP_TERM_DETAIL_PICK(_1, _2, _3, _4, _5, _6, _7, _8, _9, _10, _11, _12, _13, _14, _15, _16, name, ...) name
#define OTP_TERM_DETAIL_FOR_EACH(m, ...)                                                                        \
  OTP_TERM_DETAIL_PICK(__VA_ARGS__, OTP_TERM_DETAIL_FE_16, OTP_TERM_DETAIL_FE_15, OTP_TERM_DETAIL_FE_14,        \
                       OTP_TERM_DETAIL_FE_13, OTP_TERM_DETAIL_FE_12, OTP_TERM_DETAIL_FE_11, OTP_TERM_DETAIL_FE_10, \
                       OTP_TERM_DETAIL_FE_9, OTP_TERM_DETAIL_FE_8, OTP_TERM_DETAIL_FE_7, OTP_TERM_DETAIL_FE_6,     \
                       OTP_TERM_DETAIL_FE_5, OTP_TERM_DETAIL_FE_4, OTP_TERM_DETAIL_FE_3, OTP_TERM_DETAIL_FE_2,     \
                       OTP_TERM_DETAIL_FE_1)                                                                    \
  (m, __VA_ARGS__)

#define OTP_TERM_DETAIL_ENCODE(f) ::otp::to_term(otp_value_.f),
#define OTP_TERM_DETAIL_COUNT(f) +1
#define OTP_TERM_DETAIL_DECODE(f) \
  otp_value_.f = ::otp::codec_detail::field<decltype(otp_value_.f)>(otp_fields_[otp_next_++], otp_type_, #f);
#define OTP_TERM_DETAIL_MAP_ENCODE(f) {#f, ::otp::to_term(otp_value_.f)},
#define OTP_TERM_DETAIL_MAP_DECODE(f)                                                                        \
  otp_value_.f = ::otp::codec_detail::field<decltype(otp_value_.f)>(                                         \
      ::otp::codec_detail::map_field(otp_term_, #f, otp_type_), otp_type_, #f);

/// Gives `Type` a codec (ADL `to_term`/`from_term`; use it in Type's
/// namespace) that maps `Type{a, b}` to the tuple `{tag, A, B}`: the atom
/// `tag`, then the fields in order (at most 16). Without fields, `Type{}` is
/// the bare atom `tag`. Decoding checks the tag and the arity.
///     struct put { std::string key; int value; };
///     OTP_TERM_TUPLE(put, "put", key, value)   // {put, <<"k">>, 1}
#define OTP_TERM_TUPLE(Type, tag, ...)                                                                         \
  [[maybe_unused]] inline ::otp::term to_term([[maybe_unused]] const Type& otp_value_) {                       \
    return ::otp::codec_detail::tagged(tag, {__VA_OPT__(OTP_TERM_DETAIL_FOR_EACH(OTP_TERM_DETAIL_ENCODE, __VA_ARGS__))}); \
  }                                                                                                            \
  [[maybe_unused]] inline void from_term(const ::otp::term& otp_term_, [[maybe_unused]] Type& otp_value_) {    \
    [[maybe_unused]] constexpr const char* otp_type_ = #Type;                                                  \
    [[maybe_unused]] auto otp_fields_ = ::otp::codec_detail::untag(                                            \
        otp_term_, tag, 0 __VA_OPT__(OTP_TERM_DETAIL_FOR_EACH(OTP_TERM_DETAIL_COUNT, __VA_ARGS__)), otp_type_); \
    [[maybe_unused]] std::size_t otp_next_ = 0;                                                                \
    __VA_OPT__(OTP_TERM_DETAIL_FOR_EACH(OTP_TERM_DETAIL_DECODE, __VA_ARGS__))                                  \
  }

/// Gives `Type` a codec (ADL, like OTP_TERM_TUPLE) that maps it to a map with
/// atom keys, as an Elixir map or struct: `%{field1: ..., field2: ...}`.
/// Decoding needs every field's key (else `bad_term`) and ignores other keys
/// (such as an Elixir struct's `__struct__`).
#define OTP_TERM_MAP(Type, ...)                                                                                \
  [[maybe_unused]] inline ::otp::term to_term(const Type& otp_value_) {                                        \
    return ::otp::codec_detail::field_map({OTP_TERM_DETAIL_FOR_EACH(OTP_TERM_DETAIL_MAP_ENCODE, __VA_ARGS__)}); \
  }                                                                                                            \
  [[maybe_unused]] inline void from_term(const ::otp::term& otp_term_, Type& otp_value_) {                     \
    [[maybe_unused]] constexpr const char* otp_type_ = #Type;                                                  \
    if (!otp_term_.is_map()) ::otp::codec_detail::fail("a map for " #Type, otp_term_);                        \
    OTP_TERM_DETAIL_FOR_EACH(OTP_TERM_DETAIL_MAP_DECODE, __VA_ARGS__)                                          \
  }
