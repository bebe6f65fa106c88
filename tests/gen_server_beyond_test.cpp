// Beyond OTP: call-cycle detection and bounded mailboxes; also the two
// ways a server runs (stackless, or on a stack of its own) and calls from
// foreign threads.
#include <gtest/gtest.h>

#include <thread>

#include "otp/gen_server.hpp"
#include "otp/sys.hpp"
#include "support/test_node.hpp"

using namespace otp_test;
namespace gs = otp::gen_server;

namespace {
// Calls the server it is told about from inside handle_call.
struct relay {
  using state = otp::pid;
  struct forward {
    otp::pid to;
    int hops;
    using reply = std::string;
  };
  otp::init_result<state> init() { return otp::ok(otp::pid{}); }
  otp::call_result<std::string> handle_call(forward f, state&) {
    if (f.hops == 0) return otp::reply(std::string("done"));
    auto r = gs::try_call(otp::server_ref<relay>(f.to), forward{otp::self(), f.hops - 1});
    return otp::reply(r ? *r : r.error().inner().to_string());
  }
};

struct slow {
  using state = int;
  struct get {
    using reply = int;
  };
  struct hit {};
  struct block {
    using reply = int;
    otp::pid notify;  // told when the server is inside the call
  };
  struct inside {};
  otp::init_result<state> init() { return otp::ok(0); }
  otp::call_result<int> handle_call(get, state& n) { return otp::reply(n); }
  otp::call_result<int> handle_call(block b, state& n) {
    otp::send(b.notify, inside{});
    otp::receive_as<go>();  // holds the server until the test says go
    return otp::reply(n);
  }
  otp::cast_result handle_cast(hit, state& n) {
    ++n;
    return otp::noreply();
  }
};
}  // namespace

TEST(gen_server_beyond, call_cycle_fails_the_innermost_call_at_once) {
  test_node node;
  auto a = gs::start<relay>().value();
  auto b = gs::start<relay>().value();
  // a calls b, which calls a back: a waits on b, so b's call would hang
  // until both time out; it fails at once with calling_cycle instead.
  std::string r = gs::call(a, relay::forward{b.get_pid(), 2}, otp::infinity);
  EXPECT_EQ(r.rfind("{calling_cycle,[", 0), 0u) << r;
  EXPECT_NE(r.find(a.get_pid().to_string()), std::string::npos);
  EXPECT_NE(r.find(b.get_pid().to_string()), std::string::npos);
}

TEST(gen_server_beyond, no_cycle_reported_for_a_plain_chain) {
  test_node node;
  auto a = gs::start<relay>().value();
  auto b = gs::start<relay>().value();
  // a -> b -> (test body's target c) ... a chain without a loop answers.
  auto c = gs::start<relay>().value();
  EXPECT_EQ(gs::call(a, relay::forward{b.get_pid(), 1}, otp::infinity), "done");
  EXPECT_EQ(gs::call(b, relay::forward{c.get_pid(), 1}, otp::infinity), "done");
}

TEST(gen_server_beyond, bounded_mailbox_rejects_casts_and_fails_calls_when_full) {
  test_node node;
  auto s = gs::start<slow>(otp::start_options{.max_queue = 3}).value();
  otp::pid me = otp::self();
  otp::pid blocker = otp::spawn([s, me] { gs::call(s, slow::block{me}, otp::infinity); });
  (void)recv<slow::inside>();  // the server is inside block{}, its queue empty
  for (int i = 0; i < 5; ++i) gs::cast(s, slow::hit{});  // 3 fit, 2 are refused
  auto r = gs::try_call(s, slow::get{}, otp::infinity);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().inner(), otp::exit_reason::other("overloaded"));
  otp::send(s.get_pid(), go{});  // a plain message to a full mailbox is dropped too
  (void)blocker;
  // The three admitted casts are queued (process_info is a signal: it
  // bypasses the bound), the refused ones and the `go` are not.
  ASSERT_TRUE(wait_until([&] { return otp::process_info(s.get_pid())->message_queue_len == 3; }));
}

