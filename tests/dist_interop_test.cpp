// Distribution against a real Elixir node (OTP's own implementation of the
// protocol): an otpcpp node and an Elixir node on 127.0.0.1 call, cast,
// send, monitor, link, ping and rpc each other, and see the same failures
// an all-BEAM cluster sees. Skipped when `elixir` is not installed.
//
// One Elixir node serves the whole suite (it boots in about a second); it
// runs the TestServer of support/dist_servers.hpp as `:echo` and a REPL the
// tests drive line by line. Each test has a distributed C++ node of its own
// (a fresh name), with a test_server registered as `echo`.

#include <gtest/gtest.h>

#include <algorithm>
#include <optional>
#include <set>
#include <string>

#include "otp/dist.hpp"
#include "otp/gen_server.hpp"
#include "otp/process.hpp"
#include "otp/receive.hpp"
#include "otp/term_codec.hpp"
#include "support/beam_node.hpp"
#include "support/dist_servers.hpp"
#include "support/test_node.hpp"

namespace {

using namespace std::chrono_literals;
using otp::atom;
using otp::exit_reason;
using otp::term;
using otp_test::beam_node;
namespace gs = otp::gen_server;
namespace ds = otp_test::dist_servers;

const std::string good_cookie = "otpcpp_interop";

/// A reply or failure reported by a helper process to the test.
struct outcome {
  std::int64_t id = 0;
  bool ok = false;
  std::string what;
};

class interop : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (beam_node::elixir_available())
      elixir_ = beam_node::start_elixir(beam_node::unique_name("ex"), good_cookie, ds::elixir_prelude);
  }
  static void TearDownTestSuite() { elixir_.reset(); }

  void SetUp() override {
    if (!elixir_) GTEST_SKIP() << "elixir is not installed";
    node_.emplace(otp_test::clock_kind::real);
    otp::dist::start({.name = beam_node::unique_name("cpp"), .cookie = cookie()});
    me_ = otp::dist::node_name();
    server_ = gs::start<ds::test_server>({.name = "echo"}).get_pid();
    otp::dist::register_rpc("cpp", "whereis", [](const term& args) {
      auto p = otp::whereis(args.list_elements()[0].as_atom().name());
      return p ? otp::to_term(*p) : term(atom("undefined"));
    });
    // A fresh Elixir echo and REPL mailbox for each test; `c` is our node.
    ex("Repl.flush(); if Process.whereis(:echo), do: GenServer.stop(:echo); "
       "{:ok, _} = GenServer.start(TestServer, [], name: :echo); c = :\"" + me_ + "\"");
  }
  void TearDown() override { node_.reset(); }

  virtual std::string cookie() const { return good_cookie; }

  /// Evaluates one line of Elixir on the shared node; the inspected result.
  static std::string ex(const std::string& code) { return eval_on(*elixir_, code); }
  static std::string eval_on(beam_node& n, const std::string& code) {
    n.write_line(code);
    return n.expect_line("=> ", 30s).substr(3);
  }
  static std::string ex_name() { return elixir_->full_name(); }
  static otp::detail::target ex_echo() { return {"echo", ex_name()}; }
  /// The pid registered as `name` on `node`, through rpc.
  static otp::pid remote_whereis(const std::string& node, const char* name) {
    const term t = otp::dist::rpc_call(node, "erlang", "whereis", term::list({term(atom(name))}));
    return otp::from_term<otp::pid>(t);
  }
  /// A round trip to the Elixir echo: what this process sent there before has arrived.
  static void sync_ex(const std::string& node) {
    EXPECT_EQ(gs::call(otp::detail::target("echo", node), ds::echo{term(atom("sync"))}), term(atom("sync")));
  }
  static bool waiting(const otp::pid& p) {
    auto i = otp::process_info(p);
    return i && i->status == otp::process_status::waiting;
  }
  /// Elixir text of our node's atom.
  std::string c_atom() const { return ":\"" + me_ + "\""; }

  static std::unique_ptr<beam_node> elixir_;
  std::optional<otp_test::test_node> node_;
  std::string me_;
  otp::pid server_;
};
std::unique_ptr<beam_node> interop::elixir_;

