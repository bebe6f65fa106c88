// otp::term and otp::atom: construction, Erlang's term order, printing,
// parsing, bignums, hashing, the atom table's bound, hostile input.
// Expected orders and texts were taken from OTP 25 (`erl -noshell`,
// `lists:sort/1`, `io:format("~w")`); they are quoted next to each case.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

#include "otp/term.hpp"
#include "term/atom_table.hpp"

namespace {

using otp::atom;
using otp::bad_term;
using otp::term;

term a(std::string_view s) { return term(atom(s)); }
term p(std::string_view s) { return term::parse(s); }

term pid(std::string_view node, std::uint32_t id, std::uint32_t serial, std::uint32_t creation) {
  return term(otp::term_pid{atom(node), id, serial, creation});
}
term ref(std::string_view node, std::uint32_t creation, std::vector<std::uint32_t> words) {
  return term(otp::term_ref{atom(node), creation, std::move(words)});
}
term port(std::string_view node, std::uint64_t id, std::uint32_t creation) {
  return term(otp::term_port{atom(node), id, creation});
}
term export_fun(std::string_view m, std::string_view f, std::uint8_t arity) {
  return term(otp::term_fun{atom(m), atom(f), arity, {}});
}

// Asserts that `sorted` is strictly increasing in term order, pair by pair and
// as a whole (std::sort of the reversed vector gives it back).
void expect_strictly_sorted(const std::vector<term>& sorted) {
  for (std::size_t i = 0; i + 1 < sorted.size(); ++i) {
    EXPECT_LT(sorted[i], sorted[i + 1]) << sorted[i].to_string() << " vs " << sorted[i + 1].to_string();
    EXPECT_GT(sorted[i + 1], sorted[i]);
    EXPECT_NE(sorted[i], sorted[i + 1]);
  }
  std::vector<term> shuffled(sorted.rbegin(), sorted.rend());
  std::sort(shuffled.begin(), shuffled.end());
  EXPECT_EQ(shuffled, sorted);
}

// ---------------------------------------------------------------- atoms

TEST(atom, is_interned_and_compares_by_text) {
  atom x("hello"), y(std::string("hel") + "lo");
  EXPECT_EQ(x, y);
  EXPECT_EQ(x.index(), y.index());
  EXPECT_EQ(x.name(), "hello");
  EXPECT_NE(x, atom("world"));
  EXPECT_LT(atom("abc"), atom("abd"));
  EXPECT_LT(atom("B"), atom("a"));  // bytewise, as Erlang: 'B' < a
  EXPECT_LT(atom(""), atom("a"));
}

TEST(atom, the_empty_atom_is_index_zero_and_the_default) {
  EXPECT_EQ(atom().index(), 0u);
  EXPECT_EQ(atom(""), atom());
  EXPECT_EQ(atom().name(), "");
  EXPECT_EQ(atom().to_string(), "''");
}

TEST(atom, existing_never_creates_an_atom) {
  EXPECT_FALSE(atom::existing("an atom nobody made 8c1f").has_value());
  EXPECT_FALSE(atom::existing("an atom nobody made 8c1f").has_value());
  atom made("an atom somebody made 8c1f");
  EXPECT_EQ(atom::existing("an atom somebody made 8c1f"), made);
}

TEST(atom, rejects_invalid_utf8_and_more_than_255_characters) {
  EXPECT_THROW(atom("\xff"), std::invalid_argument);
  EXPECT_THROW(atom("a\xc3"), std::invalid_argument);
  EXPECT_THROW(atom(std::string(256, 'x')), std::invalid_argument);
  EXPECT_NO_THROW(atom(std::string(255, 'x')));
  std::string e_acute_255;
  for (int i = 0; i < 255; ++i) e_acute_255 += "\xc3\xa9";  // 510 bytes, 255 characters
  EXPECT_NO_THROW(atom{e_acute_255});
  EXPECT_THROW(atom(e_acute_255 + "x"), std::invalid_argument);
}

TEST(atom, prints_quoted_only_when_needed) {
  EXPECT_EQ(atom("ok").to_string(), "ok");
  EXPECT_EQ(atom("ok@host_1").to_string(), "ok@host_1");
  EXPECT_EQ(atom("EXIT").to_string(), "'EXIT'");
  EXPECT_EQ(atom("hello world").to_string(), "'hello world'");
  EXPECT_EQ(atom("a.b").to_string(), "'a.b'");
  EXPECT_EQ(atom("after").to_string(), "'after'");  // a reserved word
  EXPECT_EQ(atom("'q'").to_string(), "'\\'q\\''");
  EXPECT_EQ(atom(std::string_view("a\0b", 3)).to_string(), "'a\\000b'");  // erl: 'a\000b'
  EXPECT_EQ(atom("back\\slash").to_string(), "'back\\\\slash'");
  EXPECT_EQ(atom("\xc3\xa9t\xc3\xa9").to_string(), "'\xc3\xa9t\xc3\xa9'");
}

TEST(atom, interning_from_many_threads_agrees) {
  std::vector<std::vector<std::uint32_t>> seen(4);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&seen, t] {
      for (int i = 0; i < 2000; ++i) seen[t].push_back(atom("concurrent_" + std::to_string(i)).index());
    });
  for (auto& th : threads) th.join();
  for (int t = 1; t < 4; ++t) EXPECT_EQ(seen[t], seen[0]);
  EXPECT_EQ(atom(std::string_view("concurrent_1999")).name(), "concurrent_1999");
}

