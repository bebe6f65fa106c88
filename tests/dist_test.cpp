// Distribution between two otpcpp nodes in two OS processes: this test
// process is one node, otp_dist_peer (tests/dist_peer.cpp) the other. The
// peer hosts the test_server of support/dist_servers.hpp as `echo` and does,
// through rpc functions, what a test needs done on its side (monitor, link,
// call us); what it sees comes back to us as messages.

#include <gtest/gtest.h>

#include <optional>
#include <set>
#include <string>

#include "otp/dist.hpp"
#include "otp/gen_server.hpp"
#include "otp/process.hpp"
#include "otp/receive.hpp"
#include "otp/term_codec.hpp"
#include "support/beam_node.hpp"
#include "support/dist_servers.hpp"
#include "support/test_node.hpp"

#ifndef OTP_DIST_PEER_PATH
#error "OTP_DIST_PEER_PATH (the otp_dist_peer executable) must be defined"
#endif

namespace {

using namespace std::chrono_literals;
using otp::atom;
using otp::exit_reason;
using otp::term;
using otp_test::beam_node;
namespace gs = otp::gen_server;
namespace ds = otp_test::dist_servers;

const std::string good_cookie = "otpcpp_dist";

class dist : public ::testing::Test {
 protected:
  void SetUp() override {
    // Node names are resolved through epmd, which comes with Erlang/OTP.
    if (!beam_node::erl_available()) GTEST_SKIP() << "Erlang/OTP (epmd) is not installed";
    node_.emplace(otp_test::clock_kind::real);
    otp::dist::start({.name = beam_node::unique_name("cpp"), .cookie = good_cookie});
    me_ = otp::dist::node_name();
    server_ = gs::start<ds::test_server>({.name = "echo"}).get_pid();
    peer_ = start_peer(peer_cookie());
    pn_ = peer_->full_name();
  }
  void TearDown() override {
    peer_.reset();
    node_.reset();
  }
  virtual std::string peer_cookie() const { return good_cookie; }

  static std::unique_ptr<beam_node> start_peer(const std::string& cookie) {
    const std::string name = beam_node::unique_name("peer");
    return beam_node::start_program(name, {OTP_DIST_PEER_PATH, name, cookie});
  }
  /// `peer:Fn(Args)` on the peer; the result.
  term peer(const char* fn, std::initializer_list<term> args) {
    return otp::dist::rpc_call(pn_, "peer", fn, term::list(args), 60s);
  }
  otp::detail::target peer_echo() const { return {"echo", pn_}; }
  term me_term() const { return otp::to_term(otp::self()); }
  term node_atom() const { return term(atom(me_)); }
  /// The next term message tagged `tag` (a 2+-tuple).
  static term recv_tagged(const char* tag) {
    return *otp::receive_if<term>([tag](const term& t) { return t.is_tuple() && t.size() >= 2 && t[0].is_atom(tag); },
                                  otp::infinity);
  }
  static bool waiting(const otp::pid& p) {
    auto i = otp::process_info(p);
    return i && i->status == otp::process_status::waiting;
  }
  void sync_peer() { EXPECT_EQ(gs::call(peer_echo(), ds::twice{1}), 2); }

