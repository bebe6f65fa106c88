// External Term Format: byte-exact against OTP 25's term_to_binary (run
// through `escript` when Erlang is installed), decoding of what OTP
// produces (compressed, Latin-1 atoms, pids, refs, ports, funs), round
// trips, and every kind of malformed input.

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include <unistd.h>

#include <zlib.h>

#include "otp/etf.hpp"
#include "otp/term.hpp"
#include "term/atom_table.hpp"

namespace {

using otp::atom;
using otp::term;
using otp::etf::decode;
using otp::etf::decode_error;
using otp::etf::encode;

std::string hex(std::string_view bytes) {
  static const char* digits = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : bytes) {
    out.push_back(digits[c >> 4]);
    out.push_back(digits[c & 15]);
  }
  return out;
}

std::string unhex(std::string_view h) {
  std::string out;
  for (std::size_t i = 0; i + 1 < h.size(); i += 2) out.push_back(static_cast<char>(std::stoi(std::string(h.substr(i, 2)), nullptr, 16)));
  return out;
}

std::string bytes(std::initializer_list<int> b) {
  std::string out;
  for (int v : b) out.push_back(static_cast<char>(v));
  return out;
}

term bin(std::string bytes) { return term::binary(std::move(bytes)); }

bool erl_installed() { return std::system("command -v escript >/dev/null 2>&1") == 0; }

// Evaluates each Erlang expression in `exprs` with escript and returns, per
// expression, the whitespace-separated fields `script_body` prints for it.
// `script_body` sees V (the value) and Extra (the text after a tab on the
// expression's line) and must print one line.
std::vector<std::vector<std::string>> run_erl(const std::vector<std::string>& lines, const std::string& script_body) {
  // per process: ctest runs the tests of this file in parallel
  std::string base = ::testing::TempDir() + "etf_test_" + std::to_string(::getpid());
  std::string input = base + "_input.txt", script = base + ".escript", output = base + "_out.txt";
  {
    std::ofstream in(input, std::ios::binary);
    for (const auto& l : lines) in << l << "\n";
    std::ofstream s(script);
    s << "#!/usr/bin/env escript\n"
         "main([F]) ->\n"
         "  {ok, B} = file:read_file(F),\n"
         "  Hex = fun(X) -> binary_to_list(binary:encode_hex(X)) end,\n"
         "  Unhex = fun(X) -> binary:decode_hex(list_to_binary(X)) end,\n"
         "  _ = Unhex,\n"
         "  lists:foreach(fun(<<>>) -> ok; (Line) ->\n"
         "      [Expr | Rest] = string:split(unicode:characters_to_list(Line), \"\\t\"),\n"
         "      Extra = case Rest of [] -> \"\"; [E] -> E end, _ = Extra,\n"
         "      {ok, Ts, _} = erl_scan:string(Expr),\n"
         "      {ok, Es} = erl_parse:parse_exprs(Ts),\n"
         "      {value, V, _} = erl_eval:exprs(Es, []),\n"
      << script_body
      << "\n    end, binary:split(B, <<\"\\n\">>, [global])).\n";
  }
  std::string cmd = "escript " + script + " " + input + " > " + output + " 2>&1";
  int rc = std::system(cmd.c_str());
  std::ifstream out(output);
  std::vector<std::vector<std::string>> rows;
  std::string line;
  while (std::getline(out, line)) {
    std::istringstream fields(line);
    std::vector<std::string> row;
    for (std::string f; fields >> f;) row.push_back(f);
    rows.push_back(row);
  }
  for (const auto& f : {input, script, output}) std::remove(f.c_str());
  EXPECT_EQ(rc, 0) << "escript failed: " << (rows.empty() || rows[0].empty() ? "" : rows[0][0]);
  return rows;
}

struct sample {
  std::string erl;  // an Erlang expression (ending in '.')
  term value;       // the same term built in C++
};

std::string repeat(const std::string& s, int n, const std::string& sep) {
  std::string out;
  for (int i = 0; i < n; ++i) out += (i ? sep : "") + s;
  return out;
}

