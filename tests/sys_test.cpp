// Conformance: sys, the debug/introspection interface of gen_server
// (otp-semantics.md §10), and how servers are named (§9.1, §9.2, §9.4, §9.5).
// Reference: ../shared/otp-reference/10_sys.{exs,out}, 09_names.{exs,out},
// 16_misc (via contract).
//
// Not applicable here: §10.3 (a state `{error, X}` makes get_state raise:
// C++ states are typed values, there is no tuple to mistake for a failure)
// and the `{down, Vsn}` form of change_code's old_vsn (a string here).

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "otp/gen_server.hpp"
#include "otp/names.hpp"
#include "otp/sys.hpp"
#include "support/test_node.hpp"

namespace {

using namespace otp_test;
using otp::exit_reason;
namespace gs = otp::gen_server;
namespace sys = otp::sys;

// ------------------------------------------------------------ helpers

/// The exit reason `f` throws as `otp::exit_error`, or nullopt if it returns.
template <class F>
std::optional<exit_reason> exit_of(F&& f) {
  try {
    f();
  } catch (const otp::exit_error& e) {
    return e.reason();
  }
  return std::nullopt;
}

bool contains(std::string_view hay, std::string_view needle) { return hay.find(needle) != std::string_view::npos; }
bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }
bool ends_with(std::string_view s, std::string_view p) {
  return s.size() >= p.size() && s.substr(s.size() - p.size()) == p;
}

/// Lines written through the node's logger (sys traces, crash reports).
/// Shared with the sink, so it stays valid whatever is destroyed first.
struct log_capture {
  std::mutex mu;
  std::vector<std::string> lines;

  static std::shared_ptr<log_capture> install(otp::node& n) {
    auto c = std::make_shared<log_capture>();
    n.logger().set_sink([c](otp::log_level, std::string_view text) {
      std::lock_guard lk(c->mu);
      c->lines.emplace_back(text);
    });
    return c;
  }
  std::vector<std::string> dbg() {
    std::lock_guard lk(mu);
    std::vector<std::string> out;
    for (auto& l : lines)
      if (starts_with(l, "*DBG*")) out.push_back(l);
    return out;
  }
};

std::size_t queue_len(const otp::pid& p) {
  auto info = otp::process_info(p);
  return info ? info->message_queue_len : 0;
}

struct got_reason {
  exit_reason reason;
};
struct got_int {
  int who;
  int value;
};

// ------------------------------------------------------------ servers

// The reference server of 10_sys.exs (`Sy`): an int state.
struct sy {
  using state = int;
  struct get {
    using reply = int;
  };
  struct set {
    int v;
    using reply = int;
  };
  struct set_cast {
    int v;
  };

  otp::init_result<state> init(int s) { return otp::ok(s); }
  otp::call_result<int> handle_call(get, state& s) { return otp::reply(s); }
  otp::call_result<int> handle_call(set m, state& s) {
    s = m.v;
    return otp::reply(m.v);
  }
  otp::cast_result handle_cast(set_cast m, state& s) {
    s = m.v;
    return otp::noreply();
  }
};

// `Busy`: a cast that blocks inside its callback until it gets `go`.
struct busy {
  using state = int;
  struct block {};
  struct get {
    using reply = int;
  };
  otp::call_result<int> handle_call(get, state& s) { return otp::reply(s); }
  otp::cast_result handle_cast(block, state& s) {
    (void)otp::receive_as<go>();
    s = 7;
    return otp::noreply();
  }
};

// Records the order in which calls and casts are handled.
struct order_srv {
  using state = std::vector<int>;
  struct push {
    int v;
    using reply = int;  // the position the value got
  };
  struct push_cast {
    int v;
  };
  otp::call_result<int> handle_call(push m, state& s) {
    s.push_back(m.v);
    return otp::reply(static_cast<int>(s.size()));
  }
  otp::cast_result handle_cast(push_cast m, state& s) {
    s.push_back(m.v);
    return otp::noreply();
  }
};

// `SyFmt`: format_status rewrites the state get_status shows.
struct fmt_srv {
  using state = std::map<std::string, int>;
  otp::init_result<state> init(state s) { return otp::ok(std::move(s)); }
  std::string format_status(const state& s) { return "redacted:" + std::to_string(s.size()); }
};

// Code change: ok converts the state; a state whose `v` is negative refuses.
struct upgr {
  struct state {
    int v = 0;
    std::string from_vsn;
    std::string extra;
  };
  otp::init_result<state> init(int v) { return otp::ok(state{v, {}, {}}); }
  otp::code_change_result<state> code_change(std::string_view old_vsn, state& s, const otp::message& extra) {
    if (s.v < 0) return otp::stop(exit_reason::other("nope"));
    const std::string* e = extra.get_if<std::string>();
    return otp::ok(state{s.v * 10, std::string(old_vsn), e ? *e : std::string("<none>")});
  }
};

// terminate waits for `go`, then tells the observer which reason it got.
struct terminated {
  exit_reason reason;
};
struct term_srv {
  using state = otp::pid;  // the observer
  otp::init_result<state> init(otp::pid observer) { return otp::ok(std::move(observer)); }
  void terminate(const exit_reason& reason, state& observer) {
    (void)otp::receive_as<go>();
    otp::send(observer, terminated{reason});
  }
};

