// Distribution packet framing: pass-through and normal headers, the atom
// cache (headers built by hand from the erts "Distribution Header" spec),
// fragmented messages (interleaved sequences, errors, limits) and the
// encoding we send.

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "dist/dist_codec.hpp"
#include "otp/etf.hpp"
#include "otp/term.hpp"

namespace {

using otp::atom;
using otp::term;
using otp::etf::decode_error;
using otp::internal::dist_decoder;
using otp::internal::dist_message;

std::string bytes(std::initializer_list<int> b) {
  std::string out;
  for (int v : b) out.push_back(static_cast<char>(v));
  return out;
}

std::string be64(std::uint64_t v) {
  std::string out;
  for (int i = 7; i >= 0; --i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  return out;
}

// One atom cache reference of a distribution header.
struct cache_ref {
  bool is_new;
  int segment;   // 0..7
  int internal;  // 0..255
  std::string text = {};
};

// NumberOfAtomCacheRefs Flags AtomCacheRefs, as the spec lays them out.
std::string atom_cache_section(const std::vector<cache_ref>& refs, bool long_atoms = false) {
  std::string out(1, static_cast<char>(refs.size()));
  if (refs.empty()) return out;
  std::string flags(refs.size() / 2 + 1, '\0');
  auto set_half = [&](std::size_t i, int v) { flags[i / 2] = static_cast<char>(flags[i / 2] | (v << (4 * (i % 2)))); };
  for (std::size_t i = 0; i < refs.size(); ++i) set_half(i, (refs[i].is_new ? 8 : 0) | refs[i].segment);
  set_half(refs.size(), long_atoms ? 1 : 0);
  out += flags;
  for (const auto& r : refs) {
    out.push_back(static_cast<char>(r.internal));
    if (!r.is_new) continue;
    if (long_atoms) out.push_back(static_cast<char>(r.text.size() >> 8));
    out.push_back(static_cast<char>(r.text.size() & 0xff));
    out += r.text;
  }
  return out;
}

std::string without_version(const term& t) { return otp::etf::encode(t).substr(1); }

// {6, From, '', To} as REG_SEND, with From's node and the names as cache references.
std::string reg_send_with_refs(int node_ref, int name_ref) {
  return bytes({104, 4, 97, 6, 88, 82, node_ref, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 3, 119, 0, 82, name_ref});
}

term expected_reg_send(const std::string& node, const std::string& name) {
  return term::tuple({6, term(otp::term_pid{atom(node), 1, 0, 3}), term(atom("")), term(atom(name))});
}

TEST(dist_codec, pass_through_packet_carries_control_and_payload) {
  term control = term::tuple({2, term(atom("")), term(otp::term_pid{atom("a@h"), 5, 0, 1})});
  term payload = term::tuple({term(atom("$gen_cast")), term::list({1, 2})});
  std::string packet = otp::internal::encode_dist_message(control, &payload, false);
  EXPECT_EQ(packet, "p" + otp::etf::encode(control) + otp::etf::encode(payload));
  dist_decoder d;
  auto m = d.feed(packet);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->control, control);
  EXPECT_EQ(m->payload, payload);
  auto only_control = d.feed(otp::internal::encode_dist_message(control, nullptr, false));
  ASSERT_TRUE(only_control);
  EXPECT_FALSE(only_control->payload);
}

TEST(dist_codec, normal_header_without_references_omits_flags_and_version_bytes) {
  term control = term::tuple({6, term(otp::term_pid{atom("a@h"), 5, 0, 1}), term(atom("")), term(atom("counter"))});
  term payload = term(atom("get"));
  std::string packet = otp::internal::encode_dist_message(control, &payload, true);
  EXPECT_EQ(packet, bytes({131, 68, 0}) + without_version(control) + without_version(payload));
  dist_decoder d;
  auto m = d.feed(packet);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->control, control);
  EXPECT_EQ(m->payload, payload);
}

TEST(dist_codec, header_atoms_enter_the_cache_and_later_headers_use_them) {
  dist_decoder d;
  // refs: 0 = new 'counter' at segment 1 / index 5 (1*256+5), 1 = new 'n@h' at 0/7
  std::string first = bytes({131, 68}) + atom_cache_section({{true, 1, 5, "counter"}, {true, 0, 7, "n@h"}}) +
                      reg_send_with_refs(1, 0) + bytes({82, 0});
  auto m = d.feed(first);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->control, expected_reg_send("n@h", "counter"));
  EXPECT_EQ(m->payload, term(atom("counter")));
  // the same entries, now cached, in another order
  std::string second = bytes({131, 68}) + atom_cache_section({{false, 0, 7}, {false, 1, 5}}) + reg_send_with_refs(0, 1);
  m = d.feed(second);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->control, expected_reg_send("n@h", "counter"));
  EXPECT_FALSE(m->payload);
  // a new entry replaces the old one at the same place
  std::string third = bytes({131, 68}) + atom_cache_section({{true, 1, 5, "other"}, {false, 0, 7}}) +
                      reg_send_with_refs(1, 0);
  m = d.feed(third);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->control, expected_reg_send("n@h", "other"));
}