std::vector<sample> samples() {
  std::vector<sample> s;
  auto parsed = [&](const std::string& e) { s.push_back({e + ".", term::parse(e)}); };
  for (const char* e : {"0", "1", "255", "256", "-1", "-256", "2147483647", "-2147483648", "2147483648", "-2147483649",
                        "9223372036854775807", "-9223372036854775808", "9223372036854775808", "18446744073709551616",
                        "-340282366920938463463374607431768211456", "1.5", "0.0", "3.141592653589793", "1.0e300",
                        "-2.5e-300", "ok", "''", "'hello world'", "'EXIT'", "{}", "{1,2,3}", "[]", "[1,2,3]", "\"abc\"",
                        "[1,2,300]", "[a|b]", "[1,2|3]", "[[]]", "[[1],[2]]", "<<>>", "<<1,2,3>>", "<<\"hello\">>", "#{}",
                        "#{a => 1}", "#{1 => x, b => [1,2], {t} => <<\"v\">>}", "#{m => #{n => []}}",
                        "{[-1, 1.0e-10, {}], \"\", [\"\"]}", "[{a, 1} | {b, 2}]"})
    parsed(e);
  s.push_back({"'\xce\xa9'.", term(atom("\xce\xa9"))});  // 'Ω'
  std::string long_ascii(255, 'a');
  s.push_back({"'" + long_ascii + "'.", term(atom(long_ascii))});
  std::string long_utf8 = repeat("\xc3\xa9", 255, "");  // 255 x 'é' = 510 bytes: ATOM_UTF8_EXT
  s.push_back({"'" + long_utf8 + "'.", term(atom(long_utf8))});
  // the STRING_EXT boundary: 65535 bytes is a string, 65536 a list
  for (int n : {65535, 65536}) s.push_back({"lists:duplicate(" + std::to_string(n) + ", 7).", term::list(otp::term_list(n, term(7)))});
  s.push_back({"lists:seq(1, 300).", [] {
                 otp::term_list l;
                 for (int i = 1; i <= 300; ++i) l.push_back(i);
                 return term::list(l);
               }()});
  s.push_back({"list_to_tuple(lists:seq(1, 256)).", [] {
                 otp::term_list l;
                 for (int i = 1; i <= 256; ++i) l.push_back(i);
                 return term::tuple(l);
               }()});
  s.push_back({"binary:copy(<<\"x\">>, 300).", term::binary(std::string(300, 'x'))});
  s.push_back({"<<1,2,3:4>>.", term::bitstring(std::string("\x01\x02\x30", 3), 4)});
  s.push_back({"<<1:1>>.", term::bitstring(std::string("\x80", 1), 1)});
  s.push_back({"1 bsl 2100.", [] {
                 std::vector<std::uint8_t> m(263, 0);  // 2^2100 = bit 4 of byte 262: LARGE_BIG_EXT
                 m[262] = 0x10;
                 return term::big(false, m);
               }()});
  // maps of up to 32 keys are ordered by key, like ours
  std::string keys32;
  std::vector<std::pair<term, term>> entries32;
  for (int i = 0; i < 32; ++i) {
    keys32 += (i ? ", " : "") + std::to_string(i) + " => k" + std::to_string(i);
    entries32.emplace_back(i, term(atom("k" + std::to_string(i))));
  }
  s.push_back({"#{" + keys32 + "}.", term::map(entries32)});
  return s;
}

