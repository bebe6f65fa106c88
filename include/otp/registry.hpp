#pragma once
/// \file otp/registry.hpp
/// Elixir's `Registry`: a local, decentralised, scalable key–process store
/// (otp-semantics.md §12, and §9.5–9.6 for its use as a `via` name).
///
///   auto reg = otp::registry<int>::start_link({.keys = otp::registry_keys::unique, .name = "sessions"});
///   reg.register_key("user:42", 7);              // registers self() with value 7, links it to a partition
///   for (auto& [p, v] : reg.lookup("user:42")) ...
///   auto srv = otp::gen_server::start_link<session>(arg, {.name = reg.via("user:43")});
///
///   auto pubsub = otp::registry<>::start_link({.keys = otp::registry_keys::duplicate, .partitions = 4});
///   pubsub.register_key("topic");                // a subscriber
///   pubsub.dispatch("topic", [&](const auto& entries) { for (auto& [p, _] : entries) otp::send(p, event{}); });
///
/// Design (Elixir's, with ETS replaced by our own tables): a registry is a
/// supervisor process (holding the registry's local name, if any) linked
/// to `partitions` partition processes. Each partition has a *key table*
/// (key -> entries) and a *pid table* (pid -> its keys), both plain hash maps
/// behind a `std::shared_mutex`, written and read directly by the calling
/// process: a lookup never goes through a process, and reads from any
/// number of processes or foreign threads run concurrently. Unique keys live
/// in the partition of the key's hash, duplicate keys in the partition of
/// the registering pid; the pid table is always the pid's partition. A
/// registrant is linked to its pid partition's process, which traps exits
/// and deletes the dead process's entries when its EXIT arrives — so, as in
/// Elixir, cleanup after a death is asynchronous and a lookup can briefly
/// return a dead pid (§12.7).
///
/// Values are typed (`V`, default `std::monostate` for "no value"), stored
/// immutable and shared, and copied out by lookups. Predicates given to
/// match/select/... run on a snapshot, outside any lock, so they may call
/// the registry (or block) freely.
///
/// Thread safety: every member may be called concurrently from any process
/// or foreign thread. Registration functions act for `otp::self()` (a
/// foreign thread acts for its pseudo-process).

#include <any>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <typeinfo>
#include <utility>
#include <variant>
#include <vector>

#include "otp/error.hpp"
#include "otp/exit_reason.hpp"
#include "otp/message.hpp"
#include "otp/names.hpp"
#include "otp/pid.hpp"

namespace otp {

/// `keys: :unique | :duplicate`.
enum class registry_keys { unique, duplicate };

/// `Registry.start_link/1` options (§12.1).
struct registry_options {
  registry_keys keys = registry_keys::unique;
  /// The registry's name: the local name of its supervisor process, used by
  /// `registry<V>::named`, listeners' messages and `via` names. Empty: an
  /// anonymous registry, reachable through its handle only.
  std::string name;
  /// Number of partitions (Elixir's default is 1; use the scheduler count
  /// for registries written by many processes at once). At least 1.
  unsigned partitions = 1;
  /// Local names of processes told about explicit register / unregister
  /// (§12.8), sent by name from the registering process: a name nobody holds
  /// then throws `otp::badarg` there (after the registration took effect),
  /// as Elixir's `send/2` to an unregistered atom raises.
  std::vector<std::string> listeners;
  /// Initial `meta` entries.
  std::vector<std::pair<std::string, std::any>> meta;
};

/// What a listener receives after an explicit `register_key` (§12.8):
/// Elixir's `{:register, registry, key, pid, value}`.
template <class V>
struct registry_register {
  std::string registry;  ///< the registry's name
  std::string key;
  pid owner;
  V value;
};
/// What a listener receives after `unregister` / a matching
/// `unregister_match`: Elixir's `{:unregister, registry, key, pid}`.
struct registry_unregister {
  std::string registry;
  std::string key;
  pid owner;
};

/// The result of `register_key` (§12.2): `{:ok, owner}` — the partition
/// process the caller is now linked to — or `{:error, {:already_registered,
/// holder}}` (unique registries only).
class register_result {
 public:
  static register_result registered(pid owner) { return register_result(std::move(owner), pid{}); }
  static register_result already_registered(pid holder) { return register_result(pid{}, std::move(holder)); }
  bool ok() const noexcept { return static_cast<bool>(owner_); }
  explicit operator bool() const noexcept { return ok(); }
  /// The partition process the caller is linked to (if ok).
  const pid& owner() const noexcept { return owner_; }
  /// The live process holding the key (if not ok).
  const pid& holder() const noexcept { return holder_; }
  /// `ok` or `{already_registered,<0.N.0>}`.
  std::string to_string() const;

