// A tour of the runtime: processes, messages, selective receive, links,
// monitors, exit trapping, names and timers — what an iex session shows
// with spawn/send/receive, in C++.

#include <cstdio>
#include <stdexcept>
#include <string>

#include "otp/otp.hpp"

using namespace std::chrono_literals;

namespace {

struct ping {
  otp::pid from;
  int n;
};
struct pong {
  int n;
};
struct tick {
  int n;
};

void say(const std::string& s) { std::printf("%s\n", s.c_str()); }

// A process that answers pings until told to stop (any other message).
void echo_loop() {
  for (;;) {
    bool more = otp::receive([](const ping& p) { otp::send(p.from, pong{p.n}); return true; },
                             [](otp::message&) { return false; });
    if (!more) return;
  }
}

}  // namespace

int main() {
  otp::node node;  // one scheduler per core; main() gets a pseudo-process
  otp::pid me = otp::self();
  say("main is " + me.to_string() + " on a node with " + std::to_string(node.scheduler_count()) + " schedulers");

  say("\n== spawn, send, receive");
  otp::pid echo = otp::spawn(echo_loop, {.name = "echo"});
  otp::send(echo, ping{me, 1});
  otp::send("echo", ping{me, 2});  // by registered name
  for (int i = 0; i < 2; ++i) say("got pong " + std::to_string(otp::receive_as<pong>()->n) + " from " + echo.to_string());

  say("\n== selective receive keeps other messages queued, in order");
  otp::send(me, std::string("first"));
  otp::send(me, 42);
  otp::send(me, std::string("second"));
  say("receive_as<int> -> " + std::to_string(*otp::receive_as<int>()));
  while (auto s = otp::receive_as<std::string>(0ms)) say("then the string " + *s);

  say("\n== a monitor sees a crash as DOWN with the exception as the reason");
  auto [crasher, mref] = otp::spawn_monitor([] { throw std::runtime_error("something broke"); });
  auto down = otp::receive_as<otp::down_msg>();
  say("DOWN " + down->process.to_string() + " reason " + down->reason.to_string());

  say("\n== links: a trapping process gets the EXIT as a message; kill is untrappable");
  otp::trap_exit(true);
  otp::pid worker = otp::spawn_link([] { otp::exit(otp::exit_reason::other("bad_input")); });
  auto ex = otp::receive_as<otp::exit_msg>();
  say("EXIT from " + ex->from.to_string() + " reason " + ex->reason.to_string());
  otp::pid victim = otp::spawn([] {
    otp::trap_exit(true);
    for (;;) otp::receive_any();
  });
  otp::ref vm = otp::monitor(victim);
  otp::exit(victim, otp::exit_reason::kill());
  say("killed a trapping process: DOWN reason " + otp::receive_if<otp::down_msg>([vm](const otp::down_msg& d) { return d.mref == vm; })->reason.to_string());

  say("\n== timers: send_after, start_timer, cancel_timer");
  otp::send_after(me, tick{1}, 30ms);
  otp::ref t2 = otp::start_timer(me, tick{2}, 10ms);
  otp::ref t3 = otp::send_after(me, tick{3}, 10s);
  auto left = otp::cancel_timer(t3);
  say("cancelled the 10 s timer with " + std::to_string(left ? left->count() : -1) + " ms left");
  auto tt = otp::receive_as<otp::timer_timeout<tick>>();
  say("start_timer delivered {timeout, " + tt->tref.to_string() + ", tick " + std::to_string(tt->msg.n) + "}" +
      (tt->tref == t2 ? " (its ref)" : ""));
  say("send_after delivered tick " + std::to_string(otp::receive_as<tick>()->n));
  say(otp::receive_as<tick>(50ms) ? "unexpected tick" : "nothing else within 50 ms: the cancelled timer never fired");

  say("\n== process_info");
  auto info = otp::process_info(echo);
  say("echo: registered_name=" + info->registered_name + " links=" + std::to_string(info->links.size()) +
      " message_queue_len=" + std::to_string(info->message_queue_len));

  otp::send(echo, std::string("stop"));
  otp::ref em = otp::monitor(echo);
  say("echo stopped: " + otp::receive_if<otp::down_msg>([em](const otp::down_msg& d) { return d.mref == em; })->reason.to_string());
  say("\nnode shutting down with " + std::to_string(node.process_count()) + " process(es) left");
}