// Traps exits; terminate tells the observer its reason; a cast notes itself.
struct trap_srv {
  using state = otp::pid;  // the observer
  struct note {};
  otp::init_result<state> init(otp::pid observer) {
    otp::trap_exit(true);
    return otp::ok(std::move(observer));
  }
  otp::cast_result handle_cast(note, state& observer) {
    otp::send(observer, note{});
    return otp::noreply();
  }
  void terminate(const exit_reason& reason, state& observer) { otp::send(observer, terminated{reason}); }
};

}  // namespace

// ================================================================== 10.1

TEST(sys_10, item_10_1_get_state_returns_the_state) {
  test_node node;
  auto srv = gs::start<sy>(1, {.name = "sy"}).value();
  EXPECT_EQ(sys::get_state(srv), 1);
  EXPECT_EQ(sys::get_state(otp::server_ref<sy>("sy")), 1);
  gs::call(srv, sy::set{5});
  EXPECT_EQ(sys::get_state(srv), 5);
}

TEST(sys_10, item_10_1_get_state_waits_behind_a_running_callback) {
  test_node node;
  auto srv = gs::start<busy>().value();
  gs::cast(srv, busy::block{});
  auto me = otp::self();
  otp::spawn([me, srv] { otp::send(me, got_int{0, sys::get_state(srv, otp::infinity)}); });
  // The request is queued behind the callback, and not answered while it runs.
  ASSERT_TRUE(wait_until([&] { return queue_len(srv.get_pid()) >= 1; }));
  EXPECT_TRUE(mailbox_empty());
  otp::send(srv.get_pid(), go{});
  EXPECT_EQ(recv<got_int>().value, 7);  // the state the callback left
}

TEST(sys_10, item_10_1_get_state_timeout_reason) {
  test_node node;
  auto srv = gs::start<busy>().value();
  gs::cast(srv, busy::block{});
  auto me = otp::self();
  const std::size_t timers = node->pending_timers();
  otp::spawn([me, srv] {
    auto r = exit_of([&] { (void)sys::get_state(srv, std::chrono::milliseconds(100)); });
    otp::send(me, got_reason{r.value_or(exit_reason::other("returned"))});
  });
  ASSERT_TRUE(wait_for_timers(node, timers + 1));
  node->advance_time(std::chrono::milliseconds(100));
  exit_reason r = recv<got_reason>().reason;
  EXPECT_TRUE(r.is_wrapped()) << r.to_string();
  EXPECT_EQ(r.inner(), exit_reason::timeout());
  EXPECT_EQ(r.to_string(), "{timeout,{sys,get_state,[" + srv.get_pid().to_string() + ",100]}}");
  // 10q': once the callback is done it answers again (the late reply is dropped).
  otp::send(srv.get_pid(), go{});
  EXPECT_EQ(sys::get_state(srv), 7);
  EXPECT_TRUE(mailbox_empty());
}

TEST(sys_10, item_10_1_get_state_noproc_dead_pid_and_unknown_name) {
  test_node node;
  otp::pid dead = dead_pid();
  auto r = exit_of([&] { (void)sys::get_state(otp::server_ref<sy>(dead)); });
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->inner(), exit_reason::noproc());
  EXPECT_TRUE(starts_with(r->to_string(), "{noproc,{sys,get_state,[" + dead.to_string())) << r->to_string();

  auto n = exit_of([&] { (void)sys::get_state(otp::server_ref<sy>("nobody")); });
  ASSERT_TRUE(n.has_value());
  EXPECT_EQ(n->inner(), exit_reason::noproc());
  EXPECT_TRUE(starts_with(n->to_string(), "{noproc,{sys,get_state,[nobody")) << n->to_string();

  // Other sys functions fail the same way.
  auto s = exit_of([&] { (void)sys::get_status(dead); });
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->inner(), exit_reason::noproc());
  EXPECT_TRUE(starts_with(s->to_string(), "{noproc,{sys,get_status,[")) << s->to_string();
}

// ================================================================== 10.2

TEST(sys_10, item_10_2_replace_state_returns_and_installs_the_new_state) {
  test_node node;
  auto srv = gs::start<sy>(1).value();
  EXPECT_EQ(sys::replace_state(srv, [](const int& s) { return s + 1; }), 2);
  EXPECT_EQ(gs::call(srv, sy::get{}), 2);
  EXPECT_EQ(sys::get_state(srv), 2);
}

TEST(sys_10, item_10_2_replace_state_callback_failed_server_keeps_old_state) {
  test_node node;
  auto srv = gs::start<sy>(2).value();
  EXPECT_THROW((void)sys::replace_state(srv, [](const int&) -> int { throw std::runtime_error("no"); }),
               sys::callback_failed);
  try {
    (void)sys::replace_state(srv, [](const int&) -> int { throw std::runtime_error("no"); });
  } catch (const sys::callback_failed& e) {
    EXPECT_TRUE(contains(e.what(), "no")) << e.what();
  }
  EXPECT_TRUE(otp::is_alive(srv.get_pid()));
  EXPECT_EQ(sys::get_state(srv), 2);
  EXPECT_EQ(gs::call(srv, sy::get{}), 2);
}

