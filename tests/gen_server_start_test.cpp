// Conformance tests for gen_server §1 (start / start_link / start_monitor /
// init) of ../shared/otp-semantics.md, one test per applicable item.
//
// Items not tested here, and why:
//  * 1.3 (part): the proc_lib dictionary ($ancestors, $initial_call) has no
//    C++ counterpart; only "the link exists before init runs" is tested.
//  * 1.11 (part): `throw(v)` as init's return value is Erlang's non-local
//    return; a C++ throw is an exception (tested as such).
//  * 1.12 (part): garbage / malformed tuples cannot be returned (init_result
//    is typed); only the representable bad value, a negative timeout, is.
//  * 1.15: invalid :name shapes are unrepresentable (server_name is typed).
//  * 1.16 (part): spawn_opt priority / min_heap_size do not exist; the
//    stack_size option, their counterpart, is tested.
//  * 1.19: enter_loop has no counterpart (servers are always started by
//    start*).

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <string>
#include <vector>

#include "otp/gen_server.hpp"
#include "otp/sys.hpp"
#include "support/test_node.hpp"

using namespace otp_test;
using namespace std::chrono_literals;
namespace gs = otp::gen_server;

namespace {

// ------------------------------------------------------------------ helpers

/// What a starter process reports about its start call.
struct start_report {
  bool ok = false;
  bool ignored = false;
  otp::exit_reason error;
  otp::pid existing;
  otp::pid server;
};
template <class S>
start_report report_of(const otp::start_result<S>& r) {
  return start_report{r.ok(), r.ignored(), r.error(), r.existing(), r.get_pid()};
}
struct survived {
  std::vector<otp::pid> links;
  std::size_t queued = 0;
  std::vector<otp::exit_reason> exits;  // trapped EXITs found in the mailbox
};
struct child_is {
  otp::pid pid;
};
struct links_seen {
  std::vector<otp::pid> links;
};
struct init_ran {};
struct terminate_ran {
  otp::exit_reason reason;
};
struct continue_ran {};
struct info_ran {};
struct timed_out {};

bool contains(const std::vector<otp::pid>& v, const otp::pid& p) { return std::find(v.begin(), v.end(), p) != v.end(); }

/// Drains the caller's mailbox and says what was found.
survived inspect_self() {
  survived s;
  s.links = otp::process_info(otp::self())->links;
  for (auto& m : drain()) {
    ++s.queued;
    if (auto* e = m.get_if<otp::exit_msg>()) s.exits.push_back(e->reason);
  }
  return s;
}

// ------------------------------------------------------------------ servers

/// init → ok; answers ping; reports its links from init.
struct basic {
  struct state {
    otp::pid test;
  };
  struct ping {
    using reply = int;
  };
  otp::init_result<state> init(otp::pid test) {
    if (test) otp::send(test, links_seen{otp::process_info(otp::self())->links});
    return otp::ok(state{test});
  }
  otp::call_result<int> handle_call(ping, const otp::from&, state&) { return otp::reply(42); }
};

/// init → stop(reason); terminate reports (it must not run, §1.20).
struct stopper {
  struct args {
    otp::pid test;
    otp::exit_reason reason;
    bool tell_starter = false;  // send the server's pid to the starter first
    otp::pid starter;
  };
  struct state {
    otp::pid test;
  };
  otp::init_result<state> init(args a) {
    if (a.tell_starter) otp::send(a.starter, child_is{otp::self()});
    if (a.test) otp::send(a.test, init_ran{});
    return otp::stop(a.reason);
  }
  void terminate(const otp::exit_reason& r, state& s) { otp::send(s.test, terminate_ran{r}); }
};

/// init raises, or exits with exit(R).
struct init_raiser {
  struct args {
    otp::pid test;
    bool use_exit = false;
  };
  struct state {
    otp::pid test;
  };
  otp::init_result<state> init(args a) {
    if (a.use_exit) otp::exit(otp::exit_reason::other("exit_in_init"));
    throw std::runtime_error("boom in init");
  }
  void terminate(const otp::exit_reason& r, state& s) { otp::send(s.test, terminate_ran{r}); }
};

struct ignorer {
  otp::init_result<otp::detail::no_state> init(int) { return otp::ignore(); }
};

/// init calls its starter (which is blocked in start), §1.4.
struct calls_starter {
  struct hello {};
  otp::init_result<otp::detail::no_state> init(otp::pid starter) {
    auto r = gs::try_call(otp::detail::target(starter), hello{}, 300ms);
    if (!r) return otp::stop(r.error());
    return otp::ok(otp::detail::no_state{});
  }
};

/// init returns ok with a timeout / hibernate / continue.
struct init_next {
  enum class mode { timeout, hibernate, cont, bad_timeout };
  struct args {
    otp::pid test;
    mode m;
  };
  struct state {
    otp::pid test;
    int value = 7;
  };
  struct get {
    using reply = int;
  };
  struct sync {
    using reply = int;
  };
  struct ping_info {};
  struct cont {};
  using accepts = otp::types<ping_info, cont>;
  otp::init_result<state> init(args a) {
    switch (a.m) {
      case mode::timeout: return otp::ok(state{a.test}, 50ms);
      case mode::hibernate: return otp::ok(state{a.test}, otp::hibernate);
      case mode::cont: return otp::ok(state{a.test}, otp::continue_with(cont{}));
      case mode::bad_timeout: return otp::ok(state{a.test}, -1ms);
    }
    return otp::ok(state{a.test});
  }
  otp::call_result<int> handle_call(get, state& s) { return otp::reply(s.value); }
  otp::call_result<int> handle_call(sync, state&) { return otp::reply(0); }
  otp::info_result handle_info(gs::timeout_event, state& s) {
    otp::send(s.test, timed_out{});
    return otp::noreply();
  }
  otp::info_result handle_info(ping_info, state& s) {
    otp::send(s.test, info_ran{});
    return otp::noreply();
  }
  otp::continue_result handle_continue(cont, state& s) {
    // The ack went out first (the starter has returned and can send `go`);
    // `ping_info`, sent before `go`, stays queued behind this continue.
    (void)otp::receive_as<go>();
    otp::send(s.test, continue_ran{});
    return otp::noreply();
  }
};

/// init blocks until killed; tells the test its pid first (§1.13).
struct slow_init {
  otp::init_result<otp::detail::no_state> init(otp::pid test) {
    otp::send(test, child_is{otp::self()});
    idle();
    return otp::ok(otp::detail::no_state{});
  }
};

/// A server whose handle_call needs a big stack (§1.16: stack_size).
struct deep_stack {
  struct deep {
    using reply = int;
  };
  otp::call_result<int> handle_call(deep, const otp::from&) {
    volatile char buf[512 * 1024];
    for (std::size_t i = 0; i < sizeof(buf); i += 4096) buf[i] = static_cast<char>(i);
    return otp::reply(static_cast<int>(buf[4096]) + 1);
  }
};

}  // namespace

