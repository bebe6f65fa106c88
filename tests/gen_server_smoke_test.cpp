// First checks of the gen_server core: start, call, cast, info, stop.
#include <gtest/gtest.h>

#include "otp/gen_server.hpp"
#include "otp/sys.hpp"
#include "support/test_node.hpp"

using namespace otp_test;
namespace gs = otp::gen_server;

namespace {
struct counter {
  using state = int;
  struct increment {
    int amount = 1;
  };
  struct get_count {
    using reply = int;
  };
  struct tick {};
  using accepts = otp::types<tick>;

  otp::init_result<state> init(int start) { return otp::ok(start); }
  otp::call_result<int> handle_call(get_count, const otp::from&, state& n) { return otp::reply(n); }
  otp::cast_result handle_cast(increment m, state& n) {
    n += m.amount;
    return otp::noreply();
  }
  otp::info_result handle_info(tick, state& n) {
    n += 100;
    return otp::noreply();
  }
};
}  // namespace

TEST(gen_server_smoke, start_call_cast_info_stop) {
  test_node node;
  auto srv = gs::start_link<counter>(1, {.name = "counter"}).value();
  EXPECT_EQ(gs::call(srv, counter::get_count{}), 1);
  gs::cast(srv, counter::increment{5});
  EXPECT_EQ(gs::call(srv, counter::get_count{}), 6);
  otp::send(srv.get_pid(), counter::tick{});
  EXPECT_EQ(gs::call<counter>("counter", counter::get_count{}), 106);
  EXPECT_EQ(otp::sys::get_state(srv), 106);
  gs::stop(srv.target());
  EXPECT_FALSE(gs::whereis("counter").has_value());
}

TEST(gen_server_smoke, call_many_from_process) {
  test_node node(clock_kind::real);
  auto srv = gs::start<counter>(0).value();
  auto [p, m] = otp::spawn_monitor([srv] {
    for (int i = 0; i < 100000; ++i) gs::cast(srv, counter::increment{});
    int n = 0;
    for (int i = 0; i < 100000; ++i) n = gs::call(srv, counter::get_count{});
    if (n != 100000) otp::exit(otp::exit_reason::other("wrong"));
  });
  EXPECT_TRUE(await_down(m).reason.is_normal());
}

// A handle costs one word, a pid's, so that many kept handles cost what
// many pids do; one made from a name shares it across copies.
static_assert(sizeof(otp::server_ref<counter>) == sizeof(otp::pid));

TEST(gen_server_smoke, handles_by_name_and_by_pid_survive_copy_move_and_reassignment) {
  test_node node;
  auto by_pid = gs::start_link<counter>(7, {.name = "handles"}).value();
  otp::server_ref<counter> by_name("handles");
  otp::server_ref<counter> copy = by_name;     // shared name
  otp::server_ref<counter> moved = std::move(copy);
  EXPECT_EQ(gs::call(moved, counter::get_count{}), 7);
  EXPECT_EQ(moved.target().name().key(), "handles");
  EXPECT_FALSE(moved.target().direct());

  otp::server_ref<counter> swapped = by_pid;  // pid over name and back
  swapped = by_name;
  EXPECT_EQ(swapped.target().to_string(), "handles");
  swapped = by_pid;
  ASSERT_TRUE(swapped.target().direct());
  EXPECT_EQ(*swapped.target().direct(), by_pid.get_pid());
  EXPECT_TRUE(swapped.target().name().empty());
  by_name = std::move(swapped);  // a name's last handle replaced by a pid
  EXPECT_EQ(by_name.get_pid(), by_pid.get_pid());
  EXPECT_EQ(gs::call(by_name, counter::get_count{}), 7);
  EXPECT_EQ(gs::call(moved, counter::get_count{}), 7);
  gs::stop(by_pid.target());
}

namespace {
// A state stricter than the block pool's 16-byte alignment: the server's
// callbacks object is padded into place inside the server's block.
struct aligned_server {
  struct alignas(64) state {
    int v = 0;
  };
  struct where {
    using reply = std::uintptr_t;
  };
  otp::init_result<state> init(int v) { return otp::ok(state{v}); }
  otp::call_result<std::uintptr_t> handle_call(where, state& s) {
    return otp::reply(reinterpret_cast<std::uintptr_t>(&s) % alignof(state) + static_cast<std::uintptr_t>(s.v));
  }
};
// A server type whose construction fails: start reports the exception and
// builds nothing.
struct unbuildable {
  using state = int;
  unbuildable() { throw std::runtime_error("no"); }
  otp::init_result<int> init() { return otp::ok(0); }
};
}  // namespace

TEST(gen_server_smoke, over_aligned_state_is_aligned) {
  test_node node;
  std::vector<otp::server_ref<aligned_server>> servers;
  for (int i = 0; i < 20; ++i) servers.push_back(gs::start<aligned_server>(i).value());
  for (int i = 0; i < 20; ++i) EXPECT_EQ(gs::call(servers[i], aligned_server::where{}), static_cast<std::uintptr_t>(i));
  for (auto& s : servers) gs::stop(s.target());
}

TEST(gen_server_smoke, a_server_type_whose_constructor_throws_is_not_started) {
  test_node node;
  EXPECT_THROW(gs::start<unbuildable>(), std::runtime_error);
  EXPECT_EQ(gs::call(gs::start<counter>(3).value(), counter::get_count{}), 3);  // the node goes on
}
