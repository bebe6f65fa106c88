// otp::dynamic_supervisor (Elixir's DynamicSupervisor, §11.23–11.26) and
// otp::partition_supervisor.
//
// Children are kept by pid (a hash map: a dynamic supervisor may hold
// hundreds of thousands); a child between a failed restart and its retry
// has no pid and waits in `restarting` under a number of its own.

#include "otp/dynamic_supervisor.hpp"

#include <fmt/format.h>

#include <mutex>
#include <thread>
#include <unordered_map>

#include "node_impl.hpp"
#include "otp/logger.hpp"
#include "otp/process.hpp"
#include "supervisor/child.hpp"

namespace otp {

namespace {

using supervisor::child_info;
using supervisor::result;

struct dyn_args {
  dynamic_supervisor::options opts;
  std::string name;
};

/// Elixir validates a dynamic child's shutdown as a positive integer.
std::optional<exit_reason> invalid_dynamic_spec(const child_spec& s) {
  if (!s.start) return exit_reason::other("{invalid_mfa,undefined}");
  if (s.shutdown && s.shutdown->get_kind() == shutdown_policy::kind::timeout && s.shutdown->get_timeout().count() <= 0)
    return exit_reason::other(fmt::format("{{invalid_shutdown,{}}}", s.shutdown->get_timeout().count()));
  return std::nullopt;
}

}  // namespace

class dynamic_supervisor_server {
 public:
  struct state {
    dynamic_supervisor::options opts;
    std::unordered_map<pid, child_spec> children;
    std::unordered_map<std::uint64_t, child_spec> restarting;
    std::uint64_t next_restart_id = 0;
    internal::restart_intensity intensity;
    std::string name;
  };
  struct start_child_req {
    using reply = result;
    child_spec spec;
  };
  struct terminate_child_req {
    using reply = result;
    pid child;
  };
  struct which_children_req {
    using reply = std::vector<child_info>;
  };
  struct count_children_req {
    using reply = supervisor::child_counts;
  };
  struct try_again_restart {
    std::uint64_t id;
  };
  using accepts = types<exit_msg>;

  init_result<state> init(dyn_args a) {
    trap_exit(true);
    state st;
    st.name = a.name.empty() ? self().to_string() : std::move(a.name);
    if (a.opts.max_restarts < 0)
      return stop(exit_reason::other(fmt::format("{{supervisor_data,{{invalid_intensity,{}}}}}", a.opts.max_restarts)));
    if (a.opts.max_seconds.count() <= 0)
      return stop(exit_reason::other(fmt::format("{{supervisor_data,{{invalid_period,{}}}}}", a.opts.max_seconds.count())));
    st.intensity = internal::restart_intensity(a.opts.max_restarts, a.opts.max_seconds);
    st.opts = std::move(a.opts);
    return ok(std::move(st));
  }

  call_result<result> handle_call(start_child_req r, state& st) {  // §11.23
    if (auto bad = invalid_dynamic_spec(r.spec)) return reply(result::error(std::move(*bad)));
    if (st.opts.max_children && st.children.size() + st.restarting.size() >= *st.opts.max_children)
      return reply(result::error(exit_reason::other("max_children")));
    child_start s = internal::start_child_process(r.spec, st.opts.extra_arguments);
    if (s.ok()) {
      pid p = s.get_pid();
      st.children.emplace(p, std::move(r.spec));
      return reply(result::ok_with(std::move(p)));
    }
    if (s.ignored()) return reply(result::ignore());
    return reply(result::error(s.get_error()));
  }

  call_result<result> handle_call(terminate_child_req r, state& st) {  // §11.24
    auto it = st.children.find(r.child);
    if (it == st.children.end()) return reply(result::error(exit_reason::other("not_found")));
    child_spec spec = std::move(it->second);
    st.children.erase(it);
    stop_children(st, {{r.child, std::move(spec)}});
    return reply(result::ok_with({}));
  }

