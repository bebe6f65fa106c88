// Conformance tests for otp::dynamic_supervisor (Elixir's DynamicSupervisor):
// ../shared/otp-semantics.md §11.23-11.26, one test per item, plus
// max_children, extra_arguments, restart types and intensity, a failed
// restart shown as `restarting`, the unexpected-message log, sys, and
// otp::partition_supervisor (Elixir's PartitionSupervisor).
//
// Children record their init and terminate in a shared, ordered event log
// (see supervisor_test.cpp).
//
// Items not tested here, and why:
//  * 11.23 `{ok, Pid, Info}`: a start function returns a child_start (a
//    pid, ignore or an error); there is no Info.
//  * 11.24 `modules` in which_children entries: C++ has no modules.
//  * 11.25 strategies other than one_for_one (`{supervisor_data,
//    {invalid_strategy, S}}`): dynamic_supervisor::options has no strategy,
//    so the only strategy is one_for_one by construction. The shutdown and
//    the defaults are tested.

#include <gtest/gtest.h>

#include <algorithm>
#include <any>
#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "otp/child_spec.hpp"
#include "otp/dynamic_supervisor.hpp"
#include "otp/gen_server.hpp"
#include "otp/logger.hpp"
#include "otp/supervisor.hpp"
#include "otp/sys.hpp"
#include "support/supervision.hpp"
#include "support/test_node.hpp"

using namespace otp_test;
using namespace std::chrono_literals;
namespace gs = otp::gen_server;
namespace sup = otp::supervisor;
namespace dyn = otp::dynamic_supervisor;
namespace part = otp::partition_supervisor;

namespace {

/// Starts an unlinked dynamic supervisor (tests that make it exit must not
/// be killed by the link).
otp::pid start_dyn(dyn::options o = {}) {
  auto r = dyn::start(std::move(o));
  EXPECT_TRUE(r.ok()) << r.error().to_string();
  return r.get_pid();
}

std::vector<otp::pid> running_children(const otp::pid& s) {
  std::vector<otp::pid> out;
  for (auto& c : dyn::which_children(s))
    if (c.state == sup::child_info::status::running) out.push_back(c.child);
  return out;
}


}  // namespace

// ============================================================ §11.23-11.26

TEST(dynamic_supervisor, s11_23_start_child_ok_ignore_error_max_children_extra_arguments) {
  test_node node;
  auto log = make_log();
  otp::pid s = start_dyn({.max_children = 3});
  // ok: the same spec (the same id) any number of times
  auto spec = wspec("w", log);
  auto r1 = dyn::start_child(s, spec);
  auto r2 = dyn::start_child(s, spec);
  ASSERT_TRUE(r1.ok());
  ASSERT_TRUE(r2.ok());
  EXPECT_NE(r1.get_pid(), r2.get_pid());
  EXPECT_TRUE(otp::is_alive(r1.get_pid()));
  EXPECT_EQ(log->count("start w"), 2u);
  // ignore: `ignore` (not {ok, undefined}), and nothing is kept
  auto ig = dyn::start_child(s, ignoring("i"));
  EXPECT_FALSE(ig.ok());
  EXPECT_TRUE(ig.ignored());
  // {error, Reason}: the child's own reason, not wrapped
  auto f = dyn::start_child(s, failing("f"));
  EXPECT_FALSE(f.ok());
  EXPECT_FALSE(f.ignored());
  EXPECT_EQ(f.error(), otp::exit_reason::other("nope"));
  auto fx = dyn::start_child(s, otp::child_spec{.id = "x", .start = []() -> otp::child_start {
                                                   throw std::runtime_error("bad");
                                                 }});
  EXPECT_EQ(fx.error().what(), "bad");
  EXPECT_EQ(dyn::count_children(s), (sup::child_counts{.specs = 2, .active = 2, .supervisors = 0, .workers = 2}));
  // {error, max_children}
  ASSERT_TRUE(dyn::start_child(s, spec).ok());
  auto mx = dyn::start_child(s, spec);
  EXPECT_FALSE(mx.ok());
  EXPECT_EQ(mx.error(), otp::exit_reason::other("max_children"));
  EXPECT_EQ(log->count("start w"), 3u);
  ASSERT_TRUE(dyn::terminate_child(s, r1.get_pid()).ok());
  EXPECT_TRUE(dyn::start_child(s, spec).ok());  // room again

  // extra_arguments reach (prepended to) each child's start function, also on restart
  otp::pid e = start_dyn({.extra_arguments = std::string("pre")});
  otp::child_spec xs{.id = "ignored", .start = [log](const std::any& extra) {
                       std::string pre = extra.has_value() ? std::any_cast<std::string>(extra) : "none";
                       return gs::start_link<wk>(wk::args{pre + "-x", log});
                     }};
  auto rx = dyn::start_child(e, xs);
  ASSERT_TRUE(rx.ok());
  EXPECT_EQ(log->count("start pre-x"), 1u);
  crash(rx.get_pid());
  ASSERT_TRUE(log->wait_for("start pre-x", 2));
  // a start function without the parameter works under extra_arguments too
  EXPECT_TRUE(dyn::start_child(e, wspec("plain", log)).ok());
  EXPECT_EQ(log->count("start plain"), 1u);
  // no extra_arguments: an empty std::any
  EXPECT_TRUE(dyn::start_child(start_dyn(), xs).ok());
  EXPECT_EQ(log->count("start none-x"), 1u);
}

