// The process API: spawn options, self, is_alive, process_info, make_ref,
// exit/1, foreign threads, otp::blocking, node shutdown; and the value types
// pid, ref and exit_reason.

#include <algorithm>
#include <atomic>
#include <future>
#include <memory>
#include <regex>
#include <stdexcept>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

#include "otp/blocking.hpp"
#include "support/test_node.hpp"

namespace {

using namespace otp_test;
using otp::exit_reason;

struct report {
  bool ok;
  std::string detail;
};
struct pid_msg {
  otp::pid p;
};
struct info_msg {
  std::optional<otp::process_details> info;
};
struct ready {};
struct refs_msg {
  std::vector<std::uint64_t> ids;
};

otp::spawn_options opts_trap() {
  otp::spawn_options o;
  o.trap_exit = true;
  return o;
}
template <class T>
bool contains(const std::vector<T>& v, const T& x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

// Sets a flag when destroyed: shows that a process's stack was unwound.
struct unwind_flag {
  std::atomic<bool>* flag;
  ~unwind_flag() { flag->store(true); }
};

// ------------------------------------------------------------ spawn options

TEST(process, process_spawn_option_trap_exit) {
  test_node tn;
  auto me = otp::self();
  otp::spawn(
      [me] {
        auto info = otp::process_info(otp::self());
        bool was = otp::trap_exit(false);
        bool now = otp::trap_exit(false);
        otp::send(me, report{info && info->trap_exit && was && !now, ""});
      },
      opts_trap());
  EXPECT_TRUE(recv<report>().ok);
  otp::spawn([me] {
    auto info = otp::process_info(otp::self());
    bool was = otp::trap_exit(true);
    auto after = otp::process_info(otp::self());
    otp::send(me, report{info && !info->trap_exit && !was && after->trap_exit, ""});
  });
  EXPECT_TRUE(recv<report>().ok) << "default is not trapping; trap_exit(true) sets it";
}

TEST(process, process_spawn_option_name) {
  test_node tn;
  otp::spawn_options o;
  o.name = "with_name";
  auto p = otp::spawn([] { idle(); }, o);
  auto info = otp::process_info(p);
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->registered_name, "with_name");
  EXPECT_EQ(otp::whereis("with_name"), std::optional<otp::pid>(p));
  // With spawn_link and spawn_monitor too.
  o.name = "linked_name";
  auto l = otp::spawn_link([] { idle(); }, o);
  EXPECT_EQ(otp::whereis("linked_name"), std::optional<otp::pid>(l));
  otp::unlink(l);
  o.name = "monitored_name";
  auto m = otp::spawn_monitor([] { idle(); }, o);
  EXPECT_EQ(otp::whereis("monitored_name"), std::optional<otp::pid>(m.first));
}

[[gnu::noinline]] std::size_t burn_stack(int depth) {
  volatile char buf[64 * 1024];
  for (std::size_t i = 0; i < sizeof buf; i += 1024) buf[i] = static_cast<char>(depth + i);
  std::size_t s = 0;
  if (depth > 0) s = burn_stack(depth - 1);
  return s + static_cast<unsigned char>(buf[1024]);
}

TEST(process, process_spawn_option_stack_size) {
  test_node tn;
  auto me = otp::self();
  otp::spawn_options big;
  big.stack_size = 2 * 1024 * 1024;
  // ~576 KiB of stack: more than the 128 KiB default, well inside 2 MiB.
  auto pm = otp::spawn_monitor([me] { otp::send(me, burn_stack(8)); }, big);
  (void)recv<std::size_t>();
  EXPECT_EQ(await_down(pm.second).reason, exit_reason::normal());
  // A small explicit stack works for a small body.
  otp::spawn_options small;
  small.stack_size = 32 * 1024;
  auto sm = otp::spawn_monitor([me] { otp::send(me, 5); }, small);
  EXPECT_EQ(recv<int>(), 5);
  EXPECT_EQ(await_down(sm.second).reason, exit_reason::normal());
}

// ------------------------------------------------------------ self / alive

TEST(process, process_self_is_the_spawned_pid) {
  test_node tn;
  auto me = otp::self();
  auto p = otp::spawn([me] { otp::send(me, pid_msg{otp::self()}); });
  EXPECT_EQ(recv<pid_msg>().p, p);
  // The foreign thread's pid is stable and alive.
  EXPECT_TRUE(static_cast<bool>(me));
  EXPECT_EQ(otp::self(), me);
  EXPECT_TRUE(otp::is_alive(me));
  EXPECT_NE(me, p);
}

TEST(process, process_is_alive_until_exit) {
  test_node tn;
  auto pm = otp::spawn_monitor([] { (void)recv<go>(); });
  EXPECT_TRUE(otp::is_alive(pm.first));
  otp::send(pm.first, go{});
  (void)await_down(pm.second);
  EXPECT_FALSE(otp::is_alive(pm.first));
  EXPECT_FALSE(otp::is_alive(otp::pid{}));
}

// ------------------------------------------------------------ process_info

TEST(process, process_info_message_queue_len) {
  test_node tn;
  auto p = otp::spawn([] { (void)recv<go>(); idle(); });
  for (int i = 0; i < 3; ++i) otp::send(p, i);
  auto info = otp::process_info(p);
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->message_queue_len, 3u);
  otp::send(otp::self(), 1);
  otp::send(otp::self(), 2);
  EXPECT_EQ(otp::process_info(otp::self())->message_queue_len, 2u);
  (void)drain();
  EXPECT_EQ(otp::process_info(otp::self())->message_queue_len, 0u);
}