TEST(etf_encode, matches_term_to_binary_byte_for_byte) {
  if (!erl_installed()) GTEST_SKIP() << "Erlang (escript) is not installed";
  auto all = samples();
  std::vector<std::string> lines;
  for (const auto& s : all) lines.push_back(s.erl);
  auto rows = run_erl(lines, "io:format(\"~s ~s ~s~n\", [Hex(term_to_binary(V, [{minor_version, 2}])), "
                             "Hex(term_to_binary(V)), Hex(term_to_binary(V, [compressed]))])");
  ASSERT_EQ(rows.size(), all.size());
  for (std::size_t i = 0; i < all.size(); ++i) {
    SCOPED_TRACE(all[i].erl.substr(0, 80));
    ASSERT_EQ(rows[i].size(), 3u);
    std::string ours = encode(all[i].value);
    EXPECT_EQ(hex(ours), rows[i][0]);
    EXPECT_EQ(otp::etf::encoded_size(all[i].value), ours.size());
    // and what OTP produces decodes to the same term: UTF-8 atoms, Latin-1 atoms, compressed
    for (const auto& otp_hex : rows[i]) EXPECT_EQ(decode(unhex(otp_hex)), all[i].value) << otp_hex.substr(0, 80);
  }
}

TEST(etf_encode, large_maps_decode_in_erlang_to_the_same_map) {
  if (!erl_installed()) GTEST_SKIP() << "Erlang (escript) is not installed";
  // Beyond 32 keys the BEAM writes its hash order; ours is term order. Both
  // must mean the same map.
  std::vector<std::pair<term, term>> entries;
  std::string erl;
  for (int i = 0; i < 100; ++i) {
    entries.emplace_back(term::tuple({i, term(atom("x"))}), i * 3);
    erl += (i ? ", " : "") + ("{" + std::to_string(i) + ", x} => " + std::to_string(i * 3));
  }
  term m = term::map(entries);
  auto rows = run_erl({"#{" + erl + "}.\t" + hex(encode(m))},
                      "io:format(\"~p ~s~n\", [binary_to_term(Unhex(Extra)) =:= V, Hex(term_to_binary(V))])");
  ASSERT_EQ(rows.size(), 1u);
  ASSERT_EQ(rows[0].size(), 2u);
  EXPECT_EQ(rows[0][0], "true");
  EXPECT_EQ(decode(unhex(rows[0][1])), m);
}

// Pids, references, ports and funs as a real node makes them.
TEST(etf_decode, identifiers_and_funs_from_erlang_round_trip_byte_for_byte) {
  if (!erl_installed()) GTEST_SKIP() << "Erlang (escript) is not installed";
  std::vector<std::string> exprs = {
      "self().",
      "make_ref().",
      "hd(erlang:ports()).",
      "fun lists:map/2.",
      "(fun() -> Y = 5, fun(X) -> X + Y end end)().",
      "(fun() -> P = self(), R = make_ref(), fun() -> {P, R, #{a => [1.5]}} end end)().",
      "{self(), [make_ref()], #{port => hd(erlang:ports())}}.",
      // identifiers of another node with a 32-bit creation and a 64-bit port number
      "binary_to_term(<<131,88,119,5,\"a@b.c\",0,0,0,7,0,0,0,1,255,0,0,3>>).",
      "binary_to_term(<<131,90,0,3,119,5,\"a@b.c\",1,2,3,4,0,0,0,1,0,0,0,2,0,0,0,3>>).",
      "binary_to_term(<<131,120,119,5,\"a@b.c\",0,0,0,1,0,0,0,0,0,0,0,9>>).",
  };
  auto rows = run_erl(exprs, "io:format(\"~s~n\", [Hex(term_to_binary(V, [{minor_version, 2}]))])");
  ASSERT_EQ(rows.size(), exprs.size());
  for (std::size_t i = 0; i < exprs.size(); ++i) {
    SCOPED_TRACE(exprs[i]);
    ASSERT_EQ(rows[i].size(), 1u);
    term t = decode(unhex(rows[i][0]));
    EXPECT_EQ(hex(encode(t)), rows[i][0]);
  }
  EXPECT_TRUE(decode(unhex(rows[0][0])).is_pid());
  EXPECT_EQ(decode(unhex(rows[0][0])).as_pid().node, atom("nonode@nohost"));
  EXPECT_TRUE(decode(unhex(rows[1][0])).is_ref());
  EXPECT_EQ(decode(unhex(rows[1][0])).as_ref().words.size(), 3u);
  term exported_fun = decode(unhex(rows[3][0]));
  const auto& exported = exported_fun.as_fun();
  EXPECT_TRUE(exported.is_export());
  EXPECT_EQ(exported.module, atom("lists"));
  EXPECT_EQ(exported.function, atom("map"));
  EXPECT_EQ(exported.arity, 2);
  term local_fun = decode(unhex(rows[4][0]));
  const auto& local = local_fun.as_fun();
  EXPECT_FALSE(local.is_export());
  EXPECT_EQ(local.module, atom("erl_eval"));
  EXPECT_EQ(local.arity, 1);
  EXPECT_EQ(hex(local.encoded), rows[4][0].substr(2));
  term other_pid = decode(unhex(rows[7][0]));
  EXPECT_EQ(other_pid.as_pid().creation, 0xff000003u);
  EXPECT_EQ(decode(unhex(rows[9][0])).as_port().id, 0x100000000ull);
}

