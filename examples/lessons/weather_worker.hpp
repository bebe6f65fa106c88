#pragma once
/// \file examples/lessons/weather_worker.hpp
/// The weather service — seed 002 (The Little Elixir & OTP Guidebook:
/// "a minimal implementation of a weather service that uses GenServer",
/// Metex turned into a GenServer). The seed names the listing but does not
/// include its code; this follows the book's Metex.Worker client API:
///
///   start_link(opts \\ [])         GenServer.start_link(__MODULE__, :ok, opts)
///   get_temperature(pid, location) call {:location, location} -> "28.9°C" | :error
///   get_stats(pid)                 call :get_stats -> %{location => times asked}
///   reset_stats(pid)               cast :reset_stats
///   stop(pid)                      cast :stop -> {:stop, :normal, stats}
///   terminate(reason, stats)       IO.puts "server terminated because of #{inspect reason}"
///   handle_info(msg, stats)        IO.puts "received #{inspect msg}"
///
/// temperature_of/1 asks a web API (OpenWeatherMap) in the book; here the
/// lookup is a function given at start (default: a fixed table), run with
/// otp::blocking as a real HTTP request would be. Only successful lookups
/// count in the stats, as in the book. :error is `std::nullopt`.

#include <functional>
#include <map>
#include <optional>
#include <string>

#include "common.hpp"

namespace lessons::weather_worker {

/// Celsius for a location, or nullopt (the API's error).
using lookup_fn = std::function<std::optional<double>(const std::string& location)>;

inline std::optional<double> fixed_table(const std::string& location) {
  static const std::map<std::string, double> table{
      {"Singapore", 28.9}, {"London", 11.4}, {"Monaco", 17.2}, {"Hong Kong", 24.5}};
  auto it = table.find(location);
  return it == table.end() ? std::nullopt : std::optional<double>(it->second);
}

struct options {
  lookup_fn lookup = fixed_table;
  otp::start_options start{};  // name: ..., as GenServer.start_link's opts
  puts_fn puts = stdout_puts;
};

using stats_t = std::map<std::string, int>;

struct server {
  struct state {
    stats_t stats;
    lookup_fn lookup;
    puts_fn puts;
  };
  struct location_req {  // {:location, location}
    using reply = std::optional<std::string>;
    std::string location;
  };
  struct get_stats_req {
    using reply = stats_t;
  };
  struct reset_stats_msg {};
  struct stop_msg {};

  otp::init_result<state> init(options o) { return otp::ok(state{{}, std::move(o.lookup), std::move(o.puts)}); }

  otp::call_result<std::optional<std::string>> handle_call(location_req r, state& s) {
    std::optional<double> temp = otp::blocking([&] { return s.lookup(r.location); });
    if (!temp) return otp::reply(std::optional<std::string>{});  // {:reply, :error, stats}
    s.stats[r.location] += 1;                                       // update_stats
    return otp::reply(std::optional<std::string>(fmt::format("{:.1f}°C", *temp)));
  }
  otp::call_result<stats_t> handle_call(get_stats_req, state& s) { return otp::reply(s.stats); }
  otp::cast_result handle_cast(reset_stats_msg, state& s) {
    s.stats.clear();
    return otp::noreply();
  }
  otp::cast_result handle_cast(stop_msg, state&) { return otp::stop(otp::exit_reason::normal()); }
  void terminate(const otp::exit_reason& reason, state& s) {
    s.puts("server terminated because of " + reason.to_string());
  }
  otp::info_result handle_info(otp::message& msg, state& s) {
    s.puts("received " + msg.describe());
    return otp::noreply();
  }
};

using ref = otp::server_ref<server>;

inline otp::start_result<server> start_link(options o = {}) {
  otp::start_options so = o.start;
  return otp::gen_server::start_link<server>(std::move(o), so);
}
inline std::optional<std::string> get_temperature(const ref& pid, std::string location) {
  return otp::gen_server::call(pid, server::location_req{std::move(location)});
}
inline stats_t get_stats(const ref& pid) { return otp::gen_server::call(pid, server::get_stats_req{}); }
inline void reset_stats(const ref& pid) { otp::gen_server::cast(pid, server::reset_stats_msg{}); }
inline void stop(const ref& pid) { otp::gen_server::cast(pid, server::stop_msg{}); }

}  // namespace lessons::weather_worker
