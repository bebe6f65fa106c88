// otp::to_term / otp::from_term: the built-in codecs, term_codec
// specialisations, ADL functions, OTP_TERM_TUPLE / OTP_TERM_MAP, and exit
// reasons across the wire.

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "otp/term_codec.hpp"
#include "term/atom_table.hpp"

namespace {

using otp::atom;
using otp::bad_term;
using otp::exit_reason;
using otp::from_term;
using otp::term;
using otp::to_term;

term p(std::string_view s) { return term::parse(s); }

template <class T>
T round_trip(const T& v) {
  return from_term<T>(to_term(v));
}

std::string error_of(auto&& f) {
  try {
    f();
  } catch (const bad_term& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace

// ---------------------------------------------------------------- user types (in their own namespace, for ADL)

namespace shop {

struct put {
  std::string key;
  int value = 0;
  friend bool operator==(const put&, const put&) = default;
};
OTP_TERM_TUPLE(put, "put", key, value)

struct ping {
  friend bool operator==(const ping&, const ping&) = default;
};
OTP_TERM_TUPLE(ping, "ping")

struct wide {
  int f1, f2, f3, f4, f5, f6, f7, f8, f9, f10, f11, f12, f13, f14, f15, f16;
  friend bool operator==(const wide&, const wide&) = default;
};
OTP_TERM_TUPLE(wide, "wide", f1, f2, f3, f4, f5, f6, f7, f8, f9, f10, f11, f12, f13, f14, f15, f16)

struct user {
  std::string name;
  std::optional<int> age;
  std::vector<std::string> tags;
  friend bool operator==(const user&, const user&) = default;
};
OTP_TERM_MAP(user, name, age, tags)

struct order {
  std::vector<put> lines;
  user customer;
  friend bool operator==(const order&, const order&) = default;
};
OTP_TERM_TUPLE(order, "order", lines, customer)

// Hand-written ADL functions.
struct celsius {
  double degrees = 0;
};
inline term to_term(const celsius& c) { return term::tuple({term(atom("celsius")), term(c.degrees)}); }
inline void from_term(const term& t, celsius& c) {
  if (!t.is_tagged_tuple("celsius", 2)) throw bad_term("not celsius");
  c.degrees = t[1].as_float();
}

struct no_codec {};

}  // namespace shop

// A term_codec specialisation, which wins over ADL functions.
struct rgb {
  std::uint8_t r, g, b;
};
inline term to_term(const rgb&) { return term(atom("never used")); }
template <>
struct otp::term_codec<rgb> {
  static term to_term(const rgb& c) { return term::binary(std::string{char(c.r), char(c.g), char(c.b)}); }
  static rgb from_term(const term& t) {
    auto b = t.as_binary();
    if (b.size() != 3) throw bad_term("rgb: 3 bytes");
    return {std::uint8_t(b[0]), std::uint8_t(b[1]), std::uint8_t(b[2])};
  }
};

// An encode-only codec.
struct log_line {
  std::string text;
};
template <>
struct otp::term_codec<log_line> {
  static term to_term(const log_line& l) { return term::binary(l.text); }
};

namespace {

// ---------------------------------------------------------------- concepts

static_assert(otp::term_encodable<int> && otp::term_decodable<int>);
static_assert(otp::term_encodable<std::vector<std::map<std::string, std::optional<double>>>>);
static_assert(otp::term_decodable<std::tuple<bool, atom, std::pair<term, std::uint64_t>>>);
static_assert(otp::term_encodable<shop::put> && otp::term_decodable<shop::put>);
static_assert(otp::term_encodable<shop::celsius> && otp::term_decodable<shop::celsius>);
static_assert(otp::term_encodable<rgb> && otp::term_decodable<rgb>);
static_assert(otp::term_encodable<log_line> && !otp::term_decodable<log_line>);
static_assert(!otp::term_encodable<shop::no_codec> && !otp::term_decodable<shop::no_codec>);
static_assert(!otp::term_encodable<std::vector<shop::no_codec>>);
static_assert(!otp::term_decodable<std::map<int, shop::no_codec>>);
static_assert(!otp::term_decodable<std::optional<log_line>>);
static_assert(otp::term_encodable<std::string_view> && !otp::term_decodable<std::string_view>);
static_assert(otp::term_encodable<const char*> && !otp::term_decodable<const char*>);
static_assert(otp::term_encodable<exit_reason> && otp::term_decodable<exit_reason>);

// ---------------------------------------------------------------- built-ins

TEST(term_codec, term_and_atom) {
  term t = p("{a, [1]}");
  EXPECT_EQ(to_term(t), t);
  EXPECT_EQ(from_term<term>(t), t);
  EXPECT_EQ(to_term(atom("ok")), term(atom("ok")));
  EXPECT_EQ(from_term<atom>(p("ok")), atom("ok"));
  EXPECT_THROW(from_term<atom>(p("1")), bad_term);
}

TEST(term_codec, bool_is_the_atoms_true_and_false) {
  EXPECT_EQ(to_term(true), p("true"));
  EXPECT_EQ(to_term(false), p("false"));
  EXPECT_TRUE(from_term<bool>(p("true")));
  EXPECT_FALSE(from_term<bool>(p("false")));
  EXPECT_THROW(from_term<bool>(p("1")), bad_term);
}

TEST(term_codec, integers_are_range_checked_when_decoded) {
  EXPECT_EQ(to_term(42), term(42));
  EXPECT_EQ(to_term(std::int8_t{-5}), term(-5));
  EXPECT_EQ(to_term('A'), term(65));
  EXPECT_EQ(round_trip(std::numeric_limits<std::int64_t>::min()), std::numeric_limits<std::int64_t>::min());
  EXPECT_EQ(to_term(std::numeric_limits<std::uint64_t>::max()), p("18446744073709551615"));
  EXPECT_EQ(round_trip(std::numeric_limits<std::uint64_t>::max()), std::numeric_limits<std::uint64_t>::max());
  EXPECT_EQ(from_term<std::uint8_t>(p("255")), 255);
  EXPECT_EQ(error_of([] { from_term<std::uint8_t>(p("256")); }), "expected an integer in [0, 255], got 256");
  EXPECT_EQ(error_of([] { from_term<std::int16_t>(p("-40000")); }), "expected an integer in [-32768, 32767], got -40000");
  EXPECT_THROW(from_term<unsigned>(p("-1")), bad_term);
  EXPECT_THROW(from_term<std::uint64_t>(p("18446744073709551616")), bad_term);
  EXPECT_THROW(from_term<std::int64_t>(p("9223372036854775808")), bad_term);
  EXPECT_THROW(from_term<int>(p("1.0")), bad_term);
  EXPECT_THROW(from_term<int>(p("ok")), bad_term);
}

TEST(term_codec, floats_accept_integers) {
  EXPECT_EQ(to_term(1.5), term(1.5));
  EXPECT_EQ(to_term(0.5f), term(0.5));
  EXPECT_EQ(from_term<double>(p("2")), 2.0);
  EXPECT_EQ(from_term<float>(p("2.5")), 2.5f);
  EXPECT_DOUBLE_EQ(from_term<double>(p("100000000000000000000")), 1e20);
  EXPECT_EQ(error_of([] { from_term<double>(p("\"x\"")); }), "expected a float, got [120]");
}

TEST(term_codec, strings_are_binaries_and_decode_from_charlists_too) {
  EXPECT_EQ(to_term(std::string("h\xc3\xa9")), term::binary("h\xc3\xa9"));
  EXPECT_EQ(to_term(std::string_view("sv")), term::binary("sv"));
  EXPECT_EQ(to_term("literal"), term::binary("literal"));
  char buffer[8] = "buf";  // up to the first NUL
  EXPECT_EQ(to_term(buffer), term::binary("buf"));
  const char* c_string = "c";
  EXPECT_EQ(to_term(c_string), term::binary("c"));
  EXPECT_EQ(from_term<std::string>(term::binary("bin")), "bin");
  EXPECT_EQ(from_term<std::string>(p("\"h\\x{e9}\"")), "h\xc3\xa9");
  EXPECT_EQ(from_term<std::string>(p("[]")), "");
  EXPECT_EQ(round_trip(std::string("\0\xff", 2)), std::string("\0\xff", 2));
  EXPECT_THROW(from_term<std::string>(p("[1 | 2]")), bad_term);
  EXPECT_THROW(from_term<std::string>(p("[-1]")), bad_term);
  EXPECT_THROW(from_term<std::string>(p("<<1:1>>")), bad_term);
  EXPECT_THROW(from_term<std::string>(p("hello")), bad_term);
}

TEST(term_codec, vectors_are_proper_lists) {
  EXPECT_EQ(to_term(std::vector<int>{1, 2, 3}), p("[1,2,3]"));
  EXPECT_EQ(to_term(std::vector<int>{}), p("[]"));
  EXPECT_EQ(round_trip(std::vector<std::string>{"a", "b"}), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(from_term<std::vector<int>>(p("\"ab\"")), (std::vector<int>{97, 98}));
  EXPECT_EQ(error_of([] { from_term<std::vector<int>>(p("[1|2]")); }), "expected a proper list, got [1|2]");
  EXPECT_THROW(from_term<std::vector<int>>(p("[1, x]")), bad_term);
}

TEST(term_codec, pairs_and_tuples_are_tuples) {
  EXPECT_EQ(to_term(std::pair{1, std::string("x")}), p("{1, <<\"x\">>}"));
  EXPECT_EQ(to_term(std::tuple{atom("ok"), 1.5, true}), p("{ok, 1.5, true}"));
  EXPECT_EQ(to_term(std::tuple<>{}), p("{}"));
  auto t = std::tuple{atom("ok"), std::vector<int>{1}, std::optional<int>{}};
  EXPECT_EQ(round_trip(t), t);
  EXPECT_EQ((from_term<std::pair<int, int>>(p("{1, 2}"))), (std::pair{1, 2}));
  EXPECT_EQ(error_of([] { from_term<std::pair<int, int>>(p("{1, 2, 3}")); }), "expected a tuple of 2, got {1,2,3}");
  EXPECT_THROW((from_term<std::tuple<int, int>>(p("[1, 2]"))), bad_term);
}

TEST(term_codec, maps_are_maps) {
  std::map<std::string, int> m{{"a", 1}, {"b", 2}};
  EXPECT_EQ(to_term(m), p("#{<<\"a\">> => 1, <<\"b\">> => 2}"));
  EXPECT_EQ(round_trip(m), m);
  std::unordered_map<atom, std::vector<int>> u{{atom("x"), {1}}, {atom("y"), {}}};
  EXPECT_EQ(to_term(u), p("#{x => [1], y => []}"));
  EXPECT_EQ(round_trip(u), u);
  EXPECT_THROW((from_term<std::map<int, int>>(p("[{1, 2}]"))), bad_term);
  EXPECT_THROW((from_term<std::map<int, int>>(p("#{a => 1}"))), bad_term);
}

TEST(term_codec, optional_is_nil_or_the_value) {
  EXPECT_EQ(to_term(std::optional<int>{}), p("nil"));
  EXPECT_EQ(to_term(std::optional<int>{3}), p("3"));
  EXPECT_EQ(from_term<std::optional<int>>(p("nil")), std::nullopt);
  EXPECT_EQ(from_term<std::optional<int>>(p("3")), 3);
  EXPECT_THROW(from_term<std::optional<int>>(p("undefined")), bad_term);
}

TEST(term_codec, remote_identities) {
  otp::term_pid pid{atom("n@h"), 1, 2, 3};
  otp::term_ref ref{atom("n@h"), 3, {1, 2, 3}};
  otp::term_port port{atom("n@h"), 9, 3};
  EXPECT_EQ(round_trip(pid), pid);
  EXPECT_EQ(round_trip(ref), ref);
  EXPECT_EQ(round_trip(port), port);
  EXPECT_TRUE(to_term(pid).is_pid());
  EXPECT_THROW(from_term<otp::term_pid>(p("ok")), bad_term);
}

// ---------------------------------------------------------------- customisation

TEST(term_codec, adl_functions_are_found) {
  EXPECT_EQ(to_term(shop::celsius{21.5}), p("{celsius, 21.5}"));
  EXPECT_EQ(from_term<shop::celsius>(p("{celsius, 3}")).degrees, 3.0);
  EXPECT_EQ(to_term(std::vector<shop::celsius>{{1.0}}), p("[{celsius, 1.0}]"));
  EXPECT_THROW(from_term<shop::celsius>(p("{kelvin, 3}")), bad_term);
}

TEST(term_codec, a_term_codec_specialisation_wins_over_adl) {
  EXPECT_EQ(to_term(rgb{1, 2, 3}), term::binary("\x01\x02\x03"));
  rgb c = from_term<rgb>(term::binary("abc"));
  EXPECT_EQ(c.g, 'b');
  EXPECT_EQ(to_term(log_line{"hi"}), term::binary("hi"));
}

TEST(term_codec, tuple_macro_puts_the_tag_first) {
  EXPECT_EQ(to_term(shop::put{"k", 1}), p("{put, <<\"k\">>, 1}"));
  EXPECT_EQ(from_term<shop::put>(p("{put, \"k\", 2}")), (shop::put{"k", 2}));
  EXPECT_EQ(round_trip(shop::put{"key", -5}), (shop::put{"key", -5}));
  EXPECT_EQ(error_of([] { from_term<shop::put>(p("{get, <<\"k\">>}")); }),
            "expected {put, ...} with 2 fields for put, got {get,<<\"k\">>}");
  EXPECT_EQ(error_of([] { from_term<shop::put>(p("{put, <<\"k\">>}")); }),
            "expected {put, ...} with 2 fields for put, got {put,<<\"k\">>}");
  EXPECT_EQ(error_of([] { from_term<shop::put>(p("{put, <<\"k\">>, x}")); }),
            "put.value: expected an integer in [-2147483648, 2147483647], got x");
}

TEST(term_codec, tuple_macro_without_fields_is_the_bare_atom) {
  EXPECT_EQ(to_term(shop::ping{}), p("ping"));
  EXPECT_NO_THROW(from_term<shop::ping>(p("ping")));
  EXPECT_EQ(error_of([] { from_term<shop::ping>(p("{ping}")); }), "expected the atom ping for ping, got {ping}");
}

TEST(term_codec, tuple_macro_takes_sixteen_fields) {
  shop::wide w{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
  EXPECT_EQ(to_term(w), p("{wide,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16}"));
  EXPECT_EQ(round_trip(w), w);
}

TEST(term_codec, map_macro_uses_atom_keys_and_ignores_extra_ones) {
  shop::user u{"ann", 42, {"a"}};
  EXPECT_EQ(to_term(u), p("#{name => <<\"ann\">>, age => 42, tags => [<<\"a\">>]}"));
  EXPECT_EQ(round_trip(u), u);
  EXPECT_EQ(from_term<shop::user>(p("#{'__struct__' => 'Elixir.User', name => \"bo\", age => nil, tags => []}")),
            (shop::user{"bo", std::nullopt, {}}));
  EXPECT_EQ(error_of([] { from_term<shop::user>(p("#{name => <<\"x\">>, tags => []}")); }),
            "user: missing key age in #{name => <<\"x\">>,tags => []}");
  EXPECT_EQ(error_of([] { from_term<shop::user>(p("{user}")); }), "expected a map for user, got {user}");
  EXPECT_EQ(error_of([] { from_term<shop::user>(p("#{name => 1, age => 1, tags => []}")); }),
            "user.name: expected a string (a binary or a charlist), got 1");
}

TEST(term_codec, macros_nest) {
  shop::order o{{{"a", 1}, {"b", 2}}, {"cy", std::nullopt, {}}};
  EXPECT_EQ(to_term(o), p("{order, [{put, <<\"a\">>, 1}, {put, <<\"b\">>, 2}], "
                          "#{name => <<\"cy\">>, age => nil, tags => []}}"));
  EXPECT_EQ(round_trip(o), o);
  EXPECT_EQ(error_of([] { from_term<shop::order>(p("{order, [{put, <<\"a\">>, z}], #{}}")); }),
            "order.lines: put.value: expected an integer in [-2147483648, 2147483647], got z");
}

// ---------------------------------------------------------------- exit reasons

TEST(term_codec_exit_reason, common_reasons_are_the_atoms) {
  EXPECT_EQ(to_term(exit_reason::normal()), p("normal"));
  EXPECT_EQ(to_term(exit_reason::shutdown()), p("shutdown"));
  EXPECT_EQ(to_term(exit_reason::kill()), p("kill"));
  EXPECT_EQ(to_term(exit_reason::killed()), p("killed"));
  EXPECT_EQ(to_term(exit_reason::noproc()), p("noproc"));
  EXPECT_EQ(to_term(exit_reason::timeout()), p("timeout"));
  EXPECT_EQ(to_term(exit_reason::shutdown("{disk, full}")), p("{shutdown, {disk, full}}"));
  EXPECT_EQ(to_term(exit_reason::shutdown("disk full")), p("{shutdown, <<\"disk full\">>}"));
  EXPECT_EQ(to_term(exit_reason::other("{badarg, 1}")), p("{badarg, 1}"));
  EXPECT_EQ(to_term(exit_reason::wrap(exit_reason::timeout(), "{gen_server,call,[srv,get,5000]}")),
            p("{timeout, {gen_server, call, [srv, get, 5000]}}"));
}

TEST(term_codec_exit_reason, exceptions_are_elixir_exception_structs) {
  exit_reason e = exit_reason::exception("std::runtime_error", "boom");
  EXPECT_EQ(to_term(e), p("#{'__exception__' => true, '__struct__' => 'std::runtime_error', message => <<\"boom\">>}"));
  // An Elixir process that raised exits with {exception, stacktrace}
  exit_reason from_elixir = otp::exit_reason_from_term(
      p("{#{'__exception__' => true, '__struct__' => 'Elixir.RuntimeError', message => <<\"bad\">>}, "
        "[{m, f, 1, [{line, 3}]}]}"));
  EXPECT_TRUE(from_elixir.is_exception());
  EXPECT_EQ(from_elixir.detail(), "Elixir.RuntimeError");
  EXPECT_EQ(from_elixir.what(), "bad");
}

TEST(term_codec_exit_reason, round_trips) {
  std::exception_ptr thrown;
  try {
    throw std::out_of_range("index 7");
  } catch (...) {
    thrown = std::current_exception();
  }
  const std::vector<exit_reason> reasons = {
      exit_reason::normal(), exit_reason::shutdown(), exit_reason::kill(), exit_reason::killed(),
      exit_reason::noproc(), exit_reason::timeout(), exit_reason::other("'EXIT'"), exit_reason::other("{badarg,1}"),
      exit_reason::other("not a term, has <0.5.0> in it"), exit_reason::other(""),
      exit_reason::shutdown("{disk,full}"), exit_reason::shutdown("disk full"), exit_reason::shutdown(""),
      exit_reason::from_exception(thrown), exit_reason::exception("my::error", ""),
      exit_reason::wrap(exit_reason::timeout(), "{gen_server,call,[srv,get,5000]}"),
      exit_reason::wrap(exit_reason::noproc(), "{gen_server,call,[<0.5.0>,get,5000]}"),
      exit_reason::wrap(exit_reason::wrap(exit_reason::from_exception(thrown), "{gen_server,call,[a,b,1]}"),
                        "{gen_server,call,[c,d,2]}")};
  for (const exit_reason& r : reasons) {
    term t = to_term(r);
    EXPECT_EQ(otp::exit_reason_from_term(t), r) << r.to_string() << " went as " << t.to_string() << " came back as "
                                                << otp::exit_reason_from_term(t).to_string();
    EXPECT_EQ(from_term<exit_reason>(t), r);
  }
}

TEST(term_codec_exit_reason, any_other_term_is_printed) {
  EXPECT_EQ(otp::exit_reason_from_term(p("{badmatch, [1,2]}")), exit_reason::other("{badmatch,[1,2]}"));
  EXPECT_EQ(otp::exit_reason_from_term(p("<<\"timeout\">>")), exit_reason::other("<<\"timeout\">>"));
  EXPECT_EQ(otp::exit_reason_from_term(p("'hello world'")), exit_reason::other("'hello world'"));
  EXPECT_EQ(otp::exit_reason_from_term(term(otp::term_pid{atom("n@h"), 1, 2, 3})),
            exit_reason::other("#PID<n@h.1.2>"));
  EXPECT_TRUE(otp::exit_reason_from_term(p("{shutdown, {a, b}}")).is_shutdown());
  EXPECT_EQ(otp::exit_reason_from_term(p("{shutdown, {a, b}}")).detail(), "{a,b}");
}

TEST(term_codec_exit_reason, decoding_a_peer_reason_interns_no_atoms) {
  // The inputs (and their atoms) first: the count is taken after them.
  const term plain = term::binary("never_seen_atom_71b3");
  const term shutdown = term::tuple({term(atom("shutdown")), term::binary("{never_seen_atom_71b4}")});
  (void)otp::exit_reason_from_term(term(atom("normal")));  // atoms the decoder itself names, made once
  const std::size_t before = otp::internal::atom_count();
  (void)otp::exit_reason_from_term(plain);
  (void)otp::exit_reason_from_term(shutdown);
  EXPECT_FALSE(atom::existing("never_seen_atom_71b3").has_value());
  EXPECT_FALSE(atom::existing("never_seen_atom_71b4").has_value());
  EXPECT_EQ(otp::internal::atom_count(), before);
}

}  // namespace
