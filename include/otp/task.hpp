#pragma once
/// \file otp/task.hpp
/// Elixir's `Task`: run a function in a process of its own and collect its
/// result (`otp::tasks::async` / `await`), or run many over a range with a
/// bound on concurrency (`otp::tasks::async_stream`).
///
///   auto t = otp::tasks::async([] { return 6 * 7; });   // linked + monitored
///   int v = otp::tasks::await(t);                        // 42 (5 s timeout)
///
///   for (auto& r : otp::tasks::async_stream(urls, fetch, {.max_concurrency = 4}))
///     if (r) use(r.value()); else log(r.reason());
///
/// Semantics (../shared/otp-semantics.md §13):
///  * `async` links the task to the caller (its *owner*) and monitors it;
///    the task's reply is a `task_reply<T>{ref, value}` message, followed by
///    the DOWN of the monitor if nobody awaits it (match both in a
///    gen_server's handle_info, as in Elixir).
///  * `await` returns the value. On timeout the caller exits with
///    `{timeout,{Task,await,[Task,Timeout]}}`: it throws `otp::exit_error`,
///    which a process may catch (Elixir's `catch :exit`) and which, if
///    uncaught, ends the process with that reason (and the link takes the
///    task down with it). A reply that comes after the timeout never reaches
///    the owner's mailbox (OTP 24's alias, see `detail::task_slot`).
///  * A task that crashes kills a non-trapping owner through the link; a
///    trapping owner's `await` throws `{Reason,{Task,await,[...]}}`.
///  * Only the owner may await, yield or shut down a task (else `otp::badarg`,
///    Elixir's ArgumentError).
///
/// Functions returning `void` give `otp::unit` (Elixir's `:ok`).

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <ranges>
#include <string>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include "otp/describe.hpp"
#include "otp/error.hpp"
#include "otp/exit_reason.hpp"
#include "otp/message.hpp"
#include "otp/pid.hpp"
#include "otp/process.hpp"
#include "otp/receive.hpp"
#include "otp/ref.hpp"

namespace otp {

/// What a task whose function returns `void` gives back (Elixir's `:ok`).
struct unit {
  friend bool operator==(unit, unit) noexcept { return true; }
};

/// The default timeout of await, yield, shutdown and async_stream (5000 ms).
inline constexpr timeout default_task_timeout{5000};

/// `Task.shutdown(task, :brutal_kill)`.
struct brutal_kill_t {
  explicit constexpr brutal_kill_t() = default;
};
inline constexpr brutal_kill_t brutal_kill{};

/// The message a task sends its owner: Elixir's `{ref, result}`.
template <class T>
struct task_reply {
  ref tref;  ///< the task's ref (`task<T>::get_ref()`)
  T value;
};

/// `{ok, value}` or `{exit, reason}`: what yield, shutdown and async_stream give.
template <class T>
class task_result {
 public:
  static task_result make_ok(T v) { return task_result(std::in_place_index<0>, std::move(v)); }
  static task_result make_exit(exit_reason r) { return task_result(std::in_place_index<1>, std::move(r)); }
  /// True for `{ok, value}`.
  bool ok() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }
  /// The value; for an `{exit, reason}` throws `otp::exit_error(reason)`.
  T& value() {
    if (!ok()) throw exit_error(std::get<1>(v_));
    return std::get<0>(v_);
  }
  const T& value() const {
    if (!ok()) throw exit_error(std::get<1>(v_));
    return std::get<0>(v_);
  }
  /// The exit reason (`normal` for an ok result).
  const exit_reason& reason() const noexcept {
    static const exit_reason none;
    return ok() ? none : std::get<1>(v_);
  }

 private:
  template <std::size_t I, class V>
  task_result(std::in_place_index_t<I> i, V&& v) : v_(i, std::forward<V>(v)) {}
  std::variant<T, exit_reason> v_;
};

// ================================================================ internals

