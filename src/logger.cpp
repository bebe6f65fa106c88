#include "otp/logger.hpp"

#include <cstdio>

#include "node_impl.hpp"

namespace otp {

std::string_view to_string(log_level l) {
  switch (l) {
    case log_level::debug: return "debug";
    case log_level::info: return "info";
    case log_level::warning: return "warning";
    case log_level::error: return "error";
    case log_level::none: return "none";
  }
  return "?";
}

void logger::set_level(log_level l) {
  std::lock_guard lk(mu_);
  level_ = l;
}

log_level logger::level() const {
  std::lock_guard lk(mu_);
  return level_;
}

void logger::set_sink(sink s) {
  std::lock_guard lk(mu_);
  sink_ = std::move(s);
}

void logger::log(log_level l, std::string_view text) {
  std::lock_guard lk(mu_);  // one line at a time, in order, for every sink
  if (l < level_ || l == log_level::none) return;
  write(l, text);
}

void logger::print(std::string_view text) {
  std::lock_guard lk(mu_);
  write(log_level::debug, text);
}

void logger::write(log_level l, std::string_view text) {
  if (sink_) {
    sink_(l, text);
    return;
  }
  std::fprintf(stderr, "[%.*s] %.*s\n", static_cast<int>(to_string(l).size()), to_string(l).data(),
               static_cast<int>(text.size()), text.data());
}

logger& log() { return internal::current_node().logger(); }

}  // namespace otp