// ================================================================== 10.4

TEST(sys_10, item_10_4_get_status_named_start_link_parent_is_caller) {
  test_node node;
  auto srv = gs::start_link<sy>(2, {.name = "sy"}).value();
  sys::status st = sys::get_status(srv.target());
  EXPECT_EQ(st.server, srv.get_pid());
  EXPECT_EQ(st.name, "sy");
  EXPECT_EQ(st.header(), "Status for generic server sy");
  EXPECT_TRUE(contains(st.module, "sy")) << st.module;
  EXPECT_FALSE(st.suspended);
  EXPECT_EQ(st.parent, otp::self());
  EXPECT_EQ(st.state, "2");
  EXPECT_TRUE(st.logged_events.empty());
  gs::stop(srv.target());
}

TEST(sys_10, item_10_4_get_status_start_parent_is_itself_and_unnamed_shows_pid) {
  test_node node;
  auto srv = gs::start<sy>(3).value();
  sys::status st = sys::get_status(srv.get_pid());
  EXPECT_EQ(st.parent, srv.get_pid());
  EXPECT_EQ(st.name, srv.get_pid().to_string());
  EXPECT_EQ(st.state, "3");
}

TEST(sys_10, item_10_4_get_status_parent_is_the_start_link_caller_process) {
  test_node node;
  auto me = otp::self();
  struct started {
    otp::pid parent, server, reported;
  };
  auto [p, m] = otp::spawn_monitor([me] {
    auto srv = gs::start_link<sy>(0).value();
    otp::send(me, started{otp::self(), srv.get_pid(), sys::get_status(srv.get_pid()).parent});
    (void)otp::receive_as<go>();
    gs::stop(srv.target());
  });
  auto s = recv<started>();
  EXPECT_EQ(s.reported, s.parent);
  EXPECT_NE(s.reported, s.server);
  otp::send(p, go{});
  EXPECT_TRUE(await_down(m).reason.is_normal());
}

TEST(sys_10, item_10_4_get_status_uses_format_status_get_state_raw) {
  test_node node;
  auto srv = gs::start<fmt_srv>(fmt_srv::state{{"a", 1}, {"b", 2}}).value();
  EXPECT_EQ(sys::get_status(srv.get_pid()).state, "redacted:2");
  auto raw = sys::get_state(srv);
  EXPECT_EQ(raw.size(), 2u);
  EXPECT_EQ(raw["b"], 2);
}

TEST(sys_10, item_10_4_get_status_suspended_flag_and_logged_events) {
  test_node node;
  auto srv = gs::start<sy>(0, {.debug = {.log = 10}}).value();
  gs::call(srv, sy::set{1});
  sys::suspend(srv.get_pid());
  sys::status st = sys::get_status(srv.get_pid());
  EXPECT_TRUE(st.suspended);
  EXPECT_EQ(st.logged_events.size(), 2u);  // got call, sent
  sys::resume(srv.get_pid());
  EXPECT_FALSE(sys::get_status(srv.get_pid()).suspended);
}

// ================================================================== 10.5

TEST(sys_10, item_10_5_suspend_queues_calls_and_casts_answered_in_order_after_resume) {
  test_node node;
  auto srv = gs::start<order_srv>().value();
  const otp::pid sp = srv.get_pid();
  sys::suspend(sp);
  auto me = otp::self();
  std::vector<otp::pid> clients;
  auto client = [&](int i) {
    clients.push_back(otp::spawn([me, srv, i] { otp::send(me, got_int{i, gs::call(srv, order_srv::push{i}, otp::infinity)}); }));
  };
  client(1);
  ASSERT_TRUE(wait_until([&] { return queue_len(sp) == 1; }));
  gs::cast(srv, order_srv::push_cast{100});
  ASSERT_TRUE(wait_until([&] { return queue_len(sp) == 2; }));
  client(2);
  ASSERT_TRUE(wait_until([&] { return queue_len(sp) == 3; }));
  client(3);
  ASSERT_TRUE(wait_until([&] { return queue_len(sp) == 4; }));

  // 10d'': system messages are still handled; nothing else has been.
  EXPECT_TRUE(sys::get_state(srv).empty());
  EXPECT_TRUE(sys::get_status(sp).suspended);
  EXPECT_TRUE(mailbox_empty());  // no call was answered

  sys::resume(sp);
  std::map<int, int> position;
  for (int k = 0; k < 3; ++k) {
    auto g = recv<got_int>();
    position[g.who] = g.value;
  }
  EXPECT_EQ(position[1], 1);
  EXPECT_EQ(position[2], 3);
  EXPECT_EQ(position[3], 4);
  EXPECT_EQ(sys::get_state(srv), (std::vector<int>{1, 100, 2, 3}));
  // 10e': resume when running is harmless.
  EXPECT_NO_THROW(sys::resume(sp));
  EXPECT_FALSE(sys::get_status(sp).suspended);
}