// ------------------------------------------------------------ Elixir -> C++

TEST_F(interop, elixir_calls_casts_and_sends_to_a_cpp_server_by_name_and_by_pid) {
  EXPECT_EQ(ex("GenServer.call({:echo, c}, {:twice, 21})"), "42");
  EXPECT_EQ(ex("GenServer.call({:echo, c}, {:echo, [1, \"two\", :three, {4.5, %{a: -7}}]})"),
            "[1, \"two\", :three, {4.5, %{a: -7}}]");
  EXPECT_EQ(ex("GenServer.cast({:echo, c}, {:note, 1})"), ":ok");
  EXPECT_EQ(ex("send({:echo, c}, {:note, 2})"), "{:note, 2}");
  EXPECT_EQ(ex("p = GenServer.call({:echo, c}, :whoami); {node(p) == c, p == :rpc.call(c, :cpp, :whereis, [:echo])}"),
            "{true, true}");
  EXPECT_EQ(ex("GenServer.cast(p, {:note, 3}); send(p, {:note, 4}); GenServer.call(p, {:twice, 5})"), "10");
  EXPECT_EQ(ex("GenServer.call(p, :log)"), "[1, 2, 3, 4]");
  EXPECT_EQ(gs::call(server_, ds::log{}), (std::vector<term>{1, 2, 3, 4}));
}

TEST_F(interop, an_elixir_call_to_a_missing_name_or_a_dead_pid_exits_noproc_at_once) {
  EXPECT_EQ(ex("t = System.monotonic_time(:millisecond); "
               "r = try do GenServer.call({:nosuch, c}, {:twice, 1}) catch :exit, e -> e end; "
               "{elem(r, 0), System.monotonic_time(:millisecond) - t < 1000}"),
            "{:noproc, true}");
  // A pid of ours whose process is gone: sent to Elixir while alive, called after.
  auto [victim, mref] = otp::spawn_monitor([] { otp_test::recv<otp_test::go>(); }, {.name = "victim"});
  EXPECT_EQ(ex("v = :rpc.call(c, :cpp, :whereis, [:victim]); is_pid(v)"), "true");
  otp::send(victim, otp_test::go{});
  (void)otp_test::await_down(mref);
  EXPECT_EQ(ex("elem(try do GenServer.call(v, {:twice, 1}) catch :exit, e -> e end, 0)"), ":noproc");
}

TEST_F(interop, a_cpp_server_that_dies_mid_call_gives_the_elixir_caller_its_reason) {
  auto a = gs::start<ds::test_server>({.name = "victim_a"}).get_pid();
  auto b = gs::start<ds::test_server>({.name = "victim_b"}).get_pid();
  EXPECT_EQ(ex("elem(try do GenServer.call({:victim_a, c}, {:stop, :boom}) catch :exit, e -> e end, 0)"), ":boom");
  // An exception crosses as an exception struct.
  EXPECT_EQ(ex("{r, _} = try do GenServer.call({:victim_b, c}, {:crash, \"kaboom\"}) catch :exit, e -> e end; "
               "{r.__struct__, r.message, r.__exception__}"),
            "{:\"std::runtime_error\", \"kaboom\", true}");
  EXPECT_FALSE(otp::is_alive(a));
  EXPECT_FALSE(otp::is_alive(b));
}

TEST_F(interop, an_elixir_call_that_times_out_never_sees_the_late_reply) {
  EXPECT_EQ(ex("elem(try do GenServer.call({:echo, c}, {:sleep, 300}, 100) catch :exit, e -> e end, 0)"), ":timeout");
  EXPECT_EQ(ex("Process.sleep(600); Process.info(self(), :messages)"), "{:messages, []}");
  EXPECT_EQ(ex("GenServer.call({:echo, c}, {:twice, 8})"), "16");
}

// ------------------------------------------------------------ C++ -> Elixir

