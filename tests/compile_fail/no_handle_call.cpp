// A typed call whose request no handle_call takes.
#include "common.hpp"

void use(otp::server_ref<cf::counter> srv) { (void)otp::gen_server::call(srv, cf::unknown_request{}); }
