// Conformance: local name registration (otp-semantics.md §9.1–9.3).
// Reference: ../shared/otp-reference/09_names.{exs,out}.

#include <algorithm>
#include <string>
#include <vector>

#include "support/test_node.hpp"

namespace {

using namespace otp_test;
using otp::exit_reason;

struct whoami {
  otp::pid self;
  std::optional<otp::pid> whereis;
  std::string registered_name;
};
struct ping {
  otp::pid from;
};
struct pong {
  otp::pid by;
};
struct body_ran {};

otp::spawn_options named(std::string n) {
  otp::spawn_options o;
  o.name = std::move(n);
  return o;
}

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

void pinger() {
  for (;;) {
    auto p = recv<ping>();
    otp::send(p.from, pong{otp::self()});
  }
}

// ------------------------------------------------------------------ 9.1

TEST(names, names_9_1_name_registered_before_body_runs) {
  test_node tn;
  auto me = otp::self();
  auto p = otp::spawn(
      [me] {
        auto info = otp::process_info(otp::self());
        otp::send(me, whoami{otp::self(), otp::whereis("local_n"), info ? info->registered_name : "<no info>"});
        idle();
      },
      named("local_n"));
  auto w = recv<whoami>();
  EXPECT_EQ(w.self, p);
  ASSERT_TRUE(w.whereis.has_value());
  EXPECT_EQ(*w.whereis, p);
  EXPECT_EQ(w.registered_name, "local_n");
}

TEST(names, names_9_1_whereis_and_registered) {
  test_node tn;
  auto p = otp::spawn([] { idle(); }, named("local_n"));
  auto w = otp::whereis("local_n");
  ASSERT_TRUE(w.has_value());
  EXPECT_EQ(*w, p);
  EXPECT_FALSE(otp::whereis("unknown").has_value());
  EXPECT_TRUE(contains(otp::registered(), "local_n"));
  EXPECT_FALSE(contains(otp::registered(), "unknown"));
  auto info = otp::process_info(p);
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->registered_name, "local_n");
}

TEST(names, names_9_1_send_by_name) {
  test_node tn;
  auto p = otp::spawn(pinger, named("pinger"));
  otp::send(std::string_view("pinger"), ping{otp::self()});
  EXPECT_EQ(recv<pong>().by, p);
  // From another process too.
  auto me = otp::self();
  otp::spawn([me] { otp::send(std::string_view("pinger"), ping{me}); });
  EXPECT_EQ(recv<pong>().by, p);
}

TEST(names, names_9_1_send_to_unregistered_name_throws_badarg) {
  test_node tn;
  EXPECT_THROW(otp::send(std::string_view("nobody_here"), ping{otp::self()}), otp::badarg);
  // In a process as well; the process is not killed by it.
  auto me = otp::self();
  auto pm = otp::spawn_monitor([me] {
    bool threw = false;
    try {
      otp::send(std::string_view("nobody_here"), 1);
    } catch (const otp::badarg&) {
      threw = true;
    }
    otp::send(me, threw);
  });
  EXPECT_TRUE(recv<bool>());
  EXPECT_EQ(await_down(pm.second).reason, exit_reason::normal());
}

TEST(names, names_9_1_register_and_unregister_explicitly) {
  test_node tn;
  auto p = otp::spawn(pinger);
  otp::register_name("late_name", p);
  auto w = otp::whereis("late_name");
  ASSERT_TRUE(w.has_value());
  EXPECT_EQ(*w, p);
  otp::send(std::string_view("late_name"), ping{otp::self()});
  EXPECT_EQ(recv<pong>().by, p);

  EXPECT_TRUE(otp::unregister("late_name"));
  EXPECT_FALSE(otp::unregister("late_name"));
  EXPECT_FALSE(otp::whereis("late_name").has_value());
  EXPECT_FALSE(contains(otp::registered(), "late_name"));
  auto info = otp::process_info(p);
  ASSERT_TRUE(info.has_value());
  EXPECT_TRUE(info->registered_name.empty());
  EXPECT_THROW(otp::send(std::string_view("late_name"), ping{otp::self()}), otp::badarg);
  EXPECT_TRUE(otp::is_alive(p)) << "unregister must not affect the process";
}

TEST(names, names_9_1_foreign_thread_can_be_registered) {
  test_node tn;
  otp::register_name("the_test", otp::self());
  auto w = otp::whereis("the_test");
  ASSERT_TRUE(w.has_value());
  EXPECT_EQ(*w, otp::self());
  otp::spawn([] { otp::send(std::string_view("the_test"), 7); });
  EXPECT_EQ(recv<int>(), 7);
  EXPECT_TRUE(otp::unregister("the_test"));
}