 private:
  register_result(pid o, pid h) : owner_(std::move(o)), holder_(std::move(h)) {}
  pid owner_;
  pid holder_;
};

/// Options of `dispatch`.
struct dispatch_options {
  /// Run the callback for each partition in its own process (Elixir's
  /// `parallel: true`, which uses tasks); the call returns when all are done.
  /// A callback that throws makes `dispatch` throw `otp::exit_error` with
  /// its exit reason.
  bool parallel = false;
};

namespace detail {

/// A value as stored: immutable and shared (null for empty types).
using registry_value = std::shared_ptr<const void>;
struct registry_raw_entry {
  pid owner;
  registry_value value;
};
struct registry_raw_triple {
  std::string key;
  pid owner;
  registry_value value;
};
using registry_message_fn = message (*)(const std::string& registry, const std::string& key, const pid& owner,
                                        const registry_value& value);

class registry_state;

/// The non-template registry: everything but the value type. See registry<V>.
class registry_core {
 public:
  registry_core() = default;

  struct typing {
    const std::type_info* value_type;
    registry_message_fn make_register_msg;
    registry_value default_value;  ///< for `via(key)` (null for an empty V)
    bool has_default;              ///< V is default-constructible
  };
  static registry_core start(const registry_options& opts, bool link, typing t);
  static registry_core named(std::string_view name, const std::type_info& value_type);
  static registry_core adopt(std::shared_ptr<registry_state> s) { return registry_core(std::move(s)); }

  register_result register_key(const std::string& key, registry_value value) const;
  void unregister(const std::string& key) const;
  void unregister_match(const std::string& key, const std::function<bool(const void*)>& pred) const;
  std::vector<registry_raw_entry> lookup(const std::string& key) const;
  std::vector<registry_raw_triple> select(
      const std::function<bool(const std::string&, const pid&, const void*)>& pred) const;
  std::size_t count() const;
  std::vector<std::string> keys(const pid& p) const;
  std::vector<registry_value> values(const std::string& key, const pid& p) const;
  std::optional<std::pair<registry_value, registry_value>> update_value(
      const std::string& key, const std::function<registry_value(const void*)>& fn) const;
  void dispatch(const std::string& key, const std::function<void(std::vector<registry_raw_entry>&&)>& fn,
                dispatch_options opts) const;
  std::optional<std::any> meta(const std::string& key) const;
  void put_meta(const std::string& key, std::any value) const;
  server_name via(std::string key, registry_value value) const;
  void stop(const exit_reason& reason) const;

  pid supervisor() const;
  const std::string& name() const;
  registry_keys kind() const;
  unsigned partitions() const;
  std::vector<pid> partition_owners() const;
  bool alive() const noexcept;

 private:
  explicit registry_core(std::shared_ptr<registry_state> s) : st_(std::move(s)) {}
  registry_state& state() const;  // throws badarg "unknown registry: X" if stopped
  std::shared_ptr<registry_state> st_;
};

}  // namespace detail

/// One entry, as `select` returns it: `{key, pid, value}`.
template <class V>
struct registry_entry {
  std::string key;
  pid owner;
  V value;
};

/// A handle on a registry whose values are `V` (copyable; `std::monostate`
/// for none). Cheap to copy; all copies name the same registry. Operations
/// on a stopped registry throw `otp::badarg("unknown registry: X")` (§12.9).
template <class V = std::monostate>
class registry {
  static_assert(std::is_copy_constructible_v<V>, "registry values must be copyable");

 public:
  using value_type = V;
  using entry = std::pair<pid, V>;

  registry() = default;

