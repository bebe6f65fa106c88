// The client side of gen_server: start (proc_lib's synchronous start),
// call, cast, reply and stop, plus names and the sys functions.

#include <fmt/format.h>

#include <atomic>
#include <mutex>
#include <unordered_map>

#include "gen_server/server.hpp"
#include "node_impl.hpp"
#include "otp/dist.hpp"
#include "otp/logger.hpp"
#include "otp/sys.hpp"
#include "runtime/context.hpp"

namespace otp {

// ================================================================ names

bool name_registry::send(const std::string& key, message&& m) {
  auto p = whereis_name(key);
  if (!p || !is_alive(*p)) return false;
  otp::send(*p, std::move(m));
  return true;
}

std::string name_registry::describe(const std::string& key) const { return "{via," + detail::quote(key) + "}"; }

namespace {
class global_registry final : public name_registry {
 public:
  bool register_name(const std::string& key, const pid& p) override {
    std::lock_guard lk(mu_);
    auto [it, fresh] = names_.try_emplace(key, p);
    if (fresh) return true;
    if (is_alive(it->second)) return false;
    it->second = p;  // the holder died: the name is free (global's monitor)
    return true;
  }
  void unregister_name(const std::string& key) override {
    std::lock_guard lk(mu_);
    names_.erase(key);
  }
  std::optional<pid> whereis_name(const std::string& key) override {
    std::lock_guard lk(mu_);
    auto it = names_.find(key);
    if (it == names_.end() || !is_alive(it->second)) return std::nullopt;
    return it->second;
  }
  std::string describe(const std::string& key) const override { return "{global," + detail::quote(key) + "}"; }

