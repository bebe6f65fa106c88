// Must compile: the correct use of everything the other sources get wrong
// (so the harness cannot pass by failing on every source).
#include "common.hpp"

void use(otp::server_ref<cf::counter> srv) {
  int n = otp::gen_server::call(srv, cf::get{});
  otp::gen_server::cast(srv, cf::bump{});
  (void)n;
}
