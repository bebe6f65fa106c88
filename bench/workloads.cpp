// The otpcpp side of the side-by-side runner (bench/compare). Runs one
// workload and prints one JSON line per figure:
//   {"workload": ..., "value": ..., "unit": ..., "better": "higher"|"lower"}
// The Erlang twin of every workload is in bench/beam/workloads.erl; both do
// the same work in the same shape, so the ratio compares the runtimes.
//
// usage: otpcpp_workloads WORKLOAD [--size N] [--schedulers N]
//
// restart_latency, registry_lookup and task_async_await (below the
// gen_server workloads) measure the supervisor, Registry and Task layers;
// their BEAM twins use OTP's supervisor and Elixir's Registry and Task.

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
#include "otp/registry.hpp"
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

// n servers started one after the other by one process (start_link: init
// runs and acks before the next starts). `then(rss_before, seconds)` runs in
// that process once all are up, while it is alive and linked to every one of
// them: as in the BEAM version, both ends of each link count and no pid
// list is kept. The servers outlive it (its normal exit does not stop them).
template <class Then>
void start_servers(long n, Then&& then) {
  run_in_process([&] {
    const std::size_t before = rss_bytes();
    auto t0 = clock_type::now();
    for (long i = 0; i < n; ++i)
      if (!otp::gen_server::start_link<bench_server>(i)) std::fprintf(stderr, "start_link failed\n"), std::exit(1);
    then(before, seconds_since(t0));
  });
}

void start_server(long n) {
  start_servers(n, [n](std::size_t, double secs) {
    emit("start_server", secs * 1e9 / static_cast<double>(n), "ns", "lower");
  });
}

void idle_server_bytes(long n) {
  start_servers(n, [n](std::size_t before, double) {
    emit("idle_server_bytes", static_cast<double>(rss_bytes() - before) / static_cast<double>(n), "bytes", "lower");
  });
}

void million_servers(long n) {
  start_servers(n, [](std::size_t before, double secs) {
    const std::size_t after = rss_bytes();
    emit("million_servers_time", secs, "s", "lower");
    emit("million_servers_rss", static_cast<double>(after - before) / (1024.0 * 1024.0), "MiB", "lower");
  });
}

// ------------------------------------------------- supervisor, Registry, Task

// A permanent worker of a one_for_one supervisor: its init tells the
// benchmark process `started{self()}` before returning (no polling for the
// replacement's pid).
struct restart_worker {
  using state = long;
  struct started {
    otp::pid who;
  };
  struct get {
    using reply = long;
  };
  otp::init_result<state> init(otp::pid bench) {
    otp::send(bench, started{otp::self()});
    return otp::ok(0L);
  }
  otp::call_result<long> handle_call(get, state& s) { return otp::reply(s); }
};

// restart_latency: n times, kill the worker (exit(Pid, kill)) and time from
// the kill until its replacement, announced by its init, answers a call.
// In rounds: a fresh supervisor for every 100 kills (start and stop not
// timed), intensity 200 in 1 s (never trips), as the BEAM twin does (see
// workloads.erl: OTP's supervisor walks its restart history on every
// restart, which a single long-lived supervisor would turn into the
// figure). Supervisor reports are logged at info level, below the default
// level (as Elixir hides SASL reports), so they are not even formatted; the
// BEAM twin drops them with a primary logger filter.
constexpr long restarts_per_supervisor = 100;

void restart_latency(long n) {
  std::vector<double> samples;
  samples.reserve(static_cast<std::size_t>(n));
  run_in_process([&] {
    otp::pid me = otp::self();
    for (long left = n; left > 0; left -= restarts_per_supervisor) {
      auto sup = otp::supervisor::start_link({otp::child<restart_worker>(me)},
                                             {.strategy = otp::supervisor::strategy::one_for_one,
                                              .max_restarts = 2 * restarts_per_supervisor,
                                              .max_seconds = std::chrono::seconds(1)})
                     .value();
      otp::pid worker = otp::receive_as<restart_worker::started>()->who;
      for (long i = 0; i < std::min(left, restarts_per_supervisor); ++i) {
        auto t0 = clock_type::now();
        otp::exit(worker, otp::exit_reason::kill());
        otp::pid next = otp::receive_as<restart_worker::started>()->who;
        otp::gen_server::call(otp::server_ref<restart_worker>(next), restart_worker::get{});
        samples.push_back(seconds_since(t0) * 1e6);
        if (next == worker) std::fprintf(stderr, "restart_latency: the worker was not replaced\n"), std::exit(1);
        worker = next;
      }
      otp::unlink(sup.get_pid());
      otp::gen_server::stop(sup.target());
    }
  });
  std::sort(samples.begin(), samples.end());
  emit("restart_latency_p50", samples[samples.size() / 2], "us", "lower");
  emit("restart_latency_p99", samples[samples.size() * 99 / 100], "us", "lower");
}

