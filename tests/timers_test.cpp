// Conformance: timers (otp-semantics.md §14): send_after, start_timer,
// cancel_timer, read_timer. Reference: ../shared/otp-reference/14_timers.*.
// Not applicable: async cancel (14.2 async:), abs: (14.4), :timer (14.8).
//
// Most tests run on the manual clock: `advance_time(d)` fires what became
// due before returning, so a timer aimed at the test body's own mailbox is
// queued when advance_time returns and `receive ... after 0` sees it.

#include <atomic>
#include <string>
#include <vector>

#include "support/test_node.hpp"

namespace {

using namespace otp_test;
using otp::exit_reason;
using ms = std::chrono::milliseconds;

struct hello {};
struct payload {
  int v;
};
struct tick {};
struct done {};
struct same {
  int i;
};
struct dec {
  int t;
};
struct timer0 {};
struct direct {};
struct ref_msg {
  otp::ref r;
};
struct from_dead_creator {};
struct got {
  int v;
};

// ------------------------------------------------------------------ 14.1

TEST(timers, timers_14_1_send_after_delivers_bare_message) {
  test_node tn;
  auto r = otp::send_after(otp::self(), hello{}, 100ms);
  EXPECT_TRUE(static_cast<bool>(r));
  EXPECT_EQ(otp::read_timer(r), std::optional<ms>(100ms));
  tn->advance_time(99ms);
  EXPECT_TRUE(mailbox_empty()) << "fired early";
  EXPECT_EQ(otp::read_timer(r), std::optional<ms>(1ms));
  tn->advance_time(1ms);
  auto m = otp::receive_any(otp::timeout::zero());
  ASSERT_TRUE(m.has_value()) << "not delivered when due";
  EXPECT_TRUE(m->is<hello>()) << m->type_name();
  EXPECT_TRUE(mailbox_empty()) << "delivered twice";
}

TEST(timers, timers_14_1_start_timer_delivers_timer_timeout) {
  test_node tn;
  auto r = otp::start_timer(otp::self(), payload{7}, 20ms);
  EXPECT_TRUE(static_cast<bool>(r));
  tn->advance_time(20ms);
  auto m = otp::receive_any(otp::timeout::zero());
  ASSERT_TRUE(m.has_value());
  ASSERT_TRUE(m->is<otp::timer_timeout<payload>>()) << m->type_name();
  auto& t = m->get<otp::timer_timeout<payload>>();
  EXPECT_EQ(t.tref, r);
  EXPECT_EQ(t.msg.v, 7);
}

TEST(timers, timers_14_1_timer_armed_by_a_process) {
  test_node tn;
  auto me = otp::self();
  otp::spawn([me] {
    (void)otp::send_after(otp::self(), tick{}, 10ms);
    (void)recv<tick>();
    otp::send(me, done{});
  });
  ASSERT_TRUE(wait_for_timers(tn, 1));
  tn->advance_time(10ms);
  (void)recv<done>();
}

TEST(timers, timers_14_1_manual_clock_moves_only_by_advance_time) {
  test_node tn;
  auto t0 = tn->now();
  tn->advance_time(250ms);
  EXPECT_EQ(tn->now() - t0, 250ms);
  tn->advance_time(0ms);
  EXPECT_EQ(tn->now() - t0, 250ms);
}

// ------------------------------------------------------------------ 14.2

TEST(timers, timers_14_2_cancel_returns_remaining_or_false) {
  test_node tn;
  auto r = otp::send_after(otp::self(), hello{}, 1000ms);
  tn->advance_time(300ms);
  EXPECT_EQ(otp::cancel_timer(r), std::optional<ms>(700ms));
  EXPECT_EQ(otp::cancel_timer(r), std::nullopt) << "second cancel";
  EXPECT_EQ(otp::read_timer(r), std::nullopt);
  tn->advance_time(1000ms);
  EXPECT_TRUE(mailbox_empty()) << "a cancelled timer's message arrived";
}

TEST(timers, timers_14_2_cancel_and_read_after_fired_are_false) {
  test_node tn;
  auto r = otp::send_after(otp::self(), hello{}, 100ms);
  tn->advance_time(100ms);
  EXPECT_TRUE(otp::receive_as<hello>(otp::timeout::zero()).has_value());
  EXPECT_EQ(otp::cancel_timer(r), std::nullopt);
  EXPECT_EQ(otp::read_timer(r), std::nullopt);
}

TEST(timers, timers_14_2_non_timer_refs_are_false) {
  test_node tn;
  EXPECT_EQ(otp::cancel_timer(otp::make_ref()), std::nullopt);
  EXPECT_EQ(otp::read_timer(otp::make_ref()), std::nullopt);
  EXPECT_EQ(otp::cancel_timer(otp::ref{}), std::nullopt);
  EXPECT_EQ(otp::read_timer(otp::ref{}), std::nullopt);
  // A monitor ref is no timer either.
  auto p = otp::spawn([] { idle(); });
  auto mref = otp::monitor(p);
  EXPECT_EQ(otp::cancel_timer(mref), std::nullopt);
  EXPECT_TRUE(otp::demonitor(mref));
}

TEST(timers, timers_14_2_read_timer_does_not_cancel) {
  test_node tn;
  auto r = otp::send_after(otp::self(), hello{}, 50ms);
  EXPECT_EQ(otp::read_timer(r), std::optional<ms>(50ms));
  tn->advance_time(20ms);
  EXPECT_EQ(otp::read_timer(r), std::optional<ms>(30ms));
  tn->advance_time(30ms);
  EXPECT_TRUE(otp::receive_as<hello>(otp::timeout::zero()).has_value());
}

TEST(timers, timers_14_2_cancel_start_timer) {
  test_node tn;
  auto r = otp::start_timer(otp::self(), payload{1}, 40ms);
  tn->advance_time(10ms);
  EXPECT_EQ(otp::cancel_timer(r), std::optional<ms>(30ms));
  tn->advance_time(100ms);
  EXPECT_TRUE(mailbox_empty());
}

TEST(timers, timers_14_2_cancel_from_another_process) {
  test_node tn;
  auto me = otp::self();
  auto r = otp::send_after(me, hello{}, 100ms);
  otp::spawn([me, r] { otp::send(me, otp::cancel_timer(r)); });
  EXPECT_EQ(recv<std::optional<ms>>(), std::optional<ms>(100ms));
  tn->advance_time(200ms);
  EXPECT_TRUE(mailbox_empty());
}

TEST(timers, timers_14_2_pending_timers_counts_armed_timers) {
  test_node tn;
  auto base = tn->pending_timers();
  auto a = otp::send_after(otp::self(), hello{}, 10ms);
  auto b = otp::send_after(otp::self(), hello{}, 20ms);
  EXPECT_EQ(tn->pending_timers(), base + 2);
  (void)otp::cancel_timer(a);
  EXPECT_EQ(tn->pending_timers(), base + 1);
  tn->advance_time(20ms);
  EXPECT_EQ(tn->pending_timers(), base);
  (void)b;
  (void)drain();
}

// ------------------------------------------------------------------ 14.3

TEST(timers, timers_14_3_zero_delay_allowed) {
  test_node tn;
  auto r = otp::send_after(otp::self(), hello{}, 0ms);
  EXPECT_TRUE(static_cast<bool>(r));
  tn->advance_time(0ms);  // due now: fired by now at the latest
  EXPECT_TRUE(otp::receive_as<hello>(otp::timeout::zero()).has_value());
}

// ------------------------------------------------------------------ 14.4

TEST(timers, timers_14_4_dead_destination_timer_auto_cancelled) {
  test_node tn;
  auto d = dead_pid();
  otp::ref r;
  EXPECT_NO_THROW(r = otp::send_after(d, hello{}, 1000ms));
  EXPECT_TRUE(static_cast<bool>(r));
  EXPECT_EQ(otp::read_timer(r), std::nullopt);
  EXPECT_EQ(otp::cancel_timer(r), std::nullopt);
}

TEST(timers, timers_14_4_destination_death_cancels_timer) {
  test_node tn;
  auto pm = otp::spawn_monitor([] { (void)recv<go>(); });
  auto r = otp::send_after(pm.first, hello{}, 5000ms);
  EXPECT_EQ(otp::read_timer(r), std::optional<ms>(5000ms));
  otp::send(pm.first, go{});
  (void)await_down(pm.second);
  EXPECT_EQ(otp::read_timer(r), std::nullopt);
  EXPECT_EQ(otp::cancel_timer(r), std::nullopt);
  tn->advance_time(6000ms);  // nothing to deliver, nothing breaks
}

TEST(timers, timers_14_4_creator_death_does_not_cancel) {
  test_node tn;
  auto me = otp::self();
  auto pm = otp::spawn_monitor([me] { otp::send(me, ref_msg{otp::send_after(me, from_dead_creator{}, 50ms)}); });
  auto r = recv<ref_msg>().r;
  EXPECT_EQ(await_down(pm.second).reason, exit_reason::normal());
  EXPECT_EQ(otp::read_timer(r), std::optional<ms>(50ms));
  tn->advance_time(50ms);
  EXPECT_TRUE(otp::receive_as<from_dead_creator>(otp::timeout::zero()).has_value());
}

TEST(timers, timers_14_4_unregistered_name_dropped_at_expiry) {
  test_node tn;
  otp::ref r;
  EXPECT_NO_THROW(r = otp::send_after(std::string("nobody_registered"), hello{}, 10ms));
  EXPECT_TRUE(static_cast<bool>(r));
  EXPECT_NO_THROW(tn->advance_time(10ms));
  EXPECT_TRUE(mailbox_empty());
  EXPECT_EQ(otp::read_timer(r), std::nullopt);
}

TEST(timers, timers_14_4_name_resolved_at_expiry) {
  test_node tn;
  auto me = otp::self();
  (void)otp::send_after(std::string("late"), payload{42}, 10ms);
  otp::spawn_options o;
  o.name = "late";
  otp::spawn([me] { otp::send(me, got{recv<payload>().v}); }, o);
  tn->advance_time(10ms);
  EXPECT_EQ(recv<got>().v, 42);
}

TEST(timers, timers_14_4_negative_delay_is_badarg) {
  test_node tn;
  EXPECT_THROW((void)otp::send_after(otp::self(), hello{}, -1ms), otp::badarg);
  EXPECT_THROW((void)otp::send_after(std::string("x"), hello{}, -1ms), otp::badarg);
  EXPECT_THROW((void)otp::start_timer(otp::self(), hello{}, -5ms), otp::badarg);
  EXPECT_EQ(tn->pending_timers(), 0u);
}

// ------------------------------------------------------------------ 14.5

TEST(timers, timers_14_5_send_after_zero_is_asynchronous) {
  test_node tn;
  (void)otp::send_after(otp::self(), timer0{}, 0ms);
  otp::send(otp::self(), direct{});
  tn->advance_time(0ms);
  auto a = otp::receive_any(otp::timeout::zero());
  auto b = otp::receive_any(otp::timeout::zero());
  ASSERT_TRUE(a && b);
  EXPECT_TRUE(a->is<direct>()) << "first was " << a->type_name();
  EXPECT_TRUE(b->is<timer0>()) << "second was " << b->type_name();
}

TEST(timers, timers_14_5_send_after_zero_is_asynchronous_real_clock) {
  test_node tn(clock_kind::real);
  auto me = otp::self();
  otp::spawn([me] {
    int bad = 0;
    for (int i = 0; i < 200; ++i) {
      (void)otp::send_after(otp::self(), timer0{}, 0ms);
      otp::send(otp::self(), direct{});
      auto a = otp::receive_any(otp::infinity);
      auto b = otp::receive_any(otp::infinity);
      if (!a->is<direct>() || !b->is<timer0>()) ++bad;
    }
    otp::send(me, bad);
  });
  EXPECT_EQ(recv<int>(), 0) << "iterations where the 0 ms timer overtook the plain send";
}

// A timer armed while another one is being fired must not be forgotten.
// The firer recomputes the earliest deadline after delivering; a process
// woken by that delivery can arm its next timer before the firer has
// scanned the wheels, and such an arm does not lower the (still old) hint
// itself. The firer used to raise the hint past it, and then no scheduler
// and no poll fired it: the process waited for ever (1 run in a few hundred
// of timers_14_5 above, more with several processes doing it at once).
TEST(timers, timers_14_5_a_timer_armed_during_a_firing_still_fires_real_clock) {
  test_node tn(clock_kind::real);
  std::vector<otp::ref> done;
  for (int p = 0; p < 4; ++p)
    done.push_back(otp::spawn_monitor([] {
                     for (int i = 0; i < 3000; ++i) {
                       (void)otp::send_after(otp::self(), timer0{}, 0ms);
                       (void)otp::receive_as<timer0>(otp::infinity);
                     }
                   }).second);
  for (const otp::ref& m : done) EXPECT_TRUE(await_down(m).reason.is_normal());
}

// ------------------------------------------------------------------ 14.6

TEST(timers, timers_14_6_equal_timeouts_delivered_in_creation_order) {
  test_node tn;
  for (int i = 0; i < 1000; ++i) (void)otp::send_after(otp::self(), same{i}, 30ms);
  tn->advance_time(30ms);
  for (int i = 0; i < 1000; ++i) {
    auto m = otp::receive_as<same>(otp::timeout::zero());
    ASSERT_TRUE(m.has_value()) << "missing after " << i;
    ASSERT_EQ(m->i, i);
  }
  EXPECT_TRUE(mailbox_empty());
}

TEST(timers, timers_14_6_different_timeouts_delivered_in_expiry_order) {
  test_node tn;
  for (int i = 1; i <= 200; ++i) (void)otp::send_after(otp::self(), dec{200 - i}, ms(200 - i));
  tn->advance_time(200ms);  // one jump: must still fire in expiry order
  std::vector<int> got_order;
  while (auto m = otp::receive_as<dec>(otp::timeout::zero())) got_order.push_back(m->t);
  ASSERT_EQ(got_order.size(), 200u);
  for (int i = 0; i < 200; ++i) EXPECT_EQ(got_order[i], i);
}

TEST(timers, timers_14_6_timers_fire_only_when_due_across_wheel_levels) {
  test_node tn;
  // Delays spread over several orders of magnitude (wheel levels).
  const std::vector<long> delays = {1, 63, 64, 65, 255, 256, 257, 4095, 4096, 4097, 65535, 65536, 262144, 1000000};
  for (long d : delays) (void)otp::send_after(otp::self(), dec{static_cast<int>(d)}, ms(d));
  long now = 0;
  for (long d : delays) {
    tn->advance_time(ms(d - 1 - now));
    now = d - 1;
    ASSERT_TRUE(mailbox_empty()) << "timer " << d << " fired at " << now;
    tn->advance_time(1ms);
    now = d;
    auto m = otp::receive_as<dec>(otp::timeout::zero());
    ASSERT_TRUE(m.has_value()) << "timer " << d << " did not fire at " << d;
    EXPECT_EQ(m->t, d);
  }
}

TEST(timers, timers_14_6_equal_timeouts_in_creation_order_real_clock) {
  test_node tn(clock_kind::real);
  auto me = otp::self();
  otp::spawn([me] {
    for (int i = 0; i < 1000; ++i) (void)otp::send_after(me, same{i}, 5ms);
  });
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(recv<same>().i, i);
}

// ------------------------------------------------------------------ 14.7

TEST(timers, timers_14_7_large_delays_accepted) {
  test_node tn;
  auto r1 = otp::send_after(otp::self(), hello{}, ms(4294967295LL));
  auto r2 = otp::send_after(otp::self(), hello{}, ms(4294967296LL));
  auto r3 = otp::start_timer(otp::self(), hello{}, ms(10LL * 365 * 24 * 3600 * 1000));
  EXPECT_EQ(otp::read_timer(r1), std::optional<ms>(ms(4294967295LL)));
  EXPECT_EQ(otp::read_timer(r2), std::optional<ms>(ms(4294967296LL)));
  tn->advance_time(ms(24LL * 3600 * 1000));
  EXPECT_TRUE(mailbox_empty());
  EXPECT_EQ(otp::cancel_timer(r1), std::optional<ms>(ms(4294967295LL - 24LL * 3600 * 1000)));
  EXPECT_EQ(otp::cancel_timer(r2), std::optional<ms>(ms(4294967296LL - 24LL * 3600 * 1000)));
  EXPECT_TRUE(otp::cancel_timer(r3).has_value());
}

TEST(timers, timers_14_7_timer_of_exactly_2_pow_32_fires) {
  test_node tn;
  (void)otp::send_after(otp::self(), hello{}, ms(4294967296LL));
  tn->advance_time(ms(4294967295LL));
  EXPECT_TRUE(mailbox_empty());
  tn->advance_time(1ms);
  EXPECT_TRUE(otp::receive_as<hello>(otp::timeout::zero()).has_value());
}

// ------------------------------------------- beyond OTP: no timer thread
//
// Timers are fired by the schedulers between processes and by an idle
// scheduler that sleeps until the earliest deadline (timer_service.hpp).
// When every scheduler runs one long slice, a foreign thread's own
// timeouts still fire (it sleeps until its deadline and fires it itself),
// and so do timers aimed at it (the node's watchdog fires them).

struct started {};

TEST(timers, timeouts_fire_while_every_scheduler_runs_a_long_slice) {
  test_node tn(clock_kind::real);
  auto me = otp::self();
  std::atomic<bool> release{false};
  constexpr int busy = 2;  // one per scheduler
  for (int i = 0; i < busy; ++i) {
    otp::spawn([me, &release] {
      otp::send(me, started{});
      const auto cap = std::chrono::steady_clock::now() + std::chrono::seconds(20);
      while (!release.load(std::memory_order_acquire) && std::chrono::steady_clock::now() < cap) {
      }
      otp::send(me, release.load(std::memory_order_acquire));  // still spinning when released?
    });
  }
  for (int i = 0; i < busy; ++i) (void)recv<started>();
  EXPECT_FALSE(otp::receive_as<hello>(50ms).has_value()) << "receive ... after 50 returned a message";
  (void)otp::send_after(me, payload{7}, 20ms);
  EXPECT_EQ(recv<payload>().v, 7);
  release.store(true, std::memory_order_release);
  for (int i = 0; i < busy; ++i) EXPECT_TRUE(recv<bool>()) << "a busy process stopped before the timeouts fired";
}

}  // namespace