TEST(etf_decode, accepts_the_older_encodings) {
  // SMALL_ATOM_EXT / ATOM_EXT (Latin-1), PID_EXT, PORT_EXT, REFERENCE_EXT,
  // NEW_REFERENCE_EXT, FLOAT_EXT.
  EXPECT_EQ(decode(bytes({131, 115, 2, 0xe9, 'a'})), term(atom("\xc3\xa9" "a")));
  EXPECT_EQ(decode(bytes({131, 100, 0, 2, 'o', 'k'})), term(atom("ok")));
  term pid = decode(bytes({131, 103, 115, 1, 'n', 0, 0, 0, 5, 0, 0, 0, 6, 2}));
  EXPECT_EQ(pid.as_pid(), (otp::term_pid{atom("n"), 5, 6, 2}));
  EXPECT_EQ(decode(bytes({131, 102, 115, 1, 'n', 0, 0, 0, 5, 3})).as_port(), (otp::term_port{atom("n"), 5, 3}));
  EXPECT_EQ(decode(bytes({131, 89, 119, 1, 'n', 0, 0, 0, 5, 0, 0, 0, 3})).as_port(), (otp::term_port{atom("n"), 5, 3}));
  EXPECT_EQ(decode(bytes({131, 101, 115, 1, 'n', 0, 0, 0, 9, 1})).as_ref(), (otp::term_ref{atom("n"), 1, {9}}));
  EXPECT_EQ(decode(bytes({131, 114, 0, 2, 115, 1, 'n', 1, 0, 0, 0, 9, 0, 0, 0, 10})).as_ref(),
            (otp::term_ref{atom("n"), 1, {9, 10}}));
  std::string f = bytes({131, 99}) + "1.50000000000000000000e+00";
  f.resize(2 + 31, '\0');
  EXPECT_EQ(decode(f), term(1.5));
  // an EXPORT_EXT arity may come as INTEGER_EXT
  EXPECT_EQ(decode(bytes({131, 113, 119, 1, 'm', 119, 1, 'f', 98, 0, 0, 0, 1})).as_fun().arity, 1);
  // LIST_EXT of length 0 is its tail
  EXPECT_EQ(decode(bytes({131, 108, 0, 0, 0, 0, 97, 1})), term(1));
  // a bignum that fits is an integer; high zero digits and any sign byte
  EXPECT_EQ(decode(bytes({131, 110, 2, 0, 5, 0})), term(5));
  EXPECT_EQ(decode(bytes({131, 110, 2, 7, 1, 0})), term(-1));
  EXPECT_EQ(decode(bytes({131, 110, 0, 1})), term(0));
  EXPECT_EQ(decode(bytes({131, 77, 0, 0, 0, 0, 0})), bin(""));
  // the unused bits of a bitstring's last byte are ignored
  EXPECT_EQ(decode(bytes({131, 77, 0, 0, 0, 1, 4, 0xff})), term::bitstring(std::string("\xf0", 1), 4));
}