TEST_F(interop, cpp_calls_casts_and_sends_to_an_elixir_server_by_name_and_by_pid) {
  EXPECT_EQ(gs::call(ex_echo(), ds::twice{21}), 42);
  EXPECT_EQ(gs::call(ex_echo(), term::parse("{echo, [1, <<\"two\">>, three, {4.5, #{a => -7}}]}")),
            term::parse("[1, <<\"two\">>, three, {4.5, #{a => -7}}]"));
  gs::cast(ex_echo(), ds::note{1});
  otp::send(otp::dist::whereis_remote("echo", ex_name()), ds::note{2});
  const otp::pid p = gs::call(ex_echo(), ds::whoami{});
  EXPECT_EQ(p, remote_whereis(ex_name(), "echo"));
  gs::cast(p, ds::note{3});
  otp::send(p, ds::note{term::binary("four")});
  EXPECT_EQ(gs::call(p, ds::twice{5}), 10);
  EXPECT_EQ(gs::call(p, ds::log{}), (std::vector<term>{1, 2, 3, term::binary("four")}));
  EXPECT_EQ(ex("GenServer.call(:echo, :log)"), "[1, 2, 3, \"four\"]");
}

TEST_F(interop, a_cpp_call_to_a_missing_elixir_name_fails_noproc_at_once) {
  const auto t0 = std::chrono::steady_clock::now();
  auto r = gs::try_call(otp::detail::target("nosuch", ex_name()), ds::twice{1});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().inner(), exit_reason::noproc()) << r.error().to_string();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s);
}

TEST_F(interop, an_elixir_server_that_dies_mid_call_gives_the_cpp_caller_its_reason) {
  ex("{:ok, _} = GenServer.start(TestServer, [], name: :victim_a); {:ok, _} = GenServer.start(TestServer, [], name: :victim_b)");
  auto a = gs::try_call(otp::detail::target("victim_a", ex_name()), ds::stop{atom("boom")});
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.error().inner(), exit_reason::other("boom")) << a.error().to_string();
  auto b = gs::try_call(otp::detail::target("victim_b", ex_name()), ds::crash{"kaboom"});
  ASSERT_FALSE(b.ok());
  EXPECT_TRUE(b.error().inner().is_exception()) << b.error().to_string();
  EXPECT_EQ(b.error().inner().what(), "kaboom") << b.error().to_string();
}

TEST_F(interop, a_cpp_call_that_times_out_never_sees_the_late_reply) {
  auto r = gs::try_call(ex_echo(), ds::sleep{300}, 100ms);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().inner(), exit_reason::timeout()) << r.error().to_string();
  // The late reply comes back within this wait; nothing may reach the mailbox.
  EXPECT_FALSE(otp::receive_any(600ms).has_value());
  EXPECT_EQ(gs::call(ex_echo(), ds::twice{8}), 16);
  EXPECT_TRUE(otp_test::mailbox_empty());
}

// An Elixir expression: true while a process of this node monitors :echo.
const std::string watched_by_us =
    "Enum.any?(elem(Process.info(Process.whereis(:echo), :monitored_by), 1), &(node(&1) == c))";
// Polled for up to 2 s: our DEMONITOR_P and the query travel by different ways.
std::string eventually(const std::string& condition) {
  return "Enum.any?(1..100, fn _ -> " + condition + " or (Process.sleep(20); false) end)";
}

TEST_F(interop, a_cpp_call_that_got_its_reply_stops_monitoring_the_elixir_server) {
  // Each reply makes our node send the call's DEMONITOR_P (written when the
  // read that carried the reply is handled); then nothing else is sent.
  for (int i = 0; i < 20; ++i) EXPECT_EQ(gs::call(ex_echo(), ds::twice{i}), 2 * i);
  EXPECT_EQ(ex(eventually("not " + watched_by_us)), "true");
}

