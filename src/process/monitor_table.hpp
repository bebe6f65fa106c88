#pragma once
// The monitors a process holds or is the target of, keyed by ref. A
// process with any has one or two (a spawn_monitor'ed worker and its
// spawner), so the first entry lives inline; a process with many (a
// supervisor, a spawner) spills into a hash map. Most processes have none
// (gen_server calls do not monitor, see request_node): the process keeps
// its two tables behind one pointer (process::monitor_sets).

#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>

#include "otp/pid.hpp"
#include "otp/ref.hpp"

namespace otp::internal {

struct monitor_entry {
  pid other;         // the target (monitors held) or the watcher (monitored by)
  std::string name;  // a monitor by registered name reports it in DOWN
};

class monitor_table {
 public:
  void add(ref r, monitor_entry e) {
    if (!first_) {
      first_.emplace(r, std::move(e));
      return;
    }
    if (!more_) more_ = std::make_unique<std::unordered_map<ref, monitor_entry>>();
    more_->emplace(r, std::move(e));
  }
  /// Removes and returns the entry for `r`, if any.
  std::optional<monitor_entry> take(ref r) {
    if (first_ && first_->first == r) {
      std::optional<monitor_entry> out(std::move(first_->second));
      first_.reset();
      return out;
    }
    if (!more_) return std::nullopt;
    auto it = more_->find(r);
    if (it == more_->end()) return std::nullopt;
    std::optional<monitor_entry> out(std::move(it->second));
    more_->erase(it);
    return out;
  }
  template <class F>
  void for_each(F&& f) const {
    if (first_) f(first_->first, first_->second);
    if (more_)
      for (const auto& [r, e] : *more_) f(r, e);
  }
  std::size_t size() const noexcept { return (first_ ? 1 : 0) + (more_ ? more_->size() : 0); }
  void clear() {
    first_.reset();
    more_.reset();
  }
  /// Gives back the memory of a table that shrank.
  void compact() {
    if (more_ && more_->empty()) more_.reset();
    else if (more_) more_->rehash(0);
  }

 private:
  std::optional<std::pair<ref, monitor_entry>> first_;
  std::unique_ptr<std::unordered_map<ref, monitor_entry>> more_;  // allocated past one entry
};

}  // namespace otp::internal