TEST(dist_codec, odd_reference_counts_and_long_atoms_follow_the_flag_layout) {
  dist_decoder d;
  std::string long_text;
  for (int i = 0; i < 200; ++i) long_text += "\xc3\xa9";  // 200 characters, 400 bytes: needs LongAtoms
  std::string packet = bytes({131, 68}) +
                       atom_cache_section({{true, 7, 255, long_text}, {true, 3, 0, "b"}, {true, 0, 0, "c"}}, true) +
                       bytes({104, 3, 82, 0, 82, 1, 82, 2});
  auto m = d.feed(packet);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->control, term::tuple({term(atom(long_text)), term(atom("b")), term(atom("c"))}));
  // one reference: its flags and the LongAtoms half byte share one byte
  m = d.feed(bytes({131, 68}) + atom_cache_section({{false, 7, 255}}) + bytes({82, 0}));
  ASSERT_TRUE(m);
  EXPECT_EQ(m->control, term(atom(long_text)));
}

void expect_feed_error(dist_decoder& d, const std::string& packet, const std::string& fragment) {
  try {
    d.feed(packet);
    ADD_FAILURE() << "no error for a packet of " << packet.size() << " bytes";
  } catch (const decode_error& e) {
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
  }
}

TEST(dist_codec, malformed_packets_are_decode_errors) {
  dist_decoder d;
  expect_feed_error(d, "", "empty distribution packet");
  expect_feed_error(d, bytes({1, 2}), "starts with 1, expected 112 or 131");
  expect_feed_error(d, bytes({131}), "no header tag");
  expect_feed_error(d, bytes({131, 99}), "unknown distribution header tag 99");
  expect_feed_error(d, bytes({131, 68}), "NumberOfAtomCacheRefs");
  expect_feed_error(d, bytes({131, 68, 2, 0x88}), "atom cache flags");
  expect_feed_error(d, bytes({131, 68, 1, 0x08, 5, 10, 'a'}), "atom text");
  expect_feed_error(d, bytes({131, 68, 1, 0x02, 9, 97, 1}), "entry 521, which was never set");
  expect_feed_error(d, bytes({131, 68, 1, 0x08, 5, 2, 0xff, 0xff, 97, 1}), "not valid UTF-8");
  expect_feed_error(d, bytes({131, 68, 0, 82, 0}), "atom cache reference 0 but the header has 0");
  expect_feed_error(d, bytes({131, 68, 0, 97, 1, 97, 2, 97, 3}), "2 bytes left after the distribution message");
  expect_feed_error(d, bytes({131, 68, 0, 131, 97, 1}), "unknown term tag 131");  // no version byte after a header
  expect_feed_error(d, bytes({112, 97, 1}), "expected the version byte 131");
  expect_feed_error(d, bytes({112}), "truncated");
}

// Fragments: 131 69 Seq FragId AtomCacheSection Data / 131 70 Seq FragId Data.
std::string first_fragment(std::uint64_t seq, std::uint64_t frag, const std::string& cache, const std::string& data) {
  return bytes({131, 69}) + be64(seq) + be64(frag) + cache + data;
}
std::string next_fragment(std::uint64_t seq, std::uint64_t frag, const std::string& data) {
  return bytes({131, 70}) + be64(seq) + be64(frag) + data;
}

TEST(dist_codec, interleaved_fragmented_messages_are_reassembled) {
  dist_decoder d;
  term payload_a = term::tuple({term::binary(std::string(1000, 'a')), term::list({1, 2, 3})});
  std::string data_a = reg_send_with_refs(0, 1) + without_version(payload_a);
  std::string cache_a = atom_cache_section({{true, 2, 1, "n@h"}, {true, 2, 2, "big"}});
  std::string data_b = without_version(term::tuple({2, term(atom("")), term(otp::term_pid{atom("x@y"), 1, 2, 3})})) +
                       without_version(term::binary(std::string(500, 'b')));
  // cuts fall inside terms: fragment boundaries are byte positions
  EXPECT_FALSE(d.feed(first_fragment(7, 3, cache_a, data_a.substr(0, 9))));
  EXPECT_FALSE(d.feed(first_fragment(9, 2, bytes({0}), data_b.substr(0, 300))));
  EXPECT_FALSE(d.feed(next_fragment(7, 2, data_a.substr(9, 400))));
  EXPECT_GT(d.buffered_bytes(), 0u);
  auto b = d.feed(next_fragment(9, 1, data_b.substr(300)));
  ASSERT_TRUE(b);
  EXPECT_EQ(b->payload, term::binary(std::string(500, 'b')));
  // a whole message between the fragments of another, using the cache entries of the first fragment
  auto between = d.feed(bytes({131, 68}) + atom_cache_section({{false, 2, 2}}) + bytes({82, 0}));
  ASSERT_TRUE(between);
  EXPECT_EQ(between->control, term(atom("big")));
  auto a = d.feed(next_fragment(7, 1, data_a.substr(409)));
  ASSERT_TRUE(a);
  EXPECT_EQ(a->control, expected_reg_send("n@h", "big"));
  EXPECT_EQ(a->payload, payload_a);
  EXPECT_EQ(d.buffered_bytes(), 0u);
  // a "fragmented" message of one fragment is complete at once
  auto single = d.feed(first_fragment(11, 1, bytes({0}), without_version(term(atom("ok")))));
  ASSERT_TRUE(single);
  EXPECT_EQ(single->control, term(atom("ok")));
}

