// The lesson servers of examples/lessons/ (C++ versions of the GenServers in
// the Elixir seed texts) checked against what the seeds' iex sessions and
// comments say they do. Manual clock: TTL, inactivity and idle timeouts move
// only with advance_time.

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <unistd.h>
#include <vector>

#include "../examples/lessons/agent_server.hpp"
#include "../examples/lessons/cache.hpp"
#include "../examples/lessons/counter.hpp"
#include "../examples/lessons/counter_server.hpp"
#include "../examples/lessons/expiring_cache.hpp"
#include "../examples/lessons/idle_detector.hpp"
#include "../examples/lessons/kv_store.hpp"
#include "../examples/lessons/monitored_server.hpp"
#include "../examples/lessons/my_server.hpp"
#include "../examples/lessons/resource_server.hpp"
#include "../examples/lessons/setup_server.hpp"
#include "../examples/lessons/shopping_cart.hpp"
#include "../examples/lessons/simple_cache.hpp"
#include "../examples/lessons/singleton_server.hpp"
#include "../examples/lessons/sum_server.hpp"
#include "../examples/lessons/weather_worker.hpp"
#include "otp/sys.hpp"
#include "support/test_node.hpp"

using namespace otp_test;
using namespace std::chrono_literals;
namespace gs = otp::gen_server;
using otp::exit_reason;
using lessons::captured_output;

