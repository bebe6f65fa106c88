// The CAF side of the side-by-side runner (bench/compare, system "caf"): the
// gen_server workloads of bench/beam/workloads.erl, plus some of its runtime
// workloads, written against CAF 0.17 (libcaf-dev on Debian 12) so otpcpp can
// be compared with an established C++ actor runtime as well as with the BEAM.
// One workload per run, one JSON line per figure on stdout:
//   {"workload": ..., "value": ..., "unit": ..., "better": "higher"|"lower"}
// diagnostics on stderr. An unknown workload is a usage error: exit status 2.
//
// usage: caf_workloads WORKLOAD [--size N] [--schedulers N]
//
// How the Erlang workloads map onto CAF:
//  * A gen_server is a stateful event-based actor whose state is an integer
//    (casts handled so far). A call is request(server, 5 s, call_atom), which
//    the server answers with that integer; a cast is a send of cast_atom,
//    handled without a reply.
//  * Clients are event-based actors that make their next request from the
//    response handler of the previous one (request(...).then(...)): waiting
//    for a reply blocks no worker thread, just as a BEAM process waiting in
//    gen_server:call does not block its scheduler. Only
//    call_from_foreign_thread calls from a blocking scoped_actor in main().
//  * --schedulers N sets scheduler.max-threads, the number of CAF worker
//    threads (all other settings are CAF's defaults).
//  * main() starts and stops the clock. Actors are spawned and have run their
//    init function (a latch counts them) before the clock starts; a `go`
//    message then starts the work, and each actor that has done its part
//    counts down a second latch that main() waits on. Latches are shared_ptrs
//    because the last actor may still be inside count_down() when main()
//    moves on.
//  * Actors live while someone holds a handle (CAF terminates unreachable
//    actors), so idle servers are kept alive by main()'s handles.

#include <caf/all.hpp>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <latch>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "../report.hpp"

