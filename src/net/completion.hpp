#pragma once
// How a process waits for an operation run on the reactor thread.
//
// The process posts the operation to the reactor with an io_waiter (its pid
// and a tag unique to this wait) and waits in a selective receive for the
// private io_completion<T> carrying that tag; the reactor side finishes the
// operation exactly once with complete(). So a fiber process suspends only
// its fiber, a foreign thread (main()) blocks only itself, and exit signals
// and node shutdown interrupt the wait as they interrupt any receive.
//
// Timeouts and exits: when the wait times out, `cancel(tag)` runs on the
// reactor thread and the process keeps waiting: cancel must make the
// operation complete promptly (possibly still with a success, if it won the
// race: nothing is lost). When the process is unwound while waiting (killed,
// node shutdown), cancel is posted as well and the completion, sent to a
// dead process, is dropped. The operation's handlers hold strong references
// to what they touch, so nothing they use goes away before they run.

#include <atomic>
#include <cstdint>
#include <utility>

#include "net/reactor.hpp"
#include "otp/pid.hpp"
#include "otp/process.hpp"
#include "otp/receive.hpp"
#include "process/mailbox.hpp"
#include "process/process.hpp"

namespace otp::internal {

/// Where an operation reports: the waiting process and the wait's tag.
struct io_waiter {
  pid to;
  std::uint64_t tag = 0;
};

/// The private message a completed operation sends to its waiter.
template <class T>
struct io_completion {
  std::uint64_t tag;
  T value;
};

/// Delivers `m` to `to` from any thread (the reactor's included), dropped if
/// `to` has exited. Unlike otp::send it never yields and ignores a bounded
/// mailbox's limit: I/O results and active-socket messages are never lost
/// while their process lives (ports' messages are not dropped in ERTS).
inline void deliver_to(const pid& to, message m) {
  auto* p = static_cast<process*>(to.get());
  if (!p) return;
  auto* n = new message_node(std::move(m));
  if (!p->deliver(n)) delete n;
}

/// Reactor side: finishes the operation `w` waits for.
template <class T>
void complete(const io_waiter& w, T value) {
  deliver_to(w.to, message(io_completion<T>{w.tag, std::move(value)}));
}

inline std::uint64_t next_io_tag() noexcept {
  static std::atomic<std::uint64_t> tags{1};
  return tags.fetch_add(1, std::memory_order_relaxed);
}

/// What await_io returns: the operation's result, and whether the timeout
/// passed (and cancel ran) before it arrived.
template <class T>
struct io_outcome {
  T value;
  bool timed_out = false;
};

/// Process side (a process or a foreign thread): runs `start(io_waiter)` on
/// the reactor thread and waits for its io_completion<T>, up to `t` before
/// `cancel(tag)` is run there (see the file comment).
template <class T, class Start, class Cancel>
io_outcome<T> await_io(asio::io_context& ctx, timeout t, Start start, Cancel cancel) {
  io_waiter w{otp::self(), next_io_tag()};
  const std::uint64_t tag = w.tag;
  asio::post(ctx, [w = std::move(w), start = std::move(start)]() mutable { start(std::move(w)); });
  // Cancels on the way out unless the result arrived: after a timeout, and
  // when an exit unwinds the caller out of the receive.
  struct cancel_guard {
    asio::io_context& ctx;
    Cancel& cancel;
    std::uint64_t tag;
    bool armed = true;
    void fire() {
      if (!std::exchange(armed, false)) return;
      asio::post(ctx, [c = cancel, tag = tag]() mutable { c(tag); });
    }
    ~cancel_guard() {
      try {
        fire();
      } catch (...) {  // out of memory while unwinding: the operation completes on its own
      }
    }
  } guard{ctx, cancel, tag};
  auto is_ours = [tag](const io_completion<T>& c) { return c.tag == tag; };
  if (auto r = receive_if<io_completion<T>>(is_ours, t)) {
    guard.armed = false;
    return {std::move(r->value), false};
  }
  guard.fire();
  auto r = receive_if<io_completion<T>>(is_ours, infinity);
  return {std::move(r->value), true};
}

}  // namespace otp::internal