TEST(atom, the_table_is_bounded) {
  const std::size_t before = otp::internal::atom_count();
  otp::internal::set_atom_limit(before + 3);
  EXPECT_NO_THROW(atom("bounded_1"));
  EXPECT_NO_THROW(atom("bounded_2"));
  EXPECT_NO_THROW(atom("bounded_3"));
  EXPECT_THROW(atom("bounded_4"), std::length_error);
  EXPECT_NO_THROW(atom("bounded_2"));  // existing atoms are still found
  EXPECT_THROW(term::parse("[ok, bounded_5]"), std::length_error);
  otp::internal::set_atom_limit(atom::max_atoms);
  EXPECT_NO_THROW(atom("bounded_4"));
  EXPECT_EQ(otp::internal::atom_count(), before + 4);
}

// ---------------------------------------------------------------- construction and access

TEST(term, default_is_nil) {
  term t;
  EXPECT_TRUE(t.is_nil());
  EXPECT_TRUE(t.is_list());
  EXPECT_TRUE(t.is_proper_list());
  EXPECT_EQ(t.to_string(), "[]");
  EXPECT_EQ(t, term::list({}));
}

TEST(term, scalars_keep_their_values) {
  EXPECT_EQ(term(42).as_int(), 42);
  EXPECT_EQ(term(std::int64_t{-7}).get_type(), term::type::integer);
  EXPECT_EQ(term(1.5).as_float(), 1.5);
  EXPECT_EQ(term(3).as_float(), 3.0);  // an integer converts
  EXPECT_EQ(a("ok").as_atom(), atom("ok"));
  EXPECT_TRUE(a("ok").is_atom("ok"));
  EXPECT_FALSE(a("ok").is_atom("error"));
  EXPECT_TRUE(term::boolean(true).as_bool());
  EXPECT_FALSE(term::boolean(false).as_bool());
  EXPECT_TRUE(term::boolean(true).is_atom("true"));
}

TEST(term, typed_access_to_another_type_throws_bad_term_naming_both) {
  try {
    a("ok").as_int();
    FAIL();
  } catch (const bad_term& e) {
    EXPECT_STREQ(e.what(), "expected an integer, got ok");
  }
  EXPECT_THROW(term(1).as_atom(), bad_term);
  EXPECT_THROW(a("maybe").as_bool(), bad_term);
  EXPECT_THROW(term(1).as_binary(), bad_term);
  EXPECT_THROW(term(1).elements(), bad_term);
  EXPECT_THROW(term(1).list_elements(), bad_term);
  EXPECT_THROW(term(1).map_entries(), bad_term);
  EXPECT_THROW(term(1).as_pid(), bad_term);
  EXPECT_THROW(term(1).as_ref(), bad_term);
  EXPECT_THROW(term(1).as_port(), bad_term);
  EXPECT_THROW(term(1).as_fun(), bad_term);
  EXPECT_THROW(term(1).big_magnitude(), bad_term);
  EXPECT_THROW(term::tuple({1})[1], bad_term);
  EXPECT_THROW(term::from_uint64(~0ull).as_int(), bad_term);
}

TEST(term, tuples) {
  term t = term::tuple({a("ok"), 1, 2.5});
  EXPECT_TRUE(t.is_tuple());
  EXPECT_EQ(t.size(), 3u);
  EXPECT_EQ(t[0], a("ok"));
  EXPECT_EQ(t.elements()[1], term(1));
  EXPECT_TRUE(t.is_tagged_tuple("ok", 3));
  EXPECT_FALSE(t.is_tagged_tuple("ok", 2));
  EXPECT_FALSE(t.is_tagged_tuple("error", 3));
  EXPECT_FALSE(term::tuple({}).is_tagged_tuple("", 0));
  EXPECT_EQ(term::tuple({}).size(), 0u);
}

TEST(term, lists_proper_and_improper) {
  term l = term::list({1, 2, 3});
  EXPECT_TRUE(l.is_proper_list());
  EXPECT_EQ(l.size(), 3u);
  EXPECT_EQ(l.list_elements()[2], term(3));
  EXPECT_TRUE(l.list_tail().is_nil());

  term il = term::improper_list({1, 2}, a("tail"));
  EXPECT_TRUE(il.is_list());
  EXPECT_FALSE(il.is_proper_list());
  EXPECT_EQ(il.size(), 2u);
  EXPECT_EQ(il.list_tail(), a("tail"));
  EXPECT_EQ(il.to_string(), "[1,2|tail]");
}

TEST(term, a_list_tail_is_kept_flat) {
  // [1 | [2, 3]] is [1, 2, 3]; [1 | [2 | x]] is [1, 2 | x]
  EXPECT_EQ(term::improper_list({1}, term::list({2, 3})), term::list({1, 2, 3}));
  EXPECT_TRUE(term::improper_list({1}, term::list({2, 3})).is_proper_list());
  term nested = term::improper_list({1}, term::improper_list({2}, a("x")));
  EXPECT_EQ(nested.size(), 2u);
  EXPECT_EQ(nested.list_tail(), a("x"));
  EXPECT_EQ(nested, p("[1,2|x]"));
  EXPECT_EQ(term::improper_list({}, a("x")), a("x"));
  EXPECT_EQ(term::improper_list({1}, term()), term::list({1}));
}