TEST(sys_10, item_10_5_call_times_out_while_suspended_then_is_handled_after_resume) {
  test_node node;
  auto srv = gs::start<sy>(2).value();
  sys::suspend(srv.get_pid());
  auto me = otp::self();
  const std::size_t timers = node->pending_timers();
  otp::spawn([me, srv] {
    auto r = exit_of([&] { (void)gs::call(srv, sy::set{9}, std::chrono::milliseconds(100)); });
    otp::send(me, got_reason{r.value_or(exit_reason::other("returned"))});
  });
  ASSERT_TRUE(wait_for_timers(node, timers + 1));
  node->advance_time(std::chrono::milliseconds(100));
  exit_reason r = recv<got_reason>().reason;
  EXPECT_EQ(r.inner(), exit_reason::timeout()) << r.to_string();
  EXPECT_TRUE(starts_with(r.to_string(), "{timeout,{gen_server,call,[")) << r.to_string();
  gs::cast(srv, sy::set_cast{42});
  EXPECT_EQ(sys::get_state(srv), 2);
  sys::resume(srv.get_pid());
  // 10e: the queued call then cast were processed in order.
  EXPECT_EQ(gs::call(srv, sy::get{}), 42);
}

TEST(sys_10, item_10_5_parent_exit_is_handled_while_suspended) {
  test_node node;
  auto cap = log_capture::install(node);  // the crash report of a non-normal reason
  struct started {
    otp::pid server;
  };
  auto me = otp::self();
  otp::pid parent = otp::spawn([me] {
    auto srv = gs::start_link<trap_srv>(me).value();
    otp::send(me, started{srv.get_pid()});
    (void)otp::receive_as<go>();
    otp::exit(exit_reason::other("parent_gone"));
  });
  const otp::pid sp = recv<started>().server;
  otp::ref m = otp::monitor(sp);
  sys::suspend(sp);
  gs::cast<trap_srv>(sp, trap_srv::note{});  // queued, never handled
  otp::send(parent, go{});
  // §10.5/§6.7: the trapped EXIT of the parent is handled even while suspended.
  EXPECT_EQ(recv<terminated>().reason, exit_reason::other("parent_gone"));
  EXPECT_EQ(await_down(m).reason, exit_reason::other("parent_gone"));
  EXPECT_TRUE(mailbox_empty());  // no note: the cast stayed queued
  node->logger().set_sink({});
}

// ================================================================== 10.6

TEST(sys_10, item_10_6_change_code_while_running_is_unknown_system_msg) {
  test_node node;
  auto srv = gs::start<upgr>(4).value();
  auto err = sys::change_code(srv.get_pid(), "v1", otp::message(std::string("extra")));
  ASSERT_TRUE(err.has_value());
  EXPECT_TRUE(contains(err->to_string(), "unknown_system_msg")) << err->to_string();
  auto st = sys::get_state(srv);
  EXPECT_EQ(st.v, 4);
  EXPECT_TRUE(st.from_vsn.empty());
}

TEST(sys_10, item_10_6_change_code_while_suspended_converts_the_state) {
  test_node node;
  auto srv = gs::start<upgr>(4).value();
  sys::suspend(srv.get_pid());
  auto err = sys::change_code(srv.get_pid(), "v1", otp::message(std::string("extra")));
  EXPECT_FALSE(err.has_value()) << err->to_string();
  auto st = sys::get_state(srv);
  EXPECT_EQ(st.v, 40);
  EXPECT_EQ(st.from_vsn, "v1");
  EXPECT_EQ(st.extra, "extra");
  // A second change, without extra.
  EXPECT_FALSE(sys::change_code(srv.get_pid(), "v2").has_value());
  EXPECT_EQ(sys::get_state(srv).v, 400);
  EXPECT_EQ(sys::get_state(srv).extra, "<none>");
  sys::resume(srv.get_pid());
  EXPECT_TRUE(otp::is_alive(srv.get_pid()));
}

TEST(sys_10, item_10_6_change_code_stop_returns_error_state_unchanged) {
  test_node node;
  auto srv = gs::start<upgr>(-1).value();
  sys::suspend(srv.get_pid());
  auto err = sys::change_code(srv.get_pid(), "v1", otp::message(std::string("x")));
  ASSERT_TRUE(err.has_value());
  EXPECT_TRUE(contains(err->to_string(), "nope")) << err->to_string();
  auto st = sys::get_state(srv);
  EXPECT_EQ(st.v, -1);
  EXPECT_TRUE(st.from_vsn.empty());
  sys::resume(srv.get_pid());
  EXPECT_TRUE(otp::is_alive(srv.get_pid()));
}

TEST(sys_10, item_10_6_change_code_without_callback_keeps_state) {
  test_node node;
  auto srv = gs::start<sy>(5).value();
  sys::suspend(srv.get_pid());
  EXPECT_FALSE(sys::change_code(srv.get_pid(), "v1").has_value());
  EXPECT_EQ(sys::get_state(srv), 5);
  sys::resume(srv.get_pid());
}

// ================================================================== 10.7

