#pragma once
// The node's I/O reactor: one asio::io_context run by one dedicated thread,
// started on first use. Sockets are driven here, never on the scheduler
// threads; a process waiting for I/O suspends only its fiber (see
// net/completion.hpp).
//
// Asio objects of this context (sockets, acceptors, timers) are touched only
// on the reactor thread: start operations with `asio::post(context(), ...)`,
// and let every completion handler hold a strong reference to what it uses.
// Include asio only through this header, so every translation unit sees the
// same configuration.
//
// Shutdown (node_impl::shutdown, after every process has been terminated):
// every tracked io_resource closes its asio objects on the reactor thread,
// the handlers that this completes (operation_aborted) run, and once the
// context has no work left the thread ends and is joined. If work is still
// pending after `drain_limit` (an untracked socket, a slow name lookup),
// the context is stopped anyway and the rest is never run.
//
// Lifetime: an object that may outlive the node (a socket handle kept by
// main()) keeps the context alive with shared_context(), and destroys its
// asio objects in its own destructor (no handler of it is pending then).

#ifndef ASIO_STANDALONE
#define ASIO_STANDALONE
#endif
#ifndef ASIO_NO_DEPRECATED
#define ASIO_NO_DEPRECATED
#endif
// Asio picks its handler allocator (aligned_alloc or aligned new) from a
// libstdc++ macro that is only defined once a standard header has been
// included: translation units including asio first and later would then
// free with the other one's deallocator. One choice for all of them.
#ifndef ASIO_DISABLE_STD_ALIGNED_ALLOC
#define ASIO_DISABLE_STD_ALIGNED_ALLOC
#endif
// The fence asio puts around each handler call is redundant here (one thread
// runs the handlers; posting goes through asio's locked queue), and
// ThreadSanitizer cannot model fences.
#if defined(__SANITIZE_THREAD__) && !defined(ASIO_DISABLE_FENCED_BLOCK)
#define ASIO_DISABLE_FENCED_BLOCK
#endif
#include <asio.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

namespace otp {
class logger;
}

namespace otp::internal {

/// Something that holds asio I/O objects of a reactor's context.
class io_resource {
 public:
  virtual ~io_resource() = default;
  /// Called on the reactor thread when the reactor stops: close (do not
  /// destroy) every asio object and fail whatever waits on them, so that
  /// their pending operations complete. Must not throw.
  virtual void release_io() noexcept = 0;
};

/// @threadsafe
class reactor {
 public:
  /// `node_idle`, if given, says whether a scheduler of the node is idle:
  /// only then does the thread poll for a while before blocking (run_spinning).
  explicit reactor(otp::logger& log, std::function<bool()> node_idle = {}) : log_(log), node_idle_(std::move(node_idle)) {}
  ~reactor();
  reactor(const reactor&) = delete;
  reactor& operator=(const reactor&) = delete;

  /// The context; creates it and starts the reactor thread on first use.
  /// Throws std::logic_error once the reactor has stopped (except on the
  /// reactor thread itself: handlers still run while it stops).
  asio::io_context& context();
  /// The same, as an owning pointer, for objects that may outlive the node.
  std::shared_ptr<asio::io_context> shared_context();
  /// True on the reactor thread.
  bool on_reactor_thread() const noexcept;
  /// Makes `r` release its asio objects when the reactor stops (kept weakly:
  /// no need to untrack). Throws std::logic_error once stopped.
  void track(std::weak_ptr<io_resource> r);
  /// Releases the tracked resources, runs what that completes, stops and
  /// joins the thread. Idempotent; must not be called on the reactor thread.
  void stop();

  /// How long stop() lets pending work finish before it stops the context.
  static constexpr std::chrono::milliseconds drain_limit{2000};

 private:
  void run() noexcept;
  void run_spinning();  // ctx_->run(), polling a while before each block
  void release_all() noexcept;

  otp::logger& log_;
  std::mutex mu_;
  std::condition_variable ran_out_;  // run() returned
  bool running_ = false;
  std::atomic<asio::io_context*> ready_{nullptr};  // set once started: context() without the lock
  std::function<bool()> node_idle_;
  std::shared_ptr<asio::io_context> ctx_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_;
  std::thread thread_;
  std::atomic<std::thread::id> thread_id_{};
  std::vector<std::weak_ptr<io_resource>> tracked_;
  std::size_t prune_at_ = 64;
  bool stopped_ = false;
};

}  // namespace otp::internal
