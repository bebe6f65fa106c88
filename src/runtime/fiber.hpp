#pragma once
// Fibers: stackful execution contexts with mmap'd stacks and a guard page
// (Boost.Context's protected_fixedsize_stack), switched by
// runtime/context_switch, and the sanitizer annotations that ASan and TSan
// need to follow stack switches.
//
// Protocol. Every switch goes through `fiber::switch_to(target, on_top)`:
//  1. the running fiber C announces the switch to the sanitizers (depart);
//  2. the stack switch saves C's registers and resumes the target, which
//     first records C's saved context and then runs `on_top(C)`: only then
//     may C be published to other threads (parked with a process, or put in
//     a pool);
//  3. the target continues where it was suspended (or at its entry).
// A fiber that ends names the next fiber to run; that one frees the ended
// fiber's record and stack on arrival.
//
// Thread-local state is only touched in out-of-line functions: a fiber may be
// suspended on one thread and resumed on another, and the compiler must not
// cache a thread-local address across a switch.

#include <boost/context/stack_context.hpp>
#include <cstddef>

#include "runtime/context.hpp"
#include "runtime/context_switch.hpp"

#if defined(__SANITIZE_ADDRESS__)
#define OTP_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define OTP_ASAN 1
#endif
#endif
#if defined(__SANITIZE_THREAD__)
#define OTP_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define OTP_TSAN 1
#endif
#endif

namespace otp::internal {

struct thread_context;

class fiber {
 public:
  /// `ctx`: the thread's context (a switch never leaves the thread), so
  /// that on-top functions need not look it up again.
  using on_top_fn = void (*)(fiber* from, void* arg, thread_context& ctx);
  /// Runs on the new stack; returns the fiber to continue with when this
  /// one ends (the ending fiber's record and stack are then freed).
  using entry_fn = fiber* (*)(void* arg);

  /// A fiber that will run `entry(arg)` on a fresh stack of `stack_size`
  /// bytes (plus a guard page). Allocate with new; an ended fiber is deleted
  /// by the runtime.
  fiber(std::size_t stack_size, entry_fn entry, void* arg);
  /// The record of a thread's own (original) stack.
  static fiber* adopt_thread();
  ~fiber();
  fiber(const fiber&) = delete;
  fiber& operator=(const fiber&) = delete;

  /// Suspends the calling fiber and runs `target`; `on_top(from, arg, ctx)` runs
  /// on the target's stack first. Returns when someone switches back here.
  ///
  /// Inline, and so are the scheduler functions around its uses, so that a
  /// resumed fiber returns through few frames: the CPU predicts returns
  /// from a stack of the call sites it saw, which after a switch are the
  /// other fiber's, so each return into a different frame mispredicts (and
  /// pops an entry the other fiber will want). Flattening the loop fiber's
  /// path made a gen_server call ~5 % faster (A/B; no hardware counters on
  /// the VMs we measure on to count the mispredictions themselves).
  ///
  /// `ctx` is the calling thread's context; the one returned is that of the
  /// thread the caller is resumed on (a fiber may move between threads),
  /// so that neither side looks it up again.
  [[gnu::always_inline]] static thread_context& switch_to(thread_context& ctx, fiber* target, on_top_fn on_top,
                                                          void* arg) {
    switch_request request{ctx.current_fiber, target, on_top, arg, false, &ctx};
    depart(request);
    void* to = target->context_;
    target->context_ = nullptr;
    return land(context::jump(to, &request));
  }
  static thread_context& switch_to(fiber* target, on_top_fn on_top, void* arg) {
    return switch_to(tctx(), target, on_top, arg);
  }
  /// The fiber running on this thread.
  static fiber* current() noexcept;

  /// Address range of the guard page, for the stack-overflow report.
  bool in_guard_page(const void* addr) const noexcept;

  /// The next fiber in its scheduler's pool of idle loop fibers (owner only).
  fiber* pool_next = nullptr;

 private:
  fiber() = default;
  /// What a switching fiber leaves, on its own stack, for the one it resumes.
  struct switch_request {
    fiber* from;
    fiber* to;
    on_top_fn fn;
    void* arg;
    bool from_ended;  // `from` returned from its entry: freed on arrival
    thread_context* ctx;  // the thread's (the same on both sides of a switch)
  };
  [[noreturn]] static void entry(context::transfer t);
#if defined(OTP_ASAN) || defined(OTP_TSAN)
  static void depart(const switch_request& r) noexcept;
#else
  static void depart(const switch_request&) noexcept {}  // only sanitizers need telling
#endif
#ifdef OTP_ASAN
  static void arrive(const switch_request& r) noexcept;
#else
  static void arrive(const switch_request&) noexcept {}  // only ASan needs telling
#endif
  /// The arriving side of every switch: records where the fiber that left
  /// was suspended (before its on-top function may publish it to other
  /// threads), completes the switch for the sanitizers, frees a fiber that
  /// ended, then runs the on-top function. Inline, as switch_to is: out of
  /// line it was a call, a prologue and an epilogue more per switch.
  [[gnu::always_inline]] static thread_context& land(context::transfer t) noexcept {
    // A copy: the request of an ended fiber lives on the stack freed below.
    const switch_request r = *static_cast<const switch_request*>(t.data);
    if (!r.from_ended) r.from->context_ = t.fctx;
    arrive(r);
    r.ctx->current_fiber = r.to;
    if (r.from_ended) [[unlikely]]
      delete r.from;  // with its stack: we have left it for good
    if (r.fn) r.fn(r.from, r.arg, *r.ctx);
    return *r.ctx;
  }

  void* context_ = nullptr;           // the saved context (while suspended)
  boost::context::stack_context stack_{};  // empty for a thread's own stack
  std::size_t stack_size_ = 0;
  const void* stack_bottom_ = nullptr;  // lowest usable address (sanitizers)
  entry_fn entry_ = nullptr;
  void* arg_ = nullptr;
  void* tsan_ = nullptr;
  void* asan_fake_ = nullptr;
  bool owns_tsan_ = false;
  bool thread_record_ = false;
};

}  // namespace otp::internal
