// The distribution handshake (src/dist/handshake) and the epmd client
// (src/dist/epmd): two state machines in memory, then against real Elixir
// nodes and the real epmd (skipped when Elixir/Erlang is not installed).

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <thread>

#include "dist/epmd.hpp"
#include "dist/handshake.hpp"
#include "dist/handshake_io.hpp"
#include "support/beam_node.hpp"

namespace {

using namespace otp::internal;
using otp_test::beam_node;
using namespace std::chrono_literals;

handshake_config config(std::string node, std::string cookie = "secret", std::uint32_t creation = 7) {
  return handshake_config{std::move(node), std::move(cookie), dflag::otpcpp_default, creation};
}

std::string to_hex(std::string_view s) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (const char c : s) {
    out += digits[static_cast<unsigned char>(c) >> 4];
    out += digits[static_cast<unsigned char>(c) & 0xf];
  }
  return out;
}

// Moves output between the two machines until neither has anything to say.
void pump(handshake& a, handshake& b) {
  while (a.has_output() || b.has_output()) {
    if (a.has_output()) b.feed(a.take_output());
    if (b.has_output()) a.feed(b.take_output());
  }
}

std::string packet(std::string_view body) {
  std::string p;
  p += static_cast<char>(body.size() >> 8);
  p += static_cast<char>(body.size() & 0xff);
  p += body;
  return p;
}

std::string be(std::uint64_t v, int bytes) {
  std::string s;
  for (int i = bytes - 1; i >= 0; --i) s += static_cast<char>((v >> (8 * i)) & 0xff);
  return s;
}

// A send_name packet as a peer would write it.
std::string name_packet(std::uint64_t flags, std::string_view name, std::uint32_t creation = 1) {
  return packet("N" + be(flags, 8) + be(creation, 4) + be(name.size(), 2) + std::string(name));
}

// A challenge packet as a peer would write it.
std::string challenge_packet(std::uint64_t flags, std::string_view name, std::uint32_t challenge = 42) {
  return packet("N" + be(flags, 8) + be(challenge, 4) + be(3, 4) + be(name.size(), 2) + std::string(name));
}

// ---------------------------------------------------------------- in memory

TEST(dist_handshake, digest_is_md5_of_cookie_and_decimal_challenge) {
  EXPECT_EQ(to_hex(handshake_digest(12345, "secret")), "d4047d3e56e6d6d63f7d16b85cd2fa88");
  // From the BEAM: erlang:md5(["secret" | integer_to_list(4294967295)]).
  EXPECT_EQ(to_hex(handshake_digest(4294967295u, "secret")), "5dfd181e69aa587cc812eb333e6536b6");
}

TEST(dist_handshake, initiator_and_acceptor_complete_in_memory) {
  auto a = handshake::initiator(config("a@host", "secret", 11), "b@host");
  auto b = handshake::acceptor(config("b@host", "secret", 22));
  pump(a, b);
  ASSERT_EQ(a.state(), handshake_state::done) << a.failure_reason();
  ASSERT_EQ(b.state(), handshake_state::done) << b.failure_reason();
  EXPECT_EQ(a.peer_name(), "b@host");
  EXPECT_EQ(b.peer_name(), "a@host");
  EXPECT_EQ(a.peer_creation(), 22u);
  EXPECT_EQ(b.peer_creation(), 11u);
  EXPECT_EQ(a.negotiated_flags(), dflag::otpcpp_default);
  EXPECT_EQ(b.peer_flags(), dflag::otpcpp_default);
  EXPECT_EQ(a.negotiated_flags() & dflag::published, 0u);  // hidden by default
}

TEST(dist_handshake, bytes_may_arrive_one_at_a_time) {
  auto a = handshake::initiator(config("a@host"), "b@host");
  auto b = handshake::acceptor(config("b@host"));
  while (a.has_output() || b.has_output()) {
    for (const char c : a.take_output()) ASSERT_EQ(b.feed(std::string_view(&c, 1)), 1u);
    for (const char c : b.take_output()) ASSERT_EQ(a.feed(std::string_view(&c, 1)), 1u);
  }
  EXPECT_EQ(a.state(), handshake_state::done);
  EXPECT_EQ(b.state(), handshake_state::done);
}

