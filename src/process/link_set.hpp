#pragma once
// The links of a process (owner only). Most processes have none or one (a
// start_link'ed server's parent), so the first link lives inline and costs
// no allocation; more spill into a vector. Two pointers in every process
// instead of a vector's three plus a heap block for a single link.

#include <algorithm>
#include <memory>
#include <utility>
#include <vector>

#include "otp/pid.hpp"

namespace otp::internal {

class link_set {
 public:
  bool contains(const pid& p) const noexcept {
    return first_ == p || (more_ && std::find(more_->begin(), more_->end(), p) != more_->end());
  }
  /// Adds `p` (the caller has checked it is not already linked).
  void add(pid p) {
    if (!first_) {
      first_ = std::move(p);
      return;
    }
    if (!more_) more_ = std::make_unique<std::vector<pid>>();
    more_->push_back(std::move(p));
  }
  void remove(const pid& p) noexcept {
    if (first_ == p) {
      first_ = {};
      if (more_ && !more_->empty()) {  // keep the inline slot filled
        first_ = std::move(more_->back());
        more_->pop_back();
      }
      return;
    }
    if (more_) std::erase(*more_, p);
  }
  template <class F>
  void for_each(F&& f) const {
    if (!first_) return;  // the inline slot is empty only when the set is
    f(first_);
    if (more_)
      for (const pid& p : *more_) f(p);
  }
  std::vector<pid> to_vector() const {
    std::vector<pid> out;
    for_each([&](const pid& p) { out.push_back(p); });
    return out;
  }
  void clear() noexcept {
    first_ = {};
    more_.reset();
  }
  /// Gives back the memory of a set that shrank.
  void compact() {
    if (!more_) return;
    if (more_->empty()) more_.reset();
    else more_->shrink_to_fit();
  }

 private:
  pid first_;
  std::unique_ptr<std::vector<pid>> more_;
};

}  // namespace otp::internal