TEST(gen_server_beyond, bounded_mailbox_counts_overflows_and_sys_bypasses_the_bound) {
  test_node node;
  auto s = gs::start<slow>(otp::start_options{.debug = {.statistics = true}, .max_queue = 2}).value();
  otp::sys::suspend(s.target());  // system messages are never refused
  for (int i = 0; i < 4; ++i) gs::cast(s, slow::hit{});  // 2 admitted, 2 refused
  otp::sys::resume(s.target());
  // get_state queues behind the admitted casts without counting against the bound
  EXPECT_EQ(otp::sys::get_state(s), 2);
  auto st = otp::sys::get_statistics(s.target());
  ASSERT_TRUE(st.has_value());
  EXPECT_EQ(st->overflows, 2u);
}

TEST(gen_server_beyond, overflow_policy_crash_stops_the_server_with_overloaded) {
  test_node node;
  auto s = gs::start<slow>(otp::start_options{.max_queue = 1, .on_overflow = otp::overflow_policy::crash}).value();
  otp::sys::suspend(s.target());
  otp::ref m = otp::monitor(s.get_pid());
  gs::cast(s, slow::hit{});
  gs::cast(s, slow::hit{});
  EXPECT_EQ(await_down(m).reason, otp::exit_reason::other("overloaded"));
}

TEST(gen_server_beyond, server_with_its_own_stack_serves_calls) {
  test_node node;
  auto s = gs::start<slow>(otp::start_options{.stack_size = 256 * 1024}).value();
  gs::cast(s, slow::hit{});
  EXPECT_EQ(gs::call(s, slow::get{}), 1);
  gs::stop(s.target());
}

TEST(gen_server_beyond, calls_from_many_foreign_threads) {
  test_node node(clock_kind::real);
  auto s = gs::start<slow>().value();
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([s] {
      for (int i = 0; i < 1000; ++i) {
        gs::cast(s, slow::hit{});
        (void)gs::call(s, slow::get{});
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(gs::call(s, slow::get{}), 4000);
}

TEST(gen_server_beyond, idle_server_holds_no_stack) {
  test_node node;
  auto s = gs::start<slow>().value();
  EXPECT_EQ(gs::call(s, slow::get{}), 0);
  auto d = otp::process_info(s.get_pid());
  ASSERT_TRUE(d.has_value());
  EXPECT_LT(d->memory, 4096u);  // control block and queue, no 128 KiB stack
  EXPECT_EQ(d->status, otp::process_status::waiting);
}

namespace {
struct owner {
  using state = std::unique_ptr<int>;
  struct peek {
    using reply = int;
  };
  otp::init_result<state> init(std::unique_ptr<int> v) { return otp::ok(std::move(v)); }
  otp::call_result<int> handle_call(peek, state& s) { return otp::reply(*s); }
};
}  // namespace

TEST(gen_server_beyond, move_only_init_argument_and_state) {
  test_node node;
  auto s = gs::start<owner>(std::make_unique<int>(7)).value();
  EXPECT_EQ(gs::call(s, owner::peek{}), 7);
}

TEST(gen_server_beyond, stop_of_a_server_that_dies_first_leaves_no_stale_answer) {
  test_node node;
  // The stop request is still queued behind block{} when the server is
  // killed: it fails with the server's death, and that must not be taken
  // as the answer to the stopper's next call.
  auto s = gs::start<slow>().value();
  auto other = gs::start<slow>().value();
  otp::pid me = otp::self();
  otp::spawn([s, me] { (void)gs::try_call(s, slow::block{me}, otp::infinity); });
  (void)recv<slow::inside>();
  auto [stopper, m] = otp::spawn_monitor([s, other, me] {
    try {
      gs::stop(s.target());
    } catch (const otp::exit_error&) {
    }
    auto r = gs::try_call(other, slow::get{}, otp::infinity);  // a real answer, not a stale failure
    otp::send(me, r ? *r : -1);
  });
  ASSERT_TRUE(wait_until([&] { return otp::process_info(s.get_pid())->message_queue_len == 1; }));
  otp::exit(s.get_pid(), otp::exit_reason::kill());
  EXPECT_EQ(recv<int>(), 0);
  EXPECT_TRUE(await_down(m).reason.is_normal());
  (void)stopper;
}