TEST(dist_handshake, bytes_after_the_final_packet_are_left_for_the_connection) {
  auto a = handshake::initiator(config("a@host"), "b@host");
  auto b = handshake::acceptor(config("b@host"));
  b.feed(a.take_output());  // name
  a.feed(b.take_output());  // status + challenge
  b.feed(a.take_output());  // challenge reply
  const std::string ack = b.take_output();
  const std::string tick(4, '\0');
  EXPECT_EQ(a.feed(ack + tick), ack.size());
  EXPECT_EQ(a.state(), handshake_state::done);
  EXPECT_EQ(a.feed(tick), 0u);
}

TEST(dist_handshake, wrong_cookie_is_refused_by_the_acceptor_without_an_ack) {
  auto a = handshake::initiator(config("a@host", "one"), "b@host");
  auto b = handshake::acceptor(config("b@host", "two"));
  pump(a, b);
  EXPECT_EQ(b.state(), handshake_state::failed);
  EXPECT_EQ(b.error(), handshake_error::bad_cookie);
  EXPECT_NE(b.failure_reason().find("digest mismatch from a@host"), std::string::npos) << b.failure_reason();
  EXPECT_FALSE(b.has_output());
  // The acceptor closes the socket; the initiator then blames the cookie.
  EXPECT_EQ(a.state(), handshake_state::in_progress);
  EXPECT_EQ(a.step_name(), "recv_challenge_ack");
  a.on_eof();
  EXPECT_EQ(a.error(), handshake_error::bad_cookie);
  EXPECT_NE(a.failure_reason().find("wrong cookie"), std::string::npos) << a.failure_reason();
}

TEST(dist_handshake, initiator_rejects_a_forged_ack) {
  auto a = handshake::initiator(config("a@host"), "b@host");
  auto b = handshake::acceptor(config("b@host"));
  b.feed(a.take_output());
  a.feed(b.take_output());
  b.feed(a.take_output());
  std::string ack = b.take_output();
  ack.back() ^= 1;
  a.feed(ack);
  EXPECT_EQ(a.error(), handshake_error::bad_cookie);
  EXPECT_NE(a.failure_reason().find("invalid challenge ack from b@host"), std::string::npos);
}

TEST(dist_handshake, acceptor_refuses_a_peer_lacking_mandatory_flags_with_not_allowed) {
  auto b = handshake::acceptor(config("b@host"));
  b.feed(name_packet(dflag::mandatory & ~(dflag::utf8_atoms | dflag::map_tag), "old@host"));
  EXPECT_EQ(b.error(), handshake_error::missing_flags);
  EXPECT_EQ(b.take_output(), packet("snot_allowed"));
  EXPECT_NE(b.failure_reason().find("old@host"), std::string::npos);
  EXPECT_NE(b.failure_reason().find("UTF8_ATOMS, MAP_TAG"), std::string::npos) << b.failure_reason();
}

TEST(dist_handshake, mandatory_25_digest_stands_for_the_otp_25_mandatory_flags) {
  auto b = handshake::acceptor(config("b@host"));
  b.feed(name_packet(dflag::mandatory_25_digest | dflag::mandatory_26, "new@host"));
  EXPECT_EQ(b.state(), handshake_state::in_progress) << b.failure_reason();
  EXPECT_EQ(b.peer_flags() & dflag::mandatory, dflag::mandatory);
}

TEST(dist_handshake, initiator_aborts_when_the_acceptor_lacks_mandatory_flags) {
  auto a = handshake::initiator(config("a@host"), "b@host");
  a.take_output();
  a.feed(packet("sok") + challenge_packet(dflag::mandatory & ~dflag::unlink_id, "b@host"));
  EXPECT_EQ(a.error(), handshake_error::missing_flags);
  EXPECT_NE(a.failure_reason().find("UNLINK_ID"), std::string::npos);
  EXPECT_FALSE(a.has_output());  // as dist_util: the initiator just gives up
}

