// Servers that keep their stack while idle (runtime/kept_stacks.hpp and
// server_process::keep_stack): when a server takes a licence, that it gives
// it back on exit, kill and hibernation, and that a full node asks one
// holder at a time to give its licence back.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "node_impl.hpp"
#include "otp/gen_server.hpp"
#include "process/mailbox.hpp"
#include "process/process.hpp"
#include "support/test_node.hpp"

using namespace otp_test;
namespace gs = otp::gen_server;
using otp::internal::kept_stacks;

namespace {

struct counter {
  using state = int;
  struct get {
    using reply = int;
  };
  struct bump {};
  struct sleep {};  // returns hibernate
  otp::init_result<state> init() { return otp::ok(0); }
  otp::call_result<int> handle_call(get, state& n) { return otp::reply(++n); }
  otp::cast_result handle_cast(bump, state& n) {
    ++n;
    return otp::noreply();
  }
  otp::cast_result handle_cast(sleep, state&) { return otp::noreply(otp::hibernate); }
};

kept_stacks& licences(test_node& n) { return n.node.impl().kept_stacks(); }

struct done {
  int last;
};

// A process that calls `srv` `calls` times, reports the last answer, and
// does that again each time it is told to go.
otp::pid caller_of(otp::server_ref<counter> srv, int calls) {
  otp::pid test = otp::self();
  return otp::spawn([test, srv, calls] {
    for (;;) {
      int last = 0;
      for (int i = 0; i < calls; ++i) last = gs::call(srv, counter::get{});
      otp::send(test, done{last});
      (void)otp::receive_as<go>();
    }
  });
}

// A server answered 3 calls in a row by a waiting caller: it holds a
// licence (checked). The caller waits for `go` to call 3 more.
struct hot_pair {
  otp::server_ref<counter> srv;
  otp::pid caller;
};
hot_pair hot_server(test_node& node) {
  auto srv = gs::start<counter>().value();
  otp::pid c = caller_of(srv, 3);
  EXPECT_EQ(recv<done>().last, 3);
  EXPECT_EQ(licences(node).held(), 1u);
  return {srv, c};
}

}  // namespace

// One scheduler throughout: a caller and its server then share it, and
// the server's wait hands off straight to the caller parked in the LIFO slot.

TEST(kept_stacks, a_server_answering_a_waiting_caller_twice_in_a_row_takes_a_licence) {
  test_node node(clock_kind::manual, 1);
  auto srv = gs::start<counter>().value();
  otp::pid c = caller_of(srv, 1);
  EXPECT_EQ(recv<done>().last, 1);
  EXPECT_EQ(licences(node).held(), 0u) << "one call is not enough";
  otp::send(c, go{});
  EXPECT_EQ(recv<done>().last, 2);
  EXPECT_EQ(licences(node).held(), 1u);
  // Calls keep being answered, in order, by the server on its stack.
  otp::send(c, go{});
  EXPECT_EQ(recv<done>().last, 3);
  EXPECT_EQ(licences(node).held(), 1u);
  otp::exit(c, otp::exit_reason::kill());
  gs::stop(srv.target());
  EXPECT_EQ(licences(node).held(), 0u) << "an exit gives the licence back";
}

TEST(kept_stacks, a_server_called_from_a_foreign_thread_takes_none) {
  test_node node(clock_kind::manual, 1);
  auto srv = gs::start<counter>().value();
  for (int i = 1; i <= 5; ++i) EXPECT_EQ(gs::call(srv, counter::get{}), i);
  EXPECT_EQ(licences(node).held(), 0u);
  gs::stop(srv.target());
}

TEST(kept_stacks, a_killed_server_gives_its_licence_back) {
  test_node node(clock_kind::manual, 1);
  auto [srv, c] = hot_server(node);
  otp::ref watch = otp::monitor(srv.get_pid());
  otp::exit(srv.get_pid(), otp::exit_reason::kill());
  EXPECT_EQ(await_down(watch).reason, otp::exit_reason::killed());
  EXPECT_EQ(licences(node).held(), 0u);
  otp::exit(c, otp::exit_reason::kill());
}

