#pragma once
// The monitors a process holds or is the target of, keyed by ref. Most
// processes have none or one (a spawn_monitor'ed worker, a call in
// progress), so the first entry lives inline and costs no allocation; a
// process with many (a supervisor, a spawner) spills into a hash map.

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
    if (!first_) first_.emplace(r, std::move(e));
    else more_.emplace(r, std::move(e));
  }
  /// Removes and returns the entry for `r`, if any.
  std::optional<monitor_entry> take(ref r) {
    if (first_ && first_->first == r) {
      std::optional<monitor_entry> out(std::move(first_->second));
      first_.reset();
      return out;
    }
    auto it = more_.find(r);
    if (it == more_.end()) return std::nullopt;
    std::optional<monitor_entry> out(std::move(it->second));
    more_.erase(it);
    return out;
  }
  template <class F>
  void for_each(F&& f) const {
    if (first_) f(first_->first, first_->second);
    for (const auto& [r, e] : more_) f(r, e);
  }
  std::size_t size() const noexcept { return (first_ ? 1 : 0) + more_.size(); }
  void clear() {
    first_.reset();
    more_.clear();
  }
  /// Gives back the buckets of a table that shrank.
  void compact() {
    if (more_.empty()) std::unordered_map<ref, monitor_entry>().swap(more_);
    else more_.rehash(0);
  }

 private:
  std::optional<std::pair<ref, monitor_entry>> first_;
  std::unordered_map<ref, monitor_entry> more_;
};

}  // namespace otp::internal
