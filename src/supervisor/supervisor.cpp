// otp::supervisor: a gen_server that owns its children (OTP's supervisor.erl
// for the static strategies; ../shared/otp-semantics.md §11).
//
// The children live in a vector in start order. A child's exit arrives as
// an EXIT (the supervisor traps exits and is linked to each child); the
// restart type decides whether it is restarted, every restart is first
// counted against the intensity, and a restart whose start fails is
// retried through a cast to ourselves (`try_again_restart`), counting again.

#include "otp/supervisor.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "otp/logger.hpp"
#include "otp/process.hpp"
#include "supervisor/child.hpp"

namespace otp {

namespace {

using supervisor::child_info;
using supervisor::result;

struct child_rec {
  child_spec spec;
  pid p;  // empty: not running (`undefined`, or `restarting`)
  bool restarting = false;
  bool running() const noexcept { return static_cast<bool>(p); }
};

struct sup_args {
  supervisor::detail::init_fn fn;
  std::string name;
};

/// OTP's check_childspec for what C++ types leave representable (§11.2).
std::optional<exit_reason> invalid_spec(const child_spec& s, supervisor::auto_shutdown as) {
  if (!s.start) return exit_reason::other("missing_start");  // OTP check_childspec
  if (s.shutdown && s.shutdown->get_kind() == shutdown_policy::kind::timeout && s.shutdown->get_timeout().count() < 0)
    return exit_reason::other(fmt::format("{{invalid_shutdown,{}}}", s.shutdown->get_timeout().count()));
  if (s.significant && s.restart == restart_type::permanent)
    return exit_reason::other("{bad_combination,[{restart,permanent},{significant,true}]}");
  if (s.significant && as == supervisor::auto_shutdown::never)
    return exit_reason::other("{bad_combination,[{auto_shutdown,never},{significant,true}]}");
  return std::nullopt;
}

std::optional<exit_reason> invalid_flags(const supervisor::flags& f) {
  if (f.max_restarts < 0) return exit_reason::other(fmt::format("{{invalid_intensity,{}}}", f.max_restarts));
  if (f.max_seconds.count() <= 0) return exit_reason::other(fmt::format("{{invalid_period,{}}}", f.max_seconds.count()));
  return std::nullopt;
}

}  // namespace

class supervisor_server {
 public:
  struct state {
    supervisor::flags flags;
    std::vector<child_rec> children;  // start order
    internal::restart_intensity intensity;
    std::string name;
  };
  struct which_children_req {
    using reply = std::vector<child_info>;
  };
  struct count_children_req {
    using reply = supervisor::child_counts;
  };
  struct terminate_child_req {
    using reply = result;
    std::string id;
  };
  struct restart_child_req {
    using reply = result;
    std::string id;
  };
  struct delete_child_req {
    using reply = result;
    std::string id;
  };
  struct start_child_req {
    using reply = result;
    child_spec spec;
  };
  struct get_childspec_req {
    using reply = std::optional<child_spec>;
    std::string id;
  };
  struct try_again_restart {
    std::string id;
  };
  using accepts = types<exit_msg>;

  init_result<state> init(sup_args args) {
    trap_exit(true);  // §11.21
    state st;
    st.name = args.name.empty() ? self().to_string() : std::move(args.name);
    supervisor::init_result r = args.fn();
    if (!r.get()) return ignore();
    supervisor::spec& sp = *r.get();
    if (auto bad = invalid_flags(sp.flags)) return stop(exit_reason::other("{supervisor_data," + bad->to_string() + "}"));
    st.flags = sp.flags;
    st.intensity = internal::restart_intensity(st.flags.max_restarts, st.flags.max_seconds);
    for (auto& c : sp.children) {
      auto bad = invalid_spec(c, st.flags.auto_shutdown);
      if (!bad && find(st, c.id)) bad = exit_reason::other("{duplicate_child_name," + detail::quote(c.id) + "}");
      if (bad) return stop(exit_reason::other("{start_spec," + bad->to_string() + "}"));
      st.children.push_back(child_rec{std::move(c), {}, false});
    }
    // §11.4: in order; a failure stops the started ones and aborts.
    for (std::size_t i = 0; i < st.children.size(); ++i) {
      if (auto failed = start_one(st, i)) {
        terminate_children(st, i);
        return stop(exit_reason::shutdown(fmt::format("{{failed_to_start_child,{},{}}}",
                                                      detail::quote(st.children[i].spec.id), failed->to_string())));
      }
    }
    erase_ignored_temporaries(st);
    return ok(std::move(st));
  }

