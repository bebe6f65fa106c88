#pragma once
// Licences for idle processes to wait on their stack.
//
// A gen_server waits without a stack (gen_server/server.hpp). One that keeps
// answering a caller parked in its scheduler's LIFO slot does better to
// wait on its stack instead: the caller's next call then switches straight
// to it, and the answer straight back, with no pass through the scheduler
// loop between (a tenth of a call_roundtrip). While idle such a server
// holds a fiber (a stack of node_options::stack_size), so only so many may
// at once: each needs a licence from here.
//
// When every licence is taken, the holder after the one last asked is sent
// a notice (a message its body understands) to give its licence back, so a
// server that is no longer called does not keep a stack for ever. One
// holder is asked at a time: until a licence is given back, further
// requests fail without the lock. Not for ever, though: the holder asked
// may be in a long callback, or its own receive may have taken the notice,
// so after `reask_after` refusals the next holder is asked as well.

#include <atomic>
#include <cstddef>
#include <mutex>
#include <vector>

namespace otp::internal {

class process;
struct mail_node;

class kept_stacks {
 public:
  /// Makes the notice asking a holder to leave.
  using notice_fn = mail_node* (*)();

  explicit kept_stacks(std::size_t capacity) : holders_(capacity) {}
  /// `p` asks for a licence. False if none is free; then a holder may be
  /// sent its `notice`.
  bool enter(process* p, notice_fn notice);
  /// `p` gives its licence back (it must hold one).
  void leave(process* p) noexcept;
  std::size_t held() const noexcept { return held_.load(std::memory_order_relaxed); }

 private:
  struct holder {
    process* p = nullptr;
    notice_fn notice = nullptr;
  };
  std::mutex mu_;
  std::vector<holder> holders_;  // fixed size; p null: free
  std::atomic<std::size_t> held_{0};
  static constexpr unsigned reask_after = 64;
  std::size_t next_asked_ = 0;  // where to look for the next holder to ask
  process* asked_ = nullptr;    // asked to leave, and no licence given back since
  std::atomic<bool> asking_{false};  // asked_ is set (read without the lock)
  // Requests refused since the last ask. Counted without the lock and
  // without an atomic increment: a lost count only delays the next ask.
  std::atomic<unsigned> refused_{0};
};

}  // namespace otp::internal
