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
