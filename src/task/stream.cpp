// Task.async_stream's machinery (../shared/otp-semantics.md §13.9).
//
// Elixir runs a helper "monitor" process per stream that spawns the tasks
// (linked to itself, trapping exits if the owner does), arms their timers and
// kills them when the stream closes. Here the owner does that work itself
// between results, which saves a process and a message hop per input:
//  * each task is monitored by the owner, and linked to it unless the owner
//    traps exits (read once, at the start, as Elixir's helper copies the
//    flag). So a crash kills a non-trapping owner through the link, and a
//    trapping owner sees `{exit, Reason}` without `{EXIT, ...}` messages
//    piling up in its mailbox. A trapping owner's tasks still die with it:
//    exits unwind the owner's stack, and the stream's destructor kills them.
//  * a task leaves its value in its slot and exits; the owner emits on the
//    DOWN. No task message can therefore reach the owner once the stream is
//    closed, and closing (the destructor) needs no receive, so it cannot throw.
//  * each task's deadline is kept here; the owner's receive waits until the
//    earliest one. A timeout is `{timeout,{Task.Supervised,stream,[T]}}` (the
//    caller exits, by `otp::exit_error`) or `{exit, timeout}` (kill_task).

#include <algorithm>
#include <string>

#include "otp/task.hpp"
#include "process/process.hpp"

namespace otp::detail {

namespace {
std::string timeout_text(timeout t) { return t == infinity ? "infinity" : std::to_string(t.count()); }
}  // namespace

stream_engine::stream_engine(std::unique_ptr<stream_source> src, const stream_options& opts)
    : src_(std::move(src)), opts_(opts), max_(opts.max_concurrency), owner_(self()) {
  if (max_ == 0) max_ = std::max(1u, task_schedulers());
  link_ = !internal::current_process().trapping();
}

stream_engine::~stream_engine() { close(); }

bool stream_engine::match(const void* self, const message& m) {
  auto* d = m.get_if<down_msg>();
  return d && static_cast<const stream_engine*>(self)->running_.count(d->mref.id()) != 0;
}

void stream_engine::spawn_one(stream_spawned s) {
  ref r = task_start(s.p);  // monitor + go
  entry e;
  e.p = std::move(s.p);
  e.slot = std::move(s.slot);
  e.input = std::move(s.input);
  e.pos = spawned_++;
  if (opts_.timeout != infinity) e.deadline = task_now() + opts_.timeout;
  running_.emplace(r.id(), std::move(e));
}

std::optional<stream_item> stream_engine::next() {
  if (owner_ != self()) throw badarg("async_stream must be consumed by the process that created it");
  for (;;) {
    if (closed_) return std::nullopt;
    // Keep max_concurrency tasks running (Elixir fills up before it waits);
    // a task counts until its DOWN, as in Elixir.
    while (!exhausted_ && running_.size() < max_) {
      auto s = src_->next(link_);
      if (!s) {
        exhausted_ = true;
        break;
      }
      spawn_one(std::move(*s));
    }
    if (opts_.ordered) {
      auto it = done_.find(delivered_);
      if (it != done_.end()) {
        stream_item item = std::move(it->second);
        done_.erase(it);
        ++delivered_;
        return item;
      }
    } else if (!ready_.empty()) {
      stream_item item = std::move(ready_.front());
      ready_.pop_front();
      return item;
    }
    if (running_.empty()) return std::nullopt;
    wait_one();
  }
}

void stream_engine::wait_one() {
  timeout wait = infinity;
  if (opts_.timeout != infinity) {
    auto now = task_now();
    for (auto& [id, e] : running_)
      if (!e.timed_out) wait = std::min(wait, std::max(timeout::zero(), e.deadline - now));
  }
  auto m = receive_core(&stream_engine::match, this, wait);
  if (!m) {
    on_timeouts();
    return;
  }
  auto& d = m->get<down_msg>();
  auto node = running_.extract(d.mref.id());
  entry& e = node.mapped();
  stream_item item;
  if (e.slot->state.load(std::memory_order_acquire) == task_slot::sent) {
    // It finished fn (even if it was being killed for its timeout: Elixir
    // also keeps a reply that beat the kill).
    item.ok = true;
    item.value = std::move(e.slot->value);
  } else {
    exit_reason reason = e.timed_out ? exit_reason::timeout() : std::move(d.reason);
    item.reason = opts_.zip_input_on_exit ? exit_reason::other("{" + e.input + "," + reason.to_string() + "}")
                                          : std::move(reason);
  }
  if (opts_.ordered) done_.emplace(e.pos, std::move(item));
  else ready_.push_back(std::move(item));
}

void stream_engine::on_timeouts() {
  auto now = task_now();
  for (auto& [id, e] : running_) {
    if (e.timed_out || e.deadline > now) continue;
    if (e.slot->abandon() == task_slot::sent) continue;  // it finished in time: its DOWN is coming
    if (opts_.on_timeout == stream_timeout::exit) {
      close();
      throw exit_error(exit_reason::wrap(exit_reason::timeout(),
                                         "{Task.Supervised,stream,[" + timeout_text(opts_.timeout) + "]}"));
    }
    // kill_task: unlinked first, so that its `killed` does not reach us.
    unlink(e.p);
    exit(e.p, exit_reason::kill());
    e.timed_out = true;
  }
}

void stream_engine::close() noexcept {
  if (closed_) return;
  closed_ = true;
  // Elixir's stream_close: the tasks still running are killed, their values
  // abandoned, their links and monitors removed. None of these calls acts on
  // the owner's own incoming signals, so none throws.
  for (auto& [id, e] : running_) {
    e.slot->abandon();
    unlink(e.p);
    exit(e.p, exit_reason::kill());
    demonitor(ref(id), {.flush = true});
  }
  running_.clear();
  done_.clear();
  ready_.clear();
}

}  // namespace otp::detail
