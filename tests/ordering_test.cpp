// Conformance: ordering, mailboxes and selective receive (otp-semantics.md
// §15.1–15.4). Reference: ../shared/otp-reference/15_ordering.{exs,out}.

#include <algorithm>
#include <string>
#include <vector>

#include "support/test_node.hpp"

namespace {

using namespace otp_test;
using otp::exit_reason;

struct seq {
  int sender;
  int i;
};
struct msg_first {};
struct wanted {
  int x;
};
struct result {
  bool ok;
  std::string detail;
};
struct order {
  std::vector<std::string> items;
};
struct ready {};
struct check {
  otp::pid reply_to;
};
struct checked {
  bool seen;
};
struct pid_msg {
  otp::pid p;
};

// ------------------------------------------------------------------ 15.1

TEST(ordering, ordering_15_1_100k_messages_from_one_sender_in_order) {
  test_node tn;
  const int n = 100000;
  auto me = otp::self();
  otp::spawn([me, n] {
    for (int i = 0; i < n; ++i) otp::send(me, seq{0, i});
  });
  for (int i = 0; i < n; ++i) {
    auto s = recv<seq>();
    ASSERT_EQ(s.i, i);
  }
}

TEST(ordering, ordering_15_1_process_to_process_in_order) {
  test_node tn;
  const int n = 100000;
  auto me = otp::self();
  auto receiver = otp::spawn([me, n] {
    for (int i = 0; i < n; ++i) {
      auto s = recv<seq>();
      if (s.i != i) {
        otp::send(me, result{false, "expected " + std::to_string(i) + " got " + std::to_string(s.i)});
        return;
      }
    }
    otp::send(me, result{true, ""});
  });
  otp::spawn([receiver, n] {
    for (int i = 0; i < n; ++i) otp::send(receiver, seq{0, i});
  });
  auto r = recv<result>();
  EXPECT_TRUE(r.ok) << r.detail;
}

TEST(ordering, ordering_15_1_message_then_exit_signal_message_first) {
  test_node tn;
  auto me = otp::self();
  for (int i = 0; i < 100; ++i) {
    auto p = otp::spawn(
        [me] {
          auto a = otp::receive_any(otp::infinity);
          auto b = otp::receive_any(otp::infinity);
          bool ok = a->is<msg_first>() && b->is<otp::exit_msg>() &&
                    b->get<otp::exit_msg>().reason == exit_reason::other("sig_second");
          otp::send(me, result{ok, a->type_name() + ", " + b->type_name()});
        },
        [] {
          otp::spawn_options o;
          o.trap_exit = true;
          return o;
        }());
    otp::spawn([p] {
      otp::send(p, msg_first{});
      otp::exit(p, exit_reason::other("sig_second"));
    });
    auto r = recv<result>();
    ASSERT_TRUE(r.ok) << "iteration " << i << ": " << r.detail;
  }
}

TEST(ordering, ordering_15_1_foreign_thread_message_then_exit_signal) {
  test_node tn;
  auto me = otp::self();
  otp::spawn_options o;
  o.trap_exit = true;
  auto p = otp::spawn(
      [me] {
        auto a = otp::receive_any(otp::infinity);
        auto b = otp::receive_any(otp::infinity);
        otp::send(me, result{a->is<msg_first>() && b->is<otp::exit_msg>(), a->type_name() + ", " + b->type_name()});
      },
      o);
  otp::send(p, msg_first{});
  otp::exit(p, exit_reason::other("sig_second"));
  auto r = recv<result>();
  EXPECT_TRUE(r.ok) << r.detail;
}

// Link and monitor signals are ordered with messages of the same pair: a
// monitor (link) made before a message is in place when the message is
// received, and one removed before a message is gone.
void answer_checks(bool monitors) {
  for (;;) {
    auto c = recv<check>();
    auto info = otp::process_info(otp::self());
    const auto& v = monitors ? info->monitored_by : info->links;
    otp::send(c.reply_to, checked{std::find(v.begin(), v.end(), c.reply_to) != v.end()});
  }
}

TEST(ordering, ordering_15_1_monitor_and_demonitor_signals_ordered_with_messages) {
  test_node tn;
  auto b = otp::spawn([] { answer_checks(true); });
  auto me = otp::self();
  otp::spawn([b, me] {
    bool ok = true;
    for (int i = 0; i < 100; ++i) {
      auto r = otp::monitor(b);
      otp::send(b, check{otp::self()});
      ok = ok && recv<checked>().seen;
      otp::demonitor(r);
      otp::send(b, check{otp::self()});
      ok = ok && !recv<checked>().seen;
    }
    otp::send(me, result{ok, ""});
  });
  EXPECT_TRUE(recv<result>().ok);
}

TEST(ordering, ordering_15_1_link_and_unlink_signals_ordered_with_messages) {
  test_node tn;
  auto b = otp::spawn([] { answer_checks(false); });
  auto me = otp::self();
  otp::spawn([b, me] {
    bool ok = true;
    for (int i = 0; i < 100; ++i) {
      otp::link(b);
      otp::send(b, check{otp::self()});
      ok = ok && recv<checked>().seen;
      otp::unlink(b);
      otp::send(b, check{otp::self()});
      ok = ok && !recv<checked>().seen;
    }
    otp::send(me, result{ok, ""});
  });
  EXPECT_TRUE(recv<result>().ok);
}

// ------------------------------------------------------------------ 15.2

TEST(ordering, ordering_15_2_each_senders_subsequence_ordered) {
  test_node tn;
  const int n = 10000;
  auto me = otp::self();
  auto s1 = otp::spawn([me, n] {
    (void)recv<go>();
    for (int i = 0; i < n; ++i) otp::send(me, seq{1, i});
  });
  auto s2 = otp::spawn([me, n] {
    (void)recv<go>();
    for (int i = 0; i < n; ++i) otp::send(me, seq{2, i});
  });
  otp::send(s1, go{});
  otp::send(s2, go{});
  int next[3] = {0, 0, 0};
  for (int k = 0; k < 2 * n; ++k) {
    auto s = recv<seq>();
    ASSERT_TRUE(s.sender == 1 || s.sender == 2);
    ASSERT_EQ(s.i, next[s.sender]) << "sender " << s.sender;
    ++next[s.sender];
  }
  EXPECT_EQ(next[1], n);
  EXPECT_EQ(next[2], n);
  EXPECT_TRUE(mailbox_empty());
}

// ------------------------------------------------------------------ 15.3

TEST(ordering, ordering_15_3_mailbox_unbounded_sends_never_block) {
  test_node tn;
  const std::size_t n = scaled(1000000, 10000);
  auto pm = otp::spawn_monitor([] { idle(); });
  auto p = pm.first;
  for (std::size_t i = 0; i < n; ++i) otp::send(p, static_cast<int>(i));
  auto info = otp::process_info(p);
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->message_queue_len, n);
  otp::exit(p, exit_reason::kill());
  EXPECT_EQ(await_down(pm.second).reason, exit_reason::killed());
}