TEST(term, binaries_and_bitstrings) {
  term b = term::binary(std::string_view("ab\0c", 4));
  EXPECT_TRUE(b.is_binary());
  EXPECT_TRUE(b.is_bitstring());
  EXPECT_EQ(b.as_binary(), std::string_view("ab\0c", 4));
  EXPECT_EQ(b.size(), 4u);
  EXPECT_EQ(b.bits_in_last_byte(), 8);

  term bits = term::bitstring("\x01\x02\x3f", 4);  // the low 4 bits of the last byte are unused
  EXPECT_FALSE(bits.is_binary());
  EXPECT_TRUE(bits.is_bitstring());
  EXPECT_EQ(bits.bits_in_last_byte(), 4);
  EXPECT_EQ(bits.as_binary(), "\x01\x02\x30");  // and cleared
  EXPECT_EQ(bits, term::bitstring("\x01\x02\x30", 4));
  EXPECT_EQ(bits.to_string(), "<<1,2,3:4>>");  // erl: <<1,2,3:4>>
  EXPECT_EQ(term::bitstring("ab", 8), term::binary("ab"));
  EXPECT_THROW(term::bitstring("", 3), bad_term);
  EXPECT_THROW(term::bitstring("a", 0), bad_term);
  EXPECT_THROW(term::bitstring("a", 9), bad_term);
}

TEST(term, charlists_and_as_string) {
  term s = term::charlist("h\xc3\xa9!");
  EXPECT_EQ(s, term::list({104, 233, 33}));
  EXPECT_EQ(s.as_string(), "h\xc3\xa9!");
  EXPECT_EQ(term::binary("bytes").as_string(), "bytes");
  EXPECT_EQ(term().as_string(), "");
  EXPECT_FALSE(term::list({1, a("x")}).as_string().has_value());
  EXPECT_FALSE(term::list({-1}).as_string().has_value());
  EXPECT_FALSE(term::list({0xD800}).as_string().has_value());
  EXPECT_FALSE(term::improper_list({104}, 105).as_string().has_value());
  EXPECT_FALSE(term(1).as_string().has_value());
  EXPECT_THROW(term::charlist("\xc3"), bad_term);
}

TEST(term, maps_are_sorted_and_later_duplicates_win) {
  term m = term::map({{a("b"), 1}, {a("a"), 2}, {a("b"), 3}});
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(m.map_entries()[0].first, a("a"));
  EXPECT_EQ(m.map_entries()[1].second, term(3));
  ASSERT_NE(m.map_find(a("b")), nullptr);
  EXPECT_EQ(*m.map_find(a("b")), term(3));
  EXPECT_EQ(m.map_find(a("c")), nullptr);
  EXPECT_EQ(m.to_string(), "#{a => 2,b => 3}");
  // 1 and 1.0 are different keys
  term nums = term::map({{1, a("int")}, {1.0, a("float")}});
  EXPECT_EQ(nums.size(), 2u);
  EXPECT_EQ(*nums.map_find(term(1.0)), a("float"));
  EXPECT_EQ(*nums.map_find(term(1)), a("int"));
}

TEST(term, map_keys_put_every_integer_before_every_float) {
  // erl: maps:keys(#{2 => a, 1.0 => b}) sorted in map order: [2, 1.0]
  term m = term::map({{1.0, a("b")}, {2, a("a")}});
  EXPECT_EQ(m.map_entries()[0].first, term(2));
  EXPECT_EQ(m.map_entries()[1].first, term(1.0));
}

TEST(term, pids_refs_ports_funs) {
  term x = pid("n@h", 5, 1, 7);
  EXPECT_TRUE(x.is_pid());
  EXPECT_EQ(x.as_pid().node, atom("n@h"));
  EXPECT_EQ(x.as_pid().creation, 7u);
  EXPECT_TRUE(ref("n@h", 1, {1, 2, 3}).is_ref());
  EXPECT_EQ(port("n@h", 9, 1).as_port().id, 9u);
  EXPECT_TRUE(export_fun("lists", "map", 2).as_fun().is_export());
  EXPECT_THROW(ref("n@h", 1, {}), bad_term);
  EXPECT_THROW(ref("n@h", 1, {1, 2, 3, 4, 5, 6}), bad_term);
}

TEST(term, a_moved_from_term_is_nil) {
  term t = term::tuple({1, 2});
  term u = std::move(t);
  EXPECT_TRUE(t.is_nil());  // NOLINT(bugprone-use-after-move): the documented state
  EXPECT_EQ(u, term::tuple({1, 2}));
  term f(2.5);
  term g;
  g = std::move(f);
  EXPECT_EQ(g, term(2.5));
  EXPECT_TRUE(f.is_nil());  // NOLINT(bugprone-use-after-move)
  term& same = g;
  g = std::move(same);  // self-move keeps the value
  EXPECT_EQ(g, term(2.5));
}

TEST(term, copies_share_storage) {
  term big = term::list(otp::term_list(1000, term(1)));
  term copy = big;
  EXPECT_EQ(copy.list_elements().data(), big.list_elements().data());
}

