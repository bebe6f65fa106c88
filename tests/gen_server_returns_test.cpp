// Conformance tests for gen_server §4 (callback return values) and §5
// (timeouts and hibernation) of ../shared/otp-semantics.md, one test per
// applicable item.
//
// Items not tested here, and why:
//  * 4.7: `throw(v)` as a callback's return value is Erlang's non-local
//    return; in C++ a throw is an exception (4.10).
//  * 4.8 (part): garbage returns, `{reply, ...}` from cast/info/continue and
//    `{stop, r, reply, s}` from cast/info are rejected at compile time (the
//    result types); only the representable bad value, a negative timeout,
//    is tested.
//  * 5.8: timeouts above 2^32-1 ms are an ERTS limit with no counterpart.
//
// Design choice tested as designed: callbacks mutate the state in place, so
// terminate after an exception or a bad return sees the state as the
// callback left it (OTP passes the state from before the callback).

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <vector>

#include "otp/gen_server.hpp"
#include "otp/sys.hpp"
#include "otp/timer.hpp"
#include "support/supervision.hpp"
#include "support/test_node.hpp"

using namespace otp_test;
using namespace std::chrono_literals;
namespace gs = otp::gen_server;

namespace {

std::atomic<int> g_timeouts{0};  // timeout events seen by the current test's server

enum class k { plain, timeout, hibernate, cont, noreply, stop, stop_reply, bad, throw_, exit_, twice };

struct term_saw {
  otp::exit_reason reason;
  int n;
  std::vector<std::string> log;
};
struct timed_out {};
struct got_from {
  otp::from f;
};

struct ret_srv {
  struct state {
    otp::pid test;
    int n = 0;
    std::vector<std::string> log;
    otp::from pending;
    bool throw_in_terminate = false;
  };
  struct ret_call {
    using reply = int;
    k kind = k::plain;
    otp::timeout ms{50};
    otp::exit_reason reason;
  };
  struct ret_cast {
    k kind = k::plain;
    otp::timeout ms{50};
    bool block = false;  // wait for `go` first
    int depth = 0;       // continue chain length for k::cont
    otp::exit_reason reason;
  };
  struct ret_info {
    k kind = k::plain;
    otp::timeout ms{50};
    otp::exit_reason reason;
  };
  struct ret_cont {
    k kind = k::plain;
    int depth = 0;
    otp::timeout ms{50};
  };
  struct get_n {
    using reply = int;
  };
  struct get_log {
    using reply = std::vector<std::string>;
  };
  struct answer {};                // cast: reply to the pending call from the server
  struct reply_later {             // cast: reply from a timer-driven handle_info
    otp::timeout ms;
  };
  struct reply_now {};
  struct set_throw {};
  using accepts = otp::types<ret_info, ret_cont, reply_now>;

  otp::init_result<state> init(otp::pid test) { return otp::ok(state{test}); }

  otp::call_result<int> handle_call(ret_call c, const otp::from& f, state& s) {
    ++s.n;
    s.log.push_back("call");
    switch (c.kind) {
      case k::plain: return otp::reply(s.n);
      case k::timeout: return otp::reply(s.n, c.ms);
      case k::hibernate: return otp::reply(s.n, otp::hibernate);
      case k::cont: return otp::reply(s.n, otp::continue_with(ret_cont{k::plain, 1}));
      case k::noreply:
        s.pending = f;
        otp::send(s.test, got_from{f});
        return otp::noreply();
      case k::stop: return otp::stop(c.reason);
      case k::stop_reply: return otp::stop(c.reason, s.n);
      case k::bad: return otp::reply(s.n, -1ms);
      case k::throw_: throw std::runtime_error("kaboom");
      case k::exit_: otp::exit(c.reason);
      case k::twice:
        gs::reply(f, 1);
        return otp::reply(2);
    }
    return otp::reply(0);
  }
  otp::call_result<int> handle_call(get_n, const otp::from&, state& s) { return otp::reply(s.n); }
  otp::call_result<std::vector<std::string>> handle_call(get_log, const otp::from&, state& s) {
    return otp::reply(s.log);
  }