TEST(dist_handshake, node_names_must_be_name_at_host) {
  EXPECT_TRUE(is_node_name("a@b"));
  EXPECT_TRUE(is_node_name("cpp@127.0.0.1"));
  for (std::string_view bad : {"", "a", "@b", "a@", "a@b@c", "@"}) EXPECT_FALSE(is_node_name(bad)) << bad;
  EXPECT_FALSE(is_node_name("a@" + std::string(254, 'h')));
  EXPECT_THROW(handshake::acceptor(config("nohost")), std::invalid_argument);
  EXPECT_THROW(handshake::initiator(config("a@h"), "b"), std::invalid_argument);
  auto weak = config("a@h");
  weak.flags &= ~dflag::v4_nc;
  EXPECT_THROW(handshake::acceptor(weak), std::invalid_argument);
}

TEST(dist_handshake, acceptor_refuses_a_malformed_peer_name) {
  auto b = handshake::acceptor(config("b@host"));
  b.feed(name_packet(dflag::otpcpp_default, "nohost"));
  EXPECT_EQ(b.error(), handshake_error::bad_name);
  EXPECT_FALSE(b.has_output());
}

TEST(dist_handshake, initiator_refuses_a_peer_with_another_name) {
  auto a = handshake::initiator(config("a@host"), "b@host");
  a.take_output();
  a.feed(packet("sok") + challenge_packet(dflag::otpcpp_default, "impostor@host"));
  EXPECT_EQ(a.error(), handshake_error::bad_name);
  EXPECT_NE(a.failure_reason().find("impostor@host"), std::string::npos);
}

TEST(dist_handshake, version_5_names_and_dynamic_names_are_refused) {
  auto v5 = handshake::acceptor(config("b@host"));
  v5.feed(packet("n" + be(5, 2) + be(dflag::mandatory_25, 4) + "old@host"));
  EXPECT_EQ(v5.error(), handshake_error::protocol);
  EXPECT_NE(v5.failure_reason().find("version-5"), std::string::npos);

  auto dyn = handshake::acceptor(config("b@host"));
  dyn.feed(name_packet(dflag::otpcpp_default | dflag::name_me, "host"));
  EXPECT_EQ(dyn.error(), handshake_error::not_allowed);
  EXPECT_EQ(dyn.take_output(), packet("snot_allowed"));
}

TEST(dist_handshake, simultaneous_connect_ok_simultaneous_continues) {
  handshake_hooks hooks;
  std::string asked;
  hooks.accept_pending = [&](std::string_view peer) {
    asked = peer;
    return accept_verdict::ok_simultaneous;
  };
  auto a = handshake::initiator(config("z@host"), "b@host");
  auto b = handshake::acceptor(config("b@host"), hooks);
  pump(a, b);
  EXPECT_EQ(asked, "z@host");
  EXPECT_EQ(a.state(), handshake_state::done);
  EXPECT_EQ(b.state(), handshake_state::done);
}

TEST(dist_handshake, simultaneous_connect_is_won_by_the_greater_name) {
  EXPECT_EQ(simultaneous_verdict("b@host", "a@host"), accept_verdict::nok);
  EXPECT_EQ(simultaneous_verdict("a@host", "b@host"), accept_verdict::ok_simultaneous);
  // As in Erlang, 'node@host' > 'node2@host': '@' sorts after '2'.
  EXPECT_EQ(simultaneous_verdict("node@host", "node2@host"), accept_verdict::nok);
}

TEST(dist_handshake, simultaneous_connect_nok_stops_both_sides) {
  handshake_hooks hooks;
  hooks.accept_pending = [](std::string_view) { return accept_verdict::nok; };
  auto a = handshake::initiator(config("a@host"), "b@host");
  auto b = handshake::acceptor(config("b@host"), hooks);
  pump(a, b);
  EXPECT_EQ(b.error(), handshake_error::simultaneous);
  EXPECT_EQ(a.error(), handshake_error::simultaneous);
  EXPECT_NE(a.failure_reason().find("status nok"), std::string::npos);
}

