// handle_call returns call_result<std::string> for a request whose reply is int.
#include <string>

#include "otp/gen_server.hpp"

struct get {
  using reply = int;
};
struct wrong {
  using state = int;
  otp::call_result<std::string> handle_call(get, state&) { return otp::reply(std::string("not an int")); }
};

void use(otp::server_ref<wrong> srv) { (void)otp::gen_server::call(srv, get{}); }
