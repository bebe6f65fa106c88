#pragma once
// Run queues. Each scheduler owns a bounded local queue: the owner pushes at
// the tail and pops at the head; idle schedulers steal half of it from the
// head (the SPMC ring used by Go and tokio). Overflow and wake-ups from
// threads that are not schedulers go to the global injection queue.

#include <array>
#include <atomic>
#include <cstdint>
#include <mutex>

namespace otp::internal {

class process;

class local_queue {
 public:
  static constexpr std::uint32_t capacity = 256;

  /// Owner only. False if full (the caller overflows to the global queue).
  bool push(process* p) noexcept {
    std::uint32_t t = tail_.load(std::memory_order_relaxed);
    std::uint32_t h = head_.load(std::memory_order_acquire);
    if (t - h >= capacity) return false;
    slots_[t % capacity].store(p, std::memory_order_relaxed);
    tail_.store(t + 1, std::memory_order_release);  // publish the slot
    return true;
  }

  /// Owner only.
  process* pop() noexcept {
    std::uint32_t h = head_.load(std::memory_order_acquire);
    for (;;) {
      std::uint32_t t = tail_.load(std::memory_order_relaxed);
      if (h == t) return nullptr;
      process* p = slots_[h % capacity].load(std::memory_order_relaxed);
      // Stealers also advance head: claim the slot with a CAS.
      if (head_.compare_exchange_weak(h, h + 1, std::memory_order_acq_rel, std::memory_order_acquire)) return p;
    }
  }

  /// Any thread: moves up to half of this queue into `into` (the calling
  /// thief's own queue, which must be empty) and pops one of them to run.
  process* steal_into(local_queue& into) noexcept {
    for (;;) {
      std::uint32_t h = head_.load(std::memory_order_acquire);
      std::uint32_t t = tail_.load(std::memory_order_acquire);
      std::uint32_t n = t - h;
      if (n == 0 || n > capacity) return nullptr;
      n -= n / 2;  // take the larger half
      std::uint32_t dst = into.tail_.load(std::memory_order_relaxed);
      for (std::uint32_t i = 0; i < n; ++i)
        into.slots_[(dst + i) % capacity].store(slots_[(h + i) % capacity].load(std::memory_order_relaxed),
                                                std::memory_order_relaxed);
      // The copy is only ours if no one moved head meanwhile.
      if (head_.compare_exchange_strong(h, h + n, std::memory_order_acq_rel, std::memory_order_acquire)) {
        into.tail_.store(dst + n, std::memory_order_release);
        return into.pop();
      }
    }
  }

  std::uint32_t size() const noexcept {
    return tail_.load(std::memory_order_acquire) - head_.load(std::memory_order_acquire);
  }

 private:
  alignas(64) std::atomic<std::uint32_t> head_{0};
  alignas(64) std::atomic<std::uint32_t> tail_{0};
  std::array<std::atomic<process*>, capacity> slots_{};
};

/// Intrusive FIFO under a mutex: the injection queue. Touched only for
/// cross-thread wake-ups and overflow, never on the same-scheduler fast path.
template <class T, T* T::*Next>
class locked_fifo {
 public:
  void push(T* p) {
    std::lock_guard lk(mu_);
    p->*Next = nullptr;
    if (tail_) tail_->*Next = p;
    else head_ = p;
    tail_ = p;
    size_.store(size_.load(std::memory_order_relaxed) + 1, std::memory_order_release);
  }
  T* pop() {
    if (size_.load(std::memory_order_acquire) == 0) return nullptr;
    std::lock_guard lk(mu_);
    T* p = head_;
    if (!p) return nullptr;
    head_ = p->*Next;
    if (!head_) tail_ = nullptr;
    size_.store(size_.load(std::memory_order_relaxed) - 1, std::memory_order_release);
    return p;
  }
  bool empty() const noexcept { return size_.load(std::memory_order_acquire) == 0; }

 private:
  std::mutex mu_;
  T* head_ = nullptr;
  T* tail_ = nullptr;
  std::atomic<std::size_t> size_{0};
};

}  // namespace otp::internal