TEST(dist_handshake, alive_confirmed_by_the_peer_replaces_the_old_connection_before_the_ack) {
  std::vector<std::string> events;
  handshake_hooks acc;
  acc.accept_pending = [&](std::string_view) { return accept_verdict::alive; };
  acc.wait_pending = [&](std::string_view peer) { events.push_back("wait_pending " + std::string(peer)); };
  handshake_hooks ini;
  ini.is_pending = [&](std::string_view peer) {
    events.push_back("is_pending " + std::string(peer));
    return true;
  };
  auto a = handshake::initiator(config("a@host"), "b@host", ini);
  auto b = handshake::acceptor(config("b@host"), acc);
  b.feed(a.take_output());
  EXPECT_EQ(b.take_output(), packet("salive"));  // nothing else until the peer answers
  a.feed(packet("salive"));
  EXPECT_EQ(a.take_output(), packet("strue"));
  b.feed(packet("strue"));
  pump(a, b);
  EXPECT_EQ(a.state(), handshake_state::done);
  EXPECT_EQ(b.state(), handshake_state::done);
  EXPECT_EQ(events, (std::vector<std::string>{"is_pending b@host", "wait_pending a@host"}));
}

TEST(dist_handshake, alive_denied_by_the_peer_stops_both_sides) {
  handshake_hooks acc;
  acc.accept_pending = [](std::string_view) { return accept_verdict::alive; };
  handshake_hooks ini;
  ini.is_pending = [](std::string_view) { return false; };
  auto a = handshake::initiator(config("a@host"), "b@host", ini);
  auto b = handshake::acceptor(config("b@host"), acc);
  pump(a, b);
  EXPECT_EQ(a.error(), handshake_error::already_connected);
  EXPECT_EQ(b.error(), handshake_error::already_connected);
}

TEST(dist_handshake, already_pending_closes_without_a_word) {
  handshake_hooks acc;
  acc.accept_pending = [](std::string_view) { return accept_verdict::already_pending; };
  auto a = handshake::initiator(config("a@host"), "b@host");
  auto b = handshake::acceptor(config("b@host"), acc);
  b.feed(a.take_output());
  EXPECT_EQ(b.error(), handshake_error::already_connected);
  EXPECT_FALSE(b.has_output());
}

TEST(dist_handshake, not_allowed_and_unknown_statuses_fail_the_initiator) {
  auto a = handshake::initiator(config("a@host"), "b@host");
  a.feed(packet("snot_allowed"));
  EXPECT_EQ(a.error(), handshake_error::not_allowed);
  auto c = handshake::initiator(config("a@host"), "b@host");
  c.feed(packet(std::string("swhat\x01", 6)));
  EXPECT_EQ(c.error(), handshake_error::protocol);
  EXPECT_NE(c.failure_reason().find("what\\x01"), std::string::npos) << c.failure_reason();
  auto d = handshake::initiator(config("a@host"), "b@host");
  d.feed(packet("snamed:"));
  EXPECT_EQ(d.error(), handshake_error::protocol);
}

TEST(dist_handshake, eof_and_abort_name_the_step) {
  auto b = handshake::acceptor(config("b@host"));
  b.feed(std::string("\x00", 1));  // half a length prefix
  b.on_eof();
  EXPECT_EQ(b.error(), handshake_error::closed);
  EXPECT_NE(b.failure_reason().find("recv_name"), std::string::npos);
  auto a = handshake::initiator(config("a@host"), "b@host");
  a.abort("handshake timeout after 7000 ms");
  EXPECT_EQ(a.error(), handshake_error::aborted);
  EXPECT_EQ(a.failure_reason(), "handshake timeout after 7000 ms during recv_status");
  a.on_eof();  // no effect once failed
  EXPECT_EQ(a.error(), handshake_error::aborted);
}

TEST(dist_handshake, empty_and_truncated_packets_are_protocol_errors) {
  auto b = handshake::acceptor(config("b@host"));
  b.feed(packet(""));
  EXPECT_EQ(b.error(), handshake_error::protocol);
  auto c = handshake::acceptor(config("b@host"));
  c.feed(packet("N" + be(dflag::otpcpp_default, 8) + be(1, 4) + be(200, 2) + "short@name"));
  EXPECT_EQ(c.error(), handshake_error::protocol);
  auto a = handshake::initiator(config("a@host"), "b@host");
  a.feed(packet("sok") + packet("Nxx"));
  EXPECT_EQ(a.error(), handshake_error::protocol);
}

// ---------------------------------------------------------------- epmd wire format

