#pragma once
// Per-thread runtime context. Always reached through `tctx()`, which is out
// of line: a fiber can move between threads at any switch, so no caller may
// keep the returned reference across a call that can switch fibers
// (receive, yield, spawn's first run...).

namespace otp::internal {

class fiber;
class scheduler;
class process;
class node_impl;

struct thread_context {
  // fiber switching (fiber.cpp)
  fiber* current_fiber = nullptr;
  fiber* switch_from = nullptr;
  fiber* switch_to = nullptr;
  fiber* dead_fiber = nullptr;  // ended fiber whose record is freed on arrival
  bool switch_pending = false;
  // scheduling
  scheduler* sched = nullptr;  // null on foreign threads
  process* proc = nullptr;     // the process running on this thread (fiber processes)
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