// ===================================================================== §1

TEST(gen_server_1, item_1_1_start_link_returns_ok_and_links_caller) {
  test_node node;
  auto r = gs::start_link<basic>(otp::pid{});
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r.ignored());
  EXPECT_TRUE(r.error().is_normal());
  otp::pid srv = r.get_pid();
  ASSERT_TRUE(srv);
  EXPECT_TRUE(otp::is_alive(srv));
  EXPECT_TRUE(contains(otp::process_info(otp::self())->links, srv));
  EXPECT_TRUE(contains(otp::process_info(srv)->links, otp::self()));
  EXPECT_EQ(gs::call(r.value(), basic::ping{}), 42);
  gs::stop(srv);
}

TEST(gen_server_1, item_1_2_start_returns_ok_without_link) {
  test_node node;
  auto r = gs::start<basic>(otp::pid{});
  ASSERT_TRUE(r.ok());
  otp::pid srv = r.get_pid();
  EXPECT_FALSE(contains(otp::process_info(otp::self())->links, srv));
  EXPECT_TRUE(otp::process_info(srv)->links.empty());
  EXPECT_EQ(gs::call(r.value(), basic::ping{}), 42);
  gs::stop(srv);
}

TEST(gen_server_1, item_1_3_link_exists_before_init_runs) {
  test_node node;
  otp::pid me = otp::self();
  auto r = gs::start_link<basic>(me);
  ASSERT_TRUE(r.ok());
  auto seen = recv<links_seen>();
  EXPECT_EQ(seen.links, std::vector<otp::pid>{me});
  gs::stop(r.get_pid());
}

