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
