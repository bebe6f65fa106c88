// The gen_server loop: init and the start ack, message dispatch, callback
// results (§4), timeouts and hibernation (§5), terminate and crash reports
// (§6), system messages (§10).

#include "gen_server/server.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <bit>

#include "node_impl.hpp"
#include "otp/logger.hpp"
#include "runtime/block_pool.hpp"
#include "runtime/context.hpp"

namespace otp::internal {

namespace {
bool valid_timeout(const next_step& n) { return n.get_kind() != next_step::kind::timeout || n.get_timeout().count() >= 0; }

exit_reason bad_return_value(const std::string& what) { return exit_reason::other("{bad_return_value," + what + "}"); }
}  // namespace

server_process::server_process(const start_options& opts, bool linked, unsigned impl_align_log2)
    : linked_(linked), fiber_mode_(opts.stack_size != 0), impl_align_log2_(static_cast<std::uint8_t>(impl_align_log2)) {
  if (!opts.name.empty()) ext().name = opts.name;
  if (opts.hibernate_after != infinity) ext().hibernate_after = opts.hibernate_after;
  if (opts.debug.trace || opts.debug.log || opts.debug.statistics) {
    debug().trace = opts.debug.trace;
    debug().log_max = opts.debug.log;
    debug().stats = opts.debug.statistics;
    if (opts.debug.statistics) debug().stats_data.start_time = std::chrono::system_clock::now();
  }
}

process* server_process::make_process(node_impl& node, const detail::server_maker& make, const start_options& opts,
                                      bool linked) {
  static_assert(alignof(server_process) <= 8 && sizeof(process) % alignof(server_process) == 0);
  const std::size_t align = std::max(make.align, alignof(server_process));
  // The loop starts 8-aligned (blocks are 16-aligned, the process a multiple
  // of 8 long), so impl_at pads at most this much beyond 8.
  const std::size_t body_bytes = sizeof(server_process) + (align > 8 ? align - 8 : 0) + make.size;
  return process::make_with_body(node, body_bytes, [&](void* where) -> detail::body_base* {
    detail::server_base* impl = make.construct(impl_at(where, align), make.init_fn);
    try {
      return ::new (where) server_process(opts, linked, static_cast<unsigned>(std::countr_zero(align)));
    } catch (...) {
      impl->dispose(false);
      impl->~server_base();
      throw;
    }
  });
}

server_process::~server_process() {
  if (stack_licence_) self().node().kept_stacks().leave(&self());
  impl().dispose(state_made_);
  impl().~server_base();
}

server_process::debug_state& server_process::debug() {
  auto& d = ext().debug;
  if (!d) d = std::make_unique<debug_state>();
  return *d;
}

std::string server_process::who() const {
  if (extras_ && !extras_->name.empty()) return extras_->name.to_string();
  return self().self_pid().to_string();
}

// ---------------------------------------------------------------- start

bool server_process::register_name() {
  if (!extras_ || extras_->name.empty()) return true;
  const server_name& n = extras_->name;
  bool done = n.registry() ? n.registry()->register_name(n.key(), self().self_pid())
                           : self().node().register_name(n.key(), &self());
  if (done) return true;
  // §1.14: taken by any process: already_started with the holder; init
  // never runs and this process exits quietly.
  pid holder = n.whereis().value_or(pid{});
  exit_reason why = exit_reason::other("{already_started," + holder.to_string() + "}");
  ack(detail::start_outcome::status::error, std::move(why), std::move(holder));
  return false;
}

void server_process::unregister_name() {
  if (!extras_ || extras_->name.empty()) return;
  const server_name& n = extras_->name;
  if (n.registry()) n.registry()->unregister_name(n.key());  // §9.5: only when init fails
  else self().node().unregister_name(n.key());
}

void server_process::ack(detail::start_outcome::status st, exit_reason reason, pid existing) {
  if (!start_pending_) return;
  start_pending_ = false;
  const held_call start = self().take_first_held();
  auto* r = new reply_node(start.tag, message(start_ack{st, std::move(reason), std::move(existing)}));
  auto* starter = static_cast<process*>(start.caller.get());
  if (!starter->deliver(r)) delete r;
}

void server_process::run() {
  if (!fiber_mode_) self().declare_stackless();
  parent_ = linked_ ? self().first_held_caller() : self().self_pid();  // §6.8: unlinked, the parent is itself
  if (!register_name()) return;
  init();
  serve();
}

void server_process::resume() { serve(); }

void server_process::init() {
  detail::outcome o;
  try {
    o = impl().init();
    state_made_ = o.kind == detail::result_kind::ok;
  } catch (exit_unwind& e) {
    if (!e.voluntary) throw;
    o = detail::outcome{detail::result_kind::stop, {}, std::move(e.reason), {}};
  } catch (const exit_error& e) {  // an exit raised as an exception, as exit(R) above
    o = detail::outcome{detail::result_kind::stop, {}, e.reason(), {}};
  } catch (...) {
    exit_reason r = exit_reason::from_exception(std::current_exception());
    self().node().logger().log(log_level::error, "GenServer " + who() + " failed to start: " + r.to_string());
    o = detail::outcome{detail::result_kind::stop, {}, std::move(r), {}};
  }
  if (o.kind == detail::result_kind::ok && !valid_timeout(o.next))
    o = detail::outcome{detail::result_kind::stop, {}, bad_return_value("{ok,_,-1}"), {}};
  switch (o.kind) {
    case detail::result_kind::ok:
      ack(detail::start_outcome::status::ok);  // §1.7: before handle_continue
      if (!apply_next(o.next)) crash(exit_reason::other("{undef,{" + impl().type_name() + ",handle_continue}}"), nullptr);
      return;
    case detail::result_kind::ignore:
      unregister_name();
      ack(detail::start_outcome::status::ignore);
      throw exit_unwind{exit_reason::normal(), false};  // §1.10
    default:  // stop: §1.8, the name is free before the ack
      unregister_name();
      ack(detail::start_outcome::status::error, o.reason);
      throw exit_unwind{std::move(o.reason), false};  // §1.9: the link carries it
  }
}

// ---------------------------------------------------------------- loop

// Inline in serve, its one caller.
[[gnu::always_inline]] inline server_process::flow server_process::handle(std::unique_ptr<mail_node>& owned) {
  mail_node* n = owned.get();
  handling h{n, nullptr, &owned};
  switch (n->kind) {
    case mail_kind::call: {
      auto& r = *static_cast<request_node*>(n);
      if (r.system) return handle_system(r);
      self().hibernated = false;
      cancel_timeout();
      return handle_call(r, h);
    }
    case mail_kind::cast:
      self().hibernated = false;
      cancel_timeout();
      return handle_cast(*static_cast<request_node*>(n), h);
    default:
      return handle_info(*static_cast<message_node*>(n), h);
  }
}

void server_process::serve() {
  const unsigned budget = self().budget_limit();
  for (;;) {
    unsigned handled = 0;
    for (;;) {
      if (continue_pending()) {
        if (handle_continue() == flow::stop) return;
        continue;
      }
      mail_node* n = suspended_ ? self().take_first([&](mail_node* m) {
        if (m->kind == mail_kind::call && static_cast<request_node*>(m)->system) return true;
        auto* e = m->kind == mail_kind::message ? static_cast<message_node*>(m)->msg.get_if<exit_msg>() : nullptr;
        return e && e->from == parent_ && self().trapping();  // §10.5: the parent's EXIT too
      })
                                : self().next_mail();
      if (!n) break;
      std::unique_ptr<mail_node> owned(n);
      flow f = handle(owned);
      if (f == flow::stop) return;
      if (++handled >= budget) {
        if (!fiber_mode_) {
          self().wait_stackless(true);
          return;
        }
        self().yield_now();
        handled = 0;
      }
    }
    arm_idle_timers();
    if (!fiber_mode_ && !keep_stack(handled != 0)) {
      self().wait_stackless(false);
      return;
    }
    self().wait_for_mail();
  }
}

template <class F>
server_process::flow server_process::run_callback(F&& cb, const handling* h) {
  if (stats_on()) ++extras_->debug->stats_data.reductions;
  return act(guarded(cb, h), h);
}

// The callback's result is made right in act's argument (no outcome is
// default-made, assigned and destroyed on the way: a sixth of a call's
// server side). Every handler below ends the process.
template <class F>
detail::outcome server_process::guarded(F& cb, const handling* h) {
  try {
    return cb();
  } catch (exit_unwind& e) {
    if (!e.voluntary) throw;  // killed by a signal: no terminate (§6.2)
    terminate_and_exit(std::move(e.reason), h);  // exit(R) in a callback: terminate(R) (§4.10)
  } catch (const exit_error& e) {
    // An exit raised as an exception (a failed call, Task.await's timeout):
    // as exit(R) in Erlang, terminate(R) with the exit's own reason (§4.10).
    terminate_and_exit(e.reason(), h);
  } catch (...) {
    crash(exit_reason::from_exception(std::current_exception()), h);
  }
}

server_process::flow server_process::handle_call(request_node& r, handling& h) {
  // The request's reference on the caller moves into `f` (one atomic
  // increment less per call); crash reports find the caller there.
  from f(std::move(r.caller), r.tag);
  // Held, so that the caller hears why if we die before answering (what
  // its monitor tells it in OTP); usually on f's own reference.
  struct in_flight {
    process& self;
    bool borrowed;
    ~in_flight() {
      if (borrowed) self.end_in_flight_call();
    }
  } held{self(), self().hold_in_flight_call(f.caller(), r.tag)};
  if (!held.borrowed) self().hold_call(f.caller(), r.tag);
  count_in();
  if (debugging())
    debug_event("got call " + r.msg.describe() + " from " + f.caller().to_string());
  h.caller = &f;
  return run_callback(
      [&] {
        auto* entry = static_cast<const detail::typed_entry*>(r.entry);
        if (entry && entry->server == impl().type_tag()) return entry->fn(impl(), r.msg, f);
        return impl().handle_call(r.msg, f);
      },
      &h);
}

server_process::flow server_process::handle_cast(request_node& r, const handling& h) {
  count_in();
  if (debugging()) debug_event("got cast " + r.msg.describe());
  static const from none;
  return run_callback(
      [&] {
        auto* entry = static_cast<const detail::typed_entry*>(r.entry);
        if (entry && entry->server == impl().type_tag()) return entry->fn(impl(), r.msg, none);
        return impl().handle_cast(r.msg);
      },
      &h);
}

server_process::flow server_process::handle_info(message_node& n, const handling& h) {
  message& m = n.msg;
  if (auto* t = m.get_if<server_timeout>()) {
    if (!timer_armed_ || t->seq != extras_->timer_seq) return flow::go_on;  // cancelled meanwhile
    timer_armed_ = false;
    extras_->idle_timeout = infinity;
    m = message(gen_server::timeout_event{});
  } else if (auto* tick = m.get_if<hibernate_tick>()) {
    if (tick->seq == extras_->timer_seq) do_hibernate();
    return flow::go_on;
  } else if (m.get_if<stack_release>()) {
    release_stack();
    return flow::go_on;
  } else {
    self().hibernated = false;
    cancel_timeout();
    if (auto* e = m.get_if<exit_msg>(); e && e->from == parent_ && parent_ != self().self_pid() && self().trapping())
      terminate_and_exit(e->reason, &h);  // §6.7: the parent's exit, trapped: terminate(R)
  }
  count_in();
  if (debugging()) debug_event("got " + m.describe());
  return run_callback([&] { return impl().handle_info(m); }, &h);
}

server_process::flow server_process::handle_continue() {
  message c = std::move(*extras_->pending_continue);
  extras_->pending_continue.reset();
  if (debugging()) debug_event("got continue " + c.describe());
  return run_callback([&] { return impl().handle_continue(c); }, nullptr);
}

// ---------------------------------------------------------------- results

server_process::flow server_process::act(detail::outcome&& o, const handling* h) {
  const from* caller = h ? h->caller : nullptr;
  if (!valid_timeout(o.next)) {
    // §4.8: terminate({bad_return_value, V}); a pending caller exits with it.
    const char* shape = o.kind == detail::result_kind::reply ? "{reply,_,_,-1}" : "{noreply,_,-1}";
    crash(bad_return_value(shape), h);
  }
  switch (o.kind) {
    case detail::result_kind::reply:
      if (caller) {
        if (debugging())
          debug_event("sent " + o.reply.describe() + " to " + caller->caller().to_string() + ", new state " +
                      impl().format_state());
        // The request is spent unless a crash report may still show it
        // (a continue the server cannot handle, below).
        const bool spent = h->owner && o.next.get_kind() != next_step::kind::continue_;
        send_reply(*caller, std::move(o.reply), spent ? h->owner->release() : nullptr);
      }
      break;
    case detail::result_kind::noreply:
      if (debugging()) debug_event("new state " + impl().format_state());
      break;
    case detail::result_kind::stop:
      terminate_and_exit(std::move(o.reason), h);
    case detail::result_kind::stop_reply:
      terminate_and_exit(std::move(o.reason), h, caller, &o.reply);  // §4.3: terminate first
    default:
      crash(bad_return_value(o.kind == detail::result_kind::ok ? "{ok,_}" : "ignore"), h);
  }
  if (!apply_next(o.next)) crash(exit_reason::other("{undef,{" + impl().type_name() + ",handle_continue}}"), h);
  return flow::go_on;
}

void server_process::send_reply(const from& to, message&& value, mail_node* spent_request) {
  if (stats_on()) ++extras_->debug->stats_data.messages_out;
  reply_in(to, std::move(value), spent_request, &self());
}

// False if the result asks for a continue the server cannot handle (§4.9).
bool server_process::apply_next_slow(next_step& next) {
  switch (next.get_kind()) {
    case next_step::kind::none:
      break;
    case next_step::kind::timeout:
      if (next.get_timeout() == infinity) break;
      ext().idle_timeout = next.get_timeout();
      if (extras_->idle_timeout.count() == 0 && !self().has_mail()) {
        // §5.3: 0 with an empty mailbox fires at once; a queued message wins.
        timer_armed_ = true;
        auto* n = new message_node(message(server_timeout{extras_->timer_seq}));
        if (!self().deliver(n)) delete n;
      }
      break;
    case next_step::kind::hibernate:
      do_hibernate();
      break;
    case next_step::kind::continue_:
      if (!impl().has_handle_continue()) return false;
      ext().pending_continue.emplace(std::move(next.continue_value()));
      break;
  }
  return true;
}

// ---------------------------------------------------------------- timers

void server_process::arm_idle_timers_slow() {
  extras& x = *extras_;
  node_impl& node = self().node();
  if (x.idle_timeout != infinity && !timer_armed_) {
    timer_armed_ = true;
    x.timer = make_ref();
    node.timers().start_timer(x.timer, self().self_pid(), {}, new message_node(message(server_timeout{x.timer_seq})),
                              static_cast<std::uint64_t>(x.idle_timeout.count()) * 1000);
  } else if (x.idle_timeout == infinity && x.hibernate_after != infinity && !self().hibernated && !x.hibernate_timer) {
    x.hibernate_timer = make_ref();
    node.timers().start_timer(x.hibernate_timer, self().self_pid(), {},
                              new message_node(message(hibernate_tick{x.timer_seq})),
                              static_cast<std::uint64_t>(x.hibernate_after.count()) * 1000);
  }
}

void server_process::cancel_timeout_slow() {
  extras& x = *extras_;
  ++x.timer_seq;
  x.idle_timeout = infinity;
  if (timer_armed_) {
    self().node().timers().cancel(x.timer);
    timer_armed_ = false;
  }
  if (x.hibernate_timer) {
    self().node().timers().cancel(x.hibernate_timer);
    x.hibernate_timer = ref();
  }
}

// Waiting on the stack (idle, the queue empty) instead of returning to the
// scheduler. Worth it when the wait hands off to a process parked on a
// fiber, as after answering a call of a process that waits for the answer:
// if that caller calls again, its wait switches straight back here. It
// takes two such moments in a row after handling mail (so that a server
// called once does not take a stack, nor one whose starter waited for its
// init) and a licence from the node (kept_stacks). A hibernated server
// releases everything, its stack too.
bool server_process::keep_stack(bool handled_mail) {
  if (self().hibernated || !self().wait_hands_off()) {
    keep_streak_ = 0;
    return false;
  }
  if (stack_licence_) return true;
  if (!handled_mail || ++keep_streak_ < 2) return false;
  keep_streak_ = 0;
  stack_licence_ = self().node().kept_stacks().enter(&self(), []() -> mail_node* {
    return new message_node(message(stack_release{}));
  });
  return stack_licence_;
}

// At the next idle moment the server waits without a stack again.
void server_process::release_stack() {
  if (!stack_licence_) return;
  stack_licence_ = false;
  self().node().kept_stacks().leave(&self());
}

void server_process::do_hibernate() {
  release_stack();
  self().hibernated = true;
  self().compact();
  if (!extras_) return;
  extras_->hibernate_timer = ref();
  if (extras_->debug) extras_->debug->log.shrink_to_fit();
}

// ---------------------------------------------------------------- stopping

void server_process::terminate_and_exit(exit_reason reason, const handling* h, const from* reply_to, message* reply) {
  exit_reason final_reason = reason;
  try {
    impl().terminate(reason);
  } catch (exit_unwind& e) {
    if (!e.voluntary) throw;
    final_reason = std::move(e.reason);
  } catch (const exit_error& e) {
    final_reason = e.reason();
  } catch (...) {
    final_reason = exit_reason::from_exception(std::current_exception());  // §6.6
  }
  if (reply_to) send_reply(*reply_to, std::move(*reply));  // §4.3: sent even if terminate raised
  if (!final_reason.is_quiet()) report_crash(final_reason, h);
  throw exit_unwind{std::move(final_reason), false};
}

void server_process::crash(exit_reason reason, const handling* h) { terminate_and_exit(std::move(reason), h); }

// OTP's "GenServer X terminating" report (§6.10): the reason, the last
// message, the state, and the client of a call that was being handled.
void server_process::report_crash(const exit_reason& reason, const handling* h) {
  std::string text = "GenServer " + who() + " terminating\n** (exit) " + reason.to_string();
  if (reason.is_exception()) text += "\n** (" + std::string(reason.detail()) + ") " + std::string(reason.what());
  const pid* client = h && h->mail->kind == mail_kind::call && h->caller ? &h->caller->caller() : nullptr;
  if (h) {
    text += "\nLast message";
    if (client) text += " (from " + client->to_string() + ")";
    text += ": " + static_cast<message_node*>(h->mail)->msg.describe();
  }
  try {
    text += "\nState: " + impl().format_state();
  } catch (...) {
    text += "\nState: <format_status failed>";
  }
  if (client) text += "\nClient " + client->to_string() + (is_alive(*client) ? " is alive" : " is dead");
  self().node().logger().log(log_level::error, text);
}

// ---------------------------------------------------------------- sys

void server_process::debug_event(const std::string& text) {
  debug_state& d = *extras_->debug;
  if (d.trace) self().node().logger().print("*DBG* " + who() + " " + text);
  if (d.log_max) {
    d.log.push_back(text);
    while (d.log.size() > d.log_max) d.log.pop_front();
  }
}

sys::status server_process::status_of() {
  sys::status s;
  s.server = self().self_pid();
  s.name = who();
  s.module = impl().type_name();
  s.suspended = suspended_;
  s.parent = parent_;
  s.state = impl().format_state();
  if (extras_ && extras_->debug) s.logged_events.assign(extras_->debug->log.begin(), extras_->debug->log.end());
  return s;
}

server_process::flow server_process::handle_system(request_node& r) {
  auto& req = r.msg.get<sys_request>();
  from f(r.caller, r.tag);
  if (r.tag) self().hold_call(r.caller, r.tag);
  const bool was_hibernated = self().hibernated;
  message answer;
  switch (req.what) {
    case sys_request::kind::get_state:
    case sys_request::kind::replace_state:
      try {
        answer = req.fn(impl());
      } catch (const std::exception& e) {
        answer = message(sys::callback_failed(e.what()));  // §10.2: the server lives on
      } catch (...) {
        answer = message(sys::callback_failed("unknown exception"));
      }
      break;
    case sys_request::kind::get_status:
      answer = message(status_of());
      break;
    case sys_request::kind::suspend:
      suspended_ = true;
      break;
    case sys_request::kind::resume:
      suspended_ = false;
      break;
    case sys_request::kind::change_code:
      if (!suspended_) {  // §10.6
        answer = message(exit_reason::other("{unknown_system_msg,{change_code," + req.old_vsn + "}}"));
      } else {
        std::optional<exit_reason> err;
        try {
          err = impl().code_change(req.old_vsn, req.extra);
        } catch (...) {
          err = exit_reason::from_exception(std::current_exception());
        }
        if (err) answer = message(std::move(*err));
      }
      break;
    case sys_request::kind::statistics:
      debug().stats = req.on;
      debug().stats_data = sys::statistics_data{};
      if (req.on) debug().stats_data.start_time = std::chrono::system_clock::now();
      break;
    case sys_request::kind::get_statistics:
      if (stats_on()) {
        sys::statistics_data& st = extras_->debug->stats_data;
        st.current_time = std::chrono::system_clock::now();
        st.overflows = self().overflows();
        answer = message(st);
      }
      break;
    case sys_request::kind::trace:
      debug().trace = req.on;
      break;
    case sys_request::kind::log:
      debug().log_max = req.n;
      if (!req.n) debug().log.clear();
      break;
    case sys_request::kind::get_log:
      if (extras_ && extras_->debug) answer = message(std::vector<std::string>(extras_->debug->log.begin(), extras_->debug->log.end()));
      else answer = message(std::vector<std::string>());
      break;
    case sys_request::kind::terminate: {
      exit_reason why = req.reason;
      if (r.tag) detail::reply_core(f, message());  // §10.10: ok first
      terminate_and_exit(std::move(why), nullptr);
    }
  }
  // §5.4: a system message restarts a pending timeout with its full value
  // (re-armed once idle; cancelled before the answer, so the caller never
  // sees the old one); §5.7: a hibernated server goes back to hibernation.
  if (timer_armed_) {  // armed: extras_ exists
    self().node().timers().cancel(extras_->timer);
    timer_armed_ = false;
    ++extras_->timer_seq;
  }
  if (was_hibernated) do_hibernate();
  if (r.tag) detail::reply_core(f, std::move(answer));
  return flow::go_on;
}

}  // namespace otp::internal