TEST(sys_10, item_10_7_statistics_counts_calls_casts_infos_and_replies) {
  test_node node;
  auto cap = log_capture::install(node);  // the unexpected info is logged
  auto srv = gs::start<sy>(0).value();
  EXPECT_FALSE(sys::get_statistics(srv.get_pid()).has_value());  // off by default
  sys::statistics(srv.get_pid(), true);
  gs::call(srv, sy::get{});
  gs::cast(srv, sy::set_cast{3});
  otp::send(srv.get_pid(), std::string("info_msg_not_handled?"));
  auto stats = sys::get_statistics(srv.get_pid());
  ASSERT_TRUE(stats.has_value());
  EXPECT_EQ(stats->messages_in, 3u);
  EXPECT_EQ(stats->messages_out, 1u);
  EXPECT_LE(stats->start_time, stats->current_time);
  sys::statistics(srv.get_pid(), false);
  EXPECT_FALSE(sys::get_statistics(srv.get_pid()).has_value());
  node->logger().set_sink({});
}

TEST(sys_10, item_10_7_statistics_from_the_start_option) {
  test_node node;
  auto srv = gs::start<sy>(0, {.debug = {.statistics = true}}).value();
  gs::call(srv, sy::set{1});
  gs::call(srv, sy::get{});
  auto stats = sys::get_statistics(srv.get_pid());
  ASSERT_TRUE(stats.has_value());
  EXPECT_EQ(stats->messages_in, 2u);
  EXPECT_EQ(stats->messages_out, 2u);
}

// ================================================================== 10.8

TEST(sys_10, item_10_8_log_get_returns_events) {
  test_node node;
  auto srv = gs::start<sy>(0).value();
  sys::log(srv.get_pid(), 10);
  gs::call(srv, sy::set{1});
  gs::cast(srv, sy::set_cast{2});
  auto events = sys::get_log(srv.get_pid());
  ASSERT_EQ(events.size(), 4u);  // {in,call} {out,reply} {in,cast} {noreply,state}
  const std::string me = otp::self().to_string();
  EXPECT_TRUE(starts_with(events[0], "got call ") && ends_with(events[0], " from " + me)) << events[0];
  EXPECT_EQ(events[1], "sent 1 to " + me + ", new state 1");
  EXPECT_TRUE(starts_with(events[2], "got cast ")) << events[2];
  EXPECT_EQ(events[3], "new state 2");
  EXPECT_EQ(sys::get_status(srv.get_pid()).logged_events, events);
}

TEST(sys_10, item_10_8_log_keeps_the_last_n_and_zero_turns_it_off) {
  test_node node;
  auto srv = gs::start<sy>(0).value();
  sys::log(srv.get_pid(), 2);
  for (int i = 1; i <= 3; ++i) gs::cast(srv, sy::set_cast{i});
  auto events = sys::get_log(srv.get_pid());
  ASSERT_EQ(events.size(), 2u);
  EXPECT_TRUE(starts_with(events[0], "got cast ")) << events[0];
  EXPECT_EQ(events[1], "new state 3");
  sys::log(srv.get_pid(), 0);
  gs::cast(srv, sy::set_cast{4});
  EXPECT_TRUE(sys::get_log(srv.get_pid()).empty());
}

// ================================================================== 10.9

TEST(sys_10, item_10_9_trace_prints_dbg_lines_for_call_sent_and_cast) {
  test_node node;
  auto cap = log_capture::install(node);
  auto srv = gs::start<sy>(2, {.name = "sy_traced"}).value();
  sys::trace(srv.get_pid(), true);
  EXPECT_EQ(gs::call(srv, sy::get{}), 2);
  gs::cast(srv, sy::set_cast{5});
  otp::send(srv.get_pid(), std::string("stray"));  // got <msg> (then logged as unexpected)
  sys::trace(srv.get_pid(), false);                // synchronises: everything above is printed
  gs::call(srv, sy::get{});                        // not traced
  auto dbg = cap->dbg();
  const std::string me = otp::self().to_string();
  ASSERT_GE(dbg.size(), 4u);
  EXPECT_TRUE(starts_with(dbg[0], "*DBG* sy_traced got call ") && ends_with(dbg[0], " from " + me)) << dbg[0];
  EXPECT_EQ(dbg[1], "*DBG* sy_traced sent 2 to " + me + ", new state 2");
  EXPECT_TRUE(starts_with(dbg[2], "*DBG* sy_traced got cast ")) << dbg[2];
  EXPECT_EQ(dbg[3], "*DBG* sy_traced new state 5");
  bool got_info = false;
  for (auto& l : dbg) got_info |= l == "*DBG* sy_traced got \"stray\"";
  EXPECT_TRUE(got_info);
  for (auto& l : dbg) EXPECT_FALSE(contains(l, "sent 5 ")) << "traced after trace(false): " << l;
  node->logger().set_sink({});
}

