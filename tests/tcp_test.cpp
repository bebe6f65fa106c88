// otp::tcp (gen_tcp on the node's reactor): passive and active modes,
// packet framing, timeouts, ownership, errors, big transfers, many
// connections; and the reactor itself.

#include "otp/tcp.hpp"

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "net/reactor.hpp"
#include "node_impl.hpp"
#include "support/test_node.hpp"

namespace {

using namespace otp_test;
namespace tcp = otp::tcp;

// The real clock: timeouts must pass by themselves.
struct tcp_node : test_node {
  tcp_node() : test_node(clock_kind::real) {}
};

std::string reason_of_failure(const std::function<void()>& f) {
  try {
    f();
  } catch (const tcp::socket_error& e) {
    return e.reason();
  }
  return "no error";
}

struct listening {
  std::uint16_t port;
};
struct served {
  tcp::socket sock;
};
struct done {
  bool ok;
};
// Counts the stacks unwound (a process ended while blocked in a call).
struct unwind_counter {
  std::atomic<int>* n;
  ~unwind_counter() { ++*n; }
};

// An echo server: one process accepts and hands each connection to a new
// handler process that echoes what it receives (packet or raw) until closed.
otp::pid start_echo_server(const tcp::options& opts) {
  otp::pid me = otp::self();
  otp::pid server = otp::spawn([me, opts] {
    tcp::listener l = tcp::listen(0, opts);
    otp::send(me, listening{l.port()});
    for (;;) {
      tcp::socket s = tcp::accept(l);
      otp::pid handler = otp::spawn([] {
        auto s = *otp::receive_as<served>();
        try {
          for (;;) tcp::send(s.sock, tcp::recv(s.sock));
        } catch (const tcp::socket_error&) {
        }
      });
      tcp::controlling_process(s, handler);
      otp::send(handler, served{s});
    }
  });
  (void)server;
  return server;
}

std::uint16_t echo_port(const tcp::options& opts = {}) {
  start_echo_server(opts);
  return recv<listening>().port;
}

// ------------------------------------------------------------ the reactor

TEST(tcp, reactor_runs_posted_work_on_one_dedicated_thread) {
  tcp_node tn;
  auto& r = tn.node.impl().reactor();
  std::atomic<std::thread::id> first{}, second{};
  otp::pid me = otp::self();
  asio::post(r.context(), [&, me] {
    first = std::this_thread::get_id();
    otp::send(me, go{});
  });
  recv<go>();
  asio::post(r.context(), [&, me] {
    second = std::this_thread::get_id();
    otp::send(me, go{});
  });
  recv<go>();
  EXPECT_EQ(first.load(), second.load());
  EXPECT_NE(first.load(), std::this_thread::get_id());
  // Not a scheduler thread: a process never runs there.
  auto [p, mref] = otp::spawn_monitor([&] { EXPECT_FALSE(r.on_reactor_thread()); });
  (void)p;
  EXPECT_TRUE(await_down(mref).reason.is_normal());
}

// ------------------------------------------------------------ passive mode

TEST(tcp, passive_echo_round_trip_from_a_foreign_thread) {
  tcp_node tn;
  auto port = echo_port();
  tcp::socket c = tcp::connect("127.0.0.1", port);
  EXPECT_EQ(tcp::peername(c).port, port);
  EXPECT_EQ(tcp::peername(c).ip, "127.0.0.1");
  EXPECT_NE(tcp::sockname(c).port, 0);
  tcp::send(c, "hello");
  std::string got;
  while (got.size() < 5) got += tcp::recv(c);
  EXPECT_EQ(got, "hello");
  tcp::close(c);
}

TEST(tcp, raw_recv_with_a_length_waits_for_exactly_that_many_bytes) {
  tcp_node tn;
  auto port = echo_port();
  tcp::socket c = tcp::connect("127.0.0.1", port);
  tcp::send(c, "abc");
  tcp::send(c, "defgh");
  EXPECT_EQ(tcp::recv(c, 4), "abcd");
  EXPECT_EQ(tcp::recv(c, 4), "efgh");
}

TEST(tcp, packet_4_framing_delivers_whole_packets) {
  tcp_node tn;
  auto port = echo_port({.packet = 4});
  tcp::socket c = tcp::connect("localhost", port, {.packet = 4});
  tcp::send(c, "one");
  tcp::send(c, "");
  tcp::send(c, std::string(100000, 'x'));
  EXPECT_EQ(tcp::recv(c), "one");
  EXPECT_EQ(tcp::recv(c), "");
  EXPECT_EQ(tcp::recv(c), std::string(100000, 'x'));
}

TEST(tcp, packet_1_and_2_headers_are_read_by_a_raw_peer) {
  tcp_node tn;
  tcp::listener l = tcp::listen(0, {.ip = "127.0.0.1"});
  tcp::socket c1 = tcp::connect("127.0.0.1", l.port(), {.packet = 1});
  tcp::socket s1 = tcp::accept(l);
  tcp::send(c1, "ab");
  EXPECT_EQ(tcp::recv(s1, 3), std::string("\x02" "ab", 3));
  tcp::socket c2 = tcp::connect("127.0.0.1", l.port(), {.packet = 2});
  tcp::socket s2 = tcp::accept(l);
  tcp::send(c2, "xyz");
  EXPECT_EQ(tcp::recv(s2, 5), std::string("\x00\x03xyz", 5));
  EXPECT_EQ(reason_of_failure([&] { tcp::send(c1, std::string(256, 'a')); }), "emsgsize");
  // The raw side speaks the framing by hand; the packet side sees packets.
  tcp::send(s2, std::string("\x00\x02hi", 4));
  EXPECT_EQ(tcp::recv(c2), "hi");
}

TEST(tcp, a_packet_over_packet_size_is_an_error_not_an_allocation) {
  tcp_node tn;
  tcp::listener l = tcp::listen(0, {.packet = 4, .packet_size = 1000});
  tcp::socket c = tcp::connect("127.0.0.1", l.port());
  tcp::socket s = tcp::accept(l);
  tcp::send(c, std::string("\x7f\xff\xff\xff", 4));  // announces 2 GB
  EXPECT_EQ(reason_of_failure([&] { (void)tcp::recv(s); }), "emsgsize");
  EXPECT_EQ(reason_of_failure([&] { (void)tcp::recv(s); }), "closed");
}

TEST(tcp, big_transfer_of_16_mb_in_one_packet_and_raw) {
  tcp_node tn;
  const std::size_t size = 16u << 20;
  std::string big(size, '\0');
  for (std::size_t i = 0; i < size; ++i) big[i] = static_cast<char>(i * 7 + (i >> 13));
  {
    auto port = echo_port({.packet = 4});
    tcp::socket c = tcp::connect("127.0.0.1", port, {.packet = 4});
    tcp::send(c, big);
    EXPECT_TRUE(tcp::recv(c) == big);
  }
  {
    auto port = echo_port();
    tcp::socket c = tcp::connect("127.0.0.1", port);
    // A process sends while this thread reads: neither side's buffers fill up.
    otp::spawn([c, &big] { tcp::send(c, big); });
    EXPECT_TRUE(tcp::recv(c, size) == big);
  }
}

// ------------------------------------------------------------ active modes

TEST(tcp, active_true_delivers_data_then_closed) {
  tcp_node tn;
  tcp::listener l = tcp::listen(0);
  tcp::socket c = tcp::connect("127.0.0.1", l.port(), {.packet = 2, .active = tcp::active_true});
  tcp::socket s = tcp::accept(l, otp::infinity);
  tcp::setopts(s, {.packet = 2});
  tcp::send(s, "a");
  tcp::send(s, "b");
  tcp::close(s);
  auto d1 = recv<tcp::data>();
  auto d2 = recv<tcp::data>();
  EXPECT_EQ(d1.sock, c);
  EXPECT_EQ(d1.bytes, "a");
  EXPECT_EQ(d2.bytes, "b");
  EXPECT_EQ(recv<tcp::closed>().sock, c);
  EXPECT_TRUE(mailbox_empty());
  EXPECT_EQ(reason_of_failure([&] { (void)tcp::recv(c); }), "einval");  // active: no recv
}

TEST(tcp, active_once_delivers_one_message_and_turns_passive) {
  tcp_node tn;
  tcp::listener l = tcp::listen(0, {.packet = 4});
  tcp::socket c = tcp::connect("127.0.0.1", l.port(), {.packet = 4, .active = tcp::active_once});
  tcp::socket s = tcp::accept(l);
  for (auto m : {"1", "2", "3"}) tcp::send(s, m);
  EXPECT_EQ(recv<tcp::data>().bytes, "1");
  // Passive now: the rest waits in the socket, not in the mailbox.
  EXPECT_EQ(tcp::recv(c), "2");
  tcp::setopts(c, {.active = tcp::active_once});
  EXPECT_EQ(recv<tcp::data>().bytes, "3");
  EXPECT_TRUE(mailbox_empty());
}

TEST(tcp, active_n_delivers_n_messages_then_passive) {
  tcp_node tn;
  tcp::listener l = tcp::listen(0, {.packet = 1});
  tcp::socket c = tcp::connect("127.0.0.1", l.port(), {.packet = 1, .active = tcp::active_n(2)});
  tcp::socket s = tcp::accept(l);
  for (auto m : {"a", "b", "c"}) tcp::send(s, m);
  EXPECT_EQ(recv<tcp::data>().bytes, "a");
  EXPECT_EQ(recv<tcp::data>().bytes, "b");
  EXPECT_EQ(recv<tcp::passive>().sock, c);
  EXPECT_EQ(tcp::recv(c), "c");
  // N adds to the count; a count that drops to 0 or below gives passive at once.
  tcp::setopts(c, {.active = tcp::active_n(3)});
  tcp::setopts(c, {.active = tcp::active_n(-3)});
  EXPECT_EQ(recv<tcp::passive>().sock, c);
  tcp::send(s, "d");
  EXPECT_EQ(tcp::recv(c), "d");
  EXPECT_THROW(tcp::setopts(c, {.active = tcp::active_n(40000)}), otp::badarg);
  EXPECT_THROW(tcp::connect("127.0.0.1", l.port(), {.active = tcp::active_n(0)}), otp::badarg);
}

TEST(tcp, eof_seen_while_passive_is_delivered_when_the_socket_turns_active) {
  tcp_node tn;
  tcp::listener l = tcp::listen(0);
  tcp::socket c = tcp::connect("127.0.0.1", l.port());
  tcp::socket s = tcp::accept(l);
  tcp::send(s, "last");
  tcp::close(s);
  EXPECT_EQ(tcp::recv(c, 4), "last");
  EXPECT_EQ(reason_of_failure([&] { (void)tcp::recv(c); }), "closed");
  tcp::setopts(c, {.active = tcp::active_true});
  EXPECT_EQ(recv<tcp::closed>().sock, c);
}

// ------------------------------------------------------------ timeouts and errors

TEST(tcp, recv_timeout_loses_no_data) {
  tcp_node tn;
  tcp::listener l = tcp::listen(0);
  tcp::socket c = tcp::connect("127.0.0.1", l.port());
  tcp::socket s = tcp::accept(l);
  EXPECT_EQ(reason_of_failure([&] { (void)tcp::recv(c, 0, 20ms); }), "timeout");
  tcp::send(s, "late");
  EXPECT_EQ(tcp::recv(c, 4), "late");
  EXPECT_TRUE(mailbox_empty());  // no stray completion left behind
}

TEST(tcp, accept_timeout_then_a_later_connection_is_still_accepted) {
  tcp_node tn;
  tcp::listener l = tcp::listen(0);
  EXPECT_EQ(reason_of_failure([&] { (void)tcp::accept(l, 20ms); }), "timeout");
  tcp::socket c = tcp::connect("127.0.0.1", l.port());
  tcp::socket s = tcp::accept(l, 5s);
  EXPECT_EQ(tcp::peername(s).port, tcp::sockname(c).port);
}

TEST(tcp, connect_to_a_closed_port_is_refused) {
  tcp_node tn;
  std::uint16_t port;
  {
    tcp::listener l = tcp::listen(0, {.ip = "127.0.0.1"});
    port = l.port();
    tcp::close(l);
  }
  EXPECT_EQ(reason_of_failure([&] { (void)tcp::connect("127.0.0.1", port); }), "econnrefused");
}

TEST(tcp, listening_on_a_port_in_use_fails_with_eaddrinuse) {
  tcp_node tn;
  tcp::listener l = tcp::listen(0);
  EXPECT_EQ(reason_of_failure([&] { (void)tcp::listen(l.port()); }), "eaddrinuse");
}

TEST(tcp, send_and_recv_after_close_fail_with_closed) {
  tcp_node tn;
  tcp::listener l = tcp::listen(0);
  tcp::socket c = tcp::connect("127.0.0.1", l.port());
  tcp::close(c);
  tcp::close(c);  // idempotent
  EXPECT_EQ(reason_of_failure([&] { tcp::send(c, "x"); }), "closed");
  EXPECT_EQ(reason_of_failure([&] { (void)tcp::recv(c); }), "closed");
  tcp::socket s = tcp::accept(l);
  EXPECT_EQ(reason_of_failure([&] { (void)tcp::recv(s); }), "closed");  // the peer sees the close
}

TEST(tcp, close_fails_a_recv_waiting_in_another_process) {
  tcp_node tn;
  tcp::listener l = tcp::listen(0);
  tcp::socket c = tcp::connect("127.0.0.1", l.port());
  otp::pid me = otp::self();
  auto [reader, mref] = otp::spawn_monitor([c, me] {
    otp::send(me, go{});
    otp::send(me, done{reason_of_failure([&] { (void)tcp::recv(c); }) == "closed"});
  });
  (void)reader;
  recv<go>();
  // The reader may not be waiting yet: either way its recv ends `closed`.
  tcp::close(c);
  EXPECT_TRUE(recv<done>().ok);
  (void)await_down(mref);
}

TEST(tcp, closing_a_listener_fails_its_accept) {
  tcp_node tn;
  tcp::listener l = tcp::listen(0);
  otp::pid me = otp::self();
  otp::spawn([l, me] { otp::send(me, done{reason_of_failure([&] { (void)tcp::accept(l); }) == "closed"}); });
  tcp::close(l);
  EXPECT_TRUE(recv<done>().ok);
}

TEST(tcp, bad_arguments_are_badarg) {
  tcp_node tn;
  EXPECT_THROW(tcp::listen(0, {.packet = 3}), otp::badarg);
  EXPECT_THROW(tcp::listen(0, {.ip = "not an address"}), otp::badarg);
  EXPECT_THROW(tcp::send(tcp::socket{}, "x"), otp::badarg);
  EXPECT_THROW(tcp::connect("127.0.0.1", 1, {.backlog = 3}), otp::badarg);
  tcp::listener l = tcp::listen(0, {.packet = 4});
  tcp::socket c = tcp::connect("127.0.0.1", l.port(), {.packet = 4});
  EXPECT_EQ(reason_of_failure([&] { (void)tcp::recv(c, 10); }), "einval");  // packet mode takes no length
}

// ------------------------------------------------------------ ownership

TEST(tcp, the_owners_exit_closes_the_socket) {
  tcp_node tn;
  tcp::listener l = tcp::listen(0);
  otp::pid me = otp::self();
  std::uint16_t port = l.port();
  auto [owner, mref] = otp::spawn_monitor([me, port] {
    tcp::socket c = tcp::connect("127.0.0.1", port);
    otp::send(me, served{c});  // the handle outlives its owner here
    idle();
  });
  tcp::socket s = tcp::accept(l);
  tcp::socket c = recv<served>().sock;
  otp::exit(owner, otp::exit_reason::kill());
  (void)await_down(mref);
  EXPECT_EQ(reason_of_failure([&] { (void)tcp::recv(s); }), "closed");
  // The closing runs on the reactor after the DOWN: poll the handle's state.
  ASSERT_TRUE(wait_until([&] { return reason_of_failure([&] { tcp::send(c, "x"); }) == "closed"; }));
}

TEST(tcp, a_process_killed_in_recv_leaves_nothing_behind) {
  tcp_node tn;
  tcp::listener l = tcp::listen(0);
  std::uint16_t port = l.port();
  otp::pid me = otp::self();
  auto [reader, mref] = otp::spawn_monitor([me, port] {
    tcp::socket c = tcp::connect("127.0.0.1", port);
    otp::send(me, go{});
    (void)tcp::recv(c);
  });
  tcp::socket s = tcp::accept(l);
  recv<go>();
  otp::exit(reader, otp::exit_reason::kill());
  EXPECT_EQ(await_down(mref).reason, otp::exit_reason::killed());
  EXPECT_EQ(reason_of_failure([&] { (void)tcp::recv(s); }), "closed");
}

TEST(tcp, controlling_process_moves_queued_messages_and_only_the_owner_may_call_it) {
  tcp_node tn;
  tcp::listener l = tcp::listen(0, {.packet = 1});
  tcp::socket c = tcp::connect("127.0.0.1", l.port(), {.packet = 1, .active = tcp::active_true});
  tcp::socket s = tcp::accept(l);
  tcp::send(s, "1");
  EXPECT_EQ(recv<tcp::data>().bytes, "1");
  tcp::send(s, "2");
  tcp::send(s, "3");
  // Wait until both are delivered here, so the move has something to move.
  ASSERT_TRUE(wait_until([&] { return otp::process_info(otp::self())->message_queue_len >= 2; }));
  otp::pid me = otp::self();
  otp::pid heir = otp::spawn([me] {
    std::string got;
    for (int i = 0; i < 3; ++i) got += recv<tcp::data>().bytes;
    recv<tcp::closed>();
    otp::send(me, done{got == "234"});
  });
  otp::spawn([c, me] {  // not the owner
    otp::send(me, done{reason_of_failure([&] { tcp::controlling_process(c, me); }) == "not_owner"});
  });
  EXPECT_TRUE(recv<done>().ok);
  tcp::controlling_process(c, heir);
  EXPECT_EQ(reason_of_failure([&] { tcp::controlling_process(c, me); }), "not_owner");
  tcp::send(s, "4");
  tcp::close(s);
  EXPECT_TRUE(recv<done>().ok);
  EXPECT_TRUE(mailbox_empty());
}

TEST(tcp, shutdown_write_ends_one_direction_only) {
  tcp_node tn;
  tcp::listener l = tcp::listen(0);
  tcp::socket c = tcp::connect("127.0.0.1", l.port());
  tcp::socket s = tcp::accept(l);
  tcp::send(c, "bye");
  tcp::shutdown(c, tcp::shutdown_how::write);
  EXPECT_EQ(tcp::recv(s, 3), "bye");
  EXPECT_EQ(reason_of_failure([&] { (void)tcp::recv(s); }), "closed");
  tcp::send(s, "still");
  EXPECT_EQ(tcp::recv(c, 5), "still");
}

// ------------------------------------------------------------ scale and shutdown

TEST(tcp, two_hundred_concurrent_clients) {
  tcp_node tn;
  auto port = echo_port({.packet = 4});
  const int clients = static_cast<int>(scaled(200, 20));
  otp::pid me = otp::self();
  for (int i = 0; i < clients; ++i) {
    otp::spawn([me, port, i] {
      bool ok = true;
      try {
        tcp::socket c = tcp::connect("127.0.0.1", port, {.packet = 4, .active = tcp::active_true});
        for (int round = 0; round < 5; ++round) {
          std::string msg = std::to_string(i) + ":" + std::to_string(round) + std::string(i * 10, 'p');
          tcp::send(c, msg);
          ok = ok && recv<tcp::data>().bytes == msg;
        }
        tcp::close(c);
      } catch (const std::exception&) {
        ok = false;
      }
      otp::send(me, done{ok});
    });
  }
  int good = 0;
  for (int i = 0; i < clients; ++i) good += recv<done>().ok ? 1 : 0;
  EXPECT_EQ(good, clients);
}

TEST(tcp, node_shutdown_ends_processes_blocked_in_socket_calls) {
  std::atomic<int> unwound{0};
  {
    tcp_node tn;
    tcp::listener l = tcp::listen(0);
    tcp::listener never_accepting = tcp::listen(0);  // the kernel completes the connection
    std::uint16_t port = never_accepting.port();
    otp::pid me = otp::self();
    otp::spawn([l, &unwound, me] {
      unwind_counter u{&unwound};
      otp::send(me, go{});
      (void)tcp::accept(l);
    });
    otp::spawn([port, &unwound, me] {
      unwind_counter u{&unwound};
      tcp::socket c = tcp::connect("127.0.0.1", port);
      otp::send(me, go{});
      (void)tcp::recv(c);
    });
    recv<go>();
    recv<go>();
  }
  EXPECT_EQ(unwound.load(), 2);
}

TEST(tcp, a_handle_outliving_its_node_is_closed_and_safe_to_use) {
  tcp::socket kept;
  tcp::listener kept_listener;
  {
    tcp_node tn;
    kept_listener = tcp::listen(0);
    kept = tcp::connect("127.0.0.1", kept_listener.port());
    tcp::send(kept, "x");
  }
  EXPECT_FALSE(kept.to_string().empty());
  EXPECT_NE(tcp::sockname(kept).port, 0);
  {
    tcp_node again;  // a later node: the old handles still fail cleanly
    EXPECT_EQ(reason_of_failure([&] { tcp::send(kept, "y"); }), "closed");
    EXPECT_EQ(reason_of_failure([&] { (void)tcp::accept(kept_listener, 10ms); }), "closed");
    tcp::close(kept);
  }
}  // the handles go last, after both nodes

}  // namespace