  call_result<std::vector<child_info>> handle_call(which_children_req, state& st) {
    std::vector<child_info> out;
    for (auto it = st.children.rbegin(); it != st.children.rend(); ++it) {  // §11.5: reverse start order
      auto status = it->running() ? child_info::status::running
                    : it->restarting ? child_info::status::restarting
                                     : child_info::status::undefined;
      out.push_back(child_info{it->spec.id, it->p, status, it->spec.type});
    }
    return reply(std::move(out));
  }

  call_result<supervisor::child_counts> handle_call(count_children_req, state& st) {
    supervisor::child_counts n;
    for (auto& c : st.children) {
      ++n.specs;
      if (c.running()) ++n.active;
      ++(c.spec.type == child_type::supervisor ? n.supervisors : n.workers);
    }
    return reply(n);
  }

  call_result<result> handle_call(terminate_child_req r, state& st) {  // §11.16
    auto* c = find(st, r.id);
    if (!c) return reply(result::error(exit_reason::other("not_found")));
    if (c->running()) stop_child(st, *c);
    c->restarting = false;
    if (c->spec.restart == restart_type::temporary) erase(st, r.id);
    return reply(result::ok_with({}));
  }

  call_result<result> handle_call(restart_child_req r, state& st) {  // §11.17
    auto* c = find(st, r.id);
    if (!c) return reply(result::error(exit_reason::other("not_found")));
    if (c->running()) return reply(result::error(exit_reason::other("running")));
    if (c->restarting) return reply(result::error(exit_reason::other("restarting")));
    std::size_t i = index_of(st, *c);
    if (auto failed = start_one(st, i)) return reply(result::error(std::move(*failed)));
    return reply(result::ok_with(st.children[i].p));
  }

  call_result<result> handle_call(delete_child_req r, state& st) {  // §11.18
    auto* c = find(st, r.id);
    if (!c) return reply(result::error(exit_reason::other("not_found")));
    if (c->running()) return reply(result::error(exit_reason::other("running")));
    if (c->restarting) return reply(result::error(exit_reason::other("restarting")));
    erase(st, r.id);
    return reply(result::ok_with({}));
  }

  call_result<result> handle_call(start_child_req r, state& st) {  // §11.19
    if (auto bad = invalid_spec(r.spec, st.flags.auto_shutdown)) return reply(result::error(std::move(*bad)));
    if (auto* c = find(st, r.spec.id)) {
      if (c->running())
        return reply(result::error(exit_reason::other("{already_started," + c->p.to_string() + "}"), c->p));
      return reply(result::error(exit_reason::other("already_present")));
    }
    st.children.push_back(child_rec{std::move(r.spec), {}, false});
    std::size_t i = st.children.size() - 1;
    if (auto failed = start_one(st, i)) {
      std::string where = "{child," + detail::quote(st.children[i].spec.id) + "}";
      st.children.pop_back();
      return reply(result::error(exit_reason::wrap(std::move(*failed), std::move(where))));
    }
    pid p = st.children[i].p;
    erase_ignored_temporaries(st);
    return reply(result::ok_with(std::move(p)));
  }

  call_result<std::optional<child_spec>> handle_call(get_childspec_req r, state& st) {
    auto* c = find(st, r.id);
    if (!c) return reply(std::optional<child_spec>());
    child_spec s = c->spec;
    s.shutdown = s.effective_shutdown();
    return reply(std::optional<child_spec>(std::move(s)));
  }

