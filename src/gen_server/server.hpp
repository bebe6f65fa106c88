#pragma once
// The gen_server loop (OTP's gen_server:loop/decode_msg/handle_msg) and the
// system requests it answers (sys.erl's handle_system_msg).
//
// A server waits for mail with no stack: its body returns to the scheduler
// when its queue is empty and is resumed on whatever fiber runs it next, so
// an idle server costs its control block and its state. A server started
// with a stack of its own (start_options::stack_size) keeps a fiber and
// blocks in it. So, for a while, does a server that keeps answering a caller
// waiting on a fiber (see keep_stack): the caller's next call switches
// straight to it.

#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <new>
#include <optional>
#include <string>

#include "otp/gen_server.hpp"
#include "otp/sys.hpp"
#include "process/process.hpp"

namespace otp::internal {

/// The payload of a system request (OTP's `{system, From, Request}`).
struct sys_request {
  enum class kind {
    get_state,      // fn copies the state out
    replace_state,  // fn replaces it, then copies it out
    get_status,
    suspend,
    resume,
    change_code,
    statistics,     // on: flag
    get_statistics,
    trace,          // on: flag
    log,            // on: flag, n
    get_log,
    terminate,      // reason
  } what;
  std::function<message(detail::server_base&)> fn;  // get_state / replace_state (typed at the call site)
  bool on = false;
  std::size_t n = 0;
  exit_reason reason;
  std::string old_vsn;
  message extra;
};

/// Internal messages a server sends itself through timers; a stale one (an
/// older sequence number) is dropped.
struct server_timeout {
  std::uint64_t seq;
};
struct hibernate_tick {
  std::uint64_t seq;
};
/// From the node's kept_stacks: give the licence to keep a stack back.
struct stack_release {};

struct start_ack {
  detail::start_outcome::status st;
  exit_reason reason;
  pid existing;
};

/// Sends `value` to the caller of call `f` (gen_server:reply) from
/// `replier` (the running process, or null on a foreign thread). A spent
/// request given as `spent_request` (owned) becomes the reply's block.
void reply_in(const from& f, message&& value, mail_node* spent_request, process* replier);

class server_process final : public detail::body_base {
 public:
  /// A server's process, its loop and its callbacks in one block, in this
  /// order (the callbacks object is built by `make`); not yet enrolled in
  /// the node. One allocation per server, and the loop finds its process
  /// by address instead of keeping a pointer to it.
  static process* make_process(node_impl& node, const detail::server_maker& make, const start_options& opts,
                               bool linked);
  ~server_process() override;
  void run() override;
  void resume() override;

 private:
  enum class flow { go_on, stop };
  /// What is being handled, on the handler's stack and passed down to
  /// where a crash is reported (the last message and a call's client).
  struct handling {
    mail_node* mail;
    const from* caller;
    // The loop's ownership of `mail` (null outside the loop): a reply may
    // take the spent request's block.
    std::unique_ptr<mail_node>* owner = nullptr;
  };

  server_process(const start_options& opts, bool linked, unsigned impl_align_log2);
  process& self() const noexcept {
    return *std::launder(reinterpret_cast<process*>(reinterpret_cast<char*>(const_cast<server_process*>(this)) - sizeof(process)));
  }
  /// Where the callbacks object of the server at `self` sits.
  static void* impl_at(const void* self, std::size_t align) noexcept {
    const auto end = reinterpret_cast<std::uintptr_t>(self) + sizeof(server_process);
    return reinterpret_cast<void*>((end + align - 1) & ~(align - 1));
  }
  detail::server_base& impl() const noexcept {
    return *std::launder(static_cast<detail::server_base*>(impl_at(this, std::size_t{1} << impl_align_log2_)));
  }

  void init();
  void ack(detail::start_outcome::status st, exit_reason reason = {}, pid existing = {});
  bool register_name();
  void unregister_name();
  void serve();
  flow handle(std::unique_ptr<mail_node>& owned);
  flow handle_call(request_node& r, handling& h);
  flow handle_cast(request_node& r, const handling& h);
  flow handle_info(message_node& m, const handling& h);
  flow handle_continue();
  flow handle_system(request_node& r);
  template <class F>
  flow run_callback(F&& cb, const handling* h);
  template <class F>
  detail::outcome guarded(F& cb, const handling* h);
  flow act(detail::outcome&& o, const handling* h);
  // The checks of the three below are inline: on a server that never asked
  // for a timeout, hibernation or a continue they are all a call costs.
  bool apply_next(next_step& next) { return next.get_kind() == next_step::kind::none || apply_next_slow(next); }
  bool apply_next_slow(next_step& next);
  void arm_idle_timers() {
    if (extras_) arm_idle_timers_slow();  // else neither a timeout nor hibernate_after was ever asked for
  }
  void arm_idle_timers_slow();
  /// §5.2: any message cancels the timeout (and the idle countdown to hibernation).
  void cancel_timeout() {
    if (extras_) cancel_timeout_slow();  // else no timer was ever armed
  }
  void cancel_timeout_slow();
  void do_hibernate();
  bool keep_stack(bool handled_mail);
  void release_stack();
  // `h`: what was being handled (null: init, a continue, a sys terminate),
  // for the crash report.
  [[noreturn]] void terminate_and_exit(exit_reason reason, const handling* h, const from* reply_to = nullptr,
                                       message* reply = nullptr);
  [[noreturn]] void crash(exit_reason reason, const handling* h);
  void report_crash(const exit_reason& reason, const handling* h);
  void send_reply(const from& to, message&& value, mail_node* spent_request = nullptr);
  void debug_event(const std::string& text);
  std::string who() const;
  sys::status status_of();

  // sys: allocated when debugging is first switched on
  struct debug_state {
    bool trace = false;
    std::size_t log_max = 0;
    std::deque<std::string> log;
    bool stats = false;
    sys::statistics_data stats_data;
  };
  // What few servers use, allocated on first use, so that an idle server
  // is its process block, these few words and its state.
  struct extras {
    server_name name;  // empty when unnamed
    timeout hibernate_after = infinity;
    std::optional<message> pending_continue;  // a continue to run before the next message
    // §5 timeouts
    timeout idle_timeout = infinity;  // the last return's timeout, until a message arrives (infinity: none)
    std::uint64_t timer_seq = 0;
    ref timer;
    ref hibernate_timer;
    std::unique_ptr<debug_state> debug;
  };
  extras& ext() {
    if (!extras_) extras_ = std::make_unique<extras>();
    return *extras_;
  }
  debug_state& debug();
  bool debugging() const noexcept {
    return extras_ && extras_->debug && (extras_->debug->trace || extras_->debug->log_max);
  }
  bool stats_on() const noexcept { return extras_ && extras_->debug && extras_->debug->stats; }
  void count_in() {
    if (stats_on()) ++extras_->debug->stats_data.messages_in;
  }
  bool continue_pending() const noexcept { return extras_ && extras_->pending_continue; }

  pid parent_;
  std::unique_ptr<extras> extras_;
  bool linked_;
  bool start_pending_ = true;  // the starter waits for our ack (its request is our first held call)
  bool fiber_mode_ = false;
  bool timer_armed_ = false;
  bool suspended_ = false;
  bool state_made_ = false;  // init returned ok: the callbacks object holds a state
  const std::uint8_t impl_align_log2_;
  // keep_stack's: consecutive idle moments that could keep the stack, and
  // the licence to (in the last byte the block had free).
  std::uint8_t keep_streak_ : 2 = 0;
  bool stack_licence_ : 1 = false;
};

}  // namespace otp::internal
