// Outgoing distribution: what a local process delivers to a proxy (a pid of
// another node) becomes a control message on the connection to that node.
// Runs on the sender's thread, so encoding is spread over the schedulers.
//
//   mail to the proxy          control message (erts "Distribution Protocol")
//   message                    SEND {2, '', To} | REG_SEND {6, From, '', Name}
//   call (gen_server)          MONITOR_P {19, Caller, To, Ref}, then the send of
//                              {'$gen_call', {Caller, [alias | Ref]}, Request}
//                              (what OTP 24+ gen:call sends to another node)
//   cast                       the send of {'$gen_cast', Request}
//   reply (to a remote call)   ALIAS_SEND {33, Server, Alias} for an alias tag,
//                              else SEND to the caller: {Tag, Reply}
//   exit (exit/2)              EXIT2 {8, ...} | PAYLOAD_EXIT2 {26, From, To} + Reason
//   link_exit (we died)        EXIT {3, ...} | PAYLOAD_EXIT {24, From, To} + Reason
//   link / unlink              LINK {1, From, To} / UNLINK_ID {35, Id, From, To}
//   monitor / demonitor        MONITOR_P {19, ...} / DEMONITOR_P {20, From, To, Ref}
//   down (a monitored local    MONITOR_P_EXIT {21, Target, Watcher, Ref, Reason} |
//         process died)        PAYLOAD_MONITOR_P_EXIT {28, Target, Watcher, Ref} + Reason
//
// Every link, monitor and call is recorded in the connection's tables before
// its message is queued, so that a connection that never comes up (or goes
// down) answers each of them with `noconnection` / `{nodedown, Node}`.

#include <fmt/format.h>

#include "dist/connection.hpp"
#include "dist/flags.hpp"
#include "node_impl.hpp"
#include "otp/term_codec.hpp"
#include "process/process.hpp"
#include "runtime/context.hpp"

namespace otp::internal {
namespace {

enum op : int {
  op_link = 1,
  op_send = 2,
  op_exit = 3,
  op_reg_send = 6,
  op_exit2 = 8,
  op_monitor_p = 19,
  op_demonitor_p = 20,
  op_monitor_p_exit = 21,
  op_payload_exit = 24,
  op_payload_exit2 = 26,
  op_payload_monitor_p_exit = 28,
  op_alias_send = 33,
  op_unlink_id = 35,
};

term atom_term(const char* a) { return term(atom(a)); }

/// The process on whose behalf the current thread sends (for REG_SEND's From).
pid current_sender() { return current_process().self_pid(); }

class forwarder {
 public:
  forwarder(process& proxy, connection& c) : proxy_(proxy), t_(*proxy.remote()), c_(c), d_(*t_.dist) {}

  void forward(mail_node* n) {
    switch (n->kind) {
      case mail_kind::message: return send_payload(message_term(static_cast<message_node*>(n)->msg), current_sender());
      case mail_kind::call: return call(static_cast<request_node*>(n));
      case mail_kind::cast:
        return send_payload(term::tuple({atom_term("$gen_cast"), message_term(static_cast<request_node*>(n)->msg)}),
                            current_sender());
      case mail_kind::reply: return reply(static_cast<reply_node*>(n));
      default: return signal(static_cast<signal_node*>(n));
    }
  }

 private:
  term message_term(const message& m) {
    if (auto* t = m.get_if<term>()) return *t;
    if (!m.can_encode())
      throw badarg(fmt::format("cannot send a {} to another node: it has no term codec (otp/term_codec.hpp)",
                               m.type_name()));
    return m.to_term();
  }
  term self_term(const pid& p) { return term(d_.pid_to_term(p)); }

  void send_payload(const term& payload, const pid& sender) { c_.send(send_control(sender), &payload); }
  /// SEND to a pid, REG_SEND to a name.
  term send_control(const pid& sender) {
    if (t_.pid) return term::tuple({op_send, atom(), term(*t_.pid)});
    return term::tuple({op_reg_send, self_term(sender), atom(), term(t_.name)});
  }

  void call(request_node* n) {
    if (n->system) return fail_call(n, exit_reason::other("{not_supported,remote_sys}"));
    term request;
    try {
      request = message_term(n->msg);
    } catch (const badarg& e) {
      return fail_call(n, exit_reason::other(fmt::format("{{badarg,<<\"{}\">>}}", e.what())));
    }
    // OTP 24+ gen:do_call for a remote target: monitor with an alias, tag
    // [alias | Mref], reply expected through ALIAS_SEND; the monitor makes a
    // dead or unregistered server fail the call at once (noproc).
    const ref r = make_ref();
    c_.add_pending_call(r, n->caller, n->tag, t_.as_term());
    const term caller = self_term(n->caller);
    const term mref(d_.ref_to_term(r));
    const term monitor = term::tuple({op_monitor_p, caller, t_.as_term(), mref});
    const term tag = term::improper_list({atom_term("alias")}, mref);
    const term gen_call = term::tuple({atom_term("$gen_call"), term::tuple({caller, tag}), request});
    c_.send_all({{monitor}, {send_control(n->caller), &gen_call}});
  }
  void fail_call(request_node* n, const exit_reason& why) { internal::fail_call(n->caller, n->tag, why); }

