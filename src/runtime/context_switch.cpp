#include "runtime/context_switch.hpp"

#include <cstdint>

#ifdef OTP_OWN_CONTEXT_SWITCH

// System V x86-64. A suspended context's stack, from its saved pointer up:
//   r12 r13 r14 r15 rbx rbp <return address>
// (the callee-saved registers; the FP control state stays with the thread,
// see context_switch.hpp). The `transfer` result comes back in rax:rdx.
extern "C" void otp_context_start();

asm(R"(
    .pushsection .text
    .globl  otp_context_jump
    .hidden otp_context_jump
    .type   otp_context_jump, @function
    .p2align 4
otp_context_jump:
    .cfi_startproc
    pushq   %rbp
    pushq   %rbx
    pushq   %r15
    pushq   %r14
    pushq   %r13
    pushq   %r12
    movq    %rsp, %rax
    movq    %rdi, %rsp
    popq    %r12
    popq    %r13
    popq    %r14
    popq    %r15
    popq    %rbx
    popq    %rbp
    movq    %rsi, %rdx
    ret
    .cfi_endproc
    .size   otp_context_jump, .-otp_context_jump

    .globl  otp_context_start
    .hidden otp_context_start
    .type   otp_context_start, @function
    .p2align 4
otp_context_start:
    .cfi_startproc
    .cfi_undefined rip
    movq    %rax, %rdi
    movq    %rdx, %rsi
    callq   *%rbx
    ud2
    .cfi_endproc
    .size   otp_context_start, .-otp_context_start
    .popsection
)");

namespace otp::internal::context {

void* make(void* top, std::size_t /*size*/, entry_fn entry) noexcept {
  // Seven words popped by the first jump: six registers (rbx = the entry,
  // rbp = 0 to end frame-pointer walks), then otp_context_start as the
  // return address. After that `ret` the stack pointer is 16-byte aligned,
  // as the ABI requires at otp_context_start's call.
  auto aligned = reinterpret_cast<std::uintptr_t>(top) & ~std::uintptr_t{15};
  auto* frame = reinterpret_cast<void**>(aligned - 9 * sizeof(void*));
  frame[0] = frame[1] = frame[2] = frame[3] = nullptr;  // r12..r15
  frame[4] = reinterpret_cast<void*>(entry);            // rbx
  frame[5] = nullptr;                                   // rbp
  frame[6] = reinterpret_cast<void*>(&otp_context_start);
  return frame;
}

}  // namespace otp::internal::context

#else

namespace otp::internal::context {

namespace bcd = boost::context::detail;

transfer jump(void* to, void* data) noexcept { return bcd::jump_fcontext(to, data); }

void* make(void* top, std::size_t size, entry_fn entry) noexcept { return bcd::make_fcontext(top, size, entry); }

}  // namespace otp::internal::context

#endif