TEST(sys_10, item_10_9_trace_from_the_start_option) {
  test_node node;
  auto cap = log_capture::install(node);
  auto srv = gs::start<sy>(0, {.debug = {.trace = true}}).value();
  EXPECT_EQ(gs::call(srv, sy::get{}), 0);
  auto dbg = cap->dbg();
  const std::string me = otp::self().to_string();
  const std::string who = srv.get_pid().to_string();
  ASSERT_EQ(dbg.size(), 2u);
  EXPECT_TRUE(starts_with(dbg[0], "*DBG* " + who + " got call ") && ends_with(dbg[0], " from " + me)) << dbg[0];
  EXPECT_EQ(dbg[1], "*DBG* " + who + " sent 0 to " + me + ", new state 0");
  node->logger().set_sink({});
}

TEST(sys_10, item_10_9_no_debug_turns_trace_log_and_statistics_off) {
  test_node node;
  auto cap = log_capture::install(node);
  auto srv = gs::start<sy>(0, {.debug = {.trace = true, .log = 10, .statistics = true}}).value();
  gs::call(srv, sy::get{});
  EXPECT_EQ(cap->dbg().size(), 2u);
  sys::no_debug(srv.get_pid());
  gs::call(srv, sy::set{1});
  gs::cast(srv, sy::set_cast{2});
  EXPECT_EQ(sys::get_state(srv), 2);
  EXPECT_EQ(cap->dbg().size(), 2u);
  EXPECT_TRUE(sys::get_log(srv.get_pid()).empty());
  EXPECT_FALSE(sys::get_statistics(srv.get_pid()).has_value());
  node->logger().set_sink({});
}

// ================================================================== 10.10

TEST(sys_10, item_10_10_terminate_returns_first_then_terminate_runs_and_server_exits) {
  test_node node;
  auto cap = log_capture::install(node);  // the crash report of a non-normal reason
  auto srv = gs::start<term_srv>(otp::self()).value();
  const otp::pid sp = srv.get_pid();
  otp::ref m = otp::monitor(sp);
  sys::terminate(sp, exit_reason::other("bye"));
  // terminate is blocked waiting for `go`: the ok came first.
  EXPECT_TRUE(otp::is_alive(sp));
  EXPECT_TRUE(mailbox_empty());
  otp::send(sp, go{});
  EXPECT_EQ(recv<terminated>().reason, exit_reason::other("bye"));
  EXPECT_EQ(await_down(m).reason, exit_reason::other("bye"));
  EXPECT_FALSE(otp::is_alive(sp));
  node->logger().set_sink({});
}

TEST(sys_10, item_10_10_terminate_normal) {
  test_node node;
  auto srv = gs::start<term_srv>(otp::self(), {.name = "term_me"}).value();
  otp::ref m = otp::monitor(srv.get_pid());
  sys::terminate("term_me", exit_reason::normal());
  otp::send(srv.get_pid(), go{});
  EXPECT_TRUE(recv<terminated>().reason.is_normal());
  EXPECT_TRUE(await_down(m).reason.is_normal());
  EXPECT_FALSE(gs::whereis("term_me").has_value());
}

// ================================================================== names (§9)

namespace {

struct init_saw {
  std::optional<otp::pid> whereis;  // the name's holder as init saw it
  otp::pid self;
};

// A server that reports, from init, who holds its name.
struct probe {
  enum class init_mode { ok, stop, ignore, raise };
  struct args {
    otp::server_name name;
    otp::pid observer;
    init_mode mode = init_mode::ok;
  };
  using state = int;  // casts received
  struct get {
    using reply = int;
  };
  struct bump {};

  otp::init_result<state> init(args a) {
    otp::send(a.observer, init_saw{a.name.whereis(), otp::self()});
    switch (a.mode) {
      case init_mode::ok:
        return otp::ok(0);
      case init_mode::stop:
        return otp::stop(exit_reason::other("init_failed"));
      case init_mode::ignore:
        return otp::ignore();
      case init_mode::raise:
        break;
    }
    throw std::runtime_error("init boom");
  }
  otp::call_result<int> handle_call(get, state& n) { return otp::reply(n); }
  otp::cast_result handle_cast(bump, state& n) {
    ++n;
    return otp::noreply();
  }
};

/// Starts a probe named `n` (init reports to the caller).
otp::start_result<probe> start_probe(otp::server_name n, probe::init_mode mode = probe::init_mode::ok) {
  return gs::start<probe>(probe::args{n, otp::self(), mode}, {.name = n});
}

// A `{via, Module, Name}` registry that records how gen_server uses it.
class test_registry final : public otp::name_registry {
 public:
  struct reg_call {
    std::string key;
    otp::pid arg;     // the pid it was asked to register
    otp::pid caller;  // the process that asked
    bool result;
  };

  bool register_name(const std::string& key, const otp::pid& p) override {
    std::lock_guard lk(mu_);
    auto it = names_.find(key);
    bool free = it == names_.end() || !otp::is_alive(it->second);
    if (free) names_[key] = p;
    registers_.push_back({key, p, otp::self(), free});
    return free;
  }
  void unregister_name(const std::string& key) override {
    std::lock_guard lk(mu_);
    unregisters_.push_back(key);
    names_.erase(key);
  }
  std::optional<otp::pid> whereis_name(const std::string& key) override {
    std::lock_guard lk(mu_);
    ++lookups_;
    auto it = names_.find(key);
    if (it == names_.end() || !otp::is_alive(it->second)) return std::nullopt;  // forgets the dead itself
    return it->second;
  }
  std::string describe(const std::string& key) const override { return "{via,test_registry,\"" + key + "\"}"; }

