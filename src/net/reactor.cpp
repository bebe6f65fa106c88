// The node's I/O reactor (see reactor.hpp).

#include "net/reactor.hpp"

#include <pthread.h>

#include <stdexcept>
#include <string>

#include "otp/logger.hpp"
#include "runtime/block_pool.hpp"

namespace otp::internal {

namespace {
[[noreturn]] void throw_stopped() {
  throw std::logic_error("otp: the node's I/O reactor has stopped (the node is shutting down)");
}
}  // namespace

reactor::~reactor() { stop(); }

asio::io_context& reactor::context() {
  if (asio::io_context* c = ready_.load(std::memory_order_acquire)) return *c;
  if (on_reactor_thread()) return *ctx_;  // a handler run while stopping
  return *shared_context();
}

std::shared_ptr<asio::io_context> reactor::shared_context() {
  std::lock_guard lk(mu_);
  if (stopped_) throw_stopped();
  if (!ctx_) {
    ctx_ = std::make_shared<asio::io_context>(1);  // hint: one thread runs it
    work_.emplace(ctx_->get_executor());
    running_ = true;
    thread_ = std::thread([this] { run(); });
    ready_.store(ctx_.get(), std::memory_order_release);
  }
  return ctx_;
}

bool reactor::on_reactor_thread() const noexcept {
  return thread_id_.load(std::memory_order_acquire) == std::this_thread::get_id();
}

void reactor::track(std::weak_ptr<io_resource> r) {
  std::lock_guard lk(mu_);
  if (stopped_) throw_stopped();
  if (tracked_.size() >= prune_at_) {
    std::erase_if(tracked_, [](const std::weak_ptr<io_resource>& w) { return w.expired(); });
    prune_at_ = std::max<std::size_t>(64, tracked_.size() * 2);
  }
  tracked_.push_back(std::move(r));
}

void reactor::run() noexcept {
  block_pool::thread_scope pool;  // the messages of active sockets and the distribution
  thread_id_.store(std::this_thread::get_id(), std::memory_order_release);
  pthread_setname_np(pthread_self(), "otp_reactor");
  for (;;) {
    try {
      run_spinning();
      break;
    } catch (const std::exception& e) {  // a handler threw: report it, keep serving the others
      log_.log(log_level::error, std::string("otp reactor: a completion handler threw: ") + e.what());
    } catch (...) {
      log_.log(log_level::error, "otp reactor: a completion handler threw a non-std exception");
    }
  }
  std::lock_guard lk(mu_);
  running_ = false;
  ran_out_.notify_all();
}

// After handling events the thread keeps polling (non-blocking epoll,
// yielding the CPU between polls) for `spin_after_event` before it blocks,
// while at least one scheduler of the node is idle. A reply or the next
// request of a call usually arrives within that: waking a thread blocked
// in epoll costs tens of microseconds on these VMs, and a remote call
// crosses two reactors (C++ -> C++ round trip 97-107 us -> 41-52 us, the
// BEAM's 85-106 us; remote_call_throughput unchanged within its noise).
// The BEAM's poll and scheduler threads busy-wait the same way. Not while
// every scheduler is busy: then the CPU is theirs. An idle node blocks
// within 300 us of its last event (distribution ticks come every 15 s).
void reactor::run_spinning() {
  using clock = std::chrono::steady_clock;
  constexpr auto spin_after_event = std::chrono::microseconds(300);
  auto last = clock::now();
  for (;;) {
    if (ctx_->poll() > 0) {
      last = clock::now();
      continue;
    }
    if (ctx_->stopped()) return;
    if ((!node_idle_ || node_idle_()) && clock::now() - last < spin_after_event) {
      std::this_thread::yield();
      continue;
    }
    if (ctx_->run_one() == 0) return;
    last = clock::now();
  }
}

void reactor::release_all() noexcept {
  std::vector<std::weak_ptr<io_resource>> all;
  {
    std::lock_guard lk(mu_);
    all.swap(tracked_);
  }
  for (auto& w : all)
    if (auto r = w.lock()) r->release_io();
}

void reactor::stop() {
  {
    std::lock_guard lk(mu_);
    if (stopped_) return;
    stopped_ = true;
    ready_.store(nullptr, std::memory_order_release);
    if (!ctx_) return;
  }
  // Closing releases the pending operations (their handlers run, aborted);
  // without the work guard, run() returns once nothing is left.
  asio::post(*ctx_, [this] {
    release_all();
    work_.reset();
  });
  {
    std::unique_lock lk(mu_);
    if (!ran_out_.wait_for(lk, drain_limit, [&] { return !running_; })) {
      log_.log(log_level::warning, "otp reactor: I/O still pending at node shutdown; stopping without it");
      ctx_->stop();
    }
  }
  thread_.join();
}

}  // namespace otp::internal