TEST(dynamic_supervisor, s11_24_which_children_count_children_terminate_child_by_pid) {
  test_node node;
  auto log = make_log();
  otp::pid s = start_dyn();
  auto a = dyn::start_child(s, wspec("a", log)).get_pid();
  auto b = dyn::start_child(s, wspec("b", log)).get_pid();
  auto inner = dyn::start_child(s, otp::child_spec{.id = "d",
                                                   .start = [] { return dyn::start_link(); },
                                                   .type = otp::child_type::supervisor})
                   .get_pid();
  ASSERT_TRUE(inner);
  auto cs = dyn::which_children(s);
  ASSERT_EQ(cs.size(), 3u);
  std::set<otp::pid> seen;
  for (auto& c : cs) {
    EXPECT_TRUE(c.id.empty());  // `undefined`
    EXPECT_EQ(c.state, sup::child_info::status::running);
    EXPECT_EQ(c.type, c.child == inner ? otp::child_type::supervisor : otp::child_type::worker);
    seen.insert(c.child);
  }
  EXPECT_EQ(seen, (std::set<otp::pid>{a, b, inner}));
  EXPECT_EQ(dyn::count_children(s), (sup::child_counts{.specs = 3, .active = 3, .supervisors = 1, .workers = 2}));
  // terminate_child(pid): ok, the child stops with shutdown, nothing kept
  otp::ref ma = otp::monitor(a);
  EXPECT_TRUE(dyn::terminate_child(s, a).ok());
  EXPECT_EQ(await_down(ma).reason, otp::exit_reason::shutdown());
  EXPECT_EQ(log->count("stop a shutdown"), 1u);
  EXPECT_EQ(dyn::count_children(s), (sup::child_counts{.specs = 2, .active = 2, .supervisors = 1, .workers = 1}));
  EXPECT_EQ(dyn::terminate_child(s, a).error(), otp::exit_reason::other("not_found"));
  EXPECT_EQ(dyn::terminate_child(s, otp::self()).error(), otp::exit_reason::other("not_found"));
  EXPECT_EQ(log->count("start a"), 1u);  // not restarted
}

TEST(dynamic_supervisor, s11_25_defaults_and_shutdown_must_be_positive) {
  test_node node;
  dyn::options o;
  EXPECT_EQ(o.max_restarts, 3);
  EXPECT_EQ(o.max_seconds, 5s);
  EXPECT_FALSE(o.max_children.has_value());  // infinity
  EXPECT_FALSE(o.extra_arguments.has_value());
  auto log = make_log();
  otp::pid s = start_dyn();
  // shutdown 0: {invalid_shutdown, 0}, although Supervisor accepts it
  auto z = dyn::start_child(s, wspec("z", log, {.shutdown = otp::shutdown_policy(0ms)}));
  EXPECT_FALSE(z.ok());
  EXPECT_EQ(z.error().to_string(), "{invalid_shutdown,0}");
  EXPECT_EQ(dyn::count_children(s).specs, 0u);
  EXPECT_TRUE(log->get().empty());
  EXPECT_TRUE(dyn::start_child(s, wspec("one", log, {.shutdown = otp::shutdown_policy(1ms)})).ok());
  EXPECT_TRUE(dyn::start_child(s, wspec("bk", log, {.shutdown = otp::shutdown_policy::brutal_kill()})).ok());
  EXPECT_TRUE(dyn::start_child(s, wspec("inf", log, {.shutdown = otp::shutdown_policy::infinity()})).ok());
  // invalid flags
  auto bad = dyn::start({.max_restarts = -1});
  EXPECT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().to_string(), "{supervisor_data,{invalid_intensity,-1}}");
  auto badp = dyn::start({.max_seconds = 0s});
  EXPECT_EQ(badp.error().to_string(), "{supervisor_data,{invalid_period,0}}");
  // the default intensity: 3 restarts in 5 s pass, the 4th stops it
  otp::pid s2 = start_dyn();
  otp::ref m2 = otp::monitor(s2);
  auto c = dyn::start_child(s2, wspec("c", log)).get_pid();
  for (std::size_t i = 1; i <= 3; ++i) {
    crash(c);
    ASSERT_TRUE(log->wait_for("start c", i + 1));
    ASSERT_TRUE(wait_until([&] { return running_children(s2).size() == 1; }));
    c = running_children(s2)[0];
  }
  crash(c);
  EXPECT_EQ(await_down(m2).reason, otp::exit_reason::shutdown());
}