  std::vector<reg_call> registers() {
    std::lock_guard lk(mu_);
    return registers_;
  }
  std::vector<std::string> unregisters() {
    std::lock_guard lk(mu_);
    return unregisters_;
  }

 private:
  std::mutex mu_;
  std::unordered_map<std::string, otp::pid> names_;
  std::vector<reg_call> registers_;
  std::vector<std::string> unregisters_;
  std::size_t lookups_ = 0;
};

}  // namespace

// ------------------------------------------------------------------ 9.1, 9.2

TEST(sys_names_9, item_9_1_local_name_registered_before_init_call_cast_stop_by_name) {
  test_node node;
  auto srv = start_probe("probe_local").value();
  auto saw = recv<init_saw>();
  ASSERT_TRUE(saw.whereis.has_value());
  EXPECT_EQ(*saw.whereis, saw.self);
  EXPECT_EQ(saw.self, srv.get_pid());
  EXPECT_EQ(otp::whereis("probe_local"), srv.get_pid());
  EXPECT_EQ(gs::whereis("probe_local"), srv.get_pid());
  gs::cast<probe>("probe_local", probe::bump{});
  EXPECT_EQ(gs::call<probe>("probe_local", probe::get{}), 1);
  EXPECT_EQ(otp::process_info(srv.get_pid())->registered_name, "probe_local");
  gs::stop("probe_local");
  EXPECT_FALSE(gs::whereis("probe_local").has_value());
  EXPECT_FALSE(otp::whereis("probe_local").has_value());
  auto r = exit_of([&] { (void)gs::call<probe>("probe_local", probe::get{}); });
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->inner(), exit_reason::noproc());
  EXPECT_FALSE(gs::whereis("never_registered").has_value());
}

TEST(sys_names_9, item_9_2_local_name_clash_is_already_started_and_init_never_runs) {
  test_node node;
  auto first = start_probe("probe_dup").value();
  (void)recv<init_saw>();
  auto second = start_probe("probe_dup");
  EXPECT_FALSE(second.ok());
  EXPECT_EQ(second.existing(), first.get_pid());
  EXPECT_EQ(second.error().to_string(), "{already_started," + first.get_pid().to_string() + "}");
  EXPECT_TRUE(mailbox_empty());  // the second init did not run
  // A name held by a plain process blocks a start too.
  otp::pid plain = otp::spawn([] { idle(); }, {.name = "plain_holder"});
  auto third = start_probe("plain_holder");
  EXPECT_FALSE(third.ok());
  EXPECT_EQ(third.existing(), plain);
}

// ------------------------------------------------------------------ 9.4

TEST(sys_names_9, item_9_4_global_name_call_whereis_clash_no_local_name_free_after_death) {
  test_node node;
  const std::string key = "sys_test_global_x";
  auto srv = start_probe(otp::global(key)).value();
  auto saw = recv<init_saw>();
  EXPECT_EQ(saw.whereis, srv.get_pid());  // registered before init
  EXPECT_EQ(gs::whereis(otp::global(key)), srv.get_pid());
  EXPECT_EQ(otp::global(key).whereis(), srv.get_pid());
  gs::cast<probe>(otp::global(key), probe::bump{});
  EXPECT_EQ(gs::call<probe>(otp::global(key), probe::get{}), 1);
  EXPECT_EQ(otp::process_info(srv.get_pid())->registered_name, "");  // no local name

  auto clash = start_probe(otp::global(key));
  EXPECT_FALSE(clash.ok());
  EXPECT_EQ(clash.existing(), srv.get_pid());
  EXPECT_TRUE(contains(clash.error().to_string(), "already_started")) << clash.error().to_string();
  EXPECT_TRUE(mailbox_empty());

  gs::stop(otp::global(key));
  EXPECT_FALSE(gs::whereis(otp::global(key)).has_value());
  auto again = start_probe(otp::global(key));
  ASSERT_TRUE(again.ok()) << again.error().to_string();
  (void)recv<init_saw>();
  EXPECT_EQ(gs::whereis(otp::global(key)), again.get_pid());
  gs::stop(again.get_pid());
}

TEST(sys_names_9, item_9_4_global_name_free_after_a_crash) {
  test_node node;
  auto cap = log_capture::install(node);
  const std::string key = "sys_test_global_crash";
  auto srv = start_probe(otp::global(key)).value();
  (void)recv<init_saw>();
  otp::ref m = otp::monitor(srv.get_pid());
  otp::exit(srv.get_pid(), exit_reason::kill());
  (void)await_down(m);
  EXPECT_FALSE(gs::whereis(otp::global(key)).has_value());
  auto again = start_probe(otp::global(key));
  EXPECT_TRUE(again.ok()) << again.error().to_string();
  node->logger().set_sink({});
}

// ------------------------------------------------------------------ 9.5