TEST_F(interop, a_cpp_call_that_times_out_stops_monitoring_the_elixir_server) {
  // As gen:call on timeout: demonitor now, not when the reply comes (here in 5 s).
  otp::pid caller = otp::spawn([self = otp::self()] {
    auto r = gs::try_call(ex_echo(), ds::sleep{5000}, 60s);
    otp::send(self, r.ok());
  });
  // While the call waits, the server is monitored from here (polled: the
  // MONITOR_P and this query travel by different ways).
  EXPECT_EQ(ex(eventually(watched_by_us)), "true");
  otp::exit(caller, exit_reason::kill());  // a caller that dies gives its call up too
  auto r = gs::try_call(ex_echo(), ds::sleep{5000}, 100ms);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().inner(), exit_reason::timeout()) << r.error().to_string();
  EXPECT_EQ(ex(eventually("not " + watched_by_us)), "true");
}

TEST_F(interop, multi_call_and_abcast_reach_cpp_and_elixir_servers_both_ways) {
  const std::string me = otp::dist::node_name();
  // C++ -> both nodes; the node list asked decides the order of the replies.
  auto all = gs::multi_call({me, ex_name(), "nosuch@127.0.0.1"}, "echo", ds::twice{4}, 5s);
  using replies = std::vector<std::pair<std::string, std::int64_t>>;
  EXPECT_EQ(all.replies, (replies{{me, 8}, {ex_name(), 8}}));
  EXPECT_EQ(all.bad_nodes, std::vector<std::string>{"nosuch@127.0.0.1"});
  // By default: this node and every connected one.
  auto dflt = gs::multi_call("echo", ds::twice{5}, 5s);
  EXPECT_TRUE(std::find(dflt.replies.begin(), dflt.replies.end(), std::pair<std::string, std::int64_t>{ex_name(), 10}) !=
              dflt.replies.end());
  EXPECT_TRUE(std::find(dflt.replies.begin(), dflt.replies.end(), std::pair<std::string, std::int64_t>{me, 10}) !=
              dflt.replies.end());
  // A server that answers too late is a bad node, and its reply is dropped.
  auto slow = gs::multi_call({ex_name()}, "echo", ds::sleep{300}, 50ms);
  EXPECT_TRUE(slow.replies.empty());
  EXPECT_EQ(slow.bad_nodes, std::vector<std::string>{ex_name()});
  gs::abcast({me, ex_name()}, "echo", ds::note{term::binary("ab")});
  EXPECT_EQ(gs::call(ex_echo(), ds::log{}).back(), term::binary("ab"));
  // Elixir -> this node (OTP's multi_call and abcast protocols).
  EXPECT_EQ(ex("GenServer.multi_call([c, :\"nosuch@127.0.0.1\"], :echo, {:twice, 6}, 5000) == "
               "{[{c, 12}], [:\"nosuch@127.0.0.1\"]}"),
            "true");
  // Repl.sync: a call after the cast from the same process, so the cast is in.
  EXPECT_EQ(ex("GenServer.abcast([c], :echo, {:note, :from_elixir}); Repl.sync(c)"), ":sync");
  EXPECT_EQ(gs::call(otp::detail::target("echo"), ds::log{}).back(), term(atom("from_elixir")));
  EXPECT_TRUE(otp_test::mailbox_empty());
}

// ------------------------------------------------------------ monitors and links

TEST_F(interop, elixir_monitors_cpp_processes_by_pid_and_by_name) {
  auto body = [](exit_reason r) {
    return [r] {
      otp_test::recv<otp_test::go>();
      otp::exit(r);
    };
  };
  const otp::pid v1 = otp::spawn(body(exit_reason::other("bye")), {.name = "v1"});
  const otp::pid v2 = otp::spawn(body(exit_reason::shutdown("done")), {.name = "v2"});
  const otp::pid v3 = otp::spawn([] {
    otp_test::recv<otp_test::go>();
    throw std::runtime_error("kaboom");
  }, {.name = "v3"});
  const otp::pid v4 = otp::spawn(body(exit_reason::other("unseen")), {.name = "v4"});
  ex("p1 = :rpc.call(c, :cpp, :whereis, [:v1]); r1 = Process.monitor(p1); r2 = Process.monitor({:v2, c}); "
     "r3 = Process.monitor({:v3, c}); r4 = Process.monitor({:v4, c}); Process.demonitor(r4); Repl.sync(c)");
  for (const auto& v : {v1, v2, v3, v4}) otp::send(v, otp_test::go{});
  EXPECT_EQ(ex("Repl.down(r1)"), ":bye");
  EXPECT_EQ(ex("Repl.down(r2)"), "{:shutdown, :done}");
  EXPECT_EQ(ex("r = Repl.down(r3); {r.__struct__, r.message}"), "{:\"std::runtime_error\", \"kaboom\"}");
  // A monitor on a process that is gone: noproc at once.
  EXPECT_EQ(ex("Repl.down(Process.monitor(p1))"), ":noproc");
  EXPECT_EQ(ex("Repl.down(Process.monitor({:nosuch, c}))"), ":noproc");
  EXPECT_EQ(ex("Repl.sync(c); Repl.flush()"), "[]");  // nothing from the demonitored v4
}