TEST(process, process_info_links_monitors_monitored_by) {
  test_node tn;
  auto me = otp::self();
  auto p = otp::spawn_link([] { idle(); });
  auto r = otp::monitor(p);
  auto mine = otp::process_info(me);
  auto theirs = otp::process_info(p);
  ASSERT_TRUE(mine && theirs);
  EXPECT_TRUE(contains(mine->links, p));
  EXPECT_TRUE(contains(theirs->links, me));
  EXPECT_EQ(mine->monitors, std::vector<otp::ref>{r});
  EXPECT_TRUE(theirs->monitors.empty());
  EXPECT_EQ(theirs->monitored_by, std::vector<otp::pid>{me});
  EXPECT_TRUE(mine->monitored_by.empty());
  otp::demonitor(r);
  otp::unlink(p);
  mine = otp::process_info(me);
  theirs = otp::process_info(p);
  EXPECT_TRUE(mine->monitors.empty());
  EXPECT_TRUE(mine->links.empty());
  EXPECT_TRUE(theirs->monitored_by.empty());
  EXPECT_TRUE(theirs->links.empty());
}

TEST(process, process_info_trap_exit_and_registered_name) {
  test_node tn;
  otp::spawn_options o = opts_trap();
  o.name = "info_name";
  auto p = otp::spawn([] { idle(); }, o);
  auto info = otp::process_info(p);
  ASSERT_TRUE(info.has_value());
  EXPECT_TRUE(info->trap_exit);
  EXPECT_EQ(info->registered_name, "info_name");
  auto q = otp::spawn([] { idle(); });
  info = otp::process_info(q);
  ASSERT_TRUE(info.has_value());
  EXPECT_FALSE(info->trap_exit);
  EXPECT_TRUE(info->registered_name.empty());
}

TEST(process, process_info_status) {
  test_node tn;
  auto me = otp::self();
  auto p = otp::spawn([me] {
    auto info = otp::process_info(otp::self());
    otp::send(me, report{info && info->status == otp::process_status::running, "self status"});
    idle();
  });
  EXPECT_TRUE(recv<report>().ok) << "a process querying itself is running";
  EXPECT_TRUE(wait_until([&] {
    auto i = otp::process_info(p);
    return i && i->status == otp::process_status::waiting;
  })) << "a process blocked in receive never reported `waiting`";
}

