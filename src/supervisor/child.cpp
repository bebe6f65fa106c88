// Starting and stopping supervised children (see child.hpp).

#include "supervisor/child.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <limits>
#include <unordered_map>

#include "node_impl.hpp"
#include "otp/logger.hpp"
#include "otp/process.hpp"
#include "otp/receive.hpp"

namespace otp {

std::string shutdown_policy::to_string() const {
  switch (kind_) {
    case kind::brutal_kill: return "brutal_kill";
    case kind::infinity: return "infinity";
    case kind::timeout: break;
  }
  return std::to_string(ms_.count());
}

namespace internal {

child_start start_child_process(const child_spec& spec, const std::any& extra) {
  try {
    return spec.start(extra);
  } catch (const exit_error& e) {
    return child_start::error(e.reason());
  } catch (exit_unwind&) {
    // The supervisor itself is exiting (an exit signal arrived while it
    // waited for the child's ack): that must end it, not pass for the
    // child's start error — swallowing it let a killed supervisor live on.
    throw;
  } catch (...) {
    return child_start::error(exit_reason::from_exception(std::current_exception()));
  }
}

namespace {
std::optional<exit_reason> await_down(const ref& mref, timeout t) {
  auto d = receive_if<down_msg>([&](const down_msg& m) { return m.mref == mref; }, t);
  if (!d) return std::nullopt;
  return std::move(d->reason);
}
}  // namespace

exit_reason shutdown_child(const pid& child, const shutdown_policy& policy) {
  ref mref = monitor(child);
  unlink(child);
  // OTP monitor_child/1: an EXIT already here means the child is gone.
  if (auto e = receive_if<exit_msg>([&](const exit_msg& m) { return m.from == child; }, timeout(0))) {
    await_down(mref, infinity);
    return std::move(e->reason);
  }
  if (policy.get_kind() == shutdown_policy::kind::brutal_kill) {
    exit(child, exit_reason::kill());
    return *await_down(mref, infinity);
  }
  exit(child, exit_reason::shutdown());
  timeout t = policy.get_kind() == shutdown_policy::kind::infinity ? infinity : timeout(policy.get_timeout());
  if (auto r = await_down(mref, t)) return std::move(*r);
  exit(child, exit_reason::kill());
  return *await_down(mref, infinity);
}

std::vector<exit_reason> shutdown_children(const std::vector<std::pair<pid, shutdown_policy>>& children) {
  std::vector<exit_reason> reasons(children.size());
  std::unordered_map<ref, std::size_t> by_ref;
  std::unordered_map<pid, std::size_t> by_pid;
  std::vector<ref> refs;
  for (std::size_t i = 0; i < children.size(); ++i) {
    refs.push_back(monitor(children[i].first));
    by_ref.emplace(refs.back(), i);
    by_pid.emplace(children[i].first, i);
    unlink(children[i].first);
  }
  // Children already dead: their EXIT is queued (see shutdown_child).
  std::vector<bool> gone(children.size(), false);
  while (auto e = receive_if<exit_msg>([&](const exit_msg& m) { return by_pid.count(m.from) != 0; }, timeout(0))) {
    std::size_t i = by_pid[e->from];
    gone[i] = true;
    reasons[i] = std::move(e->reason);
  }
  auto now_ms = [] { return static_cast<long long>(current_node().timers().now_us() / 1000); };
  constexpr long long never = std::numeric_limits<long long>::max();
  std::vector<long long> kill_at(children.size(), never);
  long long start = now_ms();
  for (std::size_t i = 0; i < children.size(); ++i) {
    if (gone[i]) continue;
    const shutdown_policy& pol = children[i].second;
    if (pol.get_kind() == shutdown_policy::kind::brutal_kill) {
      exit(children[i].first, exit_reason::kill());
      continue;
    }
    exit(children[i].first, exit_reason::shutdown());
    if (pol.get_kind() == shutdown_policy::kind::timeout) kill_at[i] = start + pol.get_timeout().count();
  }
  std::size_t left = children.size();
  while (left > 0) {
    long long next = *std::min_element(kill_at.begin(), kill_at.end());
    timeout wait = next == never ? infinity : timeout(std::max(0LL, next - now_ms()));
    auto d = receive_if<down_msg>([&](const down_msg& m) { return by_ref.count(m.mref) != 0; }, wait);
    if (d) {
      std::size_t i = by_ref[d->mref];
      by_ref.erase(d->mref);
      kill_at[i] = never;
      if (!gone[i]) reasons[i] = std::move(d->reason);
      --left;
      continue;
    }
    long long now = now_ms();
    for (std::size_t i = 0; i < children.size(); ++i) {
      if (kill_at[i] <= now) {
        exit(children[i].first, exit_reason::kill());
        kill_at[i] = never;
      }
    }
  }
  return reasons;
}

bool is_clean_shutdown(const exit_reason& reason, const shutdown_policy& policy) {
  if (policy.get_kind() == shutdown_policy::kind::brutal_kill) return reason == exit_reason::killed();
  return reason == exit_reason::shutdown();
}

namespace {
std::string_view restart_text(restart_type r) {
  switch (r) {
    case restart_type::permanent: return "permanent";
    case restart_type::transient: return "transient";
    case restart_type::temporary: break;
  }
  return "temporary";
}
}  // namespace

void report(const std::string& supervisor, std::string_view context, const child_spec& child,
            const exit_reason& reason, bool dynamic) {
  // At info level: Elixir hides supervisor (SASL) reports by default, and
  // a crashed gen_server has already logged its own crash report. Checked
  // before formatting, so a restart does not pay for text nobody reads.
  logger& l = log();
  if (l.level() > log_level::info) return;
  std::string offender = fmt::format("[{{id,{}}},{{restart,{}}},{{shutdown,{}}},{{child_type,{}}}]",
                                     dynamic ? "undefined" : detail::quote(child.id), restart_text(child.restart),
                                     child.effective_shutdown().to_string(),
                                     child.type == child_type::worker ? "worker" : "supervisor");
  l.log(log_level::info, fmt::format("=SUPERVISOR REPORT====\n    supervisor: {}\n    errorContext: {}\n"
                                     "    reason: {}\n    offender: {}",
                                     supervisor, context, reason.to_string(), offender));
}

bool restart_intensity::add() {
  auto now = static_cast<long long>(current_node().timers().now_us() / 1000000);
  while (!restarts_.empty() && restarts_.back() < now - period_) restarts_.pop_back();
  restarts_.push_front(now);
  return restarts_.size() <= static_cast<std::size_t>(max_);
}

}  // namespace internal
}  // namespace otp
