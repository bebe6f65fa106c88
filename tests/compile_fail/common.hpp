// A server for the compile-fail tests: one call (`get`, reply int) and one
// cast (`bump`). Each test source misuses it in one way.
#pragma once
#include "otp/gen_server.hpp"

namespace cf {
struct get {
  using reply = int;
};
struct bump {};
struct unknown_request {
  using reply = int;
};
struct unknown_cast {};

struct counter {
  using state = int;
  otp::call_result<int> handle_call(get, const otp::from&, state& n) { return otp::reply(n); }
  otp::cast_result handle_cast(bump, state& n) {
    ++n;
    return otp::noreply();
  }
};
}  // namespace cf
