#pragma once
/// \file otp/error.hpp
/// Exceptions raised by the process API.

#include <stdexcept>
#include <string>

#include "otp/exit_reason.hpp"

namespace otp {

/// Erlang's `badarg`: e.g. send to an unregistered name, register a taken name.
class badarg : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

/// Raised in a caller when an operation fails with an exit reason: e.g. a
/// link to a dead process by a non-trapping caller (`noproc`), or a foreign
/// thread whose pseudo-process was killed by a link. The reason is a value.
class exit_error : public std::runtime_error {
 public:
  explicit exit_error(exit_reason r) : std::runtime_error(r.to_string()), reason_(std::move(r)) {}
  const exit_reason& reason() const noexcept { return reason_; }

 private:
  exit_reason reason_;
};

}  // namespace otp
