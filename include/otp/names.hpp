#pragma once
/// \file otp/names.hpp
/// Naming servers: a local name (a string, Erlang's registered atom), a name
/// held by a registry of your own (`{via, Module, Name}`), or a global name.

#include <optional>
#include <string>
#include <string_view>

#include "otp/message.hpp"
#include "otp/pid.hpp"

namespace otp {

/// The `{via, Module, Name}` contract (OTP §9.5): a registry that maps keys
/// to pids. gen_server calls `register_name` inside the new process (with
/// `p == self()`) before init, and `unregister_name` only when init fails;
/// a registry must forget a dead process by itself (lookups may filter).
/// @threadsafe: implementations are called from any process.
class name_registry {
 public:
  virtual ~name_registry() = default;
  /// True if `key` was free (Erlang's `yes`) and now names `p`.
  virtual bool register_name(const std::string& key, const pid& p) = 0;
  virtual void unregister_name(const std::string& key) = 0;
  virtual std::optional<pid> whereis_name(const std::string& key) = 0;
  /// Sends to the process named `key`; false if there is none (cast ignores it).
  virtual bool send(const std::string& key, message&& m);
  /// For messages and reports, e.g. "{via,my_registry,\"user:42\"}".
  virtual std::string describe(const std::string& key) const;
};

/// The node's global name registry (`{global, Name}`). Until distribution
/// joins nodes into a cluster this is a node-wide registry with global's
/// observable rules: a clash is `already_started`, a dead holder's name is
/// free at once, and the holder gets no local registered name.
name_registry& global_names();

/// How a server is named: unnamed, a local name, or a key in a registry.
class server_name {
 public:
  server_name() = default;
  server_name(const char* local) : key_(local) {}                // NOLINT: implicit by design
  server_name(std::string local) : key_(std::move(local)) {}     // NOLINT
  server_name(std::string_view local) : key_(local) {}           // NOLINT
  server_name(name_registry& r, std::string key) : key_(std::move(key)), registry_(&r) {}

  bool empty() const noexcept { return key_.empty(); }
  bool is_local() const noexcept { return !registry_ && !key_.empty(); }
  const std::string& key() const noexcept { return key_; }
  name_registry* registry() const noexcept { return registry_; }
  /// The pid holding the name now, if any.
  std::optional<pid> whereis() const;
  std::string to_string() const;

 private:
  std::string key_;
  name_registry* registry_ = nullptr;
};

/// `{via, registry, key}`.
inline server_name via(name_registry& registry, std::string key) { return server_name(registry, std::move(key)); }
/// `{global, key}`.
inline server_name global(std::string key) { return server_name(global_names(), std::move(key)); }

}  // namespace otp
