#pragma once
// The gen_server loop (OTP's gen_server:loop/decode_msg/handle_msg) and the
// system requests it answers (sys.erl's handle_system_msg).
//
// A server waits for mail with no stack: its body returns to the scheduler
// when its queue is empty and is resumed on whatever fiber runs it next, so
// an idle server costs its control block and its state. Only a server
// started with a stack of its own (start_options::stack_size) keeps a fiber
// and blocks in it.

#include <chrono>
#include <deque>
#include <functional>
#include <memory>
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

struct start_ack {
  detail::start_outcome::status st;
  exit_reason reason;
  pid existing;
};

class server_process final : public detail::body_base {
 public:
  server_process(std::unique_ptr<detail::server_base> impl, const start_options& opts, bool linked);
  void run() override;
  void resume() override;

 private:
  enum class flow { go_on, stop };

  void init();
  void ack(detail::start_outcome::status st, exit_reason reason = {}, pid existing = {});
  bool register_name();
  void unregister_name();
  void serve();
  flow handle(mail_node* n);
  flow handle_call(request_node& r);
  flow handle_cast(request_node& r);
  flow handle_info(message_node& m);
  flow handle_continue();
  flow handle_system(request_node& r);
  template <class F>
  flow run_callback(F&& cb, const from* caller);
  flow act(detail::outcome&& o, const from* caller);
  bool apply_next(next_step& next);
  void arm_idle_timers();
  void cancel_timeout();
  void do_hibernate();
  [[noreturn]] void terminate_and_exit(exit_reason reason, const from* reply_to = nullptr, message* reply = nullptr);
  [[noreturn]] void crash(exit_reason reason);
  void report_crash(const exit_reason& reason);
  void send_reply(const from& to, message&& value);
  void debug_event(const std::string& text);
  std::string who() const;
  sys::status status_of();

  process* self_ = nullptr;
  std::unique_ptr<detail::server_base> impl_;
  std::unique_ptr<server_name> name_;  // null when unnamed (most servers: 8 bytes, not 40)
  timeout hibernate_after_;
  pid parent_;

  // what is being handled (for crash reports)
  mail_node* current_ = nullptr;
  const from* current_caller_ = nullptr;  // while a call is handled: who made it
  std::unique_ptr<message> pending_continue_;  // a continue to run before the next message

  // §5 timeouts
  timeout timeout_ = infinity;  // the last return's timeout, until a message arrives (infinity: none)
  std::uint64_t timer_seq_ = 0;
  ref timer_;
  ref hibernate_timer_;

  // sys: allocated when debugging is first switched on
  struct debug_state {
    bool trace = false;
    std::size_t log_max = 0;
    std::deque<std::string> log;
    bool stats = false;
    sys::statistics_data stats_data;
  };
  debug_state& debug();
  bool debugging() const noexcept { return debug_ && (debug_->trace || debug_->log_max); }
  void count_in() {
    if (debug_ && debug_->stats) ++debug_->stats_data.messages_in;
  }
  std::unique_ptr<debug_state> debug_;
  bool linked_;
  bool start_pending_ = true;  // the starter waits for our ack (its request is our first held call)
  bool fiber_mode_ = false;
  bool timer_armed_ = false;
  bool suspended_ = false;
};

}  // namespace otp::internal