  static otp::noreply_result act(k kind, otp::timeout ms, int depth, const otp::exit_reason& reason) {
    switch (kind) {
      case k::plain: return otp::noreply();
      case k::timeout: return otp::noreply(ms);
      case k::hibernate: return otp::noreply(otp::hibernate);
      case k::cont: return otp::noreply(otp::continue_with(ret_cont{k::plain, depth}));
      case k::stop: return otp::stop(reason);
      case k::bad: return otp::noreply(-1ms);
      case k::throw_: throw std::runtime_error("kaboom");
      case k::exit_: otp::exit(reason);
      default: return otp::noreply();
    }
  }
  otp::cast_result handle_cast(ret_cast c, state& s) {
    if (c.block) (void)otp::receive_as<go>();
    ++s.n;
    s.log.push_back("cast");
    return act(c.kind, c.ms, c.depth, c.reason);
  }
  otp::cast_result handle_cast(answer, state& s) {
    gs::reply(s.pending, s.n);
    return otp::noreply();
  }
  otp::cast_result handle_cast(reply_later m, state& s) {
    otp::send_after(otp::self(), reply_now{}, m.ms);
    return otp::noreply();
  }
  otp::cast_result handle_cast(set_throw, state& s) {
    s.throw_in_terminate = true;
    return otp::noreply();
  }
  otp::info_result handle_info(ret_info c, state& s) {
    ++s.n;
    s.log.push_back("info");
    return act(c.kind, c.ms, 0, c.reason);
  }
  otp::info_result handle_info(reply_now, state& s) {
    gs::reply(s.pending, 77);
    return otp::noreply();
  }
  otp::info_result handle_info(gs::timeout_event, state& s) {
    s.log.push_back("timeout");
    ++g_timeouts;
    otp::send(s.test, timed_out{});
    return otp::noreply();
  }
  otp::continue_result handle_continue(ret_cont c, state& s) {
    s.log.push_back("cont" + std::to_string(c.depth));
    if (c.depth > 0) return otp::noreply(otp::continue_with(ret_cont{c.kind, c.depth - 1, c.ms}));
    return act(c.kind, c.ms, 0, {});
  }
  void terminate(const otp::exit_reason& r, state& s) {
    otp::send(s.test, term_saw{r, s.n, s.log});
    if (s.throw_in_terminate) throw std::runtime_error("tboom");
  }
};

/// A server with no handle_continue (§4.9).
struct no_cont {
  struct go_on {
    using reply = int;
  };
  struct go_on_cast {};
  otp::call_result<int> handle_call(go_on, const otp::from&) { return otp::reply(5, otp::continue_with(1)); }
  otp::cast_result handle_cast(go_on_cast) { return otp::noreply(otp::continue_with(1)); }
};

using R = ret_srv;
otp::server_ref<R> start_ret() {
  g_timeouts = 0;
  return gs::start<R>(otp::self()).value();
}
int call_n(const otp::server_ref<R>& s) { return gs::call(s, R::get_n{}, otp::infinity); }
std::vector<std::string> call_log(const otp::server_ref<R>& s) { return gs::call(s, R::get_log{}, otp::infinity); }
bool hibernated(const otp::pid& p) {
  auto i = otp::process_info(p);
  return i && i->hibernated;
}
using strings = std::vector<std::string>;

}  // namespace

// ===================================================================== §4