TEST(process, process_info_memory_counts_queued_messages) {
  test_node tn;
  auto p = otp::spawn([] { idle(); });
  auto before = otp::process_info(p);
  ASSERT_TRUE(before.has_value());
  EXPECT_GT(before->memory, 0u);
  for (int i = 0; i < 100; ++i) otp::send(p, std::vector<char>(10000, 'x'));
  auto after = otp::process_info(p);
  ASSERT_TRUE(after.has_value());
  EXPECT_GT(after->memory, before->memory);
}

TEST(process, process_info_of_dead_process_is_nullopt) {
  test_node tn;
  EXPECT_FALSE(otp::process_info(dead_pid()).has_value());
}

TEST(process, process_info_of_a_waiting_foreign_thread) {
  test_node tn;
  auto me = otp::self();
  otp::send(me, 1);  // something queued that we do not wait for
  otp::spawn([me] { otp::send(me, info_msg{otp::process_info(me)}); });
  // We are blocked in receive while the request for our info is pending.
  auto m = recv<info_msg>();
  ASSERT_TRUE(m.info.has_value());
  EXPECT_GE(m.info->message_queue_len, 1u);
}

// ------------------------------------------------------------ make_ref

TEST(process, process_make_ref_unique_across_threads) {
  test_node tn;
  const std::size_t per = 50000;
  auto me = otp::self();
  for (int i = 0; i < 4; ++i) {
    otp::spawn([me, per] {
      refs_msg m;
      m.ids.reserve(per);
      for (std::size_t k = 0; k < per; ++k) m.ids.push_back(otp::make_ref().id());
      otp::send(me, std::move(m));
    });
  }
  std::vector<std::uint64_t> t1, t2;
  std::thread a([&] {
    for (std::size_t k = 0; k < per; ++k) t1.push_back(otp::make_ref().id());
  });
  std::thread b([&] {
    for (std::size_t k = 0; k < per; ++k) t2.push_back(otp::make_ref().id());
  });
  std::vector<std::uint64_t> all;
  for (std::size_t k = 0; k < per; ++k) all.push_back(otp::make_ref().id());
  a.join();
  b.join();
  all.insert(all.end(), t1.begin(), t1.end());
  all.insert(all.end(), t2.begin(), t2.end());
  for (int i = 0; i < 4; ++i) {
    auto m = recv<refs_msg>();
    all.insert(all.end(), m.ids.begin(), m.ids.end());
  }
  ASSERT_EQ(all.size(), 7 * per);
  EXPECT_EQ(std::count(all.begin(), all.end(), 0u), 0);
  std::sort(all.begin(), all.end());
  EXPECT_EQ(std::adjacent_find(all.begin(), all.end()), all.end()) << "duplicate ref";
}

// ------------------------------------------------------------ exit/1

TEST(process, process_exit_self_with_reason) {
  test_node tn;
  auto me = otp::self();
  auto pm = otp::spawn_monitor([me] {
    otp::exit(exit_reason::other("bye"));
    otp::send(me, report{false, "code after exit() ran"});  // NOLINT: unreachable on purpose
  });
  EXPECT_EQ(await_down(pm.second).reason, exit_reason::other("bye"));
  EXPECT_TRUE(mailbox_empty());
}

TEST(process, process_exit_self_unwinds_the_stack) {
  test_node tn;
  std::atomic<bool> unwound{false};
  auto pm = otp::spawn_monitor([&unwound] {
    unwind_flag g{&unwound};
    otp::exit(exit_reason::shutdown("done"));
  });
  auto d = await_down(pm.second);
  EXPECT_EQ(d.reason, exit_reason::shutdown("done"));
  EXPECT_TRUE(unwound.load()) << "locals of a process that called otp::exit were not destroyed";
}

TEST(process, process_exit_self_normal_does_not_kill_linked) {
  test_node tn;
  auto me = otp::self();
  auto pm = otp::spawn_monitor([me] {
    auto c = otp::spawn_link([] {
      (void)recv<go>();
      otp::exit(exit_reason::normal());
    });
    auto r = otp::monitor(c);
    otp::send(c, go{});
    otp::send(me, report{await_down(r).reason == exit_reason::normal(), "child reason"});
    (void)recv<go>();
  });
  EXPECT_TRUE(recv<report>().ok);
  EXPECT_TRUE(otp::is_alive(pm.first));
  otp::send(pm.first, go{});
  EXPECT_EQ(await_down(pm.second).reason, exit_reason::normal());
}

