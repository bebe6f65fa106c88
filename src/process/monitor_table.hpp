#pragma once
// The monitors a process holds or is the target of, keyed by ref. Most
// processes have none (gen_server calls do not monitor, see request_node),
// so a table is a single pointer until its first entry; the first entry
// then lives in that allocation, and a process with many (a supervisor, a
// spawner) spills into a hash map. (Inline, the two tables were a quarter
// of an idle server's bytes.)

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
    if (!s_) s_ = std::make_unique<storage>();
    if (!s_->first) {
      s_->first.emplace(r, std::move(e));
      return;
    }
    if (!s_->more) s_->more = std::make_unique<std::unordered_map<ref, monitor_entry>>();
    s_->more->emplace(r, std::move(e));
  }
  /// Removes and returns the entry for `r`, if any.
  std::optional<monitor_entry> take(ref r) {
    if (!s_) return std::nullopt;
    if (s_->first && s_->first->first == r) {
      std::optional<monitor_entry> out(std::move(s_->first->second));
      s_->first.reset();
      return out;
    }
    if (!s_->more) return std::nullopt;
    auto it = s_->more->find(r);
    if (it == s_->more->end()) return std::nullopt;
    std::optional<monitor_entry> out(std::move(it->second));
    s_->more->erase(it);
    return out;
  }
  template <class F>
  void for_each(F&& f) const {
    if (!s_) return;
    if (s_->first) f(s_->first->first, s_->first->second);
    if (s_->more)
      for (const auto& [r, e] : *s_->more) f(r, e);
  }
  std::size_t size() const noexcept {
    if (!s_) return 0;
    return (s_->first ? 1 : 0) + (s_->more ? s_->more->size() : 0);
  }
  void clear() { s_.reset(); }
  /// Gives back the memory of a table that shrank.
  void compact() {
    if (!s_) return;
    if (size() == 0) s_.reset();
    else if (s_->more && s_->more->empty()) s_->more.reset();
    else if (s_->more) s_->more->rehash(0);
  }

 private:
  struct storage {
    std::optional<std::pair<ref, monitor_entry>> first;
    std::unique_ptr<std::unordered_map<ref, monitor_entry>> more;  // allocated past one entry
  };
  std::unique_ptr<storage> s_;  // allocated on first use: one pointer in every process
};

}  // namespace otp::internal