  std::optional<otp_test::test_node> node_;
  std::unique_ptr<beam_node> peer_;
  std::string me_, pn_;
  otp::pid server_;
};

TEST_F(dist, multi_call_and_abcast_reach_both_nodes) {
  auto r = gs::multi_call({me_, pn_, "nosuch@127.0.0.1"}, "echo", ds::twice{3}, 5s);
  EXPECT_EQ(r.replies, (std::vector<std::pair<std::string, std::int64_t>>{{me_, 6}, {pn_, 6}}));
  EXPECT_EQ(r.bad_nodes, std::vector<std::string>{"nosuch@127.0.0.1"});
  gs::abcast({me_, pn_}, "echo", ds::note{term(atom("ab"))});
  EXPECT_EQ(gs::call(peer_echo(), ds::log{}).back(), term(atom("ab")));
  EXPECT_EQ(gs::call(otp::detail::target("echo"), ds::log{}).back(), term(atom("ab")));
}

TEST_F(dist, calls_casts_and_sends_reach_a_server_on_the_other_node_by_name_and_by_pid) {
  EXPECT_EQ(gs::call(peer_echo(), ds::twice{21}), 42);
  EXPECT_EQ(gs::call(peer_echo(), term::parse("{echo, [1, <<\"two\">>, three, {4.5, #{a => -7}}]}")),
            term::parse("[1, <<\"two\">>, three, {4.5, #{a => -7}}]"));
  gs::cast(peer_echo(), ds::note{1});
  otp::send(otp::dist::whereis_remote("echo", pn_), ds::note{2});
  const otp::pid p = gs::call(peer_echo(), ds::whoami{});
  EXPECT_EQ(p, otp::from_term<otp::pid>(peer("whereis", {term(atom("echo"))})));
  gs::cast(p, ds::note{3});
  otp::send(p, ds::note{term::binary("four")});
  EXPECT_EQ(gs::call(p, ds::twice{5}), 10);
  EXPECT_EQ(gs::call(p, ds::log{}), (std::vector<term>{1, 2, 3, term::binary("four")}));
  // The other way: the peer calls our echo.
  peer("call", {term(atom("echo")), node_atom(), otp::to_term(ds::twice{7}), 5000, me_term()});
  EXPECT_EQ(recv_tagged("reply"), term::parse("{reply, 14}"));
}

TEST_F(dist, a_missing_name_fails_noproc_and_a_server_dying_mid_call_gives_its_reason) {
  auto r = gs::try_call(otp::detail::target("nosuch", pn_), ds::twice{1});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().inner(), exit_reason::noproc());
  auto s = gs::try_call(peer_echo(), ds::stop{atom("boom")});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().inner(), exit_reason::other("boom"));
  auto gone = gs::try_call(peer_echo(), ds::twice{1});
  EXPECT_EQ(gone.error().inner(), exit_reason::noproc());
  // The peer calls our server, which crashes: its caller gets the exception.
  gs::start<ds::test_server>({.name = "victim"});
  peer("call", {term(atom("victim")), node_atom(), otp::to_term(ds::crash{"kaboom"}), 5000, me_term()});
  const term e = recv_tagged("error");
  const exit_reason why = otp::exit_reason_from_term(e[1]);
  EXPECT_TRUE(why.is_exception()) << e.to_string();
  EXPECT_EQ(why.what(), "kaboom");
  peer("call", {term(atom("nosuch")), node_atom(), otp::to_term(ds::twice{1}), 5000, me_term()});
  EXPECT_EQ(recv_tagged("error"), term::parse("{error, noproc, 0}"));
}

TEST_F(dist, a_call_that_times_out_never_delivers_the_late_reply) {
  auto r = gs::try_call(peer_echo(), ds::sleep{300}, 100ms);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().inner(), exit_reason::timeout());
  // The late reply comes back within this wait; nothing may reach the mailbox.
  EXPECT_FALSE(otp::receive_any(600ms).has_value());
  EXPECT_EQ(gs::call(peer_echo(), ds::twice{8}), 16);
  // The peer's caller: a timeout, and nothing stray in its mailbox after it.
  peer("call", {term(atom("echo")), node_atom(), otp::to_term(ds::sleep{300}), 100, me_term()});
  EXPECT_EQ(recv_tagged("error"), term::parse("{error, timeout, 0}"));
}

