// A distributed otpcpp node that Elixir talks to: the lessons' KVStore and
// Counter under a supervisor on node `demo@127.0.0.1`, reachable from iex
// with GenServer.call/cast, Node.ping and :rpc.call.
//
//   otp_dist_demo           start, let an Elixir client (if installed) call
//                           the servers, print what it saw, stop
//   otp_dist_demo --serve   start and wait (Ctrl-C stops) for your own iex

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "../lessons/counter.hpp"
#include "../lessons/kv_store.hpp"
#include "otp/dist.hpp"
#include "otp/otp.hpp"

namespace {

using namespace std::chrono_literals;
namespace sup = otp::supervisor;

constexpr const char* node_name = "demo@127.0.0.1";
constexpr const char* cookie = "otpcpp_demo";

const char* iex_session = R"(  iex --name iex@127.0.0.1 --cookie otpcpp_demo
  iex> Node.ping(:"demo@127.0.0.1")
  iex> GenServer.call({:KVStore, :"demo@127.0.0.1"}, {:put, "lang", "C++"})
  iex> GenServer.call({:KVStore, :"demo@127.0.0.1"}, {:get, "lang"})
  iex> GenServer.cast({:Counter, :"demo@127.0.0.1"}, {:increment, 5})
  iex> GenServer.call({:Counter, :"demo@127.0.0.1"}, :get_count)
  iex> :rpc.call(:"demo@127.0.0.1", :demo, :sum, [1, 2, 3])
  iex> Process.monitor({:Counter, :"demo@127.0.0.1"})
)";

// The same session, run by a real Elixir client.
const char* client_script = R"(
node = :"demo@127.0.0.1"
IO.puts "  Node.ping                 -> #{inspect Node.ping(node)}"
IO.puts "  KVStore {:put, lang, C++} -> #{inspect GenServer.call({:KVStore, node}, {:put, "lang", "C++"})}"
IO.puts "  KVStore {:get, lang}      -> #{inspect GenServer.call({:KVStore, node}, {:get, "lang"})}"
IO.puts "  KVStore {:get, nope}      -> #{inspect GenServer.call({:KVStore, node}, {:get, "nope"})}"
GenServer.cast({:Counter, node}, {:increment, 5})
IO.puts "  Counter :get_count        -> #{inspect GenServer.call({:Counter, node}, :get_count)}"
IO.puts "  :rpc.call demo.sum        -> #{inspect :rpc.call(node, :demo, :sum, [1, 2, 3])}"
nosuch = try do GenServer.call({:nosuch, node}, :x) catch :exit, e -> {:exit, e} end
IO.puts "  call {:nosuch, node}      -> #{inspect nosuch}"
)";

otp::child_start start_tree() {
  return sup::start_link(
      {
          otp::child_spec{.id = "KVStore", .start = [] { return lessons::kv_store::start_link(); }},
          otp::child_spec{.id = "Counter", .start = [] { return lessons::counter::start_link(0); }},
      },
      {.strategy = sup::strategy::one_for_one}, {.name = "demo_sup"});
}

bool elixir_installed() { return std::system("command -v elixir >/dev/null 2>&1") == 0; }

int run_client() {
  const std::string path = "/tmp/otpcpp_dist_demo_client.exs";
  std::ofstream(path) << client_script;
  const std::string cmd = "elixir --name demo_client@127.0.0.1 --cookie " + std::string(cookie) + " " + path;
  return std::system(cmd.c_str());
}

}  // namespace

int main(int argc, char** argv) {
  const bool serve = argc > 1 && std::string(argv[1]) == "--serve";
  otp::node node;
  node.logger().set_level(otp::log_level::error);
  otp::dist::start({.name = node_name, .cookie = cookie});
  otp::dist::register_rpc("demo", "sum", [](const otp::term& args) {
    std::int64_t s = 0;
    for (const otp::term& a : args.list_elements()) s += a.as_int();
    return otp::term(s);
  });
  if (auto tree = start_tree(); !tree.ok()) {
    std::printf("could not start the tree: %s\n", tree.get_error().to_string().c_str());
    return 1;
  }
  std::printf("node %s is up, hosting KVStore and Counter under demo_sup.\n", otp::dist::node_name().c_str());
  std::printf("From Elixir:\n%s\n", iex_session);
  if (serve) {
    std::printf("Waiting for you (Ctrl-C stops).\n");
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    int sig = 0;
    sigwait(&set, &sig);
    return 0;
  }
  if (!elixir_installed()) {
    std::printf("(elixir is not installed: run `otp_dist_demo --serve` and try the lines above by hand)\n");
    return 0;
  }
  std::printf("An Elixir client runs that session now:\n");
  std::fflush(stdout);
  return run_client() == 0 ? 0 : 1;
}