TEST(gen_server_4, item_4_1_all_valid_return_variants_work) {
  test_node node;
  auto srv = start_ret();
  otp::pid sp = srv.get_pid();
  // handle_call: reply / reply+timeout / reply+hibernate / reply+continue
  EXPECT_EQ(gs::call(srv, R::ret_call{k::plain}, otp::infinity), 1);
  EXPECT_EQ(gs::call(srv, R::ret_call{k::timeout, 50ms}, otp::infinity), 2);
  ASSERT_TRUE(wait_for_timers(node, 1));
  node->advance_time(50ms);
  (void)recv<timed_out>();
  EXPECT_EQ(gs::call(srv, R::ret_call{k::hibernate}, otp::infinity), 3);
  ASSERT_TRUE(wait_until([&] { return hibernated(sp); }));
  EXPECT_EQ(gs::call(srv, R::ret_call{k::cont}, otp::infinity), 4);
  EXPECT_EQ(call_log(srv), (strings{"call", "call", "timeout", "call", "call", "cont1", "cont0"}));
  // reply with an infinity timeout is a plain reply
  EXPECT_EQ(gs::call(srv, R::ret_call{k::timeout, otp::infinity}, otp::infinity), 5);
  // handle_cast / handle_info: noreply, +timeout, +hibernate, +continue
  gs::cast(srv, R::ret_cast{k::plain});
  gs::cast(srv, R::ret_cast{k::timeout, 30ms});
  EXPECT_EQ(call_n(srv), 7);  // the call cancelled the cast's timeout
  otp::send(sp, R::ret_info{k::timeout, 30ms});
  ASSERT_TRUE(wait_for_timers(node, 1));
  node->advance_time(30ms);
  (void)recv<timed_out>();
  otp::send(sp, R::ret_info{k::hibernate});
  ASSERT_TRUE(wait_until([&] { return hibernated(sp); }));
  gs::cast(srv, R::ret_cast{k::cont, 50ms, false, 0});
  otp::send(sp, R::ret_info{k::plain});
  EXPECT_EQ(call_log(srv), (strings{"call", "call", "timeout", "call", "call", "cont1", "cont0", "call", "cast", "cast",
                                    "info", "timeout", "info", "cast", "cont0", "info"}));
  gs::cast(srv, R::ret_cast{k::plain});
  otp::send(sp, R::ret_info{k::plain});
  EXPECT_EQ(call_n(srv), 13);
  // stop from a cast
  otp::ref m = otp::monitor(sp);
  gs::cast(srv, R::ret_cast{k::stop, 0ms, false, 0, otp::exit_reason::other("bye")});
  EXPECT_EQ(await_down(m).reason, otp::exit_reason::other("bye"));
  EXPECT_EQ(recv<term_saw>().reason, otp::exit_reason::other("bye"));

  // stop from an info and from a continue
  auto s2 = start_ret();
  otp::ref m2 = otp::monitor(s2.get_pid());
  otp::send(s2.get_pid(), R::ret_info{k::stop, 0ms, otp::exit_reason::shutdown("info")});
  EXPECT_EQ(await_down(m2).reason, otp::exit_reason::shutdown("info"));
  EXPECT_EQ(recv<term_saw>().reason, otp::exit_reason::shutdown("info"));
}

TEST(gen_server_4, item_4_2_continue_runs_before_queued_messages_and_chains) {
  test_node node;
  auto srv = start_ret();
  otp::pid sp = srv.get_pid();
  // The cast waits for `go`; the info is queued before `go` is sent, so it
  // is in the mailbox when the cast returns its continue.
  gs::cast(srv, R::ret_cast{k::cont, 0ms, true, 2});
  otp::send(sp, R::ret_info{k::plain});
  otp::send(sp, go{});
  EXPECT_EQ(call_log(srv), (strings{"cast", "cont2", "cont1", "cont0", "info"}));
  // from handle_call too
  EXPECT_EQ(gs::call(srv, R::ret_call{k::cont}, otp::infinity), 3);
  EXPECT_EQ(call_log(srv), (strings{"cast", "cont2", "cont1", "cont0", "info", "call", "cont1", "cont0"}));
  gs::stop(sp);
}

TEST(gen_server_4, item_4_3_stop_with_reply_runs_terminate_before_reply) {
  test_node node;
  {
    auto srv = start_ret();
    otp::ref m = otp::monitor(srv.get_pid());
    int got = gs::call(srv, R::ret_call{k::stop_reply, 0ms, otp::exit_reason::other("bye")}, otp::infinity);
    EXPECT_EQ(got, 1);
    // terminate's message was sent before the reply: it is already here
    auto t = otp::receive_as<term_saw>(0ms);
    ASSERT_TRUE(t.has_value()) << "the reply arrived before terminate ran";
    EXPECT_EQ(t->reason, otp::exit_reason::other("bye"));
    EXPECT_EQ(t->n, 1);  // the new state
    EXPECT_EQ(await_down(m).reason, otp::exit_reason::other("bye"));
  }
  {  // terminate raises: the reply is still sent, the server exits with terminate's exception
    auto srv = start_ret();
    gs::cast(srv, R::set_throw{});
    otp::ref m = otp::monitor(srv.get_pid());
    int got = gs::call(srv, R::ret_call{k::stop_reply, 0ms, otp::exit_reason::normal()}, otp::infinity);
    EXPECT_EQ(got, 1);
    auto t = otp::receive_as<term_saw>(0ms);
    ASSERT_TRUE(t.has_value());
    EXPECT_TRUE(t->reason.is_normal());
    auto down = await_down(m).reason;
    EXPECT_TRUE(down.is_exception()) << down.to_string();
    EXPECT_EQ(down.detail(), "std::runtime_error");
    EXPECT_EQ(down.what(), "tboom");
  }
  EXPECT_TRUE(mailbox_empty());
}