TEST(dynamic_supervisor, s11_26_crashed_child_restarted_with_same_args_and_children_stop_concurrently) {
  test_node node;
  auto log = make_log();
  otp::pid test = otp::self();
  otp::pid s = start_dyn();
  auto a = dyn::start_child(s, wspec("a", log, {.value = 42})).get_pid();
  auto other = dyn::start_child(s, wspec("o", log)).get_pid();
  otp::ref ma = otp::monitor(a);
  crash(a);
  EXPECT_EQ(await_down(ma).reason, otp::exit_reason::other("boom"));
  ASSERT_TRUE(log->wait_for("start a", 2));
  std::vector<otp::pid> now;
  ASSERT_TRUE(wait_until([&] {
    now = running_children(s);
    return now.size() == 2;
  }));
  otp::pid a2 = now[0] == other ? now[1] : now[0];
  EXPECT_NE(a2, a);
  EXPECT_TRUE(std::find(now.begin(), now.end(), other) != now.end());
  EXPECT_EQ(gs::call(otp::server_ref<wk>(a2), wk::get_value{}), 42);  // the same args

  // termination: every child is told at once, each under its own timer
  otp::pid s2 = start_dyn();
  auto p1 = dyn::start_child(s2, wspec("p1", log, {.shutdown = otp::shutdown_policy(1000ms), .block_terminate = true,
                                                   .notify = test}))
                .get_pid();
  auto p2 = dyn::start_child(s2, wspec("p2", log, {.shutdown = otp::shutdown_policy(3000ms), .block_terminate = true,
                                                   .notify = test}))
                .get_pid();
  auto p3 = dyn::start_child(s2, wspec("p3", log, {.notify = test})).get_pid();
  auto p4 = dyn::start_child(s2, wspec("p4", log, {.shutdown = otp::shutdown_policy::brutal_kill(), .notify = test}))
                .get_pid();
  otp::ref m1 = otp::monitor(p1), m2 = otp::monitor(p2), m3 = otp::monitor(p3), m4 = otp::monitor(p4),
           ms = otp::monitor(s2);
  otp::spawn([s2] { gs::stop(s2, otp::exit_reason::shutdown()); });
  // p1, p2 and p3 all run terminate before any time passes (sequential
  // shutdown would wait 1000 ms for p1 or p2 before telling the next)
  std::set<std::string> told;
  for (int i = 0; i < 3; ++i) {
    auto t = recv<terminating>();
    EXPECT_EQ(t.reason, otp::exit_reason::shutdown());
    told.insert(t.id);
  }
  EXPECT_EQ(told, (std::set<std::string>{"p1", "p2", "p3"}));
  EXPECT_EQ(await_down(m4).reason, otp::exit_reason::killed());   // brutal_kill: no terminate
  EXPECT_EQ(await_down(m3).reason, otp::exit_reason::shutdown());
  ASSERT_TRUE(wait_for_timers(node, 1));
  node->advance_time(999ms);
  EXPECT_TRUE(otp::is_alive(p1));
  node->advance_time(1ms);
  EXPECT_EQ(await_down(m1).reason, otp::exit_reason::killed());
  EXPECT_TRUE(otp::is_alive(p2));
  ASSERT_TRUE(wait_for_timers(node, 1));  // re-armed for p2 (the old wait ended before p1's kill)
  node->advance_time(1999ms);
  EXPECT_TRUE(otp::is_alive(p2));
  node->advance_time(1ms);
  EXPECT_EQ(await_down(m2).reason, otp::exit_reason::killed());
  EXPECT_EQ(await_down(ms).reason, otp::exit_reason::shutdown());
  EXPECT_TRUE(mailbox_empty());
}