TEST_F(interop, cpp_monitors_elixir_processes_by_pid_and_by_name) {
  ex("for n <- [:ev1, :ev2, :ev3] do Process.register(spawn(fn -> receive do r -> exit(r) end end), n) end");
  const otp::pid ev1 = remote_whereis(ex_name(), "ev1");
  ASSERT_TRUE(ev1);
  const otp::ref m1 = otp::monitor(ev1);
  const otp::ref m2 = otp::monitor(otp::dist::whereis_remote("ev2", ex_name()));
  const otp::ref m3 = otp::monitor(otp::dist::whereis_remote("ev3", ex_name()));
  otp::demonitor(m3);
  sync_ex(ex_name());  // the monitors are in place
  ex("send(:ev1, :bye); send(:ev2, {:shutdown, :done}); send(:ev3, :unseen)");
  const otp::down_msg d1 = otp_test::await_down(m1);
  EXPECT_EQ(d1.reason, exit_reason::other("bye"));
  EXPECT_EQ(d1.process, ev1);
  EXPECT_EQ(otp_test::await_down(m2).reason, exit_reason::shutdown("done"));
  EXPECT_EQ(otp_test::await_down(otp::monitor(ev1)).reason, exit_reason::noproc());
  EXPECT_EQ(otp_test::await_down(otp::monitor(otp::dist::whereis_remote("nosuch", ex_name()))).reason,
            exit_reason::noproc());
  sync_ex(ex_name());
  EXPECT_TRUE(otp_test::mailbox_empty());  // no DOWN for the demonitored ev3
}

TEST_F(interop, links_propagate_exits_both_ways_and_unlink_stops_them) {
  // Elixir -> C++: a trapping C++ process gets {'EXIT', Pid, Reason}.
  otp::trap_exit(true);
  otp::register_name("inbox", otp::self());
  ex("ip = :rpc.call(c, :cpp, :whereis, [:inbox]); me = self(); "
     "l = spawn(fn -> Process.link(ip); send(me, :linked); receive do r -> exit(r) end end); "
     "Process.register(l, :el); receive do :linked -> Repl.sync(c) end");
  const otp::pid l = remote_whereis(ex_name(), "el");
  ex("send(l, :boom)");
  EXPECT_EQ(otp_test::await_exit(l).reason, exit_reason::other("boom"));
  // ... and not after an unlink.
  ex("l2 = spawn(fn -> Process.link(ip); Process.unlink(ip); send(me, :unlinked); receive do r -> exit(r) end end); "
     "receive do :unlinked -> :ok end; m = Process.monitor(l2); send(l2, :boom); Repl.down(m); Repl.sync(c)");
  EXPECT_TRUE(otp_test::mailbox_empty());

  // C++ -> Elixir: the trapping REPL gets {:EXIT, pid, reason}.
  const otp::pid repl = remote_whereis(ex_name(), "repl");
  auto linked = [repl](bool unlink, exit_reason r) {
    return otp::spawn([repl, unlink, r] {
      otp::link(repl);
      if (unlink) otp::unlink(repl);
      otp_test::recv<otp_test::go>();
      otp::exit(r);
    });
  };
  const otp::pid a = linked(false, exit_reason::other("cpp_bye"));
  otp::send(a, otp_test::go{});
  EXPECT_EQ(ex("Repl.exit_from(c)"), ":cpp_bye");
  const otp::pid b = linked(true, exit_reason::other("unseen"));
  const otp::ref bm = otp::monitor(b);
  otp::send(b, otp_test::go{});
  EXPECT_EQ(otp_test::await_down(bm).reason, exit_reason::other("unseen"));
  sync_ex(ex_name());
  EXPECT_EQ(ex("Repl.flush()"), "[]");
  // An exit signal (exit/2) to an Elixir process, and from one.
  ex("v = spawn(fn -> Process.sleep(:infinity) end); Process.register(v, :ev); mv = Process.monitor(v)");
  otp::exit(remote_whereis(ex_name(), "ev"), exit_reason::other("shot"));
  EXPECT_EQ(ex("Repl.down(mv)"), ":shot");
  ex("Process.exit(ip, :shot_back)");
  EXPECT_EQ(otp::receive_as<otp::exit_msg>(otp::infinity)->reason, exit_reason::other("shot_back"));
}

