// A typed cast whose message no handle_cast takes.
#include "common.hpp"

void use(otp::server_ref<cf::counter> srv) { otp::gen_server::cast(srv, cf::unknown_cast{}); }