namespace detail {

/// A task's reply slot: OTP 24's alias, in miniature. A reply must never
/// reach an owner that gave up on it (await timed out, the stream closed),
/// but a message cannot be recalled once sent. So the two sides agree before
/// the send: the task moves `pending -> sent` and only then sends; the owner
/// giving up moves `pending -> abandoned`. Exactly one CAS wins: if the
/// owner's fails, the reply is already on its way (the task sends right
/// after its CAS, before it exits), so the owner receives it (or the task's
/// DOWN, if it was killed in between) instead of leaving it to land later.
/// `received` (owner only) marks a reply already taken, so that a second
/// await waits its full timeout (§13.4) instead of waiting for a reply.
struct task_slot {
  enum : int { pending = 0, sent = 1, received = 2, abandoned = 3 };
  std::atomic<int> state{pending};
  /// Task side: true if the reply may be sent.
  bool claim() noexcept {
    int e = pending;
    return state.compare_exchange_strong(e, sent, std::memory_order_acq_rel);
  }
  /// Owner side: gives up; returns the state before (pending if given up now).
  int abandon() noexcept {
    int e = pending;
    if (state.compare_exchange_strong(e, abandoned, std::memory_order_acq_rel)) return pending;
    return e;
  }
};

/// The go-ahead a task waits for before it runs: the owner's monitor ref
/// (Elixir 1.14's `{owner, ref, alias}` message). Spawning linked, then
/// monitoring, then letting the task run gives the atomic link + monitor
/// of `spawn_opt([link, monitor])`: the task cannot exit in between.
struct task_go {
  ref tref;
};
/// Owner side: monitors `p` and lets it run; returns the monitor ref.
ref task_start(const pid& p);
/// Task side: waits for the go-ahead; returns the ref to reply with.
ref task_await_go();
/// The node clock (ms), for deadlines shared by several receives.
std::chrono::milliseconds task_now();
/// The number of schedulers of the caller's node (System.schedulers_online()).
unsigned task_schedulers();

/// The part of a task that does not depend on its result type.
class task_base {
 public:
  task_base() = default;
  task_base(pid p, ref r, pid owner, std::shared_ptr<task_slot> slot)
      : pid_(std::move(p)), ref_(r), owner_(std::move(owner)), slot_(std::move(slot)) {}
  /// The task's process (empty for a default-constructed task).
  const pid& get_pid() const noexcept { return pid_; }
  /// The ref its reply carries (also the owner's monitor on it).
  const ref& get_ref() const noexcept { return ref_; }
  /// The process that started it: the only one allowed to await it.
  const pid& owner() const noexcept { return owner_; }
  /// `%Task{owner: <0.1.0>, pid: <0.2.0>, ref: #Ref<0.3>}` (Elixir's inspect).
  std::string to_string() const;
  task_slot& slot() const noexcept { return *slot_; }

 private:
  pid pid_;
  ref ref_;
  pid owner_;
  std::shared_ptr<task_slot> slot_;
};

/// Is `m` a reply of the task's type? Then its ref, else null.
using reply_ref_fn = const ref* (*)(const message& m);
template <class T>
const ref* reply_ref_of(const message& m) {
  auto* r = m.get_if<task_reply<T>>();
  return r ? &r->tref : nullptr;
}

/// The outcome of waiting for a task: its reply, its DOWN, or nothing.
struct task_wait {
  enum class kind { reply, down, none } k = kind::none;
  message reply;       ///< a task_reply<T>
  exit_reason reason;  ///< down
};

message await_core(const task_base& t, reply_ref_fn f, timeout tmo);
task_wait yield_core(const task_base& t, reply_ref_fn f, timeout tmo);
task_wait shutdown_core(const task_base& t, reply_ref_fn f, std::optional<timeout> tmo);
std::vector<message> await_many_core(const std::vector<const task_base*>& ts, reply_ref_fn f, timeout tmo);

template <class F>
using task_fn_result_t = std::invoke_result_t<std::decay_t<F>&>;
template <class R>
using task_value_from_t = std::conditional_t<std::is_void_v<R>, unit, std::decay_t<R>>;
template <class F>
using task_value_t = task_value_from_t<task_fn_result_t<F>>;

template <class T, class F, class... A>
T run_task_fn(F& fn, A&&... a) {
  if constexpr (std::is_void_v<std::invoke_result_t<F&, A...>>) {
    std::invoke(fn, std::forward<A>(a)...);
    return unit{};
  } else {
    return std::invoke(fn, std::forward<A>(a)...);
  }
}

template <class T>
std::optional<task_result<T>> to_result(task_wait&& w) {
  switch (w.k) {
    case task_wait::kind::reply:
      return task_result<T>::make_ok(std::move(w.reply.get<task_reply<T>>().value));
    case task_wait::kind::down:
      return task_result<T>::make_exit(std::move(w.reason));
    default:
      return std::nullopt;
  }
}

}  // namespace detail

