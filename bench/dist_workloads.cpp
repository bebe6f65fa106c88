// The distribution workloads of bench/compare: gen_server calls and casts
// between two nodes on this machine, over loopback. Prints one JSON line per
// figure, as bench/workloads.cpp does:
//   {"workload": ..., "value": ..., "unit": ..., "better": "higher"|"lower"}
//
// usage: otpcpp_dist_workloads WORKLOAD [--size N] [--schedulers N]
//        otpcpp_dist_workloads --serve NODE COOKIE [--schedulers N]
//
// A workload run is the `otpcpp` system (C++ -> C++): this program starts a
// copy of itself in --serve mode as a second OS process (the server node),
// starts its own distributed node, runs the workload against the server
// node's `dist_bench` gen_server, then closes the server's stdin, which ends
// it. --serve alone is the server of the `beam_to_otpcpp` system (Erlang
// client -> C++ server, see bench/beam/dist_workloads.erl): it prints
// "ready" on stdout once `dist_bench` is registered on node NODE and exits
// when its stdin reaches end of file. The Erlang twin of every workload and
// of the server is in bench/beam/dist_workloads.erl.
//
// Workloads (SIZE in brackets is the default):
//   remote_call_roundtrip   1 caller, SIZE sequential calls `ping` -> `pong`
//                           after SIZE/10 (at most 1000) untimed warm-up
//                           calls; the median latency of one call, in us
//                           [100000]
//   remote_call_throughput  64 caller processes, SIZE calls `ping` in all;
//                           callers are spawned and ready before the clock
//                           starts [200000]
//   remote_cast_throughput  1 sender, SIZE casts `bump`, then one call
//                           `count` (timed too) that returns once the server
//                           has handled them all [1000000]
//   remote_transfer_1mb     SIZE sequential calls `{size, Binary}` with a
//                           1,000,000-byte binary; the server answers its
//                           byte size; MB/s with 1 MB = 10^6 bytes [1000]

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "otp/dist.hpp"
#include "otp/otp.hpp"
#include "otp/term_codec.hpp"
#include "report.hpp"

extern char** environ;

using namespace std::chrono_literals;
using bench::clock_type;
using bench::emit;
using bench::seconds_since;

namespace {

constexpr const char* cookie = "otpcpp_bench";
constexpr const char* server_name = "dist_bench";
constexpr long transfer_bytes = 1'000'000;
constexpr int throughput_callers = 64;

// The server both systems with a C++ server talk to. A BEAM client sends
// plain terms (`ping`, `bump`, `count`, `{size, Bin}`); `accepts` turns them
// into these types, and a C++ client's typed requests travel as the same
// terms through the codecs below.
struct echo_server {
  using state = long;  // casts handled so far
  struct ping_req {
    using reply = otp::atom;
  };
  struct bump_msg {};
  struct count_req {
    using reply = long;
  };
  struct size_req {
    otp::term data;  // a binary; a term, so the payload is shared, not copied, on the way out
    using reply = long;
  };
  using accepts = otp::types<ping_req, bump_msg, count_req, size_req>;

