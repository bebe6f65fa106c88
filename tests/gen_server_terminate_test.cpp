// Conformance tests for gen_server §6 (terminate and stopping) and §7 (the
// defaults `use GenServer` injects) of ../shared/otp-semantics.md, one test
// per applicable item.
//
// Items not tested here, and why:
//  * 7.1: there is no `use GenServer` macro; each default it injects is
//    tested on its own (7.3-7.6), and the missing handle_continue default
//    in 4.9.
//  * 7.2: child_spec belongs to the supervisor work (not implemented yet).
//  * 7.7: C++ callbacks are overloads by message type, so defining one
//    handle_info does not hide the default for other types (no
//    function_clause); unmatched infos take the documented default (7.5).
//  * 7.8: otpcpp has one set of defaults, Elixir's (the header says so):
//    the raw-:gen_server variants (a warning instead of an error, code_change
//    undef) do not apply; a server without terminate is tested in 7.6.

#include <gtest/gtest.h>

#include <mutex>
#include <string>
#include <vector>

#include "otp/gen_server.hpp"
#include "otp/logger.hpp"
#include "otp/sys.hpp"
#include "support/test_node.hpp"

using namespace otp_test;
using namespace std::chrono_literals;
namespace gs = otp::gen_server;

namespace {

struct term_saw {
  otp::exit_reason reason;
  int n;
};
struct info_exit {
  otp::exit_msg e;
};
struct server_is {
  otp::pid pid;
};
struct blocking {};
struct exit_with {
  otp::exit_reason reason;
};

struct term_srv {
  struct args {
    otp::pid test;
    bool trap = false;
    bool throw_in_terminate = false;
  };
  struct state {
    otp::pid test;
    int n = 0;
    bool throw_in_terminate = false;
  };
  struct bump {
    using reply = int;
  };
  struct stop_call {
    using reply = int;
    otp::exit_reason reason;
  };
  struct raise_call {
    using reply = int;
  };
  struct block {
    using reply = int;
  };
  struct stop_self {
    using reply = std::string;
  };
  struct cont_then_stop {
    using reply = int;
    otp::exit_reason reason;
  };
  struct stop_cont {
    otp::exit_reason reason;
  };
  struct stop_cast {
    otp::exit_reason reason;
  };
  struct stop_info {
    otp::exit_reason reason;
  };
  using accepts = otp::types<stop_info, stop_cont, otp::exit_msg>;

  otp::init_result<state> init(args a) {
    if (a.trap) otp::trap_exit(true);
    return otp::ok(state{a.test, 0, a.throw_in_terminate});
  }
  otp::call_result<int> handle_call(bump, const otp::from&, state& s) { return otp::reply(++s.n); }
  otp::call_result<int> handle_call(stop_call c, const otp::from&, state& s) {
    ++s.n;
    return otp::stop(c.reason);
  }
  otp::call_result<int> handle_call(raise_call, const otp::from&, state& s) {
    ++s.n;
    throw std::runtime_error("kaboom");
  }
  otp::call_result<int> handle_call(block, const otp::from&, state& s) {
    otp::send(s.test, blocking{});
    (void)otp::receive_as<go>();
    return otp::reply(++s.n);
  }
  otp::call_result<std::string> handle_call(stop_self, const otp::from&, state&) {
    try {
      gs::stop(otp::self());
      return otp::reply(std::string("returned"));
    } catch (const otp::exit_error& e) {
      return otp::reply(e.reason().to_string());
    }
  }
  otp::call_result<int> handle_call(cont_then_stop c, const otp::from&, state& s) {
    ++s.n;
    return otp::reply(s.n, otp::continue_with(stop_cont{c.reason}));
  }
  otp::continue_result handle_continue(stop_cont c, state& s) {
    ++s.n;
    return otp::stop(c.reason);
  }
  otp::cast_result handle_cast(stop_cast c, state& s) {
    ++s.n;
    return otp::stop(c.reason);
  }
  otp::info_result handle_info(stop_info c, state& s) {
    ++s.n;
    return otp::stop(c.reason);
  }
  otp::info_result handle_info(otp::exit_msg e, state& s) {
    otp::send(s.test, info_exit{e});
    return otp::noreply();
  }
  void terminate(const otp::exit_reason& r, state& s) {
    otp::send(s.test, term_saw{r, s.n});
    if (s.throw_in_terminate) throw std::runtime_error("tboom");
  }
};
using T = term_srv;

otp::server_ref<T> start_t(bool trap = false, bool throw_in_terminate = false, otp::server_name name = {}) {
  return gs::start<T>(T::args{otp::self(), trap, throw_in_terminate}, {.name = std::move(name)}).value();
}

/// Starts a term_srv linked to a fresh parent process, which then exits
/// with whatever `exit_with` says (or is killed by the test).
struct parented {
  otp::pid parent;
  otp::pid server;
};
parented start_with_parent(bool trap) {
  otp::pid test = otp::self();
  otp::pid parent = otp::spawn([test, trap] {
    auto srv = gs::start_link<T>(T::args{test, trap}).value();
    otp::send(test, server_is{srv.get_pid()});
    auto e = recv<exit_with>();
    otp::exit(e.reason);
  });
  return {parent, recv<server_is>().pid};
}

/// Captures the node's log lines.
struct log_capture {
  explicit log_capture(otp::node& n) : node(n) {
    node.logger().set_sink([this](otp::log_level l, std::string_view text) {
      std::lock_guard lk(mu);
      lines.emplace_back(l, std::string(text));
    });
  }
  ~log_capture() { node.logger().set_sink({}); }
  std::vector<std::pair<otp::log_level, std::string>> take() {
    std::lock_guard lk(mu);
    return std::exchange(lines, {});
  }
  bool any(const std::string& needle) {
    std::lock_guard lk(mu);
    for (auto& [l, t] : lines)
      if (t.find(needle) != std::string::npos) return true;
    return false;
  }
  otp::node& node;
  std::mutex mu;
  std::vector<std::pair<otp::log_level, std::string>> lines;
};

/// Bare servers for §7: no callbacks but the ones named.
struct bare {
  struct ping {
    using reply = int;
  };
  struct stranger {};
  otp::call_result<int> handle_call(ping, const otp::from&) { return otp::reply(1); }
};
struct with_state_no_cc {
  using state = int;
  struct get {
    using reply = int;
  };
  otp::init_result<int> init(int v) { return otp::ok(v); }
  otp::call_result<int> handle_call(get, int& s) { return otp::reply(s); }
};

}  // namespace

