// A TCP echo server made of processes, as one would write it with gen_tcp:
// an acceptor process hands each connection to its own handler process,
// which echoes lines in {active, once} mode (flow control: the next packet
// is read only when the handler asks for it). main() then talks to it as a
// client, and so can `nc 127.0.0.1 <port>` while it runs with --serve.
//
//   otp_tcp_echo            # starts the server, runs three clients, exits
//   otp_tcp_echo --serve    # keeps serving until killed

#include <cstdio>
#include <cstring>
#include <string>

#include "otp/otp.hpp"
#include "otp/tcp.hpp"

namespace tcp = otp::tcp;
using namespace std::chrono_literals;

namespace {

struct take_socket {
  tcp::socket sock;
};

// One connection: echo each received chunk until the peer closes.
void handler() {
  tcp::socket s = otp::receive_as<take_socket>()->sock;  // ours once the acceptor handed it over
  tcp::setopts(s, {.active = tcp::active_once});
  for (bool open = true; open;) {
    otp::receive(
        [&](tcp::data& d) {
          tcp::send(s, "echo: " + d.bytes);
          tcp::setopts(s, {.active = tcp::active_once});
        },
        [&](const tcp::closed&) { open = false; },
        [&](const tcp::error& e) { std::printf("connection error: %s\n", e.reason.c_str()); });
  }
}

void acceptor(tcp::listener l) {
  for (;;) {
    tcp::socket s = tcp::accept(l);
    otp::pid h = otp::spawn(handler);
    tcp::controlling_process(s, h);
    otp::send(h, take_socket{s});
  }
}

}  // namespace

int main(int argc, char** argv) {
  otp::node node;
  tcp::listener l = tcp::listen(0, {.packet = 0, .ip = "127.0.0.1"});
  otp::pid server = otp::spawn([l] { acceptor(l); }, {.name = "echo_acceptor"});
  std::printf("echo server %s listening on 127.0.0.1:%u\n", server.to_string().c_str(), l.port());

  if (argc > 1 && std::strcmp(argv[1], "--serve") == 0) {
    (void)otp::receive_as<int>();  // forever
  }
  for (int i = 1; i <= 3; ++i) {
    tcp::socket c = tcp::connect("127.0.0.1", l.port(), {}, 5s);
    std::string line = "hello " + std::to_string(i);
    tcp::send(c, line);
    std::string reply;
    while (reply.size() < line.size() + 6) reply += tcp::recv(c, 0, 5s);
    std::printf("client %d got: %s\n", i, reply.c_str());
    tcp::close(c);
  }
}
