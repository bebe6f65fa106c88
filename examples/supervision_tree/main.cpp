// The seeds' AgentServer, KVStore and Cache under a supervision tree, run
// as an application: kill a child and watch it come back with a fresh
// state; crash a child of an inner supervisor until its restart intensity
// runs out and watch the failure escalate to the parent, which restarts the
// whole inner tree; finally stop the application (children stop last
// started first).
//
//   lessons (application)
//   └── root supervisor  one_for_one
//       ├── KVStore        (lessons::kv_store)
//       ├── Cache          (lessons::cache)
//       ├── AgentServer    "Alice" (lessons::agent_server)
//       └── workers_sup    one_for_one, at most 2 restarts in 5 s
//           └── Counter    (a worker that counts calls)

#include <cstdio>
#include <string>

#include "../lessons/agent_server.hpp"
#include "../lessons/cache.hpp"
#include "../lessons/kv_store.hpp"
#include "otp/otp.hpp"

using namespace std::chrono_literals;
namespace sup = otp::supervisor;

namespace {

void say(const std::string& s) { std::printf("%s\n", s.c_str()); }

/// A worker with a count, to show that a restart starts from init again.
/// It traps exits, so a supervisor's shutdown runs its terminate.
struct counter {
  using state = int;
  struct bump {
    using reply = int;
  };
  otp::init_result<state> init() {
    otp::trap_exit(true);
    return otp::ok(0);
  }
  otp::call_result<int> handle_call(bump, state& n) { return otp::reply(++n); }
  void terminate(const otp::exit_reason& why, state& n) {
    say("Counter terminate(" + why.to_string() + ") after " + std::to_string(n) + " calls");
  }
};

std::string status_text(const sup::child_info& c) {
  switch (c.state) {
    case sup::child_info::status::running: return c.child.to_string();
    case sup::child_info::status::restarting: return "restarting";
    case sup::child_info::status::undefined: break;
  }
  return "undefined";
}

void show_children(const otp::detail::target& s, const std::string& title) {
  say(title);
  for (auto& c : sup::which_children(s))  // newest first, as OTP lists them
    say("  " + c.id + " " + status_text(c) + (c.type == otp::child_type::supervisor ? " (supervisor)" : ""));
}

/// The pid of child `id` once it differs from `old` (the supervisor may not
/// have handled the EXIT yet when we ask).
otp::pid wait_for_replacement(const otp::detail::target& s, const std::string& id, const otp::pid& old) {
  for (;;) {
    for (auto& c : sup::which_children(s))
      if (c.id == id && c.child && c.child != old) return c.child;
    (void)otp::receive_as<int>(1ms);  // let the supervisor work
  }
}

otp::pid child_pid(const otp::detail::target& s, const std::string& id) {
  for (auto& c : sup::which_children(s))
    if (c.id == id) return c.child;
  return {};
}

otp::child_start start_tree(const otp::application::env&) {
  return sup::start_link(
      {
          otp::child_spec{.id = "KVStore", .start = [] { return lessons::kv_store::start_link(); }},
          otp::child_spec{.id = "Cache", .start = [] { return lessons::cache::start_link(); }},
          otp::child_spec{.id = "AgentServer", .start = [] { return lessons::agent_server::start_link("Alice"); }},
          otp::child_spec{.id = "workers_sup",
                          .start = [] {
                            return sup::start_link({otp::child<counter>({.id = "Counter", .server = {.name = "Counter"}})},
                                                   {.max_restarts = 2, .max_seconds = 5s});
                          },
                          .type = otp::child_type::supervisor},
      },
      {.strategy = sup::strategy::one_for_one}, {.name = "root_sup"});
}

}  // namespace

int main() {
  otp::node node;
  // The children are killed on purpose here: keep their crash reports and
  // the supervisors' reports off the screen.
  node.logger().set_level(otp::log_level::none);

  say("== start the application");
  auto started = otp::application::start({.name = "lessons", .start = start_tree});
  if (!started) {
    say("start failed: " + started.error().to_string());
    return 1;
  }
  show_children("root_sup", "root_sup children:");

  say("\n== kill KVStore: it comes back with a fresh state");
  lessons::kv_store::put("language", "C++");
  say("KVStore get(language) = " + lessons::kv_store::get("language").value_or("nil"));
  otp::pid old_kv = child_pid("root_sup", "KVStore");
  otp::exit(old_kv, otp::exit_reason::kill());
  otp::pid new_kv = wait_for_replacement("root_sup", "KVStore", old_kv);
  say("KVStore was " + old_kv.to_string() + ", now " + new_kv.to_string());
  say("KVStore get(language) = " + lessons::kv_store::get("language").value_or("nil") + "  (init ran again)");

  say("\n== the other children did not notice (one_for_one)");
  lessons::cache::put("k", "v");
  lessons::agent_server::remember(otp::server_ref<lessons::agent_server::server>(child_pid("root_sup", "AgentServer")),
                                  "topic", "supervisors");
  say("Cache get(k) = " + lessons::cache::get("k").value_or("nil"));

  say("\n== crash Counter until workers_sup gives up: the root restarts workers_sup");
  otp::pid inner = child_pid("root_sup", "workers_sup");
  for (int crash = 1; crash <= 3; ++crash) {
    otp::pid c = *otp::whereis("Counter");
    int n = otp::gen_server::call(otp::server_ref<counter>(c), counter::bump{});
    say("crash " + std::to_string(crash) + ": Counter " + c.to_string() + " had counted " + std::to_string(n));
    otp::exit(c, otp::exit_reason::kill());
    if (crash < 3) wait_for_replacement(inner, "Counter", c);
  }
  otp::pid new_inner = wait_for_replacement("root_sup", "workers_sup", inner);
  say("workers_sup " + inner.to_string() + " exited (3 restarts in 5 s > max 2); the root started " +
      new_inner.to_string());
  show_children(new_inner, "workers_sup children:");

  say("\n== stop the application: children stop in reverse start order");
  otp::application::stop("lessons");
  say("running applications: " + std::to_string(otp::application::which_applications().size()));
}