  call_result<std::vector<child_info>> handle_call(which_children_req, state& st) {
    std::vector<child_info> out;
    for (auto& [p, spec] : st.children) out.push_back(child_info{{}, p, child_info::status::running, spec.type});
    for (auto& [n, spec] : st.restarting) out.push_back(child_info{{}, {}, child_info::status::restarting, spec.type});
    return reply(std::move(out));
  }

  call_result<supervisor::child_counts> handle_call(count_children_req, state& st) {
    supervisor::child_counts n;
    auto count = [&](const child_spec& s) { ++(s.type == child_type::supervisor ? n.supervisors : n.workers); };
    for (auto& [p, spec] : st.children) count(spec);
    for (auto& [id, spec] : st.restarting) count(spec);
    n.active = st.children.size();
    n.specs = st.children.size() + st.restarting.size();
    return reply(n);
  }

  noreply_result handle_cast(try_again_restart r, state& st) {
    auto it = st.restarting.find(r.id);
    if (it == st.restarting.end()) return noreply();
    child_spec spec = std::move(it->second);
    st.restarting.erase(it);
    return restart(st, std::move(spec));
  }

  noreply_result handle_info(exit_msg m, state& st) {
    auto it = st.children.find(m.from);
    if (it == st.children.end()) return noreply();
    child_spec spec = std::move(it->second);
    st.children.erase(it);
    // Elixir maybe_restart_child/5: a permanent child is reported whatever its reason.
    if (!m.reason.is_quiet() || spec.restart == restart_type::permanent)
      internal::report(st.name, "child_terminated", spec, m.reason, true);
    bool restart_it = spec.restart == restart_type::permanent ||
                      (spec.restart == restart_type::transient && !m.reason.is_quiet());
    if (!restart_it) return noreply();
    return restart(st, std::move(spec));
  }

  noreply_result handle_info(message& m, state&) {
    log().log(log_level::error, fmt::format("DynamicSupervisor received unexpected message: {}", m.describe()));
    return noreply();
  }

  // §11.26: every child stops at once, each with its own shutdown timer.
  void terminate(const exit_reason&, state& st) {
    std::vector<std::pair<pid, child_spec>> all(std::make_move_iterator(st.children.begin()),
                                                std::make_move_iterator(st.children.end()));
    st.children.clear();
    stop_children(st, std::move(all));
  }

  std::string format_status(const state& st) const {
    return fmt::format("dynamic supervisor {} with {} children", st.name, st.children.size());
  }

 private:
  noreply_result restart(state& st, child_spec spec) {
    if (!st.intensity.add()) {
      internal::report(st.name, "shutdown", spec, exit_reason::other("reached_max_restart_intensity"), true);
      return noreply_result(stop(exit_reason::shutdown()));
    }
    child_start s = internal::start_child_process(spec, st.opts.extra_arguments);
    if (s.ok()) {
      st.children.emplace(s.get_pid(), std::move(spec));
    } else if (!s.ignored()) {
      internal::report(st.name, "start_error", spec, s.get_error(), true);
      std::uint64_t id = st.next_restart_id++;
      st.restarting.emplace(id, std::move(spec));
      gen_server::cast(dynamic_supervisor::ref(self()), try_again_restart{id});
    }
    return noreply();
  }