namespace {

std::vector<std::string> strings(std::initializer_list<const char*> l) { return {l.begin(), l.end()}; }

/// A file name of our own under the temp directory.
std::string temp_path(const std::string& tag) {
  auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  return (std::filesystem::temp_directory_path() /
          ("otp_lessons_" + std::to_string(::getpid()) + "_" + info->name() + "_" + tag + ".log"))
      .string();
}
std::string slurp(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

}  // namespace

// ===================================================================== Counter (seed 001)

TEST(lessons_counter, iex_session_increment_5_and_3_gives_8) {
  test_node node;
  auto r = lessons::counter::start_link(0);  // {:ok, #PID<...>}
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(gs::whereis("Counter"), r.get_pid());
  lessons::counter::increment(5);  // :ok
  lessons::counter::increment(3);  // :ok
  EXPECT_EQ(lessons::counter::get_count(), 8);
}

TEST(lessons_counter, defaults_increment_then_get_is_1) {
  test_node node;
  ASSERT_TRUE(lessons::counter::start_link().ok());  // initial_count \\ 0
  lessons::counter::increment();                      // amount \\ 1
  EXPECT_EQ(lessons::counter::get_count(), 1);
}

TEST(lessons_counter, second_start_link_is_already_started) {
  test_node node;
  auto first = lessons::counter::start_link(1);
  ASSERT_TRUE(first.ok());
  auto second = lessons::counter::start_link(2);  // {:error, {:already_started, pid}}
  EXPECT_FALSE(second.ok());
  EXPECT_EQ(second.error().to_string(), "{already_started," + first.get_pid().to_string() + "}");
  EXPECT_EQ(second.existing(), first.get_pid());
  EXPECT_EQ(lessons::counter::get_count(), 1);
}

// ===================================================================== KVStore (seed 001)

TEST(lessons_kv_store, iex_session) {
  test_node node;
  namespace kv = lessons::kv_store;
  ASSERT_TRUE(kv::start_link().ok());
  kv::put("name", "Elixir");  // :ok
  kv::put("version", "1.16");  // :ok
  EXPECT_EQ(kv::get("name"), "Elixir");
  EXPECT_EQ(kv::keys(), strings({"name", "version"}));
  kv::del("version");  // :ok (a cast)
  EXPECT_EQ(kv::keys(), strings({"name"}));
}

TEST(lessons_kv_store, missing_key_is_nil_and_named_instances_are_separate) {
  test_node node;
  namespace kv = lessons::kv_store;
  ASSERT_TRUE(kv::start_link().ok());
  ASSERT_TRUE(kv::start_link({.name = "Other"}).ok());
  kv::put("Other", "k", "v");
  EXPECT_EQ(kv::get("Other", "k"), "v");
  EXPECT_EQ(kv::get("k"), std::nullopt);  // the default store does not have it
  EXPECT_TRUE(kv::keys().empty());
}

// ===================================================================== Cache (seed 001)

TEST(lessons_cache, put_is_a_cast_get_a_call) {
  test_node node;
  ASSERT_TRUE(lessons::cache::start_link().ok());
  EXPECT_EQ(lessons::cache::get("a"), std::nullopt);  // Map.get(state, key) -> nil
  lessons::cache::put("a", "1");
  EXPECT_EQ(lessons::cache::get("a"), "1");  // the cast was handled first (same sender)
}

// ===================================================================== SimpleCache (seed 003, exercise 1)

TEST(lessons_simple_cache, stats_count_hits_and_misses) {
  test_node node;
  namespace sc = lessons::simple_cache;
  auto cache = sc::start_link().value();
  EXPECT_EQ(sc::stats(cache), (sc::stats_t{0, 0, 0}));
  sc::put(cache, "a", "1");
  sc::put(cache, "b", "2");
  EXPECT_EQ(sc::get(cache, "a"), "1");           // hit
  EXPECT_EQ(sc::get(cache, "zzz"), std::nullopt);  // miss
  EXPECT_EQ(sc::get(cache, "b"), "2");           // hit
  EXPECT_EQ(sc::stats(cache), (sc::stats_t{.size = 2, .hits = 2, .misses = 1}));
  sc::del(cache, "a");
  EXPECT_EQ(sc::get(cache, "a"), std::nullopt);  // miss
  EXPECT_EQ(sc::stats(cache), (sc::stats_t{.size = 1, .hits = 2, .misses = 2}));
  sc::clear(cache);
  EXPECT_EQ(sc::stats(cache), (sc::stats_t{.size = 0, .hits = 2, .misses = 2}));
  EXPECT_EQ(sc::stats(cache).to_string(), "%{hits: 2, misses: 2, size: 0}");
}

// ===================================================================== expiring cache (seed 003, exercise 2)

TEST(lessons_expiring_cache, value_returns_nil_once_its_ttl_has_passed) {
  test_node node;
  namespace ec = lessons::expiring_cache;
  auto cache = ec::start_link({.cleanup_interval = 10'000ms}).value();
  ec::put(cache, "session", "abc", 100ms);
  ec::put(cache, "forever", "x");  // no ttl
  EXPECT_EQ(ec::get(cache, "session"), "abc");
  node->advance_time(99ms);
  EXPECT_EQ(ec::get(cache, "session"), "abc");
  node->advance_time(1ms);  // t = 100: expired
  EXPECT_EQ(ec::get(cache, "session"), std::nullopt);
  EXPECT_EQ(ec::get(cache, "forever"), "x");
  EXPECT_EQ(ec::stats(cache), (ec::stats_t{.size = 1, .hits = 3, .misses = 1}));
}

TEST(lessons_expiring_cache, periodic_cleanup_drops_expired_entries_and_rearms) {
  test_node node;
  namespace ec = lessons::expiring_cache;
  const std::size_t timers = node->pending_timers();
  auto cache = ec::start_link({.cleanup_interval = 1'000ms}).value();
  ASSERT_TRUE(wait_for_timers(node, timers + 1));  // init armed the first :cleanup
  ec::put(cache, "a", "1", 100ms);
  ec::put(cache, "b", "2", 1'500ms);
  ec::put(cache, "c", "3");
  EXPECT_EQ(ec::stats(cache).size, 3u);
  node->advance_time(1'000ms);  // :cleanup at t=1000: a is gone, without a get
  EXPECT_EQ(ec::stats(cache), (ec::stats_t{.size = 2, .hits = 0, .misses = 0}));
  EXPECT_EQ(otp::sys::get_state(cache).cleanups, 1u);
  ASSERT_TRUE(wait_for_timers(node, timers + 1));  // handle_info(:cleanup) re-armed it
  node->advance_time(1'000ms);                     // t=2000: b (expired at 1500) is gone
  EXPECT_EQ(ec::stats(cache), (ec::stats_t{.size = 1, .hits = 0, .misses = 0}));
  EXPECT_EQ(otp::sys::get_state(cache).cleanups, 2u);
  EXPECT_EQ(ec::get(cache, "c"), "3");
}

// ===================================================================== ShoppingCart (seed 001, practice)

TEST(lessons_shopping_cart, add_remove_list_total_clear) {
  test_node node;
  namespace cart = lessons::shopping_cart;
  ASSERT_TRUE(cart::start_link().ok());
  EXPECT_TRUE(cart::list_items().empty());
  cart::add_item("apple", 1.5);
  cart::add_item("bread", 2.25);
  cart::add_item("apple", 1.5);
  EXPECT_EQ(cart::list_items(), (std::vector<cart::item>{{"apple", 1.5}, {"bread", 2.25}, {"apple", 1.5}}));
  EXPECT_DOUBLE_EQ(cart::total(), 5.25);
  cart::remove_item("apple");  // the first matching item only (List.keydelete/3)
  EXPECT_EQ(cart::list_items(), (std::vector<cart::item>{{"bread", 2.25}, {"apple", 1.5}}));
  cart::remove_item("milk");  // not there: unchanged
  EXPECT_DOUBLE_EQ(cart::total(), 3.75);
  cart::clear();  // a cast
  EXPECT_TRUE(cart::list_items().empty());
  EXPECT_DOUBLE_EQ(cart::total(), 0.0);
}

TEST(lessons_shopping_cart, cleared_after_30_minutes_of_inactivity_reset_by_add_and_remove) {
  test_node node;
  namespace cart = lessons::shopping_cart;
  const std::size_t timers = node->pending_timers();
  ASSERT_TRUE(cart::start_link().ok());  // the default: 30 minutes
  cart::add_item("apple", 1.5);
  ASSERT_TRUE(wait_for_timers(node, timers + 1));
  node->advance_time(29min);
  EXPECT_EQ(cart::list_items().size(), 1u);
  cart::add_item("bread", 2.25);  // resets the timer
  node->advance_time(29min);      // 58 min since the first add, 29 since the last
  EXPECT_EQ(cart::list_items().size(), 2u);
  cart::remove_item("apple");  // resets again
  node->advance_time(29min);
  EXPECT_EQ(cart::list_items().size(), 1u);
  node->advance_time(1min);  // 30 min since the last add/remove
  EXPECT_TRUE(cart::list_items().empty());
  EXPECT_EQ(otp::sys::get_state(cart::cart()).inactivity_clears, 1u);
  // list_items and total are not activity: nothing re-armed the timer.
  EXPECT_EQ(node->pending_timers(), timers);
}

TEST(lessons_shopping_cart, inactivity_is_configurable) {
  test_node node;
  namespace cart = lessons::shopping_cart;
  const std::size_t timers = node->pending_timers();
  ASSERT_TRUE(cart::start_link({.inactivity = 50ms}).ok());
  cart::add_item("apple", 1.5);
  ASSERT_TRUE(wait_for_timers(node, timers + 1));
  node->advance_time(49ms);
  EXPECT_EQ(cart::list_items().size(), 1u);
  node->advance_time(1ms);
  EXPECT_TRUE(cart::list_items().empty());
}

// ===================================================================== SumServer (seed 002)

TEST(lessons_sum_server, sum_of_two_numbers) {
  test_node node;
  auto r = lessons::sum_server::start();
  ASSERT_TRUE(r.ok());
  auto pid = r.value();
  EXPECT_EQ(lessons::sum_server::sum(pid, 1, 2), 3);
  EXPECT_EQ(lessons::sum_server::sum(pid, -5, 40), 35);
}

TEST(lessons_sum_server, start_is_neither_linked_nor_named) {
  test_node node;
  auto pid = lessons::sum_server::start().value();
  auto info = otp::process_info(pid.get_pid());
  ASSERT_TRUE(info.has_value());
  EXPECT_TRUE(info->links.empty());
  EXPECT_TRUE(info->registered_name.empty());
}

// ===================================================================== weather service (seed 002)

TEST(lessons_weather_worker, temperature_stats_reset_and_stop) {
  test_node node;
  namespace w = lessons::weather_worker;
  captured_output out;
  auto pid = w::start_link({.puts = out.fn()}).value();
  EXPECT_EQ(w::get_temperature(pid, "Singapore"), "28.9°C");
  EXPECT_EQ(w::get_temperature(pid, "London"), "11.4°C");
  EXPECT_EQ(w::get_temperature(pid, "Singapore"), "28.9°C");
  EXPECT_EQ(w::get_temperature(pid, "Atlantis"), std::nullopt);  // :error, not counted
  EXPECT_EQ(w::get_stats(pid), (w::stats_t{{"London", 1}, {"Singapore", 2}}));
  w::reset_stats(pid);
  EXPECT_TRUE(w::get_stats(pid).empty());
  otp::send(pid.get_pid(), std::string("hello"));  // handle_info: IO.puts "received ..."
  (void)w::get_stats(pid);
  otp::ref m = otp::monitor(pid.get_pid());
  w::stop(pid);  // cast :stop -> {:stop, :normal, stats}
  EXPECT_TRUE(await_down(m).reason.is_normal());
  EXPECT_EQ(out.lines(), strings({"received \"hello\"", "server terminated because of normal"}));
}

TEST(lessons_weather_worker, lookup_is_pluggable) {
  test_node node;
  namespace w = lessons::weather_worker;
  auto pid = w::start_link({.lookup = [](const std::string& l) -> std::optional<double> {
                              return l == "Oslo" ? std::optional<double>(-3.25) : std::nullopt;
                            },
                            .start = {.name = "weather"}})
                 .value();
  EXPECT_EQ(w::get_temperature(w::ref("weather"), "Oslo"), "-3.2°C");
  EXPECT_EQ(w::get_temperature(pid, "Singapore"), std::nullopt);
}

// ===================================================================== CounterServer (seed 003, section 3)

TEST(lessons_counter_server, calls_and_casts) {
  test_node node;
  namespace cs = lessons::counter_server;
  auto pid = cs::start_link(5).value();
  EXPECT_EQ(cs::get(pid), 5);
  EXPECT_EQ(cs::increment(pid), 6);  // replies the new count
  EXPECT_EQ(cs::add(pid, 10), 16);
  cs::increment_async(pid);
  EXPECT_EQ(cs::get(pid), 17);
  cs::reset_async(pid);
  EXPECT_EQ(cs::get(pid), 0);
  EXPECT_LE(otp::sys::get_state(pid).started_at, std::chrono::system_clock::now());
}

TEST(lessons_counter_server, who_called_is_the_caller_and_slow_operation_replies_later) {
  test_node node;
  namespace cs = lessons::counter_server;
  auto pid = cs::start_link(3).value();
  otp::from f = cs::who_called(pid);  // {#PID<caller>, #Reference<...>}
  EXPECT_EQ(f.caller(), otp::self());
  EXPECT_NE(cs::who_called(pid).tag(), f.tag());  // a fresh tag per call
  EXPECT_EQ(cs::slow_operation(pid), "expensive result for count 3");  // GenServer.reply/2 from a spawned process
  EXPECT_EQ(cs::increment(pid), 4);  // the server was not blocked
}

TEST(lessons_counter_server, invalid_initial_value_stops_init_and_the_link_carries_it) {
  test_node node;
  namespace cs = lessons::counter_server;
  // A trapping caller gets {:error, :invalid_initial_value} and the EXIT.
  otp::pid test = otp::self();
  struct report {
    bool ok;
    std::string error;
    std::string exit_reason;
  };
  otp::spawn([test] {
    otp::trap_exit(true);
    auto r = cs::start_link(std::string("five"));
    auto ex = otp::receive_as<otp::exit_msg>(otp::infinity);
    otp::send(test, report{r.ok(), r.error().to_string(), ex->reason.to_string()});
  });
  auto rep = recv<report>();
  EXPECT_FALSE(rep.ok);
  EXPECT_EQ(rep.error, "invalid_initial_value");
  EXPECT_EQ(rep.exit_reason, "invalid_initial_value");
  // A non-trapping caller (like iex) dies with it: ** (EXIT from ...) :invalid_initial_value
  auto [p, m] = otp::spawn_monitor([] {
    (void)cs::start_link(std::string("five"));
    idle();
  });
  EXPECT_EQ(await_down(m).reason.to_string(), "invalid_initial_value");
  // Unlinked, only the error comes back.
  auto r = gs::start<cs::server>(std::any(std::string("five")));
  EXPECT_EQ(r.error().to_string(), "invalid_initial_value");
}

// ===================================================================== MyServer (seed 003, the boundary)

TEST(lessons_my_server, client_runs_in_caller_callback_in_server) {
  test_node node;
  namespace ms = lessons::my_server;
  captured_output out;
  auto pid = ms::start_link({.value = 7, .puts = out.fn()}).value();
  EXPECT_EQ(ms::get_value(pid, out.fn()), 7);
  auto lines = out.lines();
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0], "In get_value, my pid is: #PID" + otp::self().to_string());
  const std::string server = "#PID" + pid.get_pid().to_string();
  EXPECT_EQ(lines[1], "In handle_call, my pid is: " + server + " (self() here: " + server + ")");
  EXPECT_EQ(otp::sys::get_state(pid).server_pid, pid.get_pid());
}

// ===================================================================== MonitoredServer (seed 003)

TEST(lessons_monitored_server, down_of_the_monitored_process) {
  test_node node;
  namespace mon = lessons::monitored_server;
  captured_output out;
  otp::pid watched = otp::spawn(idle);
  auto pid = mon::start_link(watched, out.fn()).value();
  EXPECT_TRUE(otp::sys::get_state(pid).alive);
  otp::exit(watched, exit_reason::other("boom"));
  ASSERT_TRUE(wait_until([&] { return out.size() >= 1; }));
  EXPECT_EQ(out.lines(), strings({("Monitored process #PID" + watched.to_string() + " died: boom").c_str()}));
  EXPECT_FALSE(otp::sys::get_state(pid).alive);
}

TEST(lessons_monitored_server, timeout_and_unexpected_messages) {
  test_node node;
  namespace mon = lessons::monitored_server;
  captured_output out;
  otp::pid watched = otp::spawn(idle);
  auto pid = mon::start_link(watched, out.fn()).value();
  otp::send(pid.get_pid(), otp::gen_server::timeout_event{});  // send(pid, :timeout)
  otp::send(pid.get_pid(), std::string("hello"));
  otp::send(pid.get_pid(), 42);
  (void)otp::sys::get_state(pid);  // behind the three sends
  EXPECT_EQ(out.lines(), strings({"Timeout fired!", "Unexpected message: \"hello\"", "Unexpected message: 42"}));
  EXPECT_TRUE(otp::sys::get_state(pid).alive);
  otp::exit(watched, exit_reason::kill());
}

TEST(lessons_monitored_server, already_dead_process_gives_noproc_down) {
  test_node node;
  namespace mon = lessons::monitored_server;
  captured_output out;
  otp::pid gone = dead_pid();
  auto pid = mon::start_link(gone, out.fn()).value();
  ASSERT_TRUE(wait_until([&] { return out.size() >= 1; }));
  EXPECT_EQ(out.lines()[0], "Monitored process #PID" + gone.to_string() + " died: noproc");
  EXPECT_FALSE(otp::sys::get_state(pid).alive);
}

// ===================================================================== ResourceServer (seed 003, terminate/2)

TEST(lessons_resource_server, terminate_closes_the_file_on_stop) {
  test_node node;
  namespace rs = lessons::resource_server;
  captured_output out;
  const std::string path = temp_path("stop");
  auto pid = rs::start_link({.path = path, .puts = out.fn()}).value();
  rs::write_line(pid, "hello");
  rs::write_line(pid, "world");
  rs::stop(pid);  // GenServer.stop(pid, :normal): returns after terminate
  EXPECT_FALSE(otp::is_alive(pid.get_pid()));
  EXPECT_EQ(out.lines(), strings({"Terminating because: normal"}));
  EXPECT_EQ(slurp(path), "hello\nworld\n");  // flushed by the close in terminate
  std::filesystem::remove(path);
}

TEST(lessons_resource_server, terminate_runs_on_stop_return_and_on_crash) {
  test_node node;
  node->logger().set_level(otp::log_level::none);  // the crash report is expected
  namespace rs = lessons::resource_server;
  {  // return_stop: handle_* returns {:stop, reason, state} -> true
    captured_output out;
    auto pid = rs::start({.path = temp_path("return"), .puts = out.fn()}).value();
    otp::ref m = otp::monitor(pid.get_pid());
    rs::stop_with(pid, exit_reason::other("done"));
    EXPECT_EQ(await_down(m).reason.to_string(), "done");
    EXPECT_EQ(out.lines(), strings({"Terminating because: done"}));
    std::filesystem::remove(temp_path("return"));
  }
  {  // crash: an exception in handle_* -> true
    captured_output out;
    const std::string path = temp_path("crash");
    auto pid = rs::start({.path = path, .puts = out.fn()}).value();
    otp::ref m = otp::monitor(pid.get_pid());
    rs::write_line(pid, "before the crash");
    rs::crash(pid);
    exit_reason r = await_down(m).reason;
    EXPECT_TRUE(r.is_exception()) << r.to_string();
    EXPECT_EQ(out.lines(), strings({("Terminating because: " + r.to_string()).c_str()}));
    EXPECT_EQ(slurp(path), "before the crash\n");
    std::filesystem::remove(path);
  }
}

TEST(lessons_resource_server, terminate_does_not_run_on_kill) {
  test_node node;
  namespace rs = lessons::resource_server;
  captured_output out;
  auto pid = rs::start({.path = temp_path("kill"), .puts = out.fn()}).value();
  otp::ref m = otp::monitor(pid.get_pid());
  otp::exit(pid.get_pid(), exit_reason::kill());  // :kill cannot be caught or handled
  EXPECT_EQ(await_down(m).reason, exit_reason::killed());
  EXPECT_TRUE(out.lines().empty());
  std::filesystem::remove(temp_path("kill"));
}

namespace {
/// Starts a ResourceServer linked to a new process (its parent), which then
/// exits with `parent_reason`; returns the server's exit reason.
exit_reason exit_through_parent(const lessons::resource_server::options& opts, exit_reason parent_reason) {
  otp::pid test = otp::self();
  otp::pid parent = otp::spawn([test, opts, parent_reason] {
    auto r = lessons::resource_server::start_link(opts);
    otp::send(test, r.get_pid());
    (void)otp::receive_as<go>(otp::infinity);
    otp::exit(parent_reason);
  });
  otp::pid server = recv<otp::pid>();
  otp::ref m = otp::monitor(server);
  otp::send(parent, go{});
  return await_down(m).reason;
}
}  // namespace

TEST(lessons_resource_server, linked_crash_without_trapping_skips_terminate) {
  test_node node;
  captured_output out;
  exit_reason r = exit_through_parent({.path = temp_path("linked"), .puts = out.fn()}, exit_reason::other("crashed"));
  EXPECT_EQ(r.to_string(), "crashed");
  EXPECT_TRUE(out.lines().empty());  // the process died immediately
  std::filesystem::remove(temp_path("linked"));
}

TEST(lessons_resource_server, parent_shutdown_runs_terminate_when_trapping_exits) {
  test_node node;
  captured_output out;
  const std::string path = temp_path("shutdown");
  exit_reason r = exit_through_parent({.path = path, .puts = out.fn(), .trap_exit = true}, exit_reason::shutdown());
  EXPECT_TRUE(r.is_shutdown()) << r.to_string();
  EXPECT_EQ(out.lines(), strings({"Terminating because: shutdown"}));
  std::filesystem::remove(path);
}

TEST(lessons_resource_server, parent_shutdown_without_trapping_skips_terminate) {
  // The seed's table says parent_shutdown -> true; that holds for a server
  // that traps exits (what supervisors' children do), as OTP documents.
  test_node node;
  captured_output out;
  exit_reason r = exit_through_parent({.path = temp_path("shutdown2"), .puts = out.fn()}, exit_reason::shutdown());
  EXPECT_TRUE(r.is_shutdown()) << r.to_string();
  EXPECT_TRUE(out.lines().empty());
  std::filesystem::remove(temp_path("shutdown2"));
}

// ===================================================================== AgentServer (seed 003, exercise 3)

TEST(lessons_agent_server, exercise_3_session) {
  test_node node;
  namespace ag = lessons::agent_server;
  captured_output out;
  auto agent = ag::start_link("TestAgent", {.puts = out.fn()}).value();
  ag::remember(agent, "context", "researching OTP");
  EXPECT_EQ(ag::recall(agent, "context"), "researching OTP");
  ag::send_task(agent, "search", {{"query", "GenServer patterns"}});
  ag::send_task(agent, "analyze", {{"data", "some data"}});
  EXPECT_EQ(ag::inbox_count(agent), 2u);

  auto first = ag::process_next(agent);
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->task.action, "search");
  EXPECT_EQ(first->task.type, "task");
  EXPECT_EQ(first->task.id.size(), 16u);  // 8 random bytes, hex
  EXPECT_EQ(first->result, (ag::task_result{true, "Search results for: GenServer patterns"}));
  auto second = ag::process_next(agent);
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(second->task.action, "analyze");
  EXPECT_EQ(second->result.to_string(), "{:ok, \"Analysis of: some data\"}");
  EXPECT_NE(first->task.id, second->task.id);
  EXPECT_FALSE(ag::process_next(agent).has_value());  // {:empty, nil}

  ag::agent_state st = ag::get_state(agent);
  EXPECT_EQ(st.name, "TestAgent");
  EXPECT_EQ(st.status, "idle");
  EXPECT_TRUE(st.inbox.empty());
  EXPECT_EQ(st.processed_count, 2u);
  EXPECT_EQ(st.memory.at("context"), "researching OTP");
  EXPECT_EQ(st.memory.at("last_result"), "{:ok, \"Analysis of: some data\"}");
  EXPECT_TRUE(out.lines().empty());
}

TEST(lessons_agent_server, unknown_action_initial_memory_unexpected_message_and_terminate) {
  test_node node;
  namespace ag = lessons::agent_server;
  captured_output out;
  auto agent = ag::start_link("A1", {.memory = {{"k", "v"}}, .puts = out.fn()}).value();
  EXPECT_EQ(ag::recall(agent, "k"), "v");
  EXPECT_EQ(ag::recall(agent, "nope"), std::nullopt);
  ag::send_task(agent, "dance");
  auto r = ag::process_next(agent);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->result.to_string(), "{:error, {:unknown_action, :dance}}");
  otp::send(agent.get_pid(), std::string("ping"));
  EXPECT_EQ(ag::inbox_count(agent), 0u);
  gs::stop(agent.target());
  EXPECT_EQ(out.lines(), strings({"[AgentServer A1] Unexpected message: \"ping\"", "[AgentServer A1] Terminating: normal"}));
}

// ===================================================================== IdleDetector (seed 003, timeouts)

TEST(lessons_idle_detector, timeout_after_idle_period_and_again_after_each) {
  test_node node;
  namespace idle_ns = lessons::idle_detector;
  captured_output out;
  const std::size_t timers = node->pending_timers();
  auto pid = idle_ns::start_link({.puts = out.fn()}).value();  // @idle_timeout 5_000
  ASSERT_TRUE(wait_for_timers(node, timers + 1));
  node->advance_time(4'999ms);
  EXPECT_EQ(out.size(), 0u);
  node->advance_time(1ms);  // 5 s idle
  ASSERT_TRUE(wait_until([&] { return out.size() >= 1; }));
  EXPECT_EQ(out.lines(), strings({"Been idle since 0 ms"}));
  ASSERT_TRUE(wait_for_timers(node, timers + 1));  // {:noreply, state, @idle_timeout}
  node->advance_time(5'000ms);
  ASSERT_TRUE(wait_until([&] { return out.size() >= 2; }));
  EXPECT_EQ(out.lines(), strings({"Been idle since 0 ms", "Been idle since 0 ms"}));
  EXPECT_EQ(otp::sys::get_state(pid).timeouts, 2u);
}

TEST(lessons_idle_detector, ping_resets_the_timeout) {
  test_node node;
  namespace idle_ns = lessons::idle_detector;
  captured_output out;
  const std::size_t timers = node->pending_timers();
  auto pid = idle_ns::start_link({.idle_timeout = 100ms, .puts = out.fn()}).value();
  ASSERT_TRUE(wait_for_timers(node, timers + 1));
  node->advance_time(80ms);
  EXPECT_EQ(idle_ns::ping(pid), "pong");  // at t=80: the next timeout is due at 180
  ASSERT_TRUE(wait_for_timers(node, timers + 1));
  node->advance_time(80ms);               // t=160
  EXPECT_EQ(idle_ns::ping(pid), "pong");  // no :timeout came before it
  EXPECT_EQ(out.size(), 0u);
  ASSERT_TRUE(wait_for_timers(node, timers + 1));
  node->advance_time(100ms);  // t=260: 100 ms idle since the ping at 160
  ASSERT_TRUE(wait_until([&] { return out.size() >= 1; }));
  EXPECT_EQ(out.lines(), strings({"Been idle since 160 ms"}));
}

// ===================================================================== SingletonServer (seed 003, names)

TEST(lessons_singleton_server, called_by_name) {
  test_node node;
  namespace ss = lessons::singleton_server;
  auto r = ss::start_link(nullptr);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(ss::get_value(), 42);
  EXPECT_EQ(gs::whereis("SingletonServer"), r.get_pid());
  auto again = ss::start_link();
  EXPECT_EQ(again.error().to_string(), "{already_started," + r.get_pid().to_string() + "}");
  EXPECT_EQ(again.existing(), r.get_pid());
}

TEST(lessons_singleton_server, get_value_without_server_is_noproc) {
  test_node node;
  try {
    (void)lessons::singleton_server::get_value();
    FAIL() << "call to a missing name returned";
  } catch (const otp::exit_error& e) {
    EXPECT_EQ(e.reason().inner(), exit_reason::noproc());
  }
}

// ===================================================================== SetupServer (seed 001, init/1 snippet)

TEST(lessons_setup_server, expensive_setup_runs_after_init_returns) {
  test_node node;
  namespace su = lessons::setup_server;
  auto pid = su::start_link().value();
  EXPECT_EQ(su::status(pid), ":ready");  // queued behind :do_expensive_setup
  EXPECT_EQ(otp::sys::get_state(pid).setup_runs, 1);
}