// ---------------------------------------------------------------- order

TEST(term_order, one_of_each_type_sorts_as_in_erlang) {
  // number < atom < reference < fun < port < pid < tuple < map < nil < list < bitstring
  std::vector<term> sorted = {
      term(-5),
      term(2.5),
      term::from_uint64(~0ull),
      a("atom"),
      ref("n@h", 1, {1, 2, 3}),
      export_fun("lists", "map", 2),
      port("n@h", 1, 1),
      pid("n@h", 1, 0, 1),
      term::tuple({1}),
      term::map({{1, 2}}),
      term(),
      term::list({1}),
      term::bitstring("\x80", 1),
      term::binary("z"),
  };
  // binaries and bitstrings are one type: <<1:1>> vs <<"z">> by bits
  std::swap(sorted[12], sorted[13]);
  expect_strictly_sorted(sorted);
}

TEST(term_order, integers_and_floats_compare_by_value_integer_first_when_equal) {
  // erl: lists:sort([1.0, 1, 2, 1.5, 0, ...]) puts 1 and 1.0 together; here the integer is first
  expect_strictly_sorted({term(-1.5), term(-1), term(0), term(0.5), term(1), term(1.0), term(1.5), term(2)});
  EXPECT_NE(term(1), term(1.0));            // like =:=
  EXPECT_EQ(term(0.0), term(-0.0));         // OTP 25: 0.0 =:= -0.0 is true
  EXPECT_EQ(term::compare(term(0.0), term(-0.0)), 0);
  EXPECT_LT(term(std::numeric_limits<std::int64_t>::max()), term(9223372036854775808.0));
  EXPECT_GT(term(std::numeric_limits<std::int64_t>::min()), term(-9223372036854777856.0));
  EXPECT_LT(term(std::numeric_limits<std::int64_t>::min()), term(-9223372036854775808.0));  // equal value: integer first
  EXPECT_LT(term(9007199254740993), term(9007199254740994.0));
  EXPECT_GT(term(9007199254740993), term(9007199254740992.0));
}

TEST(term_order, bignums_against_integers_and_floats) {
  term two64 = term::from_uint64(~0ull);  // 2^64 - 1
  term huge = p("100000000000000000000000000000");
  term neg_huge = p("-100000000000000000000000000000");
  expect_strictly_sorted({neg_huge, term(-1.0e29), term(-1.0e20), p("-9223372036854775809"),
                          term(std::numeric_limits<std::int64_t>::min()), term(0),
                          term(std::numeric_limits<std::int64_t>::max()), p("9223372036854775808"), two64,
                          term(1.8446744073709552e19),  // 2^64 as a float
                          p("18446744073709551617"), term(1.0e29), huge, term(1.0e30), term(1.0e300)});
  // 2^64 exactly, as integer and float: equal value, the integer first
  EXPECT_LT(p("18446744073709551616"), term(1.8446744073709552e19));
  EXPECT_EQ(p("18446744073709551616"), p("18446744073709551616"));
}

TEST(term_order, tuples_by_size_then_elements) {
  // erl: lists:sort([{0,0,0}, {1,2}, {1,1}, {2}]) -> [{2},{1,1},{1,2},{0,0,0}]
  expect_strictly_sorted({p("{2}"), p("{1,1}"), p("{1,2}"), p("{0,0,0}")});
}

TEST(term_order, lists_elementwise_with_tails_compared_as_terms) {
  // erl: lists:sort([[a|b], [a], [a,b], [a|c], [a|{}], [a|<<>>]])
  //   -> [[a|b],[a|c],[a|{}],[a],[a,b],[a|<<>>]]
  expect_strictly_sorted({p("[a|b]"), p("[a|c]"), p("[a|{}]"), p("[a]"), p("[a,b]"), p("[a|<<>>]")});
  expect_strictly_sorted({p("[]"), p("[1]"), p("[1,1]"), p("[1,2]"), p("[2]")});
}

TEST(term_order, maps_by_size_then_keys_then_values) {
  // erl: lists:sort([#{a=>1,b=>2}, #{a=>2,b=>1}, #{a=>1,c=>0}, #{1=>x, a=>1}, #{1.0=>x, a=>1}, #{b=>0}])
  //   -> [#{b => 0}, #{1 => x,a => 1}, #{1.0 => x,a => 1}, #{a => 1,b => 2}, #{a => 2,b => 1}, #{a => 1,c => 0}]
  expect_strictly_sorted({p("#{b => 0}"), p("#{1 => x, a => 1}"), p("#{1.0 => x, a => 1}"), p("#{a => 1, b => 2}"),
                          p("#{a => 2, b => 1}"), p("#{a => 1, c => 0}")});
}

TEST(term_order, bitstrings_bit_by_bit) {
  // erl: lists:sort([<<1:1>>, <<0:1>>, <<0:2>>, <<0>>, <<128>>, <<1:7>>, <<255:8, 1:1>>])
  //   -> [<<0:1>>,<<0:2>>,<<0>>,<<1:7>>,<<1:1>>,<<128>>,<<255,1:1>>]
  expect_strictly_sorted({p("<<0:1>>"), p("<<0:2>>"), p("<<0>>"), p("<<1:7>>"), p("<<1:1>>"), p("<<128>>"),
                          p("<<255,1:1>>")});
  expect_strictly_sorted({p("<<>>"), p("<<\"a\">>"), p("<<\"ab\">>"), p("<<\"b\">>")});
}