TEST(gen_server_4, item_4_4_stop_from_call_without_reply_exits_caller_even_normal) {
  test_node node;
  for (const auto& reason : {otp::exit_reason::normal(), otp::exit_reason::shutdown("x"), otp::exit_reason::other("r")}) {
    auto srv = start_ret();
    otp::ref m = otp::monitor(srv.get_pid());
    auto r = gs::try_call(srv, R::ret_call{k::stop, 0ms, reason});
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().inner(), reason);
    EXPECT_EQ(r.error().to_string().rfind("{" + reason.to_string() + ",{gen_server,call,[", 0), 0u)
        << r.error().to_string();
    auto t = recv<term_saw>();
    EXPECT_EQ(t.reason, reason);
    EXPECT_EQ(await_down(m).reason, reason);
  }
  EXPECT_TRUE(mailbox_empty());
}

TEST(gen_server_4, item_4_5_deferred_reply_from_server_timer_or_third_party) {
  test_node node;
  otp::pid test = otp::self();
  auto srv = start_ret();
  auto deferred_call = [&] {
    otp::spawn([test, srv] { otp::send(test, gs::call(srv, R::ret_call{k::noreply}, otp::infinity)); });
    return recv<got_from>().f;
  };
  // a) the server itself, later
  (void)deferred_call();
  gs::cast(srv, R::answer{});
  EXPECT_EQ(recv<int>(), 1);
  // b) a timer-driven handle_info
  (void)deferred_call();
  gs::cast(srv, R::reply_later{100ms});
  ASSERT_TRUE(wait_for_timers(node, 1));
  node->advance_time(100ms);
  EXPECT_EQ(recv<int>(), 77);
  // c) a third party (the test itself)
  otp::from f = deferred_call();
  EXPECT_TRUE(f);
  gs::reply(f, 99);
  EXPECT_EQ(recv<int>(), 99);
  // d) replying to a dead client is fine
  otp::from dead(dead_pid(), f.tag());
  EXPECT_NO_THROW(gs::reply(dead, 5));
  EXPECT_NO_THROW(gs::reply(f, 6));  // the caller of (c) is gone too
  EXPECT_TRUE(mailbox_empty());
  gs::stop(srv.get_pid());
}

TEST(gen_server_4, item_4_6_second_reply_to_same_call_is_dropped) {
  test_node node;
  auto srv = start_ret();
  EXPECT_EQ(gs::call(srv, R::ret_call{k::twice}, otp::infinity), 1);  // the first reply
  EXPECT_EQ(call_n(srv), 1);  // the server has sent its second reply by now
  EXPECT_EQ(otp::process_info(otp::self())->message_queue_len, 0u);
  EXPECT_TRUE(mailbox_empty());
  EXPECT_EQ(call_n(srv), 1);  // and it is not taken for a later reply either
  gs::stop(srv.get_pid());
}

TEST(gen_server_4, item_4_8_invalid_return_is_bad_return_value) {
  test_node node;
  {  // from handle_call: the caller exits with it, terminate sees it
    auto srv = start_ret();
    otp::ref m = otp::monitor(srv.get_pid());
    auto r = gs::try_call(srv, R::ret_call{k::bad});
    ASSERT_FALSE(r.ok());
    const std::string inner = r.error().inner().to_string();
    EXPECT_EQ(inner.rfind("{bad_return_value,", 0), 0u) << inner;
    auto t = recv<term_saw>();
    EXPECT_EQ(t.reason, r.error().inner());
    EXPECT_EQ(t.n, 1);  // in-place state (see the file comment)
    EXPECT_EQ(await_down(m).reason, r.error().inner());
  }
  {  // from handle_cast
    auto srv = start_ret();
    otp::ref m = otp::monitor(srv.get_pid());
    gs::cast(srv, R::ret_cast{k::bad});
    auto down = await_down(m).reason;
    EXPECT_EQ(down.to_string().rfind("{bad_return_value,", 0), 0u) << down.to_string();
    EXPECT_EQ(recv<term_saw>().reason, down);
  }
  {  // from handle_info
    auto srv = start_ret();
    otp::ref m = otp::monitor(srv.get_pid());
    otp::send(srv.get_pid(), R::ret_info{k::bad});
    auto down = await_down(m).reason;
    EXPECT_EQ(down.to_string().rfind("{bad_return_value,", 0), 0u) << down.to_string();
    EXPECT_EQ(recv<term_saw>().reason, down);
  }
}