TEST_F(dist, monitors_cross_both_ways_with_the_real_reason) {
  const otp::pid v1 = otp::from_term<otp::pid>(peer("victim", {term(atom("v1"))}));
  const otp::pid v2 = otp::from_term<otp::pid>(peer("victim", {term(atom("v2"))}));
  const otp::pid v3 = otp::from_term<otp::pid>(peer("victim", {term(atom("v3"))}));
  const otp::ref m1 = otp::monitor(v1);
  const otp::ref m2 = otp::monitor(otp::dist::whereis_remote("v2", pn_));
  const otp::ref m3 = otp::monitor(v3);
  otp::demonitor(m3);
  sync_peer();
  otp::send(v1, term::parse("{die, bye}"));
  otp::send(v2, term::tuple({term(atom("die")), term::binary("kaboom")}));
  otp::send(v3, term::parse("{die, unseen}"));
  const otp::down_msg d1 = otp_test::await_down(m1);
  EXPECT_EQ(d1.reason, exit_reason::other("bye"));
  EXPECT_EQ(d1.process, v1);
  const otp::down_msg d2 = otp_test::await_down(m2);
  EXPECT_TRUE(d2.reason.is_exception()) << d2.reason.to_string();
  EXPECT_EQ(d2.reason.what(), "kaboom");
  EXPECT_EQ(otp_test::await_down(otp::monitor(v1)).reason, exit_reason::noproc());
  EXPECT_EQ(otp_test::await_down(otp::monitor(otp::dist::whereis_remote("nosuch", pn_))).reason, exit_reason::noproc());
  sync_peer();
  EXPECT_TRUE(otp_test::mailbox_empty());  // nothing for the demonitored v3

  // The peer monitors processes of ours.
  auto [w, wm] = otp::spawn_monitor([] {
    otp_test::recv<otp_test::go>();
    otp::exit(exit_reason::shutdown("done"));
  });
  peer("watch", {otp::to_term(w), me_term()});
  (void)recv_tagged("watching");
  otp::send(w, otp_test::go{});
  (void)otp_test::await_down(wm);
  EXPECT_EQ(recv_tagged("down"), term::parse("{down, {shutdown, done}}"));
  peer("watch", {otp::to_term(w), me_term()});
  (void)recv_tagged("watching");
  EXPECT_EQ(recv_tagged("down"), term::parse("{down, noproc}"));
}

TEST_F(dist, links_cross_both_ways_and_unlink_stops_them) {
  otp::trap_exit(true);
  // The peer's process dies: we get its exit.
  peer("link", {me_term(), me_term()});
  const otp::pid l1 = otp::from_term<otp::pid>(recv_tagged("linked")[1]);
  otp::send(l1, term::parse("{die, boom}"));
  EXPECT_EQ(otp_test::await_exit(l1).reason, exit_reason::other("boom"));
  // ... not after it unlinked.
  peer("link", {me_term(), me_term()});
  const otp::pid l2 = otp::from_term<otp::pid>(recv_tagged("linked")[1]);
  otp::send(l2, term(atom("unlink")));
  (void)recv_tagged("unlinked");
  const otp::ref l2m = otp::monitor(l2);
  otp::send(l2, term::parse("{die, unseen}"));
  EXPECT_EQ(otp_test::await_down(l2m).reason, exit_reason::other("unseen"));
  sync_peer();
  EXPECT_TRUE(otp_test::mailbox_empty());
  // Our process dies: the peer's linked process gets its exit.
  auto [a, am] = otp::spawn_monitor([] {
    otp_test::recv<otp_test::go>();
    throw std::runtime_error("kaboom");
  });
  peer("link", {otp::to_term(a), me_term()});
  (void)recv_tagged("linked");
  otp::send(a, otp_test::go{});
  (void)otp_test::await_down(am);
  const exit_reason got = otp::exit_reason_from_term(recv_tagged("exit")[1]);
  EXPECT_TRUE(got.is_exception()) << got.to_string();
  EXPECT_EQ(got.what(), "kaboom");
  // exit/2 across: to a peer process, and from one of ours to a trapping one there.
  const otp::pid v = otp::from_term<otp::pid>(peer("victim", {term(atom("v"))}));
  const otp::ref vm = otp::monitor(v);
  otp::exit(v, exit_reason::other("shot"));
  EXPECT_EQ(otp_test::await_down(vm).reason, exit_reason::other("shot"));
}