TEST(etf, round_trips_terms_built_in_cpp) {
  otp::term_pid p{atom("n@h"), 1, 2, 3};
  otp::term_fun exported{atom("m"), atom("f"), 3, {}};
  std::vector<term> all = {
      term(std::int64_t{INT64_MIN}),
      term::from_uint64(UINT64_MAX),
      term(p),
      term(otp::term_port{atom("n@h"), 1ull << 40, 9}),
      term(otp::term_ref{atom("n@h"), 7, {1, 2, 3, 4, 5}}),
      term(exported),
      term::tuple({term(p), term::list({1, 2}), term::map({{term(atom("k")), bin("v")}})}),
      term::improper_list({term(atom("a"))}, bin("tail")),
      term::charlist("h\xc3\xa9llo \xe2\x82\xac"),
      term::bitstring(std::string("\xff\xff", 2), 3),
  };
  for (const auto& t : all) {
    SCOPED_TRACE(t.to_string());
    std::string e = encode(t);
    EXPECT_EQ(e.size(), otp::etf::encoded_size(t));
    EXPECT_EQ(decode(e), t);
    std::string appended = "xy";
    otp::etf::encode_append(appended, t, false);
    EXPECT_EQ(appended, "xy" + e.substr(1));
    std::size_t pos = 2;
    EXPECT_EQ(otp::etf::decode_one(appended, pos, nullptr, {}, false), t);
    EXPECT_EQ(pos, appended.size());
  }
}

TEST(etf_encode, rejects_floats_erlang_cannot_represent) {
  EXPECT_THROW(encode(term(std::numeric_limits<double>::quiet_NaN())), otp::bad_term);
  EXPECT_THROW(encode(term::list({1, term(std::numeric_limits<double>::infinity())})), otp::bad_term);
}

TEST(etf_encode, deep_nesting_does_not_recurse) {
  term t = term::tuple({});
  for (int i = 0; i < 200000; ++i) t = term::list({t});
  std::string e = encode(t);
  EXPECT_EQ(e.size(), 1 + 200000 * 6 + 2);
  otp::etf::decode_limits deep;
  deep.max_depth = 300000;
  EXPECT_EQ(decode(e, deep).size(), 1u);
}

// ---- hostile input -------------------------------------------------------

void expect_error(const std::string& input, const std::string& fragment, const otp::etf::decode_limits& limits = {}) {
  try {
    decode(input, limits);
    ADD_FAILURE() << "decoded without error: " << hex(input).substr(0, 80);
  } catch (const decode_error& e) {
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
    EXPECT_LE(e.offset, input.size());
  }
}

TEST(etf_decode, rejects_malformed_input_with_a_clear_message) {
  expect_error("", "version byte");
  expect_error(bytes({130, 97, 1}), "expected the version byte 131, found 130");
  expect_error(bytes({131}), "truncated term tag");
  expect_error(bytes({131, 97, 1, 0}), "1 bytes left after the term");
  expect_error(bytes({131, 200}), "unknown term tag 200");
  expect_error(bytes({131, 121, 0}), "LOCAL_EXT");
  expect_error(bytes({131, 117, 0}), "FUN_EXT");
  expect_error(bytes({131, 98, 0, 0}), "truncated INTEGER_EXT");
  expect_error(bytes({131, 70, 0x7f, 0xf0, 0, 0, 0, 0, 0, 0}), "NaN or infinite");
  expect_error(bytes({131, 70, 0x7f, 0xf8, 0, 0, 0, 0, 0, 1}), "NaN or infinite");
  std::string junk_float = bytes({131, 99}) + "1.5 junk";
  junk_float.resize(33, '\0');
  expect_error(junk_float, "is not a float");
  expect_error(bytes({131, 118, 0, 3, 0xff, 0xfe, 0xfd}), "not valid UTF-8");
  expect_error(bytes({131, 119, 2, 0xc0, 0x80}), "not valid UTF-8");       // overlong NUL
  expect_error(bytes({131, 119, 3, 0xed, 0xa0, 0x80}), "not valid UTF-8");  // surrogate
  std::string long_atom = bytes({131, 118, 1, 0}) + std::string(256, 'a');
  expect_error(long_atom, "atom of 256 characters");
  expect_error(bytes({131, 82, 0}), "atom cache reference outside a distribution message");
  expect_error(bytes({131, 116, 0, 0, 0, 2, 97, 1, 97, 2, 97, 1, 97, 3}), "duplicate keys");
  expect_error(bytes({131, 77, 0, 0, 0, 0, 8}), "cannot have 8 bits");
  expect_error(bytes({131, 77, 0, 0, 0, 1, 0, 1}), "cannot have 0 bits");
  expect_error(bytes({131, 77, 0, 0, 0, 1, 9, 1}), "cannot have 9 bits");
  expect_error(bytes({131, 90, 0, 0, 119, 1, 'a', 0, 0, 0, 1}), "reference of 0 words");
  expect_error(bytes({131, 90, 0, 6, 119, 1, 'a', 0, 0, 0, 1}), "reference of 6 words");
  expect_error(bytes({131, 88, 97, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}), "expected an atom, found tag 97");
  expect_error(bytes({131, 113, 119, 1, 'm', 119, 1, 'f', 98, 0, 0, 1, 0}), "EXPORT_EXT arity 256");
  expect_error(bytes({131, 113, 119, 1, 'm', 119, 1, 'f', 106}), "expected an integer");
  expect_error(bytes({131, 80, 0, 0, 0, 1, 0}), "compressed");
}

