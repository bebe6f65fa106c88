#pragma once
// The machine-level stack switch under `fiber` (fiber.hpp), in the shape of
// Boost.Context's fcontext layer: a suspended context is the stack pointer
// at which its callee-saved registers were pushed.
//
// Why our own on x86-64: Debian's Boost.Context saves and restores the x87
// control word and MXCSR on every switch (fnstcw/fldcw, stmxcsr/ldmxcsr:
// its assembly skips them only when built with BOOST_USE_TSX). fnstcw and
// fldcw alone were ~10 % of a message hop in thread_ring (perf annotate).
// A process does not own a floating-point environment here, as it does not
// on the BEAM: the rounding mode and exception masks belong to the
// scheduler thread, and a process that changes them must restore them
// before it can be suspended (any receive, call or yield). Elsewhere the
// same interface is Boost.Context's own jump_fcontext/make_fcontext (also
// on x86-64 when built with -DOTP_BOOST_CONTEXT_SWITCH, to test that path).

#include <cstddef>

#if defined(__x86_64__) && defined(__ELF__) && !defined(OTP_BOOST_CONTEXT_SWITCH)
#define OTP_OWN_CONTEXT_SWITCH 1
#else
#include <boost/context/detail/fcontext.hpp>
#endif

namespace otp::internal::context {

#ifdef OTP_OWN_CONTEXT_SWITCH
/// What a switch hands to the context it resumes: who was suspended (their
/// saved stack pointer) and the word they passed along.
struct transfer {
  void* fctx;
  void* data;
};
#else
using transfer = boost::context::detail::transfer_t;  // the same two fields
#endif

/// Entry of a fresh context; it must never return (it ends by jumping away).
using entry_fn = void (*)(transfer);

/// Suspends the caller, saving its context, and resumes `to` (which may be
/// a fresh context from make()). Returns when some context jumps back here.
#ifdef OTP_OWN_CONTEXT_SWITCH
}  // namespace otp::internal::context
extern "C" otp::internal::context::transfer otp_context_jump(void* to, void* data);
namespace otp::internal::context {
// Inline: the assembly routine is called directly, not through a wrapper.
inline transfer jump(void* to, void* data) noexcept { return otp_context_jump(to, data); }
#else
transfer jump(void* to, void* data) noexcept;
#endif

/// Prepares a fresh context on the stack whose highest address is `top`
/// (`size` bytes below it are usable): the first jump to it calls entry().
void* make(void* top, std::size_t size, entry_fn entry) noexcept;

}  // namespace otp::internal::context