  static void stop_children(state& st, std::vector<std::pair<pid, child_spec>> children) {
    std::vector<std::pair<pid, shutdown_policy>> targets;
    targets.reserve(children.size());
    for (auto& [p, spec] : children) targets.emplace_back(p, spec.effective_shutdown());
    auto reasons = internal::shutdown_children(targets);
    for (std::size_t i = 0; i < children.size(); ++i)
      if (!internal::is_clean_shutdown(reasons[i], targets[i].second))
        internal::report(st.name, "shutdown_error", children[i].second, reasons[i], true);
  }
};

namespace dynamic_supervisor {

namespace {
start_result start_core(options o, const start_options& opts, otp::detail::start_mode mode) {
  dyn_args args{std::move(o), opts.name.empty() ? std::string() : opts.name.to_string()};
  return start_result(
      otp::detail::start_core(otp::detail::make_server<dynamic_supervisor_server>(std::move(args)), opts, mode));
}
template <class R>
auto sup_call(const otp::detail::target& sup, R&& req) {
  return gen_server::call(ref(sup), std::forward<R>(req), infinity);
}
}  // namespace

start_result start_link(options o, const start_options& opts) {
  return start_core(std::move(o), opts, otp::detail::start_mode::link);
}
start_result start(options o, const start_options& opts) {
  return start_core(std::move(o), opts, otp::detail::start_mode::plain);
}
supervisor::result start_child(const otp::detail::target& sup, child_spec spec) {
  return sup_call(sup, dynamic_supervisor_server::start_child_req{std::move(spec)});
}
supervisor::result terminate_child(const otp::detail::target& sup, const pid& child) {
  return sup_call(sup, dynamic_supervisor_server::terminate_child_req{child});
}
std::vector<supervisor::child_info> which_children(const otp::detail::target& sup) {
  return sup_call(sup, dynamic_supervisor_server::which_children_req{});
}
supervisor::child_counts count_children(const otp::detail::target& sup) {
  return sup_call(sup, dynamic_supervisor_server::count_children_req{});
}

}  // namespace dynamic_supervisor

// ------------------------------------------------------------ partitions
//
// Partition i is registered under the local name "<name>#<i>" as soon as
// it starts (and again after each restart), so routing is a name lookup
// and a dead partition's name is freed with it (§9.3): nothing stale.

namespace partition_supervisor {

namespace {
std::mutex counts_mu;
std::unordered_map<std::string, std::size_t> counts;  // name -> partitions

std::string partition_name(const std::string& name, std::size_t i) { return fmt::format("{}#{}", name, i); }
}  // namespace

supervisor::start_result start_link(options o) {
  if (o.name.empty()) throw badarg("partition_supervisor: a name is required");
  std::size_t n = o.partitions ? o.partitions : std::max(1u, std::thread::hardware_concurrency());
  if (otp::node* nd = otp::node::default_node(); nd && !o.partitions) n = nd->scheduler_count();
  std::vector<child_spec> children;
  for (std::size_t i = 0; i < n; ++i) {
    child_spec spec;
    if (o.child) {
      spec = o.child(i);
    } else {
      spec.start = [] { return dynamic_supervisor::start_link(); };
      spec.type = child_type::supervisor;
    }
    spec.id = std::to_string(i);
    spec.start = [inner = std::move(spec.start), pname = partition_name(o.name, i)](const std::any& extra) {
      child_start s = inner(extra);
      if (!s.ok()) return s;
      try {
        register_name(pname, s.get_pid());
      } catch (const badarg&) {
        // The name is taken (or the partition died at once): do not leave a
        // running partition that its supervisor does not know about.
        pid p = s.get_pid();
        unlink(p);
        exit(p, exit_reason::kill());
        return child_start::error(exit_reason::other("{partition_name_taken," + detail::quote(pname) + "}"));
      }
      return s;
    };
    children.push_back(std::move(spec));
  }
  // Known before the partitions start (whereis works from their init on);
  // put back as it was if this start fails (e.g. the name is taken by a
  // running partition supervisor, whose count must stay).
  std::optional<std::size_t> before;
  {
    std::lock_guard lk(counts_mu);
    if (auto it = counts.find(o.name); it != counts.end()) before = it->second;
    counts[o.name] = n;
  }
  start_options top;
  top.name = o.name;
  auto r = supervisor::start_link(std::move(children), o.flags, top);
  if (!r.ok()) {
    std::lock_guard lk(counts_mu);
    if (before) counts[o.name] = *before;
    else counts.erase(o.name);
  }
  return r;
}

std::size_t partitions(const std::string& name) {
  std::lock_guard lk(counts_mu);
  auto it = counts.find(name);
  return it == counts.end() ? 0 : it->second;
}

pid whereis(const std::string& name, std::size_t key) {
  std::size_t n = partitions(name);
  if (n == 0) return {};
  return otp::whereis(partition_name(name, key % n)).value_or(pid{});
}

}  // namespace partition_supervisor
}  // namespace otp
