#include "runtime/fiber.hpp"

#include <boost/context/protected_fixedsize_stack.hpp>
#include <cstdlib>
#include <utility>

#include "runtime/context.hpp"

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

#ifdef OTP_ASAN
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif
#ifdef OTP_TSAN
#include <sanitizer/tsan_interface.h>
#endif

namespace otp::internal {

namespace bctx = boost::context;

thread_context& tctx() noexcept {
  static thread_local thread_context ctx;
  // A compiler barrier: the function has a visible side effect, so no
  // analysis may treat two calls as returning the same thread's context.
  asm volatile("" ::: "memory");
  return ctx;
}

// Records where the stack is, for the sanitizers and the overflow report.
struct fiber::recording_stack {
  bctx::protected_fixedsize_stack inner;
  fiber* owner;
  bctx::stack_context allocate() {
    bctx::stack_context sc = inner.allocate();
    const std::size_t page = bctx::stack_traits::page_size();
    auto* lowest = static_cast<char*>(sc.sp) - sc.size;  // the guard page
    owner->guard_ = lowest;
    owner->stack_bottom_ = lowest + page;
    owner->stack_size_ = sc.size - page;
#ifdef OTP_ASAN
    // The mapping may reuse the addresses of an earlier stack whose shadow
    // ASan still has poisoned (it does not clear shadow on munmap).
    __asan_unpoison_memory_region(owner->stack_bottom_, owner->stack_size_);
#endif
    return sc;
  }
  void deallocate(bctx::stack_context& sc) noexcept { inner.deallocate(sc); }
};

fiber::fiber(std::size_t stack_size, entry_fn entry, void* arg) : entry_(entry), arg_(arg) {
  ctx_ = bctx::fiber(std::allocator_arg, recording_stack{bctx::protected_fixedsize_stack(stack_size), this},
                     [this](bctx::fiber&& from) { return trampoline(this, std::move(from)); });
#ifdef OTP_TSAN
  tsan_ = __tsan_create_fiber(0);
  owns_tsan_ = true;
#endif
}

fiber* fiber::adopt_thread() {
  auto* f = new fiber();
  f->thread_record_ = true;
#ifdef OTP_TSAN
  f->tsan_ = __tsan_get_current_fiber();
#endif
  tctx().current_fiber = f;
  return f;
}

fiber::~fiber() {
#ifdef OTP_TSAN
  if (owns_tsan_) __tsan_destroy_fiber(tsan_);
#endif
}

fiber* fiber::current() noexcept { return tctx().current_fiber; }

bool fiber::in_guard_page(const void* addr) const noexcept {
  auto* a = static_cast<const char*>(addr);
  auto* g = static_cast<const char*>(guard_);
  return g && a >= g && a < g + bctx::stack_traits::page_size();
}

void depart(fiber* from, fiber* to, bool dying) noexcept {
  thread_context& t = tctx();
  t.switch_pending = true;
  t.switch_from = from;
  t.switch_to = to;
  if (dying) t.dead_fiber = from;
#ifdef OTP_ASAN
  __sanitizer_start_switch_fiber(dying ? nullptr : &from->asan_fake_, to->stack_bottom_, to->stack_size_);
#endif
#ifdef OTP_TSAN
  __tsan_switch_to_fiber(to->tsan_, 0);
#endif
  (void)from;
}

// Completes a switch on the arriving side; idempotent (called both from the
// on-top function and after resume returns, whichever runs first).
void arrive() noexcept {
  thread_context& t = tctx();
  if (!t.switch_pending) return;
  t.switch_pending = false;
#ifdef OTP_ASAN
  const void* old_bottom = nullptr;
  std::size_t old_size = 0;
  __sanitizer_finish_switch_fiber(t.switch_to->asan_fake_, &old_bottom, &old_size);
  fiber* from = t.switch_from;
  if (from && from->thread_record_ && !from->stack_bottom_) {
    from->stack_bottom_ = old_bottom;  // a thread's own stack: learnt on first switch
    from->stack_size_ = old_size;
  }
#endif
  t.current_fiber = t.switch_to;
  if (t.dead_fiber) {
    delete t.dead_fiber;  // its stack was already released by Boost.Context
    t.dead_fiber = nullptr;
  }
}

namespace {
struct on_top_call {
  fiber* self;
  fiber::on_top_fn fn;
  void* arg;
};
}  // namespace

void fiber::switch_to(fiber* target, on_top_fn on_top, void* arg) {
  fiber* self = current();
  on_top_call call{self, on_top, arg};
  depart(self, target, false);
  bctx::fiber t = std::move(target->ctx_);
  // The continuation handed back when we are resumed is always empty: every
  // switch into us goes through an on-top function that stores the caller's
  // continuation in its own record.
  (void)std::move(t).resume_with([&call](bctx::fiber&& from) -> bctx::fiber {
    call.self->ctx_ = std::move(from);
    arrive();
    if (call.fn) call.fn(call.self, call.arg);
    return {};
  });
  arrive();
}

bctx::fiber fiber::trampoline(fiber* self, bctx::fiber&& /*from: empty*/) {
  arrive();
  fiber* next = self->entry_(self->arg_);
  depart(self, next, true);
  return std::move(next->ctx_);
}

}  // namespace otp::internal
