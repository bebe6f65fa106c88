#pragma once
/// \file otp/dynamic_supervisor.hpp
/// Elixir's `DynamicSupervisor` (its own implementation, not OTP's
/// simple_one_for_one): starts no children at first; `start_child` adds
/// them one by one, any number of times from the same spec (ids are
/// ignored); one_for_one restarts; all children stop concurrently.
///
///   auto sup = otp::dynamic_supervisor::start_link({.max_children = 10'000}).value();
///   auto r = otp::dynamic_supervisor::start_child(sup, otp::child<session>(user_id));
///
/// Also `partition_supervisor`: N supervisors (dynamic ones by default)
/// under one, with a key choosing the partition, so that starting many
/// children does not queue behind one process (Elixir's PartitionSupervisor).
///
/// Semantics: ../shared/otp-semantics.md §11.23–11.26.

#include <any>
#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "otp/child_spec.hpp"
#include "otp/supervisor.hpp"

namespace otp {

/// The gen_server type that runs every dynamic supervisor (opaque).
class dynamic_supervisor_server;

namespace dynamic_supervisor {

/// `DynamicSupervisor.init/1` options (defaults as Elixir's).
struct options {
  int max_restarts = 3;
  std::chrono::seconds max_seconds{5};
  std::optional<std::size_t> max_children;  ///< nullopt: infinity
  /// Passed to every child's start function that takes `const std::any&`
  /// (Elixir prepends `extra_arguments` to each child's start args).
  std::any extra_arguments;
};

using ref = server_ref<dynamic_supervisor_server>;
using start_result = otp::start_result<dynamic_supervisor_server>;

start_result start_link(options o = {}, const start_options& opts = {});
start_result start(options o = {}, const start_options& opts = {});

/// Starts a child from `spec`: ok(pid), `ignored()` (it returned ignore:
/// nothing is kept), `max_children`, or its start error. An invalid spec —
/// e.g. a shutdown of 0 ms, which DynamicSupervisor rejects — is an error
/// `{invalid_shutdown, 0}`.
supervisor::result start_child(const otp::detail::target& sup, child_spec spec);
/// Stops the child (per its shutdown); ok, or `not_found`. No spec is kept.
supervisor::result terminate_child(const otp::detail::target& sup, const pid& child);
/// `[{undefined, Pid | restarting, Type, Modules}]`: ids are empty.
std::vector<supervisor::child_info> which_children(const otp::detail::target& sup);
supervisor::child_counts count_children(const otp::detail::target& sup);

}  // namespace dynamic_supervisor

namespace partition_supervisor {

/// `PartitionSupervisor` options: `partitions` copies of `child(i)` (by
/// default a dynamic supervisor) under one supervisor registered as `name`.
struct options {
  std::string name;             ///< required: partitions are found by it
  std::size_t partitions = 0;   ///< 0: the number of schedulers
  /// The child spec of partition i (its id is replaced by the index).
  std::function<child_spec(std::size_t)> child;
  supervisor::flags flags;
};

supervisor::start_result start_link(options o);
/// The partition process for `key` (by hash), or an empty pid if the name
/// is unknown or the partition is between restarts.
pid whereis(const std::string& name, std::size_t key);
template <class K>
pid whereis(const std::string& name, const K& key) {
  return whereis(name, std::hash<K>{}(key));
}
/// The number of partitions of `name` (0 if unknown).
std::size_t partitions(const std::string& name);

}  // namespace partition_supervisor

}  // namespace otp