  /// Starts a registry linked to the caller (`Registry.start_link/1`).
  /// Throws `otp::exit_error` with `{already_started,<pid>}` if the name is
  /// taken, `otp::badarg` if `partitions` is 0.
  static registry start_link(const registry_options& opts = {}) { return registry(detail::registry_core::start(opts, true, typing())); }
  /// Starts an unlinked registry (stop it with `stop()`).
  static registry start(const registry_options& opts = {}) { return registry(detail::registry_core::start(opts, false, typing())); }
  /// The running registry named `name`: `otp::badarg("unknown registry: name")`
  /// if there is none (§12.9), or if it holds values of another type.
  static registry named(std::string_view name) { return registry(detail::registry_core::named(name, typeid(V))); }

  /// `Registry.register/3` (§12.2): registers `self()` under `key` with
  /// `value` and links it to its partition. (`register` is a C++ keyword.)
  register_result register_key(const std::string& key, V value = V{}) const {
    return core_.register_key(key, box(std::move(value)));
  }
  /// Removes all the caller's entries for `key`; unlinks from the partition
  /// when the caller has no keys left in it (§12.4). Always succeeds.
  void unregister(const std::string& key) const { core_.unregister(key); }
  /// Removes the caller's entries for `key` whose value satisfies `pred`.
  template <class Pred>
  void unregister_match(const std::string& key, Pred pred) const {
    core_.unregister_match(key, [&pred](const void* v) { return static_cast<bool>(pred(unbox(v))); });
  }

  /// `[{pid, value}]` under `key` (§12.3), in no particular order. May
  /// include a process that died moments ago (cleanup is asynchronous).
  std::vector<entry> lookup(const std::string& key) const { return typed(core_.lookup(key)); }
  /// The entries under `key` whose value satisfies `pred(const V&)`
  /// (`Registry.match/3`; a predicate replaces the match spec).
  template <class Pred>
  std::vector<entry> match(const std::string& key, Pred pred) const {
    std::vector<entry> out;
    for (auto& e : core_.lookup(key))
      if (pred(unbox(e.value.get()))) out.emplace_back(std::move(e.owner), unbox(e.value.get()));
    return out;
  }
  /// `Registry.count_match/3`.
  template <class Pred>
  std::size_t count_match(const std::string& key, Pred pred) const {
    std::size_t n = 0;
    for (auto& e : core_.lookup(key)) n += pred(unbox(e.value.get())) ? 1 : 0;
    return n;
  }
  /// All entries for which `pred(key, pid, value)` holds (`Registry.select/2`).
  template <class Pred>
  std::vector<registry_entry<V>> select(Pred pred) const {
    std::vector<registry_entry<V>> out;
    for (auto& t : select_raw(pred)) out.push_back({std::move(t.key), std::move(t.owner), unbox(t.value.get())});
    return out;
  }
  /// `proj(key, pid, value)` of the entries for which `pred` holds.
  template <class Pred, class Proj>
  auto select(Pred pred, Proj proj) const {
    using R = std::decay_t<std::invoke_result_t<Proj&, const std::string&, const pid&, const V&>>;
    std::vector<R> out;
    for (auto& t : select_raw(pred)) out.push_back(proj(t.key, t.owner, unbox(t.value.get())));
    return out;
  }
  /// `Registry.count_select/2`.
  template <class Pred>
  std::size_t count_select(Pred pred) const { return select_raw(pred).size(); }
  /// Number of entries (`Registry.count/1`).
  std::size_t count() const { return core_.count(); }
  /// The keys `p` is registered under (`Registry.keys/2`).
  std::vector<std::string> keys(const pid& p) const { return core_.keys(p); }
  /// The values `p` has under `key` (`Registry.values/3`).
  std::vector<V> values(const std::string& key, const pid& p) const {
    std::vector<V> out;
    for (auto& v : core_.values(key, p)) out.push_back(unbox(v.get()));
    return out;
  }
  /// Unique registries (else `otp::badarg`): replaces the caller's value for
  /// `key` with `fn(old)`; returns `{new, old}`, or nullopt if the caller
  /// does not hold the key (`Registry.update_value/3`).
  template <class F>
  std::optional<std::pair<V, V>> update_value(const std::string& key, F fn) const {
    auto r = core_.update_value(key, [&fn](const void* old) { return box(V(fn(unbox(old)))); });
    if (!r) return std::nullopt;
    return std::pair<V, V>(unbox(r->first.get()), unbox(r->second.get()));
  }

