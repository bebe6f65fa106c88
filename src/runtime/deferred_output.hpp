#pragma once
// Output that a process queued instead of writing it at once (a distribution
// connection's packets). The scheduler it ran on writes it when it runs out
// of work or after a few more slices, so that what a busy server sends in a
// burst (a reply per queued call) shares one system call, as the BEAM's
// distribution output does; a lone call still goes out as soon as its caller
// blocks, since the scheduler then finds no work.

#include <memory>

namespace otp::internal {

class deferred_output {
 public:
  /// Writes what was queued. Any thread; must not block.
  virtual void flush_output() noexcept = 0;

 protected:
  ~deferred_output() = default;
};

/// On a scheduler thread: `out` will be flushed by this scheduler; true.
/// Elsewhere (foreign threads, the reactor): false, and the caller writes.
bool defer_output(const std::shared_ptr<deferred_output>& out);

}  // namespace otp::internal