TEST(epmd, alive2_req_is_encoded_as_otp_25_does_but_with_version_6_only) {
  const std::string req = encode_alive2_req("cpp", 0x1234);
  EXPECT_EQ(req, std::string("\x00\x10" "x\x12\x34" "M\x00" "\x00\x06\x00\x06" "\x00\x03" "cpp" "\x00\x00", 18));
  EXPECT_THROW(encode_alive2_req("a@b", 1), epmd_error);
  EXPECT_THROW(encode_alive2_req("", 1), epmd_error);
}

TEST(epmd, replies_are_parsed_incrementally) {
  EXPECT_FALSE(parse_alive2_resp(""));
  EXPECT_FALSE(parse_alive2_resp(std::string("v\x00\x00", 3)));
  const auto r = parse_alive2_resp(std::string("v\x00\x01\x02\x03\x04", 6));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->result, 0);
  EXPECT_EQ(r->creation, 0x01020304u);
  EXPECT_EQ(parse_alive2_resp(std::string("y\x01\x00\x05", 4))->creation, 5u);
  EXPECT_THROW(parse_alive2_resp("garbage"), epmd_error);

  EXPECT_FALSE(parse_port2_resp(std::string("w", 1)));
  EXPECT_FALSE(parse_port2_resp(std::string("w\x01", 2))->registered);
  const std::string full("w\x00\x30\x39" "M\x00" "\x00\x06\x00\x05" "\x00\x02" "ex" "\x00\x00", 16);
  for (std::size_t n = 2; n < full.size(); ++n) EXPECT_FALSE(parse_port2_resp(full.substr(0, n))) << n;
  const auto p = parse_port2_resp(full);
  ASSERT_TRUE(p && p->registered);
  EXPECT_EQ(p->info.port, 12345);
  EXPECT_EQ(p->info.name, "ex");
  EXPECT_TRUE(p->info.speaks_our_version());
  EXPECT_THROW(parse_port2_resp("x"), epmd_error);

  const auto names = parse_names_resp(std::string("\x00\x00\x11\x11", 4) +
                                      "name foo at port 1234\nname bar at port x\nbogus\nname baz at port 9\n");
  ASSERT_EQ(names.size(), 2u);
  EXPECT_EQ(names[0], (std::pair<std::string, std::uint16_t>{"foo", 1234}));
  EXPECT_EQ(names[1].first, "baz");
}

// ---------------------------------------------------------------- real epmd

class real_epmd : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!beam_node::erl_available()) GTEST_SKIP() << "Erlang/OTP (erl, epmd) is not installed";
    ensure_epmd_running();
  }
};

TEST_F(real_epmd, register_then_port_please_then_unregister_on_close) {
  const std::string name = beam_node::unique_name("h4reg");
  auto reg = epmd_register(name, 45678);
  EXPECT_GT(reg.creation(), 0u);
  EXPECT_TRUE(reg.still_registered());
  const auto info = epmd_port_please("127.0.0.1", name);
  ASSERT_TRUE(info);
  EXPECT_EQ(info->port, 45678);
  EXPECT_EQ(info->name, name);
  EXPECT_EQ(info->highest_version, 6);
  EXPECT_EQ(info->lowest_version, 6);
  EXPECT_EQ(info->node_type, epmd_node_type_normal);
  const auto names = epmd_names("localhost");
  EXPECT_NE(std::find(names.begin(), names.end(), std::pair<std::string, std::uint16_t>{name, 45678}), names.end());

  EXPECT_THROW(epmd_register(name, 45679), epmd_error);  // the name is taken

  reg.close();
  bool gone = false;
  for (int i = 0; i < 200 && !gone; ++i, std::this_thread::sleep_for(10ms))
    gone = !epmd_port_please("127.0.0.1", name).has_value();
  EXPECT_TRUE(gone);
  EXPECT_FALSE(epmd_port_please("127.0.0.1", beam_node::unique_name("h4none")));
}

TEST_F(real_epmd, unreachable_epmd_is_a_clear_error) {
  ::setenv("ERL_EPMD_PORT", "1", 1);  // nothing listens on port 1
  try {
    epmd_port_please("127.0.0.1", "x", 500ms);
    ADD_FAILURE() << "expected epmd_error";
  } catch (const epmd_error& e) {
    EXPECT_NE(std::string(e.what()).find("cannot connect to epmd at 127.0.0.1:1"), std::string::npos) << e.what();
  }
  ::setenv("ERL_EPMD_PORT", "junk", 1);
  EXPECT_THROW(epmd_port(), epmd_error);
  ::unsetenv("ERL_EPMD_PORT");
  EXPECT_EQ(epmd_port(), epmd_default_port);
}