  noreply_result handle_cast(try_again_restart r, state& st) {  // §11.15
    auto* c = find(st, r.id);
    if (!c || !c->restarting) return noreply();
    return restart(st, index_of(st, *c));
  }

  noreply_result handle_info(exit_msg m, state& st) {
    auto it = std::find_if(st.children.begin(), st.children.end(), [&](const child_rec& c) { return c.p == m.from; });
    if (it == st.children.end()) return noreply();  // not (or no longer) ours: OTP ignores it
    return child_exited(st, static_cast<std::size_t>(it - st.children.begin()), m.reason);
  }

  noreply_result handle_info(message& m, state&) {  // §11.21
    log().log(log_level::error, fmt::format("Supervisor received unexpected message: {}", m.describe()));
    return noreply();
  }

  void terminate(const exit_reason&, state& st) { terminate_children(st, st.children.size()); }

  std::string format_status(const state& st) const {
    return fmt::format("supervisor {} with {} children", st.name, st.children.size());
  }

 private:
  static child_rec* find(state& st, const std::string& id) {
    auto it = std::find_if(st.children.begin(), st.children.end(), [&](const child_rec& c) { return c.spec.id == id; });
    return it == st.children.end() ? nullptr : &*it;
  }
  static std::size_t index_of(const state& st, const child_rec& c) {
    return static_cast<std::size_t>(&c - st.children.data());
  }
  static void erase(state& st, const std::string& id) {
    std::erase_if(st.children, [&](const child_rec& c) { return c.spec.id == id; });
  }
  // A temporary child that returned ignore leaves no spec behind (OTP).
  static void erase_ignored_temporaries(state& st) {
    std::erase_if(st.children, [](const child_rec& c) {
      return !c.running() && !c.restarting && c.spec.restart == restart_type::temporary;
    });
  }

  /// Starts child i; its start error, if any (ignore leaves it undefined).
  static std::optional<exit_reason> start_one(state& st, std::size_t i) {
    child_rec& c = st.children[i];
    child_start r = internal::start_child_process(c.spec, {});
    c.restarting = false;
    if (r.ok()) {
      c.p = r.get_pid();
      return std::nullopt;
    }
    c.p = {};
    if (r.ignored()) return std::nullopt;
    internal::report(st.name, "start_error", c.spec, r.get_error());
    return r.get_error();
  }

  static void stop_child(state& st, child_rec& c) {
    auto policy = c.spec.effective_shutdown();
    exit_reason why = internal::shutdown_child(c.p, policy);
    if (!internal::is_clean_shutdown(why, policy)) internal::report(st.name, "shutdown_error", c.spec, why);
    c.p = {};
  }

  /// Stops the running children before index `end`, last started first
  /// (§11.7); temporary ones are forgotten (they are never restarted).
  static void terminate_children(state& st, std::size_t end) {
    for (std::size_t i = end; i-- > 0;) {
      if (st.children[i].running()) stop_child(st, st.children[i]);
      st.children[i].restarting = false;
    }
  }

  noreply_result child_exited(state& st, std::size_t i, const exit_reason& reason) {
    child_rec& c = st.children[i];
    c.p = {};
    // OTP do_restart/3: a permanent child is reported whatever its reason.
    if (!reason.is_quiet() || c.spec.restart == restart_type::permanent)
      internal::report(st.name, "child_terminated", c.spec, reason);
    bool restart_it = c.spec.restart == restart_type::permanent ||
                      (c.spec.restart == restart_type::transient && !reason.is_quiet());
    if (restart_it) return restart(st, i);
    bool significant = c.spec.significant;
    if (c.spec.restart == restart_type::temporary) st.children.erase(st.children.begin() + static_cast<long>(i));
    if (significant && auto_shutdown_due(st)) return noreply_result(stop(exit_reason::shutdown()));  // §11.22
    return noreply();
  }

  static bool auto_shutdown_due(const state& st) {
    if (st.flags.auto_shutdown == supervisor::auto_shutdown::any_significant) return true;
    if (st.flags.auto_shutdown == supervisor::auto_shutdown::never) return false;
    return std::none_of(st.children.begin(), st.children.end(),
                        [](const child_rec& c) { return c.spec.significant && c.running(); });
  }

