#pragma once
// What supervisor and dynamic_supervisor share: starting a child from its
// spec (exceptions become start errors) and stopping one as OTP's
// supervisor:shutdown/2 does.

#include <any>
#include <chrono>
#include <deque>
#include <string>
#include <utility>
#include <vector>

#include "otp/child_spec.hpp"
#include "otp/exit_reason.hpp"
#include "otp/pid.hpp"

namespace otp::internal {

/// Runs the spec's start function in the calling (supervisor) process.
child_start start_child_process(const child_spec& spec, const std::any& extra);

/// Stops `child` per `policy` and returns the reason it exited with. The
/// caller is linked to the child and traps exits: the link is replaced by a
/// monitor first, so no EXIT is left behind (an EXIT already queued means
/// the child died by itself, and its reason is returned).
exit_reason shutdown_child(const pid& child, const shutdown_policy& policy);

/// Stops all `children` at once, each under its own policy and timer (as
/// DynamicSupervisor does, §11.26); their exit reasons, in the same order.
std::vector<exit_reason> shutdown_children(const std::vector<std::pair<pid, shutdown_policy>>& children);

/// Whether `reason` is the expected outcome of a shutdown by `policy`
/// (`shutdown`, or `killed` after brutal_kill); anything else is logged by
/// the caller as a shutdown error, as OTP's supervisor reports it.
bool is_clean_shutdown(const exit_reason& reason, const shutdown_policy& policy);

/// Logs a supervisor report (OTP's `supervisor_report`: context, reason,
/// offender), at info level and only formatted if that level is on.
/// `dynamic`: a DynamicSupervisor's child (no id).
void report(const std::string& supervisor, std::string_view context, const child_spec& child,
            const exit_reason& reason, bool dynamic = false);

/// OTP's restart intensity (supervisor:add_restart/1, §11.14): a restart
/// is allowed while at most `max_restarts` restarts, this one included,
/// fall within the last `period` — timestamps in whole seconds of the
/// node's clock, as `erlang:monotonic_time(second)` (the manual clock in
/// tests), so a restart exactly `period` seconds old still counts.
class restart_intensity {
 public:
  restart_intensity() = default;
  restart_intensity(int max_restarts, std::chrono::seconds period) : max_(max_restarts), period_(period.count()) {}
  /// Records a restart now; false if it is one too many.
  bool add();

 private:
  int max_ = 3;
  long long period_ = 5;
  std::deque<long long> restarts_;  // newest first
};

}  // namespace otp::internal