TEST(gen_server_1, item_1_4_start_is_synchronous_init_calling_starter_times_out) {
  test_node node;
  otp::pid test = otp::self();
  otp::pid starter = otp::spawn([test] {
    auto r = gs::start<calls_starter>(otp::self());
    otp::send(test, report_of(r));
  });
  // init's call to the blocked starter arms its 300 ms timer.
  ASSERT_TRUE(wait_for_timers(node, 1));
  node->advance_time(300ms);
  auto rep = recv<start_report>();
  EXPECT_FALSE(rep.ok);
  EXPECT_EQ(rep.error.inner(), otp::exit_reason::timeout());
  EXPECT_EQ(rep.error.to_string(), "{timeout,{gen_server,call,[" + starter.to_string() + "," +
                                       otp::detail::demangle(typeid(calls_starter::hello).name()) + ",300]}}");
}

TEST(gen_server_1, item_1_5_init_timeout_delivers_timeout_to_handle_info) {
  test_node node;
  auto r = gs::start<init_next>(init_next::args{otp::self(), init_next::mode::timeout});
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(wait_for_timers(node, 1));
  EXPECT_TRUE(mailbox_empty());
  node->advance_time(50ms);
  (void)recv<timed_out>();
  gs::stop(r.get_pid());
}

TEST(gen_server_1, item_1_6_init_hibernate_hibernates_and_still_answers) {
  test_node node;
  auto r = gs::start<init_next>(init_next::args{otp::self(), init_next::mode::hibernate});
  ASSERT_TRUE(r.ok());
  otp::pid srv = r.get_pid();
  ASSERT_TRUE(wait_until([&] {
    auto i = otp::process_info(srv);
    return i && i->hibernated;
  }));
  EXPECT_EQ(gs::call(r.value(), init_next::get{}, otp::infinity), 7);
  EXPECT_FALSE(otp::process_info(srv)->hibernated);
  gs::stop(srv);
}

TEST(gen_server_1, item_1_7_init_continue_acks_first_then_runs_before_queued_messages) {
  test_node node;
  // If the ack waited for handle_continue, start would never return: the
  // continue waits for `go`, which is sent only after start returned.
  auto r = gs::start<init_next>(init_next::args{otp::self(), init_next::mode::cont});
  ASSERT_TRUE(r.ok());
  otp::pid srv = r.get_pid();
  otp::send(srv, init_next::ping_info{});
  otp::send(srv, go{});
  auto m1 = otp::receive_any(otp::infinity);
  auto m2 = otp::receive_any(otp::infinity);
  ASSERT_TRUE(m1 && m2);
  EXPECT_TRUE(m1->is<continue_ran>()) << m1->type_name();
  EXPECT_TRUE(m2->is<info_ran>()) << m2->type_name();
  gs::stop(srv);
}

TEST(gen_server_1, item_1_8_init_stop_returns_error_and_frees_name_before_ack) {
  test_node node;
  auto r = gs::start<stopper>(stopper::args{otp::pid{}, otp::exit_reason::other("oops")}, {.name = "srv_1_8"});
  EXPECT_FALSE(r.ok());
  EXPECT_FALSE(r.ignored());
  EXPECT_EQ(r.error(), otp::exit_reason::other("oops"));
  EXPECT_EQ(r.error().to_string(), "oops");
  // The name was unregistered before the ack: an immediate restart works.
  EXPECT_FALSE(otp::whereis("srv_1_8").has_value());
  auto again = gs::start<basic>(otp::pid{}, {.name = "srv_1_8"});
  ASSERT_TRUE(again.ok()) << again.error().to_string();
  EXPECT_EQ(otp::whereis("srv_1_8"), again.get_pid());
  gs::stop(again.get_pid());
}