TEST(process, process_exit_self_shutdown_propagates_over_links) {
  test_node tn;
  EXPECT_EQ(reason_through_link(exit_reason::shutdown()), exit_reason::shutdown());
}

TEST(process, process_killed_while_waiting_unwinds_the_stack) {
  test_node tn;
  std::atomic<bool> unwound{false};
  auto probe = std::make_shared<int>(1);
  auto pm = otp::spawn_monitor([&unwound, probe] {
    unwind_flag g{&unwound};
    auto local = probe;  // a second reference held on the stack
    idle();
  });
  ASSERT_TRUE(wait_until([&] { return probe.use_count() == 3; }));  // test + lambda + stack
  otp::exit(pm.first, exit_reason::kill());
  EXPECT_EQ(await_down(pm.second).reason, exit_reason::killed());
  EXPECT_TRUE(unwound.load()) << "a killed process's stack objects were not destroyed";
  EXPECT_TRUE(wait_until([&] { return probe.use_count() <= 2; })) << "the stack's copy was never released";
}

// ------------------------------------------------------------ foreign threads

TEST(process, process_foreign_thread_can_send_receive_link_monitor_spawn) {
  test_node tn;
  auto me = otp::self();
  std::thread t([me] {
    auto self = otp::self();
    otp::send(me, pid_msg{self});
    int v = recv<int>();
    auto child = otp::spawn([self] { otp::send(self, recv<int>() * 10); });
    auto r = otp::monitor(child);
    otp::send(child, v);
    int got = recv<int>();
    bool down_ok = await_down(r).reason == exit_reason::normal();
    otp::trap_exit(true);
    auto l = otp::spawn_link([] {});
    bool exit_ok = await_exit(l).reason == exit_reason::normal();
    otp::send(me, report{got == 70 && down_ok && exit_ok, std::to_string(got)});
  });
  auto other = recv<pid_msg>().p;
  EXPECT_NE(other, me) << "two foreign threads must have distinct pseudo-processes";
  EXPECT_TRUE(otp::is_alive(other));
  otp::send(other, 7);
  auto r = recv<report>();
  t.join();
  EXPECT_TRUE(r.ok) << r.detail;
}

TEST(process, process_foreign_thread_exit_ends_its_pseudo_process) {
  // Inferred requirement: a pseudo-process is bound to its thread, so it must
  // not outlive it (else process_count grows with every short-lived thread).
  test_node tn(clock_kind::real);
  otp::pid other;
  std::thread t([&other] { other = otp::self(); });
  t.join();
  ASSERT_TRUE(static_cast<bool>(other));
  auto r = otp::monitor(other);
  auto d = otp::receive_if<otp::down_msg>([r](const otp::down_msg& m) { return m.mref == r; }, 5s);
  EXPECT_TRUE(d.has_value()) << "the pseudo-process of an exited thread is still alive";
}

// ------------------------------------------------------------ blocking

TEST(process, process_blocking_returns_value_and_rethrows) {
  test_node tn;
  auto me = otp::self();
  otp::spawn([me] {
    auto caller = std::this_thread::get_id();
    std::thread::id job_thread;
    int v = otp::blocking([&] {
      job_thread = std::this_thread::get_id();
      return 42;
    });
    bool threw = false;
    try {
      (void)otp::blocking([]() -> int { throw std::runtime_error("in job"); });
    } catch (const std::runtime_error& e) {
      threw = std::string(e.what()) == "in job";
    }
    int side = 0;
    otp::blocking([&] { side = 5; });
    otp::send(me, report{v == 42 && threw && side == 5 && job_thread != caller,
                         "v=" + std::to_string(v) + " threw=" + std::to_string(threw) + " side=" + std::to_string(side) +
                             " other_thread=" + std::to_string(job_thread != caller)});
  });
  auto r = recv<report>();
  EXPECT_TRUE(r.ok) << r.detail;
}

