#pragma once
/// \file examples/lessons/cache.hpp
/// `Cache` — seed 001 ("Client API vs Server Callbacks"): the smallest
/// client/server split. The seed shows no start function and no init (the
/// state is a map); `start_link` here registers it as `Cache`, which the
/// seed's `GenServer.call(__MODULE__, ...)` assumes.
///
///   def get(key), do: GenServer.call(__MODULE__, {:get, key})
///   def put(key, val), do: GenServer.cast(__MODULE__, {:put, key, val})
///   def handle_call({:get, key}, _from, state), do: {:reply, Map.get(state, key), state}
///   def handle_cast({:put, key, val}, state), do: {:noreply, Map.put(state, key, val)}

#include <map>
#include <optional>
#include <string>

#include "common.hpp"

namespace lessons::cache {

inline const std::string name = "Cache";

// Server callbacks (run in the GenServer process)
struct server {
  using state = std::map<std::string, std::string>;  // no init: starts as state{} (%{})
  struct get_req {
    using reply = std::optional<std::string>;
    std::string key;
  };
  struct put_msg {
    std::string key, val;
  };
  otp::call_result<std::optional<std::string>> handle_call(get_req r, state& s) {
    auto it = s.find(r.key);
    return otp::reply(it == s.end() ? std::optional<std::string>{} : it->second);
  }
  otp::cast_result handle_cast(put_msg m, state& s) {
    s[m.key] = std::move(m.val);
    return otp::noreply();
  }
};

// Client API (runs in the caller's process)
inline otp::start_result<server> start_link() { return otp::gen_server::start_link<server>({.name = name}); }
inline std::optional<std::string> get(std::string key) {
  return otp::gen_server::call(otp::server_ref<server>(name), server::get_req{std::move(key)});
}
inline void put(std::string key, std::string val) {
  otp::gen_server::cast(otp::server_ref<server>(name), server::put_msg{std::move(key), std::move(val)});
}

}  // namespace lessons::cache
