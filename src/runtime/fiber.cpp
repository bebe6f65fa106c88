#include "runtime/fiber.hpp"

#include <boost/context/protected_fixedsize_stack.hpp>
#include <utility>

#include "runtime/context.hpp"

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

fiber::fiber(std::size_t stack_size, entry_fn entry, void* arg) : entry_(entry), arg_(arg) {
  stack_ = bctx::protected_fixedsize_stack(stack_size).allocate();
  const std::size_t page = bctx::stack_traits::page_size();
  auto* lowest = static_cast<char*>(stack_.sp) - stack_.size;  // the guard page
  stack_bottom_ = lowest + page;
  stack_size_ = stack_.size - page;
#ifdef OTP_ASAN
  // The mapping may reuse the addresses of an earlier stack whose shadow
  // ASan still has poisoned (it does not clear shadow on munmap).
  __asan_unpoison_memory_region(stack_bottom_, stack_size_);
#endif
  context_ = context::make(stack_.sp, stack_size_, &fiber::entry);
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
  if (stack_.sp) bctx::protected_fixedsize_stack().deallocate(stack_);
}

fiber* fiber::current() noexcept { return tctx().current_fiber; }

bool fiber::in_guard_page(const void* addr) const noexcept {
  if (!stack_.sp) return false;  // a thread's own stack
  auto* a = static_cast<const char*>(addr);
  auto* g = static_cast<const char*>(stack_.sp) - stack_.size;  // the lowest page
  return a >= g && a < g + bctx::stack_traits::page_size();
}

#if defined(OTP_ASAN) || defined(OTP_TSAN)
// The leaving side of every switch: tells the sanitizers where we go.
void fiber::depart(const switch_request& r) noexcept {
#ifdef OTP_ASAN
  __sanitizer_start_switch_fiber(r.from_ended ? nullptr : &r.from->asan_fake_, r.to->stack_bottom_, r.to->stack_size_);
#endif
#ifdef OTP_TSAN
  __tsan_switch_to_fiber(r.to->tsan_, 0);
#endif
  (void)r;
}
#endif

#ifdef OTP_ASAN
// The arriving side of every switch, for ASan: the switch is complete; a
// thread's own stack is learnt on its first switch.
void fiber::arrive(const switch_request& r) noexcept {
  const void* old_bottom = nullptr;
  std::size_t old_size = 0;
  __sanitizer_finish_switch_fiber(r.to->asan_fake_, &old_bottom, &old_size);
  if (r.from->thread_record_ && !r.from->stack_bottom_) {
    r.from->stack_bottom_ = old_bottom;
    r.from->stack_size_ = old_size;
  }
}
#endif

void fiber::entry(context::transfer t) {
  land(t);
  fiber* self = current();
  fiber* next = self->entry_(self->arg_);
  switch_request last{self, next, nullptr, nullptr, true, &tctx()};
  depart(last);
  context::jump(std::exchange(next->context_, nullptr), &last);
  __builtin_unreachable();  // nothing resumes an ended fiber
}

}  // namespace otp::internal