TEST(term_order, pids_by_serial_number_node_creation_as_otp_25) {
  // erl (binary_to_term of NEW_PID_EXT, lists:sort):
  //   (a@h,1,0,1) < (a@h,1,0,2) < (b@h,1,0,0) < (b@h,1,0,1) < (a@h,2,0,1) < (a@h,3,0,7) < (a@h,1,1,1)
  expect_strictly_sorted({pid("a@h", 1, 0, 1), pid("a@h", 1, 0, 2), pid("b@h", 1, 0, 0), pid("b@h", 1, 0, 1),
                          pid("a@h", 2, 0, 1), pid("a@h", 3, 0, 7), pid("a@h", 1, 1, 1)});
}

TEST(term_order, refs_by_node_creation_word_count_then_last_word_first) {
  // erl: a@h/1/[5] < a@h/1/[2,1,1] < a@h/1/[1,2,1] < a@h/1/[1,1,2] < a@h/1/[1,1,1,1] < a@h/2/[1,1,1]
  //      < b@h/0/[0,0,0,0,0] < b@h/1/[0,0,0]
  expect_strictly_sorted({ref("a@h", 1, {5}), ref("a@h", 1, {2, 1, 1}), ref("a@h", 1, {1, 2, 1}),
                          ref("a@h", 1, {1, 1, 2}), ref("a@h", 1, {1, 1, 1, 1}), ref("a@h", 2, {1, 1, 1}),
                          ref("b@h", 0, {0, 0, 0, 0, 0}), ref("b@h", 1, {0, 0, 0})});
}

TEST(term_order, ports_by_node_creation_then_id) {
  // erl: (a@h,1,1) < (a@h,2,1) < (a@h,1,2) < (b@h,0,0) < (b@h,1,1)
  expect_strictly_sorted({port("a@h", 1, 1), port("a@h", 2, 1), port("a@h", 1, 2), port("b@h", 0, 0), port("b@h", 1, 1)});
}

TEST(term_order, funs_local_first_then_module_function_arity) {
  // erl: [#Fun<p.0.39166166>, fun erlang:abs/1, fun lists:all/2, fun lists:map/2, fun lists:map/3]
  term local(otp::term_fun{atom("p"), atom(), 0, std::string("\x70local", 6)});
  expect_strictly_sorted({local, export_fun("erlang", "abs", 1), export_fun("lists", "all", 2),
                          export_fun("lists", "map", 2), export_fun("lists", "map", 3)});
}

TEST(term_order, atoms_alphabetically_by_bytes) {
  // erl: lists:sort([a, 'B', '']) -> ['','B',a]
  expect_strictly_sorted({a(""), a("B"), a("a"), a("ab"), a("b"), a("\xc3\xa9")});
}

TEST(term_order, is_a_strict_weak_order_on_random_terms) {
  std::mt19937 rng(12345);
  auto pick = [&rng](int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); };
  std::function<term(int)> make = [&](int depth) -> term {
    switch (pick(depth > 2 ? 6 : 9)) {
      case 0: return term(pick(5) - 2);
      case 1: return term(pick(5) * 0.5 - 1);
      case 2: return a(std::string(1, static_cast<char>('a' + pick(3))));
      case 3: return term::binary(std::string(static_cast<std::size_t>(pick(3)), 'x'));
      case 4: return term();
      case 5: return term::from_uint64((~0ull) - static_cast<unsigned>(pick(2)));
      case 6: return term::tuple({make(depth + 1), make(depth + 1)});
      case 7: return pick(2) ? term::list({make(depth + 1)}) : term::improper_list({make(depth + 1)}, make(depth + 1));
      default: return term::map({{make(depth + 1), make(depth + 1)}, {make(depth + 1), 1}});
    }
  };
  std::vector<term> terms;
  for (int i = 0; i < 150; ++i) terms.push_back(make(0));
  for (const term& x : terms) {
    EXPECT_EQ(term::compare(x, x), 0);
    for (const term& y : terms) {
      int xy = term::compare(x, y);
      EXPECT_EQ(xy, -term::compare(y, x));
      EXPECT_EQ(xy == 0, x == y);
      if (xy == 0) {
        EXPECT_EQ(std::hash<term>{}(x), std::hash<term>{}(y));
      }
    }
  }
  std::sort(terms.begin(), terms.end());
  EXPECT_TRUE(std::is_sorted(terms.begin(), terms.end()));
}

// ---------------------------------------------------------------- printing

