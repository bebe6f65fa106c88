// Conformance tests for Agent, §13.10 of ../shared/otp-semantics.md.
//
// Items not tested here, and why:
//  * "get_and_update returning something other than a 2-tuple stops the
//    agent with {bad_return_value, v}": unrepresentable in typed C++, the
//    function must return a std::pair<Reply, State> (a static_assert says so).
//  * `Agent.child_spec` (permanent): belongs with the supervisors, which are
//    being written in parallel; an agent's start result converts to a
//    supervisor's child_start through `raw()`.
//  * Exceptions carry no stack trace: `{exception, stack}` is `{Type,What}`.

#include <gtest/gtest.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "otp/agent.hpp"
#include "support/test_node.hpp"

using namespace otp_test;
using namespace std::chrono_literals;

namespace {
struct report {
  otp::exit_reason reason;
  bool flag = false;
  int value = 0;
};
bool has(const std::vector<otp::pid>& v, const otp::pid& p) { return std::find(v.begin(), v.end(), p) != v.end(); }
}  // namespace

TEST(agent, s13_10_start_link_get_update_get_and_update_cast) {
  test_node node;
  auto started = otp::agents::start_link([] { return 1; });
  ASSERT_TRUE(started.ok());
  otp::agent<int> a = started.value();
  EXPECT_TRUE(has(otp::process_info(otp::self())->links, a.get_pid())) << "linked";
  EXPECT_EQ(a.get([](int n) { return n * 10; }), 10);
  a.update([](int n) { return n + 1; });
  EXPECT_EQ(a.get([](const int& n) { return n; }), 2);
  std::string got = a.get_and_update([](int n) { return std::pair{std::to_string(n), n * 100}; });
  EXPECT_EQ(got, "2");
  EXPECT_EQ(a.get([](int n) { return n; }), 200);
  a.cast([](int n) { return n + 5; });
  EXPECT_EQ(a.get([](int n) { return n; }), 205) << "the cast is handled before the later get";
  a.update([](int& n) { n = -1; });  // in place
  EXPECT_EQ(a.get([](int n) { return n; }), -1);
  a.stop();
  EXPECT_FALSE(otp::is_alive(a.get_pid()));
}

TEST(agent, s13_10_move_only_state_and_functions_and_names) {
  test_node node;
  using state = std::unique_ptr<std::vector<int>>;
  auto started = otp::agent<state>::start([] { return std::make_unique<std::vector<int>>(); }, {.name = "store"});
  ASSERT_TRUE(started.ok());
  otp::agent<state> a("store");
  auto extra = std::make_unique<int>(7);
  a.update([e = std::move(extra)](state& s) { s->push_back(*e); });
  a.cast([](state s) {
    s->push_back(8);
    return s;
  });
  EXPECT_EQ(a.get([](const state& s) { return *s; }), (std::vector<int>{7, 8}));
  a.stop();
}

TEST(agent, s13_10_call_timeout_exits_with_gen_server_call_reason) {
  test_node node;
  otp::pid test = otp::self();
  auto a = otp::agents::start([] { return 0; }).value();
  otp::pid agent_pid = a.get_pid();
  otp::spawn([test, a] {
    report r;
    try {
      (void)a.get([](int n) {
        (void)recv<go>();  // blocks the agent
        return n;
      }, 100ms);
    } catch (const otp::exit_error& e) {
      r.reason = e.reason();
    }
    otp::send(test, r);
  });
  ASSERT_TRUE(wait_for_timers(node, 1));
  node->advance_time(100ms);
  auto r = recv<report>();
  EXPECT_EQ(r.reason.inner(), otp::exit_reason::timeout());
  EXPECT_EQ(r.reason.to_string().rfind("{timeout,{gen_server,call,[" + agent_pid.to_string() + ",", 0), 0u)
      << r.reason.to_string();
  EXPECT_NE(r.reason.to_string().find(",100]}}"), std::string::npos) << r.reason.to_string();
  otp::send(agent_pid, go{});
  EXPECT_EQ(a.get([](int n) { return n + 1; }), 1) << "the agent goes on";
  a.stop();
}

