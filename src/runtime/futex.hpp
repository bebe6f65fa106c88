#pragma once
// Parking a thread on a 32-bit word with the Linux futex system call.
// Used instead of std::atomic::wait/notify, whose libstdc++ 12 implementation
// (a shared table of waiter counts) lost wake-ups in our stress runs: both
// schedulers and the waiting thread asleep with work pending.

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <time.h>

#include <atomic>
#include <chrono>
#include <cstdint>

namespace otp::internal {

/// Sleeps while `word == expected` (returns at once if it differs; may
/// return spuriously: callers loop on their condition).
inline void futex_wait(std::atomic<std::uint32_t>& word, std::uint32_t expected) noexcept {
  syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), FUTEX_WAIT_PRIVATE, expected, nullptr, nullptr, 0);
}

/// As futex_wait, for at most `timeout`.
inline void futex_wait_for(std::atomic<std::uint32_t>& word, std::uint32_t expected,
                           std::chrono::microseconds timeout) noexcept {
  timespec ts{static_cast<time_t>(timeout.count() / 1'000'000), static_cast<long>(timeout.count() % 1'000'000) * 1000};
  syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), FUTEX_WAIT_PRIVATE, expected, &ts, nullptr, 0);
}

/// Wakes one thread sleeping on `word`.
inline void futex_wake_one(std::atomic<std::uint32_t>& word) noexcept {
  syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr, 0);
}

}  // namespace otp::internal