// ============================================================ beyond the checklist

TEST(dynamic_supervisor, restart_types_transient_and_temporary_keep_nothing) {
  test_node node;
  auto log = make_log();
  using rt = otp::restart_type;
  otp::pid s = start_dyn({.max_restarts = 100});
  auto perm = dyn::start_child(s, wspec("perm", log)).get_pid();
  auto tn = dyn::start_child(s, wspec("tn", log, {.restart = rt::transient})).get_pid();
  auto tx = dyn::start_child(s, wspec("tx", log, {.restart = rt::transient})).get_pid();
  auto tmp = dyn::start_child(s, wspec("tmp", log, {.restart = rt::temporary})).get_pid();
  crash(perm, otp::exit_reason::normal());  // permanent: restarted even after normal
  ASSERT_TRUE(log->wait_for("start perm", 2));
  crash(tx, otp::exit_reason::other("oops"));  // transient, abnormal: restarted
  ASSERT_TRUE(log->wait_for("start tx", 2));
  crash(tn, otp::exit_reason::shutdown("x"));  // transient, {shutdown, _}: gone
  crash(tmp, otp::exit_reason::other("oops"));  // temporary: gone
  ASSERT_TRUE(wait_until([&] { return dyn::count_children(s).specs == 2; }));
  EXPECT_EQ(dyn::count_children(s), (sup::child_counts{.specs = 2, .active = 2, .supervisors = 0, .workers = 2}));
  EXPECT_EQ(log->count("start tn"), 1u);
  EXPECT_EQ(log->count("start tmp"), 1u);
}

TEST(dynamic_supervisor, failed_restart_shows_restarting_is_retried_and_counts) {
  test_node node;
  auto log = make_log();
  otp::pid test = otp::self();
  {
    auto attempts = std::make_shared<std::atomic<int>>(0);
    otp::pid s = start_dyn();
    otp::child_spec spec{.id = "a", .start = [log, attempts, test]() -> otp::child_start {
                           int k = ++*attempts;
                           if (k == 2) {
                             otp::send(test, attempt{k});
                             (void)otp::receive_as<go>();
                             return otp::child_start::error(otp::exit_reason::other("nope"));
                           }
                           return gs::start_link<wk>(wk::args{"a", log});
                         }};
    auto a = dyn::start_child(s, spec).get_pid();
    crash(a);
    EXPECT_EQ(recv<attempt>().n, 2);
    otp::spawn([s, test] { otp::send(test, dyn::which_children(s)); });
    otp::spawn([s, test] { otp::send(test, dyn::count_children(s)); });
    ASSERT_TRUE(wait_until([&] { return otp::process_info(s)->message_queue_len >= 2; }));
    otp::send(s, go{});
    auto cs = recv<std::vector<sup::child_info>>();
    ASSERT_EQ(cs.size(), 1u);
    EXPECT_EQ(cs[0].state, sup::child_info::status::restarting);
    EXPECT_FALSE(cs[0].child);
    EXPECT_EQ(recv<sup::child_counts>(), (sup::child_counts{.specs = 1, .active = 0, .supervisors = 0, .workers = 1}));
    ASSERT_TRUE(log->wait_for("start a", 2));
    EXPECT_EQ(dyn::which_children(s)[0].state, sup::child_info::status::running);
    EXPECT_EQ(attempts->load(), 3);
  }
  {  // always failing: 1 start + 3 restart attempts, then shutdown (3 in 5 s)
    auto attempts = std::make_shared<std::atomic<int>>(0);
    otp::pid s = start_dyn();
    otp::ref ms = otp::monitor(s);
    otp::child_spec spec{.id = "a", .start = [log, attempts]() -> otp::child_start {
                           if (++*attempts == 1) return gs::start_link<wk>(wk::args{"b", log});
                           return otp::child_start::error(otp::exit_reason::other("nope"));
                         }};
    crash(dyn::start_child(s, spec).get_pid());
    EXPECT_EQ(await_down(ms).reason, otp::exit_reason::shutdown());
    EXPECT_EQ(attempts->load(), 4);
  }
}

