// otp::application: one controller per node holds the running applications
// (in start order) and their configuration; each application has a master
// process that starts the tree, links to its top, and stops it.

#include "otp/application.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "node_impl.hpp"
#include "otp/logger.hpp"
#include "otp/process.hpp"
#include "otp/receive.hpp"
#include "supervisor/child.hpp"

namespace otp::application {

namespace {

struct app_rec {
  spec s;
  pid master;
  pid top;
  exit_reason final_reason;  // set by the master before it exits
};

struct controller {
  std::mutex mu;
  std::vector<std::shared_ptr<app_rec>> running;  // start order
  std::unordered_map<std::string, std::shared_ptr<app_rec>> finished;
  std::unordered_map<std::string, env> envs;

  std::shared_ptr<app_rec> find(const std::string& name) {
    auto it = std::find_if(running.begin(), running.end(), [&](auto& a) { return a->s.name == name; });
    return it == running.end() ? nullptr : *it;
  }
};

struct stop_request {};

/// Waits for the master's end; its recorded reason.
exit_reason await_master(const std::shared_ptr<app_rec>& app) {
  ref m = monitor(app->master);
  receive_if<down_msg>([&](const down_msg& d) { return d.mref == m; });
  return app->final_reason;
}

void stop_app(controller& c, const std::shared_ptr<app_rec>& app) {
  send(app->master, stop_request{});
  await_master(app);
}

std::mutex controllers_mu;
std::unordered_map<internal::node_impl*, std::shared_ptr<controller>> controllers;

std::shared_ptr<controller> this_controller() {
  internal::node_impl& n = internal::current_node();
  std::lock_guard lk(controllers_mu);
  auto& c = controllers[&n];
  if (!c) {
    c = std::make_shared<controller>();
    // Node shutdown stops the applications, last started first, before any
    // process is terminated (OTP's init:stop/0 stops applications in
    // reverse order too).
    n.at_shutdown([&n, ctl = std::weak_ptr<controller>(c)] {
      if (auto live = ctl.lock()) {
        for (;;) {
          std::shared_ptr<app_rec> last;
          {
            std::lock_guard lk(live->mu);
            if (live->running.empty()) break;
            last = live->running.back();
          }
          stop_app(*live, last);
        }
      }
      std::lock_guard lk(controllers_mu);
      controllers.erase(&n);
    });
  }
  return c;
}

struct started {
  child_start result;
};

void finish(controller& c, const std::shared_ptr<app_rec>& app, exit_reason why) {
  app->final_reason = std::move(why);
  if (app->s.on_stop) {
    try {
      app->s.on_stop();
    } catch (internal::exit_unwind&) {
      throw;  // the master itself is exiting
    } catch (...) {
      log().log(log_level::error, fmt::format("application {}: stop callback failed: {}", app->s.name,
                                              exit_reason::from_exception(std::current_exception()).to_string()));
    }
  }
  std::lock_guard lk(c.mu);
  std::erase(c.running, app);
  c.finished[app->s.name] = app;
}

/// The application master: starts the tree, then waits for a stop request
/// or for the tree to exit.
void master_main(std::shared_ptr<controller> c, std::shared_ptr<app_rec> app, pid starter) {
  trap_exit(true);
  env cfg;
  {
    std::lock_guard lk(c->mu);
    cfg = c->envs[app->s.name];
  }
  child_start r = child_start::error(exit_reason::noproc());
  try {
    r = app->s.start(cfg);
  } catch (const exit_error& e) {
    r = child_start::error(e.reason());
  } catch (internal::exit_unwind&) {
    throw;  // the master itself is exiting
  } catch (...) {
    r = child_start::error(exit_reason::from_exception(std::current_exception()));
  }
  {
    std::lock_guard lk(c->mu);
    app->top = r.get_pid();
  }
  send(starter, started{r});
  if (!r.ok()) return;
  for (;;) {
    auto m = receive_any();
    if (m->is<stop_request>()) {
      exit_reason why = internal::shutdown_child(app->top, shutdown_policy::infinity());
      finish(*c, app, why);
      return;
    }
    if (m->is<exit_msg>() && m->get<exit_msg>().from == app->top) {
      exit_reason why = m->get<exit_msg>().reason;
      bool error = app->s.type == kind::permanent || (app->s.type == kind::transient && !why.is_quiet());
      log().log(error ? log_level::error : log_level::info,
                fmt::format("Application {} exited: {}", app->s.name, why.to_string()));
      finish(*c, app, std::move(why));
      return;
    }
  }
}

exit_reason not_started(const std::string& name) {
  return exit_reason::other("{not_started," + otp::detail::quote(name) + "}");
}

}  // namespace

supervisor::result start(spec s) {
  auto c = this_controller();
  auto app = std::make_shared<app_rec>();
  {
    std::lock_guard lk(c->mu);
    if (c->find(s.name)) return supervisor::result::error(exit_reason::other("{already_started," + otp::detail::quote(s.name) + "}"));
    for (auto& dep : s.applications)
      if (!c->find(dep)) return supervisor::result::error(not_started(dep));
    // The spec's config is the base; put_env before start overrides it.
    env& e = c->envs[s.name];
    for (auto& [k, v] : s.config) e.try_emplace(k, v);
    app->s = std::move(s);
    c->running.push_back(app);
  }
  pid starter = self();
  app->master = spawn([c, app, starter] { master_main(c, app, starter); });
  auto r = receive_if<started>([](const started&) { return true; }).value().result;
  if (r.ok()) return supervisor::result::ok_with(r.get_pid());
  {
    std::lock_guard lk(c->mu);
    std::erase(c->running, app);
  }
  if (r.ignored()) return supervisor::result::ignore();
  return supervisor::result::error(exit_reason::wrap(r.get_error(), fmt::format("{{{},start}}", otp::detail::quote(app->s.name))));
}

supervisor::result stop(const std::string& name) {
  auto c = this_controller();
  std::shared_ptr<app_rec> app;
  {
    std::lock_guard lk(c->mu);
    app = c->find(name);
  }
  if (!app) return supervisor::result::error(not_started(name));
  stop_app(*c, app);
  return supervisor::result::ok_with({});
}

exit_reason wait(const std::string& name) {
  auto c = this_controller();
  std::shared_ptr<app_rec> app;
  {
    std::lock_guard lk(c->mu);
    app = c->find(name);
    if (!app) {
      auto done = c->finished.find(name);
      if (done == c->finished.end()) return not_started(name);
      return done->second->final_reason;
    }
  }
  return await_master(app);
}

std::vector<std::string> which_applications() {
  auto c = this_controller();
  std::lock_guard lk(c->mu);
  std::vector<std::string> out;
  for (auto& a : c->running) out.push_back(a->s.name);
  return out;
}

std::optional<pid> top_supervisor(const std::string& name) {
  auto c = this_controller();
  std::lock_guard lk(c->mu);
  auto app = c->find(name);
  if (!app || !app->top) return std::nullopt;
  return app->top;
}

std::optional<std::any> get_env_any(const std::string& app, const std::string& key) {
  auto c = this_controller();
  std::lock_guard lk(c->mu);
  auto it = c->envs.find(app);
  if (it == c->envs.end()) return std::nullopt;
  auto kv = it->second.find(key);
  if (kv == it->second.end()) return std::nullopt;
  return kv->second;
}

void put_env(const std::string& app, const std::string& key, std::any value) {
  auto c = this_controller();
  std::lock_guard lk(c->mu);
  c->envs[app][key] = std::move(value);
}

}  // namespace otp::application