  void reply(reply_node* n) {
    std::optional<term> tag = c_.take_reply_tag(n->tag);
    if (!tag || n->failed) return;  // the caller's monitor tells it of our death
    term value;
    try {
      value = message_term(n->msg);
    } catch (const badarg& e) {
      d_.logger().log(log_level::error, fmt::format("dropped a reply to {}: {}", term(*t_.pid).to_string(), e.what()));
      return;
    }
    const term payload = term::tuple({*tag, value});
    // gen:reply/2: a tag [alias | Alias] is answered to the alias, so a reply
    // after the caller's timeout is dropped by the caller's node.
    const bool alias_tag = tag->get_type() == term::type::list && tag->list_elements()[0].is_atom("alias") &&
                           tag->list_tail().is_ref();
    if (alias_tag && c_.has_flag(dflag::alias)) {
      c_.send(term::tuple({op_alias_send, self_term(current_sender()), tag->list_tail()}), &payload);
      return;
    }
    c_.send(term::tuple({op_send, atom(), term(*t_.pid)}), &payload);
  }

  void signal(signal_node* s) {
    if (s->kind == mail_kind::call_abandoned) return abandon_call(s);
    if (!t_.pid && s->kind != mail_kind::monitor && s->kind != mail_kind::demonitor) return;  // a name: only monitors
    const term from = self_term(s->from);
    const term to = t_.as_term();
    switch (s->kind) {
      case mail_kind::exit: return exit(op_exit2, op_payload_exit2, from, to, s->reason);
      case mail_kind::link_exit:
        if (c_.remove_link(s->from, proxy_pid())) exit(op_exit, op_payload_exit, from, to, s->reason);
        return;
      case mail_kind::link:
        if (c_.add_link(s->from, proxy_pid())) c_.send(term::tuple({op_link, from, to}));
        return;
      case mail_kind::unlink:
        if (c_.remove_link(s->from, proxy_pid()))
          c_.send(term::tuple({op_unlink_id, term::from_uint64(next_unlink_id()), from, to}));
        return;
      case mail_kind::monitor:
        c_.add_out_monitor(s->mref, s->from, proxy_pid());
        c_.send(term::tuple({op_monitor_p, from, to, term(d_.ref_to_term(s->mref))}));
        return;
      case mail_kind::demonitor:
        if (c_.remove_out_monitor(s->mref)) c_.send(term::tuple({op_demonitor_p, from, to, term(d_.ref_to_term(s->mref))}));
        return;
      case mail_kind::down: return monitor_exit(s);
      default: return;  // terminate, wait_timeout: not meaningful for a remote process
    }
  }
  void abandon_call(signal_node* s) {
    if (auto c = c_.take_pending_call_of(s->from, s->seq))
      c_.send(term::tuple({op_demonitor_p, self_term(s->from), c->second.target, term(d_.ref_to_term(c->first))}));
  }
  void exit(int op, int payload_op, const term& from, const term& to, const exit_reason& why) {
    const term reason = to_term(why);
    if (c_.has_flag(dflag::exit_payload)) return c_.send(term::tuple({payload_op, from, to}), &reason);
    c_.send(term::tuple({op, from, to, reason}));
  }
  void monitor_exit(signal_node* s) {
    auto m = c_.take_in_monitor(s->mref);
    if (!m) return;
    const term reason = to_term(s->reason);
    const term watcher(m->watcher);
    const term r(m->remote_ref);
    if (c_.has_flag(dflag::exit_payload))
      return c_.send(term::tuple({op_payload_monitor_p_exit, m->how, watcher, r}), &reason);
    c_.send(term::tuple({op_monitor_p_exit, m->how, watcher, r, reason}));
  }
  pid proxy_pid() { return proxy_.self_pid(); }
  static std::uint64_t next_unlink_id() {
    static std::atomic<std::uint64_t> id{1};
    return id.fetch_add(1, std::memory_order_relaxed);
  }

  process& proxy_;
  const remote_target& t_;
  connection& c_;
  dist_node& d_;
};

}  // namespace

bool deliver_signal(const pid& to, mail_kind k, const pid& from, const exit_reason& reason, ref mref) {
  auto* target = static_cast<process*>(to.get());
  if (!target) return false;
  auto* s = new signal_node(k);
  s->from = from;
  s->reason = reason;
  s->mref = mref;
  if (target->deliver(s)) return true;
  delete s;
  return false;
}

void fail_call(const pid& caller, std::uint64_t tag, const exit_reason& why) {
  auto* r = new reply_node(tag, message());
  r->failed = true;
  r->reason = why;
  auto* p = static_cast<process*>(caller.get());
  if (!p || !p->deliver(r)) delete r;
}

exit_reason nodedown_reason(atom node) { return exit_reason::other("{nodedown," + node.to_string() + "}"); }

void answer_unreachable(const pid& proxy, mail_node* n, atom node) {
  const exit_reason noconnection = exit_reason::other("noconnection");
  if (n->kind == mail_kind::call) {
    auto* r = static_cast<request_node*>(n);
    return fail_call(r->caller, r->tag, nodedown_reason(node));
  }
  if (is_message_kind(n->kind) || n->kind == mail_kind::reply) return;
  auto* s = static_cast<signal_node*>(n);
  if (s->kind == mail_kind::link) deliver_signal(s->from, mail_kind::link_exit, proxy, noconnection, {});
  if (s->kind == mail_kind::monitor) deliver_signal(s->from, mail_kind::down, proxy, noconnection, s->mref);
}

void forward_to_remote(process& proxy, mail_node* n) {
  std::unique_ptr<mail_node> owned(n);
  if (!proxy.remote()->dist) return;  // the node has gone
  dist_node& d = *proxy.remote()->dist;
  std::shared_ptr<connection> c = d.connection_to(proxy.remote()->node);
  if (!c) return answer_unreachable(proxy.self_pid(), n, proxy.remote()->node);  // distribution stopped
  forwarder(proxy, *c).forward(n);
}

}  // namespace otp::internal