TEST(process, process_blocking_from_foreign_thread_runs_inline) {
  test_node tn;
  EXPECT_EQ(otp::blocking([] { return std::this_thread::get_id(); }), std::this_thread::get_id());
  EXPECT_THROW(otp::blocking([] { throw std::logic_error("x"); }), std::logic_error);
}

TEST(process, process_blocking_does_not_block_the_scheduler) {
  test_node tn(clock_kind::real, /*schedulers=*/1);
  std::promise<int> value;
  std::shared_future<int> fut = value.get_future().share();
  std::promise<void> entered;
  auto entered_f = entered.get_future();
  auto me = otp::self();
  otp::spawn([me, fut, &entered] {
    int v = otp::blocking([&] {
      entered.set_value();
      return fut.get();
    });
    otp::send(me, v);
  });
  entered_f.wait();  // the job is now blocked waiting for `value`
  // Message-driven work on the only scheduler fulfils it.
  auto b = otp::spawn([&value] { value.set_value(recv<int>() * 2); });
  otp::send(b, 21);
  auto r = otp::receive_as<int>(10s);
  if (!r) value.set_value(0);  // unblock so that the node can stop
  ASSERT_TRUE(r.has_value()) << "deadlock: otp::blocking held the only scheduler thread";
  EXPECT_EQ(*r, 42);
}

// Sender punishment (as the BEAM's): once a plain process has more than 4096
// messages queued, each send to it ends the sender's slice, so a flood
// cannot outrun its receiver. On one scheduler, a bystander that loops on
// self-sends shows each slice the sender gives up.
TEST(process, process_sending_to_a_congested_process_ends_the_slice) {
  test_node tn(clock_kind::real, /*schedulers=*/1);
  struct flood_done {};
  std::atomic<long> bystander_steps{0};
  std::atomic<bool> stop{false};
  auto sink = otp::spawn([] { otp::receive_as<flood_done>(); });  // queues every int
  otp::spawn_monitor([&] {
    while (!stop.load()) {
      bystander_steps.fetch_add(1);
      otp::send(otp::self(), 0);
      otp::receive_as<int>();
    }
  });
  auto me = otp::self();
  otp::spawn([&, me, sink] {
    constexpr long flood = 20000;
    long gave_way = 0;
    for (long i = 0; i < flood; ++i) {
      const long before = bystander_steps.load();
      otp::send(sink, i);
      gave_way += bystander_steps.load() != before;
    }
    otp::send(me, gave_way);
  });
  const long gave_way = recv<long>();
  stop = true;
  otp::send(sink, flood_done{});
  recv<otp::down_msg>();  // the bystander no longer touches this frame
  // Without punishment only the 200-message budget ends a slice: ~100.
  EXPECT_GT(gave_way, 10000) << "the sender kept its slice while the receiver was congested";
}

// A process woken from a foreign thread (here main(); in the node, the timer
// thread or the network reactor) is queued at its home scheduler. While that
// scheduler runs one long slice, the idle scheduler must take it instead of
// leaving it to wait for the slice to end.
TEST(process, process_woken_from_outside_runs_while_its_home_scheduler_is_busy) {
  test_node tn(clock_kind::real, /*schedulers=*/2);
  struct waiting {
    otp::pid p;
  };
  struct hog_result {
    bool released_while_spinning;
  };
  std::atomic<bool> released{false};
  auto me = otp::self();
  otp::spawn([me, &released] {
    auto hog = otp::self();
    // Spawned from here, the waiter runs here (the LIFO slot) and makes this
    // scheduler its home before it waits.
    otp::spawn([hog, &released] {
      otp::send(hog, waiting{otp::self()});
      recv<int>();
      released.store(true);
    });
    otp::send(me, recv<waiting>());
    // One long slice: no receive, no yield, until the waiter has run.
    auto deadline = std::chrono::steady_clock::now() + 5s;
    while (!released.load() && std::chrono::steady_clock::now() < deadline) {
    }
    otp::send(me, hog_result{released.load()});
  });
  otp::send(recv<waiting>().p, 1);
  EXPECT_TRUE(recv<hog_result>().released_while_spinning)
      << "the woken process waited for its busy home scheduler while the other one idled";
}