TEST_F(dist, a_dead_peer_fails_monitors_links_calls_and_node_monitors_with_noconnection) {
  otp::trap_exit(true);
  const otp::pid v = otp::from_term<otp::pid>(peer("victim", {term(atom("v"))}));
  const otp::ref by_pid = otp::monitor(v);
  const otp::ref by_name = otp::monitor(otp::dist::whereis_remote("echo", pn_));
  otp::link(v);
  auto [linked, linked_mon] = otp::spawn_monitor([v] {
    otp::link(v);
    otp_test::idle();
  });
  otp::dist::monitor_node(pn_, true);
  otp::dist::monitor_nodes(true);
  struct failed {
    std::string why;
  };
  const otp::pid self = otp::self();
  const otp::pid caller = otp::spawn([pn = pn_, self] {
    auto r = gs::try_call(otp::detail::target("echo", pn), ds::sleep{30000}, 60s);
    otp::send(self, failed{r.ok() ? "replied" : r.error().inner().to_string()});
  });
  // Once the caller and the linked process wait, their call and link are on
  // the connection; a round trip after them makes sure the peer has them.
  ASSERT_TRUE(otp_test::wait_until([&] { return waiting(caller) && waiting(linked); }));
  sync_peer();
  peer_->write_line("halt");
  const auto noconnection = exit_reason::other("noconnection");
  EXPECT_EQ(otp_test::await_down(by_pid).reason, noconnection);
  EXPECT_EQ(otp_test::await_down(by_name).reason, noconnection);
  EXPECT_EQ(otp_test::await_exit(v).reason, noconnection);
  EXPECT_EQ(otp_test::await_down(linked_mon).reason, noconnection);
  EXPECT_EQ(otp_test::recv<failed>().why, "{nodedown," + atom(pn_).to_string() + "}");
  EXPECT_EQ(otp_test::recv<otp::dist::nodedown_msg>().node, pn_);  // monitor_node
  EXPECT_EQ(otp_test::recv<otp::dist::nodedown_msg>().node, pn_);  // monitor_nodes
  EXPECT_FALSE(otp::dist::ping(pn_, 2s));
  EXPECT_TRUE(otp::dist::nodes().empty());
}

TEST_F(dist, a_disconnect_fires_noconnection_on_both_sides_and_the_nodes_reconnect) {
  const otp::pid v = otp::from_term<otp::pid>(peer("victim", {term(atom("v"))}));
  const otp::ref m = otp::monitor(v);
  auto [w, wm] = otp::spawn_monitor([] { otp_test::idle(); });
  peer("watch", {otp::to_term(w), me_term()});
  (void)recv_tagged("watching");
  peer("link", {otp::to_term(w), me_term()});
  (void)recv_tagged("linked");
  otp::dist::monitor_node(pn_, true);
  ASSERT_TRUE(otp::dist::disconnect(pn_));
  EXPECT_EQ(otp_test::await_down(m).reason, exit_reason::other("noconnection"));
  EXPECT_EQ(otp_test::recv<otp::dist::nodedown_msg>().node, pn_);
  // The peer saw it too, and tells us over a new connection.
  EXPECT_EQ(recv_tagged("down"), term::parse("{down, noconnection}"));
  EXPECT_EQ(recv_tagged("exit"), term::parse("{exit, noconnection}"));
  EXPECT_EQ(otp_test::await_down(wm).reason, exit_reason::other("noconnection"));  // linked, not trapping
  EXPECT_EQ(gs::call(peer_echo(), ds::twice{4}), 8);
}

// Both nodes reconnect at once after a disconnect: we send first (the peer
// still has its old connection up, so it answers our attempt `alive`) while
// the peer, told of the loss by its monitor, connects to us to report it.
// Each side must end up with the same single connection. Before
// dist_node::claim_accept / still_pending each side could keep the
// connection the other closed, and the call failed with nodedown: the
// window is narrow (this test and a_disconnect_fires_... failed in about one
// run in twenty), so the rounds repeat.
TEST_F(dist, simultaneous_reconnects_from_both_sides_keep_one_working_connection) {
  for (int round = 1; round <= 60; ++round) {
    auto [w, wm] = otp::spawn_monitor([] { otp_test::idle(); });
    peer("watch", {otp::to_term(w), me_term()});
    (void)recv_tagged("watching");
    ASSERT_TRUE(otp::dist::disconnect(pn_));
    gs::cast(peer_echo(), ds::note{round});  // our reconnection...
    EXPECT_EQ(recv_tagged("down"), term::parse("{down, noconnection}"));  // ...and the peer's
    EXPECT_EQ(gs::call(peer_echo(), ds::twice{round}), 2 * round) << "round " << round;
    otp::exit(w, exit_reason::kill());
    (void)otp_test::await_down(wm);
  }
}

TEST_F(dist, a_peer_that_stops_distribution_is_seen_as_nodedown) {
  otp::dist::monitor_node(pn_, true);
  const otp::ref m = otp::monitor(otp::dist::whereis_remote("echo", pn_));
  sync_peer();
  peer_->write_line("stop_dist");
  EXPECT_EQ(otp_test::await_down(m).reason, exit_reason::other("noconnection"));
  EXPECT_EQ(otp_test::recv<otp::dist::nodedown_msg>().node, pn_);
  EXPECT_FALSE(otp::dist::ping(pn_, 2s));
}

