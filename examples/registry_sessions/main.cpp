// One session server per connected user, found by user id through a
// Registry `via` name and started on demand by a DynamicSupervisor — the
// seeds' answer for `user_session`: ":name (via Registry) - Need to find by
// user_id". Shows: start on first use, calls by user id, a crashed session
// restarted under the same name with a fresh state, a logout that is not
// restarted, and the registry forgetting dead sessions by itself.
//
//   sessions (application)
//   └── sessions_root   one_for_one
//       ├── SessionRegistry   (otp::registry, unique keys, 2 partitions)
//       └── SessionSupervisor (otp::dynamic_supervisor)
//           └── user_session "alice", "bob", ...   (transient)

#include <cstdio>
#include <string>
#include <vector>

#include "otp/otp.hpp"
#include "otp/registry.hpp"

using namespace std::chrono_literals;

namespace {

void say(const std::string& s) { std::printf("%s\n", s.c_str()); }

/// A user's session: a shopping cart that lives as long as the session.
struct user_session {
  struct state {
    std::string user;
    std::vector<std::string> cart;
  };
  struct add_item {
    std::string item;
  };
  struct get_cart {
    using reply = std::vector<std::string>;
  };
  struct logout {};

  otp::init_result<state> init(std::string user) { return otp::ok(state{std::move(user), {}}); }
  otp::call_result<std::vector<std::string>> handle_call(get_cart, state& s) { return otp::reply(s.cart); }
  otp::cast_result handle_cast(add_item m, state& s) {
    s.cart.push_back(std::move(m.item));
    return otp::noreply();
  }
  otp::cast_result handle_cast(logout, state&) { return otp::stop(otp::exit_reason::normal()); }
};

otp::registry<> sessions() { return otp::registry<>::named("SessionRegistry"); }

/// The session of `user`: found by id through the registry, started on
/// first use. Two callers racing to start it both end up with the one that
/// registered first (`already_started` carries its pid).
otp::server_ref<user_session> session_for(const std::string& user) {
  otp::server_name name = sessions().via(user);
  if (name.whereis()) return otp::server_ref<user_session>(name);
  auto r = otp::dynamic_supervisor::start_child(
      "SessionSupervisor",
      otp::child<user_session>(user, {.id = "session", .restart = otp::restart_type::transient, .server = {.name = name}}));
  if (!r.ok() && !r.existing()) throw otp::exit_error(r.error());
  return otp::server_ref<user_session>(name);
}

std::string cart_text(const std::string& user) {
  std::string out;
  for (auto& item : otp::gen_server::call(session_for(user), user_session::get_cart{})) out += (out.empty() ? "" : ", ") + item;
  return "[" + out + "]";
}

otp::child_start start_tree(const otp::application::env&) {
  return otp::supervisor::start_link(
      {
          otp::child_spec{.id = "SessionRegistry",
                          .start = []() -> otp::child_start {
                            auto reg = otp::registry<>::start_link(
                                {.keys = otp::registry_keys::unique, .name = "SessionRegistry", .partitions = 2});
                            return reg.get_pid();
                          },
                          .type = otp::child_type::supervisor},
          otp::child_spec{.id = "SessionSupervisor",
                          .start = [] { return otp::dynamic_supervisor::start_link({}, {.name = "SessionSupervisor"}); },
                          .type = otp::child_type::supervisor},
      },
      {.strategy = otp::supervisor::strategy::one_for_one}, {.name = "sessions_root"});
}

}  // namespace

int main() {
  otp::node node;
  node.logger().set_level(otp::log_level::none);  // the crash below is on purpose
  if (auto r = otp::application::start({.name = "sessions", .start = start_tree}); !r) {
    say("start failed: " + r.error().to_string());
    return 1;
  }

  say("== sessions start on first use and are found by user id");
  for (std::string user : {"alice", "bob", "carol"}) otp::gen_server::cast(session_for(user), user_session::add_item{"book"});
  otp::gen_server::cast(session_for("alice"), user_session::add_item{"lamp"});
  for (std::string user : {"alice", "bob", "carol"})
    say(user + " -> " + sessions().lookup(user).at(0).first.to_string() + " cart " + cart_text(user));
  say("registry holds " + std::to_string(sessions().count()) + " sessions; SessionSupervisor has " +
      std::to_string(otp::dynamic_supervisor::count_children("SessionSupervisor").active) + " children");

  say("\n== alice's session crashes: it is restarted (transient) under the same name, with a fresh cart");
  otp::pid old = *sessions().via("alice").whereis();
  otp::ref m = otp::monitor(old);
  otp::exit(old, otp::exit_reason::other("crash"));
  (void)otp::receive_if<otp::down_msg>([&](const otp::down_msg& d) { return d.mref == m; });
  // The supervisor restarts it as soon as it sees the EXIT; until then a
  // call by name could find no one, so wait for the new registration.
  while (!sessions().via("alice").whereis() || *sessions().via("alice").whereis() == old)
    (void)otp::receive_as<int>(1ms);
  say("alice was " + old.to_string() + ", now " + sessions().via("alice").whereis()->to_string() + " cart " +
      cart_text("alice"));

  say("\n== bob logs out: a normal stop is not restarted, and the registry forgets him");
  otp::pid bob = *sessions().via("bob").whereis();
  otp::ref bm = otp::monitor(bob);
  otp::gen_server::cast(session_for("bob"), user_session::logout{});
  (void)otp::receive_if<otp::down_msg>([&](const otp::down_msg& d) { return d.mref == bm; });
  say("bob's session is gone: whereis = " + std::string(sessions().via("bob").whereis() ? "a pid" : "none") +
      "; SessionSupervisor has " + std::to_string(otp::dynamic_supervisor::count_children("SessionSupervisor").active) +
      " children");

  otp::application::stop("sessions");
  say("\napplication stopped");
}