TEST(gen_server_4, item_4_9_continue_without_handle_continue_crashes_undef) {
  test_node node;
  {
    auto srv = gs::start<no_cont>().value();
    otp::ref m = otp::monitor(srv.get_pid());
    gs::cast(srv, no_cont::go_on_cast{});
    auto down = await_down(m).reason;
    EXPECT_EQ(down.to_string().rfind("{undef,", 0), 0u) << down.to_string();
  }
  {  // the reply is sent, then the server crashes
    log_capture logs(node);
    auto srv = gs::start<no_cont>().value();
    otp::ref m = otp::monitor(srv.get_pid());
    EXPECT_EQ(gs::call(srv, no_cont::go_on{}, otp::infinity), 5);
    auto down = await_down(m).reason;
    EXPECT_EQ(down.to_string().rfind("{undef,", 0), 0u) << down.to_string();
    // The crash report still shows the call as the last message: its
    // request did not become the reply's block (server_process::act).
    EXPECT_TRUE(logs.any("go_on", otp::log_level::error));
  }
}

TEST(gen_server_4, item_4_10_exceptions_and_exit_in_callbacks_reach_terminate) {
  test_node node;
  {  // a raise
    auto srv = start_ret();
    otp::ref m = otp::monitor(srv.get_pid());
    auto r = gs::try_call(srv, R::ret_call{k::throw_});
    ASSERT_FALSE(r.ok());
    const auto& e = r.error().inner();
    EXPECT_TRUE(e.is_exception());
    EXPECT_EQ(e.to_string(), "{'std::runtime_error',\"kaboom\"}");
    auto t = recv<term_saw>();
    EXPECT_EQ(t.reason, e);
    EXPECT_EQ(t.n, 1);  // the state as the callback left it (design)
    EXPECT_EQ(t.log, strings{"call"});
    EXPECT_EQ(await_down(m).reason, e);
  }
  {  // exit(R)
    auto srv = start_ret();
    otp::ref m = otp::monitor(srv.get_pid());
    auto r = gs::try_call(srv, R::ret_call{k::exit_, 0ms, otp::exit_reason::other("exited_in_callback")});
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().inner(), otp::exit_reason::other("exited_in_callback"));
    EXPECT_EQ(recv<term_saw>().reason, otp::exit_reason::other("exited_in_callback"));
    EXPECT_EQ(await_down(m).reason, otp::exit_reason::other("exited_in_callback"));
  }
  {  // a raise in handle_cast
    auto srv = start_ret();
    otp::ref m = otp::monitor(srv.get_pid());
    gs::cast(srv, R::ret_cast{k::throw_});
    auto down = await_down(m).reason;
    EXPECT_EQ(down.to_string(), "{'std::runtime_error',\"kaboom\"}");
    EXPECT_EQ(recv<term_saw>().reason, down);
  }
}

// ===================================================================== §5

TEST(gen_server_5, item_5_1_timeout_fires_handle_info_timeout_when_idle) {
  test_node node;
  auto srv = start_ret();
  gs::cast(srv, R::ret_cast{k::timeout, 100ms});
  ASSERT_TRUE(wait_for_timers(node, 1));
  node->advance_time(99ms);
  EXPECT_EQ(node->pending_timers(), 1u);  // not yet
  EXPECT_EQ(g_timeouts.load(), 0);
  node->advance_time(1ms);
  (void)recv<timed_out>();
  EXPECT_EQ(g_timeouts.load(), 1);
  EXPECT_EQ(call_log(srv), (strings{"cast", "timeout"}));
  gs::stop(srv.get_pid());
}

TEST(gen_server_5, item_5_2_any_message_cancels_the_timeout) {
  test_node node;
  auto srv = start_ret();
  otp::pid sp = srv.get_pid();
  // a call, a cast and an unrelated info each cancel it; none re-arms it
  for (int variant = 0; variant < 3; ++variant) {
    gs::cast(srv, R::ret_cast{k::timeout, 100ms});
    ASSERT_TRUE(wait_for_timers(node, 1));
    if (variant == 0) (void)call_n(srv);
    if (variant == 1) gs::cast(srv, R::ret_cast{k::plain});
    if (variant == 2) otp::send(sp, R::ret_info{k::plain});
    ASSERT_TRUE(wait_until([&] { return node->pending_timers() == 0; })) << "variant " << variant;
    node->advance_time(200ms);
    (void)call_n(srv);  // a sync point: a fired timeout would be handled before it
    EXPECT_EQ(g_timeouts.load(), 0) << "variant " << variant;
  }
  EXPECT_EQ(call_log(srv), (strings{"cast", "cast", "cast", "cast", "info"}));
  EXPECT_TRUE(mailbox_empty());
  gs::stop(sp);
}

