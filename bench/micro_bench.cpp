// Google Benchmark micro-benchmarks of the runtime's basic operations.
// Run: build/release/bench/otp_micro_bench

#include <benchmark/benchmark.h>

#include <chrono>

#include "otp/otp.hpp"

using namespace std::chrono_literals;

namespace {

struct ping {
  otp::pid from;
  long n;
};

// Runs `body` in a process of a fresh node and waits for it.
template <class F>
void in_process(unsigned schedulers, F&& body) {
  otp::node node({.schedulers = schedulers});
  auto [p, r] = otp::spawn_monitor(std::forward<F>(body));
  otp::receive_as<otp::down_msg>();
}

void BM_send_receive_self(benchmark::State& state) {
  in_process(1, [&] {
    otp::pid me = otp::self();
    for (auto _ : state) {
      otp::send(me, 1L);
      benchmark::DoNotOptimize(otp::receive_as<long>());
    }
  });
}
BENCHMARK(BM_send_receive_self)->UseRealTime();

void BM_ping_pong_round_trip(benchmark::State& state) {
  in_process(static_cast<unsigned>(state.range(0)), [&] {
    otp::pid peer = otp::spawn([] {
      for (;;) {
        auto m = otp::receive_as<ping>();
        if (m->n < 0) return;
        otp::send(m->from, ping{{}, m->n});
      }
    });
    otp::pid me = otp::self();
    for (auto _ : state) {
      otp::send(peer, ping{me, 1});
      benchmark::DoNotOptimize(otp::receive_as<ping>());
    }
    otp::send(peer, ping{me, -1});
  });
}
BENCHMARK(BM_ping_pong_round_trip)->Arg(1)->Arg(2)->UseRealTime();

void BM_spawn_exit(benchmark::State& state) {
  in_process(1, [&] {
    for (auto _ : state) {
      otp::spawn_monitor([] {});
      otp::receive_as<otp::down_msg>();
    }
  });
}
BENCHMARK(BM_spawn_exit)->UseRealTime();

void BM_timer_start_cancel(benchmark::State& state) {
  in_process(1, [&] {
    otp::pid me = otp::self();
    for (auto _ : state) {
      otp::ref t = otp::send_after(me, 1, 10s);
      benchmark::DoNotOptimize(otp::cancel_timer(t));
    }
  });
}
BENCHMARK(BM_timer_start_cancel)->UseRealTime();

void BM_receive_with_timeout(benchmark::State& state) {
  in_process(1, [&] {
    otp::pid me = otp::self();
    for (auto _ : state) {
      otp::send(me, 1L);
      benchmark::DoNotOptimize(otp::receive_as<long>(5000ms));
    }
  });
}
BENCHMARK(BM_receive_with_timeout)->UseRealTime();

void BM_make_ref(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(otp::make_ref());
}
BENCHMARK(BM_make_ref);

}  // namespace