TEST_F(interop, a_dead_elixir_node_fails_monitors_links_calls_and_node_monitors_with_noconnection) {
  auto ex2 = beam_node::start_elixir(beam_node::unique_name("ex2_"), good_cookie, ds::elixir_prelude);
  const std::string n2 = ex2->full_name();
  eval_on(*ex2, "Process.register(spawn(fn -> Process.sleep(:infinity) end), :v); :ok");
  otp::trap_exit(true);
  const otp::pid v = remote_whereis(n2, "v");
  ASSERT_TRUE(v);
  const otp::ref by_pid = otp::monitor(v);
  const otp::ref by_name = otp::monitor(otp::dist::whereis_remote("echo", n2));
  otp::link(v);                                            // trapped here
  auto [linked, linked_mon] = otp::spawn_monitor([v] {     // not trapped: dies
    otp::link(v);
    otp_test::idle();
  });
  otp::dist::monitor_node(n2, true);
  const otp::pid self = otp::self();
  const otp::pid caller = otp::spawn([n2, self] {
    auto r = gs::try_call(otp::detail::target("echo", n2), ds::sleep{30000}, 60s);
    otp::send(self, outcome{0, r.ok(), r.ok() ? "" : r.error().inner().to_string()});
  });
  // Once the caller and the linked process wait, their call and link are on
  // the connection; a round trip after them makes sure the Elixir node has them.
  ASSERT_TRUE(otp_test::wait_until([&] { return waiting(caller) && waiting(linked); }));
  sync_ex(n2);
  EXPECT_EQ(eval_on(*ex2, "length(elem(Process.info(Process.whereis(:v), :links), 1))"), "2");
  ex2->write_line(":erlang.halt()");
  const auto noconnection = exit_reason::other("noconnection");
  EXPECT_EQ(otp_test::await_down(by_pid).reason, noconnection);
  EXPECT_EQ(otp_test::await_down(by_name).reason, noconnection);
  EXPECT_EQ(otp_test::await_exit(v).reason, noconnection);
  EXPECT_EQ(otp_test::await_down(linked_mon).reason, noconnection);
  const outcome call = otp_test::recv<outcome>();
  EXPECT_FALSE(call.ok);
  EXPECT_EQ(call.what, "{nodedown," + atom(n2).to_string() + "}");
  EXPECT_EQ(otp_test::recv<otp::dist::nodedown_msg>().node, n2);
  const auto nodes = otp::dist::nodes();
  EXPECT_EQ(std::count(nodes.begin(), nodes.end(), n2), 0);
  EXPECT_FALSE(otp::dist::ping(n2, 2s));
}