TEST(etf_decode, checks_every_length_before_allocating) {
  // each claims 2^32-1 elements or bytes in a buffer of a few bytes
  expect_error(bytes({131, 108, 255, 255, 255, 255, 106}), "list of 4294967296 elements cannot fit");
  expect_error(bytes({131, 105, 255, 255, 255, 255, 106}), "tuple of 4294967295 elements cannot fit");
  expect_error(bytes({131, 116, 255, 255, 255, 255, 106}), "map of 4294967295 elements cannot fit");
  expect_error(bytes({131, 109, 255, 255, 255, 255, 1}), "truncated BINARY_EXT data");
  expect_error(bytes({131, 77, 255, 255, 255, 255, 3, 1}), "truncated BIT_BINARY_EXT data");
  expect_error(bytes({131, 111, 255, 255, 255, 255, 0, 1}), "truncated bignum digits");
  expect_error(bytes({131, 107, 255, 255, 1}), "truncated STRING_EXT data");
  expect_error(bytes({131, 118, 255, 255, 'a'}), "truncated atom text");
  expect_error(bytes({131, 112, 255, 255, 255, 255, 0}), "NEW_FUN_EXT size 4294967295 does not fit");
  // nested claims: every level says "the whole rest", none may reserve it
  const int levels = 500;
  const std::size_t total = 1 + 5 * levels;
  std::string nested = bytes({131});
  for (int i = 0; i < levels; ++i) {
    std::size_t left = total - nested.size() - 5;  // after this level's header
    auto claim = static_cast<std::uint32_t>(left == 0 ? 0 : left - 1);
    nested += bytes({108, int(claim >> 24), int((claim >> 16) & 255), int((claim >> 8) & 255), int(claim & 255)});
  }
  expect_error(nested, "list of 1 elements cannot fit in the 0 bytes left");
}

TEST(etf_decode, every_truncation_of_a_valid_term_is_an_error) {
  term t = term::tuple({term::list({1, 300, term(atom("\xce\xa9"))}), term::map({{1, bin("abc")}}),
                        term(otp::term_pid{atom("n@h"), 1, 2, 3}), term(otp::term_ref{atom("n@h"), 7, {1, 2, 3}}),
                        term::from_uint64(UINT64_MAX), term(2.5), term::charlist("xyz"),
                        term(otp::term_fun{atom("m"), atom("f"), 1, {}}), term::improper_list({1}, 2)});
  std::string e = encode(t);
  for (std::size_t n = 0; n < e.size(); ++n) {
    try {
      decode(std::string_view(e).substr(0, n));
      ADD_FAILURE() << "prefix of " << n << " bytes decoded";
    } catch (const decode_error& err) {
      EXPECT_LE(err.offset, n);
    }
  }
}