TEST(term_print, floats_as_erlang_prints_them) {
  // erl 25: io:format("~w", [[1.0, 10.0, ...]])
  const std::vector<std::pair<double, const char*>> cases = {
      {1.0, "1.0"}, {10.0, "10.0"}, {100.0, "100.0"}, {1000.0, "1.0e3"}, {10000.0, "1.0e4"}, {1.5e7, "1.5e7"},
      {1.25e8, "1.25e8"}, {123456.0, "123456.0"}, {1234567.0, "1234567.0"}, {12345678.0, "12345678.0"},
      {9007199254740992.0, "9.007199254740992e15"}, {9007199254740991.0, "9007199254740991.0"}, {0.1, "0.1"},
      {0.01, "0.01"}, {0.001, "0.001"}, {0.0001, "0.0001"}, {0.00001, "1.0e-5"}, {0.00012, "1.2e-4"},
      {0.0000123, "1.23e-5"}, {0.5, "0.5"}, {12.5, "12.5"}, {1.0e100, "1.0e100"}, {1.0e-100, "1.0e-100"},
      {2.2250738585072014e-308, "2.2250738585072014e-308"}, {1.7976931348623157e308, "1.7976931348623157e308"},
      {100.5, "100.5"}, {3.14159, "3.14159"}, {1.23e5, "1.23e5"}, {0.0015, "0.0015"}, {1.5e-4, "1.5e-4"},
      {-0.0, "-0.0"}, {2.5e-10, "2.5e-10"}, {12345678901234567890.0, "1.2345678901234567e19"},
      {1234.5678, "1234.5678"}, {5.0e-324, "5.0e-324"}, {-2.5, "-2.5"}, {0.0, "0.0"}};
  for (auto [d, text] : cases) EXPECT_EQ(term(d).to_string(), text) << d;
}

TEST(term_print, compound_terms_in_erlang_syntax) {
  EXPECT_EQ(term::tuple({a("ok"), term::list({1, 2}), term::tuple({})}).to_string(), "{ok,[1,2],{}}");
  EXPECT_EQ(term::charlist("abc").to_string(), "[97,98,99]");  // charlists stay lists of integers
  EXPECT_EQ(term::map({}).to_string(), "#{}");
  EXPECT_EQ(p("#{k => [v], 1 => {}}").to_string(), "#{1 => {},k => [v]}");
  EXPECT_EQ(term(-12).to_string(), "-12");
}

TEST(term_print, binaries_as_text_when_printable) {
  EXPECT_EQ(term::binary("abc").to_string(), "<<\"abc\">>");
  EXPECT_EQ(term::binary("").to_string(), "<<>>");
  EXPECT_EQ(term::binary("a\nb").to_string(), "<<\"a\\nb\">>");  // erl: <<"a\nb">>
  EXPECT_EQ(term::binary("x\"y").to_string(), "<<\"x\\\"y\">>");
  EXPECT_EQ(term::binary("a\x1b").to_string(), "<<\"a\\e\">>");  // erl: <<"a\e">>
  EXPECT_EQ(term::binary("\x7f").to_string(), "<<127>>");          // erl: <<127>>
  EXPECT_EQ(term::binary(std::string_view("\xff\x00", 2)).to_string(), "<<255,0>>");
  EXPECT_EQ(term::binary("h\xc3\xa9llo").to_string(), "<<\"h\xc3\xa9llo\"/utf8>>");  // erl ~tp
}

TEST(term_print, bignums_in_decimal) {
  EXPECT_EQ(term::from_uint64(~0ull).to_string(), "18446744073709551615");
  EXPECT_EQ(p("12345678901234567890123").to_string(), "12345678901234567890123");
  EXPECT_EQ(p("-12345678901234567890123").to_string(), "-12345678901234567890123");
  EXPECT_EQ(p("1000000000000000000000000000000000000").to_string(), "1000000000000000000000000000000000000");
  EXPECT_EQ(term(std::numeric_limits<std::int64_t>::min()).to_string(), "-9223372036854775808");
}

TEST(term_print, pids_refs_ports_and_funs) {
  EXPECT_EQ(pid("n@h", 5, 1, 7).to_string(), "#PID<n@h.5.1>");
  EXPECT_EQ(pid("a-b@h", 5, 0, 7).to_string(), "#PID<'a-b@h'.5.0>");
  EXPECT_EQ(ref("n@h", 1, {1, 2, 3}).to_string(), "#Ref<n@h.3.2.1>");  // most significant word first, as erl
  EXPECT_EQ(port("n@h", 9, 1).to_string(), "#Port<n@h.9>");
  EXPECT_EQ(export_fun("lists", "map", 2).to_string(), "fun lists:map/2");
  EXPECT_EQ(term(otp::term_fun{atom("m"), atom(), 0, "x"}).to_string(), "#Fun<m>");
}

// ---------------------------------------------------------------- parsing