 private:
  std::mutex mu_;
  std::unordered_map<std::string, pid> names_;
};
}  // namespace

name_registry& global_names() {
  static global_registry g;
  return g;
}

std::optional<pid> server_name::whereis() const {
  if (key_.empty()) return std::nullopt;
  if (registry_) return registry_->whereis_name(key_);
  return otp::whereis(key_);
}

std::string server_name::to_string() const { return registry_ ? registry_->describe(key_) : key_; }

namespace detail {

struct target::shared_name {
  std::atomic<std::uint32_t> refs{1};
  server_name name;
};

target::target(server_name n) : name_(reinterpret_cast<std::uintptr_t>(new shared_name{{1}, std::move(n)}) | 1) {}

target::target(std::string_view name, std::string_view node) : pid_(dist::whereis_remote(name, node)) {}

target::target(const target& o) noexcept {
  if (o.holds_name()) {
    o.named()->refs.fetch_add(1, std::memory_order_relaxed);  // as pid's retain: we already own one
    name_ = o.name_;
  } else {
    new (&pid_) pid(o.pid_);
  }
}

target::target(target&& o) noexcept {
  if (o.holds_name()) {
    name_ = o.name_;
    new (&o.pid_) pid();  // o: an empty pid
  } else {
    new (&pid_) pid(std::move(o.pid_));
  }
}

target& target::operator=(const target& o) noexcept {
  if (this != &o) {
    target copy(o);
    *this = std::move(copy);
  }
  return *this;
}

target& target::operator=(target&& o) noexcept {
  if (this != &o) {
    destroy();
    new (this) target(std::move(o));
  }
  return *this;
}

target::~target() { destroy(); }

void target::destroy() noexcept {
  if (!holds_name()) {
    pid_.~pid();
    return;
  }
  shared_name* s = named();
  if (s->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) delete s;
}

const pid& target::get_pid() const noexcept {
  static const pid none;
  return holds_name() ? none : pid_;
}

const server_name& target::name() const noexcept {
  static const server_name none;
  return holds_name() ? named()->name : none;
}

std::optional<pid> target::resolve() const {
  if (holds_name()) return named()->name.whereis();
  if (pid_) return pid_;
  return std::nullopt;
}

std::string target::to_string() const { return holds_name() ? named()->name.to_string() : pid_.to_string(); }

// ================================================================ defaults (§7)

namespace {
// The running server as Elixir inspects it: its registered name, else its pid.
std::string name_or_pid() {
  internal::process& me = internal::current_process();
  std::string name = me.node().name_of(&me);
  return name.empty() ? me.self_pid().to_string() : name;
}
}  // namespace

void unexpected_request(std::string_view what, const message& m) {
  // Elixir's default handle_call/handle_cast raise (§7.3, §7.4).
  throw std::runtime_error(fmt::format("attempted to {} GenServer {} but no handle_{} clause was provided for {}", what,
                                       name_or_pid(), what, m.type_name()));
}

void unexpected_info(server_base& srv, const message& m) {
  // §7.5: logged and dropped; the server goes on.
  otp::log().log(log_level::error, fmt::format("{} {} received unexpected message in handle_info: {}", srv.type_name(),
                                               name_or_pid(), m.describe()));
}

void bad_reply_type(const message& got, const std::type_info& want) {
  throw exit_error(exit_reason::other("{bad_reply_type," + got.type_name() + ",expected," + demangle(want.name()) + "}"));
}

// ================================================================ start

namespace {
std::string timeout_text(timeout t) { return t == infinity ? "infinity" : std::to_string(t.count()); }
}  // namespace

start_outcome start_core(server_maker make, const start_options& opts, start_mode mode) {
  using namespace internal;
  process& me = current_process();
  node_impl& n = me.node();
  if (!opts.name.empty() && opts.name.is_local() && opts.name.key().empty()) throw badarg("gen_server: empty name");
  const std::uint32_t stack = n.own_stack_size(opts.stack_size);
  process* child = n.enroll(server_process::make_process(n, make, opts, mode == start_mode::link), false);
  child->set_stack_size(stack);
  // Set before the child runs or its pid is handed out (see process::bound_).
  child->set_bound(static_cast<std::uint32_t>(opts.max_queue), opts.on_overflow == overflow_policy::crash);
  pid child_pid = child->self_pid();
  const std::uint64_t tag = me.begin_call();
  // The child has not run: its side is set here (the link exists before init, §1.3),
  // and it holds our start as its first call, so that its death before the ack
  // reaches us; the ack answers it (server_process::ack).
  child->hold_call(me.self_pid(), tag);
  start_outcome out;
  if (mode == start_mode::link) me.adopt_link(child_pid, child);
  if (mode == start_mode::monitor) out.mref = me.adopt_monitor(child_pid, child);
  n.schedule(child, false);
  auto r = me.await_reply(tag, opts.timeout);
  if (!r) {
    // §1.13: unlink, kill, flush the EXIT; the caller is never harmed.
    otp::unlink(child_pid);
    otp::exit(child_pid, exit_reason::kill());
    if (out.mref) demonitor(out.mref, {.flush = true});
    out.st = start_outcome::status::error;
    out.reason = exit_reason::timeout();
    return out;
  }
  if (r->failed) {
    out.st = start_outcome::status::error;
    out.reason = r->reason;
  } else {
    auto& a = r->msg.get<start_ack>();
    out.st = a.st;
    out.reason = std::move(a.reason);
    out.existing = std::move(a.existing);  // set for already_started
  }
  if (out.st == start_outcome::status::ok) out.server = child_pid;
  else if (out.mref) demonitor(out.mref, {.flush = true});  // §1.18: the DOWN is consumed
  return out;
}

// ================================================================ call

namespace {
// The process `t` names. Borrowed from the target's own pid when it is one:
// copying the pid would add two atomic read-modify-writes on the server's
// control block to every call and cast (a fifth of a cast's cost, more when
// the server runs on another core). A server found by name is kept alive
// by `holder`.
internal::process* target_process(const target& t, std::optional<pid>& holder) {
  if (const pid* p = t.direct()) return static_cast<internal::process*>(p->get());
  if ((holder = t.resolve())) return static_cast<internal::process*>(holder->get());
  return nullptr;
}

std::string call_where(const target& t, const std::type_info& req, timeout tmo) {
  return "{gen_server,call,[" + t.to_string() + "," + demangle(req.name()) + "," + timeout_text(tmo) + "]}";
}

// Call-cycle detection. A process waiting in a call publishes its target
// in `waiting_on`; a new call follows that chain from its target and fails
// at once if it leads back to the caller. The chain's processes are kept
// alive by the pids their waiters hold; a waiter clears `waiting_on` and
// then waits for walkers to finish before it drops that pid (a Dekker pair
// on `walkers`), so a walker never reads a freed control block.
std::atomic<int> walkers{0};
constexpr int max_cycle_depth = 64;

std::vector<pid> find_cycle(internal::process* me, internal::process* target) {
  std::vector<pid> cycle;
  walkers.fetch_add(1, std::memory_order_seq_cst);
  // Read only now that we are counted: a process read before might have
  // been released by its waiter, which saw no walker yet.
  internal::process* p = target->waiting_on.load(std::memory_order_seq_cst);
  std::vector<internal::process*> path{me, target};
  for (int depth = 0; p && depth < max_cycle_depth; ++depth) {
    if (p == me) {
      for (internal::process* q : path) cycle.push_back(q->self_pid());
      break;
    }
    path.push_back(p);
    p = p->waiting_on.load(std::memory_order_seq_cst);
  }
  walkers.fetch_sub(1, std::memory_order_seq_cst);
  return cycle;
}

void stop_waiting(internal::process& me) {
  // Usually the reply already cleared it (reply_in): then no store, and no
  // locked instruction. A walker that read the old value did so before
  // that clear, and our seq_cst load saw the clear, so the walker's
  // increment comes before our read of `walkers` in the seq_cst order.
  if (me.waiting_on.load(std::memory_order_seq_cst)) me.waiting_on.store(nullptr, std::memory_order_seq_cst);
  while (walkers.load(std::memory_order_seq_cst) != 0) {
#if defined(__x86_64__)
    __builtin_ia32_pause();
#endif
  }
}

std::string pid_list(const std::vector<pid>& ps) {
  std::string s = "[";
  for (std::size_t i = 0; i < ps.size(); ++i) {
    if (i) s += ',';
    s += ps[i].to_string();
  }
  return s + "]";
}

/// gen:call demonitors the server when it gives up (timeout, or its own
/// exit): for a server on another node, the proxy sends DEMONITOR_P and
/// forgets the call now, rather than when (if ever) the reply comes.
void abandon_remote_call(internal::process& srv, const pid& caller, std::uint64_t tag) {
  if (!srv.remote()) return;
  auto* s = new internal::signal_node(internal::mail_kind::call_abandoned);
  s->from = caller;
  s->seq = tag;
  if (!srv.deliver(s)) delete s;
}
}  // namespace

call_outcome call_core(const target& t, message&& req, const typed_entry* entry, timeout tmo) {
  using namespace internal;
  const std::type_info& req_type = req.type();
  // Every return is a prvalue, made in the caller's slot (no outcome moved).
  auto fail = [&](exit_reason r) {
    return call_outcome{false, message(), exit_reason::wrap(std::move(r), call_where(t, req_type, tmo))};
  };
  process& me = current_process();
  std::optional<pid> named;  // keeps a server found by name alive during the call
  process* srv = target_process(t, named);
  if (!srv || !srv->alive()) return fail(exit_reason::noproc());  // §2.5
  if (srv == &me) return fail(exit_reason::other("calling_self"));  // §2.6
  if (srv->waiting_on.load(std::memory_order_seq_cst))  // the target is itself calling: a cycle?
    if (auto cycle = find_cycle(&me, srv); !cycle.empty())
      return fail(exit_reason::other("{calling_cycle," + pid_list(cycle) + "}"));
  auto* n = new request_node(std::move(req), mail_kind::call);
  if (!srv->offer(n)) {
    delete n;
    return fail(exit_reason::other("overloaded"));
  }
  const std::uint64_t tag = me.begin_call();
  n->caller = me.self_pid();
  n->tag = tag;
  n->entry = entry;
  // Release is enough: a walker only needs the pointer (srv is kept alive
  // by whoever holds it during the call, see find_cycle). The check above
  // came first, so two calls that close a cycle at the same moment were
  // never both seen; seq_cst here bought nothing but a locked instruction.
  me.waiting_on.store(srv, std::memory_order_release);
  if (!srv->deliver(n)) {
    delete n;
    me.end_call();
    stop_waiting(me);
    return fail(exit_reason::noproc());
  }
  std::unique_ptr<reply_node> r;
  try {
    r = me.await_reply(tag, tmo);
  } catch (...) {
    stop_waiting(me);
    abandon_remote_call(*srv, me.self_pid(), tag);
    throw;
  }
  stop_waiting(me);
  if (!r) {
    abandon_remote_call(*srv, me.self_pid(), tag);
    return fail(exit_reason::timeout());  // §2.2; a later reply is dropped (§2.3)
  }
  if (r->failed) return fail(std::move(r->reason));  // §2.7
  return call_outcome{true, std::move(r->msg), exit_reason()};
}

void cast_core(const target& t, message&& m, const typed_entry* entry) {
  using namespace internal;
  std::optional<pid> named;
  process* srv = target_process(t, named);
  if (!srv) return;  // §3.1: a cast always "succeeds"
  auto* n = new request_node(std::move(m), mail_kind::cast);
  n->entry = entry;
  if (!srv->offer(n) || !srv->deliver(n)) delete n;
  if (process* me = tctx().proc) me->reduce(srv->congested() ? me->budget_limit() : 1);
}

void reply_core(const from& f, message&& value) { internal::reply_in(f, std::move(value), nullptr, internal::tctx().proc); }

}  // namespace detail

namespace internal {

void reply_in(const from& f, message&& value, mail_node* spent_request, process* replier) {
  auto* caller = static_cast<process*>(f.caller().get());
  if (!caller) {
    delete spent_request;
    return;
  }
  if (replier) replier->release_call(caller, f.tag());
  // The caller no longer waits on anyone for cycle detection (a stale entry
  // could report a cycle that is gone).
  // A plain store: if the caller has moved on to a newer call meanwhile,
  // clearing it only costs that call its cycle check (never a false cycle).
  if (caller->awaiting() == f.tag()) caller->waiting_on.store(nullptr, std::memory_order_release);
  reply_node* r;
  if (spent_request) {
    spent_request->~mail_node();
    r = ::new (static_cast<void*>(spent_request)) reply_node(f.tag(), std::move(value));
  } else {
    r = new reply_node(f.tag(), std::move(value));
  }
  if (!caller->deliver(r)) delete r;
}

}  // namespace internal

namespace detail {

}  // namespace detail

// ================================================================ stop, whereis

namespace gen_server {

void stop(const otp::detail::target& server, exit_reason reason, timeout t) {
  using namespace internal;
  const std::string where = "{gen_server,stop,[" + server.to_string() + "," + reason.to_string() + "," +
                            otp::detail::timeout_text(t) + "]}";
  auto fail = [&](exit_reason r) { throw exit_error(exit_reason::wrap(std::move(r), where)); };
  std::optional<pid> p = server.resolve();
  if (!p || !is_alive(*p)) fail(exit_reason::noproc());  // §6.5
  if (*p == self()) fail(exit_reason::other("calling_self"));
  ref m = monitor(*p);
  auto* n = new request_node(message(sys_request{sys_request::kind::terminate, {}, false, 0, reason, {}, {}}),
                             mail_kind::call);
  n->system = true;
  n->caller = self();
  if (!static_cast<process*>(p->get())->deliver(n)) delete n;
  auto down = receive_if<down_msg>([&](const down_msg& d) { return d.mref == m; }, t);
  if (!down) {
    demonitor(m, {.flush = true});
    fail(exit_reason::timeout());  // §6.4: the server is not killed
  }
  if (!(down->reason == reason)) fail(down->reason);  // §6.3
}

std::optional<pid> whereis(const otp::detail::target& server) {
  auto p = server.resolve();
  if (p && !is_alive(*p)) return std::nullopt;
  return p;
}

std::string node_name() { return dist::node_name(); }

std::vector<std::string> cluster_nodes() {
  std::vector<std::string> all{dist::node_name()};
  if (dist::alive()) {
    std::vector<std::string> others = dist::nodes();
    all.insert(all.end(), others.begin(), others.end());
  }
  return all;
}

otp::detail::target on_node(const std::string& name, const std::string& node) {
  if (node == dist::node_name()) return otp::detail::target(name);
  return otp::detail::target(name, node);
}

}  // namespace gen_server

// ================================================================ sys

namespace sys {
namespace {
using internal::sys_request;

message sys_call(const target& server, sys_request req, timeout t, const char* fn) {
  const std::string where = "{sys," + std::string(fn) + ",[" + server.to_string() + "," +
                            otp::detail::timeout_text(t) + "]}";
  std::optional<pid> p = server.resolve();
  auto* srv = p ? static_cast<internal::process*>(p->get()) : nullptr;
  if (!srv || !srv->alive()) throw exit_error(exit_reason::wrap(exit_reason::noproc(), where));
  internal::process& me = internal::current_process();
  const std::uint64_t tag = me.begin_call();
  auto* n = new internal::request_node(message(std::move(req)), internal::mail_kind::call);
  n->system = true;
  n->caller = me.self_pid();
  n->tag = tag;
  if (!srv->deliver(n)) {
    delete n;
    me.end_call();
    throw exit_error(exit_reason::wrap(exit_reason::noproc(), where));
  }
  auto r = me.await_reply(tag, t);
  if (!r) throw exit_error(exit_reason::wrap(exit_reason::timeout(), where));
  if (r->failed) throw exit_error(exit_reason::wrap(r->reason, where));
  return std::move(r->msg);
}

sys_request simple(sys_request::kind k, bool on = false, std::size_t n = 0) {
  sys_request r{k, {}, on, n, {}, {}, {}};
  return r;
}
}  // namespace

namespace detail {
message state_call(const otp::detail::target& server, bool replace, std::function<message(otp::detail::server_base&)> fn,
                   timeout t) {
  sys_request r = simple(replace ? sys_request::kind::replace_state : sys_request::kind::get_state);
  r.fn = std::move(fn);
  message m = sys_call(server, std::move(r), t, replace ? "replace_state" : "get_state");
  if (auto* failed = m.get_if<callback_failed>()) throw *failed;
  return m;
}
}  // namespace detail

status get_status(const target& server, timeout t) {
  return std::move(sys_call(server, simple(sys_request::kind::get_status), t, "get_status").get<status>());
}
void suspend(const target& server, timeout t) { sys_call(server, simple(sys_request::kind::suspend), t, "suspend"); }
void resume(const target& server, timeout t) { sys_call(server, simple(sys_request::kind::resume), t, "resume"); }

std::optional<exit_reason> change_code(const target& server, std::string old_vsn, message extra, timeout t) {
  sys_request r = simple(sys_request::kind::change_code);
  r.old_vsn = std::move(old_vsn);
  r.extra = std::move(extra);
  message m = sys_call(server, std::move(r), t, "change_code");
  if (auto* e = m.get_if<exit_reason>()) return *e;
  return std::nullopt;
}

void statistics(const target& server, bool on, timeout t) {
  sys_call(server, simple(sys_request::kind::statistics, on), t, "statistics");
}
std::optional<statistics_data> get_statistics(const target& server, timeout t) {
  message m = sys_call(server, simple(sys_request::kind::get_statistics), t, "statistics");
  if (auto* d = m.get_if<statistics_data>()) return *d;
  return std::nullopt;
}
void trace(const target& server, bool on, timeout t) { sys_call(server, simple(sys_request::kind::trace, on), t, "trace"); }
void log(const target& server, std::size_t n, timeout t) { sys_call(server, simple(sys_request::kind::log, n > 0, n), t, "log"); }
std::vector<std::string> get_log(const target& server, timeout t) {
  return std::move(sys_call(server, simple(sys_request::kind::get_log), t, "log").get<std::vector<std::string>>());
}
void no_debug(const target& server, timeout t) {
  trace(server, false, t);
  log(server, 0, t);
  statistics(server, false, t);
}
void terminate(const target& server, exit_reason reason, timeout t) {
  sys_request r = simple(sys_request::kind::terminate);
  r.reason = std::move(reason);
  sys_call(server, std::move(r), t, "terminate");
}

}  // namespace sys
}  // namespace otp