TEST_F(real_epmd, ensure_epmd_running_starts_one_where_none_answers) {
  // A private epmd on a free port (ERL_EPMD_PORT), stopped with KILL_REQ at the end.
  asio::io_context io;
  std::uint16_t port = 0;
  {
    asio::ip::tcp::acceptor probe(io, {asio::ip::make_address("127.0.0.1"), 0});
    port = probe.local_endpoint().port();
  }
  ::setenv("ERL_EPMD_PORT", std::to_string(port).c_str(), 1);
  struct restore_env {
    ~restore_env() { ::unsetenv("ERL_EPMD_PORT"); }
  } restore;
  EXPECT_THROW(epmd_names("127.0.0.1", 500ms), epmd_error);
  ensure_epmd_running();
  {
    auto reg = epmd_register("h4private", 40000);
    EXPECT_EQ(epmd_port_please("127.0.0.1", "h4private")->port, 40000);
  }
  ensure_epmd_running();  // answers: nothing to do
  asio::ip::tcp::socket kill(io);
  kill.connect({asio::ip::make_address("127.0.0.1"), port});
  asio::write(kill, asio::buffer(std::string("\x00\x01k", 3)));
  std::string reply(2, '\0');
  asio::read(kill, asio::buffer(reply));
  EXPECT_EQ(reply, "OK");
}

// ---------------------------------------------------------------- real Elixir nodes

// Answers the connection's ticks (zero-length 4-byte framed packets) until stopped.
class tick_answerer {
 public:
  explicit tick_answerer(int fd) : fd_(fd), thread_([this] { run(); }) {}
  ~tick_answerer() {
    ::shutdown(fd_, SHUT_RDWR);
    thread_.join();
  }

 private:
  void run() {
    for (;;) {
      unsigned char len[4];
      if (!read_exact(len, 4)) return;
      std::size_t n = (std::size_t{len[0]} << 24) | (len[1] << 16) | (len[2] << 8) | len[3];
      if (n == 0 && ::send(fd_, "\0\0\0\0", 4, MSG_NOSIGNAL) != 4) return;
      for (unsigned char skip[512]; n > 0;) {
        const std::size_t k = std::min(n, sizeof skip);
        if (!read_exact(skip, k)) return;
        n -= k;
      }
    }
  }
  bool read_exact(unsigned char* p, std::size_t n) {
    while (n > 0) {
      const ssize_t r = ::recv(fd_, p, n, 0);
      if (r <= 0) return false;
      p += r;
      n -= static_cast<std::size_t>(r);
    }
    return true;
  }
  int fd_;
  std::thread thread_;
};

// Runs one handshake on a fresh io_context (the test thread plays the reactor).
handshake_outcome run_handshake(asio::io_context& io, asio::ip::tcp::socket& socket, handshake hs,
                                std::chrono::milliseconds timeout = 10s) {
  std::optional<handshake_outcome> result;
  async_handshake(socket, std::move(hs), timeout, [&](handshake_outcome o) { result.emplace(std::move(o)); });
  io.restart();
  io.run();
  if (!result) throw std::runtime_error("async_handshake did not complete");
  return std::move(*result);
}

TEST(dist_handshake_io, a_silent_peer_times_out) {
  asio::io_context io;
  asio::ip::tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
  asio::ip::tcp::socket client(io), server(io);
  client.connect(acceptor.local_endpoint());
  acceptor.accept(server);
  const auto t0 = std::chrono::steady_clock::now();
  auto out = run_handshake(io, client, handshake::initiator(config("a@host"), "b@host"), 200ms);
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 200ms);
  EXPECT_EQ(out.hs.error(), handshake_error::aborted);
  EXPECT_EQ(out.hs.failure_reason(), "handshake timeout after 200 ms during recv_status");
}