// registry_lookup: a unique Registry "reg" (partitions = schedulers) and
// 100k servers, each started with the via name {via, Registry, {reg, Key}};
// then `clients` processes make `total` calls in all, each to a random key
// through its via name. The setup is not timed.
constexpr long registry_keys = 100'000;

void registry_lookup(long total, int clients, unsigned schedulers) {
  constexpr long keys = registry_keys;
  double secs = 0;
  run_in_process([&] {
    auto setup0 = clock_type::now();
    auto reg = otp::registry<>::start_link(
        {.keys = otp::registry_keys::unique, .name = "reg", .partitions = std::max(1u, schedulers)});
    for (long k = 0; k < keys; ++k)
      otp::gen_server::start_link<bench_server>(k, {.name = reg.via(std::to_string(k))}).value();
    const long each = total / clients;
    otp::pid me = otp::self();
    std::vector<otp::ref> done;
    std::vector<otp::pid> ready;
    for (int c = 0; c < clients; ++c) {
      auto [p, r] = otp::spawn_monitor([reg, each, me, c] {
        std::mt19937_64 rng(1234 + static_cast<unsigned>(c));
        std::uniform_int_distribution<long> pick(0, registry_keys - 1);
        otp::send(me, next_hop{});
        otp::receive_as<token>();  // the start signal
        for (long i = 0; i < each; ++i) {
          long k = pick(rng);
          long got = otp::gen_server::call(bench_ref(reg.via(std::to_string(k))), bench_server::get{});
          if (got != k) std::fprintf(stderr, "registry_lookup: key %ld answered %ld\n", k, got), std::exit(1);
        }
      });
      ready.push_back(p);
      done.push_back(r);
    }
    for (int c = 0; c < clients; ++c) otp::receive_as<next_hop>();
    std::fprintf(stderr, "registry_lookup: setup (%ld servers) took %.2f s, not timed\n", keys,
                 seconds_since(setup0));
    auto t0 = clock_type::now();
    for (auto& p : ready) otp::send(p, token{0});
    for (auto& r : done) {
      auto d = otp::receive_if<otp::down_msg>([r](const otp::down_msg& d) { return d.mref == r; });
      if (!d->reason.is_normal())
        std::fprintf(stderr, "registry_lookup: client failed: %s\n", d->reason.to_string().c_str()), std::exit(1);
    }
    secs = seconds_since(t0);
    total = each * clients;
  });
  emit("registry_lookup", static_cast<double>(total) / secs, "calls/s", "higher");
}

// task_async_await: one process runs n sequential
// `await(async([i] { return i; }))` pairs.
void task_async_await(long n) {
  double secs = 0;
  run_in_process([&] {
    auto t0 = clock_type::now();
    for (long i = 0; i < n; ++i) {
      long v = otp::tasks::await(otp::tasks::async([i] { return i; }));
      if (v != i) std::fprintf(stderr, "task_async_await: %ld gave %ld\n", i, v), std::exit(1);
    }
    secs = seconds_since(t0);
  });
  emit("task_async_await", secs * 1e9 / static_cast<double>(n), "ns", "lower");
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
  else if (workload == "restart_latency") restart_latency(sized(100'000));
  else if (workload == "registry_lookup") registry_lookup(sized(1'000'000), 16, node.scheduler_count());
  else if (workload == "task_async_await") task_async_await(sized(1'000'000));
  else if (workload == "timer_lateness") timer_lateness(sized(100'000), size > 0 && size < 100'000 ? 300 : 1000);
  else {
    std::fprintf(stderr, "unknown workload %s\n", workload.c_str());
    return 2;
  }
  return 0;
}