TEST(dynamic_supervisor, logs_unexpected_messages_and_works_with_sys) {
  test_node node;
  log_capture cap(node);
  auto log = make_log();
  auto r = dyn::start({}, {.name = "dyn"});
  ASSERT_TRUE(r.ok());
  otp::pid s = r.get_pid();
  ASSERT_TRUE(dyn::start_child("dyn", wspec("a", log)).ok());
  EXPECT_TRUE(otp::process_info(s)->trap_exit);
  otp::send(s, 42);
  EXPECT_EQ(dyn::count_children(s).active, 1u);  // after the info (same sender)
  EXPECT_TRUE(cap.any("DynamicSupervisor received unexpected message: 42", otp::log_level::error));
  auto st = otp::sys::get_status("dyn");
  EXPECT_EQ(st.server, s);
  EXPECT_EQ(st.state, "dynamic supervisor dyn with 1 children");
}

// ============================================================ partition_supervisor

TEST(partition_supervisor, start_and_whereis_routes_keys_to_distinct_live_partitions) {
  test_node node;
  auto r = part::start_link({.name = "parts", .partitions = 3});
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(part::partitions("parts"), 3u);
  EXPECT_EQ(otp::whereis("parts"), r.get_pid());
  std::set<otp::pid> ps;
  for (std::size_t k = 0; k < 3; ++k) {
    otp::pid p = part::whereis("parts", k);
    ASSERT_TRUE(p) << k;
    EXPECT_TRUE(otp::is_alive(p));
    ps.insert(p);
  }
  EXPECT_EQ(ps.size(), 3u);
  // the same key always gives the same partition; keys wrap around
  EXPECT_EQ(part::whereis("parts", std::size_t{3}), part::whereis("parts", std::size_t{0}));
  EXPECT_EQ(part::whereis("parts", std::size_t{7}), part::whereis("parts", std::size_t{7}));
  EXPECT_TRUE(ps.count(part::whereis("parts", std::string("user-17"))));
  // the partitions are the outer supervisor's children, dynamic supervisors by default
  auto cs = sup::which_children(r.get_pid());
  ASSERT_EQ(cs.size(), 3u);
  for (auto& c : cs) {
    EXPECT_EQ(c.type, otp::child_type::supervisor);
    EXPECT_TRUE(ps.count(c.child));
  }
  auto log = make_log();
  otp::pid p0 = part::whereis("parts", std::size_t{0});
  ASSERT_TRUE(dyn::start_child(p0, wspec("w", log)).ok());
  EXPECT_EQ(dyn::count_children(p0).active, 1u);
  // the name is taken: the start fails, the running one's routing stays
  auto again = part::start_link({.name = "parts", .partitions = 5});
  EXPECT_FALSE(again.ok());
  EXPECT_EQ(again.existing(), r.get_pid());
  EXPECT_EQ(part::partitions("parts"), 3u);
  EXPECT_EQ(part::whereis("parts", std::size_t{0}), p0);
  // unknown name
  EXPECT_FALSE(part::whereis("nope", std::size_t{1}));
  EXPECT_EQ(part::partitions("nope"), 0u);
  // default: one partition per scheduler
  auto d = part::start_link({.name = "parts_default"});
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(part::partitions("parts_default"), node->scheduler_count());
}

TEST(partition_supervisor, killed_partition_is_restarted_and_its_name_reregistered) {
  test_node node;
  auto log = make_log();
  // partitions of a custom child: a worker per partition
  auto r = part::start_link({.name = "wp", .partitions = 2, .child = [log](std::size_t i) {
                               return wspec("w" + std::to_string(i), log);
                             }});
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(log->wait_for("start w1"));
  otp::pid p1 = part::whereis("wp", std::size_t{1});
  otp::pid p0 = part::whereis("wp", std::size_t{0});
  ASSERT_TRUE(p1);
  otp::ref m = otp::monitor(p1);
  otp::exit(p1, otp::exit_reason::kill());
  EXPECT_EQ(await_down(m).reason, otp::exit_reason::killed());
  ASSERT_TRUE(log->wait_for("start w1", 2));
  otp::pid q1;
  ASSERT_TRUE(wait_until([&] {
    q1 = part::whereis("wp", std::size_t{1});
    return q1 && q1 != p1;
  }));
  EXPECT_TRUE(otp::is_alive(q1));
  EXPECT_EQ(part::whereis("wp", std::size_t{0}), p0);
  // the outer supervisor holds the new pid
  bool found = false;
  for (auto& c : sup::which_children(r.get_pid())) found |= c.child == q1;
  EXPECT_TRUE(found);
}
