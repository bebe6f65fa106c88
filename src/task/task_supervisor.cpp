// otp::task_supervisor: a dynamic supervisor whose children are tasks.

#include "otp/task_supervisor.hpp"

namespace otp::task_supervisor {

dynamic_supervisor::start_result start_link(options o, const start_options& opts) {
  dynamic_supervisor::options d;
  d.max_restarts = o.max_restarts;
  d.max_seconds = o.max_seconds;
  d.max_children = o.max_children;
  return dynamic_supervisor::start_link(std::move(d), opts);
}

namespace detail {
supervisor::result start_task_child(const otp::detail::target& sup, start_function start, restart_type restart,
                                    shutdown_policy shutdown) {
  child_spec spec;
  spec.start = std::move(start);
  spec.restart = restart;
  spec.shutdown = shutdown;
  return dynamic_supervisor::start_child(sup, std::move(spec));
}
}  // namespace detail

std::vector<pid> children(const otp::detail::target& sup) {
  std::vector<pid> out;
  for (auto& c : dynamic_supervisor::which_children(sup))
    if (c.child) out.push_back(c.child);
  return out;
}

supervisor::result terminate_child(const otp::detail::target& sup, const pid& task) {
  return dynamic_supervisor::terminate_child(sup, task);
}

}  // namespace otp::task_supervisor