TEST(dist_handshake_io, two_drivers_complete_over_loopback_and_keep_the_leftover) {
  asio::io_context io;
  asio::ip::tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
  asio::ip::tcp::socket client(io), server(io);
  client.connect(acceptor.local_endpoint());
  acceptor.accept(server);
  std::optional<handshake_outcome> a, b;
  async_handshake(client, handshake::initiator(config("a@host"), "b@host"), 5s,
                  [&](handshake_outcome o) { a.emplace(std::move(o)); });
  // The acceptor's first connection bytes follow its ack at once.
  async_handshake(server, handshake::acceptor(config("b@host")), 5s, [&](handshake_outcome o) {
    asio::write(server, asio::buffer(std::string(4, '\0')));
    b.emplace(std::move(o));
  });
  io.run();
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->hs.state(), handshake_state::done) << a->hs.failure_reason();
  EXPECT_EQ(b->hs.state(), handshake_state::done) << b->hs.failure_reason();
  // Either in the same read as the ack, or still in the socket.
  std::string rest = a->leftover;
  if (rest.size() < 4) {
    rest.resize(4);
    asio::read(client, asio::buffer(rest.data() + a->leftover.size(), 4 - a->leftover.size()));
  }
  EXPECT_EQ(rest, std::string(4, '\0'));
}

class elixir_interop : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!beam_node::elixir_available()) GTEST_SKIP() << "Elixir is not installed";
  }
  // Connects to the node's distribution port, found through epmd.
  asio::ip::tcp::socket connect_to(std::string_view alive) {
    const auto info = epmd_port_please("127.0.0.1", alive);
    if (!info) throw std::runtime_error("node not registered with epmd");
    EXPECT_TRUE(info->speaks_our_version());
    asio::ip::tcp::socket s(io_);
    s.connect({asio::ip::make_address("127.0.0.1"), info->port});
    return s;
  }
  // Elixir: print READY, then on each input line run one command.
  static constexpr const char* script = R"(
    defmodule Driver do
      def loop do
        case IO.gets("") do
          :eof -> :ok
          line ->
            case String.split(String.trim(line), " ", parts: 2) do
              ["hidden"] -> IO.puts("HIDDEN " <> inspect(Node.list(:hidden)))
              ["connect", node] -> IO.puts("CONNECT #{Node.connect(String.to_atom(node))}")
            end
            loop()
        end
      end
    end
    IO.puts("READY")
    Driver.loop()
  )";
  asio::io_context io_;
};

TEST_F(elixir_interop, we_connect_to_elixir_and_become_a_hidden_node) {
  const std::string ex = beam_node::unique_name("h4ex");
  const auto t0 = std::chrono::steady_clock::now();
  auto node = beam_node::start_elixir(ex, "interop_cookie", script);
  std::printf("[ info     ] elixir node ready in %lld ms\n",
              static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                         std::chrono::steady_clock::now() - t0)
                                         .count()));
  const std::string us = beam_node::unique_name("h4cpp") + "@127.0.0.1";
  auto socket = connect_to(ex);
  auto out = run_handshake(io_, socket, handshake::initiator(config(us, "interop_cookie"), node->full_name()));
  ASSERT_EQ(out.hs.state(), handshake_state::done) << out.hs.failure_reason();
  EXPECT_EQ(out.hs.peer_name(), node->full_name());
  EXPECT_NE(out.hs.peer_creation(), 0u);
  // The BEAM has PUBLISHED; we do not: the connection is hidden.
  EXPECT_NE(out.hs.peer_flags() & dflag::published, 0u);
  EXPECT_EQ(out.hs.negotiated_flags() & dflag::published, 0u);
  EXPECT_EQ(out.hs.negotiated_flags() & dflag::otpcpp_default, dflag::otpcpp_default);
  tick_answerer ticks(socket.native_handle());
  node->write_line("hidden");
  EXPECT_EQ(node->expect_line("HIDDEN "), "HIDDEN [:\"" + us + "\"]");
}