TEST(ordering, ordering_15_3_send_to_dead_pid_never_fails) {
  test_node tn;
  auto d = dead_pid();
  for (int i = 0; i < 10000; ++i) ASSERT_NO_THROW(otp::send(d, i));
  EXPECT_FALSE(otp::is_alive(d));
  // Also an empty pid.
  EXPECT_NO_THROW(otp::send(otp::pid{}, 1));
}

// ------------------------------------------------------------------ 15.4

TEST(ordering, ordering_15_4_selective_receive_keeps_order) {
  test_node tn;
  auto me = otp::self();
  otp::send(me, std::string("a"));
  otp::send(me, std::string("b"));
  otp::send(me, wanted{1});
  otp::send(me, std::string("c"));
  auto w = otp::receive_as<wanted>(otp::timeout::zero());
  ASSERT_TRUE(w.has_value());
  EXPECT_EQ(w->x, 1);
  std::vector<std::string> rest;
  for (auto& m : drain()) {
    ASSERT_TRUE(m.is<std::string>()) << m.type_name();
    rest.push_back(m.get<std::string>());
  }
  EXPECT_EQ(rest, (std::vector<std::string>{"a", "b", "c"}));
}

TEST(ordering, ordering_15_4_selective_receive_in_a_process_with_later_arrivals) {
  test_node tn;
  auto me = otp::self();
  auto p = otp::spawn([me] {
    (void)recv<go>();                                                  // skips x1, x2
    bool none = !otp::receive_as<wanted>(otp::timeout::zero()).has_value();  // scans them again
    otp::send(me, result{none, "a wanted was there too early"});
    auto w = recv<wanted>();  // x1, x2 skipped; x3, wanted, x4 arrive while waiting
    order o;
    o.items.push_back("wanted" + std::to_string(w.x));
    for (auto s = recv<std::string>(); s != "end"; s = recv<std::string>()) o.items.push_back(s);
    otp::send(me, std::move(o));
  });
  otp::send(p, std::string("x1"));
  otp::send(p, std::string("x2"));
  otp::send(p, go{});
  auto r = recv<result>();
  EXPECT_TRUE(r.ok) << r.detail;
  otp::send(p, std::string("x3"));
  otp::send(p, wanted{9});
  otp::send(p, std::string("x4"));
  otp::send(p, std::string("end"));
  auto o = recv<order>();
  EXPECT_EQ(o.items, (std::vector<std::string>{"wanted9", "x1", "x2", "x3", "x4"}));
}

TEST(ordering, ordering_15_4_many_skipped_messages_stay_in_order) {
  test_node tn;
  auto me = otp::self();
  for (int i = 0; i < 10000; ++i) otp::send(me, seq{0, i});
  otp::send(me, wanted{5});
  for (int i = 10000; i < 10100; ++i) otp::send(me, seq{0, i});
  EXPECT_EQ(recv<wanted>().x, 5);
  for (int i = 0; i < 10100; ++i) {
    auto s = otp::receive_as<seq>(otp::timeout::zero());
    ASSERT_TRUE(s.has_value());
    ASSERT_EQ(s->i, i);
  }
  EXPECT_TRUE(mailbox_empty());
}

TEST(ordering, ordering_15_4_receive_after_0_on_empty_mailbox_is_immediate) {
  test_node tn;  // manual clock: nothing would ever advance time
  EXPECT_FALSE(otp::receive_any(otp::timeout::zero()).has_value());
  EXPECT_EQ(otp::receive(
                [](const std::string&) { return 1; }, otp::after(otp::timeout::zero(), [] { return 2; })),
            2);
  auto me = otp::self();
  otp::spawn([me] {
    int r = otp::receive([](const std::string&) { return 1; }, otp::after(otp::timeout::zero(), [] { return 2; }));
    otp::send(me, r);
  });
  EXPECT_EQ(recv<int>(), 2);
  EXPECT_EQ(tn->pending_timers(), 0u);
}

TEST(ordering, ordering_15_4_send_to_self_visible_to_next_receive) {
  test_node tn;
  otp::send(otp::self(), std::string("self_msg"));
  auto m = otp::receive_as<std::string>(otp::timeout::zero());
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(*m, "self_msg");
  auto me = otp::self();
  otp::spawn([me] {
    otp::send(otp::self(), 11);
    auto v = otp::receive_as<int>(otp::timeout::zero());
    otp::send(me, v.value_or(-1));
  });
  EXPECT_EQ(recv<int>(), 11);
}

}  // namespace