namespace {

using bench::clock_type;

using call_atom = caf::atom_constant<caf::atom("call")>;
using cast_atom = caf::atom_constant<caf::atom("cast")>;
using go_atom = caf::atom_constant<caf::atom("go")>;
using ping_atom = caf::atom_constant<caf::atom("ping")>;
using pong_atom = caf::atom_constant<caf::atom("pong")>;
using stop_atom = caf::atom_constant<caf::atom("stop")>;
using msg_atom = caf::atom_constant<caf::atom("m")>;

// gen_server:call/2's default timeout. In CAF 0.17 each request with a
// timeout registers it with the actor clock (a timer thread behind a mutex)
// and cancels it when the reply arrives; that is a large share of the cost of
// a call here (more than half of call_roundtrip when this was written), and
// it is part of what the call workloads measure.
constexpr auto call_timeout = std::chrono::seconds(5);

using shared_latch = std::shared_ptr<std::latch>;

shared_latch make_latch(std::ptrdiff_t count) { return std::make_shared<std::latch>(count); }

using bench::emit;
using bench::rss_bytes;
using bench::seconds_since;

// A failed request (timeout, dead server) ends the run at once: an orderly
// shutdown would wait forever for the actors of the broken workload.
[[noreturn]] void die(const char* what, const caf::error& err) {
  std::fprintf(stderr, "caf_workloads: %s failed: %s\n", what, caf::to_string(err).c_str());
  std::_Exit(1);
}

// Sends `go` to every actor and waits until `done` reaches zero; returns the
// seconds in between.
double run_timed(const std::vector<caf::actor>& actors, std::latch& done) {
  auto t0 = clock_type::now();
  for (const auto& a : actors) caf::anon_send(a, go_atom::value);
  done.wait();
  return seconds_since(t0);
}

// ---------------------------------------------------------------------------
// The server
// ---------------------------------------------------------------------------

struct server_state {
  std::int64_t casts = 0;
};
using server_actor = caf::stateful_actor<server_state>;

caf::behavior server(server_actor* self) {
  return {
      [self](call_atom) { return self->state.casts; },
      [self](cast_atom) { ++self->state.casts; },
  };
}

// ---------------------------------------------------------------------------
// call_roundtrip, fan_in_calls_16/1000: clients making sequential calls
// ---------------------------------------------------------------------------

struct caller_state {
  caf::actor server;
  long calls_left = 0;
  shared_latch done;
};
using caller_actor = caf::stateful_actor<caller_state>;

// Makes the next call from the reply handler of the previous one.
void call_next(caller_actor* self) {
  auto& st = self->state;
  if (st.calls_left == 0) {
    st.done->count_down();
    self->quit();
    return;
  }
  --st.calls_left;
  self->request(st.server, call_timeout, call_atom::value)
      .then([self](std::int64_t) { call_next(self); }, [](caf::error& err) { die("call", err); });
}

caf::behavior caller(caller_actor* self, caf::actor server, long calls, shared_latch ready, shared_latch done) {
  self->state.server = std::move(server);
  self->state.calls_left = calls;
  self->state.done = std::move(done);
  ready->count_down();
  return {[self](go_atom) { call_next(self); }};
}

// `clients` callers each make `calls_per_client` sequential calls to one
// server; returns the seconds from `go` until the last one is done.
double timed_calls(caf::actor_system& sys, int clients, long calls_per_client) {
  auto srv = sys.spawn(server);
  auto ready = make_latch(clients);
  auto done = make_latch(clients);
  std::vector<caf::actor> callers;
  for (int i = 0; i < clients; ++i) callers.push_back(sys.spawn(caller, srv, calls_per_client, ready, done));
  ready->wait();
  return run_timed(callers, *done);
}

// 1 client, 1 server, n sequential calls; ns per call.
void call_roundtrip(caf::actor_system& sys, long n) {
  double secs = timed_calls(sys, 1, n);
  emit("call_roundtrip", secs * 1e9 / static_cast<double>(n), "ns", "lower");
}

// n calls from main(), which is not an actor: a scoped_actor is CAF's way to
// talk to actors from a plain thread; each request blocks the thread in
// receive() until the reply arrives. Unlike event-based actors, a blocking
// actor in CAF 0.17 does not cancel a request's timeout when the reply comes:
// 5 s after each call its stale timeout error lands in the scoped_actor's
// mailbox, where every later receive() skips over it. So once a run takes
// longer than 5 s, calls get steadily slower; that is CAF's behaviour for
// this code, and at the full size it dominates the figure.
void call_from_foreign_thread(caf::actor_system& sys, long n) {
  auto srv = sys.spawn(server);
  caf::scoped_actor self{sys};
  auto t0 = clock_type::now();
  for (long i = 0; i < n; ++i) {
    self->request(srv, call_timeout, call_atom::value)
        .receive([](std::int64_t) {}, [](caf::error& err) { die("call", err); });
  }
  emit("call_from_foreign_thread", seconds_since(t0) * 1e9 / static_cast<double>(n), "ns", "lower");
}

// `clients` clients share `total` sequential calls to one server; calls/s.
void fan_in_calls(caf::actor_system& sys, long total, int clients) {
  const long per_client = total / clients;
  double secs = timed_calls(sys, clients, per_client);
  emit("fan_in_calls_" + std::to_string(clients), static_cast<double>(per_client * clients) / secs, "calls/s",
       "higher");
}

// ---------------------------------------------------------------------------
// cast_throughput
// ---------------------------------------------------------------------------

// On `go`, casts n times, then makes one call, which the server answers after
// all casts (messages from one sender arrive in order); the reply must be n.
// The call waits without a timeout, as on the BEAM side: draining the backlog
// is what is measured, and at 10M casts it may take longer than 5 s.
caf::behavior caster(caf::event_based_actor* self, caf::actor srv, long n, shared_latch ready, shared_latch done) {
  ready->count_down();
  return {[=](go_atom) {
    for (long i = 0; i < n; ++i) self->send(srv, cast_atom::value);
    self->request(srv, caf::infinite, call_atom::value)
        .then(
            [=](std::int64_t casts) {
              if (casts != n) {
                std::fprintf(stderr, "caf_workloads: server counted %lld casts, expected %ld\n",
                             static_cast<long long>(casts), n);
                std::_Exit(1);
              }
              done->count_down();
              self->quit();
            },
            [](caf::error& err) { die("drain call", err); });
  }};
}

void cast_throughput(caf::actor_system& sys, long n) {
  auto ready = make_latch(1);
  auto done = make_latch(1);
  auto sender = sys.spawn(caster, sys.spawn(server), n, ready, done);
  ready->wait();
  double secs = run_timed({sender}, *done);
  emit("cast_throughput", static_cast<double>(n) / secs, "msg/s", "higher");
}

// ---------------------------------------------------------------------------
// start_server, idle_server_bytes, million_servers
// ---------------------------------------------------------------------------

// gen_server:start_link returns once the new server's init/1 has run. CAF's
// spawn only schedules the new actor, which runs its init function later on
// a worker. So a start here is spawn<linked> (start_link links) followed by
// one call whose reply shows the server initialized and serving; the next
// start comes from that reply handler. The starter stays alive afterwards:
// quitting would send every linked server an exit message.
struct starter_state {
  std::vector<caf::actor>* servers = nullptr;  // sized by main(); filled here
  std::size_t started = 0;
  shared_latch done;
};
using starter_actor = caf::stateful_actor<starter_state>;

void start_next(starter_actor* self) {
  auto& st = self->state;
  if (st.started == st.servers->size()) {
    st.done->count_down();
    return;
  }
  auto srv = self->spawn<caf::linked>(server);
  (*st.servers)[st.started++] = srv;
  self->request(srv, call_timeout, call_atom::value)
      .then([self](std::int64_t) { start_next(self); }, [](caf::error& err) { die("start", err); });
}

caf::behavior starter(starter_actor* self, std::vector<caf::actor>* servers, shared_latch ready, shared_latch done) {
  self->state.servers = servers;
  self->state.done = std::move(done);
  ready->count_down();
  return {[self](go_atom) { start_next(self); }};
}

// Starts servers.size() servers one after another and stores their handles
// (which keep them alive) in `servers`; returns the seconds taken and the
// starter, which the caller must keep as long as the servers.
std::pair<double, caf::actor> start_servers(caf::actor_system& sys, std::vector<caf::actor>& servers) {
  auto ready = make_latch(1);
  auto done = make_latch(1);
  auto s = sys.spawn(starter, &servers, ready, done);
  ready->wait();
  double secs = run_timed({s}, *done);
  return {secs, s};
}

// n sequential starts; ns per start. As on the BEAM side the servers stay
// alive until the clock has stopped: a started server is there to serve.
void start_server(caf::actor_system& sys, long n) {
  std::vector<caf::actor> servers(static_cast<std::size_t>(n));
  double secs = start_servers(sys, servers).first;
  emit("start_server", secs * 1e9 / static_cast<double>(n), "ns", "lower");
}

// The handle vector is value-initialized (its pages written) before the
// first RSS reading, so it is not part of the delta; the starter's link
// entries are, as both link ends are on the BEAM side.
void idle_server_bytes(caf::actor_system& sys, long n) {
  std::vector<caf::actor> servers(static_cast<std::size_t>(n));
  std::size_t before = rss_bytes();
  auto starter_handle = start_servers(sys, servers).second;
  std::size_t after = rss_bytes();
  emit("idle_server_bytes", static_cast<double>(after - before) / static_cast<double>(n), "bytes", "lower");
}

void million_servers(caf::actor_system& sys, long n) {
  std::vector<caf::actor> servers(static_cast<std::size_t>(n));
  std::size_t before = rss_bytes();
  auto [secs, starter_handle] = start_servers(sys, servers);
  std::size_t after = rss_bytes();
  emit("million_servers_time", secs, "s", "lower");
  emit("million_servers_rss", static_cast<double>(after - before) / (1024.0 * 1024.0), "MiB", "lower");
}

// ---------------------------------------------------------------------------
// Runtime workloads: ping_pong, fan_in_2/16/1000, spawn_exit
// ---------------------------------------------------------------------------

// The ponger learns its peer once and then answers each ping with a pong.
// The pinger stops it at the end, which also breaks the reference cycle
// between the two (each holds the other's handle).
caf::behavior ponger(caf::event_based_actor* self) {
  return {[self](const caf::actor& peer) {
    self->become([self, peer](ping_atom) { self->send(peer, pong_atom::value); },
                 [self](stop_atom) { self->quit(); });
  }};
}

struct pinger_state {
  caf::actor peer;
  long left = 0;
  shared_latch done;
};
using pinger_actor = caf::stateful_actor<pinger_state>;

caf::behavior pinger(pinger_actor* self, long n, shared_latch ready, shared_latch done) {
  self->state.peer = self->spawn(ponger);
  self->state.left = n;
  self->state.done = std::move(done);
  self->send(self->state.peer, caf::actor_cast<caf::actor>(self));
  ready->count_down();
  return {
      [self](go_atom) { self->send(self->state.peer, ping_atom::value); },
      [self](pong_atom) {
        auto& st = self->state;
        if (--st.left > 0) {
          self->send(st.peer, ping_atom::value);
          return;
        }
        self->send(st.peer, stop_atom::value);
        st.done->count_down();
        self->quit();
      },
  };
}

// n round trips between two actors; 2 messages per round trip.
void ping_pong(caf::actor_system& sys, long n) {
  auto ready = make_latch(1);
  auto done = make_latch(1);
  auto p = sys.spawn(pinger, n, ready, done);
  ready->wait();
  double secs = run_timed({p}, *done);
  emit("ping_pong", 2.0 * static_cast<double>(n) / secs, "msg/s", "higher");
}

struct fan_in_receiver_state {
  long left = 0;
  shared_latch done;
};
using fan_in_receiver_actor = caf::stateful_actor<fan_in_receiver_state>;

caf::behavior fan_in_receiver(fan_in_receiver_actor* self, long expected, shared_latch done) {
  self->state.left = expected;
  self->state.done = std::move(done);
  return {[self](msg_atom) {
    if (--self->state.left == 0) {
      self->state.done->count_down();
      self->quit();
    }
  }};
}

caf::behavior fan_in_sender(caf::event_based_actor* self, caf::actor receiver, long count, shared_latch ready) {
  ready->count_down();
  return {[=](go_atom) {
    for (long i = 0; i < count; ++i) self->send(receiver, msg_atom::value);
    self->quit();
  }};
}

// `senders` senders each send total/senders messages to one receiver.
void fan_in(caf::actor_system& sys, long total, int senders) {
  const long per_sender = total / senders;
  auto ready = make_latch(senders);
  auto done = make_latch(1);
  auto receiver = sys.spawn(fan_in_receiver, per_sender * senders, done);
  std::vector<caf::actor> pids;
  for (int i = 0; i < senders; ++i) pids.push_back(sys.spawn(fan_in_sender, receiver, per_sender, ready));
  ready->wait();
  double secs = run_timed(pids, *done);
  emit("fan_in_" + std::to_string(senders), static_cast<double>(per_sender * senders) / secs, "msg/s", "higher");
}

// Spawns n actors that exit at once (no behavior), each monitored, at most
// 1000 outstanding; each down message releases the next spawn. Same
// strategy as spawn_exit on the BEAM and otpcpp sides.
struct spawner_state {
  long to_spawn = 0;
  long outstanding = 0;
  shared_latch done;
};
using spawner_actor = caf::stateful_actor<spawner_state>;

void spawn_exiting(spawner_actor* self) {
  self->spawn<caf::monitored>([](caf::event_based_actor*) {});
  --self->state.to_spawn;
  ++self->state.outstanding;
}

caf::behavior spawner(spawner_actor* self, long n, shared_latch ready, shared_latch done) {
  constexpr long window = 1000;
  self->state.to_spawn = n;
  self->state.done = std::move(done);
  self->set_down_handler([self](caf::down_msg&) {
    auto& st = self->state;
    --st.outstanding;
    if (st.to_spawn > 0) {
      spawn_exiting(self);
    } else if (st.outstanding == 0) {
      st.done->count_down();
      self->quit();
    }
  });
  ready->count_down();
  return {[self](go_atom) {
    while (self->state.to_spawn > 0 && self->state.outstanding < window) spawn_exiting(self);
  }};
}

void spawn_exit(caf::actor_system& sys, long n) {
  auto ready = make_latch(1);
  auto done = make_latch(1);
  auto s = sys.spawn(spawner, n, ready, done);
  ready->wait();
  double secs = run_timed({s}, *done);
  emit("spawn_exit", secs * 1e9 / static_cast<double>(n), "ns", "lower");
}

// ---------------------------------------------------------------------------
// Command line
// ---------------------------------------------------------------------------

// Workload -> (full size, runner).
using workload_fn = std::function<void(caf::actor_system&, long)>;
const std::map<std::string, std::pair<long, workload_fn>>& workloads() {
  static const std::map<std::string, std::pair<long, workload_fn>> table = {
      {"call_roundtrip", {1'000'000, call_roundtrip}},
      {"call_from_foreign_thread", {100'000, call_from_foreign_thread}},
      {"cast_throughput", {10'000'000, cast_throughput}},
      {"fan_in_calls_16", {1'000'000, [](auto& sys, long n) { fan_in_calls(sys, n, 16); }}},
      {"fan_in_calls_1000", {1'000'000, [](auto& sys, long n) { fan_in_calls(sys, n, 1000); }}},
      {"start_server", {100'000, start_server}},
      {"idle_server_bytes", {100'000, idle_server_bytes}},
      {"million_servers", {1'000'000, million_servers}},
      {"ping_pong", {1'000'000, ping_pong}},
      {"fan_in_2", {4'000'000, [](auto& sys, long n) { fan_in(sys, n, 2); }}},
      {"fan_in_16", {4'000'000, [](auto& sys, long n) { fan_in(sys, n, 16); }}},
      {"fan_in_1000", {4'000'000, [](auto& sys, long n) { fan_in(sys, n, 1000); }}},
      {"spawn_exit", {1'000'000, spawn_exit}},
  };
  return table;
}

[[noreturn]] void usage(const char* argv0, const std::string& complaint) {
  std::fprintf(stderr, "caf_workloads: %s\nusage: %s WORKLOAD [--size N] [--schedulers N]\nworkloads:", complaint.c_str(),
               argv0);
  for (const auto& [name, entry] : workloads()) std::fprintf(stderr, " %s", name.c_str());
  std::fprintf(stderr, "\n");
  std::exit(2);
}

long positive(const char* argv0, const std::string& option, const char* text) {
  char* end = nullptr;
  long v = std::strtol(text, &end, 10);
  if (end == text || *end != '\0' || v <= 0) usage(argv0, option + " needs a positive integer, got '" + text + "'");
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) usage(argv[0], "missing workload name");
  auto it = workloads().find(argv[1]);
  if (it == workloads().end()) usage(argv[0], std::string("unknown workload '") + argv[1] + "'");
  long size = 0;
  long schedulers = 0;
  for (int i = 2; i < argc; i += 2) {
    std::string option = argv[i];
    if (i + 1 == argc) usage(argv[0], option + " needs a value");
    if (option == "--size") size = positive(argv[0], option, argv[i + 1]);
    else if (option == "--schedulers") schedulers = positive(argv[0], option, argv[i + 1]);
    else usage(argv[0], "unknown option " + option);
  }

  caf::actor_system_config cfg;
  if (schedulers > 0) cfg.set("scheduler.max-threads", static_cast<caf::config_value::integer>(schedulers));
  caf::actor_system sys{cfg};
  std::fprintf(stderr, "caf_workloads: CAF %d.%d.%d, scheduler threads: %zu\n", CAF_MAJOR_VERSION, CAF_MINOR_VERSION,
               CAF_PATCH_VERSION, sys.scheduler().num_workers());

  const auto& [full_size, run] = it->second;
  run(sys, size > 0 ? size : full_size);
  // ~actor_system waits for all actors: the workload's handles are gone, so
  // its actors are unreachable and terminate.
  return 0;
}