TEST(gen_server_1, item_1_9_stop_under_start_link_kills_non_trapping_caller) {
  test_node node;
  otp::pid test = otp::self();
  const auto oops = otp::exit_reason::other("oops");

  // a) not trapping: the caller is killed with the reason.
  auto [p1, m1] = otp::spawn_monitor([oops] {
    (void)gs::start_link<stopper>(stopper::args{otp::pid{}, oops});
    idle();
  });
  EXPECT_EQ(await_down(m1).reason, oops);

  // b) trapping: {error, oops} and {'EXIT', Server, oops}.
  auto [p2, m2] = otp::spawn_monitor(
      [test, oops] {
        auto r = gs::start_link<stopper>(stopper::args{otp::pid{}, oops, true, otp::self()});
        otp::pid srv = recv<child_is>().pid;
        auto e = await_exit(srv);
        otp::send(test, report_of(r));
        otp::send(test, e);
      },
      {.trap_exit = true});
  auto rep = recv<start_report>();
  EXPECT_FALSE(rep.ok);
  EXPECT_EQ(rep.error, oops);
  EXPECT_EQ(recv<otp::exit_msg>().reason, oops);
  EXPECT_TRUE(await_down(m2).reason.is_normal());

  // c) reason normal, not trapping: the caller survives with {error, normal}.
  auto [p3, m3] = otp::spawn_monitor([test] {
    auto r = gs::start_link<stopper>(stopper::args{otp::pid{}, otp::exit_reason::normal(), true, otp::self()});
    otp::pid srv = recv<child_is>().pid;
    (void)wait_dead(srv);  // its link signal went out before this DOWN
    otp::send(test, report_of(r));
    (void)recv<go>();
  });
  auto rep3 = recv<start_report>();
  EXPECT_FALSE(rep3.ok);
  EXPECT_TRUE(rep3.error.is_normal()) << rep3.error.to_string();
  EXPECT_TRUE(otp::is_alive(p3));
  otp::send(p3, go{});
  EXPECT_TRUE(await_down(m3).reason.is_normal());
  (void)p1;
  (void)p2;
}

TEST(gen_server_1, item_1_10_ignore_returns_ignored_and_exits_normal) {
  test_node node;
  otp::pid test = otp::self();
  auto [p, m] = otp::spawn_monitor(
      [test] {
        auto r = gs::start_link<ignorer>(0);
        otp::send(test, report_of(r));
        otp::send(test, *otp::receive_as<otp::exit_msg>(otp::infinity));
      },
      {.trap_exit = true});
  auto rep = recv<start_report>();
  EXPECT_TRUE(rep.ignored);
  EXPECT_FALSE(rep.ok);
  EXPECT_FALSE(rep.server);
  auto e = recv<otp::exit_msg>();
  EXPECT_TRUE(e.reason.is_normal()) << e.reason.to_string();
  EXPECT_TRUE(await_down(m).reason.is_normal());
  (void)p;
}

TEST(gen_server_1, item_1_11_init_raise_is_error_and_kills_linked_caller_exit_is_reason) {
  test_node node;
  otp::pid test = otp::self();
  // start: {error, exception}
  auto r = gs::start<init_raiser>(init_raiser::args{test, false});
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(r.error().is_exception());
  EXPECT_EQ(r.error().detail(), "std::runtime_error");
  EXPECT_EQ(r.error().what(), "boom in init");
  EXPECT_EQ(r.error().to_string(), "{'std::runtime_error',\"boom in init\"}");

  // start_link, not trapping: the caller dies with the same reason.
  auto [p, m] = otp::spawn_monitor([test] {
    auto r2 = gs::start_link<init_raiser>(init_raiser::args{test, false});
    otp::send(test, report_of(r2));
    idle();
  });
  auto down = await_down(m).reason;
  EXPECT_EQ(down, r.error());

  // start_link, trapping: {error, R} and an EXIT with the same R.
  auto [p2, m2] = otp::spawn_monitor(
      [test] {
        auto r2 = gs::start_link<init_raiser>(init_raiser::args{test, false});
        otp::send(test, report_of(r2));
        otp::send(test, *otp::receive_as<otp::exit_msg>(otp::infinity));
      },
      {.trap_exit = true});
  EXPECT_TRUE(await_down(m2).reason.is_normal());
  // (the non-trapping starter may or may not have reported before dying)
  std::vector<start_report> reps;
  std::optional<otp::exit_msg> ex;
  for (auto& msg : drain()) {
    if (auto* s = msg.get_if<start_report>()) reps.push_back(*s);
    if (auto* e = msg.get_if<otp::exit_msg>()) ex = *e;
  }
  ASSERT_FALSE(reps.empty());
  EXPECT_EQ(reps.back().error, r.error());
  ASSERT_TRUE(ex.has_value());
  EXPECT_EQ(ex->reason, r.error());

  // init exit(R): {error, R}.
  auto r3 = gs::start<init_raiser>(init_raiser::args{test, true});
  EXPECT_FALSE(r3.ok());
  EXPECT_EQ(r3.error(), otp::exit_reason::other("exit_in_init"));
  EXPECT_TRUE(drain().empty());  // terminate never ran (§1.20)
  (void)p;
  (void)p2;
}