// Two processes that compute without yielding, spawned from one process
// (so both start in its scheduler's queue), end up running at the same time
// on two schedulers: a short queue is not stolen from while its scheduler
// keeps switching processes, but one stuck in a slice is.
TEST(process, process_busy_processes_spread_to_the_idle_scheduler) {
  test_node tn(clock_kind::real, /*schedulers=*/2);
  struct overlapped {
    bool yes;
  };
  std::atomic<int> running{0};
  auto me = otp::self();
  otp::spawn([me, &running] {
    for (int i = 0; i < 2; ++i) {
      otp::spawn([me, &running] {
        running.fetch_add(1);
        auto deadline = std::chrono::steady_clock::now() + 5s;
        while (running.load() < 2 && std::chrono::steady_clock::now() < deadline) {
        }
        otp::send(me, overlapped{running.load() >= 2});
      });
    }
  });
  EXPECT_TRUE(recv<overlapped>().yes) << "the second busy process waited for the first instead of running on the idle scheduler";
  EXPECT_TRUE(recv<overlapped>().yes);
}

// One process queued behind a long slice wakes no scheduler when it is
// queued (a queue of one is the common case of a process that just sent to
// another); the node's watchdog notices the slice and an idle scheduler
// takes the waiting process.
TEST(process, process_queued_behind_a_long_slice_runs_on_the_idle_scheduler) {
  test_node tn(clock_kind::real, /*schedulers=*/2);
  struct ran_meanwhile {
    bool yes;
  };
  std::atomic<bool> ran{false};
  auto me = otp::self();
  otp::spawn([me, &ran] {
    // Give the other scheduler time to find no work anywhere and park for
    // good (not a synchronisation: if it has not, it takes the process
    // sooner, by watching this one's queue).
    (void)otp::receive_as<int>(50ms);
    otp::spawn([&ran] { ran.store(true); });
    auto deadline = std::chrono::steady_clock::now() + 5s;
    while (!ran.load() && std::chrono::steady_clock::now() < deadline) {
    }
    otp::send(me, ran_meanwhile{ran.load()});
  });
  EXPECT_TRUE(recv<ran_meanwhile>().yes) << "the queued process waited for the long slice to end";
}

TEST(process, process_exit_signal_waits_for_a_running_blocking_job) {
  // "Exit signals wait until then (like a dirty NIF)": the job may use the
  // process's stack, so the process must not die while the job runs.
  test_node tn(clock_kind::real);
  std::promise<int> release;
  std::shared_future<int> released = release.get_future().share();
  std::promise<void> entered;
  auto entered_f = entered.get_future();
  std::atomic<int> job_result{0};
  auto pm = otp::spawn_monitor([released, &entered, &job_result] {
    int on_stack = 1;
    otp::blocking([&] {
      entered.set_value();
      on_stack += released.get();  // writes to the process's stack after the kill
      job_result = on_stack;
    });
    idle();
  });
  entered_f.wait();
  otp::exit(pm.first, exit_reason::kill());
  auto early = otp::receive_if<otp::down_msg>([&](const otp::down_msg& d) { return d.mref == pm.second; }, 50ms);
  EXPECT_FALSE(early.has_value()) << "the process died while its blocking job was still running";
  release.set_value(41);
  EXPECT_EQ(await_down(pm.second).reason, exit_reason::killed());
  EXPECT_EQ(job_result.load(), 42);
}

TEST(process, process_blocking_many_concurrent_jobs) {
  test_node tn;
  auto me = otp::self();
  const int n = 32;
  for (int i = 0; i < n; ++i) otp::spawn([me, i] { otp::send(me, otp::blocking([i] { return i * i; })); });
  long sum = 0;
  for (int i = 0; i < n; ++i) sum += recv<int>();
  long expect = 0;
  for (int i = 0; i < n; ++i) expect += i * i;
  EXPECT_EQ(sum, expect);
}

