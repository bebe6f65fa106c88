// Conformance: links, monitors and exit signals (otp-semantics.md §8).
// Reference: ../shared/otp-reference/08_links.{exs,out}.

#include <stdexcept>
#include <string>

#include "support/test_node.hpp"

namespace {

using namespace otp_test;
using otp::exit_reason;

struct report {
  exit_reason reason;
};
struct alive_msg {};
struct ping {
  otp::pid from;
};
struct pong {};
struct got_exit {
  otp::exit_msg e;
};
struct pid_msg {
  otp::pid p;
};
struct last_words {};
struct my_error : std::logic_error {
  using std::logic_error::logic_error;
};

otp::spawn_options trapping() {
  otp::spawn_options o;
  o.trap_exit = true;
  return o;
}
otp::spawn_options named(std::string n) {
  otp::spawn_options o;
  o.name = std::move(n);
  return o;
}

// Answers pings for ever.
void pinger() {
  for (;;) {
    auto p = recv<ping>();
    otp::send(p.from, pong{});
  }
}

// ------------------------------------------------------------------ 8.1

TEST(links, links_8_1_normal_exit_not_propagated_to_non_trapping) {
  test_node tn;
  auto me = otp::self();
  auto pm = otp::spawn_monitor([me] {
    auto c = otp::spawn_link([] { (void)otp::receive_as<go>(); });
    auto cm = otp::monitor(c);
    otp::send(c, go{});
    otp::send(me, report{await_down(cm).reason});
    (void)recv<go>();
    otp::send(me, alive_msg{});
  });
  EXPECT_EQ(recv<report>().reason, exit_reason::normal());
  EXPECT_TRUE(otp::is_alive(pm.first));
  otp::send(pm.first, go{});
  (void)recv<alive_msg>();
  EXPECT_EQ(await_down(pm.second).reason, exit_reason::normal());
}

TEST(links, links_8_1_foreign_thread_survives_normal_exit_of_linked_process) {
  test_node tn;
  auto c = otp::spawn_link([] { (void)otp::receive_as<go>(); });
  auto r = otp::monitor(c);
  otp::send(c, go{});
  EXPECT_EQ(await_down(r).reason, exit_reason::normal());
  // Still alive: receiving does not throw, and the link is gone.
  otp::send(otp::self(), go{});
  EXPECT_NO_THROW((void)recv<go>());
  auto info = otp::process_info(otp::self());
  ASSERT_TRUE(info.has_value());
  EXPECT_TRUE(info->links.empty());
}

// ------------------------------------------------------------------ 8.2

TEST(links, links_8_2_trapping_process_gets_exit_normal) {
  test_node tn;
  EXPECT_FALSE(otp::trap_exit(true));
  auto c = otp::spawn_link([] {});
  auto e = await_exit(c);
  EXPECT_EQ(e.from, c);
  EXPECT_EQ(e.reason, exit_reason::normal());
}

TEST(links, links_8_2_trap_exit_spawn_option_gets_exit_normal) {
  test_node tn;
  auto me = otp::self();
  otp::spawn(
      [me] {
        auto c = otp::spawn_link([] {});
        otp::send(me, pid_msg{c});
        otp::send(me, got_exit{await_exit(c)});
      },
      trapping());
  auto c = recv<pid_msg>().p;
  auto g = recv<got_exit>();
  EXPECT_EQ(g.e.from, c);
  EXPECT_EQ(g.e.reason, exit_reason::normal());
}

// ------------------------------------------------------------------ 8.3

TEST(links, links_8_3_abnormal_exit_kills_linked_with_same_reason) {
  test_node tn;
  auto pm = otp::spawn_monitor([] {
    otp::spawn_link([] { otp::exit(exit_reason::other("boom")); });
    idle();
  });
  auto d = await_down(pm.second);
  EXPECT_EQ(d.process, pm.first);
  EXPECT_EQ(d.reason, exit_reason::other("boom"));
}

TEST(links, links_8_3_exception_exit_propagates_same_reason) {
  test_node tn;
  auto pm = otp::spawn_monitor([] {
    otp::spawn_link([] { throw std::runtime_error("boom"); });
    idle();
  });
  auto d = await_down(pm.second);
  EXPECT_EQ(d.reason.get_kind(), exit_reason::kind::exception);
  EXPECT_EQ(d.reason.detail(), "std::runtime_error");
  EXPECT_EQ(d.reason.what(), "boom");
}

TEST(links, links_8_3_propagates_along_a_chain) {
  test_node tn;
  auto pm = otp::spawn_monitor([] {
    otp::spawn_link([] {
      otp::spawn_link([] { otp::exit(exit_reason::other("chain")); });
      idle();
    });
    idle();
  });
  EXPECT_EQ(await_down(pm.second).reason, exit_reason::other("chain"));
}

TEST(links, links_8_3_foreign_thread_killed_by_link_throws_exit_error) {
  test_node tn;
  auto c = otp::spawn_link([] {
    (void)recv<go>();
    otp::exit(exit_reason::other("boom"));
  });
  otp::send(c, go{});
  try {
    (void)otp::receive_as<never_t>();
    ADD_FAILURE() << "receive returned although the pseudo-process was killed";
  } catch (const otp::exit_error& e) {
    EXPECT_EQ(e.reason(), exit_reason::other("boom"));
  }
}

// ------------------------------------------------------------------ 8.4

TEST(links, links_8_4_kill_is_untrappable) {
  test_node tn;
  auto pm = otp::spawn_monitor([] { idle(); }, trapping());
  otp::exit(pm.first, exit_reason::kill());
  EXPECT_EQ(await_down(pm.second).reason, exit_reason::killed());
}

TEST(links, links_8_4_links_see_killed_not_kill) {
  test_node tn;
  otp::trap_exit(true);
  auto p = otp::spawn_link([] { idle(); });
  otp::exit(p, exit_reason::kill());
  auto e = await_exit(p);
  EXPECT_EQ(e.reason, exit_reason::killed());
  EXPECT_NE(e.reason, exit_reason::kill());
}

TEST(links, links_8_4_non_trapping_linked_dies_killed) {
  test_node tn;
  auto me = otp::self();
  auto pm = otp::spawn_monitor([me] {
    otp::send(me, pid_msg{otp::spawn_link([] { idle(); })});
    idle();
  });
  auto q = recv<pid_msg>().p;
  otp::exit(q, exit_reason::kill());
  EXPECT_EQ(await_down(pm.second).reason, exit_reason::killed());
}

// Only the exit/2 signal `kill` is special. A process that exits itself with
// reason `kill` (exit/1) spreads an ordinary reason `kill`: checked on
// OTP 25.2.3 (erts 13.1.5): a trapping link gets {'EXIT', P, kill}, a monitor
// {'DOWN', _, process, P, kill}, a non-trapping linked process dies with `kill`.
TEST(links, links_8_4_exit_self_with_kill_is_an_ordinary_reason) {
  test_node tn;
  otp::trap_exit(true);
  auto p = otp::spawn_link([] {
    (void)recv<go>();
    otp::exit(exit_reason::kill());
  });
  auto r = otp::monitor(p);
  otp::send(p, go{});
  EXPECT_EQ(await_exit(p).reason, exit_reason::kill());
  EXPECT_EQ(await_down(r).reason, exit_reason::kill());

  EXPECT_EQ(reason_through_link(exit_reason::kill()), exit_reason::kill());
}

TEST(links, links_8_4_kill_foreign_thread_pseudo_process) {
  test_node tn;
  otp::trap_exit(true);  // kill is untrappable even so
  auto me = otp::self();
  otp::spawn([me] { otp::exit(me, exit_reason::kill()); });
  try {
    (void)otp::receive_as<never_t>();
    ADD_FAILURE() << "receive returned although the pseudo-process was killed";
  } catch (const otp::exit_error& e) {
    EXPECT_EQ(e.reason(), exit_reason::killed());
  }
}

TEST(links, links_8_4_exit_self_signal_kill_dies_killed) {
  test_node tn;
  auto pm = otp::spawn_monitor(
      [] {
        otp::exit(otp::self(), exit_reason::kill());
        otp::send(otp::self(), go{});
        (void)recv<go>();
      },
      trapping());
  EXPECT_EQ(await_down(pm.second).reason, exit_reason::killed());
}

// ------------------------------------------------------------------ 8.5

TEST(links, links_8_5_explicit_killed_is_trappable) {
  test_node tn;
  auto me = otp::self();
  auto pm = otp::spawn_monitor([me] { otp::send(me, got_exit{recv<otp::exit_msg>()}); }, trapping());
  otp::exit(pm.first, exit_reason::killed());
  auto g = recv<got_exit>();
  EXPECT_EQ(g.e.from, me);
  EXPECT_EQ(g.e.reason, exit_reason::killed());
  EXPECT_EQ(await_down(pm.second).reason, exit_reason::normal());
}

TEST(links, links_8_5_explicit_killed_kills_non_trapping_with_killed) {
  test_node tn;
  auto pm = otp::spawn_monitor([] { idle(); });
  otp::exit(pm.first, exit_reason::killed());
  EXPECT_EQ(await_down(pm.second).reason, exit_reason::killed());
}

// ------------------------------------------------------------------ 8.6

TEST(links, links_8_6_exit_normal_ignored_by_non_trapping) {
  test_node tn;
  auto p = otp::spawn(pinger);
  otp::exit(p, exit_reason::normal());
  // Per-pair ordering: the exit signal is handled before this ping.
  otp::send(p, ping{otp::self()});
  (void)recv<pong>();
  EXPECT_TRUE(otp::is_alive(p));
}

TEST(links, links_8_6_exit_normal_to_trapping_gives_exit_msg_from_sender) {
  test_node tn;
  auto me = otp::self();
  auto p = otp::spawn([me] { otp::send(me, got_exit{recv<otp::exit_msg>()}); }, trapping());
  otp::exit(p, exit_reason::normal());
  auto g = recv<got_exit>();
  EXPECT_EQ(g.e.from, me);
  EXPECT_EQ(g.e.reason, exit_reason::normal());
}

// ------------------------------------------------------------------ 8.7

TEST(links, links_8_7_exit_self_normal_terminates_caller) {
  test_node tn;
  auto me = otp::self();
  auto pm = otp::spawn_monitor([me] {
    otp::exit(otp::self(), exit_reason::normal());
    // The exit signal to self precedes this message (per-pair order).
    otp::send(otp::self(), go{});
    (void)recv<go>();
    otp::send(me, alive_msg{});
  });
  EXPECT_EQ(await_down(pm.second).reason, exit_reason::normal());
  EXPECT_TRUE(mailbox_empty()) << "the process kept running after exit(self(), normal)";
}

TEST(links, links_8_7_exit_self_normal_when_trapping_is_a_message) {
  test_node tn;
  auto me = otp::self();
  auto pm = otp::spawn_monitor(
      [me] {
        otp::exit(otp::self(), exit_reason::normal());
        otp::send(me, got_exit{recv<otp::exit_msg>()});
      },
      trapping());
  auto g = recv<got_exit>();
  EXPECT_EQ(g.e.from, pm.first);
  EXPECT_EQ(g.e.reason, exit_reason::normal());
  EXPECT_EQ(await_down(pm.second).reason, exit_reason::normal());
}

TEST(links, links_8_7_exit_self_abnormal_terminates_caller) {
  test_node tn;
  auto pm = otp::spawn_monitor([] {
    otp::exit(otp::self(), exit_reason::other("self_inflicted"));
    otp::send(otp::self(), go{});
    (void)recv<go>();
  });
  EXPECT_EQ(await_down(pm.second).reason, exit_reason::other("self_inflicted"));
}

// ------------------------------------------------------------------ 8.8

TEST(links, links_8_8_exit_signal_without_link_to_trapping) {
  test_node tn;
  auto me = otp::self();
  auto p = otp::spawn([me] { otp::send(me, got_exit{recv<otp::exit_msg>()}); }, trapping());
  otp::exit(p, exit_reason::other("whatever"));
  auto g = recv<got_exit>();
  EXPECT_EQ(g.e.from, me);
  EXPECT_EQ(g.e.reason, exit_reason::other("whatever"));
}

TEST(links, links_8_8_exit_signal_without_link_kills_non_trapping) {
  test_node tn;
  auto pm = otp::spawn_monitor([] { idle(); });
  otp::exit(pm.first, exit_reason::other("whatever"));
  EXPECT_EQ(await_down(pm.second).reason, exit_reason::other("whatever"));
}

// ------------------------------------------------------------------ 8.9
// (The stacktrace part does not apply; an escaping C++ exception becomes an
// `exception` reason carrying its dynamic type name and what().)

TEST(links, links_8_9_escaping_exception_gives_exception_reason) {
  test_node tn;
  auto pm = otp::spawn_monitor([] { throw std::runtime_error("boom"); });
  auto d = await_down(pm.second);
  EXPECT_TRUE(d.reason.is_exception());
  EXPECT_EQ(d.reason.get_kind(), exit_reason::kind::exception);
  EXPECT_EQ(d.reason.detail(), "std::runtime_error");
  EXPECT_EQ(d.reason.what(), "boom");
  EXPECT_EQ(d.reason.to_string(), "{'std::runtime_error',\"boom\"}");
  EXPECT_EQ(d.reason, exit_reason::from_exception(std::make_exception_ptr(std::runtime_error("boom"))));
  EXPECT_FALSE(d.reason.is_quiet());
}

TEST(links, links_8_9_exception_reason_uses_dynamic_type) {
  test_node tn;
  auto pm = otp::spawn_monitor([] { throw my_error("custom"); });
  auto d = await_down(pm.second);
  ASSERT_TRUE(d.reason.is_exception());
  EXPECT_NE(d.reason.detail().find("my_error"), std::string_view::npos) << d.reason.detail();
  EXPECT_EQ(d.reason.what(), "custom");
}

TEST(links, links_8_9_non_std_exception) {
  test_node tn;
  auto pm = otp::spawn_monitor([] { throw 42; });
  auto d = await_down(pm.second);
  EXPECT_TRUE(d.reason.is_exception());
  EXPECT_TRUE(d.reason.what().empty());
}

TEST(links, links_8_9_linked_trapping_sees_exception_reason) {
  test_node tn;
  otp::trap_exit(true);
  auto p = otp::spawn_link([] { throw std::out_of_range("index 7"); });
  auto e = await_exit(p);
  ASSERT_TRUE(e.reason.is_exception());
  EXPECT_EQ(e.reason.detail(), "std::out_of_range");
  EXPECT_EQ(e.reason.what(), "index 7");
}

// ------------------------------------------------------------------ 8.10

TEST(links, links_8_10_monitor_dead_pid_gives_immediate_noproc) {
  test_node tn;
  auto d = dead_pid();
  auto r = otp::monitor(d);
  EXPECT_TRUE(static_cast<bool>(r));
  auto down = await_down(r);
  EXPECT_EQ(down.mref, r);
  EXPECT_EQ(down.process, d);
  EXPECT_EQ(down.reason, exit_reason::noproc());
  EXPECT_TRUE(down.name.empty());
}

TEST(links, links_8_10_spawn_monitor_normal_exit_gives_down_normal) {
  test_node tn;
  auto pm = otp::spawn_monitor([] {});
  auto d = await_down(pm.second);
  EXPECT_EQ(d.mref, pm.second);
  EXPECT_EQ(d.process, pm.first);
  EXPECT_EQ(d.reason, exit_reason::normal());
}

// ------------------------------------------------------------------ 8.11

TEST(links, links_8_11_monitor_by_registered_name) {
  test_node tn;
  auto p = otp::spawn([] { idle(); }, named("mon_me"));
  auto r = otp::monitor(std::string_view("mon_me"));
  {
    auto info = otp::process_info(p);
    ASSERT_TRUE(info.has_value());
    EXPECT_EQ(info->monitored_by, std::vector<otp::pid>{otp::self()});
  }
  otp::exit(p, exit_reason::other("bye"));
  auto d = await_down(r);
  EXPECT_EQ(d.mref, r);
  EXPECT_EQ(d.name, "mon_me");
  EXPECT_EQ(d.reason, exit_reason::other("bye"));
}

TEST(links, links_8_11_monitor_unregistered_name_gives_noproc_with_name) {
  test_node tn;
  auto r = otp::monitor(std::string_view("not_registered"));
  auto d = await_down(r);
  EXPECT_EQ(d.name, "not_registered");
  EXPECT_EQ(d.reason, exit_reason::noproc());
}

TEST(links, links_8_11_name_monitor_follows_the_process_not_the_name) {
  test_node tn;
  auto p = otp::spawn([] { idle(); }, named("moving"));
  auto r = otp::monitor(std::string_view("moving"));
  EXPECT_TRUE(otp::unregister("moving"));
  otp::exit(p, exit_reason::other("gone"));
  auto d = await_down(r);
  EXPECT_EQ(d.name, "moving");
  EXPECT_EQ(d.reason, exit_reason::other("gone"));
}

// ------------------------------------------------------------------ 8.12

TEST(links, links_8_12_two_monitors_are_independent) {
  test_node tn;
  auto p = otp::spawn([] { idle(); });
  auto r1 = otp::monitor(p);
  auto r2 = otp::monitor(p);
  EXPECT_NE(r1, r2);
  {
    auto info = otp::process_info(otp::self());
    ASSERT_TRUE(info.has_value());
    EXPECT_EQ(info->monitors.size(), 2u);
  }
  otp::exit(p, exit_reason::other("x"));
  auto d1 = await_down(r1);
  auto d2 = await_down(r2);
  EXPECT_EQ(d1.process, p);
  EXPECT_EQ(d2.process, p);
  EXPECT_EQ(d1.reason, exit_reason::other("x"));
  EXPECT_EQ(d2.reason, exit_reason::other("x"));
  EXPECT_TRUE(mailbox_empty());
}

TEST(links, links_8_12_monitoring_self_is_allowed) {
  test_node tn;
  otp::ref r;
  EXPECT_NO_THROW(r = otp::monitor(otp::self()));
  EXPECT_TRUE(static_cast<bool>(r));
  EXPECT_TRUE(otp::demonitor(r));
  // Also from a process, which then exits: nothing breaks.
  auto pm = otp::spawn_monitor([] {
    (void)otp::monitor(otp::self());
    otp::exit(exit_reason::other("bye"));
  });
  EXPECT_EQ(await_down(pm.second).reason, exit_reason::other("bye"));
}

// ------------------------------------------------------------------ 8.13

namespace {
// Waits until the DOWN for a monitor of a process that exits by itself is
// queued (unconsumed) in the caller's mailbox.
otp::ref monitor_and_let_down_arrive() {
  auto p = otp::spawn([] { (void)recv<go>(); });
  auto r = otp::monitor(p);
  otp::send(p, go{});
  EXPECT_TRUE(wait_until([] { return otp::process_info(otp::self())->message_queue_len == 1; }))
      << "the DOWN never showed in message_queue_len";
  return r;
}
}  // namespace

TEST(links, links_8_13_demonitor_keeps_already_delivered_down) {
  test_node tn;
  auto r = monitor_and_let_down_arrive();
  EXPECT_TRUE(otp::demonitor(r));
  auto m = otp::receive_any(otp::timeout::zero());
  ASSERT_TRUE(m.has_value());
  ASSERT_TRUE(m->is<otp::down_msg>());
  EXPECT_EQ(m->get<otp::down_msg>().mref, r);
}

TEST(links, links_8_13_demonitor_flush_removes_delivered_down) {
  test_node tn;
  auto r = monitor_and_let_down_arrive();
  otp::demonitor_options o;
  o.flush = true;
  EXPECT_TRUE(otp::demonitor(r, o));
  EXPECT_TRUE(mailbox_empty());
}

TEST(links, links_8_13_demonitor_info_after_down_is_false) {
  test_node tn;
  auto r = monitor_and_let_down_arrive();
  otp::demonitor_options info;
  info.info = true;
  EXPECT_FALSE(otp::demonitor(r, info));
  otp::demonitor_options flush_info;
  flush_info.info = true;
  flush_info.flush = true;
  EXPECT_FALSE(otp::demonitor(r, flush_info));
  EXPECT_TRUE(mailbox_empty());
}

TEST(links, links_8_13_demonitor_info_while_active_is_true_and_no_down_follows) {
  test_node tn;
  auto p = otp::spawn([] { idle(); });
  auto r = otp::monitor(p);
  otp::demonitor_options info;
  info.info = true;
  EXPECT_TRUE(otp::demonitor(r, info));
  EXPECT_FALSE(otp::demonitor(r, info)) << "already removed";
  auto r2 = otp::monitor(p);
  otp::exit(p, exit_reason::kill());
  EXPECT_EQ(await_down(r2).reason, exit_reason::killed());
  EXPECT_TRUE(mailbox_empty()) << "a DOWN arrived for a removed monitor";
  auto mine = otp::process_info(otp::self());
  ASSERT_TRUE(mine.has_value());
  EXPECT_TRUE(mine->monitors.empty());
}

TEST(links, links_8_13_demonitor_flush_racing_exit_never_leaves_a_down) {
  test_node tn;
  for (int i = 0; i < 200; ++i) {
    auto p = otp::spawn([] { (void)recv<go>(); });
    auto r = otp::monitor(p);
    auto r2 = otp::monitor(p);
    otp::send(p, go{});  // p exits concurrently with the demonitor below
    otp::demonitor_options f;
    f.flush = true;
    EXPECT_TRUE(otp::demonitor(r, f));
    (void)await_down(r2);
    ASSERT_TRUE(mailbox_empty()) << "a DOWN for a flushed monitor arrived, iteration " << i;
  }
}

TEST(links, links_8_13_demonitor_flush_removes_only_its_own_down) {
  test_node tn;
  auto a = otp::spawn([] { (void)recv<go>(); });
  auto b = otp::spawn([] { (void)recv<go>(); });
  auto ra = otp::monitor(a);
  auto rb = otp::monitor(b);
  otp::send(a, go{});
  otp::send(b, go{});
  ASSERT_TRUE(wait_until([] { return otp::process_info(otp::self())->message_queue_len == 2; }));
  otp::demonitor_options f;
  f.flush = true;
  EXPECT_TRUE(otp::demonitor(ra, f));
  auto m = otp::receive_any(otp::timeout::zero());
  ASSERT_TRUE(m.has_value() && m->is<otp::down_msg>());
  EXPECT_EQ(m->get<otp::down_msg>().mref, rb);
  EXPECT_TRUE(mailbox_empty());
}

TEST(links, links_8_13_demonitor_unknown_ref) {
  test_node tn;
  EXPECT_TRUE(otp::demonitor(otp::make_ref()));
  otp::demonitor_options info;
  info.info = true;
  EXPECT_FALSE(otp::demonitor(otp::make_ref(), info));
}

// ------------------------------------------------------------------ 8.14

TEST(links, links_8_14_link_to_dead_pid_non_trapping_process_gets_noproc_error) {
  test_node tn;
  auto me = otp::self();
  auto d = dead_pid();
  auto pm = otp::spawn_monitor([me, d] {
    try {
      otp::link(d);
      otp::send(me, report{exit_reason::other("no exception")});
    } catch (const otp::exit_error& e) {
      otp::send(me, report{e.reason()});
    }
    otp::send(me, alive_msg{});
  });
  EXPECT_EQ(recv<report>().reason, exit_reason::noproc());
  (void)recv<alive_msg>();
  EXPECT_EQ(await_down(pm.second).reason, exit_reason::normal());
}

TEST(links, links_8_14_link_to_dead_pid_from_foreign_thread_throws_noproc) {
  test_node tn;
  auto d = dead_pid();
  try {
    otp::link(d);
    ADD_FAILURE() << "link to a dead pid did not throw";
  } catch (const otp::exit_error& e) {
    EXPECT_EQ(e.reason(), exit_reason::noproc());
  }
  // The caller is not killed.
  otp::send(otp::self(), go{});
  EXPECT_NO_THROW((void)recv<go>());
}

TEST(links, links_8_14_link_to_dead_pid_trapping_gets_exit_noproc) {
  test_node tn;
  otp::trap_exit(true);
  auto d = dead_pid();
  EXPECT_NO_THROW(otp::link(d));
  auto e = await_exit(d);
  EXPECT_EQ(e.reason, exit_reason::noproc());
}

// ------------------------------------------------------------------ 8.15

TEST(links, links_8_15_links_bidirectional_idempotent_unlink_removes_both) {
  test_node tn;
  auto me = otp::self();
  auto p = otp::spawn([] { idle(); });
  otp::link(p);
  otp::link(p);
  auto mine = otp::process_info(me);
  auto theirs = otp::process_info(p);
  ASSERT_TRUE(mine && theirs);
  EXPECT_EQ(mine->links, std::vector<otp::pid>{p});
  EXPECT_EQ(theirs->links, std::vector<otp::pid>{me});
  otp::unlink(p);
  mine = otp::process_info(me);
  theirs = otp::process_info(p);
  ASSERT_TRUE(mine && theirs);
  EXPECT_TRUE(mine->links.empty());
  EXPECT_TRUE(theirs->links.empty());
}

TEST(links, links_8_15_link_made_by_either_side_works_both_ways) {
  test_node tn;
  auto qm = otp::spawn_monitor([] { idle(); });
  auto q = qm.first;
  otp::spawn([q] {
    otp::link(q);
    otp::exit(exit_reason::other("boom"));
  });
  EXPECT_EQ(await_down(qm.second).reason, exit_reason::other("boom"));
}

TEST(links, links_8_15_no_signal_after_unlink_trapping) {
  test_node tn;
  otp::trap_exit(true);
  auto p = otp::spawn_link([] { idle(); });
  otp::unlink(p);
  auto r = otp::monitor(p);
  otp::exit(p, exit_reason::other("boom"));
  EXPECT_EQ(await_down(r).reason, exit_reason::other("boom"));
  EXPECT_TRUE(mailbox_empty()) << "an EXIT arrived after unlink";
}

TEST(links, links_8_15_no_signal_after_unlink_non_trapping) {
  test_node tn;
  auto p = otp::spawn_link([] { idle(); });
  otp::unlink(p);
  auto r = otp::monitor(p);
  otp::exit(p, exit_reason::other("boom"));
  EXPECT_EQ(await_down(r).reason, exit_reason::other("boom"));
  EXPECT_NO_THROW(EXPECT_TRUE(mailbox_empty()));
}

TEST(links, links_8_15_unlink_by_peer_removes_our_side) {
  test_node tn;
  auto me = otp::self();
  auto p = otp::spawn_link([me] {
    otp::unlink(me);
    otp::send(me, alive_msg{});
    otp::exit(exit_reason::other("boom"));
  });
  auto r = otp::monitor(p);
  (void)recv<alive_msg>();
  (void)await_down(r);
  auto info = otp::process_info(me);
  ASSERT_TRUE(info.has_value());
  EXPECT_TRUE(info->links.empty());
  EXPECT_NO_THROW(EXPECT_TRUE(mailbox_empty()));
}

TEST(links, links_8_15_link_self_and_unlink_unlinked_are_no_ops) {
  test_node tn;
  EXPECT_NO_THROW(otp::link(otp::self()));
  EXPECT_TRUE(otp::process_info(otp::self())->links.empty());
  auto p = otp::spawn([] { idle(); });
  EXPECT_NO_THROW(otp::unlink(p));  // never linked
  EXPECT_NO_THROW(otp::unlink(dead_pid()));
  EXPECT_TRUE(otp::process_info(otp::self())->links.empty());
  EXPECT_TRUE(otp::is_alive(p));
}

// ------------------------------------------------------------------ 8.16

TEST(links, links_8_16_message_before_exit_arrives_before_exit_msg) {
  test_node tn;
  otp::trap_exit(true);
  auto me = otp::self();
  for (int i = 0; i < 200; ++i) {
    auto p = otp::spawn_link([me] {
      otp::send(me, last_words{});
      otp::exit(exit_reason::other("bye"));
    });
    auto first = otp::receive_any(otp::infinity);
    ASSERT_TRUE(first->is<last_words>()) << "iteration " << i << ": got " << first->type_name();
    auto second = otp::receive_any(otp::infinity);
    ASSERT_TRUE(second->is<otp::exit_msg>()) << "iteration " << i << ": got " << second->type_name();
    EXPECT_EQ(second->get<otp::exit_msg>().from, p);
  }
}

TEST(links, links_8_16_message_before_exit_arrives_before_down) {
  test_node tn;
  auto me = otp::self();
  for (int i = 0; i < 200; ++i) {
    auto pm = otp::spawn_monitor([me] { otp::send(me, last_words{}); });
    auto first = otp::receive_any(otp::infinity);
    ASSERT_TRUE(first->is<last_words>()) << "iteration " << i << ": got " << first->type_name();
    auto second = otp::receive_any(otp::infinity);
    ASSERT_TRUE(second->is<otp::down_msg>()) << "iteration " << i << ": got " << second->type_name();
    EXPECT_EQ(second->get<otp::down_msg>().mref, pm.second);
  }
}

// ------------------------------------------------------------------ 8.18

TEST(links, links_8_18_exit_to_dead_pid_is_harmless) {
  test_node tn;
  auto d = dead_pid();
  EXPECT_NO_THROW(otp::exit(d, exit_reason::kill()));
  EXPECT_NO_THROW(otp::exit(d, exit_reason::other("x")));
  EXPECT_NO_THROW(otp::exit(d, exit_reason::normal()));
  EXPECT_FALSE(otp::is_alive(d));
  EXPECT_TRUE(mailbox_empty());
}

// 8.17 (aliases) does not exist in the API yet.

}  // namespace
