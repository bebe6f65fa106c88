#pragma once
/// \file tests/support/supervision.hpp
/// Helpers shared by the supervision tests: an ordered event log that the
/// children write to (so tests check the order of starts and stops), a
/// configurable worker `wk`, and child specs that fail or ignore.

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "otp/child_spec.hpp"
#include "otp/gen_server.hpp"
#include "otp/supervisor.hpp"
#include "support/test_node.hpp"

namespace otp_test {

// ------------------------------------------------------------ event log

struct event_log {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::string> v;

  void add(std::string s) {
    {
      std::lock_guard lk(mu);
      v.push_back(std::move(s));
    }
    cv.notify_all();
  }
  std::vector<std::string> take() {
    std::lock_guard lk(mu);
    return std::exchange(v, {});
  }
  std::vector<std::string> get() {
    std::lock_guard lk(mu);
    return v;
  }
  std::size_t count(const std::string& e) {
    std::lock_guard lk(mu);
    return static_cast<std::size_t>(std::count(v.begin(), v.end(), e));
  }
  /// Waits until `e` has been logged `n` times (an event, not a sleep: the
  /// logging process notifies). False after poll_limit.
  [[nodiscard]] bool wait_for(const std::string& e, std::size_t n = 1) {
    std::unique_lock lk(mu);
    return cv.wait_for(lk, poll_limit, [&] { return static_cast<std::size_t>(std::count(v.begin(), v.end(), e)) >= n; });
  }
};
using log_ptr = std::shared_ptr<event_log>;
inline log_ptr make_log() { return std::make_shared<event_log>(); }

using strings = std::vector<std::string>;

// ------------------------------------------------------------ a worker

/// What a child's terminate saw (sent to `notify` when terminate starts).
struct terminating {
  std::string id;
  otp::exit_reason reason;
};
struct attempt {
  int n;
};

struct wk {
  struct args {
    std::string id;
    log_ptr log;
    bool trap = true;              ///< trap exits (so terminate runs on shutdown)
    bool block_terminate = false;  ///< terminate never returns (until killed)
    otp::pid notify;               ///< gets `terminating` when terminate starts
    int value = 0;
  };
  using state = args;
  struct crash {
    otp::exit_reason reason;
  };
  struct get_value {
    using reply = int;
  };

  otp::init_result<state> init(args a) {
    if (a.trap) otp::trap_exit(true);
    a.log->add("start " + a.id);
    return otp::ok(std::move(a));
  }
  otp::cast_result handle_cast(crash c, state&) { return otp::stop(c.reason); }
  otp::call_result<int> handle_call(get_value, state& s) { return otp::reply(s.value); }
  void terminate(const otp::exit_reason& r, state& s) {
    s.log->add("stop " + s.id + " " + r.to_string());
    if (s.notify) otp::send(s.notify, terminating{s.id, r});
    if (s.block_terminate) (void)otp::receive_as<never_t>();
  }
};

struct wopts {
  otp::restart_type restart = otp::restart_type::permanent;
  std::optional<otp::shutdown_policy> shutdown;
  bool trap = true;
  bool block_terminate = false;
  otp::pid notify;
  bool significant = false;
  int value = 0;
};

inline otp::child_spec wspec(const std::string& id, const log_ptr& log, wopts o = {}) {
  wk::args a{id, log, o.trap, o.block_terminate, o.notify, o.value};
  return otp::child_spec{.id = id,
                         .start = [a] { return otp::gen_server::start_link<wk>(a); },
                         .restart = o.restart,
                         .shutdown = o.shutdown,
                         .significant = o.significant};
}

/// A child whose start fails with `nope` (counting its attempts).
inline otp::child_spec failing(const std::string& id, std::shared_ptr<std::atomic<int>> attempts = {}) {
  return otp::child_spec{.id = id, .start = [attempts] {
                           if (attempts) ++*attempts;
                           return otp::child_start::error(otp::exit_reason::other("nope"));
                         }};
}
inline otp::child_spec ignoring(const std::string& id, otp::restart_type r = otp::restart_type::permanent) {
  return otp::child_spec{.id = id, .start = [] { return otp::child_start::ignore(); }, .restart = r};
}

inline void crash(const otp::pid& p, otp::exit_reason r = otp::exit_reason::other("boom")) {
  otp::gen_server::cast(otp::server_ref<wk>(p), wk::crash{std::move(r)});
}

/// Captures the node's log lines.
struct log_capture {
  explicit log_capture(otp::node& n) : node(n) {
    node.logger().set_sink([this](otp::log_level l, std::string_view text) {
      std::lock_guard lk(mu);
      lines.emplace_back(l, std::string(text));
    });
  }
  ~log_capture() {
    node.logger().set_sink([](otp::log_level, std::string_view) {});
  }
  bool any(const std::string& needle, otp::log_level level) {
    std::lock_guard lk(mu);
    for (auto& [l, t] : lines)
      if (l == level && t.find(needle) != std::string::npos) return true;
    return false;
  }
  otp::node& node;
  std::mutex mu;
  std::vector<std::pair<otp::log_level, std::string>> lines;
};

}  // namespace otp_test
