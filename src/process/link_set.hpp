#pragma once
// The links of a process (owner only). Most processes have none or one (a
// start_link'ed server's parent), so the set is one word: empty, the one
// linked pid's reference, or (low bit set) a vector for two links or more.
// One word in every process instead of a vector's three plus a heap block
// for a single link.

#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

#include "otp/pid.hpp"

namespace otp::internal {

class link_set {
 public:
  link_set() = default;
  link_set(const link_set&) = delete;
  link_set& operator=(const link_set&) = delete;
  ~link_set() { clear(); }

  bool contains(const pid& p) const noexcept {
    if (many()) return std::find(vec().begin(), vec().end(), p) != vec().end();
    return word_ != 0 && one() == p.get();
  }
  /// Adds `p` (the caller has checked it is not already linked).
  void add(pid p) {
    if (word_ == 0) {
      word_ = reinterpret_cast<std::uintptr_t>(p.release());
      return;
    }
    if (!many()) {
      auto* v = new std::vector<pid>();
      v->reserve(2);
      v->push_back(pid::adopt(one()));
      word_ = reinterpret_cast<std::uintptr_t>(v) | 1;
    }
    vec().push_back(std::move(p));
  }
  void remove(const pid& p) noexcept {
    if (many()) {
      std::erase(vec(), p);
      if (vec().empty()) clear();
      return;
    }
    if (word_ != 0 && one() == p.get()) clear();
  }
  template <class F>
  void for_each(F&& f) const {
    if (many()) {
      for (const pid& p : vec()) f(p);
    } else if (word_ != 0) {
      pid borrowed = pid::adopt(one());
      f(std::as_const(borrowed));
      (void)borrowed.release();  // borrowed: the reference stays ours
    }
  }
  std::vector<pid> to_vector() const {
    std::vector<pid> out;
    for_each([&](const pid& p) { out.push_back(p); });
    return out;
  }
  void clear() noexcept {
    if (many()) delete &vec();
    else if (word_ != 0) detail::release(one());
    word_ = 0;
  }
  /// Gives back the memory of a set that shrank.
  void compact() {
    if (!many()) return;
    if (vec().size() == 1) {
      pid last = std::move(vec().front());
      delete &vec();
      word_ = reinterpret_cast<std::uintptr_t>(last.release());
    } else {
      vec().shrink_to_fit();
    }
  }

 private:
  bool many() const noexcept { return (word_ & 1) != 0; }
  detail::process_base* one() const noexcept { return reinterpret_cast<detail::process_base*>(word_); }
  std::vector<pid>& vec() const noexcept { return *reinterpret_cast<std::vector<pid>*>(word_ & ~std::uintptr_t{1}); }

  std::uintptr_t word_ = 0;
};

}  // namespace otp::internal
