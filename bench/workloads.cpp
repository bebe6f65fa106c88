// The otpcpp side of the side-by-side runner (bench/compare). Runs one
// workload and prints one JSON line per figure:
//   {"workload": ..., "value": ..., "unit": ..., "better": "higher"|"lower"}
// The Erlang twin of every workload is in bench/beam/workloads.erl; both do
// the same work in the same shape, so the ratio compares the runtimes.
//
// usage: otpcpp_workloads WORKLOAD [--size N] [--schedulers N]

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "otp/otp.hpp"
#include "report.hpp"

using namespace std::chrono_literals;
using bench::clock_type;

namespace {

using bench::emit;
using bench::rss_bytes;
using bench::seconds_since;

struct ping {
  otp::pid from;
  long n;
};
struct token {
  long hops_left;
};
struct next_hop {
  otp::pid next;
};
struct stop {};

// Runs `body` as a process and waits (from main) until it exits.
void run_in_process(std::function<void()> body) {
  auto [p, mref] = otp::spawn_monitor(std::move(body));
  auto down = otp::receive_if<otp::down_msg>([r = mref](const otp::down_msg& d) { return d.mref == r; });
  if (!down->reason.is_normal()) {
    std::fprintf(stderr, "workload process failed: %s\n", down->reason.to_string().c_str());
    std::exit(1);
  }
}

// 2 processes, N round trips; 2 messages per round trip.
void ping_pong(long n) {
  double secs = 0;
  run_in_process([&] {
    otp::pid peer = otp::spawn([] {
      for (;;) {
        auto m = otp::receive_as<ping>();
        if (m->n < 0) return;
        otp::send(m->from, ping{otp::pid{}, m->n});
      }
    });
    otp::pid me = otp::self();
    auto t0 = clock_type::now();
    for (long i = 0; i < n; ++i) {
      otp::send(peer, ping{me, i});
      otp::receive_as<ping>();
    }
    secs = seconds_since(t0);
    otp::send(peer, ping{me, -1});
  });
  emit("ping_pong", 2.0 * static_cast<double>(n) / secs, "msg/s", "higher");
}

// 503 processes in a ring pass a token N hops.
void thread_ring(long hops) {
  constexpr int ring = 503;
  double secs = 0;
  run_in_process([&] {
    otp::pid me = otp::self();
    std::vector<otp::pid> procs;
    for (int i = 0; i < ring; ++i) {
      procs.push_back(otp::spawn([me] {
        otp::pid next = otp::receive_as<next_hop>()->next;
        for (;;) {
          auto t = otp::receive_as<token>();
          if (t->hops_left == 0) {
            otp::send(me, *t);
            continue;
          }
          if (t->hops_left < 0) {
            otp::send(next, *t);
            return;
          }
          otp::send(next, token{t->hops_left - 1});
        }
      }));
    }
    for (int i = 0; i < ring; ++i) otp::send(procs[i], next_hop{procs[(i + 1) % ring]});
    auto t0 = clock_type::now();
    otp::send(procs[0], token{hops});
    otp::receive_as<token>();
    secs = seconds_since(t0);
    otp::send(procs[0], token{-1});
  });
  emit("thread_ring", static_cast<double>(hops) / secs, "hops/s", "higher");
}

// Spawn N processes that exit at once: spawn_monitor each, at most 1000
// outstanding, wait for every DOWN.
void spawn_exit(long n) {
  double secs = 0;
  run_in_process([&] {
    constexpr long window = 1000;
    auto t0 = clock_type::now();
    long outstanding = 0;
    for (long i = 0; i < n; ++i) {
      otp::spawn_monitor([] {});
      if (++outstanding == window) {
        otp::receive_as<otp::down_msg>();
        --outstanding;
      }
    }
    while (outstanding-- > 0) otp::receive_as<otp::down_msg>();
    secs = seconds_since(t0);
  });
  emit("spawn_exit", secs * 1e9 / static_cast<double>(n), "ns", "lower");
}

// S senders each send total/S messages to one receiver. As on the BEAM side,
// the senders are all spawned and parked first; the clock starts at `go`.
void fan_in(long total, int senders) {
  double secs = 0;
  run_in_process([&] {
    const long per = total / senders;
    const long expected = per * senders;
    otp::pid me = otp::self();
    std::vector<otp::pid> pids;
    for (int s = 0; s < senders; ++s) {
      pids.push_back(otp::spawn([me, per] {
        otp::send(me, next_hop{});  // ready
        otp::receive_as<stop>();    // go
        for (long i = 0; i < per; ++i) otp::send(me, i);
      }));
    }
    for (int s = 0; s < senders; ++s) otp::receive_as<next_hop>();
    auto t0 = clock_type::now();
    for (auto& p : pids) otp::send(p, stop{});
    for (long got = 0; got < expected; ++got) otp::receive_as<long>();
    secs = seconds_since(t0);
    total = expected;
  });
  emit("fan_in_" + std::to_string(senders), static_cast<double>(total) / secs, "msg/s", "higher");
}

// Spawns n processes parked in receive; returns them (they exit on `stop`).
// Spawning and the "parked" confirmations happen inside a process, so they
// cost process-to-process messages, not a futex wake-up of main() each.
std::vector<otp::pid> spawn_parked(long n) {
  std::vector<otp::pid> procs;
  procs.reserve(static_cast<std::size_t>(n));
  run_in_process([&] {
    otp::pid me = otp::self();
    for (long i = 0; i < n; ++i) {
      procs.push_back(otp::spawn([me] {
        otp::send(me, next_hop{});  // "I am about to park"
        otp::receive_as<stop>();
      }));
    }
    for (long i = 0; i < n; ++i) otp::receive_as<next_hop>();
  });
  return procs;
}

void stop_all(std::vector<otp::pid>& procs) {
  for (auto& p : procs) otp::send(p, stop{});
  while (otp::node::default_node()->process_count() > 1) otp::receive_any(1ms);
}

void idle_process_bytes(long n) {
  std::size_t before = rss_bytes();
  auto procs = spawn_parked(n);
  std::size_t after = rss_bytes();
  emit("idle_process_bytes", static_cast<double>(after - before) / static_cast<double>(n), "bytes", "lower");
  stop_all(procs);
}

void million_processes(long n) {
  std::size_t before = rss_bytes();
  auto t0 = clock_type::now();
  auto procs = spawn_parked(n);
  double secs = seconds_since(t0);
  std::size_t after = rss_bytes();
  emit("million_processes_time", secs, "s", "lower");
  emit("million_processes_rss", static_cast<double>(after - before) / (1024.0 * 1024.0), "MiB", "lower");
  stop_all(procs);
}

// n timers with random delays in [0, max_ms]; lateness = arrival - due.
void timer_lateness(long n, long max_ms) {
  struct fired {
    std::int64_t due_us;
  };
  auto now_us = [] {
    return std::chrono::duration_cast<std::chrono::microseconds>(clock_type::now().time_since_epoch()).count();
  };
  std::vector<double> lateness;
  lateness.reserve(static_cast<std::size_t>(n));
  run_in_process([&] {
    constexpr int receivers = 4;
    otp::pid me = otp::self();
    std::vector<otp::pid> rs;
    for (int r = 0; r < receivers; ++r) {
      rs.push_back(otp::spawn([me, now_us] {
        for (;;) {
          auto f = otp::receive_as<fired>();
          if (f->due_us < 0) return;
          otp::send(me, static_cast<double>(now_us() - f->due_us));
        }
      }));
    }
    std::mt19937_64 rng(42);
    std::uniform_int_distribution<long> dist(0, max_ms);
    for (long i = 0; i < n; ++i) {
      long ms = dist(rng);
      otp::send_after(rs[i % receivers], fired{now_us() + ms * 1000}, std::chrono::milliseconds(ms));
    }
    for (long i = 0; i < n; ++i) lateness.push_back(*otp::receive_as<double>());
    for (auto& r : rs) otp::send(r, fired{-1});
  });
  std::sort(lateness.begin(), lateness.end());
  emit("timer_lateness_p50", lateness[lateness.size() / 2], "us", "lower");
  emit("timer_lateness_p99", lateness[lateness.size() * 99 / 100], "us", "lower");
}

// ---------------------------------------------------------------- gen_server

struct bench_server {
  using state = long;
  struct get {
    using reply = long;
  };
  struct add {
    long n;
  };
  otp::init_result<state> init(long v) { return otp::ok(v); }
  otp::call_result<long> handle_call(get, state& s) { return otp::reply(s); }
  otp::cast_result handle_cast(add a, state& s) {
    s += a.n;
    return otp::noreply();
  }
};
using bench_ref = otp::server_ref<bench_server>;

// 1 client process, 1 server, n sequential calls with the default 5 s timeout.
void call_roundtrip(long n) {
  double secs = 0;
  run_in_process([&] {
    bench_ref srv = otp::gen_server::start_link<bench_server>(0).value();
    auto t0 = clock_type::now();
    for (long i = 0; i < n; ++i) otp::gen_server::call(srv, bench_server::get{});
    secs = seconds_since(t0);
    otp::gen_server::stop(srv.target());
  });
  emit("call_roundtrip", secs * 1e9 / static_cast<double>(n), "ns", "lower");
}

// main() (a thread the node does not own) calls a server n times.
void call_from_foreign_thread(long n) {
  bench_ref srv = otp::gen_server::start<bench_server>(0).value();
  auto t0 = clock_type::now();
  for (long i = 0; i < n; ++i) otp::gen_server::call(srv, bench_server::get{});
  double secs = seconds_since(t0);
  otp::gen_server::stop(srv.target());
  emit("call_from_foreign_thread", secs * 1e9 / static_cast<double>(n), "ns", "lower");
}

// 1 sender process, n casts, then one call that returns once all are handled.
void cast_throughput(long n) {
  double secs = 0;
  run_in_process([&] {
    bench_ref srv = otp::gen_server::start_link<bench_server>(0).value();
    auto t0 = clock_type::now();
    for (long i = 0; i < n; ++i) otp::gen_server::cast(srv, bench_server::add{1});
    long total = otp::gen_server::call(srv, bench_server::get{}, otp::infinity);
    secs = seconds_since(t0);
    if (total != n) std::fprintf(stderr, "cast_throughput: %ld of %ld casts handled\n", total, n), std::exit(1);
    otp::gen_server::stop(srv.target());
  });
  emit("cast_throughput", static_cast<double>(n) / secs, "msg/s", "higher");
}

// `clients` processes call one server, `total` calls in all. The clients
// are started and report ready before the clock starts (as the BEAM and CAF
// versions do).
void fan_in_calls(long total, int clients) {
  double secs = 0;
  run_in_process([&] {
    bench_ref srv = otp::gen_server::start_link<bench_server>(0).value();
    const long each = total / clients;
    otp::pid me = otp::self();
    std::vector<otp::ref> done;
    std::vector<otp::pid> ready;
    for (int c = 0; c < clients; ++c) {
      auto [p, r] = otp::spawn_monitor([srv, each, me] {
        otp::send(me, next_hop{});
        otp::receive_as<token>();  // the start signal
        for (long i = 0; i < each; ++i) otp::gen_server::call(srv, bench_server::get{});
      });
      ready.push_back(p);
      done.push_back(r);
    }
    for (int c = 0; c < clients; ++c) otp::receive_as<next_hop>();
    auto t0 = clock_type::now();
    for (auto& p : ready) otp::send(p, token{0});
    for (auto& r : done) otp::receive_if<otp::down_msg>([r](const otp::down_msg& d) { return d.mref == r; });
    secs = seconds_since(t0);
    otp::gen_server::stop(srv.target());
  });
  emit("fan_in_calls_" + std::to_string(clients), static_cast<double>(total) / secs, "calls/s", "higher");
}

// n servers started one after the other (start_link: init runs and acks
// before the next starts); they stay alive until the end.
std::vector<bench_ref> start_servers(long n, double* secs) {
  std::vector<bench_ref> servers;
  servers.reserve(static_cast<std::size_t>(n));
  run_in_process([&] {
    auto t0 = clock_type::now();
    for (long i = 0; i < n; ++i) servers.push_back(otp::gen_server::start_link<bench_server>(i).value());
    *secs = seconds_since(t0);
  });
  return servers;  // linked to a process that has exited normally: they stay up
}

void start_server(long n) {
  double secs = 0;
  auto servers = start_servers(n, &secs);
  emit("start_server", secs * 1e9 / static_cast<double>(n), "ns", "lower");
}

void idle_server_bytes(long n) {
  double secs = 0;
  std::size_t before = rss_bytes();
  auto servers = start_servers(n, &secs);
  std::size_t after = rss_bytes();
  emit("idle_server_bytes", static_cast<double>(after - before) / static_cast<double>(n), "bytes", "lower");
}

void million_servers(long n) {
  double secs = 0;
  std::size_t before = rss_bytes();
  auto servers = start_servers(n, &secs);
  std::size_t after = rss_bytes();
  emit("million_servers_time", secs, "s", "lower");
  emit("million_servers_rss", static_cast<double>(after - before) / (1024.0 * 1024.0), "MiB", "lower");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s WORKLOAD [--size N] [--schedulers N]\n", argv[0]);
    return 2;
  }
  std::string workload = argv[1];
  long size = 0;
  unsigned schedulers = 0;
  for (int i = 2; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--size") size = std::atol(argv[i + 1]);
    else if (a == "--schedulers") schedulers = static_cast<unsigned>(std::atoi(argv[i + 1]));
  }
  auto sized = [&](long dflt) { return size > 0 ? size : dflt; };
  // Parked processes hold a stack each: keep the pooled stacks small here
  // (the default is 128 KiB; pages are only committed when touched).
  otp::node node({.schedulers = schedulers, .stack_size = 32 * 1024});
  if (workload == "ping_pong") ping_pong(sized(1'000'000));
  else if (workload == "thread_ring") thread_ring(sized(10'000'000));
  else if (workload == "spawn_exit") spawn_exit(sized(1'000'000));
  else if (workload == "fan_in_2") fan_in(sized(4'000'000), 2);
  else if (workload == "fan_in_16") fan_in(sized(4'000'000), 16);
  else if (workload == "fan_in_1000") fan_in(sized(4'000'000), 1000);
  else if (workload == "idle_process_bytes") idle_process_bytes(sized(100'000));
  else if (workload == "million_processes") million_processes(sized(1'000'000));
  else if (workload == "call_roundtrip") call_roundtrip(sized(1'000'000));
  else if (workload == "call_from_foreign_thread") call_from_foreign_thread(sized(100'000));
  else if (workload == "cast_throughput") cast_throughput(sized(10'000'000));
  else if (workload == "fan_in_calls_16") fan_in_calls(sized(1'000'000), 16);
  else if (workload == "fan_in_calls_1000") fan_in_calls(sized(1'000'000), 1000);
  else if (workload == "start_server") start_server(sized(100'000));
  else if (workload == "idle_server_bytes") idle_server_bytes(sized(100'000));
  else if (workload == "million_servers") million_servers(sized(1'000'000));
  else if (workload == "timer_lateness") timer_lateness(sized(100'000), size > 0 && size < 100'000 ? 300 : 1000);
  else {
    std::fprintf(stderr, "unknown workload %s\n", workload.c_str());
    return 2;
  }
  return 0;
}
