#pragma once
/// \file examples/lessons/common.hpp
/// Small things the lesson servers share: `:ok` as a reply value, a
/// thread-safe "IO.puts" that tests can capture, and the node's clock.
///
/// The lessons are C++ versions of the GenServers in the Elixir texts of
/// /work/shared/seeds/. Each header keeps the Elixir module's split: a
/// client API (free functions that run in the caller's process) and a
/// `server` struct with the callbacks (which run in the server process).

#include <chrono>
#include <cstdio>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "otp/otp.hpp"

namespace lessons {

/// Elixir's `:ok` as a reply value (for calls that only confirm).
struct ok_t {
  friend bool operator==(ok_t, ok_t) = default;
};
inline constexpr ok_t ok{};
/// On the wire (another node) `ok_t` is the atom `:ok`.
inline otp::term to_term(ok_t) { return otp::term(otp::atom("ok")); }
inline void from_term(const otp::term& t, ok_t&) {
  if (!t.is_atom("ok")) throw otp::bad_term("expected :ok, got " + t.to_string());
}

/// Where a server's `IO.puts` goes. Called from the server's process, so it
/// must be thread-safe; the default writes a line to stdout.
using puts_fn = std::function<void(const std::string&)>;

inline void stdout_puts(const std::string& line) {
  static std::mutex mu;
  std::lock_guard lk(mu);
  std::printf("%s\n", line.c_str());
  std::fflush(stdout);
}

/// An `IO.puts` that keeps the lines (tests): `captured_output out; ... out.fn()`.
class captured_output {
 public:
  captured_output() : lines_(std::make_shared<shared>()) {}
  puts_fn fn() const {
    return [s = lines_](const std::string& line) {
      std::lock_guard lk(s->mu);
      s->lines.push_back(line);
    };
  }
  std::vector<std::string> lines() const {
    std::lock_guard lk(lines_->mu);
    return lines_->lines;
  }
  std::size_t size() const {
    std::lock_guard lk(lines_->mu);
    return lines_->lines.size();
  }

 private:
  struct shared {
    std::mutex mu;
    std::vector<std::string> lines;
  };
  std::shared_ptr<shared> lines_;
};

/// The node's clock (ms since the node started): the manual clock in
/// tests, so TTLs and idle times are deterministic there.
inline std::chrono::milliseconds now() {
  otp::node* n = otp::node::default_node();
  return n ? n->now() : std::chrono::milliseconds{0};
}

/// Elixir's `inspect(pid)`.
inline std::string inspect(const otp::pid& p) { return "#PID" + p.to_string(); }

}  // namespace lessons

template <>
struct fmt::formatter<lessons::ok_t> : fmt::formatter<std::string_view> {
  auto format(lessons::ok_t, format_context& ctx) const { return fmt::formatter<std::string_view>::format(":ok", ctx); }
};