TEST_F(dist, ping_and_rpc_between_cpp_nodes) {
  EXPECT_TRUE(otp::dist::ping(pn_));
  EXPECT_FALSE(otp::dist::ping(beam_node::unique_name("nosuch") + "@127.0.0.1", 3s));
  const auto nodes = otp::dist::nodes();
  EXPECT_EQ(nodes, std::vector<std::string>{pn_});
  EXPECT_EQ(peer("add", {1, 2, 3}), term(6));
  const term boom = peer("boom", {});
  ASSERT_TRUE(boom.is_tagged_tuple("badrpc", 2)) << boom.to_string();
  EXPECT_TRUE(boom[1].is_tagged_tuple("EXIT", 2)) << boom.to_string();
  EXPECT_EQ(otp::exit_reason_from_term(boom[1][1]).what(), "kaboom");
  EXPECT_EQ(peer("nope", {1}), term::parse("{badrpc, {'EXIT', {undef, [{peer, nope, [1], []}]}}}"));
}

class dist_wrong_cookie : public dist {
 protected:
  std::string peer_cookie() const override { return "not_the_cookie"; }
};

TEST_F(dist_wrong_cookie, connections_are_refused_both_ways_and_nothing_is_delivered) {
  otp::register_name("inbox", otp::self());
  EXPECT_FALSE(otp::dist::connect(pn_));
  EXPECT_FALSE(otp::dist::ping(pn_, 3s));
  auto r = gs::try_call(peer_echo(), ds::twice{1});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().inner().to_string(), "{nodedown," + atom(pn_).to_string() + "}");
  peer_->write_line("connect " + me_);
  EXPECT_EQ(peer_->expect_line("=> "), "=> false");
  // (After the peer's attempt: two failing attempts at once would be a lost
  // simultaneous connect, which waits for the winner for connect_timeout.)
  otp::send(otp::dist::whereis_remote("echo", pn_), ds::note{1});
  EXPECT_FALSE(otp::dist::connect(pn_));  // waits for the send's attempt
  EXPECT_TRUE(gs::call(server_, ds::log{}).empty());
  EXPECT_TRUE(otp_test::mailbox_empty());
  EXPECT_TRUE(otp::dist::nodes().empty());
}

TEST_F(dist, a_64_mb_binary_crosses_intact_both_ways) {
  std::string big(otp_test::scaled(64) << 20, '\0');  // sanitizer builds scale it down
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>((i * 7919) >> 5);
  const term back = gs::call(peer_echo(), ds::echo{term::binary(big)}, 60s);  // there and back
  ASSERT_TRUE(back.is_binary());
  EXPECT_EQ(back.size(), big.size());
  EXPECT_TRUE(back.as_binary() == big);
}

TEST_F(dist, a_thousand_concurrent_callers_each_get_their_own_reply) {
  struct outcome {
    std::int64_t id;
    bool ok;
  };
  const otp::pid self = otp::self();
  const std::string pn = pn_;
  constexpr int callers = 1000;
  for (int i = 0; i < callers; ++i) {
    otp::spawn([self, pn, i] {
      const otp::detail::target echo{"echo", pn};
      const term mine = term::tuple({otp::to_term(otp::self()), i});
      auto a = gs::try_call(echo, ds::echo{mine}, 30s);
      auto b = gs::try_call(echo, ds::twice{i}, 30s);
      otp::send(self, outcome{i, a.ok() && a.value() == mine && b.ok() && b.value() == 2 * i});
    });
  }
  std::set<std::int64_t> right;
  for (int k = 0; k < callers; ++k) {
    const outcome o = otp_test::recv<outcome>();
    if (o.ok) right.insert(o.id);
  }
  EXPECT_EQ(right.size(), static_cast<std::size_t>(callers));
  // And 1,000 callers on the peer calling our echo.
  peer("swarm", {term(atom("echo")), node_atom(), callers, me_term()});
  EXPECT_EQ(recv_tagged("swarm"), term::tuple({term(atom("swarm")), term(callers)}));
}

}  // namespace
