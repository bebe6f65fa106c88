#pragma once
// The shared state of one registry (private to src/registry).
//
// Why this layout (Elixir's registry.ex, with ETS replaced):
//  * Each partition has a key table and a pid table, each a hash map behind
//    a std::shared_mutex: readers (lookup, match, select, dispatch, count)
//    take shared locks only and run concurrently from any process or
//    foreign thread, as ETS `read_concurrency` tables do; writers
//    (register/unregister of the caller's own entries, and the partition's
//    death cleanup) take the exclusive lock of one table at a time — never
//    two locks at once, so there is no lock order to get wrong. Critical
//    sections copy pointers only (pids, shared value pointers) and make no
//    runtime call that could park a process (is_alive is a flag read).
//  * The pid table is written *before* the key table on register and after
//    it on unregister (Elixir's order): whatever is in a key table has a pid
//    table entry, so the partition's EXIT handler can always clean it up.
//  * Only a process writes its own entries while it lives, and only its
//    pid partition's process removes them after it died: so "does the caller
//    still have keys here" (to unlink) needs no lock across tables.
//  * Values are immutable `shared_ptr<const void>`s: a lookup copies the
//    pointer under the lock and copies the value out after releasing it.

#include <any>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "otp/registry.hpp"

namespace otp::detail {

struct registry_key_entry {
  pid owner;
  registry_value value;
};
/// A pid table item: one per registration (duplicates repeat).
struct registry_pid_key {
  std::string key;
  unsigned key_partition;
};

struct registry_partition {
  mutable std::shared_mutex keys_mu;
  std::unordered_map<std::string, std::vector<registry_key_entry>> keys;
  std::size_t size = 0;  // entries in `keys` (guarded by keys_mu)

  mutable std::shared_mutex pids_mu;
  std::unordered_map<pid, std::vector<registry_pid_key>> pids;

  pid owner;  // the partition process (set by the supervisor before publication)
};

class registry_state {
 public:
  registry_state(const registry_options& opts, registry_core::typing t);

  bool unique() const noexcept { return kind == registry_keys::unique; }
  unsigned key_partition(const std::string& key) const noexcept;
  unsigned pid_partition(const pid& p) const noexcept;
  /// "unknown registry: X" label: the name, else the supervisor pid.
  std::string label() const;

  /// The partition process's EXIT handler: drops every entry of `dead`.
  void cleanup(unsigned partition, const pid& dead);

  const registry_keys kind;
  const std::string name;
  const unsigned n;
  const std::vector<std::string> listeners;
  const registry_core::typing typing;
  const std::uint64_t id;
  std::vector<std::unique_ptr<registry_partition>> parts;
  pid sup;  // written by the supervisor before publication, then read-only
  std::atomic<bool> alive{false};

  std::mutex meta_mu;
  std::unordered_map<std::string, std::any> meta;

  std::mutex via_mu;
  std::unordered_map<std::string, registry_value> via_values;
};

/// Live registries, by supervisor pid (for names) and by id (anonymous via).
void registry_publish(const std::shared_ptr<registry_state>& st);
void registry_unpublish(const registry_state& st);
std::shared_ptr<registry_state> registry_by_pid(const pid& p);
std::shared_ptr<registry_state> registry_by_id(std::uint64_t id);
/// The registry named `name` (alive), or nullptr.
std::shared_ptr<registry_state> registry_by_name(std::string_view name);

/// The `{via, Registry, ...}` name_registry shared by all registries.
name_registry& registry_via_names();

}  // namespace otp::detail