TEST(term_parse, reads_erlang_syntax) {
  EXPECT_EQ(p("42"), term(42));
  EXPECT_EQ(p("-42"), term(-42));
  EXPECT_EQ(p("+7"), term(7));
  EXPECT_EQ(p("1_000_000"), term(1000000));
  EXPECT_EQ(p("16#ff"), term(255));
  EXPECT_EQ(p("-16#FF"), term(-255));
  EXPECT_EQ(p("2#1010"), term(10));
  EXPECT_EQ(p("36#z"), term(35));
  EXPECT_EQ(p("$a"), term(97));
  EXPECT_EQ(p("$\\n"), term(10));
  EXPECT_EQ(p("$\xc3\xa9"), term(233));
  EXPECT_EQ(p("1.5"), term(1.5));
  EXPECT_EQ(p("-1.5e-3"), term(-0.0015));
  EXPECT_EQ(p("1.0e20"), term(1.0e20));
  EXPECT_EQ(p("ok"), a("ok"));
  EXPECT_EQ(p("'hello world'"), a("hello world"));
  EXPECT_EQ(p("'it\\'s'"), a("it's"));
  EXPECT_EQ(p("''"), a(""));
  EXPECT_EQ(p("\"abc\""), term::charlist("abc"));
  EXPECT_EQ(p("\"\""), term());
  EXPECT_EQ(p("\"tab\\there\\x{e9}\\101\\^a\""), term::charlist("tab\there\xc3\xa9" "A\x01"));
  EXPECT_EQ(p("<<>>"), term::binary(""));
  EXPECT_EQ(p("<<1,2,255>>"), term::binary("\x01\x02\xff"));
  EXPECT_EQ(p("<<\"text\">>"), term::binary("text"));
  EXPECT_EQ(p("<<\"h\xc3\xa9\"/utf8>>"), term::binary("h\xc3\xa9"));
  EXPECT_EQ(p("<<\"h\xc3\xa9\">>"), term::binary("h\xe9"));  // latin-1 without /utf8, as Erlang
  EXPECT_EQ(p("<<\"ab\", 0, $c>>"), term::binary(std::string_view("ab\0c", 4)));
  EXPECT_EQ(p("<<1:4, 2:4, 0:16>>"), term::binary(std::string_view("\x12\0\0", 3)));
  EXPECT_EQ(p("<<1,2,3:4>>"), term::bitstring("\x01\x02\x30", 4));
  EXPECT_EQ(p("{}"), term::tuple({}));
  EXPECT_EQ(p("{ok, 1}"), term::tuple({a("ok"), 1}));
  EXPECT_EQ(p("[]"), term());
  EXPECT_EQ(p("[1, 2 | 3]"), term::improper_list({1, 2}, 3));
  EXPECT_EQ(p("[1 | [2]]"), term::list({1, 2}));
  EXPECT_EQ(p("#{}"), term::map({}));
  EXPECT_EQ(p("#{a => 1, \"k\" => [x]}"), term::map({{a("a"), 1}, {term::charlist("k"), term::list({a("x")})}}));
  EXPECT_EQ(p("  {a,  % a comment\n b}.  "), term::tuple({a("a"), a("b")}));
}

TEST(term_parse, round_trips_printed_terms) {
  const std::vector<term> terms = {
      term(0), term(-1), term(std::numeric_limits<std::int64_t>::min()), term(std::numeric_limits<std::int64_t>::max()),
      term::from_uint64(~0ull), p("-123456789012345678901234567890"), term(0.1), term(-0.0), term(1.0e-300),
      term(1.7976931348623157e308), term(5.0e-324), term(123456789.0), a("ok"), a(""), a("EXIT"), a("with space"),
      a("quote'and\\back"), a(std::string_view("nul\0", 4)), a("\xc3\xa9t\xc3\xa9"), a("ctl\x01\x7f\xc2\x85"),
      term::binary(""), term::binary("text"), term::binary("h\xc3\xa9llo"), term::binary("\x00\xff\x80"),
      term::binary("\"quoted\"\\"), term::bitstring("\xab\xc0", 3), term::charlist("abc"),
      term::tuple({}), term::tuple({a("ok"), term::list({1, 2.5, term::binary("x")})}),
      term::improper_list({1, 2}, a("t")), term::improper_list({1}, term::binary("b")),
      term::map({{a("k"), term::map({{1, 2}})}, {term::tuple({}), term()}, {1.0, 2}, {1, 3}})};
  for (const term& t : terms) {
    std::string text = t.to_string();
    term back;
    ASSERT_NO_THROW(back = p(text)) << text;
    EXPECT_EQ(back, t) << text << " came back as " << back.to_string();
  }
}

TEST(term_parse, errors_name_the_offset) {
  auto error_of = [](const std::string& text) -> std::string {
    try {
      term::parse(text);
    } catch (const bad_term& e) {
      return e.what();
    }
    return "no error";
  };
  EXPECT_EQ(error_of("{ok, }"), "term::parse: unexpected '}' at offset 5");
  EXPECT_EQ(error_of("{ok"), "term::parse: expected '}' at offset 3");
  EXPECT_EQ(error_of("ok ok"), "term::parse: unexpected text after the term at offset 3");
  EXPECT_EQ(error_of(""), "term::parse: unexpected end of input at offset 0");
  EXPECT_EQ(error_of("'" + std::string(256, 'x') + "'"), "term::parse: atom longer than 255 characters at offset 258");
  for (const char* bad : {"Var", "_", "<0.1.0>", "#Ref<0.1.2.3>", "fun m:f/1", "[1,2", "[1|2|3]", "#{a}", "#{a =>}",
                          "'unterminated", "\"unterminated", "<<\"x\"", "<<a>>", "<<1:65>>", "<<1:0>>", "37#1", "1#1",
                          "16#", "1.e5", "$", "\"\\x{110000}\"", "'\xff'", "1e5", "{a,,b}", "[,]"}) {
    EXPECT_THROW(term::parse(bad), bad_term) << bad;
  }
}

// ---------------------------------------------------------------- hostile input and deep terms

TEST(term_hostile, parse_nesting_is_bounded) {
  std::string ok(10000, '['), too_deep(10001, '[');
  ok += std::string(10000, ']');
  too_deep += std::string(10001, ']');
  EXPECT_NO_THROW(term::parse(ok));
  EXPECT_THROW(term::parse(too_deep), bad_term);
  EXPECT_THROW(term::parse(std::string(1000000, '{')), bad_term);
}

