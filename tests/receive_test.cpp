// otp::receive: multi-clause selective receive with guards, catch-all and
// `after` (0, finite, infinity); receive_as / receive_if / receive_any;
// move-only and large (heap-stored) message types. Timeouts use the manual
// clock, except where a test says otherwise.

#include <array>
#include <cstdint>
#include <future>
#include <memory>
#include <thread>
#include <numeric>
#include <stdexcept>
#include <string>
#include <vector>

#include "support/test_node.hpp"

namespace {

using namespace otp_test;
using otp::exit_reason;

struct ping {};
struct report {
  std::string what;
};
struct pid_msg {
  otp::pid p;
};

// A move-only message.
struct owned {
  std::unique_ptr<int> v;
};
// Larger than the inline buffer: stored on the heap.
struct big {
  std::array<std::uint64_t, 512> a{};
};
// Small, but its move may throw: stored on the heap too.
struct throwing_move {
  int v = 0;
  throwing_move() = default;
  explicit throwing_move(int x) : v(x) {}
  throwing_move(const throwing_move&) = default;
  throwing_move(throwing_move&& o) noexcept(false) : v(o.v) {}
};
// Counts live instances to check that messages are destroyed.
struct counted {
  static inline std::atomic<int> live{0};
  int v = 0;
  explicit counted(int x) : v(x) { ++live; }
  counted(const counted& o) : v(o.v) { ++live; }
  counted(counted&& o) noexcept : v(o.v) { ++live; }
  ~counted() { --live; }
};
static_assert(!otp::detail::message_fits_inline<big>);
static_assert(!otp::detail::message_fits_inline<throwing_move>);
static_assert(otp::detail::message_fits_inline<owned>);

// ------------------------------------------------------------ clause choice

TEST(receive, receive_takes_first_matching_message_in_arrival_order) {
  test_node tn;
  auto me = otp::self();
  otp::send(me, 1.5);  // matches no clause
  otp::send(me, 1);
  otp::send(me, std::string("s"));
  auto first = otp::receive([](const std::string& s) { return "string:" + s; },
                            [](int n) { return "int:" + std::to_string(n); });
  EXPECT_EQ(first, "int:1");
  auto second = otp::receive([](const std::string& s) { return "string:" + s; },
                             [](int n) { return "int:" + std::to_string(n); });
  EXPECT_EQ(second, "string:s");
  auto left = otp::receive_as<double>(otp::timeout::zero());
  ASSERT_TRUE(left.has_value());
  EXPECT_EQ(*left, 1.5);
  EXPECT_TRUE(mailbox_empty());
}

TEST(receive, receive_first_matching_clause_handles_the_message) {
  test_node tn;
  auto me = otp::self();
  auto run = [] {
    return otp::receive(otp::when([](const int& n) { return n > 3; }, [](int) { return std::string("big"); }),
                        [](int) { return std::string("any int"); });
  };
  otp::send(me, 5);
  EXPECT_EQ(run(), "big");
  otp::send(me, 2);
  EXPECT_EQ(run(), "any int");
  // Plain clause first: it always wins.
  otp::send(me, 5);
  EXPECT_EQ(otp::receive([](int) { return std::string("any int"); },
                         otp::when([](const int& n) { return n > 3; }, [](int) { return std::string("big"); })),
            "any int");
}

TEST(receive, receive_guard_skips_values_and_keeps_them_in_order) {
  test_node tn;
  auto me = otp::self();
  for (int v : {1, 2, 5, 3, 7}) otp::send(me, v);
  int got = otp::receive(otp::when([](const int& n) { return n > 3; }, [](int n) { return n; }));
  EXPECT_EQ(got, 5);
  std::vector<int> rest;
  while (auto v = otp::receive_as<int>(otp::timeout::zero())) rest.push_back(*v);
  EXPECT_EQ(rest, (std::vector<int>{1, 2, 3, 7}));
}

TEST(receive, receive_guard_with_captured_state) {
  test_node tn;
  auto me = otp::self();
  auto wanted = otp::make_ref();
  otp::send(me, otp::make_ref());
  otp::send(me, wanted);
  auto r = otp::receive(otp::when([wanted](const otp::ref& r) { return r == wanted; }, [](otp::ref r) { return r; }));
  EXPECT_EQ(r, wanted);
  EXPECT_TRUE(otp::receive_as<otp::ref>(otp::timeout::zero()).has_value());
}

TEST(receive, receive_catch_all_takes_any_type) {
  test_node tn;
  otp::send(otp::self(), 2.5);
  bool is_double = false;
  std::string name;
  otp::receive([&](otp::message& m) {
    is_double = m.is<double>();
    name = m.type_name();
  });
  EXPECT_TRUE(is_double);
  EXPECT_EQ(name, "double");
}

TEST(receive, receive_catch_all_respects_arrival_order_over_clause_order) {
  test_node tn;
  auto me = otp::self();
  otp::send(me, 1.0);
  otp::send(me, 7);
  auto r = otp::receive([](int) { return std::string("int"); }, [](otp::message&) { return std::string("any"); });
  EXPECT_EQ(r, "any") << "the double arrived first and the catch-all matches it";
  EXPECT_EQ(otp::receive_as<int>(otp::timeout::zero()), std::optional<int>(7));
}

TEST(receive, receive_guarded_catch_all) {
  test_node tn;
  auto me = otp::self();
  otp::send(me, std::string("skip me"));
  otp::send(me, 3);
  int got = otp::receive(otp::when([](const otp::message& m) { return m.is<int>(); },
                                   [](otp::message& m) { return m.get<int>(); }));
  EXPECT_EQ(got, 3);
  EXPECT_EQ(otp::receive_as<std::string>(otp::timeout::zero()), std::optional<std::string>("skip me"));
}

TEST(receive, receive_result_is_common_type_of_clauses) {
  test_node tn;
  otp::send(otp::self(), std::string("four"));
  auto r = otp::receive([](int n) -> long { return n; }, [](const std::string& s) -> int { return (int)s.size(); });
  static_assert(std::is_same_v<decltype(r), long>);
  EXPECT_EQ(r, 4);
}

TEST(receive, receive_void_clauses) {
  test_node tn;
  int seen = 0;
  otp::send(otp::self(), 9);
  otp::receive([&](int n) { seen = n; }, [&](const std::string&) { seen = -1; });
  EXPECT_EQ(seen, 9);
  otp::receive([&](int n) { seen = n; }, otp::after(otp::timeout::zero(), [&] { seen = 100; }));
  EXPECT_EQ(seen, 100);
}

TEST(receive, receive_many_clause_types) {
  test_node tn;
  auto me = otp::self();
  otp::send(me, ping{});
  otp::send(me, 'c');
  otp::send(me, 3u);
  otp::send(me, std::vector<int>{1, 2});
  otp::send(me, report{"r"});
  std::string seen;
  for (int i = 0; i < 5; ++i) {
    seen += otp::receive([](const report&) { return std::string("R"); }, [](char) { return std::string("C"); },
                         [](unsigned) { return std::string("U"); }, [](const std::vector<int>&) { return std::string("V"); },
                         [](ping) { return std::string("P"); });
  }
  EXPECT_EQ(seen, "PCUVR");
}

TEST(receive, receive_clause_exception_propagates_and_message_is_consumed) {
  test_node tn;
  otp::send(otp::self(), 1);
  EXPECT_THROW(otp::receive([](int) -> int { throw std::runtime_error("in clause"); }), std::runtime_error);
  EXPECT_TRUE(mailbox_empty());
}

TEST(receive, receive_nested_inside_a_clause) {
  test_node tn;
  auto me = otp::self();
  otp::send(me, std::string("a"));
  otp::send(me, std::string("b"));
  otp::send(me, 3);
  int inner = 0;
  auto outer = otp::receive([&](const std::string& s) {
    inner = otp::receive_as<int>(otp::timeout::zero()).value_or(-1);
    return s;
  });
  EXPECT_EQ(outer, "a");
  EXPECT_EQ(inner, 3);
  EXPECT_EQ(otp::receive_as<std::string>(otp::timeout::zero()), std::optional<std::string>("b"));
  EXPECT_TRUE(mailbox_empty());
}

TEST(receive, receive_matches_exact_type_only) {
  test_node tn;
  otp::send(otp::self(), 1);  // int
  EXPECT_FALSE(otp::receive_as<long>(otp::timeout::zero()).has_value());
  EXPECT_FALSE(otp::receive_as<unsigned>(otp::timeout::zero()).has_value());
  EXPECT_FALSE(otp::receive_as<short>(otp::timeout::zero()).has_value());
  EXPECT_EQ(otp::receive_as<int>(otp::timeout::zero()), std::optional<int>(1));
  otp::send(otp::self(), "literal");  // decays to const char*
  EXPECT_FALSE(otp::receive_as<std::string>(otp::timeout::zero()).has_value());
  EXPECT_TRUE(otp::receive_as<const char*>(otp::timeout::zero()).has_value());
}

// ------------------------------------------------------------------ after

TEST(receive, receive_after_zero_runs_timeout_when_nothing_matches) {
  test_node tn;
  otp::send(otp::self(), std::string("not an int"));
  auto r = otp::receive([](int) { return 1; }, otp::after(otp::timeout::zero(), [] { return 2; }));
  EXPECT_EQ(r, 2);
  EXPECT_EQ(otp::receive_as<std::string>(otp::timeout::zero()), std::optional<std::string>("not an int"));
}

TEST(receive, receive_after_zero_prefers_a_queued_match) {
  test_node tn;
  otp::send(otp::self(), 3);
  auto r = otp::receive([](int n) { return n; }, otp::after(otp::timeout::zero(), [] { return -1; }));
  EXPECT_EQ(r, 3);
}

TEST(receive, receive_after_fires_when_due_manual_clock) {
  test_node tn;
  auto me = otp::self();
  otp::spawn([me] {
    auto r = otp::receive([](int) { return std::string("msg"); }, otp::after(100ms, [] { return std::string("timeout"); }));
    otp::send(me, report{r});
  });
  ASSERT_TRUE(wait_for_timers(tn, 1));
  tn->advance_time(99ms);
  EXPECT_EQ(tn->pending_timers(), 1u) << "the receive timeout fired early";
  tn->advance_time(1ms);
  ASSERT_TRUE(wait_until([&] { return tn->pending_timers() == 0; })) << "the receive timeout did not fire when due";
  EXPECT_EQ(recv<report>().what, "timeout");
}

TEST(receive, receive_after_message_cancels_the_timeout) {
  test_node tn;
  auto me = otp::self();
  auto p = otp::spawn([me] {
    auto clause = [](int) { return std::string("msg"); };
    otp::send(me, report{otp::receive(clause, otp::after(100ms, [] { return std::string("timeout"); }))});
    (void)recv<go>();
    otp::send(me, report{otp::receive(clause, otp::after(100ms, [] { return std::string("timeout"); }))});
  });
  ASSERT_TRUE(wait_for_timers(tn, 1));
  tn->advance_time(50ms);
  otp::send(p, 1);
  EXPECT_EQ(recv<report>().what, "msg");
  EXPECT_EQ(tn->pending_timers(), 0u) << "the first receive's timer is still armed";
  otp::send(p, go{});
  ASSERT_TRUE(wait_for_timers(tn, 1));  // second receive, due at t=150
  tn->advance_time(50ms);  // t=100: the first (cancelled) timeout would have been due now
  otp::send(p, 2);
  EXPECT_EQ(recv<report>().what, "msg") << "a stale timeout ended the second receive";
}

TEST(receive, receive_after_not_reset_by_non_matching_messages) {
  test_node tn;
  auto me = otp::self();
  auto p = otp::spawn([me] {
    auto r = otp::receive([](int) { return std::string("msg"); }, otp::after(100ms, [] { return std::string("timeout"); }));
    otp::send(me, report{r});
  });
  ASSERT_TRUE(wait_for_timers(tn, 1));
  tn->advance_time(50ms);
  otp::send(p, std::string("not an int"));  // wakes p, matches nothing
  otp::send(p, 2.5);
  // Still one timer, and still due at t=100 (not restarted at t=50).
  EXPECT_TRUE(otp::process_info(p).has_value());  // p has seen both messages
  EXPECT_EQ(tn->pending_timers(), 1u);
  tn->advance_time(50ms);
  ASSERT_TRUE(wait_until([&] { return tn->pending_timers() == 0; })) << "the timeout was restarted by a non-matching message";
  EXPECT_EQ(recv<report>().what, "timeout");
}

TEST(receive, foreign_thread_receive_timeout_on_manual_clock) {
  test_node tn;
  std::optional<int> got = 42;
  std::promise<otp::pid> pid_p;
  auto pid_f = pid_p.get_future();
  std::thread t([&] {
    pid_p.set_value(otp::self());
    got = otp::receive_as<int>(100ms);
  });
  auto other = pid_f.get();
  bool armed = wait_for_timers(tn, 1);
  if (armed) {
    tn->advance_time(99ms);
    EXPECT_EQ(tn->pending_timers(), 1u);
    tn->advance_time(1ms);
    armed = wait_until([&] { return tn->pending_timers() == 0; });
  }
  if (!armed) otp::send(other, -1);  // unblock the thread so that it can be joined
  t.join();
  ASSERT_TRUE(armed) << "the foreign thread's receive timeout was not armed / did not fire";
  EXPECT_FALSE(got.has_value());
}

TEST(receive, timer_wakes_a_foreign_thread_blocked_in_receive) {
  test_node tn;
  std::promise<otp::pid> pid_p;
  auto pid_f = pid_p.get_future();
  int got = 0;
  std::thread t([&] {
    pid_p.set_value(otp::self());
    got = recv<int>();
  });
  auto other = pid_f.get();
  (void)otp::send_after(other, 17, 10ms);
  tn->advance_time(10ms);
  t.join();
  EXPECT_EQ(got, 17);
}

TEST(receive, receive_after_infinity_arms_no_timer) {
  test_node tn;
  auto me = otp::self();
  auto p = otp::spawn([me] {
    otp::send(me, report{"ready"});
    auto r = otp::receive([](int) { return std::string("msg"); }, otp::after(otp::infinity, [] { return std::string("timeout"); }));
    otp::send(me, report{r});
  });
  EXPECT_EQ(recv<report>().what, "ready");
  // Answered at p's next scheduling point: inside the receive.
  ASSERT_TRUE(otp::process_info(p).has_value());
  EXPECT_EQ(tn->pending_timers(), 0u);
  tn->advance_time(std::chrono::hours(24 * 365));
  otp::send(p, 1);
  EXPECT_EQ(recv<report>().what, "msg");
}

TEST(receive, receive_as_and_receive_if_timeouts_manual_clock) {
  test_node tn;
  auto me = otp::self();
  otp::spawn([me] {
    auto a = otp::receive_as<int>(30ms);
    auto b = otp::receive_if<int>([](const int& n) { return n == 42; }, 30ms);
    otp::send(me, report{std::string(a ? "a" : "-") + (b ? "b" : "-")});
  });
  ASSERT_TRUE(wait_for_timers(tn, 1));
  tn->advance_time(30ms);
  ASSERT_TRUE(wait_for_timers(tn, 1));
  tn->advance_time(30ms);
  EXPECT_EQ(recv<report>().what, "--");
}

TEST(receive, receive_after_real_clock_waits_at_least_the_timeout) {
  test_node tn(clock_kind::real);
  auto t0 = std::chrono::steady_clock::now();
  bool timed_out = otp::receive([](int) { return false; }, otp::after(30ms, [] { return true; }));
  auto elapsed = std::chrono::steady_clock::now() - t0;
  EXPECT_TRUE(timed_out);
  EXPECT_GE(elapsed, 30ms);
  EXPECT_LT(elapsed, 5s);
  // And in a process.
  auto me = otp::self();
  otp::spawn([me] {
    auto s = std::chrono::steady_clock::now();
    (void)otp::receive_as<int>(20ms);
    otp::send(me, std::chrono::steady_clock::now() - s);
  });
  EXPECT_GE(recv<std::chrono::steady_clock::duration>(), 20ms);
}

// ------------------------------------------------- receive_as / _if / _any

TEST(receive, receive_as_takes_first_of_type_leaves_others) {
  test_node tn;
  auto me = otp::self();
  otp::send(me, std::string("x"));
  otp::send(me, 4);
  otp::send(me, 5);
  EXPECT_EQ(otp::receive_as<int>(otp::timeout::zero()), std::optional<int>(4));
  EXPECT_EQ(otp::receive_as<int>(otp::timeout::zero()), std::optional<int>(5));
  EXPECT_EQ(otp::receive_as<int>(otp::timeout::zero()), std::nullopt);
  EXPECT_EQ(otp::receive_as<std::string>(otp::timeout::zero()), std::optional<std::string>("x"));
}

TEST(receive, receive_if_selects_by_predicate) {
  test_node tn;
  auto me = otp::self();
  for (int v : {1, 10, 2, 20}) otp::send(me, v);
  EXPECT_EQ(otp::receive_if<int>([](const int& n) { return n >= 10; }, otp::timeout::zero()), std::optional<int>(10));
  EXPECT_EQ(otp::receive_if<int>([](const int& n) { return n >= 10; }, otp::timeout::zero()), std::optional<int>(20));
  EXPECT_EQ(otp::receive_if<int>([](const int& n) { return n >= 10; }, otp::timeout::zero()), std::nullopt);
  EXPECT_EQ(otp::receive_as<int>(otp::timeout::zero()), std::optional<int>(1));
  EXPECT_EQ(otp::receive_as<int>(otp::timeout::zero()), std::optional<int>(2));
}

TEST(receive, receive_any_takes_oldest) {
  test_node tn;
  auto me = otp::self();
  otp::send(me, 1);
  otp::send(me, std::string("two"));
  auto a = otp::receive_any(otp::timeout::zero());
  auto b = otp::receive_any(otp::timeout::zero());
  ASSERT_TRUE(a && b);
  EXPECT_TRUE(a->is<int>());
  EXPECT_TRUE(b->is<std::string>());
  EXPECT_EQ(b->get<std::string>(), "two");
  EXPECT_FALSE(otp::receive_any(otp::timeout::zero()).has_value());
}

TEST(receive, foreign_thread_waits_for_a_message_from_a_process) {
  test_node tn;
  auto me = otp::self();
  auto p = otp::spawn([me] {
    (void)recv<go>();
    otp::send(me, report{"late"});
  });
  otp::send(p, go{});
  EXPECT_EQ(recv<report>().what, "late");
}

// ----------------------------------------------------- message types

TEST(receive, receive_move_only_messages) {
  test_node tn;
  auto me = otp::self();
  otp::send(me, std::make_unique<int>(5));
  auto p = otp::receive_as<std::unique_ptr<int>>(otp::timeout::zero());
  ASSERT_TRUE(p.has_value() && *p);
  EXPECT_EQ(**p, 5);

  otp::send(me, std::make_unique<int>(6));
  int v = otp::receive([](std::unique_ptr<int>& q) { return *q; });
  EXPECT_EQ(v, 6);

  otp::send(me, std::make_unique<int>(7));
  std::unique_ptr<int> kept;
  otp::receive([&](std::unique_ptr<int>&& q) { kept = std::move(q); });
  ASSERT_TRUE(kept);
  EXPECT_EQ(*kept, 7);

  // Through a process: the receiver owns the value.
  auto echo = otp::spawn([me] {
    auto o = recv<owned>();
    *o.v += 1;
    otp::send(me, std::move(o));
  });
  otp::send(echo, owned{std::make_unique<int>(41)});
  auto back = recv<owned>();
  ASSERT_TRUE(back.v);
  EXPECT_EQ(*back.v, 42);
}

TEST(receive, receive_large_heap_messages) {
  test_node tn;
  auto me = otp::self();
  auto p = otp::spawn([me] {
    auto b = recv<big>();
    otp::send(me, std::accumulate(b.a.begin(), b.a.end(), std::uint64_t{0}));
    auto t = recv<throwing_move>();
    otp::send(me, t.v);
    auto v = recv<std::vector<int>>();
    otp::send(me, static_cast<std::uint64_t>(v.size()));
  });
  big b;
  for (std::size_t i = 0; i < b.a.size(); ++i) b.a[i] = i;
  otp::send(p, b);
  EXPECT_EQ(recv<std::uint64_t>(), 511u * 512u / 2);
  otp::send(p, throwing_move(17));
  EXPECT_EQ(recv<int>(), 17);
  otp::send(p, std::vector<int>(1000000, 1));
  EXPECT_EQ(recv<std::uint64_t>(), 1000000u);
}

TEST(receive, receive_moves_not_copies) {
  test_node tn;
  auto me = otp::self();
  std::vector<int> v(100000, 3);
  const int* data = v.data();
  auto p = otp::spawn([me] {
    auto got = recv<std::vector<int>>();
    otp::send(me, reinterpret_cast<std::uintptr_t>(got.data()));
  });
  otp::send(p, std::move(v));
  EXPECT_EQ(recv<std::uintptr_t>(), reinterpret_cast<std::uintptr_t>(data));
}

TEST(receive, messages_destroyed_when_dropped_or_consumed) {
  {
    test_node tn;
    counted::live = 0;
    auto me = otp::self();
    otp::send(me, counted(1));
    otp::send(me, counted(2));
    (void)recv<counted>();
    EXPECT_EQ(counted::live.load(), 1) << "one still queued";
    auto d = dead_pid();
    otp::send(d, counted(3));  // dropped
    EXPECT_EQ(counted::live.load(), 1);
    auto q = otp::spawn([] { idle(); });
    for (int i = 0; i < 10; ++i) otp::send(q, counted(i));
    otp::exit(q, exit_reason::kill());
    (void)wait_dead(q);
  }
  // Everything queued in dead processes and in the test body's mailbox is
  // gone once the node is.
  EXPECT_EQ(counted::live.load(), 0);
}

// ------------------------------------------------- otp::message itself

TEST(receive, message_envelope_basics) {
  otp::message empty;
  EXPECT_TRUE(empty.empty());
  otp::message m(42);
  EXPECT_FALSE(m.empty());
  EXPECT_TRUE(m.is<int>());
  EXPECT_FALSE(m.is<long>());
  EXPECT_EQ(*m.get_if<int>(), 42);
  EXPECT_EQ(m.get_if<long>(), nullptr);
  EXPECT_EQ(m.type_name(), "int");
  otp::message moved(std::move(m));
  EXPECT_TRUE(m.empty());  // NOLINT(bugprone-use-after-move): documented
  EXPECT_EQ(moved.get<int>(), 42);
  big b;
  b.a[3] = 9;
  otp::message h(b);
  otp::message h2 = std::move(h);
  EXPECT_EQ(h2.get<big>().a[3], 9u);
  h2.reset();
  EXPECT_TRUE(h2.empty());
}

}  // namespace

// A clause taking a move-only message by value (or by rvalue reference)
// gets it moved out of the mailbox; by-reference clauses see it in place.
TEST(receive, move_only_message_taken_by_value) {
  otp_test::test_node tn;
  otp::send(otp::self(), std::make_unique<int>(7));
  otp::send(otp::self(), std::make_unique<int>(8));
  int by_value = otp::receive([](std::unique_ptr<int> p) { return *p; });
  int by_rvalue = otp::receive([](std::unique_ptr<int>&& p) { return *p; });
  EXPECT_EQ(by_value, 7);
  EXPECT_EQ(by_rvalue, 8);
}
