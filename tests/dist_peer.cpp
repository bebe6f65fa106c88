// otp_dist_peer NAME COOKIE: the other otpcpp node of tests/dist_test.cpp,
// in a process of its own. It starts distribution as NAME@127.0.0.1, runs
// the test_server of support/dist_servers.hpp as `echo`, registers the rpc
// functions below, prints READY, then obeys lines on stdin:
//   halt       exits at once, as a crash would (the peer sees the connection drop)
//   stop_dist  stops distribution (a clean nodedown), prints "=> ok"
//   connect N  prints "=> true" or "=> false" (otp::dist::connect)
// and exits at once at the end of its input.
//
// rpc functions (module `peer`), for what the test needs done on this node:
//   whereis(Name)              the pid registered as Name, or undefined
//   add(N...)                  the sum;  boom()  throws std::runtime_error("kaboom")
//   victim(Name)               spawns a process registered as Name that exits
//                              with Reason when sent {die, Reason} (an atom; a
//                              binary: throws std::runtime_error(Reason))
//   watch(Pid, To)             a process here monitors Pid: sends To
//                              {watching, Self}, then {down, Reason}
//   link(Pid, To)              a trapping process here links to Pid: sends To
//                              {linked, Self}, then {exit, Reason} when Pid
//                              exits; on {die, Reason} it exits with Reason,
//                              on unlink it unlinks and sends To {unlinked, Self}
//   call(Name, Node, Req, Ms, To)  a process here calls {Name, Node} and sends To
//                              {reply, R} or {error, Reason, Stray}: Stray, the
//                              messages it got in the 600 ms after the failure
//   swarm(Name, Node, N, To)   N processes here call {Name, Node} at once, each
//                              with {echo, {Self, I}} and {twice, I}; To gets
//                              {swarm, Count} with the count of right replies

#include <cstdio>
#include <cstdlib>
#include <span>
#include <iostream>
#include <string>

#include "otp/dist.hpp"
#include "otp/gen_server.hpp"
#include "otp/node.hpp"
#include "otp/process.hpp"
#include "otp/receive.hpp"
#include "otp/term_codec.hpp"
#include "support/dist_servers.hpp"