TEST(dist_codec, fragment_sequence_errors_are_decode_errors) {
  dist_decoder d;
  std::string data = without_version(term::tuple({1, 2, 3}));
  expect_feed_error(d, next_fragment(5, 1, data), "fragment of unknown sequence 5");
  expect_feed_error(d, first_fragment(5, 0, bytes({0}), data), "fragment id 0");
  EXPECT_FALSE(d.feed(first_fragment(5, 3, bytes({0}), data.substr(0, 2))));
  expect_feed_error(d, first_fragment(5, 2, bytes({0}), data), "sequence 5 started twice");
  expect_feed_error(d, next_fragment(5, 1, data.substr(2)), "fragment 1 of sequence 5, expected 2");
  expect_feed_error(d, bytes({131, 69}) + be64(1), "FragmentId");
  // a reassembled message that is not a valid one
  dist_decoder d2;
  EXPECT_FALSE(d2.feed(first_fragment(1, 2, bytes({0}), bytes({104, 2}))));
  expect_feed_error(d2, next_fragment(1, 1, bytes({97})), "in the reassembled message of sequence 1");
}

TEST(dist_codec, buffered_fragments_and_open_sequences_are_bounded) {
  otp::etf::decode_limits limits;
  limits.max_fragment_bytes = 1000;
  limits.max_open_sequences = 2;
  dist_decoder d(limits);
  std::string chunk(400, 'x');
  EXPECT_FALSE(d.feed(first_fragment(1, 5, bytes({0}), chunk)));
  EXPECT_FALSE(d.feed(first_fragment(2, 5, bytes({0}), chunk)));
  expect_feed_error(d, first_fragment(3, 5, bytes({0}), ""), "more than 2 fragmented messages in progress");
  expect_feed_error(d, next_fragment(1, 4, chunk), "exceed 1000 buffered bytes");
}

TEST(dist_codec, packet_append_writes_the_length_prefix) {
  term control = term::tuple({2, term(atom("")), term(otp::term_pid{atom("a@h"), 5, 0, 1})});
  term payload = term::list({1, 2, 3});
  std::string out = "prefix";
  otp::internal::encode_dist_packet_append(out, control, &payload, true);
  std::string body = otp::internal::encode_dist_message(control, &payload, true);
  ASSERT_EQ(out.size(), 6 + 4 + body.size());
  EXPECT_EQ(out.substr(0, 6), "prefix");
  EXPECT_EQ(out.substr(6, 4), bytes({0, 0, 0, static_cast<int>(body.size())}));
  EXPECT_EQ(out.substr(10), body);
}

TEST(dist_codec, binary_of_64_mib_crosses_with_one_copy_each_way) {
  term control = term::tuple({2, term(atom("")), term(otp::term_pid{atom("a@h"), 5, 0, 1})});
  term payload = term::tuple({term(atom("data")), term::binary(std::string(64u << 20, 'z'))});
  std::string packet;
  auto t0 = std::chrono::steady_clock::now();
  otp::internal::encode_dist_packet_append(packet, control, &payload, true);
  auto t1 = std::chrono::steady_clock::now();
  dist_decoder d;
  auto m = d.feed(std::string_view(packet).substr(4));
  auto t2 = std::chrono::steady_clock::now();
  ASSERT_TRUE(m);
  EXPECT_EQ(m->payload->elements()[1].as_binary().size(), 64u << 20);
  auto ms = [](auto dt) { return std::chrono::duration<double, std::milli>(dt).count(); };
  std::printf("[ dist_codec ] 64 MiB binary: encode %.1f ms, decode %.1f ms\n", ms(t1 - t0), ms(t2 - t1));
}

}  // namespace