/// A running task (Elixir's `%Task{}`): its pid, its ref and its owner.
/// Copyable; awaiting through any copy is awaiting the task.
template <class T>
class task : public detail::task_base {
 public:
  using value_type = T;
  task() = default;
  task(pid p, ref r, pid owner, std::shared_ptr<detail::task_slot> slot)
      : detail::task_base(std::move(p), r, std::move(owner), std::move(slot)) {}
};

namespace tasks {

/// Runs `fn()` in a new process linked to the caller and monitored by it
/// (Elixir `Task.async/1`). The result type is `fn`'s (`otp::unit` for
/// void). An exception escaping `fn` is the task's exit reason.
template <class F>
task<detail::task_value_t<F>> async(F&& fn) {
  using T = detail::task_value_t<F>;
  auto slot = std::make_shared<detail::task_slot>();
  pid owner = self();
  // Linked and monitored in one step (spawn_opt [link, monitor]), with the
  // monitor's ref made first so the task can tag its reply with it: the
  // task runs at once and never waits for a go-ahead.
  ref r = make_ref();
  pid p = detail::spawn_core(detail::make_body([fn = std::forward<F>(fn), owner, slot, r]() mutable {
                               T v = detail::run_task_fn<T>(fn);
                               if (slot->claim()) send(owner, task_reply<T>{r, std::move(v)});
                             }),
                             {}, detail::spawn_mode::link_monitor, &r);
  return task<T>(std::move(p), r, std::move(owner), std::move(slot));
}

/// The task's result (Elixir `Task.await/2`). Throws `otp::exit_error`:
/// `{timeout,{Task,await,[Task,Timeout]}}` (the task keeps running, its late
/// reply is dropped), or `{Reason,{Task,await,[...]}}` if the task died with
/// Reason. Throws `otp::badarg` if the caller is not the owner.
template <class T>
T await(const task<T>& t, timeout tmo = default_task_timeout) {
  message m = detail::await_core(t, &detail::reply_ref_of<T>, tmo);
  return std::move(m.get<task_reply<T>>().value);
}

/// Waits up to `tmo` (Elixir `Task.yield/2`): `{ok, v}`, `{exit, reason}` if
/// the task died, or nullopt (nil) if neither came: the monitor stays, so
/// yield can be called again.
template <class T>
std::optional<task_result<T>> yield(const task<T>& t, timeout tmo = default_task_timeout) {
  return detail::to_result<T>(detail::yield_core(t, &detail::reply_ref_of<T>, tmo));
}

/// Unlinks and stops the task (Elixir `Task.shutdown/2`): `exit(task,
/// shutdown)`, then `kill` after `tmo`. `{ok, v}` if its reply had come,
/// nullopt if it was shut down, `{exit, reason}` if it died otherwise (a
/// task trapping exits that outlives `tmo` gives `{exit, killed}`).
template <class T>
std::optional<task_result<T>> shutdown(const task<T>& t, timeout tmo = default_task_timeout) {
  return detail::to_result<T>(detail::shutdown_core(t, &detail::reply_ref_of<T>, tmo));
}
/// `Task.shutdown(task, :brutal_kill)`: kills the task at once.
template <class T>
std::optional<task_result<T>> shutdown(const task<T>& t, brutal_kill_t) {
  return detail::to_result<T>(detail::shutdown_core(t, &detail::reply_ref_of<T>, std::nullopt));
}

/// Awaits every task within one timeout (Elixir `Task.await_many/2`): the
/// results in the tasks' order. Throws `{timeout | Reason,{Task,await_many,
/// [Tasks,Timeout]}}` as await does; no late reply of any task arrives after.
template <class T>
std::vector<T> await_many(const std::vector<task<T>>& ts, timeout tmo = default_task_timeout) {
  std::vector<const detail::task_base*> bases;
  bases.reserve(ts.size());
  for (auto& t : ts) bases.push_back(&t);
  std::vector<message> ms = detail::await_many_core(bases, &detail::reply_ref_of<T>, tmo);
  std::vector<T> out;
  out.reserve(ms.size());
  for (auto& m : ms) out.push_back(std::move(m.get<task_reply<T>>().value));
  return out;
}

/// Yields every task within one timeout (Elixir `Task.yield_many/2`):
/// element i is task i's `{ok, v}`, `{exit, reason}` or nullopt (Elixir
/// pairs each with its task; here the index does).
template <class T>
std::vector<std::optional<task_result<T>>> yield_many(const std::vector<task<T>>& ts,
                                                      timeout tmo = default_task_timeout) {
  std::vector<std::optional<task_result<T>>> out;
  out.reserve(ts.size());
  const bool forever = tmo == infinity;
  const auto deadline = forever ? std::chrono::milliseconds(0) : detail::task_now() + tmo;
  for (auto& t : ts) {
    timeout left = forever ? infinity : std::max(timeout::zero(), deadline - detail::task_now());
    out.push_back(yield(t, left));
  }
  return out;
}

/// Starts `fn()` in a process not linked to the caller (Elixir
/// `Task.start/1`, which returns `{ok, pid}`). Nothing is sent back.
template <class F>
pid start(F&& fn) {
  return spawn([fn = std::forward<F>(fn)]() mutable { (void)std::invoke(fn); });
}
/// As `start`, linked to the caller (Elixir `Task.start_link/1`).
template <class F>
pid start_link(F&& fn) {
  return spawn_link([fn = std::forward<F>(fn)]() mutable { (void)std::invoke(fn); });
}

}  // namespace tasks