TEST(agent, s13_10_default_timeout_is_5000) {
  test_node node;
  otp::pid test = otp::self();
  auto a = otp::agents::start([] { return 0; }).value();
  otp::spawn([test, a] {
    report r;
    try {
      a.update([](int& n) {
        (void)recv<go>();
        ++n;
      });
    } catch (const otp::exit_error& e) {
      r.reason = e.reason();
    }
    otp::send(test, r);
  });
  ASSERT_TRUE(wait_for_timers(node, 1));
  node->advance_time(4999ms);
  EXPECT_TRUE(mailbox_empty());
  node->advance_time(1ms);
  auto r = recv<report>();
  EXPECT_NE(r.reason.to_string().find(",5000]}}"), std::string::npos) << r.reason.to_string();
  otp::send(a.get_pid(), go{});
  a.stop();
}

TEST(agent, s13_10_throwing_function_crashes_the_agent_and_the_caller_exits) {
  test_node node;
  for (int which = 0; which < 3; ++which) {
    auto a = otp::agents::start([] { return 0; }).value();
    otp::ref m = otp::monitor(a.get_pid());
    otp::exit_reason caller;
    try {
      if (which == 0) (void)a.get([](int) -> int { throw std::runtime_error("bad get"); });
      if (which == 1) a.update([](int) -> int { throw std::runtime_error("bad update"); });
      if (which == 2)
        (void)a.get_and_update([](int) -> std::pair<int, int> { throw std::runtime_error("bad get_and_update"); });
    } catch (const otp::exit_error& e) {
      caller = e.reason();
    }
    otp::exit_reason died = await_down(m).reason;
    EXPECT_TRUE(died.is_exception()) << died.to_string();
    EXPECT_TRUE(caller.is_wrapped());
    EXPECT_EQ(caller.inner(), died) << "{{exception},{gen_server,call,[...]}}";
    EXPECT_EQ(caller.to_string().rfind("{" + died.to_string() + ",{gen_server,call,[", 0), 0u) << caller.to_string();
  }
  // A throwing cast crashes it too.
  auto a = otp::agents::start([] { return 0; }).value();
  otp::ref m = otp::monitor(a.get_pid());
  a.cast([](int) -> int { throw std::runtime_error("bad cast"); });
  EXPECT_EQ(await_down(m).reason.what(), "bad cast");
  EXPECT_TRUE(mailbox_empty());
}

TEST(agent, s13_10_init_function_throwing_gives_an_error_start_result) {
  test_node node;
  auto r = otp::agents::start([]() -> int { throw std::runtime_error("no init"); });
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(r.error().is_exception());
  EXPECT_EQ(r.error().what(), "no init");
  EXPECT_THROW((void)r.value(), otp::exit_error);
  // start_link: the error is returned, and the link carries it (§1.9): a
  // trapping caller gets the EXIT.
  otp::pid test = otp::self();
  otp::spawn([test] {
    otp::trap_exit(true);
    auto r2 = otp::agents::start_link([]() -> int { throw std::runtime_error("no init"); });
    report rep;
    rep.flag = !r2.ok();
    rep.reason = r2.error();
    rep.value = otp::receive_as<otp::exit_msg>(0ms).has_value();
    otp::send(test, rep);
  });
  auto rep = recv<report>();
  EXPECT_TRUE(rep.flag);
  EXPECT_EQ(rep.reason.what(), "no init");
  EXPECT_EQ(rep.value, 1);
}

TEST(agent, s13_10_stop_with_reason_and_on_a_dead_agent) {
  test_node node;
  auto a = otp::agents::start([] { return 0; }).value();
  otp::ref m = otp::monitor(a.get_pid());
  a.stop(otp::exit_reason::shutdown());
  EXPECT_EQ(await_down(m).reason, otp::exit_reason::shutdown());
  try {
    a.stop();
    ADD_FAILURE() << "stop of a dead agent must throw";
  } catch (const otp::exit_error& e) {
    EXPECT_EQ(e.reason().inner(), otp::exit_reason::noproc()) << e.reason().to_string();
  }
  try {
    (void)a.get([](int n) { return n; });
    ADD_FAILURE() << "get on a dead agent must throw";
  } catch (const otp::exit_error& e) {
    EXPECT_EQ(e.reason().inner(), otp::exit_reason::noproc());
  }
}