TEST(names, names_9_1_unregister_unknown_name_is_false) {
  test_node tn;
  EXPECT_FALSE(otp::unregister("never_registered"));
}

// ------------------------------------------------------------------ 9.2

TEST(names, names_9_2_one_name_per_process) {
  test_node tn;
  auto p = otp::spawn([] { idle(); }, named("first_name"));
  EXPECT_THROW(otp::register_name("second_name", p), otp::badarg);
  EXPECT_FALSE(otp::whereis("second_name").has_value());
  EXPECT_EQ(otp::whereis("first_name"), std::optional<otp::pid>(p));
  // Registering the same name again for the same process is also an error
  // (Erlang: register/2 raises badarg when the process already has a name).
  EXPECT_THROW(otp::register_name("first_name", p), otp::badarg);
}

TEST(names, names_9_2_taken_name_is_badarg) {
  test_node tn;
  auto owner = otp::spawn([] { idle(); }, named("taken"));
  auto other = otp::spawn([] { idle(); });
  EXPECT_THROW(otp::register_name("taken", other), otp::badarg);
  EXPECT_EQ(otp::whereis("taken"), std::optional<otp::pid>(owner));
  auto info = otp::process_info(other);
  ASSERT_TRUE(info.has_value());
  EXPECT_TRUE(info->registered_name.empty());
}

TEST(names, names_9_2_register_dead_pid_is_badarg) {
  test_node tn;
  auto d = dead_pid();
  EXPECT_THROW(otp::register_name("for_the_dead", d), otp::badarg);
  EXPECT_FALSE(otp::whereis("for_the_dead").has_value());
}

TEST(names, names_9_2_spawn_with_taken_name_never_runs_body) {
  test_node tn;
  auto me = otp::self();
  auto owner = otp::spawn([] { idle(); }, named("dup"));
  // The name is registered before the body runs, so the body of a second
  // process with the same name must never run. Whether spawn reports it by
  // throwing badarg or by a process that dies at once is not specified.
  std::optional<otp::pid> second;
  try {
    second = otp::spawn([me] { otp::send(me, body_ran{}); }, named("dup"));
  } catch (const otp::badarg&) {
  }
  if (second) {
    auto r = otp::monitor(*second);
    auto d = await_down(r);
    EXPECT_FALSE(d.reason.is_normal()) << "the duplicate-name process exited normally: " << d.reason.to_string();
  }
  EXPECT_TRUE(mailbox_empty()) << "the body of a process with a taken name ran";
  EXPECT_EQ(otp::whereis("dup"), std::optional<otp::pid>(owner));
}

// ------------------------------------------------------------------ 9.3

TEST(names, names_9_3_name_freed_on_death) {
  test_node tn;
  auto pm = otp::spawn_monitor([] { idle(); }, named("local_n"));
  otp::exit(pm.first, exit_reason::kill());
  EXPECT_EQ(await_down(pm.second).reason, exit_reason::killed());
  // Freed before the DOWN could be observed.
  EXPECT_FALSE(otp::whereis("local_n").has_value());
  EXPECT_FALSE(contains(otp::registered(), "local_n"));
  EXPECT_THROW(otp::send(std::string_view("local_n"), 1), otp::badarg);
  // And reusable at once.
  auto q = otp::spawn([] { idle(); }, named("local_n"));
  EXPECT_EQ(otp::whereis("local_n"), std::optional<otp::pid>(q));
}

TEST(names, names_9_3_name_freed_on_normal_exit_before_down_repeatedly) {
  test_node tn;
  for (int i = 0; i < 300; ++i) {
    auto pm = otp::spawn_monitor([] { (void)recv<go>(); }, named("churn"));
    otp::send(std::string_view("churn"), go{});
    ASSERT_EQ(await_down(pm.second).reason, exit_reason::normal());
    ASSERT_FALSE(otp::whereis("churn").has_value()) << "name still registered after DOWN, iteration " << i;
  }
}

TEST(names, names_9_3_freed_name_can_be_registered_explicitly) {
  test_node tn;
  auto pm = otp::spawn_monitor([] { otp::exit(exit_reason::other("bye")); }, named("reuse"));
  (void)await_down(pm.second);
  auto q = otp::spawn([] { idle(); });
  EXPECT_NO_THROW(otp::register_name("reuse", q));
  EXPECT_EQ(otp::whereis("reuse"), std::optional<otp::pid>(q));
}

}  // namespace