// ================================================================ async_stream

/// What async_stream does when a task outlives its timeout.
enum class stream_timeout {
  exit,       ///< the caller exits `{timeout,{Task.Supervised,stream,[Timeout]}}` (default)
  kill_task,  ///< the task is killed and `{exit, timeout}` is emitted in its place
};

/// Options of `tasks::async_stream` (Elixir's keyword options).
struct stream_options {
  unsigned max_concurrency = 0;  ///< tasks at once; 0 = the node's schedulers (System.schedulers_online())
  bool ordered = true;           ///< results in input order; false: in completion order
  otp::timeout timeout = default_task_timeout;  ///< per task, from its start
  stream_timeout on_timeout = stream_timeout::exit;
  bool zip_input_on_exit = false;  ///< `{exit, {Input, Reason}}` (the input as otp::describe prints it)
};

namespace detail {

/// A stream task's slot. A stream task sends no reply: it leaves its value
/// here (then claims the slot) and exits; the owner acts on its DOWN, as
/// Elixir's stream does. So no message of a stream task can ever reach the
/// owner after the stream is closed, even from its destructor.
struct stream_slot : task_slot {
  message value;  ///< written by the task before claim(); read by the owner after `sent`
};
/// A task the stream started: its pid, its slot, its input as text.
struct stream_spawned {
  pid p;
  std::shared_ptr<stream_slot> slot;
  std::string input;  // for zip_input_on_exit
};
/// The inputs and the function: starts the task for the next input (linked
/// to the owner or not).
struct stream_source {
  virtual ~stream_source() = default;
  virtual std::optional<stream_spawned> next(bool link) = 0;
};
/// One emitted result: ok with the value (a message holding T), or an exit.
struct stream_item {
  bool ok = false;
  message value;
  exit_reason reason;
};

/// The stream's machinery (src/task/stream.cpp). Runs in the owner: keeps at
/// most max_concurrency tasks alive (a task counts until its DOWN, as in
/// Elixir), arms each one's deadline when it starts, and emits results in
/// input or completion order. Destroying it kills the tasks still running
/// (Elixir's stream_close): none of their replies arrives afterwards.
class stream_engine {
 public:
  stream_engine(std::unique_ptr<stream_source> src, const stream_options& opts);
  ~stream_engine();
  stream_engine(const stream_engine&) = delete;
  stream_engine& operator=(const stream_engine&) = delete;
  /// The next result, or nullopt at the end.
  std::optional<stream_item> next();

 private:
  struct entry {
    pid p;
    std::shared_ptr<stream_slot> slot;
    std::string input;
    std::size_t pos = 0;
    std::chrono::milliseconds deadline{0};
    bool timed_out = false;
  };
  static bool match(const void* self, const message& m);
  void spawn_one(stream_spawned s);
  void wait_one();
  void on_timeouts();
  void close() noexcept;