  otp::init_result<state> init(long v) { return otp::ok(v); }
  otp::call_result<otp::atom> handle_call(ping_req, state&) { return otp::reply(otp::atom("pong")); }
  otp::call_result<long> handle_call(count_req, state& s) { return otp::reply(s); }
  otp::call_result<long> handle_call(const size_req& r, state&) {
    if (!r.data.is_binary()) throw std::invalid_argument("size: not a binary");
    return otp::reply(static_cast<long>(r.data.size()));
  }
  otp::cast_result handle_cast(bump_msg, state& s) {
    ++s;
    return otp::noreply();
  }
};
OTP_TERM_TUPLE(echo_server::ping_req, "ping")
OTP_TERM_TUPLE(echo_server::bump_msg, "bump")
OTP_TERM_TUPLE(echo_server::count_req, "count")
OTP_TERM_TUPLE(echo_server::size_req, "size", data)

using echo_ref = otp::server_ref<echo_server>;

[[noreturn]] void die(const std::string& why) {
  std::fprintf(stderr, "otpcpp_dist_workloads: %s\n", why.c_str());
  std::exit(1);
}

// Runs `body` as a process and waits (from main) until it exits.
void run_in_process(std::function<void()> body) {
  auto [p, mref] = otp::spawn_monitor(std::move(body));
  auto down = otp::receive_if<otp::down_msg>([r = mref](const otp::down_msg& d) { return d.mref == r; });
  if (!down->reason.is_normal()) die("workload process failed: " + down->reason.to_string());
}

// ---------------------------------------------------------------- server node

// --serve: the server node, until stdin is closed.
int serve(const std::string& node_name, const std::string& node_cookie, unsigned schedulers) {
  otp::node node({.schedulers = schedulers});
  node.logger().set_level(otp::log_level::error);
  otp::dist::start({.name = node_name, .cookie = node_cookie});
  auto started = otp::gen_server::start<echo_server>(0L, {.name = server_name});
  if (!started.ok()) die("cannot start " + std::string(server_name) + ": " + started.error().to_string());
  std::printf("ready\n");
  std::fflush(stdout);
  char buf[256];
  while (read(STDIN_FILENO, buf, sizeof buf) > 0) {
  }
  return 0;
}

// The server node as a child process (this program with --serve): its
// stdin is a pipe we hold, its stdout tells us when it is ready.
class server_process {
 public:
  server_process(const std::string& node_name, unsigned schedulers) {
    int in[2], out[2];
    if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0) die("pipe2 failed");
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in[0], STDIN_FILENO);
    posix_spawn_file_actions_adddup2(&fa, out[1], STDOUT_FILENO);
    std::string sched = std::to_string(schedulers);
    std::vector<std::string> args = {"otpcpp_dist_workloads", "--serve", node_name, cookie, "--schedulers", sched};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    int rc = posix_spawn(&pid_, "/proc/self/exe", &fa, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    close(in[0]);
    close(out[1]);
    if (rc != 0) die("cannot start the server node: posix_spawn failed");
    stdin_ = in[1];
    stdout_ = out[0];
    wait_ready();
  }
  server_process(const server_process&) = delete;
  server_process& operator=(const server_process&) = delete;

  // Closing its stdin ends the server; it gets 5 s before SIGKILL.
  ~server_process() {
    close(stdin_);
    close(stdout_);
    auto deadline = clock_type::now() + 5s;
    int status = 0;
    while (waitpid(pid_, &status, WNOHANG) == 0) {
      if (clock_type::now() > deadline) {
        std::fprintf(stderr, "otpcpp_dist_workloads: the server node did not exit; killing it\n");
        kill(pid_, SIGKILL);
        waitpid(pid_, &status, 0);
        return;
      }
      std::this_thread::sleep_for(10ms);
    }
  }

 private:
  void wait_ready() {
    std::string line;
    auto deadline = clock_type::now() + 30s;
    while (line.find('\n') == std::string::npos) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_type::now()).count();
      pollfd p{stdout_, POLLIN, 0};
      if (left <= 0 || poll(&p, 1, static_cast<int>(left)) <= 0) die("the server node did not get ready in 30 s");
      char buf[64];
      ssize_t got = read(stdout_, buf, sizeof buf);
      if (got <= 0) die("the server node exited before it was ready");
      line.append(buf, static_cast<std::size_t>(got));
    }
    if (line.rfind("ready\n", 0) != 0) die("unexpected output from the server node: " + line);
  }

  pid_t pid_ = 0;
  int stdin_ = -1;
  int stdout_ = -1;
};

// ---------------------------------------------------------------- workloads

void remote_call_roundtrip(const echo_ref& srv, long n) {
  std::vector<double> us;
  us.reserve(static_cast<std::size_t>(n));
  run_in_process([&] {
    const otp::atom pong("pong");
    for (long i = 0; i < std::min(1000L, n / 10); ++i) otp::gen_server::call(srv, echo_server::ping_req{});
    for (long i = 0; i < n; ++i) {
      auto t0 = clock_type::now();
      otp::atom got = otp::gen_server::call(srv, echo_server::ping_req{});
      us.push_back(seconds_since(t0) * 1e6);
      if (got != pong) die("remote_call_roundtrip: reply " + got.to_string());
    }
  });
  std::nth_element(us.begin(), us.begin() + static_cast<long>(us.size() / 2), us.end());
  emit("remote_call_roundtrip", us[us.size() / 2], "us", "lower");
}