TEST(gen_server_5, item_5_3_zero_timeout_loses_to_queued_message_fires_when_empty) {
  test_node node;
  auto srv = start_ret();
  otp::pid sp = srv.get_pid();
  // queued message: handled, no timeout
  gs::cast(srv, R::ret_cast{k::timeout, 0ms, true});
  otp::send(sp, R::ret_info{k::plain});
  otp::send(sp, go{});
  EXPECT_EQ(call_log(srv), (strings{"cast", "info"}));
  EXPECT_EQ(g_timeouts.load(), 0);
  // empty mailbox: fires at once, without any time passing
  gs::cast(srv, R::ret_cast{k::timeout, 0ms});
  ASSERT_TRUE(wait_until([] { return g_timeouts.load() == 1; }));
  (void)recv<timed_out>();
  EXPECT_EQ(call_log(srv), (strings{"cast", "info", "cast", "timeout"}));
  gs::stop(sp);
}

TEST(gen_server_5, item_5_4_system_messages_restart_the_timeout_with_full_value) {
  test_node node;
  auto srv = start_ret();
  gs::cast(srv, R::ret_cast{k::timeout, 200ms});
  ASSERT_TRUE(wait_for_timers(node, 1));
  node->advance_time(100ms);
  EXPECT_EQ(otp::sys::get_state(srv, otp::infinity).n, 1);  // restarts: due at 300
  ASSERT_TRUE(wait_for_timers(node, 1));
  node->advance_time(150ms);  // t = 250: the original 200 ms is long past
  EXPECT_EQ(otp::sys::get_state(srv, otp::infinity).log, strings{"cast"});  // restarts: due at 450
  EXPECT_EQ(g_timeouts.load(), 0);
  ASSERT_TRUE(wait_for_timers(node, 1));
  node->advance_time(199ms);
  EXPECT_EQ(node->pending_timers(), 1u);
  EXPECT_EQ(g_timeouts.load(), 0);
  node->advance_time(1ms);
  (void)recv<timed_out>();
  EXPECT_EQ(call_log(srv), (strings{"cast", "timeout"}));
  gs::stop(srv.get_pid());
}

TEST(gen_server_5, item_5_5_literal_timeout_message_is_indistinguishable) {
  test_node node;
  auto srv = start_ret();
  otp::send(srv.get_pid(), gs::timeout_event{});
  (void)recv<timed_out>();
  EXPECT_EQ(call_log(srv), strings{"timeout"});
  gs::stop(srv.get_pid());
}

TEST(gen_server_5, item_5_6_hibernate_preserves_state_and_wakes_on_message) {
  test_node node;
  auto srv = start_ret();
  otp::pid sp = srv.get_pid();
  for (int i = 0; i < 10; ++i) gs::cast(srv, R::ret_cast{k::plain});
  gs::cast(srv, R::ret_cast{k::hibernate});
  ASSERT_TRUE(wait_until([&] { return hibernated(sp); }));
  EXPECT_TRUE(otp::is_alive(sp));
  EXPECT_EQ(call_n(srv), 11);  // state kept; the message woke it
  EXPECT_FALSE(hibernated(sp));
  gs::cast(srv, R::ret_cast{k::plain});
  EXPECT_EQ(call_n(srv), 12);  // and it runs normally afterwards
  gs::stop(sp);
}

TEST(gen_server_5, item_5_7_hibernate_after_idle_and_back_after_system_message) {
  test_node node;
  g_timeouts = 0;
  auto srv = gs::start<R>(otp::self(), {.hibernate_after = 100ms}).value();
  otp::pid sp = srv.get_pid();
  ASSERT_TRUE(wait_for_timers(node, 1));
  EXPECT_FALSE(hibernated(sp));
  node->advance_time(100ms);
  ASSERT_TRUE(wait_until([&] { return hibernated(sp); }));
  // a system message: answered, then straight back to hibernation
  EXPECT_EQ(otp::sys::get_state(srv, otp::infinity).n, 0);
  ASSERT_TRUE(wait_until([&] { return hibernated(sp); }));
  // a call wakes it; it hibernates again only after another idle period
  EXPECT_EQ(call_n(srv), 0);
  EXPECT_FALSE(hibernated(sp));
  ASSERT_TRUE(wait_for_timers(node, 1));
  EXPECT_FALSE(hibernated(sp));
  node->advance_time(100ms);
  ASSERT_TRUE(wait_until([&] { return hibernated(sp); }));
  gs::stop(sp);
}
