#pragma once
/// \file examples/lessons/simple_cache.hpp
/// `SimpleCache` — seed 003, Exercise 1 ("Build a Simple Cache"):
///   put(key, value)  store a value (async, cast)
///   get(key)         retrieve a value (sync, call); counts a hit or a miss
///   delete(key)      remove a value (async, cast)
///   clear()          remove all values (async, cast)
///   stats()          %{size: N, hits: N, misses: N} (sync, call)
/// The seed leaves the bodies as TODOs; the client functions take the cache
/// (`put(cache, key, value)`) as in its skeleton. `clear` empties the
/// entries and keeps the counters (the exercise does not say otherwise).

#include <cstddef>
#include <map>
#include <optional>
#include <string>

#include "common.hpp"

namespace lessons::simple_cache {

/// `%{size: N, hits: N, misses: N}`.
struct stats_t {
  std::size_t size = 0, hits = 0, misses = 0;
  friend bool operator==(const stats_t&, const stats_t&) = default;
  std::string to_string() const { return fmt::format("%{{hits: {}, misses: {}, size: {}}}", hits, misses, size); }
};

// --- Server callbacks
struct server {
  struct state {
    std::map<std::string, std::string> entries;
    std::size_t hits = 0, misses = 0;
  };
  struct put_msg {
    std::string key, value;
  };
  struct get_req {
    using reply = std::optional<std::string>;
    std::string key;
  };
  struct delete_msg {
    std::string key;
  };
  struct clear_msg {};
  struct stats_req {
    using reply = stats_t;
  };

  otp::init_result<state> init() { return otp::ok(state{}); }

  otp::call_result<std::optional<std::string>> handle_call(get_req r, state& s) {
    auto it = s.entries.find(r.key);
    if (it == s.entries.end()) {
      ++s.misses;
      return otp::reply(std::optional<std::string>{});
    }
    ++s.hits;
    return otp::reply(std::optional<std::string>(it->second));
  }
  otp::call_result<stats_t> handle_call(stats_req, state& s) {
    return otp::reply(stats_t{s.entries.size(), s.hits, s.misses});
  }
  otp::cast_result handle_cast(put_msg m, state& s) {
    s.entries[m.key] = std::move(m.value);
    return otp::noreply();
  }
  otp::cast_result handle_cast(delete_msg m, state& s) {
    s.entries.erase(m.key);
    return otp::noreply();
  }
  otp::cast_result handle_cast(clear_msg, state& s) {
    s.entries.clear();
    return otp::noreply();
  }
};

using ref = otp::server_ref<server>;

// --- Client API
inline otp::start_result<server> start_link(const otp::start_options& opts = {}) {
  return otp::gen_server::start_link<server>(opts);
}
inline void put(const ref& cache, std::string key, std::string value) {
  otp::gen_server::cast(cache, server::put_msg{std::move(key), std::move(value)});
}
inline std::optional<std::string> get(const ref& cache, std::string key) {
  return otp::gen_server::call(cache, server::get_req{std::move(key)});
}
inline void del(const ref& cache, std::string key) { otp::gen_server::cast(cache, server::delete_msg{std::move(key)}); }
inline void clear(const ref& cache) { otp::gen_server::cast(cache, server::clear_msg{}); }
inline stats_t stats(const ref& cache) { return otp::gen_server::call(cache, server::stats_req{}); }

}  // namespace lessons::simple_cache