// ===================================================================== §6

TEST(gen_server_6, item_6_1_terminate_called_for_stop_exception_stop_sys_and_parent) {
  test_node node;
  // {stop, ...} from handle_call / cast / info / continue, with the new state
  {
    auto s = start_t();
    (void)gs::try_call(s, T::stop_call{otp::exit_reason::other("c")});
    auto t = recv<term_saw>();
    EXPECT_EQ(t.reason, otp::exit_reason::other("c"));
    EXPECT_EQ(t.n, 1);
  }
  {
    auto s = start_t();
    gs::cast(s, T::stop_cast{otp::exit_reason::shutdown()});
    auto t = recv<term_saw>();
    EXPECT_EQ(t.reason, otp::exit_reason::shutdown());
    EXPECT_EQ(t.n, 1);
  }
  {
    auto s = start_t();
    otp::send(s.get_pid(), T::stop_info{otp::exit_reason::other("i")});
    auto t = recv<term_saw>();
    EXPECT_EQ(t.reason, otp::exit_reason::other("i"));
    EXPECT_EQ(t.n, 1);
  }
  {
    auto s = start_t();
    EXPECT_EQ(gs::call(s, T::cont_then_stop{otp::exit_reason::other("k")}, otp::infinity), 1);
    auto t = recv<term_saw>();
    EXPECT_EQ(t.reason, otp::exit_reason::other("k"));
    EXPECT_EQ(t.n, 2);
  }
  // an exception
  {
    auto s = start_t();
    (void)gs::try_call(s, T::raise_call{});
    auto t = recv<term_saw>();
    EXPECT_EQ(t.reason.to_string(), "{'std::runtime_error',\"kaboom\"}");
    EXPECT_EQ(t.n, 1);
  }
  // gen_server::stop and sys::terminate
  {
    auto s = start_t();
    gs::stop(s.get_pid(), otp::exit_reason::shutdown("s"));
    EXPECT_EQ(recv<term_saw>().reason, otp::exit_reason::shutdown("s"));
  }
  {
    auto s = start_t();
    otp::ref m = otp::monitor(s.get_pid());
    otp::sys::terminate(s.get_pid(), otp::exit_reason::other("sys"), otp::infinity);
    EXPECT_EQ(await_down(m).reason, otp::exit_reason::other("sys"));
    EXPECT_EQ(recv<term_saw>().reason, otp::exit_reason::other("sys"));
  }
  // the parent's exit while trapping
  {
    auto [parent, srv] = start_with_parent(true);
    otp::ref m = otp::monitor(srv);
    otp::send(parent, exit_with{otp::exit_reason::other("boom")});
    EXPECT_EQ(await_down(m).reason, otp::exit_reason::other("boom"));
    EXPECT_EQ(recv<term_saw>().reason, otp::exit_reason::other("boom"));
  }
  EXPECT_TRUE(mailbox_empty());
}