TEST(gen_server_1, item_1_12_bad_init_return_is_bad_return_value) {
  test_node node;
  otp::pid test = otp::self();
  auto [p, m] = otp::spawn_monitor(
      [test] {
        auto r = gs::start_link<init_next>(init_next::args{test, init_next::mode::bad_timeout});
        otp::send(test, report_of(r));
        otp::send(test, *otp::receive_as<otp::exit_msg>(otp::infinity));
      },
      {.trap_exit = true});
  auto rep = recv<start_report>();
  EXPECT_FALSE(rep.ok);
  EXPECT_EQ(rep.error.to_string().rfind("{bad_return_value,", 0), 0u) << rep.error.to_string();
  auto e = recv<otp::exit_msg>();
  EXPECT_EQ(e.reason, rep.error);  // the process exits with that same reason
  EXPECT_TRUE(await_down(m).reason.is_normal());
  (void)p;
}

TEST(gen_server_1, item_1_13_start_timeout_kills_child_and_never_harms_caller) {
  test_node node;
  otp::pid test = otp::self();
  // a) not trapping: {error, timeout}, the caller lives, has no link left.
  auto [p, m] = otp::spawn_monitor([test] {
    auto r = gs::start_link<slow_init>(test, {.timeout = 100ms});
    otp::send(test, report_of(r));
    (void)recv<go>();
    otp::send(test, inspect_self());
  });
  otp::pid child = recv<child_is>().pid;
  otp::ref cm = otp::monitor(child);
  ASSERT_TRUE(wait_for_timers(node, 1));
  node->advance_time(100ms);
  auto rep = recv<start_report>();
  EXPECT_FALSE(rep.ok);
  EXPECT_EQ(rep.error, otp::exit_reason::timeout());
  EXPECT_EQ(rep.error.to_string(), "timeout");
  EXPECT_EQ(await_down(cm).reason, otp::exit_reason::killed());  // the child was killed
  otp::send(p, go{});
  auto s = recv<survived>();
  EXPECT_TRUE(s.links.empty());
  EXPECT_EQ(s.queued, 0u);
  EXPECT_TRUE(await_down(m).reason.is_normal());

  // b) trapping: no {'EXIT', Child, _} is left behind.
  auto [p2, m2] = otp::spawn_monitor(
      [test] {
        auto r = gs::start_link<slow_init>(test, {.timeout = 100ms});
        otp::send(test, report_of(r));
        (void)recv<go>();
        otp::send(test, inspect_self());
      },
      {.trap_exit = true});
  otp::pid child2 = recv<child_is>().pid;
  otp::ref cm2 = otp::monitor(child2);
  ASSERT_TRUE(wait_for_timers(node, 1));
  node->advance_time(100ms);
  EXPECT_EQ(recv<start_report>().error, otp::exit_reason::timeout());
  EXPECT_EQ(await_down(cm2).reason, otp::exit_reason::killed());
  otp::send(p2, go{});  // after the child's death: any EXIT would be queued before it
  auto s2 = recv<survived>();
  EXPECT_TRUE(s2.links.empty());
  EXPECT_TRUE(s2.exits.empty());
  EXPECT_EQ(s2.queued, 0u);
  EXPECT_TRUE(await_down(m2).reason.is_normal());
}