TEST_F(elixir_interop, elixir_connects_to_us) {
  const std::string ex = beam_node::unique_name("h4ex");
  auto node = beam_node::start_elixir(ex, "interop_cookie", script);
  const std::string alive = beam_node::unique_name("h4cpp");
  asio::ip::tcp::acceptor acceptor(io_, {asio::ip::make_address("127.0.0.1"), 0});
  auto reg = epmd_register(alive, acceptor.local_endpoint().port());
  auto cfg = config(alive + "@127.0.0.1", "interop_cookie", reg.creation());

  node->write_line("connect " + alive + "@127.0.0.1");
  asio::ip::tcp::socket socket(io_);
  acceptor.accept(socket);
  auto out = run_handshake(io_, socket, handshake::acceptor(cfg));
  ASSERT_EQ(out.hs.state(), handshake_state::done) << out.hs.failure_reason();
  EXPECT_EQ(out.hs.peer_name(), node->full_name());
  tick_answerer ticks(socket.native_handle());
  EXPECT_EQ(node->expect_line("CONNECT "), "CONNECT true");
  node->write_line("hidden");
  EXPECT_EQ(node->expect_line("HIDDEN "), "HIDDEN [:\"" + alive + "@127.0.0.1\"]");
}

TEST_F(elixir_interop, wrong_cookie_elixir_to_us_is_refused) {
  const std::string ex = beam_node::unique_name("h4ex");
  auto node = beam_node::start_elixir(ex, "their_cookie", script);
  const std::string alive = beam_node::unique_name("h4cpp");
  asio::ip::tcp::acceptor acceptor(io_, {asio::ip::make_address("127.0.0.1"), 0});
  auto reg = epmd_register(alive, acceptor.local_endpoint().port());

  node->write_line("connect " + alive + "@127.0.0.1");
  asio::ip::tcp::socket socket(io_);
  acceptor.accept(socket);
  auto out = run_handshake(io_, socket, handshake::acceptor(config(alive + "@127.0.0.1", "our_cookie")));
  EXPECT_EQ(out.hs.error(), handshake_error::bad_cookie);
  EXPECT_NE(out.hs.failure_reason().find("digest mismatch from " + node->full_name()), std::string::npos)
      << out.hs.failure_reason();
  socket.close();
  EXPECT_EQ(node->expect_line("CONNECT "), "CONNECT false");
}

TEST_F(elixir_interop, wrong_cookie_us_to_elixir_is_refused) {
  const std::string ex = beam_node::unique_name("h4ex");
  auto node = beam_node::start_elixir(ex, "their_cookie", script);
  const std::string us = beam_node::unique_name("h4cpp") + "@127.0.0.1";
  auto socket = connect_to(ex);
  auto out = run_handshake(io_, socket, handshake::initiator(config(us, "our_cookie"), node->full_name()));
  EXPECT_EQ(out.hs.error(), handshake_error::bad_cookie);
  EXPECT_NE(out.hs.failure_reason().find("wrong cookie"), std::string::npos) << out.hs.failure_reason();
  const std::string log = node->expect_line_containing("Invalid challenge reply");
  EXPECT_NE(log.find(us), std::string::npos) << log;
}

TEST_F(elixir_interop, elixir_registers_with_versions_5_to_6) {
  // What OTP 25 itself tells epmd (erl_epmd: lowest 5 unless ERL_EPMD_DIST_LOW).
  const std::string ex = beam_node::unique_name("h4ex");
  auto node = beam_node::start_elixir(ex, "c", script);
  const auto info = epmd_port_please("127.0.0.1", ex);
  ASSERT_TRUE(info);
  EXPECT_EQ(info->highest_version, 6);
  EXPECT_EQ(info->lowest_version, 5);
  EXPECT_EQ(info->node_type, epmd_node_type_normal);
}

TEST(erl_interop, we_connect_to_an_erl_node) {
  if (!beam_node::erl_available()) GTEST_SKIP() << "Erlang/OTP is not installed";
  const std::string name = beam_node::unique_name("h4erl");
  auto node = beam_node::start_erl(name, "erl_cookie", "io:format(\"READY~n\"), receive after infinity -> ok end.");
  const auto info = epmd_port_please("127.0.0.1", name);
  ASSERT_TRUE(info);
  asio::io_context io;
  asio::ip::tcp::socket socket(io);
  socket.connect({asio::ip::make_address("127.0.0.1"), info->port});
  const std::string us = beam_node::unique_name("h4cpp") + "@127.0.0.1";
  auto out = run_handshake(io, socket, handshake::initiator(config(us, "erl_cookie"), node->full_name()));
  ASSERT_EQ(out.hs.state(), handshake_state::done) << out.hs.failure_reason();
  EXPECT_EQ(out.hs.peer_name(), node->full_name());
}

}  // namespace