TEST(gen_server_6, item_6_2_terminate_not_called_for_kill_untrapped_signals) {
  test_node node;
  {  // kill, even when trapping
    auto s = start_t(true);
    otp::ref m = otp::monitor(s.get_pid());
    otp::exit(s.get_pid(), otp::exit_reason::kill());
    EXPECT_EQ(await_down(m).reason, otp::exit_reason::killed());
  }
  {  // an exit signal while not trapping, from a non-parent
    auto s = start_t(false);
    otp::ref m = otp::monitor(s.get_pid());
    otp::exit(s.get_pid(), otp::exit_reason::shutdown());
    EXPECT_EQ(await_down(m).reason, otp::exit_reason::shutdown());
  }
  {  // ... and from the parent
    auto [parent, srv] = start_with_parent(false);
    otp::ref m = otp::monitor(srv);
    otp::send(parent, exit_with{otp::exit_reason::other("boom")});
    EXPECT_EQ(await_down(m).reason, otp::exit_reason::other("boom"));
  }
  // a terminate would have sent its message before the DOWN (same sender)
  EXPECT_TRUE(mailbox_empty());
}

TEST(gen_server_6, item_6_3_stop_runs_terminate_without_trapping_and_checks_reason) {
  test_node node;
  for (const auto& reason : {otp::exit_reason::normal(), otp::exit_reason::shutdown(), otp::exit_reason::shutdown("x"),
                             otp::exit_reason::other("custom")}) {
    auto s = start_t(false);
    otp::ref m = otp::monitor(s.get_pid());
    EXPECT_NO_THROW(gs::stop(s.get_pid(), reason));
    // stop returned: the server has exited, with exactly `reason`
    EXPECT_FALSE(otp::is_alive(s.get_pid()));
    EXPECT_EQ(recv<term_saw>().reason, reason);
    EXPECT_EQ(await_down(m).reason, reason);
  }
  {  // terminate raises: the caller exits with the other reason
    auto s = start_t(false, true);
    otp::pid sp = s.get_pid();
    try {
      gs::stop(sp);
      ADD_FAILURE() << "stop returned";
    } catch (const otp::exit_error& e) {
      EXPECT_TRUE(e.reason().inner().is_exception());
      EXPECT_EQ(e.reason().inner().what(), "tboom");
      EXPECT_EQ(e.reason().to_string(),
                "{{'std::runtime_error',\"tboom\"},{gen_server,stop,[" + sp.to_string() + ",normal,infinity]}}");
    }
    EXPECT_TRUE(recv<term_saw>().reason.is_normal());
  }
  EXPECT_TRUE(mailbox_empty());
}

TEST(gen_server_6, item_6_4_stop_timeout_exits_caller_server_not_killed) {
  test_node node;
  otp::pid test = otp::self();
  auto s = start_t(false);
  otp::pid sp = s.get_pid();
  otp::ref m = otp::monitor(sp);
  otp::spawn([test, s] { otp::send(test, gs::call(s, T::block{}, otp::infinity)); });
  (void)recv<blocking>();
  otp::spawn([test, sp] {
    try {
      gs::stop(sp, otp::exit_reason::normal(), 100ms);
      otp::send(test, std::string("returned"));
    } catch (const otp::exit_error& e) {
      otp::send(test, e.reason());
    }
  });
  ASSERT_TRUE(wait_for_timers(node, 1));
  node->advance_time(100ms);
  auto r = recv<otp::exit_reason>();
  EXPECT_EQ(r.inner(), otp::exit_reason::timeout());
  EXPECT_EQ(r.to_string(), "{timeout,{gen_server,stop,[" + sp.to_string() + ",normal,100]}}");
  EXPECT_TRUE(otp::is_alive(sp));  // not killed
  // the queued stop request still takes effect after the busy callback
  otp::send(sp, go{});
  EXPECT_EQ(recv<int>(), 1);
  EXPECT_TRUE(recv<term_saw>().reason.is_normal());
  EXPECT_TRUE(await_down(m).reason.is_normal());
}