TEST_F(interop, elixir_sees_noconnection_and_nodedown_when_cpp_disconnects_and_can_reconnect) {
  otp::spawn([] { otp_test::idle(); }, {.name = "v"});
  ex("p = :rpc.call(c, :cpp, :whereis, [:v]); m = Process.monitor(p); mn = Process.monitor({:echo, c}); "
     "Process.link(p); Node.monitor(c, true); "
     "t = Task.async(fn -> try do GenServer.call({:echo, c}, {:sleep, 30000}, 60000) catch :exit, e -> e end end); :ok");
  ASSERT_TRUE(otp_test::wait_for_timers(*node_, 1));  // the sleep call has reached our echo
  ASSERT_TRUE(otp::dist::disconnect(ex_name()));
  EXPECT_EQ(ex("{Repl.down(m), Repl.down(mn), Repl.exit_from(p), elem(Task.await(t), 0), "
               "receive do {:nodedown, ^c} -> :nodedown after 5000 -> :none end}"),
            "{:noconnection, :noconnection, :noconnection, {:nodedown, " + c_atom() + "}, :nodedown}");
  // Either side connects again on the next message.
  EXPECT_EQ(ex("GenServer.call({:echo, c}, {:twice, 4})"), "8");
  EXPECT_EQ(gs::call(ex_echo(), ds::twice{5}), 10);
}

TEST_F(interop, elixir_sees_nodedown_when_cpp_stops_distribution) {
  ex("Node.monitor(c, true); m = Process.monitor({:echo, c}); Repl.sync(c)");
  otp::dist::stop();
  EXPECT_FALSE(otp::dist::alive());
  EXPECT_EQ(ex("{Repl.down(m), receive do {:nodedown, ^c} -> :nodedown after 5000 -> :none end, Node.ping(c)}"),
            "{:noconnection, :nodedown, :pang}");
}

// ------------------------------------------------------------ ping, rpc, cookies

TEST_F(interop, ping_answers_pong_both_ways_and_pang_for_a_missing_node) {
  EXPECT_EQ(ex("Node.ping(c)"), ":pong");
  EXPECT_TRUE(otp::dist::ping(ex_name()));
  EXPECT_FALSE(otp::dist::ping(beam_node::unique_name("nosuch") + "@127.0.0.1", 3s));
  EXPECT_EQ(ex("c in Node.list(:hidden)"), "true");
  const auto nodes = otp::dist::nodes();
  EXPECT_EQ(std::count(nodes.begin(), nodes.end(), ex_name()), 1);
}

TEST_F(interop, rpc_runs_registered_cpp_functions_and_elixir_functions) {
  otp::dist::register_rpc("cpp", "add", [](const term& args) {
    std::int64_t sum = 0;
    for (const term& a : args.list_elements()) sum += a.as_int();
    return term(sum);
  });
  otp::dist::register_rpc("cpp", "boom", [](const term&) -> term { throw std::runtime_error("kaboom"); });
  EXPECT_EQ(ex(":rpc.call(c, :cpp, :add, [1, 2, 3])"), "6");
  EXPECT_EQ(ex(":erpc.call(c, :cpp, :add, [4, 5])"), "9");
  EXPECT_EQ(ex("{:badrpc, {:EXIT, {r, _stack}}} = :rpc.call(c, :cpp, :boom, []); r.message"), "\"kaboom\"");
  EXPECT_EQ(ex(":rpc.call(c, :cpp, :nope, [1])"), "{:badrpc, {:EXIT, {:undef, [{:cpp, :nope, [1], []}]}}}");

  EXPECT_EQ(otp::dist::rpc_call(ex_name(), "erlang", "node", term::list({})), term(atom(ex_name())));
  EXPECT_EQ(otp::dist::rpc_call(ex_name(), "Elixir.Enum", "sum", term::list({term::list({1, 2, 3})})), term(6));
  const term undef = otp::dist::rpc_call(ex_name(), "nosuchmod", "f", term::list({}));
  EXPECT_TRUE(undef.is_tagged_tuple("badrpc", 2)) << undef.to_string();
  EXPECT_EQ(otp::dist::rpc_call(beam_node::unique_name("nosuch") + "@127.0.0.1", "erlang", "node", term::list({})),
            term::parse("{badrpc, nodedown}"));
}

class interop_wrong_cookie : public interop {
 protected:
  std::string cookie() const override { return "not_the_cookie"; }
};

