#include "runtime/kept_stacks.hpp"

#include "process/mailbox.hpp"
#include "process/process.hpp"

namespace otp::internal {

bool kept_stacks::enter(process* p, notice_fn notice) {
  if (asking_.load(std::memory_order_relaxed)) {
    // A holder was asked and has not left yet: no licence is free.
    const unsigned refused = refused_.load(std::memory_order_relaxed) + 1;
    refused_.store(refused, std::memory_order_relaxed);
    if (refused < reask_after) return false;
  }
  std::lock_guard lock(mu_);
  if (held_.load(std::memory_order_relaxed) < holders_.size()) {
    for (holder& h : holders_) {
      if (h.p) continue;
      h = holder{p, notice};
      held_.store(held_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
      return true;
    }
  }
  if (holders_.empty() || (asked_ && refused_.load(std::memory_order_relaxed) < reask_after)) return false;
  // Round robin over the holders: each is asked in turn, whether it is
  // still called or not (one that is asks again soon).
  next_asked_ %= holders_.size();
  holder& victim = holders_[next_asked_++];
  asked_ = victim.p;
  asking_.store(true, std::memory_order_relaxed);
  refused_.store(0, std::memory_order_relaxed);
  // The holder cannot exit meanwhile: it would leave first, under this lock.
  mail_node* n = victim.notice();
  if (!victim.p->deliver(n)) delete n;
  return false;
}

void kept_stacks::leave(process* p) noexcept {
  std::lock_guard lock(mu_);
  for (holder& h : holders_) {
    if (h.p != p) continue;
    h = holder{};
    held_.store(held_.load(std::memory_order_relaxed) - 1, std::memory_order_relaxed);
    break;
  }
  // A licence is free now, whoever gave it back: stop refusing.
  asked_ = nullptr;
  asking_.store(false, std::memory_order_relaxed);
}

}  // namespace otp::internal
