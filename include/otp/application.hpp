#pragma once
/// \file otp/application.hpp
/// Applications (OTP's `application`, Elixir's `Application`): a named
/// supervision tree with its configuration, started and stopped as a unit,
/// and stopped in reverse start order when the node shuts down — so that
/// `main()` is "start the application, wait":
///
///   int main() {
///     otp::node node;
///     otp::application::start({
///         .name = "shop",
///         .start = [](const otp::application::env& cfg) {
///           return otp::supervisor::start_link({otp::child<cart_registry>(), ...},
///                                              {.strategy = otp::supervisor::strategy::one_for_one});
///         },
///         .config = {{"port", 4000}},
///     }).value();
///     otp::application::wait("shop");   // until it stops (or its tree gives up)
///   }
///
/// The application's master process links to the tree's top process. When
/// the tree exits by itself (e.g. its restart intensity ran out) the
/// application stops and `wait` returns the reason. OTP then stops the
/// whole node if the application was `permanent` (or `transient` and the
/// reason abnormal); here `wait` returning ends `main`, which shuts the node
/// down — the library never tears a node down under its owner's feet.

#include <any>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "otp/child_spec.hpp"
#include "otp/exit_reason.hpp"
#include "otp/pid.hpp"
#include "otp/supervisor.hpp"

namespace otp::application {

/// An application's configuration (Elixir's application environment).
using env = std::map<std::string, std::any>;

/// OTP's restart types of applications: whether the tree exiting by itself
/// is reported as an error (permanent; transient unless the reason is
/// normal/shutdown) or only noted (temporary).
enum class kind { temporary, transient, permanent };

struct spec {
  std::string name;
  /// Starts the top of the tree (usually `supervisor::start_link(...)`).
  /// Runs in the application's master process, so the tree is linked to it.
  std::function<child_start(const env&)> start;
  env config;
  /// Applications that must be running first (`{not_started, Dep}` otherwise).
  std::vector<std::string> applications;
  kind type = kind::temporary;
  /// Elixir's `stop/1`: runs after the tree has stopped.
  std::function<void()> on_stop;
};

/// Starts the application and returns once its tree has started: ok with
/// the top process, or `{already_started, Name}`, `{not_started, Dep}`, or
/// `{Reason, {Name, start}}` if its start failed.
supervisor::result start(spec s);
/// Stops the tree (`shutdown`, children in reverse order) and runs on_stop.
/// ok, or `{not_started, Name}`.
supervisor::result stop(const std::string& name);
/// Blocks the calling thread or process until the application has stopped
/// (`stop`, node shutdown, or its tree exiting) and returns the tree's exit
/// reason (`shutdown` after stop). For an application that already stopped:
/// the reason of its last run; never started: `{not_started, Name}`.
exit_reason wait(const std::string& name);
/// Running applications, in start order.
std::vector<std::string> which_applications();
/// The top process of a running application.
std::optional<pid> top_supervisor(const std::string& name);

std::optional<std::any> get_env_any(const std::string& app, const std::string& key);
void put_env(const std::string& app, const std::string& key, std::any value);
/// `Application.get_env/3`: the value if set and of type T.
template <class T>
std::optional<T> get_env(const std::string& app, const std::string& key) {
  auto v = get_env_any(app, key);
  if (!v) return std::nullopt;
  if (const T* p = std::any_cast<T>(&*v)) return *p;
  return std::nullopt;
}
template <class T>
T get_env(const std::string& app, const std::string& key, T fallback) {
  return get_env<T>(app, key).value_or(std::move(fallback));
}

}  // namespace otp::application