TEST(gen_server_6, item_6_5_stop_of_missing_target_or_self) {
  test_node node;
  otp::pid dead = dead_pid();
  try {
    gs::stop(dead);
    ADD_FAILURE() << "stop of a dead pid returned";
  } catch (const otp::exit_error& e) {
    EXPECT_EQ(e.reason().inner(), otp::exit_reason::noproc());
    EXPECT_EQ(e.reason().to_string(), "{noproc,{gen_server,stop,[" + dead.to_string() + ",normal,infinity]}}");
  }
  try {
    gs::stop("nobody_6_5");
    ADD_FAILURE() << "stop of an unknown name returned";
  } catch (const otp::exit_error& e) {
    EXPECT_EQ(e.reason().to_string(), "{noproc,{gen_server,stop,[nobody_6_5,normal,infinity]}}");
  }
  otp::pid me = otp::self();
  try {
    gs::stop(me);
    ADD_FAILURE() << "stop of self returned";
  } catch (const otp::exit_error& e) {
    EXPECT_EQ(e.reason().to_string(), "{calling_self,{gen_server,stop,[" + me.to_string() + ",normal,infinity]}}");
  }
  auto s = start_t();
  EXPECT_EQ(gs::call(s, T::stop_self{}, otp::infinity),
            "{calling_self,{gen_server,stop,[" + s.get_pid().to_string() + ",normal,infinity]}}");
  EXPECT_TRUE(otp::is_alive(s.get_pid()));
  gs::stop(s.get_pid());
  EXPECT_TRUE(recv<term_saw>().reason.is_normal());
}

TEST(gen_server_6, item_6_6_terminate_raising_replaces_exit_reason) {
  test_node node;
  log_capture logs(node);
  auto s = start_t(false, true, "raiser_6_6");
  otp::ref m = otp::monitor(s.get_pid());
  gs::cast(s, T::stop_cast{otp::exit_reason::normal()});
  auto down = await_down(m).reason;
  EXPECT_TRUE(down.is_exception());
  EXPECT_EQ(down.to_string(), "{'std::runtime_error',\"tboom\"}");
  EXPECT_TRUE(recv<term_saw>().reason.is_normal());
  EXPECT_TRUE(logs.any("GenServer raiser_6_6 terminating"));  // and it is logged
  EXPECT_TRUE(logs.any("tboom"));
}

TEST(gen_server_6, item_6_7_parent_exit_trapping_terminates_else_dies_or_survives_normal) {
  test_node node;
  const auto boom = otp::exit_reason::other("boom");
  {  // trapping: terminate(R), exit R, not passed to handle_info
    for (const auto& r : {otp::exit_reason::shutdown(), boom, otp::exit_reason::normal()}) {
      auto [parent, srv] = start_with_parent(true);
      otp::ref m = otp::monitor(srv);
      otp::send(parent, exit_with{r});
      EXPECT_EQ(await_down(m).reason, r);
      auto msgs = drain();
      ASSERT_EQ(msgs.size(), 1u);  // only terminate's note; no info_exit
      ASSERT_TRUE(msgs[0].is<term_saw>()) << msgs[0].type_name();
      EXPECT_EQ(msgs[0].get<term_saw>().reason, r);
    }
  }
  {  // trapping, the parent is killed: terminate(killed)
    auto [parent, srv] = start_with_parent(true);
    otp::ref m = otp::monitor(srv);
    otp::exit(parent, otp::exit_reason::kill());
    EXPECT_EQ(await_down(m).reason, otp::exit_reason::killed());
    EXPECT_EQ(recv<term_saw>().reason, otp::exit_reason::killed());
  }
  {  // not trapping: dies with R, no terminate
    auto [parent, srv] = start_with_parent(false);
    otp::ref m = otp::monitor(srv);
    otp::send(parent, exit_with{boom});
    EXPECT_EQ(await_down(m).reason, boom);
    EXPECT_TRUE(mailbox_empty());
  }
  {  // not trapping, the parent exits normal: the server keeps running
    auto [parent, srv] = start_with_parent(false);
    otp::ref pm = otp::monitor(parent);
    otp::send(parent, exit_with{otp::exit_reason::normal()});
    EXPECT_TRUE(await_down(pm).reason.is_normal());
    // the link signal reached the server before this call
    EXPECT_EQ(gs::call<T>(srv, T::bump{}, otp::infinity), 1);
    EXPECT_TRUE(otp::is_alive(srv));
    EXPECT_TRUE(mailbox_empty());
    gs::stop(srv);
    EXPECT_TRUE(recv<term_saw>().reason.is_normal());
  }
}

