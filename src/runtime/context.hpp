#pragma once
// Per-thread runtime context. Always reached through `tctx()`, which is out
// of line: a fiber can move between threads at any switch, so no caller may
// keep the returned reference across a call that can switch fibers
// (receive, yield, spawn's first run...).

#include <vector>

namespace otp::internal {

class fiber;
class scheduler;
class process;
class node_impl;

/// Scheduler wake-ups held back while a batch of timers is delivered (see
/// timer_service::fire_locked), made once the batch is out.
struct held_wakes {
  unsigned notifies = 0;              // node_impl::notify_one calls
  std::vector<scheduler*> unparks;    // homes parked when a process was queued at them
};

struct thread_context {
  fiber* current_fiber = nullptr;  // (fiber.cpp)
  // scheduling
  scheduler* sched = nullptr;  // null on foreign threads
  process* proc = nullptr;     // the process running on this thread (fiber processes)
  held_wakes* held = nullptr;  // set while this thread delivers a timer batch
};

/// Out of line *and* opaque to interprocedural analysis: otherwise the
/// compiler may infer that it is `const` and reuse one thread's result after
/// a fiber switch has moved the caller to another thread.
#if defined(__clang__)
[[gnu::noinline]] thread_context& tctx() noexcept;
#else
[[gnu::noinline, gnu::noipa]] thread_context& tctx() noexcept;
#endif

}  // namespace otp::internal