// As fan_in_calls in workloads.cpp: the callers report ready, then go.
void remote_call_throughput(const echo_ref& srv, long total) {
  struct ready {};
  struct go {};
  const long each = total / throughput_callers;
  double secs = 0;
  run_in_process([&] {
    otp::pid me = otp::self();
    std::vector<otp::ref> done;
    std::vector<otp::pid> callers;
    for (int c = 0; c < throughput_callers; ++c) {
      auto [p, r] = otp::spawn_monitor([srv, each, me] {
        otp::send(me, ready{});
        otp::receive_as<go>();
        for (long i = 0; i < each; ++i) otp::gen_server::call(srv, echo_server::ping_req{});
      });
      callers.push_back(p);
      done.push_back(r);
    }
    for (int c = 0; c < throughput_callers; ++c) otp::receive_as<ready>();
    auto t0 = clock_type::now();
    for (auto& p : callers) otp::send(p, go{});
    for (auto& r : done) {
      auto d = otp::receive_if<otp::down_msg>([r](const otp::down_msg& d) { return d.mref == r; });
      if (!d->reason.is_normal()) die("remote_call_throughput: caller failed: " + d->reason.to_string());
    }
    secs = seconds_since(t0);
  });
  emit("remote_call_throughput", static_cast<double>(each * throughput_callers) / secs, "calls/s", "higher");
}

void remote_cast_throughput(const echo_ref& srv, long n) {
  double secs = 0;
  run_in_process([&] {
    auto t0 = clock_type::now();
    for (long i = 0; i < n; ++i) otp::gen_server::cast(srv, echo_server::bump_msg{});
    long handled = otp::gen_server::call(srv, echo_server::count_req{}, otp::infinity);
    secs = seconds_since(t0);
    if (handled != n) die("remote_cast_throughput: " + std::to_string(handled) + " of " + std::to_string(n) + " casts handled");
  });
  emit("remote_cast_throughput", static_cast<double>(n) / secs, "casts/s", "higher");
}

void remote_transfer_1mb(const echo_ref& srv, long n) {
  double secs = 0;
  run_in_process([&] {
    const otp::term payload = otp::term::binary(std::string(static_cast<std::size_t>(transfer_bytes), 'x'));
    auto t0 = clock_type::now();
    for (long i = 0; i < n; ++i) {
      long got = otp::gen_server::call(srv, echo_server::size_req{payload}, 30s);
      if (got != transfer_bytes) die("remote_transfer_1mb: reply " + std::to_string(got));
    }
    secs = seconds_since(t0);
  });
  emit("remote_transfer_1mb", static_cast<double>(n) * transfer_bytes / 1e6 / secs, "MB/s", "higher");
}

int run_workload(const std::string& workload, long size, unsigned schedulers) {
  using runner = void (*)(const echo_ref&, long);
  struct entry {
    const char* name;
    runner run;
    long full_size;
  };
  static constexpr entry table[] = {
      {"remote_call_roundtrip", remote_call_roundtrip, 100'000},
      {"remote_call_throughput", remote_call_throughput, 200'000},
      {"remote_cast_throughput", remote_cast_throughput, 1'000'000},
      {"remote_transfer_1mb", remote_transfer_1mb, 1'000},
  };
  const entry* e = std::find_if(std::begin(table), std::end(table), [&](const entry& x) { return workload == x.name; });
  if (e == std::end(table)) {
    std::fprintf(stderr, "unknown workload %s\n", workload.c_str());
    return 2;
  }
  const std::string tag = std::to_string(getpid());
  const std::string server_node = "dist_bench_srv_" + tag + "@127.0.0.1";
  server_process server(server_node, schedulers);
  {
    otp::node node({.schedulers = schedulers});
    node.logger().set_level(otp::log_level::error);
    otp::dist::start({.name = "dist_bench_cli_" + tag + "@127.0.0.1", .cookie = cookie});
    if (!otp::dist::ping(server_node)) die("cannot reach the server node " + server_node);
    e->run(echo_ref(otp::detail::target(server_name, server_node)), size > 0 ? size : e->full_size);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr,
                 "usage: %s WORKLOAD [--size N] [--schedulers N]\n"
                 "       %s --serve NODE COOKIE [--schedulers N]\n",
                 argv[0], argv[0]);
    return 2;
  }
  std::string first = argv[1];
  int opts = 2;
  if (first == "--serve") {
    if (argc < 4) {
      std::fprintf(stderr, "--serve needs NODE and COOKIE\n");
      return 2;
    }
    opts = 4;
  }
  long size = 0;
  unsigned schedulers = 0;
  for (int i = opts; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--size") size = std::atol(argv[i + 1]);
    else if (a == "--schedulers") schedulers = static_cast<unsigned>(std::atoi(argv[i + 1]));
  }
  if (first == "--serve") return serve(argv[2], argv[3], schedulers);
  return run_workload(first, size, schedulers);
}