TEST(gen_server_6, item_6_8_unlinked_start_parent_is_self_exit_goes_to_handle_info) {
  test_node node;
  otp::pid test = otp::self();
  auto [p, pm] = otp::spawn_monitor([test] {
    auto srv = gs::start<T>(T::args{test, true}).value();
    otp::link(srv.get_pid());
    otp::send(test, server_is{srv.get_pid()});
    otp::exit(otp::exit_reason::other("bye"));
  });
  otp::pid srv = recv<server_is>().pid;
  EXPECT_EQ(await_down(pm).reason, otp::exit_reason::other("bye"));
  auto ie = recv<info_exit>();
  EXPECT_EQ(ie.e.from, p);
  EXPECT_EQ(ie.e.reason, otp::exit_reason::other("bye"));
  EXPECT_TRUE(otp::is_alive(srv));
  EXPECT_EQ(otp::sys::get_status(srv, otp::infinity).parent, srv);
  gs::stop(srv);
  EXPECT_TRUE(recv<term_saw>().reason.is_normal());

  // with start_link the parent is the starter
  auto [parent, linked] = start_with_parent(true);
  EXPECT_EQ(otp::sys::get_status(linked, otp::infinity).parent, parent);
  gs::stop(linked);
  EXPECT_TRUE(recv<term_saw>().reason.is_normal());
  otp::exit(parent, otp::exit_reason::kill());
}

TEST(gen_server_6, item_6_9_non_parent_exit_signal_trapped_is_info_else_kills) {
  test_node node;
  {  // trapping: a linked crash and an exit/2 become handle_info; the server lives
    auto s = start_t(true);
    otp::pid sp = s.get_pid();
    auto [q, qm] = otp::spawn_monitor([sp] {
      otp::link(sp);
      otp::exit(otp::exit_reason::other("linked_crash"));
    });
    EXPECT_EQ(await_down(qm).reason, otp::exit_reason::other("linked_crash"));
    auto ie = recv<info_exit>();
    EXPECT_EQ(ie.e.from, q);
    EXPECT_EQ(ie.e.reason, otp::exit_reason::other("linked_crash"));
    otp::exit(sp, otp::exit_reason::shutdown());
    auto ie2 = recv<info_exit>();
    EXPECT_EQ(ie2.e.from, otp::self());
    EXPECT_EQ(ie2.e.reason, otp::exit_reason::shutdown());
    EXPECT_EQ(gs::call(s, T::bump{}, otp::infinity), 1);
    gs::stop(sp);
    EXPECT_TRUE(recv<term_saw>().reason.is_normal());
  }
  {  // not trapping: a linked crash kills it, no terminate
    auto s = start_t(false);
    otp::pid sp = s.get_pid();
    otp::ref m = otp::monitor(sp);
    otp::spawn([sp] {
      otp::link(sp);
      otp::exit(otp::exit_reason::other("linked_crash"));
    });
    EXPECT_EQ(await_down(m).reason, otp::exit_reason::other("linked_crash"));
    EXPECT_TRUE(mailbox_empty());
  }
  {  // not trapping: exit(P, normal) from another process is ignored
    auto s = start_t(false);
    otp::pid sp = s.get_pid();
    otp::exit(sp, otp::exit_reason::normal());
    EXPECT_EQ(gs::call(s, T::bump{}, otp::infinity), 1);
    EXPECT_TRUE(otp::is_alive(sp));
    gs::stop(sp);
    EXPECT_TRUE(recv<term_saw>().reason.is_normal());
  }
}

TEST(gen_server_6, item_6_10_only_abnormal_reasons_are_logged) {
  test_node node;
  log_capture logs(node);
  for (const auto& r : {otp::exit_reason::normal(), otp::exit_reason::shutdown(), otp::exit_reason::shutdown("x")}) {
    auto s = start_t(false, false, "quiet_6_10");
    gs::stop(s.get_pid(), r);
    (void)recv<term_saw>();
  }
  EXPECT_FALSE(logs.any("terminating")) << "a normal/shutdown exit was logged";
  auto s = start_t(false, false, "loud_6_10");
  otp::ref m = otp::monitor(s.get_pid());
  (void)gs::try_call(s, T::stop_call{otp::exit_reason::other("custom_6_10")});
  EXPECT_EQ(await_down(m).reason, otp::exit_reason::other("custom_6_10"));
  (void)recv<term_saw>();
  auto lines = logs.take();
  bool found = false;
  for (auto& [level, text] : lines) {
    if (text.find("GenServer loud_6_10 terminating") == std::string::npos) continue;
    found = true;
    EXPECT_EQ(level, otp::log_level::error);
    EXPECT_NE(text.find("custom_6_10"), std::string::npos) << text;          // the reason
    EXPECT_NE(text.find("stop_call"), std::string::npos) << text;            // the last message
    EXPECT_NE(text.find("Client " + otp::self().to_string()), std::string::npos) << text;  // the client
  }
  EXPECT_TRUE(found);
}

