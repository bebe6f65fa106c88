// otp_lessons: a tour of the GenServers in the Elixir lesson texts
// (/work/shared/seeds/*.txt), as C++. For each lesson: a heading naming the
// seed, then the iex session the seed shows (or, where it shows none, one
// that uses the module's client API), each step as
//
//   iex> Counter.increment(5)      the Elixir expression
//   c++> counter::increment(5)     the C++ call this program made
//   :ok                            the result, printed the way iex would
//
// Lines printed by the servers themselves (IO.puts) appear where they
// happen. Real clock: the TTL, inactivity and idle intervals are shortened
// (they are options of the lesson servers) so that the tour takes ~1.5 s.

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "agent_server.hpp"
#include "cache.hpp"
#include "counter.hpp"
#include "counter_server.hpp"
#include "expiring_cache.hpp"
#include "idle_detector.hpp"
#include "kv_store.hpp"
#include "monitored_server.hpp"
#include "my_server.hpp"
#include "resource_server.hpp"
#include "setup_server.hpp"
#include "shopping_cart.hpp"
#include "simple_cache.hpp"
#include "singleton_server.hpp"
#include "sum_server.hpp"
#include "weather_worker.hpp"

using namespace std::chrono_literals;
namespace gs = otp::gen_server;

namespace {

const char* const seed_001 = "001_0b58813fb19a7601.txt";
const char* const seed_002 = "002_01ce040a1b1ef7f5.txt";
const char* const seed_003 = "003_b935929faef557a9.txt";

void heading(const std::string& module, const char* seed, const std::string& section) {
  std::printf("\n=== %s  (seed %s: %s)\n", module.c_str(), seed, section.c_str());
}
void note(const std::string& text) { std::printf("# %s\n", text.c_str()); }
/// One iex step: the Elixir expression, the C++ call, the result.
void step(const std::string& elixir, const std::string& cpp, const std::string& result) {
  std::printf("iex> %s\nc++> %s\n%s\n", elixir.c_str(), cpp.c_str(), result.c_str());
  std::fflush(stdout);
}
/// A step whose output is printed by the server (IO.puts) while it runs:
/// the expression first, then `run()`, then the result.
template <class F>
void step_live(const std::string& elixir, const std::string& cpp, F&& run) {
  std::printf("iex> %s\nc++> %s\n", elixir.c_str(), cpp.c_str());
  std::fflush(stdout);
  std::string result = run();
  if (!result.empty()) std::printf("%s\n", result.c_str());
  std::fflush(stdout);
}

// ---- iex's inspect
std::string str(const std::string& s) { return "\"" + s + "\""; }
std::string str(const std::optional<std::string>& s) { return s ? str(*s) : "nil"; }
std::string pid(const otp::pid& p) { return lessons::inspect(p); }
std::string reason(const otp::exit_reason& r) {
  std::string t = r.to_string();
  if (r.get_kind() == otp::exit_reason::kind::other && t.find_first_of("{,") == std::string::npos) return ":" + t;
  if (r.is_normal()) return ":normal";
  return t;
}
template <class S>
std::string start_res(const otp::start_result<S>& r) {
  if (r.ok()) return "{:ok, " + pid(r.get_pid()) + "}";
  if (r.ignored()) return ":ignore";
  if (r.existing()) return "{:error, {:already_started, " + pid(r.existing()) + "}}";
  return "{:error, " + reason(r.error()) + "}";
}
std::string atoms(const std::vector<std::string>& v) {
  std::string s = "[";
  for (std::size_t i = 0; i < v.size(); ++i) s += (i ? ", :" : ":") + v[i];
  return s + "]";
}
std::string num(double d) { return fmt::format("{}", d); }

/// The servers' IO.puts for the lessons whose output comes asynchronously:
/// prints the line and tells the tour (a message), which waits for it.
struct printed {};
lessons::puts_fn notify_puts(otp::pid tour) {
  return [tour](const std::string& line) {
    lessons::stdout_puts(line);
    otp::send(tour, printed{});
  };
}
void await_printed() { (void)otp::receive_as<printed>(2s); }

void sleep_for(std::chrono::milliseconds d) { std::this_thread::sleep_for(d); }

// ================================================================= seed 001

void counter() {
  namespace c = lessons::counter;
  heading("Counter", seed_001, "Your First GenServer");
  step("Counter.start_link(0)", "lessons::counter::start_link(0)", start_res(c::start_link(0)));
  c::increment(5);
  step("Counter.increment(5)", "lessons::counter::increment(5)", ":ok");
  c::increment(3);
  step("Counter.increment(3)", "lessons::counter::increment(3)", ":ok");
  step("Counter.get_count()", "lessons::counter::get_count()", std::to_string(c::get_count()));
}

void setup_server() {
  namespace su = lessons::setup_server;
  heading("SetupServer", seed_001, "init/1 - send(self(), :do_expensive_setup)");
  note("the seed's init snippet, in a module of its own with a status/1 call");
  auto r = su::start_link();
  step("{:ok, pid} = SetupServer.start_link()", "auto pid = lessons::setup_server::start_link().value()", start_res(r));
  auto p = r.value();
  step("SetupServer.status(pid)", "lessons::setup_server::status(pid)", su::status(p));
}

void kv_store() {
  namespace kv = lessons::kv_store;
  heading("KVStore", seed_001, "A Complete Example: Key-Value Store");
  note("keys are atoms in Elixir, std::string here");
  step("KVStore.start_link()", "lessons::kv_store::start_link()", start_res(kv::start_link()));
  kv::put("name", "Elixir");
  step("KVStore.put(:name, \"Elixir\")", "lessons::kv_store::put(\"name\", \"Elixir\")", ":ok");
  kv::put("version", "1.16");
  step("KVStore.put(:version, \"1.16\")", "lessons::kv_store::put(\"version\", \"1.16\")", ":ok");
  step("KVStore.get(:name)", "lessons::kv_store::get(\"name\")", str(kv::get("name")));
  step("KVStore.keys()", "lessons::kv_store::keys()", atoms(kv::keys()));
  kv::del("version");
  step("KVStore.delete(:version)", "lessons::kv_store::del(\"version\")", ":ok");
  step("KVStore.keys()", "lessons::kv_store::keys()", atoms(kv::keys()));
}

void cache() {
  namespace ca = lessons::cache;
  heading("Cache", seed_001, "Client API vs Server Callbacks");
  note("no iex session in the seed: its two client functions");
  step("GenServer.start_link(Cache, %{}, name: Cache)", "lessons::cache::start_link()", start_res(ca::start_link()));
  step("Cache.get(:lang)", "lessons::cache::get(\"lang\")", str(ca::get("lang")));
  ca::put("lang", "Elixir");
  step("Cache.put(:lang, \"Elixir\")", "lessons::cache::put(\"lang\", \"Elixir\")", ":ok");
  step("Cache.get(:lang)", "lessons::cache::get(\"lang\")", str(ca::get("lang")));
}

std::string cart_items(const std::vector<lessons::shopping_cart::item>& items) {
  std::string s = "[";
  for (std::size_t i = 0; i < items.size(); ++i)
    s += (i ? ", {" : "{") + str(items[i].first) + ", " + num(items[i].second) + "}";
  return s + "]";
}

void shopping_cart() {
  namespace sc = lessons::shopping_cart;
  heading("ShoppingCart", seed_001, "Practice: Shopping Cart GenServer (+ the inactivity bonus)");
  note("inactivity is 30 minutes by default; 300 ms in this tour");
  step("ShoppingCart.start_link()", "lessons::shopping_cart::start_link({.inactivity = 300ms})",
       start_res(sc::start_link({.inactivity = 300ms})));
  sc::add_item("apple", 1.5);
  step("ShoppingCart.add_item(\"apple\", 1.5)", "lessons::shopping_cart::add_item(\"apple\", 1.5)", ":ok");
  sc::add_item("bread", 2.25);
  step("ShoppingCart.add_item(\"bread\", 2.25)", "lessons::shopping_cart::add_item(\"bread\", 2.25)", ":ok");
  sc::add_item("apple", 1.5);
  step("ShoppingCart.add_item(\"apple\", 1.5)", "lessons::shopping_cart::add_item(\"apple\", 1.5)", ":ok");
  step("ShoppingCart.list_items()", "lessons::shopping_cart::list_items()", cart_items(sc::list_items()));
  step("ShoppingCart.total()", "lessons::shopping_cart::total()", num(sc::total()));
  sc::remove_item("apple");
  step("ShoppingCart.remove_item(\"apple\")", "lessons::shopping_cart::remove_item(\"apple\")", ":ok");
  step("ShoppingCart.list_items()", "lessons::shopping_cart::list_items()", cart_items(sc::list_items()));
  sc::clear();
  step("ShoppingCart.clear()", "lessons::shopping_cart::clear()", ":ok");
  step("ShoppingCart.total()", "lessons::shopping_cart::total()", num(sc::total()));
  sc::add_item("milk", 0.99);
  step("ShoppingCart.add_item(\"milk\", 0.99)", "lessons::shopping_cart::add_item(\"milk\", 0.99)", ":ok");
  sleep_for(150ms);
  step("Process.sleep(150); ShoppingCart.list_items()", "sleep 150 ms; lessons::shopping_cart::list_items()",
       cart_items(sc::list_items()));
  sleep_for(250ms);
  step("Process.sleep(250); ShoppingCart.list_items()   # 400 ms without add/remove",
       "sleep 250 ms; lessons::shopping_cart::list_items()", cart_items(sc::list_items()));
}

// ================================================================= seed 002

void sum_server() {
  namespace ss = lessons::sum_server;
  heading("SumServer", seed_002, "Elixir in Action, listing 1.2");
  auto r = ss::start();
  step("{:ok, pid} = SumServer.start()", "auto pid = lessons::sum_server::start().value()", start_res(r));
  step("SumServer.sum(pid, 1, 2)", "lessons::sum_server::sum(pid, 1, 2)", std::to_string(ss::sum(r.value(), 1, 2)));
}

void weather() {
  namespace w = lessons::weather_worker;
  heading("Metex.Worker (the weather service)", seed_002, "The Little Elixir & OTP Guidebook");
  note("the seed names the listing without its code; this is the book's Metex.Worker API,");
  note("with a fixed table instead of the OpenWeatherMap request");
  auto r = w::start_link();
  step("{:ok, pid} = Metex.Worker.start_link()", "auto pid = lessons::weather_worker::start_link().value()",
       start_res(r));
  auto p = r.value();
  step("Metex.Worker.get_temperature(pid, \"Singapore\")", "lessons::weather_worker::get_temperature(pid, \"Singapore\")",
       str(w::get_temperature(p, "Singapore")));
  step("Metex.Worker.get_temperature(pid, \"London\")", "lessons::weather_worker::get_temperature(pid, \"London\")",
       str(w::get_temperature(p, "London")));
  step("Metex.Worker.get_temperature(pid, \"Singapore\")", "lessons::weather_worker::get_temperature(pid, \"Singapore\")",
       str(w::get_temperature(p, "Singapore")));
  auto t = w::get_temperature(p, "Atlantis");
  step("Metex.Worker.get_temperature(pid, \"Atlantis\")", "lessons::weather_worker::get_temperature(pid, \"Atlantis\")",
       t ? str(*t) : ":error");
  std::string stats = "%{";
  bool first = true;
  for (auto& [loc, n] : w::get_stats(p)) stats += (first ? "" : ", ") + str(loc) + " => " + std::to_string(n), first = false;
  step("Metex.Worker.get_stats(pid)", "lessons::weather_worker::get_stats(pid)", stats + "}");
  w::reset_stats(p);
  step("Metex.Worker.reset_stats(pid)", "lessons::weather_worker::reset_stats(pid)", ":ok");
  step("Metex.Worker.get_stats(pid)", "lessons::weather_worker::get_stats(pid)",
       w::get_stats(p).empty() ? "%{}" : "(not empty)");
  step_live("send(pid, \"hello\")", "otp::send(pid, std::string(\"hello\"))", [&] {
    otp::send(p.get_pid(), std::string("hello"));
    (void)w::get_stats(p);  // the info was handled (same sender, in order)
    return std::string("\"hello\"");
  });
  step_live("Metex.Worker.stop(pid)", "lessons::weather_worker::stop(pid)", [&] {
    otp::ref m = otp::monitor(p.get_pid());
    w::stop(p);
    (void)otp::receive_if<otp::down_msg>([&](const otp::down_msg& d) { return d.mref == m; }, 2s);
    return std::string(":ok");
  });
}

// ================================================================= seed 003

void my_server() {
  namespace ms = lessons::my_server;
  heading("MyServer", seed_003, "Understanding the Boundary");
  note("main() is " + pid(otp::self()));
  auto r = ms::start_link({.value = 7});
  step("{:ok, pid} = GenServer.start_link(MyServer, 7)", "auto pid = lessons::my_server::start_link({.value = 7}).value()",
       start_res(r));
  step_live("MyServer.get_value(pid)", "lessons::my_server::get_value(pid)",
            [&] { return std::to_string(ms::get_value(r.value())); });
}

void counter_server() {
  namespace cs = lessons::counter_server;
  heading("CounterServer", seed_003, "Section 3: Implementing Each Callback");
  auto r = cs::start_link(5);
  step("{:ok, pid} = CounterServer.start_link(5)", "auto pid = lessons::counter_server::start_link(5).value()",
       start_res(r));
  auto p = r.value();
  step("CounterServer.get(pid)", "lessons::counter_server::get(pid)", std::to_string(cs::get(p)));
  step("CounterServer.increment(pid)", "lessons::counter_server::increment(pid)", std::to_string(cs::increment(p)));
  step("CounterServer.add(pid, 10)", "lessons::counter_server::add(pid, 10)", std::to_string(cs::add(p, 10)));
  cs::increment_async(p);
  step("CounterServer.increment_async(pid)", "lessons::counter_server::increment_async(pid)", ":ok");
  step("CounterServer.get(pid)", "lessons::counter_server::get(pid)", std::to_string(cs::get(p)));
  cs::reset_async(p);
  step("CounterServer.reset_async(pid)", "lessons::counter_server::reset_async(pid)", ":ok");
  step("CounterServer.get(pid)", "lessons::counter_server::get(pid)", std::to_string(cs::get(p)));
  otp::from f = cs::who_called(p);
  step("GenServer.call(pid, :who_called)", "lessons::counter_server::who_called(pid)",
       "{" + pid(f.caller()) + ", #Reference<" + std::to_string(f.tag()) + ">}");
  step("GenServer.call(pid, :slow_operation)   # GenServer.reply/2 from a spawned process",
       "lessons::counter_server::slow_operation(pid)", str(cs::slow_operation(p)));
  note("{:stop, :invalid_initial_value} from init; unlinked here (start_link would also send main the exit)");
  step("GenServer.start(CounterServer, \"five\")", "otp::gen_server::start<counter_server::server>(std::any(\"five\"s))",
       start_res(gs::start<cs::server>(std::any(std::string("five")))));
}

void monitored_server() {
  namespace mon = lessons::monitored_server;
  heading("MonitoredServer", seed_003, "handle_info/2 - Everything Else");
  otp::pid me = otp::self();
  otp::pid watched = otp::spawn([] { (void)otp::receive_as<printed>(); });
  step("watched = spawn(fn -> receive do _ -> :ok end end)", "otp::pid watched = otp::spawn(...)", pid(watched));
  auto r = mon::start_link(watched, notify_puts(me));
  step("{:ok, pid} = MonitoredServer.start_link(watched)",
       "auto pid = lessons::monitored_server::start_link(watched).value()", start_res(r));
  auto p = r.value();
  step_live("send(pid, :timeout)", "otp::send(pid, otp::gen_server::timeout_event{})", [&] {
    otp::send(p.get_pid(), gs::timeout_event{});
    await_printed();
    return std::string(":timeout");
  });
  step_live("send(pid, \"hello\")", "otp::send(pid, std::string(\"hello\"))", [&] {
    otp::send(p.get_pid(), std::string("hello"));
    await_printed();
    return std::string("\"hello\"");
  });
  step_live("Process.exit(watched, :boom)", "otp::exit(watched, otp::exit_reason::other(\"boom\"))", [&] {
    otp::exit(watched, otp::exit_reason::other("boom"));
    await_printed();
    return std::string("true");
  });
  step(":sys.get_state(pid).alive", "otp::sys::get_state(pid).alive",
       otp::sys::get_state(p).alive ? "true" : "false");
}

void resource_server() {
  namespace rs = lessons::resource_server;
  heading("ResourceServer", seed_003, "terminate/2 - Cleanup");
  const std::string path = (std::filesystem::temp_directory_path() / "otp_lessons_server.log").string();
  note("the file is " + path + " (the seed's /tmp/server.log, renamed)");
  auto r = rs::start({.path = path});
  step("{:ok, pid} = GenServer.start(ResourceServer, nil)", "auto pid = lessons::resource_server::start({.path = ...}).value()",
       start_res(r));
  auto p = r.value();
  rs::write_line(p, "hello from the server");
  step("ResourceServer.write_line(pid, \"hello from the server\")",
       "lessons::resource_server::write_line(pid, \"hello from the server\")", ":ok");
  step_live("GenServer.stop(pid)", "lessons::resource_server::stop(pid)", [&] {
    rs::stop(p);
    return std::string(":ok");
  });
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  std::string content = ss.str();
  if (!content.empty() && content.back() == '\n') content.pop_back();
  step("File.read!(path)   # written when terminate closed the file", "std::ifstream(path)",
       "\"" + content + "\\n\"");
  note("terminate/2 does not run on :kill");
  auto r2 = rs::start({.path = path});
  step("{:ok, pid} = GenServer.start(ResourceServer, nil)", "lessons::resource_server::start({.path = ...})",
       start_res(r2));
  otp::ref m = otp::monitor(r2.get_pid());
  otp::exit(r2.get_pid(), otp::exit_reason::kill());
  auto d = otp::receive_if<otp::down_msg>([&](const otp::down_msg& x) { return x.mref == m; }, 2s);
  step("Process.exit(pid, :kill)   # no \"Terminating because\" line", "otp::exit(pid, otp::exit_reason::kill())",
       "true   (DOWN reason: " + (d ? reason(d->reason) : std::string("?")) + ")");
  std::filesystem::remove(path);
}

std::string processed(const std::optional<lessons::agent_server::processed>& p) {
  if (!p) return "{:empty, nil}";
  std::string params;
  for (auto& [k, v] : p->task.params) params += (params.empty() ? "" : ", ") + k + ": " + str(v);
  return "{:ok, %Message{type: :task, id: " + str(p->task.id) + ", payload: %{action: :" + p->task.action +
         ", params: %{" + params + "}}}, " + p->result.to_string() + "}";
}

void agent_server() {
  namespace ag = lessons::agent_server;
  heading("AgentServer", seed_003, "Exercise 3: Try AgentServer");
  auto r = ag::start_link("TestAgent");
  step("{:ok, agent} = AgentServer.start_link(\"TestAgent\")",
       "auto agent = lessons::agent_server::start_link(\"TestAgent\").value()", start_res(r));
  auto a = r.value();
  ag::remember(a, "context", "researching OTP");
  step("AgentServer.remember(agent, :context, \"researching OTP\")",
       "lessons::agent_server::remember(agent, \"context\", \"researching OTP\")", ":ok");
  step("AgentServer.recall(agent, :context)", "lessons::agent_server::recall(agent, \"context\")",
       str(ag::recall(a, "context")));
  ag::send_task(a, "search", {{"query", "GenServer patterns"}});
  step("AgentServer.send_task(agent, :search, %{query: \"GenServer patterns\"})",
       "lessons::agent_server::send_task(agent, \"search\", {{\"query\", \"GenServer patterns\"}})", ":ok");
  ag::send_task(a, "analyze", {{"data", "some data"}});
  step("AgentServer.send_task(agent, :analyze, %{data: \"some data\"})",
       "lessons::agent_server::send_task(agent, \"analyze\", {{\"data\", \"some data\"}})", ":ok");
  step("AgentServer.inbox_count(agent)", "lessons::agent_server::inbox_count(agent)",
       std::to_string(ag::inbox_count(a)));
  step("AgentServer.process_next(agent)", "lessons::agent_server::process_next(agent)", processed(ag::process_next(a)));
  step("AgentServer.process_next(agent)", "lessons::agent_server::process_next(agent)", processed(ag::process_next(a)));
  ag::agent_state st = ag::get_state(a);
  std::string memory;
  for (auto& [k, v] : st.memory) memory += (memory.empty() ? "" : ", ") + k + ": " + (k == "last_result" ? v : str(v));
  step("AgentServer.get_state(agent)", "lessons::agent_server::get_state(agent)",
       "%{name: " + str(st.name) + ", status: :" + st.status + ", memory: %{" + memory + "}, inbox: [" +
           (st.inbox.empty() ? "" : "...") + "], processed_count: " + std::to_string(st.processed_count) + "}");
  step_live("GenServer.stop(agent)", "otp::gen_server::stop(agent.target())", [&] {
    gs::stop(a.target());
    return std::string(":ok");
  });
}

void idle_detector() {
  namespace id = lessons::idle_detector;
  heading("IdleDetector", seed_003, "Section 5: Timeouts");
  note("@idle_timeout is 5_000 ms in the seed; 200 ms here. Times are on the node's clock (ms since start)");
  otp::pid me = otp::self();
  auto r = id::start_link({.idle_timeout = 200ms, .puts = notify_puts(me)});
  step("{:ok, pid} = GenServer.start_link(IdleDetector, nil)",
       "auto pid = lessons::idle_detector::start_link({.idle_timeout = 200ms}).value()", start_res(r));
  step_live("# wait 200 ms: no message -> handle_info(:timeout, state)", "(the tour waits for the line)", [&] {
    await_printed();
    return std::string("");
  });
  step("GenServer.call(pid, :ping)   # resets the timeout", "lessons::idle_detector::ping(pid)",
       ":" + id::ping(r.value()));
  step_live("# again 200 ms later", "(the tour waits for the line)", [&] {
    await_printed();
    return std::string("");
  });
  gs::stop(r.value().target());
}

void singleton_server() {
  namespace ss = lessons::singleton_server;
  heading("SingletonServer", seed_003, "Named Processes");
  step("SingletonServer.start_link(nil)", "lessons::singleton_server::start_link(nullptr)",
       start_res(ss::start_link(nullptr)));
  step("SingletonServer.get_value()", "lessons::singleton_server::get_value()", std::to_string(ss::get_value()));
  step("SingletonServer.start_link(nil)", "lessons::singleton_server::start_link(nullptr)",
       start_res(ss::start_link(nullptr)));
}

std::string stats(const lessons::simple_cache::stats_t& s) { return s.to_string(); }

void simple_cache() {
  namespace sc = lessons::simple_cache;
  heading("SimpleCache", seed_003, "Exercise 1: Build a Simple Cache");
  auto r = sc::start_link();
  step("{:ok, cache} = SimpleCache.start_link([])", "auto cache = lessons::simple_cache::start_link().value()",
       start_res(r));
  auto c = r.value();
  sc::put(c, "a", "1");
  step("SimpleCache.put(cache, :a, 1)", "lessons::simple_cache::put(cache, \"a\", \"1\")", ":ok");
  step("SimpleCache.get(cache, :a)", "lessons::simple_cache::get(cache, \"a\")", str(sc::get(c, "a")));
  step("SimpleCache.get(cache, :b)", "lessons::simple_cache::get(cache, \"b\")", str(sc::get(c, "b")));
  step("SimpleCache.stats(cache)", "lessons::simple_cache::stats(cache)", stats(sc::stats(c)));
  sc::del(c, "a");
  step("SimpleCache.delete(cache, :a)", "lessons::simple_cache::del(cache, \"a\")", ":ok");
  sc::put(c, "x", "1");
  sc::put(c, "y", "2");
  step("SimpleCache.put(cache, :x, 1); SimpleCache.put(cache, :y, 2)", "lessons::simple_cache::put(...) x2", ":ok");
  step("SimpleCache.stats(cache)", "lessons::simple_cache::stats(cache)", stats(sc::stats(c)));
  sc::clear(c);
  step("SimpleCache.clear(cache)", "lessons::simple_cache::clear(cache)", ":ok");
  step("SimpleCache.stats(cache)", "lessons::simple_cache::stats(cache)", stats(sc::stats(c)));
}

void expiring_cache() {
  namespace ec = lessons::expiring_cache;
  heading("SimpleCache with expiration", seed_003, "Exercise 2: Add Expiration");
  note("cleanup every 150 ms here (60_000 in the seed 001 snippet)");
  auto r = ec::start_link({.cleanup_interval = 150ms});
  step("{:ok, cache} = SimpleCache.start_link([])",
       "auto cache = lessons::expiring_cache::start_link({.cleanup_interval = 150ms}).value()", start_res(r));
  auto c = r.value();
  ec::put(c, "token", "abc", 100ms);
  step("SimpleCache.put(cache, :token, \"abc\", 100)", "lessons::expiring_cache::put(cache, \"token\", \"abc\", 100ms)",
       ":ok");
  ec::put(c, "session", "s1", 200ms);
  step("SimpleCache.put(cache, :session, \"s1\", 200)", "lessons::expiring_cache::put(cache, \"session\", \"s1\", 200ms)",
       ":ok");
  ec::put(c, "config", "on");
  step("SimpleCache.put(cache, :config, \"on\")   # no ttl", "lessons::expiring_cache::put(cache, \"config\", \"on\")",
       ":ok");
  step("SimpleCache.get(cache, :token)", "lessons::expiring_cache::get(cache, \"token\")", str(ec::get(c, "token")));
  sleep_for(120ms);
  step("Process.sleep(120); SimpleCache.get(cache, :token)", "sleep 120 ms; lessons::expiring_cache::get(cache, \"token\")",
       str(ec::get(c, "token")));
  sleep_for(230ms);
  step("Process.sleep(230); SimpleCache.stats(cache)   # :cleanup dropped :session without a get",
       "sleep 230 ms; lessons::expiring_cache::stats(cache)", stats(ec::stats(c)));
  step(":sys.get_state(cache).cleanups > 0", "otp::sys::get_state(cache).cleanups > 0",
       otp::sys::get_state(c).cleanups > 0 ? "true" : "false");
}

}  // namespace

int main() {
  auto t0 = std::chrono::steady_clock::now();
  otp::node node;
  std::printf("otp_lessons: the GenServers of /work/shared/seeds/*.txt in C++ (otpcpp)\n");
  std::printf("main() runs as %s\n", lessons::inspect(otp::self()).c_str());

  counter();
  setup_server();
  kv_store();
  cache();
  shopping_cart();
  sum_server();
  weather();
  my_server();
  counter_server();
  monitored_server();
  resource_server();
  agent_server();
  idle_detector();
  singleton_server();
  simple_cache();
  expiring_cache();

  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
  std::printf("\n(tour done in %lld ms)\n", static_cast<long long>(ms.count()));
}