TEST_F(interop_wrong_cookie, connections_are_refused_both_ways_and_nothing_is_delivered) {
  otp::register_name("inbox", otp::self());
  EXPECT_FALSE(otp::dist::connect(ex_name()));
  EXPECT_FALSE(otp::dist::ping(ex_name()));
  auto r = gs::try_call(ex_echo(), ds::twice{1});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().inner().to_string(), "{nodedown," + atom(ex_name()).to_string() + "}");
  EXPECT_EQ(ex("Node.connect(c)"), "false");
  EXPECT_EQ(ex("send({:inbox, c}, :hello); GenServer.cast({:echo, c}, {:note, 3}); Node.ping(c)"), ":pang");
  // (After Elixir's attempts: two failing attempts at once would be a lost
  // simultaneous connect, which waits for the winner for connect_timeout.)
  otp::send(otp::dist::whereis_remote("echo", ex_name()), ds::note{1});
  gs::cast(ex_echo(), ds::note{2});
  EXPECT_FALSE(otp::dist::connect(ex_name()));  // waits for the attempt of the send and cast
  EXPECT_EQ(ex("{GenServer.call(:echo, :log), c in Node.list(:hidden), Repl.flush()}"), "{[], false, []}");
  EXPECT_TRUE(gs::call(server_, ds::log{}).empty());
  EXPECT_TRUE(otp_test::mailbox_empty());
  EXPECT_TRUE(otp::dist::nodes().empty());
}

// ------------------------------------------------------------ volume

TEST_F(interop, a_64_mb_binary_crosses_intact_both_ways) {
  const std::size_t mb = otp_test::scaled(64);  // sanitizer builds scale it down
  // Elixir -> C++: our server digests it.
  EXPECT_EQ(ex("big = :binary.copy(:binary.list_to_bin(Enum.to_list(0..255)), " + std::to_string(mb * 4096) +
               "); GenServer.call({:echo, c}, {:digest, big}, 60000) == {byte_size(big), :erlang.crc32(big)}"),
            "true");
  ex("big = nil; :erlang.garbage_collect(); :ok");
  // C++ -> Elixir -> C++: the Elixir echo sends it back.
  std::string big(mb << 20, '\0');
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>((i * 7919) >> 5);
  const term back = gs::call(ex_echo(), ds::echo{term::binary(big)}, 60s);
  ASSERT_TRUE(back.is_binary());
  EXPECT_EQ(back.size(), big.size());
  EXPECT_TRUE(back.as_binary() == big);
}

TEST_F(interop, a_thousand_concurrent_callers_each_get_their_own_reply) {
  // Elixir -> C++: each task's reply carries its own pid and number.
  EXPECT_EQ(ex("ts = for i <- 1..1000, do: Task.async(fn -> "
               "GenServer.call({:echo, c}, {:echo, {self(), i}}, 30000) == {self(), i} and "
               "GenServer.call({:echo, c}, {:twice, i}, 30000) == 2 * i end); "
               "Enum.count(Task.await_many(ts, 60000), & &1)"),
            "1000");
  // C++ -> Elixir.
  const otp::pid self = otp::self();
  const std::string node = ex_name();
  constexpr int callers = 1000;
  for (int i = 0; i < callers; ++i) {
    otp::spawn([self, node, i] {
      const otp::detail::target echo{"echo", node};
      const term mine = term::tuple({otp::to_term(otp::self()), i});
      auto a = gs::try_call(echo, ds::echo{mine}, 30s);
      auto b = gs::try_call(echo, ds::twice{i}, 30s);
      const bool ok = a.ok() && a.value() == mine && b.ok() && b.value() == 2 * i;
      otp::send(self, outcome{i, ok, a.ok() ? (b.ok() ? "" : b.error().to_string()) : a.error().to_string()});
    });
  }
  std::set<std::int64_t> seen;
  for (int k = 0; k < callers; ++k) {
    const outcome o = otp_test::recv<outcome>();
    EXPECT_TRUE(o.ok) << "caller " << o.id << ": " << o.what;
    seen.insert(o.id);
  }
  EXPECT_EQ(seen.size(), static_cast<std::size_t>(callers));
}

}  // namespace