// ------------------------------------------------------------ node

TEST(process, process_count_tracks_live_processes) {
  test_node tn;
  (void)otp::self();
  auto base = tn->process_count();
  EXPECT_GE(base, 1u) << "the test body's pseudo-process counts";
  std::vector<otp::pid> ps;
  for (int i = 0; i < 10; ++i) ps.push_back(otp::spawn([] { idle(); }));
  EXPECT_EQ(tn->process_count(), base + 10);
  for (auto& p : ps) otp::exit(p, exit_reason::kill());
  for (auto& p : ps) (void)wait_dead(p);
  EXPECT_TRUE(wait_until([&] { return tn->process_count() == base; }));
  EXPECT_EQ(tn->scheduler_count(), 2u);
}

TEST(process, process_default_node_is_the_live_node) {
  {
    test_node tn;
    EXPECT_EQ(otp::node::default_node(), &tn.node);
  }
  EXPECT_EQ(otp::node::default_node(), nullptr);
}

TEST(process, process_node_shutdown_terminates_live_processes_with_shutdown) {
  watchdog dog;
  auto probe_target = std::make_shared<int>(0);
  auto probe_watcher = std::make_shared<int>(0);
  auto probe_trapper = std::make_shared<int>(0);
  auto seen = std::make_shared<std::promise<exit_reason>>();
  auto seen_f = seen->get_future();
  std::atomic<bool> unwound{false};
  {
    otp::node n(test_options());
    auto me = otp::self();
    auto target = otp::spawn([probe_target, &unwound] {
      unwind_flag g{&unwound};
      idle();
    });
    otp::spawn([target, me, probe_watcher, seen] {
      auto r = otp::monitor(target);
      otp::send(me, ready{});
      seen->set_value(await_down(r).reason);
    });
    // A trapping process that ignores every signal must be stopped too.
    otp::spawn(
        [probe_trapper, me] {
          otp::send(me, ready{});
          for (;;) (void)otp::receive_any(otp::infinity);
        },
        opts_trap());
    (void)recv<ready>();
    (void)recv<ready>();
    EXPECT_EQ(n.process_count(), 4u);
    n.shutdown();
    EXPECT_EQ(n.process_count(), 0u);
    EXPECT_NO_THROW(n.shutdown()) << "shutdown is idempotent";
  }
  EXPECT_EQ(probe_target.use_count(), 1) << "target's body not destroyed";
  EXPECT_EQ(probe_watcher.use_count(), 1) << "watcher's body not destroyed";
  EXPECT_EQ(probe_trapper.use_count(), 1) << "trapping process's body not destroyed";
  EXPECT_TRUE(unwound.load()) << "a process stopped by shutdown was not unwound";
  // The watcher may itself have been stopped first; if it saw the DOWN, the
  // reason is `shutdown`.
  if (seen_f.wait_for(0s) == std::future_status::ready) {
    EXPECT_EQ(seen_f.get(), exit_reason::shutdown());
  }
}

TEST(process, process_node_shutdown_reason_seen_by_trapping_linked_process) {
  // Order of termination is not specified; run several pairs and require
  // that every observation made is `shutdown`.
  watchdog dog;
  std::vector<std::shared_ptr<std::promise<exit_reason>>> seen;
  std::vector<std::future<exit_reason>> futs;
  for (int i = 0; i < 20; ++i) {
    seen.push_back(std::make_shared<std::promise<exit_reason>>());
    futs.push_back(seen.back()->get_future());
  }
  {
    otp::node n(test_options());
    auto me = otp::self();
    for (int i = 0; i < 20; ++i) {
      auto s = seen[i];
      otp::spawn(
          [s, me] {
            otp::spawn_link([] { idle(); });
            otp::send(me, ready{});
            auto m = otp::receive_any(otp::infinity);
            if (m->is<otp::exit_msg>()) s->set_value(m->get<otp::exit_msg>().reason);
          },
          opts_trap());
    }
    for (int i = 0; i < 20; ++i) (void)recv<ready>();
  }
  for (auto& f : futs) {
    if (f.wait_for(0s) == std::future_status::ready) {
      EXPECT_EQ(f.get(), exit_reason::shutdown());
    }
  }
}

