#include <otp/otp.hpp>

int main() {
  otp::node node({.schedulers = 1});
  otp::pid me = otp::self();
  otp::spawn([me] { otp::send(me, 42); });
  auto v = otp::receive_as<int>(std::chrono::milliseconds(5000));
  return v && *v == 42 ? 0 : 1;
}
