#pragma once
/// \file examples/lessons/expiring_cache.hpp
/// The SimpleCache with expiration — seed 003, Exercise 2 ("Add Expiration"):
///   put(key, value, ttl_ms)  the value expires after ttl_ms milliseconds
///   get(key)                 an expired value returns nil (and counts a miss)
///   cleanup                  handle_info(:cleanup, ...) drops expired entries
///                            every `cleanup_interval`, re-armed with
///                            Process.send_after(self(), :cleanup, interval)
/// Entries are stored as {value, expires_at} (the seed's hint), with
/// expires_at on the node's clock (the manual clock in tests). The interval
/// is configurable (the seed 001 snippet uses 60_000 ms).

#include <chrono>
#include <cstddef>
#include <map>
#include <optional>
#include <string>

#include "common.hpp"
#include "simple_cache.hpp"

namespace lessons::expiring_cache {

using namespace std::chrono_literals;
using stats_t = simple_cache::stats_t;

struct options {
  std::chrono::milliseconds cleanup_interval = 60'000ms;
};

// --- Server callbacks
struct server {
  struct entry {
    std::string value;
    std::optional<std::chrono::milliseconds> expires_at;  // nullopt: never
    bool expired(std::chrono::milliseconds t) const { return expires_at && *expires_at <= t; }
  };
  struct state {
    std::map<std::string, entry> entries;
    std::size_t hits = 0, misses = 0;
    std::chrono::milliseconds interval{};
    std::size_t cleanups = 0;  // how many :cleanup ran (for the tour and tests)
  };
  struct put_msg {
    std::string key, value;
    std::optional<std::chrono::milliseconds> ttl;
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
  struct cleanup {};  // :cleanup (an info, from send_after)
  using accepts = otp::types<cleanup>;

  otp::init_result<state> init(options opts) {
    schedule_cleanup(opts.cleanup_interval);
    return otp::ok(state{.interval = opts.cleanup_interval});
  }

  otp::call_result<std::optional<std::string>> handle_call(get_req r, state& s) {
    auto it = s.entries.find(r.key);
    if (it != s.entries.end() && it->second.expired(lessons::now())) {
      s.entries.erase(it);  // expired: as good as absent
      it = s.entries.end();
    }
    if (it == s.entries.end()) {
      ++s.misses;
      return otp::reply(std::optional<std::string>{});
    }
    ++s.hits;
    return otp::reply(std::optional<std::string>(it->second.value));
  }
  otp::call_result<stats_t> handle_call(stats_req, state& s) {
    return otp::reply(stats_t{s.entries.size(), s.hits, s.misses});
  }
  otp::cast_result handle_cast(put_msg m, state& s) {
    std::optional<std::chrono::milliseconds> at;
    if (m.ttl) at = lessons::now() + *m.ttl;
    s.entries[m.key] = entry{std::move(m.value), at};
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
  otp::info_result handle_info(cleanup, state& s) {
    auto t = lessons::now();
    std::erase_if(s.entries, [t](const auto& kv) { return kv.second.expired(t); });
    ++s.cleanups;
    schedule_cleanup(s.interval);  // schedule the next cleanup
    return otp::noreply();
  }

 private:
  static void schedule_cleanup(std::chrono::milliseconds interval) { otp::send_after(otp::self(), cleanup{}, interval); }
};

using ref = otp::server_ref<server>;

// --- Client API
inline otp::start_result<server> start_link(options opts = {}, const otp::start_options& start = {}) {
  return otp::gen_server::start_link<server>(opts, start);
}
/// put(key, value, ttl_ms); without a ttl the value never expires.
inline void put(const ref& cache, std::string key, std::string value,
                std::optional<std::chrono::milliseconds> ttl = std::nullopt) {
  otp::gen_server::cast(cache, server::put_msg{std::move(key), std::move(value), ttl});
}
inline std::optional<std::string> get(const ref& cache, std::string key) {
  return otp::gen_server::call(cache, server::get_req{std::move(key)});
}
inline void del(const ref& cache, std::string key) { otp::gen_server::cast(cache, server::delete_msg{std::move(key)}); }
inline void clear(const ref& cache) { otp::gen_server::cast(cache, server::clear_msg{}); }
inline stats_t stats(const ref& cache) { return otp::gen_server::call(cache, server::stats_req{}); }

}  // namespace lessons::expiring_cache