  std::unique_ptr<stream_source> src_;
  stream_options opts_;
  unsigned max_;
  pid owner_;
  bool link_ = true;  // false if the owner traps exits (see stream.cpp)
  bool exhausted_ = false;
  bool closed_ = false;
  std::size_t spawned_ = 0;
  std::size_t delivered_ = 0;
  std::unordered_map<std::uint64_t, entry> running_;  // by monitor ref
  std::map<std::size_t, stream_item> done_;            // ordered: by position
  std::deque<stream_item> ready_;                      // unordered: completion order
};

template <class V, class F, class T>
class stream_source_of final : public stream_source {
 public:
  stream_source_of(V inputs, F fn, bool zip) : inputs_(std::move(inputs)), fn_(std::move(fn)), zip_(zip) {}
  std::optional<stream_spawned> next(bool link) override {
    if (!started_) {
      it_.emplace(std::ranges::begin(inputs_));
      started_ = true;
    }
    if (*it_ == std::ranges::end(inputs_)) return std::nullopt;
    using In = std::ranges::range_value_t<V>;
    In arg = **it_;
    ++*it_;
    stream_spawned s;
    if (zip_) s.input = otp::describe(arg);
    s.slot = std::make_shared<stream_slot>();
    auto body = [fn = fn_, arg = std::move(arg), slot = s.slot]() mutable {
      (void)task_await_go();
      slot->value = message(run_task_fn<T>(fn, std::move(arg)));
      (void)slot->claim();  // publishes the value, unless the stream gave up on it
    };
    s.p = link ? spawn_link(std::move(body)) : spawn(std::move(body));
    return s;
  }

 private:
  V inputs_;
  F fn_;
  bool zip_;
  bool started_ = false;
  std::optional<std::ranges::iterator_t<V>> it_;
};

}  // namespace detail

/// The lazy result of `tasks::async_stream`: an input range of
/// `task_result<T>`. Tasks start as it is consumed (up to max_concurrency
/// ahead); it must be consumed by the process that made it. Move-only;
/// destroying it before the end kills the tasks still running.
template <class T>
class async_stream {
 public:
  class iterator {
   public:
    using value_type = task_result<T>;
    using difference_type = std::ptrdiff_t;
    using iterator_concept = std::input_iterator_tag;
    iterator() = default;
    explicit iterator(async_stream* s) : s_(s) {}
    task_result<T>& operator*() const { return *s_->cur_; }
    task_result<T>* operator->() const { return &*s_->cur_; }
    iterator& operator++() {
      s_->advance();
      return *this;
    }
    void operator++(int) { ++*this; }
    friend bool operator==(const iterator& i, std::default_sentinel_t) noexcept { return i.at_end(); }

   private:
    bool at_end() const noexcept { return !s_ || !s_->cur_; }
    async_stream* s_ = nullptr;
  };

  explicit async_stream(std::unique_ptr<detail::stream_engine> e) : engine_(std::move(e)) {}
  async_stream(async_stream&&) noexcept = default;
  async_stream& operator=(async_stream&&) noexcept = default;

  /// Starts consuming (call once: an input range).
  iterator begin() {
    advance();
    return iterator(this);
  }
  std::default_sentinel_t end() const noexcept { return {}; }
  /// Runs the whole stream (Elixir's `Enum.to_list`).
  std::vector<task_result<T>> to_vector() {
    std::vector<task_result<T>> out;
    for (auto& r : *this) out.push_back(std::move(r));
    return out;
  }

 private:
  void advance() {
    cur_.reset();
    if (!engine_) return;
    auto item = engine_->next();
    if (!item) return;
    if (item->ok) cur_.emplace(task_result<T>::make_ok(std::move(item->value.template get<T>())));
    else cur_.emplace(task_result<T>::make_exit(std::move(item->reason)));
  }
  std::unique_ptr<detail::stream_engine> engine_;
  std::optional<task_result<T>> cur_;
};

namespace tasks {

/// Runs `fn(input)` for each input in its own task linked to the caller
/// (Elixir `Task.async_stream/3`), at most `max_concurrency` at once, and
/// returns a lazy range of `{ok, value}` / `{exit, reason}`. A task crash
/// kills a non-trapping caller (the link); a trapping one sees `{exit,
/// reason}`. `inputs` is kept like a range adaptor keeps it (an lvalue by
/// reference: it must outlive the stream; an rvalue moved in); `fn` is
/// copied into every task, so it must be copyable.
template <std::ranges::input_range R, class F>
auto async_stream(R&& inputs, F fn, const stream_options& opts = {}) {
  using V = std::views::all_t<R>;
  using In = std::ranges::range_value_t<V>;
  using T = detail::task_value_from_t<std::invoke_result_t<F&, In&&>>;
  auto src = std::make_unique<detail::stream_source_of<V, F, T>>(std::views::all(std::forward<R>(inputs)),
                                                                 std::move(fn), opts.zip_input_on_exit);
  return otp::async_stream<T>(std::make_unique<detail::stream_engine>(std::move(src), opts));
}

}  // namespace tasks

}  // namespace otp