TEST(etf_decode, nesting_is_bounded_by_max_depth) {
  auto nested_lists = [](int depth) {
    std::string s = bytes({131});
    for (int i = 0; i < depth; ++i) s += bytes({108, 0, 0, 0, 1});
    s += bytes({106});
    for (int i = 0; i < depth; ++i) s += bytes({106});
    return s;
  };
  otp::etf::decode_limits limits;
  limits.max_depth = 10;
  EXPECT_NO_THROW(decode(nested_lists(10), limits));
  expect_error(nested_lists(11), "nested deeper than 10 levels", limits);
  // the default bound (1000) is not a stack overflow: frames are on the heap
  expect_error(nested_lists(100000), "nested deeper than 1000 levels");
  std::string tuples = bytes({131});
  for (int i = 0; i < 100000; ++i) tuples += bytes({104, 1});
  expect_error(tuples, "nested deeper");
}

TEST(etf_decode, full_atom_table_is_a_decode_error) {
  const term ok(atom("ok"));  // exists before the table is closed (the test runs alone under ctest)
  std::size_t before = otp::internal::atom_count();
  otp::internal::set_atom_limit(before);
  std::string fresh = "etf_test_never_seen_before_atom";
  try {
    decode(bytes({131, 119, static_cast<int>(fresh.size())}) + fresh);
    ADD_FAILURE() << "a new atom was created in a full table";
  } catch (const decode_error& e) {
    EXPECT_NE(std::string(e.what()).find("cannot create atom"), std::string::npos) << e.what();
  }
  EXPECT_EQ(decode(bytes({131, 119, 2, 'o', 'k'})), ok);  // existing atoms still decode
  otp::internal::set_atom_limit(atom::max_atoms);
}

std::string compress_term(const std::string& encoded_without_version, std::uint32_t declared) {
  uLongf n = compressBound(encoded_without_version.size());
  std::string z(n, '\0');
  compress(reinterpret_cast<Bytef*>(z.data()), &n, reinterpret_cast<const Bytef*>(encoded_without_version.data()),
           encoded_without_version.size());
  z.resize(n);
  std::string out = bytes({131, 80});
  for (int i = 3; i >= 0; --i) out.push_back(static_cast<char>((declared >> (8 * i)) & 0xff));
  return out + z;
}

TEST(etf_decode, compressed_terms_are_inflated_within_bounds) {
  term t = term::tuple({term::binary(std::string(100000, 'z')), term::list({1, 2, 3})});
  std::string plain = encode(t).substr(1);
  auto size = static_cast<std::uint32_t>(plain.size());
  EXPECT_EQ(decode(compress_term(plain, size)), t);
  expect_error(compress_term(plain, size + 1),
               "inflates to " + std::to_string(size) + " bytes, not the declared " + std::to_string(size + 1));
  expect_error(compress_term(plain, size - 1), "more than its declared");
  otp::etf::decode_limits huge;
  huge.max_uncompressed = 0xffffffff;
  expect_error(compress_term(plain, 0xffffffff), "not the declared", huge);  // a lying size allocates nothing up front
  expect_error(compress_term(plain, 0xffffffff), "declares 4294967295 bytes (limit 1073741824)");
  otp::etf::decode_limits small;
  small.max_uncompressed = 1000;
  expect_error(compress_term(plain, size), "declares " + std::to_string(size) + " bytes (limit 1000)", small);
  std::string truncated = compress_term(plain, size);
  truncated.resize(truncated.size() - 10);
  expect_error(truncated, "truncated");
  std::string corrupt = compress_term(plain, size);
  corrupt[8] = static_cast<char>(corrupt[8] ^ 0x55);
  expect_error(corrupt, "compressed");
  // the inner data is decoded with the same checks, and must be one whole term
  expect_error(compress_term(bytes({97, 1, 97}), 3), "bytes left after the term");
  expect_error(compress_term(bytes({80, 0, 0, 0, 0}), 5), "only allowed at the top level");
}

}  // namespace