TEST(gen_server_1, item_1_14_name_taken_is_already_started_init_never_runs) {
  test_node node;
  otp::pid test = otp::self();
  otp::pid holder = otp::spawn([] { idle(); }, {.name = "taken_1_14"});
  ASSERT_EQ(otp::whereis("taken_1_14"), holder);

  // start (plain), the holder is not a gen_server
  auto r = gs::start<stopper>(stopper::args{test, otp::exit_reason::other("never")}, {.name = "taken_1_14"});
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.error().to_string().rfind("{already_started,", 0), 0u) << r.error().to_string();
  EXPECT_EQ(r.error().to_string(), "{already_started," + holder.to_string() + "}");
  EXPECT_EQ(r.existing(), holder);

  // start_link from a non-trapping caller: error, and the caller is fine.
  auto [p, m] = otp::spawn_monitor([test] {
    auto r2 = gs::start_link<stopper>(stopper::args{test, otp::exit_reason::other("never")}, {.name = "taken_1_14"});
    otp::send(test, report_of(r2));
    (void)recv<go>();
  });
  auto rep = recv<start_report>();
  EXPECT_EQ(rep.existing, holder);
  EXPECT_EQ(rep.error.to_string(), "{already_started," + holder.to_string() + "}");
  EXPECT_TRUE(otp::is_alive(p));
  otp::send(p, go{});
  EXPECT_TRUE(await_down(m).reason.is_normal());
  // init never ran in either new process (it would have sent init_ran first)
  for (auto& msg : drain()) EXPECT_FALSE(msg.is<init_ran>()) << "init ran despite the name clash";
  EXPECT_EQ(otp::whereis("taken_1_14"), holder);
  otp::exit(holder, otp::exit_reason::kill());
}

TEST(gen_server_1, item_1_16_stack_size_option_is_honoured) {
  test_node node;
  // 512 KiB of locals would overflow the pooled 128 KiB stack.
  auto r = gs::start<deep_stack>({.stack_size = 2 * 1024 * 1024});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(gs::call(r.value(), deep_stack::deep{}, otp::infinity), 1);
  gs::stop(r.get_pid());
}

TEST(gen_server_1, item_1_17_debug_options_from_the_start) {
  test_node node;
  auto r = gs::start<basic>(otp::pid{}, {.debug = {.trace = false, .log = 10, .statistics = true}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(gs::call(r.value(), basic::ping{}, otp::infinity), 42);
  auto log = otp::sys::get_log(r.get_pid(), otp::infinity);
  ASSERT_FALSE(log.empty());
  bool saw_call = std::any_of(log.begin(), log.end(), [](const std::string& e) { return e.find("got call") != std::string::npos; });
  EXPECT_TRUE(saw_call);
  auto st = otp::sys::get_statistics(r.get_pid(), otp::infinity);
  ASSERT_TRUE(st.has_value());
  EXPECT_GE(st->messages_in, 1u);
  EXPECT_GE(st->messages_out, 1u);
  gs::stop(r.get_pid());
}

TEST(gen_server_1, item_1_18_start_monitor_returns_monitor_and_consumes_down_on_failure) {
  test_node node;
  auto r = gs::start_monitor<basic>(otp::pid{});
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(r.monitor());
  otp::pid srv = r.get_pid();
  EXPECT_TRUE(otp::process_info(otp::self())->links.empty());  // no link
  otp::exit(srv, otp::exit_reason::other("custom"));
  auto d = await_down(r.monitor());
  EXPECT_EQ(d.process, srv);
  EXPECT_EQ(d.reason, otp::exit_reason::other("custom"));

  auto bad = gs::start_monitor<stopper>(stopper::args{otp::pid{}, otp::exit_reason::other("bad")});
  EXPECT_FALSE(bad.ok());
  EXPECT_EQ(bad.error(), otp::exit_reason::other("bad"));
  EXPECT_TRUE(mailbox_empty());  // the DOWN was consumed
  EXPECT_TRUE(otp::process_info(otp::self())->monitors.empty());
}

TEST(gen_server_1, item_1_20_terminate_not_called_when_init_fails) {
  test_node node;
  otp::pid test = otp::self();
  // init returns stop, or raises; the server's terminate would tell the test.
  auto [p, m] = otp::spawn_monitor(
      [test] {
        auto r = gs::start_link<stopper>(stopper::args{test, otp::exit_reason::other("x"), true, otp::self()});
        otp::pid srv = recv<child_is>().pid;
        (void)await_exit(srv);  // the server is gone: anything it sent is queued
        auto r2 = gs::start_link<init_raiser>(init_raiser::args{test, false});
        (void)otp::receive_as<otp::exit_msg>(otp::infinity);
        otp::send(test, report_of(r));
        otp::send(test, report_of(r2));
      },
      {.trap_exit = true});
  EXPECT_TRUE(await_down(m).reason.is_normal());
  int reports = 0;
  for (auto& msg : drain()) {
    EXPECT_FALSE(msg.is<terminate_ran>()) << "terminate ran after init failed";
    if (msg.is<start_report>()) ++reports;
  }
  EXPECT_EQ(reports, 2);
  (void)p;
}