TEST(sys_names_9, item_9_5_via_register_name_runs_in_the_new_process_with_its_pid) {
  test_node node;
  test_registry reg;  // forgets its pids before the node goes
  auto srv = start_probe(otp::via(reg, "k1")).value();
  auto saw = recv<init_saw>();
  EXPECT_EQ(saw.whereis, srv.get_pid());  // registered before init
  auto regs = reg.registers();
  ASSERT_EQ(regs.size(), 1u);
  EXPECT_EQ(regs[0].key, "k1");
  EXPECT_EQ(regs[0].arg, srv.get_pid());
  EXPECT_EQ(regs[0].caller, srv.get_pid());  // called in the new process: pid == self()
  EXPECT_TRUE(regs[0].result);
  EXPECT_TRUE(reg.unregisters().empty());
  gs::stop(srv.get_pid());
}

TEST(sys_names_9, item_9_5_via_call_and_cast_through_the_registry) {
  test_node node;
  test_registry reg;
  auto srv = start_probe(otp::via(reg, "k2")).value();
  (void)recv<init_saw>();
  gs::cast<probe>(otp::via(reg, "k2"), probe::bump{});
  gs::cast<probe>(otp::via(reg, "k2"), probe::bump{});
  EXPECT_EQ(gs::call<probe>(otp::via(reg, "k2"), probe::get{}), 2);
  EXPECT_EQ(gs::whereis(otp::via(reg, "k2")), srv.get_pid());
  EXPECT_EQ(sys::get_state(otp::server_ref<probe>(otp::via(reg, "k2"))), 2);
  EXPECT_EQ(sys::get_status(otp::via(reg, "k2")).name, "{via,test_registry,\"k2\"}");
  // A missing name: cast swallows it, call is noproc.
  EXPECT_NO_THROW(gs::cast<probe>(otp::via(reg, "missing"), probe::bump{}));
  auto r = exit_of([&] { (void)gs::call<probe>(otp::via(reg, "missing"), probe::get{}); });
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->inner(), exit_reason::noproc());
  gs::stop(otp::via(reg, "k2"));
}

TEST(sys_names_9, item_9_5_via_unregister_only_when_init_fails) {
  test_node node;
  test_registry reg;
  auto cap = log_capture::install(node);  // init's exception is reported
  // init returns stop
  auto s = start_probe(otp::via(reg, "stop"), probe::init_mode::stop);
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.error(), exit_reason::other("init_failed"));
  (void)recv<init_saw>();
  EXPECT_EQ(reg.unregisters(), (std::vector<std::string>{"stop"}));
  // init returns ignore
  auto i = start_probe(otp::via(reg, "ignore"), probe::init_mode::ignore);
  EXPECT_TRUE(i.ignored());
  (void)recv<init_saw>();
  EXPECT_EQ(reg.unregisters(), (std::vector<std::string>{"stop", "ignore"}));
  // init throws
  auto x = start_probe(otp::via(reg, "raise"), probe::init_mode::raise);
  EXPECT_FALSE(x.ok());
  EXPECT_TRUE(x.error().is_exception()) << x.error().to_string();
  (void)recv<init_saw>();
  EXPECT_EQ(reg.unregisters(), (std::vector<std::string>{"stop", "ignore", "raise"}));

  // A server that started and then dies (normally or not) is not unregistered
  // by gen_server: the registry forgets it by itself.
  auto ok = start_probe(otp::via(reg, "lives")).value();
  (void)recv<init_saw>();
  gs::stop(ok.get_pid());
  auto crash = start_probe(otp::via(reg, "crashes")).value();
  (void)recv<init_saw>();
  otp::ref m = otp::monitor(crash.get_pid());
  otp::exit(crash.get_pid(), exit_reason::kill());
  (void)await_down(m);
  EXPECT_EQ(reg.unregisters(), (std::vector<std::string>{"stop", "ignore", "raise"}));
  EXPECT_FALSE(gs::whereis(otp::via(reg, "lives")).has_value());
  // ...and the key can be taken again.
  auto again = start_probe(otp::via(reg, "lives"));
  EXPECT_TRUE(again.ok()) << again.error().to_string();
  node->logger().set_sink({});
}

TEST(sys_names_9, item_9_5_via_clash_is_already_started_with_whereis_name_pid) {
  test_node node;
  test_registry reg;
  auto first = start_probe(otp::via(reg, "dup")).value();
  (void)recv<init_saw>();
  auto second = start_probe(otp::via(reg, "dup"));
  EXPECT_FALSE(second.ok());
  EXPECT_EQ(second.existing(), first.get_pid());
  EXPECT_EQ(second.existing(), reg.whereis_name("dup"));
  EXPECT_EQ(second.error().to_string(), "{already_started," + first.get_pid().to_string() + "}");
  EXPECT_TRUE(mailbox_empty());              // init did not run
  EXPECT_TRUE(reg.unregisters().empty());    // the name is not ours to remove
  auto regs = reg.registers();
  ASSERT_EQ(regs.size(), 2u);
  EXPECT_FALSE(regs[1].result);
  EXPECT_EQ(regs[1].caller, regs[1].arg);    // also asked from the new process
  EXPECT_EQ(gs::whereis(otp::via(reg, "dup")), first.get_pid());
}

