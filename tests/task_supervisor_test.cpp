// Task.Supervisor (otp::task_supervisor): §13.8 of otp-semantics.md, plus
// the supervision a task gets from it (children, shutdown with the
// supervisor, max_children, transient restarts).
//
// Not covered: Task.Supervisor.async_stream(_nolink) (tasks::async_stream
// covers the stream itself; the supervised variants are not built).

#include <gtest/gtest.h>

#include <algorithm>
#include <stdexcept>
#include <string>

#include "otp/task_supervisor.hpp"
#include "support/test_node.hpp"

using namespace otp_test;
using namespace std::chrono_literals;
namespace ts = otp::task_supervisor;

namespace {
struct outcome {
  bool threw = false;
  otp::exit_reason reason;
};
struct task_pid {
  otp::pid p;
};
bool links_to(const otp::pid& p, const otp::pid& other) {
  auto info = otp::process_info(p);
  return info && std::find(info->links.begin(), info->links.end(), other) != info->links.end();
}
}  // namespace

TEST(task_supervisor, s13_8_async_nolink_crash_spares_the_caller_and_await_exits_with_the_reason) {
  test_node n;
  auto sup = ts::start_link().value();
  otp::pid me = otp::self();
  // A non-trapping caller: a linked task's crash would kill it.
  auto [caller, mref] = otp::spawn_monitor([me, sup] {
    auto t = ts::async_nolink(sup.target(), []() -> int { throw std::runtime_error("task broke"); });
    outcome o;
    try {
      (void)otp::tasks::await(t, otp::infinity);
    } catch (const otp::exit_error& e) {
      o = {true, e.reason()};
    }
    otp::send(me, o);
  });
  auto o = recv<outcome>();
  EXPECT_TRUE(o.threw);
  EXPECT_EQ(o.reason.inner().what(), "task broke");
  EXPECT_NE(o.reason.detail().find("Task,await"), std::string::npos) << o.reason.to_string();
  EXPECT_EQ(await_down(mref).reason, otp::exit_reason::normal());  // the caller finished normally
}

TEST(task_supervisor, s13_8_async_nolink_result_is_awaited_like_a_task) {
  test_node n;
  auto sup = ts::start_link().value();
  auto t = ts::async_nolink(sup.target(), [] { return std::string("done"); });
  EXPECT_FALSE(links_to(t.get_pid(), otp::self()));
  EXPECT_EQ(otp::tasks::await(t, otp::infinity), "done");
  EXPECT_TRUE(mailbox_empty());  // await flushed the DOWN
}

TEST(task_supervisor, async_links_the_task_to_the_caller_and_to_the_supervisor) {
  test_node n;
  auto sup = ts::start_link().value();
  auto t = ts::async(sup.target(), [] {
    (void)otp::receive_as<go>();
    return 7;
  });
  EXPECT_TRUE(links_to(t.get_pid(), otp::self()));
  EXPECT_TRUE(links_to(t.get_pid(), sup.get_pid()));
  EXPECT_EQ(ts::children(sup.target()), std::vector<otp::pid>{t.get_pid()});
  otp::send(t.get_pid(), go{});
  EXPECT_EQ(otp::tasks::await(t, otp::infinity), 7);
  wait_dead(t.get_pid());
  EXPECT_TRUE(wait_until([&] { return ts::children(sup.target()).empty(); }));  // temporary: forgotten
}

TEST(task_supervisor, s13_8_start_child_returns_ok_pid_and_runs_the_function) {
  test_node n;
  auto sup = ts::start_link().value();
  otp::pid me = otp::self();
  auto r = ts::start_child(sup.target(), [me] {
    otp::send(me, task_pid{otp::self()});
    (void)otp::receive_as<go>();
  });
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(recv<task_pid>().p, r.get_pid());
  otp::ref m = otp::monitor(r.get_pid());
  otp::send(r.get_pid(), go{});
  EXPECT_EQ(await_down(m).reason, otp::exit_reason::normal());
}

TEST(task_supervisor, stopping_the_supervisor_shuts_its_tasks_down) {
  test_node n;
  otp::trap_exit(true);  // we are linked to the supervisor we stop
  auto sup = ts::start_link().value();
  auto r = ts::start_child(sup.target(), [] { idle(); });
  ASSERT_TRUE(r.ok());
  otp::ref m = otp::monitor(r.get_pid());
  otp::gen_server::stop(sup.target(), otp::exit_reason::shutdown());
  EXPECT_EQ(await_down(m).reason, otp::exit_reason::shutdown());
}

TEST(task_supervisor, terminate_child_stops_a_task) {
  test_node n;
  auto sup = ts::start_link().value();
  auto r = ts::start_child(sup.target(), [] { idle(); });
  otp::ref m = otp::monitor(r.get_pid());
  EXPECT_TRUE(ts::terminate_child(sup.target(), r.get_pid()).ok());
  EXPECT_EQ(await_down(m).reason, otp::exit_reason::shutdown());
  EXPECT_EQ(ts::terminate_child(sup.target(), r.get_pid()).error(), otp::exit_reason::other("not_found"));
}

TEST(task_supervisor, max_children_refuses_more_tasks) {
  test_node n;
  auto sup = ts::start_link({.max_children = 1}).value();
  auto first = ts::start_child(sup.target(), [] { idle(); });
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(ts::start_child(sup.target(), [] { idle(); }).error(), otp::exit_reason::other("max_children"));
  try {
    (void)ts::async_nolink(sup.target(), [] { return 1; });
    ADD_FAILURE() << "async_nolink past max_children must throw";
  } catch (const otp::exit_error& e) {
    EXPECT_EQ(e.reason(), otp::exit_reason::other("max_children"));
  }
}

TEST(task_supervisor, a_transient_child_that_crashes_is_started_again) {
  test_node n;
  auto sup = ts::start_link().value();
  otp::pid me = otp::self();
  auto r = ts::start_child(
      sup.target(),
      [me] {
        otp::send(me, task_pid{otp::self()});
        (void)otp::receive_as<go>();
        throw std::runtime_error("crash once");
      },
      otp::restart_type::transient);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(recv<task_pid>().p, r.get_pid());
  otp::send(r.get_pid(), go{});
  otp::pid again = recv<task_pid>().p;  // the same function, a new process
  EXPECT_NE(again, r.get_pid());
  EXPECT_EQ(ts::children(sup.target()), std::vector<otp::pid>{again});
}