  /// Calls `fn(const std::vector<std::pair<pid, V>>&)` with the entries of
  /// `key`, once per partition that has some, never with an empty list (§12.5).
  template <class F>
  void dispatch(const std::string& key, F fn, dispatch_options opts = {}) const {
    core_.dispatch(key, [&fn](std::vector<detail::registry_raw_entry>&& es) { fn(typed(std::move(es))); }, opts);
  }

  /// `Registry.meta/2`: nullopt if unset, or if it holds another type.
  template <class T>
  std::optional<T> meta(const std::string& key) const {
    auto a = core_.meta(key);
    if (!a) return std::nullopt;
    if (const T* t = std::any_cast<T>(&*a)) return *t;
    return std::nullopt;
  }
  /// `Registry.put_meta/3`.
  template <class T>
  void put_meta(const std::string& key, T value) const { core_.put_meta(key, std::any(std::move(value))); }

  /// `{via, Registry, {reg, key}}` (§9.6) for gen_server start/call/cast:
  /// the server registers itself with `V{}`. Unique registries only
  /// (`otp::badarg(":via is not supported for duplicate registries")`). A
  /// named registry is resolved by name at each use (so the name survives a
  /// restart of the registry); an anonymous one by identity.
  server_name via(std::string key) const { return core_.via(std::move(key), nullptr); }
  /// `{via, Registry, {reg, key, value}}`: a server started with this name
  /// registers with `value`. The value is kept per key (the latest `via`
  /// call for a key wins) for the registry's lifetime.
  server_name via(std::string key, V value) const { return core_.via(std::move(key), box(std::move(value))); }

  /// Stops the registry (its supervisor terminates the partitions with
  /// `shutdown`, which linked non-trapping registrants receive, then exits
  /// with `reason`) and waits until it is down. Elixir: `Supervisor.stop/2`.
  void stop(const exit_reason& reason = exit_reason::normal()) const { core_.stop(reason); }

  /// The registry's supervisor process (holds the name).
  pid get_pid() const { return core_.supervisor(); }
  const std::string& name() const { return core_.name(); }
  registry_keys kind() const { return core_.kind(); }
  unsigned partitions() const { return core_.partitions(); }
  /// The partition processes, by partition index.
  std::vector<pid> partition_owners() const { return core_.partition_owners(); }
  /// False once the registry has stopped.
  bool alive() const noexcept { return core_.alive(); }

 private:
  explicit registry(detail::registry_core c) : core_(std::move(c)) {}

  static constexpr bool empty_value = std::is_empty_v<V> && std::is_default_constructible_v<V>;
  static detail::registry_value box(V v) {
    if constexpr (empty_value) return nullptr;
    else return std::make_shared<const V>(std::move(v));
  }
  static V unbox(const void* p) {
    if constexpr (empty_value) return V{};
    else return *static_cast<const V*>(p);
  }
  static std::vector<entry> typed(std::vector<detail::registry_raw_entry>&& es) {
    std::vector<entry> out;
    out.reserve(es.size());
    for (auto& e : es) out.emplace_back(std::move(e.owner), unbox(e.value.get()));
    return out;
  }
  template <class Pred>
  std::vector<detail::registry_raw_triple> select_raw(Pred& pred) const {
    return core_.select([&pred](const std::string& k, const pid& p, const void* v) {
      return static_cast<bool>(pred(k, p, unbox(v)));
    });
  }
  static message make_register_msg(const std::string& reg, const std::string& key, const pid& owner,
                                    const detail::registry_value& v) {
    return message(registry_register<V>{reg, key, owner, unbox(v.get())});
  }
  static detail::registry_core::typing typing() {
    detail::registry_value def;
    if constexpr (std::is_default_constructible_v<V>) def = box(V{});
    return {&typeid(V), &make_register_msg, std::move(def), std::is_default_constructible_v<V>};
  }

  detail::registry_core core_;
};

}  // namespace otp