  /// Restarts child i by the strategy, or stops the supervisor when the
  /// intensity is exceeded (terminate then stops every child).
  noreply_result restart(state& st, std::size_t i) {
    if (!st.intensity.add()) {
      internal::report(st.name, "shutdown", st.children[i].spec,
                       exit_reason::other("reached_max_restart_intensity"));
      return noreply_result(stop(exit_reason::shutdown()));
    }
    auto strat = st.flags.strategy;
    if (strat != supervisor::strategy::one_for_one) {
      // §11.11/11.12: the others (all, or those started after i) stop last
      // started first; then they start again in order. A stopped temporary
      // child is forgotten instead.
      std::string id = st.children[i].spec.id;
      terminate_children_after(st, strat == supervisor::strategy::one_for_all ? 0 : i, i);
      std::erase_if(st.children, [&](const child_rec& c) {
        return c.spec.restart == restart_type::temporary && !c.running() && c.spec.id != id;
      });
      i = index_of(st, *find(st, id));
    }
    std::size_t from = strat == supervisor::strategy::one_for_all ? 0 : i;
    std::size_t end = strat == supervisor::strategy::one_for_one ? i + 1 : st.children.size();
    for (std::size_t k = from; k < end; ++k) {
      if (st.children[k].running()) continue;
      if (start_one(st, k)) {
        st.children[k].restarting = true;
        gen_server::cast(supervisor::ref(self()), try_again_restart{st.children[k].spec.id});
        break;
      }
    }
    return noreply();
  }

  // Stops, last first, the running children at or after `from` except `skip`.
  static void terminate_children_after(state& st, std::size_t from, std::size_t skip) {
    for (std::size_t k = st.children.size(); k-- > from;)
      if (k != skip && st.children[k].running()) stop_child(st, st.children[k]);
  }
};

namespace supervisor {

namespace detail {
start_result start_core(init_fn init, const start_options& opts, otp::detail::start_mode mode) {
  sup_args args{std::move(init), opts.name.empty() ? std::string() : opts.name.to_string()};
  return start_result(otp::detail::start_core(otp::detail::make_server<supervisor_server>(std::move(args)), opts, mode));
}
}  // namespace detail

start_result start_link(std::vector<child_spec> children, flags f, const start_options& opts) {
  return detail::start_core([c = std::move(children), f]() mutable { return init_result(spec{std::move(c), f}); }, opts,
                            otp::detail::start_mode::link);
}
start_result start(std::vector<child_spec> children, flags f, const start_options& opts) {
  return detail::start_core([c = std::move(children), f]() mutable { return init_result(spec{std::move(c), f}); }, opts,
                            otp::detail::start_mode::plain);
}

namespace {
template <class R>
auto sup_call(const otp::detail::target& sup, R&& req) {
  return gen_server::call(ref(sup), std::forward<R>(req), infinity);  // OTP: supervisor calls wait forever
}
}  // namespace

std::vector<child_info> which_children(const otp::detail::target& sup) {
  return sup_call(sup, supervisor_server::which_children_req{});
}
child_counts count_children(const otp::detail::target& sup) { return sup_call(sup, supervisor_server::count_children_req{}); }
result terminate_child(const otp::detail::target& sup, const std::string& id) {
  return sup_call(sup, supervisor_server::terminate_child_req{id});
}
result restart_child(const otp::detail::target& sup, const std::string& id) {
  return sup_call(sup, supervisor_server::restart_child_req{id});
}
result delete_child(const otp::detail::target& sup, const std::string& id) {
  return sup_call(sup, supervisor_server::delete_child_req{id});
}
result start_child(const otp::detail::target& sup, child_spec spec) {
  return sup_call(sup, supervisor_server::start_child_req{std::move(spec)});
}
std::optional<child_spec> get_childspec(const otp::detail::target& sup, const std::string& id) {
  return sup_call(sup, supervisor_server::get_childspec_req{id});
}

}  // namespace supervisor
}  // namespace otp