TEST(term_hostile, huge_integer_literals_are_bounded) {
  std::string digits(100000, '7');
  term big = p(digits);
  EXPECT_EQ(big.get_type(), term::type::bignum);
  EXPECT_EQ(p(big.to_string()), big);  // printed in hex past 4096 bytes, which parses back
  EXPECT_EQ(big.to_string().substr(0, 3), "16#");
  EXPECT_THROW(p(digits + "7"), bad_term);
  EXPECT_EQ(p("-" + std::string(30, '9')).to_string(), "-" + std::string(30, '9'));
}

// 200,000 levels: recursing on them would overflow even an 8 MB stack.
TEST(term_hostile, a_deep_term_is_compared_hashed_printed_and_freed_without_recursion) {
  constexpr int depth = 200000;
  auto deep = [] {
    term t;
    for (int i = 0; i < depth; ++i) t = term::tuple({t});
    return t;
  };
  term x = deep(), y = deep();
  EXPECT_EQ(x, y);
  EXPECT_EQ(std::hash<term>{}(x), std::hash<term>{}(y));
  EXPECT_EQ(x.to_string().size(), 2u * depth + 2);
  term list_chain;
  for (int i = 0; i < depth; ++i) list_chain = term::list({list_chain, 1});
  EXPECT_LT(list_chain, term::list({list_chain, 2}));
}

TEST(term_hostile, junk_never_crashes_the_parser) {
  std::mt19937 rng(7);
  const std::string alphabet = "{}[]#<>=|,.:/\"'$\\ 0123456789abcXYZ_-+e\xc3\xa9\xff";
  for (int i = 0; i < 20000; ++i) {
    std::string s;
    for (std::size_t n = rng() % 24; n > 0; --n) s += alphabet[rng() % alphabet.size()];
    try {
      term t = term::parse(s);
      EXPECT_EQ(term::parse(t.to_string()), t) << s;
    } catch (const bad_term&) {
    }
  }
}

// ---------------------------------------------------------------- bignums

TEST(term_bignum, normalises_to_integer_when_it_fits) {
  EXPECT_EQ(term::from_uint64(5).get_type(), term::type::integer);
  EXPECT_EQ(term::from_uint64(1ull << 63).get_type(), term::type::bignum);
  EXPECT_EQ(term::big(false, {1, 0, 0, 0, 0, 0, 0, 0, 0, 0}), term(1));  // high zero bytes dropped
  EXPECT_EQ(term::big(true, {}), term(0));
  EXPECT_EQ(term::big(true, {0, 0, 0, 0, 0, 0, 0, 0x80}), term(std::numeric_limits<std::int64_t>::min()));
  term below_min = term::big(true, {1, 0, 0, 0, 0, 0, 0, 0x80});
  EXPECT_EQ(below_min.get_type(), term::type::bignum);
  EXPECT_TRUE(below_min.big_negative());
  EXPECT_EQ(below_min.big_magnitude(), (std::vector<std::uint8_t>{1, 0, 0, 0, 0, 0, 0, 0x80}));
  EXPECT_EQ(below_min.to_string(), "-9223372036854775809");
  EXPECT_EQ(p("9223372036854775807").get_type(), term::type::integer);
  EXPECT_EQ(p("9223372036854775808").get_type(), term::type::bignum);
  EXPECT_EQ(p("-9223372036854775808").get_type(), term::type::integer);
  EXPECT_DOUBLE_EQ(term::from_uint64(~0ull).as_float(), 18446744073709551615.0);
  EXPECT_DOUBLE_EQ(p("-1" + std::string(30, '0')).as_float(), -1e30);
}

TEST(term_bignum, hex_and_decimal_agree) {
  EXPECT_EQ(p("16#FFFFFFFFFFFFFFFF"), term::from_uint64(~0ull));
  EXPECT_EQ(p("16#10000000000000000000000000"), p("1267650600228229401496703205376"));  // 2^100
}

// ---------------------------------------------------------------- hashing

TEST(term_hash, equal_terms_hash_equal) {
  std::hash<term> h;
  EXPECT_EQ(h(term(0.0)), h(term(-0.0)));
  EXPECT_EQ(h(term::map({{a("a"), 1}, {a("b"), 2}})), h(term::map({{a("b"), 2}, {a("a"), 1}})));
  EXPECT_EQ(h(term::improper_list({1}, term::list({2}))), h(term::list({1, 2})));
  EXPECT_EQ(h(p("123456789012345678901234567890")), h(p("123456789012345678901234567890")));
  EXPECT_NE(h(term(1)), h(term(1.0)));  // not required, but expected of a decent hash
  std::unordered_set<term> set = {term(1), term(1.0), a("x"), term::tuple({a("x")}), term::list({a("x")})};
  EXPECT_EQ(set.size(), 5u);
  EXPECT_EQ(set.count(p("{x}")), 1u);
  EXPECT_EQ(set.count(p("[x]")), 1u);
  EXPECT_EQ(set.count(p("x")), 1u);
  EXPECT_EQ(set.count(p("y")), 0u);
}

}  // namespace
