#pragma once
/// \file examples/lessons/kv_store.hpp
/// `KVStore` — seed 001 ("A Complete Example: Key-Value Store"): an
/// in-memory map. Every client function takes an optional server (default
/// `__MODULE__`, the registered name), like `def put(server \\ __MODULE__, ...)`.
///
/// Keys are Elixir atoms in the seed (`:name`); here they are strings
/// ("name"). The state is a `std::map`, so `keys` comes back sorted, as
/// `Map.keys/1` does for a small map.

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common.hpp"

namespace lessons::kv_store {

inline const std::string default_name = "KVStore";

// --- Server callbacks
struct server {
  using state = std::map<std::string, std::string>;
  struct put_req {  // {:put, key, value}
    using reply = ok_t;
    std::string key, value;
  };
  struct get_req {  // {:get, key}
    using reply = std::optional<std::string>;  // nil -> nullopt
    std::string key;
  };
  struct keys_req {  // :keys
    using reply = std::vector<std::string>;
  };
  struct delete_msg {  // {:delete, key}
    std::string key;
  };
  /// What a BEAM client's terms may be (otp/dist.hpp): `{:put, k, v}`,
  /// `{:get, k}`, `:keys`, `{:delete, k}` with binary (string) keys and values.
  using accepts = otp::types<put_req, get_req, keys_req, delete_msg>;

  otp::init_result<state> init(state initial_state) { return otp::ok(std::move(initial_state)); }

  otp::call_result<ok_t> handle_call(put_req r, state& s) {
    s[r.key] = std::move(r.value);
    return otp::reply(ok);
  }
  otp::call_result<std::optional<std::string>> handle_call(get_req r, state& s) {
    auto it = s.find(r.key);
    return otp::reply(it == s.end() ? std::optional<std::string>{} : it->second);
  }
  otp::call_result<std::vector<std::string>> handle_call(keys_req, state& s) {
    std::vector<std::string> keys;
    for (auto& [k, v] : s) keys.push_back(k);
    return otp::reply(std::move(keys));
  }
  otp::cast_result handle_cast(delete_msg m, state& s) {
    s.erase(m.key);
    return otp::noreply();
  }
};

// The messages as Elixir writes them, for calls from other nodes.
OTP_TERM_TUPLE(server::put_req, "put", key, value)
OTP_TERM_TUPLE(server::get_req, "get", key)
OTP_TERM_TUPLE(server::keys_req, "keys")
OTP_TERM_TUPLE(server::delete_msg, "delete", key)

using ref = otp::server_ref<server>;

// --- Client API
struct start_opts {
  std::string name = default_name;  // Keyword.get(opts, :name, __MODULE__)
};
inline otp::start_result<server> start_link(start_opts opts = {}) {
  return otp::gen_server::start_link<server>(server::state{}, {.name = opts.name});
}

inline void put(const ref& srv, std::string key, std::string value) {
  (void)otp::gen_server::call(srv, server::put_req{std::move(key), std::move(value)});
}
inline std::optional<std::string> get(const ref& srv, std::string key) {
  return otp::gen_server::call(srv, server::get_req{std::move(key)});
}
/// `delete` is a C++ keyword.
inline void del(const ref& srv, std::string key) { otp::gen_server::cast(srv, server::delete_msg{std::move(key)}); }
inline std::vector<std::string> keys(const ref& srv) { return otp::gen_server::call(srv, server::keys_req{}); }

// The `server \\ __MODULE__` defaults.
inline void put(std::string key, std::string value) { put(ref(default_name), std::move(key), std::move(value)); }
inline std::optional<std::string> get(std::string key) { return get(ref(default_name), std::move(key)); }
inline void del(std::string key) { del(ref(default_name), std::move(key)); }
inline std::vector<std::string> keys() { return keys(ref(default_name)); }

}  // namespace lessons::kv_store
