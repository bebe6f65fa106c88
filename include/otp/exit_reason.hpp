#pragma once
/// \file otp/exit_reason.hpp
/// Exit reasons as values: `normal`, `shutdown`, `{shutdown, T}`, `kill`,
/// `killed`, `noproc`, exceptions, and any other atom-like reason.

#include <exception>
#include <memory>
#include <string>
#include <string_view>

namespace otp {

/// Why a process exited (or the reason carried by an exit signal).
/// Cheap to copy; compares by kind and text.
class exit_reason {
 public:
  enum class kind : unsigned char {
    normal,         ///< `normal`: not propagated to non-trapping linked processes
    shutdown,       ///< `shutdown` or `{shutdown, Detail}`: quiet, like normal for logs
    kill,           ///< `kill`: the untrappable signal (a process dies with `killed`)
    killed,         ///< `killed`: what `kill` becomes in the victim and its links
    noproc,         ///< `noproc`: the target process did not exist
    exception,      ///< a C++ exception escaped the process: `{Type, What}`
    other,          ///< any other reason, given as text (an atom or a printed term)
    wrapped,        ///< `{Reason, Where}`: a reason and the operation it failed, e.g.
                    ///< `{timeout,{gen_server,call,[Server,Request,5000]}}`
  };

  exit_reason() noexcept {}  ///< `normal` (user-provided: value-initialising one zeroes nothing first)
  static exit_reason normal() noexcept { return {}; }
  static exit_reason shutdown() { return exit_reason(kind::shutdown); }
  static exit_reason shutdown(std::string detail);  ///< `{shutdown, detail}`
  static exit_reason kill() { return exit_reason(kind::kill); }
  static exit_reason killed() { return exit_reason(kind::killed); }
  static exit_reason noproc() { return exit_reason(kind::noproc); }
  /// Any other reason; `text` is printed as-is (e.g. "timeout", "{badarg, 1}").
  static exit_reason other(std::string text);
  /// The reason for an exception: its dynamic type name and `what()`.
  static exit_reason from_exception(const std::exception_ptr& e);
  /// An exception reason given by its parts (as received from another node).
  static exit_reason exception(std::string type_name, std::string what);
  /// `timeout` (a call, start or stop that did not finish in time).
  static exit_reason timeout() { return other("timeout"); }
  /// `{inner, where}`: e.g. wrap(timeout(), "{gen_server,call,[<0.5.0>,get,5000]}").
  static exit_reason wrap(exit_reason inner, std::string where);

  kind get_kind() const noexcept { return kind_; }
  bool is_normal() const noexcept { return kind_ == kind::normal; }
  bool is_kill() const noexcept { return kind_ == kind::kill; }
  /// `shutdown` or `{shutdown, _}`.
  bool is_shutdown() const noexcept { return kind_ == kind::shutdown; }
  /// normal, shutdown and {shutdown, _} produce no crash report (OTP's rule).
  bool is_quiet() const noexcept { return is_normal() || is_shutdown(); }
  bool is_exception() const noexcept { return kind_ == kind::exception; }
  bool is_wrapped() const noexcept { return kind_ == kind::wrapped; }
  /// For `wrapped`: the inner reason (e.g. `timeout`, `noproc`, or the
  /// server's exit reason); for any other reason: itself.
  const exit_reason& inner() const noexcept;

  /// For `exception`: the exception's type name; for `{shutdown, D}` and
  /// `other`: the detail text; for `wrapped`: the `where` part; else empty.
  std::string_view detail() const noexcept;
  /// For `exception`: `what()` (empty for non-std exceptions).
  std::string_view what() const noexcept;
  /// Erlang-style text: `normal`, `{shutdown,D}`, `{'std::runtime_error',"boom"}`.
  std::string to_string() const;

  friend bool operator==(const exit_reason& a, const exit_reason& b) noexcept;

 private:
  struct payload {
    std::string detail;
    std::string what;
    std::shared_ptr<const exit_reason> inner;  // wrapped
  };
  explicit exit_reason(kind k, std::shared_ptr<const payload> p = {}) noexcept : kind_(k), payload_(std::move(p)) {}
  kind kind_ = kind::normal;
  std::shared_ptr<const payload> payload_;
};

}  // namespace otp