// ------------------------------------------------------------ value types

TEST(process, pid_value_semantics) {
  test_node tn;
  auto a = otp::spawn([] { idle(); });
  auto b = otp::spawn([] { idle(); });
  otp::pid a2 = a;
  EXPECT_EQ(a, a2);
  EXPECT_NE(a, b);
  EXPECT_LT(a, b) << "ordered by creation";
  EXPECT_EQ(std::hash<otp::pid>{}(a), std::hash<otp::pid>{}(a2));
  EXPECT_NE(a.serial(), b.serial());
  EXPECT_TRUE(std::regex_match(a.to_string(), std::regex("<0\\.[0-9]+\\.0>"))) << a.to_string();
  EXPECT_EQ(a.to_string(), "<0." + std::to_string(a.serial()) + ".0>");
  otp::pid empty;
  EXPECT_FALSE(static_cast<bool>(empty));
  EXPECT_EQ(empty.serial(), 0u);
  std::unordered_set<otp::pid> set{a, b, a2};
  EXPECT_EQ(set.size(), 2u);
}

TEST(process, ref_value_semantics) {
  test_node tn;
  auto r1 = otp::make_ref();
  auto r2 = otp::make_ref();
  EXPECT_TRUE(static_cast<bool>(r1));
  EXPECT_NE(r1, r2);
  EXPECT_FALSE(static_cast<bool>(otp::ref{}));
  EXPECT_NE(r1, otp::ref{});
  EXPECT_TRUE(std::regex_match(r1.to_string(), std::regex("#Ref<0\\.[0-9]+>"))) << r1.to_string();
}

TEST(process, exit_reason_values) {
  EXPECT_EQ(exit_reason{}, exit_reason::normal());
  EXPECT_EQ(exit_reason::normal().to_string(), "normal");
  EXPECT_EQ(exit_reason::shutdown().to_string(), "shutdown");
  EXPECT_EQ(exit_reason::shutdown("why").to_string(), "{shutdown,why}");
  EXPECT_EQ(exit_reason::kill().to_string(), "kill");
  EXPECT_EQ(exit_reason::killed().to_string(), "killed");
  EXPECT_EQ(exit_reason::noproc().to_string(), "noproc");
  EXPECT_EQ(exit_reason::other("timeout").to_string(), "timeout");
  EXPECT_EQ(exit_reason::shutdown("why").detail(), "why");
  EXPECT_EQ(exit_reason::other("x").detail(), "x");

  EXPECT_TRUE(exit_reason::normal().is_quiet());
  EXPECT_TRUE(exit_reason::shutdown().is_quiet());
  EXPECT_TRUE(exit_reason::shutdown("d").is_quiet());
  EXPECT_TRUE(exit_reason::shutdown("d").is_shutdown());
  EXPECT_FALSE(exit_reason::killed().is_quiet());
  EXPECT_FALSE(exit_reason::other("x").is_quiet());
  EXPECT_TRUE(exit_reason::kill().is_kill());
  EXPECT_FALSE(exit_reason::killed().is_kill());

  EXPECT_EQ(exit_reason::other("a"), exit_reason::other("a"));
  EXPECT_NE(exit_reason::other("a"), exit_reason::other("b"));
  EXPECT_NE(exit_reason::shutdown("a"), exit_reason::shutdown());
  EXPECT_NE(exit_reason::kill(), exit_reason::killed());
  EXPECT_NE(exit_reason::other("normal"), exit_reason::normal()) << "other() is not the normal kind";
  EXPECT_EQ(exit_reason::other("x").get_kind(), exit_reason::kind::other);

  otp::exit_error e(exit_reason::noproc());
  EXPECT_EQ(e.reason(), exit_reason::noproc());
  EXPECT_STREQ(e.what(), "noproc");
}

}  // namespace
