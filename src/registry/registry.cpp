// otp::registry (Elixir's Registry, otp-semantics.md §12): tables, the
// supervisor and partition processes, and the non-template API. The layout
// and its invariants are explained in registry_state.hpp.

#include <algorithm>
#include <functional>
#include <mutex>
#include <shared_mutex>
#include <unordered_map>

#include "otp/process.hpp"
#include "otp/receive.hpp"
#include "otp/ref.hpp"
#include "registry/registry_state.hpp"

namespace otp {

std::string register_result::to_string() const {
  return ok() ? std::string("ok") : "{already_registered," + holder_.to_string() + "}";
}

namespace detail {

namespace {

std::atomic<std::uint64_t> next_registry_id{1};

// ------------------------------------------------------------ directory

struct directory {
  std::mutex mu;
  std::unordered_map<pid, std::weak_ptr<registry_state>> by_pid;
  std::unordered_map<std::uint64_t, std::weak_ptr<registry_state>> by_id;
};
directory& dir() {
  static auto* d = new directory;  // never destroyed: used until the last process exits
  return *d;
}

// ------------------------------------------------------------ messages

struct registry_started {
  ref tag;
};
struct registry_stop {
  exit_reason reason;
};

// ------------------------------------------------------------ processes

/// A partition process: traps exits; the EXIT of a registrant cleans its
/// entries (§12.7), the EXIT of the supervisor ends it.
struct partition_body {
  std::shared_ptr<registry_state> st;
  unsigned index;
  pid parent;

  void operator()() {
    for (;;) {
      otp::receive(
          [this](exit_msg& e) {
            if (e.from == parent) {
              exit_reason r = e.reason;
              otp::exit(r);
            }
            st->cleanup(index, e.from);
          },
          [](message&) {});  // nothing else is expected: dropped
    }
  }
};

/// Marks the registry stopped (whatever ends the supervisor, even `kill`).
struct sup_guard {
  registry_state& st;
  ~sup_guard() {
    st.alive.store(false, std::memory_order_release);
    registry_unpublish(st);
  }
};

/// The registry's supervisor: owns the name, starts the partitions, and
/// stops them (with `shutdown`, waiting for each) before it exits, as a
/// one_for_all supervisor does. A partition that dies stops the registry
/// (Elixir would restart all partitions, losing every entry anyway).
struct supervisor_body {
  std::shared_ptr<registry_state> st;
  pid caller;
  ref tag;
  bool linked;

  void operator()() {
    sup_guard guard{*st};
    pid me = self();
    st->sup = me;
    for (unsigned i = 0; i < st->n; ++i) {
      spawn_options o;
      o.trap_exit = true;
      st->parts[i]->owner = spawn_link(partition_body{st, i, me}, o);
    }
    registry_publish(st);
    st->alive.store(true, std::memory_order_release);
    otp::send(caller, registry_started{tag});
    const pid parent = linked ? caller : pid{};
    for (;;) {
      otp::receive(
          [&](exit_msg& e) {
            if (parent && e.from == parent) terminate(e.reason, pid{});
            for (auto& part : st->parts)
              if (part->owner == e.from) terminate(e.reason, e.from);
            // an EXIT from anyone else: ignored, as a supervisor does
          },
          [&](registry_stop& s) { terminate(s.reason, pid{}); }, [](message&) {});
    }
  }