// ===================================================================== §7

TEST(gen_server_7, item_7_3_default_handle_call_crashes_server_and_caller) {
  test_node node;
  auto srv = gs::start<bare>().value();
  otp::pid sp = srv.get_pid();
  otp::ref m = otp::monitor(sp);
  auto r = gs::try_call(otp::detail::target(sp), bare::stranger{});
  ASSERT_FALSE(r.ok());
  const auto& e = r.error().inner();
  EXPECT_TRUE(e.is_exception()) << e.to_string();
  EXPECT_EQ(e.detail(), "std::runtime_error");
  EXPECT_EQ(std::string(e.what()).rfind("attempted to call GenServer " + sp.to_string() + " but no handle_call", 0), 0u)
      << e.what();
  EXPECT_EQ(r.error().to_string().rfind("{" + e.to_string() + ",{gen_server,call,[" + sp.to_string() + ",", 0), 0u)
      << r.error().to_string();
  EXPECT_EQ(await_down(m).reason, e);
}

TEST(gen_server_7, item_7_4_default_handle_cast_crashes_server_naming_it) {
  test_node node;
  {
    auto srv = gs::start<bare>().value();
    otp::pid sp = srv.get_pid();
    otp::ref m = otp::monitor(sp);
    gs::cast(otp::detail::target(sp), bare::stranger{});
    auto down = await_down(m).reason;
    EXPECT_TRUE(down.is_exception());
    EXPECT_EQ(std::string(down.what()).rfind("attempted to cast GenServer " + sp.to_string() + " but no handle_cast", 0),
              0u)
        << down.what();
  }
  {  // a registered server is named by its name
    auto srv = gs::start<bare>({.name = "bare_7_4"}).value();
    otp::ref m = otp::monitor(srv.get_pid());
    gs::cast(otp::detail::target("bare_7_4"), bare::stranger{});
    auto down = await_down(m).reason;
    EXPECT_TRUE(down.is_exception());
    EXPECT_EQ(std::string(down.what()).rfind("attempted to cast GenServer bare_7_4 but no handle_cast", 0), 0u)
        << down.what();
  }
}

TEST(gen_server_7, item_7_5_default_handle_info_logs_error_and_continues) {
  test_node node;
  log_capture logs(node);
  auto srv = gs::start<bare>().value();
  otp::pid sp = srv.get_pid();
  otp::send(sp, bare::stranger{});
  EXPECT_EQ(gs::call(srv, bare::ping{}, otp::infinity), 1);  // still running
  auto lines = logs.take();
  bool found = false;
  for (auto& [level, text] : lines) {
    if (text.find("received unexpected message in handle_info") == std::string::npos) continue;
    found = true;
    EXPECT_EQ(level, otp::log_level::error);
    EXPECT_NE(text.find(sp.to_string()), std::string::npos) << text;
    EXPECT_NE(text.find("bare"), std::string::npos) << text;      // the module
    EXPECT_NE(text.find("stranger"), std::string::npos) << text;  // the message
  }
  EXPECT_TRUE(found);
  gs::stop(sp);
}

TEST(gen_server_7, item_7_6_default_terminate_and_code_change) {
  test_node node;
  auto srv = gs::start<with_state_no_cc>(41).value();
  otp::pid sp = srv.get_pid();
  otp::sys::suspend(sp, otp::infinity);
  EXPECT_FALSE(otp::sys::change_code(sp, "1", {}, otp::infinity).has_value());  // {ok, State}
  otp::sys::resume(sp, otp::infinity);
  EXPECT_EQ(gs::call(srv, with_state_no_cc::get{}, otp::infinity), 41);  // state kept
  otp::ref m = otp::monitor(sp);
  EXPECT_NO_THROW(gs::stop(sp, otp::exit_reason::shutdown()));  // no terminate: stop still works
  EXPECT_EQ(await_down(m).reason, otp::exit_reason::shutdown());
}