TEST(kept_stacks, hibernation_gives_the_licence_back) {
  test_node node(clock_kind::manual, 1);
  auto [srv, c] = hot_server(node);
  gs::cast(srv, counter::sleep{});
  EXPECT_EQ(gs::call(srv, counter::get{}), 4);  // handled after the cast
  EXPECT_EQ(licences(node).held(), 0u);
  otp::send(c, go{});
  EXPECT_EQ(recv<done>().last, 7);
  otp::exit(c, otp::exit_reason::kill());
  gs::stop(srv.target());
}

TEST(kept_stacks, a_full_node_asks_the_oldest_holder_to_give_its_licence_back) {
  test_node node(clock_kind::manual, 1);
  const std::size_t capacity = 32;  // per scheduler (node.cpp)
  std::vector<otp::server_ref<counter>> servers;
  std::vector<otp::pid> callers;
  for (std::size_t i = 0; i < capacity; ++i) {
    servers.push_back(gs::start<counter>().value());
    callers.push_back(caller_of(servers.back(), 2));
    EXPECT_EQ(recv<done>().last, 2);
  }
  ASSERT_EQ(licences(node).held(), capacity);
  // One more: refused, and the first holder is asked to leave. It does
  // when it next runs, between two of the newcomer's calls.
  servers.push_back(gs::start<counter>().value());
  callers.push_back(caller_of(servers.back(), 2));
  EXPECT_EQ(recv<done>().last, 2);
  ASSERT_TRUE(wait_until([&] { return licences(node).held() == capacity - 1; }));
  // The newcomer gets the freed licence after two more answers in a row.
  otp::send(callers.back(), go{});
  EXPECT_EQ(recv<done>().last, 4);
  EXPECT_EQ(licences(node).held(), capacity);
  // The server that gave its licence back still answers as before.
  EXPECT_EQ(gs::call(servers.front(), counter::get{}), 3);
  for (auto& c : callers) otp::exit(c, otp::exit_reason::kill());
  for (auto& s : servers) gs::stop(s.target());
  EXPECT_EQ(licences(node).held(), 0u);
}

// The registry itself, with plain processes as holders: each forwards the
// notices it gets to the test.
namespace {
struct notice_of {
  otp::pid who;
  std::string text;
};
otp::pid forwarder() {
  otp::pid test = otp::self();
  return otp::spawn([test] {
    for (;;) otp::send(test, notice_of{otp::self(), *otp::receive_as<std::string>(otp::infinity)});
  });
}
otp::internal::process* proc(const otp::pid& p) { return static_cast<otp::internal::process*>(p.get()); }
otp::internal::mail_node* leave_notice() {
  return new otp::internal::message_node(otp::message(std::string("leave")));
}
}  // namespace

TEST(kept_stacks, one_holder_is_asked_at_a_time_and_another_after_64_refusals) {
  test_node node(clock_kind::manual, 1);
  kept_stacks ks(2);
  otp::pid a = forwarder(), b = forwarder(), c = forwarder();
  EXPECT_TRUE(ks.enter(proc(a), &leave_notice));
  EXPECT_TRUE(ks.enter(proc(b), &leave_notice));
  EXPECT_FALSE(ks.enter(proc(c), &leave_notice));
  auto n = recv<notice_of>();
  EXPECT_EQ(n.who, a);
  EXPECT_EQ(n.text, "leave");
  // a has not left: 63 more refusals ask nobody (b's ping comes first).
  for (int i = 0; i < 63; ++i) EXPECT_FALSE(ks.enter(proc(c), &leave_notice));
  otp::send(b, std::string("ping"));
  n = recv<notice_of>();
  EXPECT_EQ(n.who, b);
  EXPECT_EQ(n.text, "ping");
  // The 64th asks the next holder.
  EXPECT_FALSE(ks.enter(proc(c), &leave_notice));
  n = recv<notice_of>();
  EXPECT_EQ(n.who, b);
  EXPECT_EQ(n.text, "leave");
  // Any licence given back is free at once.
  ks.leave(proc(a));
  EXPECT_EQ(ks.held(), 1u);
  EXPECT_TRUE(ks.enter(proc(c), &leave_notice));
  EXPECT_EQ(ks.held(), 2u);
  ks.leave(proc(b));
  ks.leave(proc(c));
  EXPECT_EQ(ks.held(), 0u);
  for (const otp::pid& p : {a, b, c}) otp::exit(p, otp::exit_reason::kill());
}
