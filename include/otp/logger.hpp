#pragma once
/// \file otp/logger.hpp
/// A small logger with levels and a pluggable sink. Each node has one; the
/// default sink writes to stderr. Used for crash reports and long_schedule.

#include <functional>
#include <mutex>
#include <string>
#include <string_view>

namespace otp {

enum class log_level { debug, info, warning, error, none };
std::string_view to_string(log_level l);

/// @threadsafe
class logger {
 public:
  using sink = std::function<void(log_level, std::string_view)>;

  void set_level(log_level l);
  log_level level() const;
  /// Replaces the sink; an empty function restores the stderr sink.
  void set_sink(sink s);
  void log(log_level l, std::string_view text);
  /// Writes `text` whatever the level (sys traces, like `sys:trace`'s
  /// output); a sink sees it as `debug`.
  void print(std::string_view text);

 private:
  void write(log_level l, std::string_view text);  // mu_ held
  mutable std::mutex mu_;
  log_level level_ = log_level::warning;
  sink sink_;
};

/// The logger of the current node (of the calling process, or the default node).
logger& log();

}  // namespace otp
