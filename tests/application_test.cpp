// otp::application: start/stop of a named tree, configuration, dependencies,
// the tree giving up, and the ordered stop at node shutdown.
//
// OTP items with no counterpart here: .app files and application loading
// (an application is a C++ value), `:included_applications`, takeover and
// failover (distributed applications), and the node stopping by itself when
// a permanent application dies (`wait` returns instead: see application.hpp).

#include <gtest/gtest.h>

#include <mutex>
#include <string>
#include <vector>

#include "otp/application.hpp"
#include "otp/supervisor.hpp"
#include "support/supervision.hpp"
#include "support/test_node.hpp"

using namespace otp_test;
using namespace std::chrono_literals;
namespace app = otp::application;
namespace sup = otp::supervisor;

namespace {

/// Events recorded by the workers, in the order they happen.
event_log& log_of() {
  static event_log l;
  return l;
}

/// A trapping worker that logs its start and its terminate.
struct worker {
  using state = std::string;
  otp::init_result<state> init(std::string id) {
    otp::trap_exit(true);
    log_of().add("start " + id);
    return otp::ok(std::move(id));
  }
  void terminate(const otp::exit_reason& r, state& id) { log_of().add("stop " + id + " " + r.to_string()); }
};

otp::child_spec worker_child(const std::string& id) { return otp::child<worker>(id, {.id = id}); }

app::spec tree(const std::string& name, std::vector<std::string> ids) {
  return app::spec{.name = name,
                   .start = [ids](const app::env&) -> otp::child_start {
                     std::vector<otp::child_spec> children;
                     for (auto& id : ids) children.push_back(worker_child(id));
                     return sup::start_link(std::move(children));
                   }};
}

}  // namespace

TEST(application, start_runs_the_tree_and_stop_stops_it_in_reverse_order) {
  test_node n;
  log_of().take();
  auto r = app::start(tree("shop", {"a", "b"}));
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(app::which_applications(), std::vector<std::string>{"shop"});
  ASSERT_TRUE(app::top_supervisor("shop"));
  EXPECT_EQ(*app::top_supervisor("shop"), r.get_pid());
  EXPECT_EQ(sup::count_children(r.get_pid()).active, 2u);

  ASSERT_TRUE(app::stop("shop").ok());
  EXPECT_FALSE(otp::is_alive(r.get_pid()));
  EXPECT_TRUE(app::which_applications().empty());
  EXPECT_EQ(log_of().take(),
            (std::vector<std::string>{"start a", "start b", "stop b shutdown", "stop a shutdown"}));
  EXPECT_EQ(app::wait("shop"), otp::exit_reason::shutdown());  // how its last run ended
  EXPECT_EQ(app::wait("never"), otp::exit_reason::other("{not_started,\"never\"}"));
  EXPECT_FALSE(app::stop("shop").ok());
}

TEST(application, configuration_from_the_spec_and_put_env_before_start) {
  test_node n;
  app::put_env("cfg", "port", 5000);  // overrides the spec's value
  auto s = tree("cfg", {"w"});
  s.config = {{"port", 4000}, {"host", std::string("localhost")}};
  int seen_port = 0;
  s.start = [&seen_port, inner = s.start](const app::env& cfg) {
    seen_port = std::any_cast<int>(cfg.at("port"));
    return inner(cfg);
  };
  ASSERT_TRUE(app::start(s).ok());
  EXPECT_EQ(seen_port, 5000);
  EXPECT_EQ(app::get_env<int>("cfg", "port"), 5000);
  EXPECT_EQ(app::get_env<std::string>("cfg", "host"), "localhost");
  EXPECT_EQ(app::get_env<std::string>("cfg", "port"), std::nullopt);  // wrong type
  EXPECT_EQ(app::get_env<int>("cfg", "missing", 7), 7);
  app::put_env("cfg", "port", 6000);
  EXPECT_EQ(app::get_env<int>("cfg", "port"), 6000);
  app::stop("cfg");
}

TEST(application, dependencies_must_be_running_and_a_name_runs_once) {
  test_node n;
  auto web = tree("web", {"w"});
  web.applications = {"db"};
  auto r = app::start(web);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.error(), otp::exit_reason::other("{not_started,\"db\"}"));
  ASSERT_TRUE(app::start(tree("db", {"d"})).ok());
  ASSERT_TRUE(app::start(web).ok());
  auto again = app::start(tree("db", {"d2"}));
  EXPECT_EQ(again.error(), otp::exit_reason::other("{already_started,\"db\"}"));
  EXPECT_EQ(app::which_applications(), (std::vector<std::string>{"db", "web"}));
}

TEST(application, a_failed_start_is_an_error_and_leaves_nothing_running) {
  test_node n;
  auto r = app::start(app::spec{.name = "broken", .start = [](const app::env&) -> otp::child_start {
                                  return otp::child_start::error(otp::exit_reason::other("no_db"));
                                }});
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.error().inner(), otp::exit_reason::other("no_db"));
  EXPECT_TRUE(app::which_applications().empty());
  auto thrown = app::start(app::spec{.name = "throws", .start = [](const app::env&) -> otp::child_start {
                                       throw std::runtime_error("bad config");
                                     }});
  EXPECT_FALSE(thrown.ok());
  EXPECT_EQ(thrown.error().inner().what(), "bad config");
}

TEST(application, wait_returns_when_the_tree_gives_up) {
  test_node n;
  // Intensity 0: the first crash makes the supervisor exit shutdown (§11.14).
  auto s = app::spec{.name = "fragile", .start = [](const app::env&) -> otp::child_start {
                       return sup::start_link({worker_child("w")}, {.max_restarts = 0});
                     }};
  auto r = app::start(s);
  ASSERT_TRUE(r.ok());
  auto w = sup::which_children(r.get_pid()).at(0).child;
  otp::exit(w, otp::exit_reason::kill());
  EXPECT_EQ(app::wait("fragile"), otp::exit_reason::shutdown());
  EXPECT_TRUE(app::which_applications().empty());
}

TEST(application, on_stop_runs_after_the_tree_has_stopped) {
  test_node n;
  auto s = tree("cb", {"x"});
  s.on_stop = [] { log_of().add("on_stop"); };
  log_of().take();
  ASSERT_TRUE(app::start(s).ok());
  app::stop("cb");
  EXPECT_EQ(log_of().take(), (std::vector<std::string>{"start x", "stop x shutdown", "on_stop"}));
}

TEST(application, node_shutdown_stops_applications_in_reverse_start_order) {
  log_of().take();
  {
    test_node n;
    ASSERT_TRUE(app::start(tree("first", {"a1", "a2"})).ok());
    ASSERT_TRUE(app::start(tree("second", {"b1"})).ok());
    n->shutdown();
  }
  // Without the ordered stop, the node's untrappable terminate would kill
  // every process without running terminate at all.
  EXPECT_EQ(log_of().take(), (std::vector<std::string>{"start a1", "start a2", "start b1", "stop b1 shutdown",
                                                       "stop a2 shutdown", "stop a1 shutdown"}));
}