namespace {

using otp::atom;
using otp::term;

term tagged(const char* tag, term value) { return term::tuple({term(atom(tag)), std::move(value)}); }

[[noreturn]] void die_with(const term& reason) {
  if (reason.is_binary()) throw std::runtime_error(std::string(reason.as_binary()));
  otp::exit(otp::exit_reason_from_term(reason));
}

term victim(const term& args) {
  const std::string name(args.list_elements()[0].as_atom().name());
  const otp::pid p = otp::spawn(
      [] {
        for (;;) {
          const term m = *otp::receive_as<term>(otp::infinity);
          if (m.is_tagged_tuple("die", 2)) die_with(m[1]);
        }
      },
      {.name = name});
  return otp::to_term(p);
}

term watch(const term& args) {
  const otp::pid target = otp::from_term<otp::pid>(args.list_elements()[0]);
  const otp::pid to = otp::from_term<otp::pid>(args.list_elements()[1]);
  otp::spawn([target, to] {
    const otp::ref m = otp::monitor(target);
    otp::send(to, tagged("watching", otp::to_term(otp::self())));
    const auto down = otp::receive_if<otp::down_msg>([m](const otp::down_msg& d) { return d.mref == m; }, otp::infinity);
    otp::send(to, tagged("down", otp::to_term(down->reason)));
  });
  return term(atom("ok"));
}

term link(const term& args) {
  const otp::pid target = otp::from_term<otp::pid>(args.list_elements()[0]);
  const otp::pid to = otp::from_term<otp::pid>(args.list_elements()[1]);
  otp::spawn(
      [target, to] {
        otp::link(target);
        otp::send(to, tagged("linked", otp::to_term(otp::self())));
        for (;;) {
          otp::receive(
              [&](const otp::exit_msg& e) { otp::send(to, tagged("exit", otp::to_term(e.reason))); },
              [&](const term& m) {
                if (m.is_tagged_tuple("die", 2)) die_with(m[1]);
                if (m.is_atom("unlink")) {
                  otp::unlink(target);
                  otp::send(to, tagged("unlinked", otp::to_term(otp::self())));
                }
              });
        }
      },
      {.trap_exit = true});
  return term(atom("ok"));
}

term call(const term& args) {
  std::span<const term> a = args.list_elements();
  const otp::detail::target server(a[0].as_atom().name(), a[1].as_atom().name());
  const term request = a[2];
  const auto ms = std::chrono::milliseconds(a[3].as_int());
  const otp::pid to = otp::from_term<otp::pid>(a[4]);
  otp::spawn([server, request, ms, to] {
    auto r = otp::gen_server::try_call(server, request, ms);
    if (r.ok()) return otp::send(to, tagged("reply", r.value()));
    std::int64_t stray = 0;
    while (otp::receive_any(std::chrono::milliseconds(600))) ++stray;
    otp::send(to, term::tuple({term(atom("error")), otp::to_term(r.error().inner()), term(stray)}));
  });
  return term(atom("ok"));
}

term swarm(const term& args) {
  std::span<const term> a = args.list_elements();
  const otp::detail::target server(a[0].as_atom().name(), a[1].as_atom().name());
  const std::int64_t n = a[2].as_int();
  const otp::pid to = otp::from_term<otp::pid>(a[3]);
  otp::spawn([server, n, to] {
    struct done {
      bool ok;
    };
    const otp::pid coordinator = otp::self();
    for (std::int64_t i = 0; i < n; ++i) {
      otp::spawn([server, i, coordinator] {
        const term mine = term::tuple({otp::to_term(otp::self()), term(i)});
        auto e = otp::gen_server::try_call(server, otp_test::dist_servers::echo{mine}, std::chrono::seconds(30));
        auto t = otp::gen_server::try_call(server, otp_test::dist_servers::twice{i}, std::chrono::seconds(30));
        otp::send(coordinator, done{e.ok() && e.value() == mine && t.ok() && t.value() == 2 * i});
      });
    }
    std::int64_t right = 0;
    for (std::int64_t i = 0; i < n; ++i) right += otp::receive_as<done>(otp::infinity)->ok ? 1 : 0;
    otp::send(to, tagged("swarm", term(right)));
  });
  return term(atom("ok"));
}

void register_functions() {
  otp::dist::register_rpc("peer", "whereis", [](const term& args) {
    auto p = otp::whereis(args.list_elements()[0].as_atom().name());
    return p ? otp::to_term(*p) : term(atom("undefined"));
  });
  otp::dist::register_rpc("peer", "add", [](const term& args) {
    std::int64_t sum = 0;
    for (const term& a : args.list_elements()) sum += a.as_int();
    return term(sum);
  });
  otp::dist::register_rpc("peer", "boom", [](const term&) -> term { throw std::runtime_error("kaboom"); });
  otp::dist::register_rpc("peer", "victim", victim);
  otp::dist::register_rpc("peer", "watch", watch);
  otp::dist::register_rpc("peer", "link", link);
  otp::dist::register_rpc("peer", "call", call);
  otp::dist::register_rpc("peer", "swarm", swarm);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: otp_dist_peer NAME COOKIE\n");
    return 2;
  }
  otp::node node({.schedulers = 2});
  node.logger().set_sink([](otp::log_level, std::string_view) {});
  otp::dist::start({.name = argv[1], .cookie = argv[2]});
  if (!otp::gen_server::start<otp_test::dist_servers::test_server>({.name = "echo"})) return 1;
  register_functions();
  std::cout << "READY " << otp::dist::node_name() << std::endl;
  for (std::string line; std::getline(std::cin, line);) {
    if (line == "halt") std::_Exit(0);
    if (line == "stop_dist") {
      otp::dist::stop();
      std::cout << "=> ok" << std::endl;
    }
    if (line.starts_with("connect "))
      std::cout << "=> " << (otp::dist::connect(line.substr(8)) ? "true" : "false") << std::endl;
  }
  std::_Exit(0);
}