  [[noreturn]] void terminate(exit_reason reason, const pid& dead) {
    st->alive.store(false, std::memory_order_release);
    for (auto it = st->parts.rbegin(); it != st->parts.rend(); ++it) {
      const pid& p = (*it)->owner;
      if (p == dead) continue;
      ref m = otp::monitor(p);
      otp::exit(p, exit_reason::shutdown());
      (void)otp::receive_if<down_msg>([&m](const down_msg& d) { return d.mref == m; }, infinity);
    }
    otp::exit(reason);
  }
};

void remove_owned(std::vector<registry_key_entry>& es, const pid& who, std::vector<registry_key_entry>& garbage) {
  auto keep = std::stable_partition(es.begin(), es.end(), [&](const registry_key_entry& e) { return !(e.owner == who); });
  std::move(keep, es.end(), std::back_inserter(garbage));
  es.erase(keep, es.end());
}

}  // namespace

// ------------------------------------------------------------ state

registry_state::registry_state(const registry_options& opts, registry_core::typing t)
    : kind(opts.keys),
      name(opts.name),
      n(opts.partitions),
      listeners(opts.listeners),
      typing(std::move(t)),
      id(next_registry_id.fetch_add(1, std::memory_order_relaxed)) {
  parts.reserve(n);
  for (unsigned i = 0; i < n; ++i) parts.push_back(std::make_unique<registry_partition>());
  for (auto& [k, v] : opts.meta) meta[k] = v;
}

unsigned registry_state::key_partition(const std::string& key) const noexcept {
  return n == 1 ? 0 : static_cast<unsigned>(std::hash<std::string>{}(key) % n);
}
unsigned registry_state::pid_partition(const pid& p) const noexcept {
  return n == 1 ? 0 : static_cast<unsigned>(std::hash<pid>{}(p) % n);
}

std::string registry_state::label() const {
  if (!name.empty()) return name;
  return sup ? sup.to_string() : std::string("<anonymous registry>");
}

void registry_state::cleanup(unsigned partition, const pid& dead) {
  std::vector<registry_pid_key> keys;
  {
    auto& part = *parts[partition];
    std::unique_lock lk(part.pids_mu);
    auto it = part.pids.find(dead);
    if (it == part.pids.end()) return;
    keys = std::move(it->second);
    part.pids.erase(it);
  }
  std::vector<registry_key_entry> garbage;  // destroyed after the locks are released
  for (auto& k : keys) {
    auto& part = *parts[k.key_partition];
    std::unique_lock lk(part.keys_mu);
    auto it = part.keys.find(k.key);
    if (it == part.keys.end()) continue;
    std::size_t before = garbage.size();
    remove_owned(it->second, dead, garbage);
    part.size -= garbage.size() - before;
    if (it->second.empty()) part.keys.erase(it);
  }
}

// ------------------------------------------------------------ directory

void registry_publish(const std::shared_ptr<registry_state>& st) {
  auto& d = dir();
  std::lock_guard lk(d.mu);
  d.by_pid[st->sup] = st;
  d.by_id[st->id] = st;
}
void registry_unpublish(const registry_state& st) {
  auto& d = dir();
  std::lock_guard lk(d.mu);
  if (st.sup) d.by_pid.erase(st.sup);
  d.by_id.erase(st.id);
}
std::shared_ptr<registry_state> registry_by_pid(const pid& p) {
  auto& d = dir();
  std::lock_guard lk(d.mu);
  auto it = d.by_pid.find(p);
  return it == d.by_pid.end() ? nullptr : it->second.lock();
}
std::shared_ptr<registry_state> registry_by_id(std::uint64_t id) {
  auto& d = dir();
  std::lock_guard lk(d.mu);
  auto it = d.by_id.find(id);
  return it == d.by_id.end() ? nullptr : it->second.lock();
}
std::shared_ptr<registry_state> registry_by_name(std::string_view name) {
  if (name.empty()) return nullptr;
  auto p = otp::whereis(name);
  if (!p) return nullptr;
  auto st = registry_by_pid(*p);
  if (!st || !st->alive.load(std::memory_order_acquire)) return nullptr;
  return st;
}

// ------------------------------------------------------------ registry_core

registry_core registry_core::start(const registry_options& opts, bool link, typing t) {
  if (opts.partitions == 0) throw badarg("registry: partitions must be a positive integer");
  auto st = std::make_shared<registry_state>(opts, std::move(t));
  pid caller = self();
  ref tag = make_ref();
  spawn_options so;
  so.trap_exit = true;
  so.name = opts.name;
  pid sup;
  try {
    supervisor_body body{st, caller, tag, link};
    sup = link ? spawn_link(std::move(body), so) : spawn(std::move(body), so);
  } catch (const badarg&) {
    pid holder = otp::whereis(opts.name).value_or(pid{});
    throw exit_error(exit_reason::other("{already_started," + holder.to_string() + "}"));
  }
  ref mon = otp::monitor(sup);
  exit_reason why;
  bool started = otp::receive(
      when([&tag](const registry_started& s) { return s.tag == tag; }, [](const registry_started&) { return true; }),
      when([&mon](const down_msg& d) { return d.mref == mon; },
           [&why](const down_msg& d) {
             why = d.reason;
             return false;
           }));
  if (!started) throw exit_error(why);
  otp::demonitor(mon, {.flush = true});
  return registry_core(std::move(st));
}

registry_core registry_core::named(std::string_view name, const std::type_info& value_type) {
  auto st = registry_by_name(name);
  if (!st) throw badarg("unknown registry: " + std::string(name));
  if (*st->typing.value_type != value_type)
    throw badarg("registry " + std::string(name) + " holds values of type " +
                 demangle(st->typing.value_type->name()) + ", not " + demangle(value_type.name()));
  return registry_core(std::move(st));
}

registry_state& registry_core::state() const {
  if (!st_) throw badarg("unknown registry: <none>");
  if (!st_->alive.load(std::memory_order_acquire)) throw badarg("unknown registry: " + st_->label());
  return *st_;
}

bool registry_core::alive() const noexcept { return st_ && st_->alive.load(std::memory_order_acquire); }
pid registry_core::supervisor() const { return st_ ? st_->sup : pid{}; }
const std::string& registry_core::name() const {
  static const std::string none;
  return st_ ? st_->name : none;
}
registry_keys registry_core::kind() const { return st_ ? st_->kind : registry_keys::unique; }
unsigned registry_core::partitions() const { return st_ ? st_->n : 0; }
std::vector<pid> registry_core::partition_owners() const {
  std::vector<pid> out;
  if (st_)
    for (auto& p : st_->parts) out.push_back(p->owner);
  return out;
}

namespace {
void notify_register(registry_state& s, const std::string& key, const pid& me, const registry_value& v) {
  for (auto& l : s.listeners) otp::send(std::string_view(l), s.typing.make_register_msg(s.name, key, me, v));
}
void notify_unregister(registry_state& s, const std::string& key, const pid& me) {
  for (auto& l : s.listeners) otp::send(std::string_view(l), registry_unregister{s.name, key, me});
}

/// Removes up to `count` of `me`'s pid table items for `key` (all if
/// count is 0); true if `me` has no items left in the partition.
bool drop_pid_keys(registry_partition& part, const pid& me, const std::string& key, std::size_t count) {
  std::unique_lock lk(part.pids_mu);
  auto it = part.pids.find(me);
  if (it == part.pids.end()) return true;
  auto& v = it->second;
  std::size_t removed = 0;
  for (auto i = v.size(); i-- > 0;) {
    if (count && removed == count) break;
    if (v[i].key == key) {
      v.erase(v.begin() + static_cast<std::ptrdiff_t>(i));
      ++removed;
    }
  }
  if (!v.empty()) return false;
  part.pids.erase(it);
  return true;
}
}  // namespace

register_result registry_core::register_key(const std::string& key, registry_value value) const {
  registry_state& s = state();
  pid me = self();
  const unsigned pp = s.pid_partition(me);
  const unsigned kp = s.unique() ? s.key_partition(key) : pp;
  registry_partition& home = *s.parts[pp];
  otp::link(home.owner);  // first: whatever we write below, the partition can clean up
  {
    std::unique_lock lk(home.pids_mu);
    home.pids[me].push_back({key, kp});
  }
  registry_value notified = value;
  pid holder;
  registry_key_entry stale;  // released after the lock
  {
    registry_partition& kpart = *s.parts[kp];
    std::unique_lock lk(kpart.keys_mu);
    if (s.unique()) {
      auto [it, fresh] = kpart.keys.try_emplace(key);
      if (fresh) {
        it->second.push_back({me, std::move(value)});
        ++kpart.size;
      } else if (registry_key_entry& e = it->second.front(); is_alive(e.owner)) {
        holder = e.owner;  // §12.2: a live holder, the caller included
      } else {
        stale = std::move(e);  // §12.7: a dead holder not yet cleaned up
        e = {me, std::move(value)};
      }
    } else {
      kpart.keys[key].push_back({me, std::move(value)});
      ++kpart.size;
    }
  }
  if (holder) {
    if (drop_pid_keys(home, me, key, 1)) otp::unlink(home.owner);
    return register_result::already_registered(std::move(holder));
  }
  notify_register(s, key, me, notified);
  return register_result::registered(home.owner);
}

void registry_core::unregister(const std::string& key) const {
  registry_state& s = state();
  pid me = self();
  const unsigned pp = s.pid_partition(me);
  const unsigned kp = s.unique() ? s.key_partition(key) : pp;
  std::vector<registry_key_entry> garbage;
  {
    registry_partition& kpart = *s.parts[kp];
    std::unique_lock lk(kpart.keys_mu);
    if (auto it = kpart.keys.find(key); it != kpart.keys.end()) {
      remove_owned(it->second, me, garbage);
      kpart.size -= garbage.size();
      if (it->second.empty()) kpart.keys.erase(it);
    }
  }
  registry_partition& home = *s.parts[pp];
  if (drop_pid_keys(home, me, key, 0)) otp::unlink(home.owner);
  notify_unregister(s, key, me);  // Elixir notifies even if nothing was registered
}

void registry_core::unregister_match(const std::string& key, const std::function<bool(const void*)>& pred) const {
  registry_state& s = state();
  pid me = self();
  const unsigned pp = s.pid_partition(me);
  const unsigned kp = s.unique() ? s.key_partition(key) : pp;
  registry_partition& kpart = *s.parts[kp];
  std::vector<registry_value> mine;
  {
    std::shared_lock lk(kpart.keys_mu);
    if (auto it = kpart.keys.find(key); it != kpart.keys.end())
      for (auto& e : it->second)
        if (e.owner == me) mine.push_back(e.value);
  }
  if (mine.empty()) return;
  // The predicate runs outside the lock; the matched values are then
  // removed by identity (only the caller changes its own entries).
  std::vector<const void*> matched;
  for (auto& v : mine)
    if (pred(v.get())) matched.push_back(v.get());
  if (matched.empty()) return;
  std::vector<registry_key_entry> garbage;
  {
    std::unique_lock lk(kpart.keys_mu);
    if (auto it = kpart.keys.find(key); it != kpart.keys.end()) {
      auto& es = it->second;
      for (auto i = es.size(); i-- > 0;) {
        if (!(es[i].owner == me)) continue;
        auto m = std::find(matched.begin(), matched.end(), es[i].value.get());
        if (m == matched.end()) continue;
        matched.erase(m);
        garbage.push_back(std::move(es[i]));
        es.erase(es.begin() + static_cast<std::ptrdiff_t>(i));
      }
      kpart.size -= garbage.size();
      if (es.empty()) kpart.keys.erase(it);
    }
  }
  if (garbage.empty()) return;
  registry_partition& home = *s.parts[pp];
  if (drop_pid_keys(home, me, key, garbage.size())) otp::unlink(home.owner);
  notify_unregister(s, key, me);
}

namespace {
void snapshot(const registry_partition& part, const std::string& key, std::vector<registry_raw_entry>& out) {
  std::shared_lock lk(part.keys_mu);
  auto it = part.keys.find(key);
  if (it == part.keys.end()) return;
  for (auto& e : it->second) out.push_back({e.owner, e.value});
}
}  // namespace

std::vector<registry_raw_entry> registry_core::lookup(const std::string& key) const {
  registry_state& s = state();
  std::vector<registry_raw_entry> out;
  if (s.unique()) {
    snapshot(*s.parts[s.key_partition(key)], key, out);
  } else {
    for (auto& p : s.parts) snapshot(*p, key, out);  // duplicate keys: by pid, so every partition
  }
  return out;
}

std::vector<registry_raw_triple> registry_core::select(
    const std::function<bool(const std::string&, const pid&, const void*)>& pred) const {
  registry_state& s = state();
  std::vector<registry_raw_triple> out;
  std::vector<registry_raw_triple> all;
  for (auto& p : s.parts) {
    all.clear();
    {
      std::shared_lock lk(p->keys_mu);
      all.reserve(p->size);
      for (auto& [k, es] : p->keys)
        for (auto& e : es) all.push_back({k, e.owner, e.value});
    }
    for (auto& t : all)
      if (pred(t.key, t.owner, t.value.get())) out.push_back(std::move(t));
  }
  return out;
}

std::size_t registry_core::count() const {
  registry_state& s = state();
  std::size_t n = 0;
  for (auto& p : s.parts) {
    std::shared_lock lk(p->keys_mu);
    n += p->size;
  }
  return n;
}

std::vector<std::string> registry_core::keys(const pid& p) const {
  registry_state& s = state();
  std::vector<registry_pid_key> items;
  {
    auto& part = *s.parts[s.pid_partition(p)];
    std::shared_lock lk(part.pids_mu);
    if (auto it = part.pids.find(p); it != part.pids.end()) items = it->second;
  }
  std::vector<std::string> out;
  for (auto& k : items) {
    if (s.unique()) {
      // A unique key of a dead pid may have been taken over (§12.7): keep
      // only the keys whose entry is still p's, once each.
      if (std::find(out.begin(), out.end(), k.key) != out.end()) continue;
      auto& part = *s.parts[k.key_partition];
      std::shared_lock lk(part.keys_mu);
      auto it = part.keys.find(k.key);
      if (it == part.keys.end() || !(it->second.front().owner == p)) continue;
    }
    out.push_back(std::move(k.key));
  }
  return out;
}

std::vector<registry_value> registry_core::values(const std::string& key, const pid& p) const {
  registry_state& s = state();
  const unsigned kp = s.unique() ? s.key_partition(key) : s.pid_partition(p);
  auto& part = *s.parts[kp];
  std::vector<registry_value> out;
  std::shared_lock lk(part.keys_mu);
  if (auto it = part.keys.find(key); it != part.keys.end())
    for (auto& e : it->second)
      if (e.owner == p) out.push_back(e.value);
  return out;
}

std::optional<std::pair<registry_value, registry_value>> registry_core::update_value(
    const std::string& key, const std::function<registry_value(const void*)>& fn) const {
  registry_state& s = state();
  if (!s.unique()) throw badarg("Registry.update_value/3 is not supported for duplicate registries");
  pid me = self();
  auto& part = *s.parts[s.key_partition(key)];
  registry_value old;
  {
    std::shared_lock lk(part.keys_mu);
    auto it = part.keys.find(key);
    if (it == part.keys.end() || !(it->second.front().owner == me)) return std::nullopt;
    old = it->second.front().value;
  }
  registry_value fresh = fn(old.get());  // outside the lock: only the owner changes its entry
  {
    std::unique_lock lk(part.keys_mu);
    auto it = part.keys.find(key);
    if (it == part.keys.end() || !(it->second.front().owner == me)) return std::nullopt;
    old = std::exchange(it->second.front().value, fresh);
  }
  return std::pair<registry_value, registry_value>(std::move(fresh), std::move(old));
}

void registry_core::dispatch(const std::string& key, const std::function<void(std::vector<registry_raw_entry>&&)>& fn,
                             dispatch_options opts) const {
  registry_state& s = state();
  std::vector<const registry_partition*> parts;
  if (s.unique()) parts.push_back(s.parts[s.key_partition(key)].get());
  else
    for (auto& p : s.parts) parts.push_back(p.get());
  if (!opts.parallel) {
    for (auto* p : parts) {
      std::vector<registry_raw_entry> es;
      snapshot(*p, key, es);
      if (!es.empty()) fn(std::move(es));  // §12.5: once per partition with entries
    }
    return;
  }
  // parallel: one process per non-empty partition, as Elixir's tasks; the
  // caller waits for all of them (so `fn` may be captured by reference).
  std::vector<ref> mons;
  for (auto* p : parts) {
    std::vector<registry_raw_entry> es;
    snapshot(*p, key, es);
    if (es.empty()) continue;
    mons.push_back(spawn_monitor([&fn, es = std::move(es)]() mutable { fn(std::move(es)); }).second);
  }
  std::optional<exit_reason> failed;
  for (auto& m : mons) {
    auto d = otp::receive_if<down_msg>([&m](const down_msg& x) { return x.mref == m; }, infinity);
    if (!d->reason.is_normal() && !failed) failed = d->reason;
  }
  if (failed) throw exit_error(*failed);
}

std::optional<std::any> registry_core::meta(const std::string& key) const {
  registry_state& s = state();
  std::lock_guard lk(s.meta_mu);
  auto it = s.meta.find(key);
  if (it == s.meta.end()) return std::nullopt;
  return it->second;
}

void registry_core::put_meta(const std::string& key, std::any value) const {
  registry_state& s = state();
  std::any old;  // destroyed outside the lock
  std::lock_guard lk(s.meta_mu);
  auto& slot = s.meta[key];
  old = std::exchange(slot, std::move(value));
}

void registry_core::stop(const exit_reason& reason) const {
  registry_state& s = state();
  pid sup = s.sup;
  ref m = otp::monitor(sup);
  otp::send(sup, registry_stop{reason});
  (void)otp::receive_if<down_msg>([&m](const down_msg& d) { return d.mref == m; }, infinity);
}

}  // namespace detail
}  // namespace otp
