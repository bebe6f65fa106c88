#pragma once
/// \file otp/pid.hpp
/// Process identifiers: `otp::pid`, like an Erlang pid.

#include <atomic>
#include <compare>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>

namespace otp {

namespace detail {
/// The part of a process control block that a pid can see. A pid holds a
/// strong count on it: the block outlives the process (so that a send to a
/// dead pid is a cheap no-op, as in Erlang) and is freed with the last pid.
struct process_base {
  std::uint64_t serial = 0;  ///< unique per node, never reused
  // Last: the runtime's control block puts its small fields in the tail padding.
  std::atomic<std::uint32_t> refs{1};
  process_base() = default;
  process_base(const process_base&) = delete;
  process_base& operator=(const process_base&) = delete;
};
/// Frees the control block (defined in the runtime). Called on the last release.
void destroy_process(process_base* p) noexcept;

inline void retain(process_base* p) noexcept {
  // Relaxed: taking a new reference needs no ordering (we already own one).
  if (p) p->refs.fetch_add(1, std::memory_order_relaxed);
}
inline void release(process_base* p) noexcept {
  // acq_rel: the last owner must see every write made through other refs.
  if (p && p->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) destroy_process(p);
}
}  // namespace detail

/// Identifies a process. Copyable, hashable, totally ordered (by creation),
/// printable as `<0.N.0>`. A default-constructed pid refers to no process.
/// Sending to the pid of a process that has exited is silently dropped.
/// @threadsafe (a pid value may be copied and used from any thread).
class pid {
 public:
  pid() noexcept = default;
  pid(const pid& o) noexcept : p_(o.p_) { detail::retain(p_); }
  pid(pid&& o) noexcept : p_(o.p_) { o.p_ = nullptr; }
  pid& operator=(const pid& o) noexcept {
    detail::retain(o.p_);
    detail::release(p_);
    p_ = o.p_;
    return *this;
  }
  pid& operator=(pid&& o) noexcept {
    if (this != &o) {
      detail::release(p_);
      p_ = o.p_;
      o.p_ = nullptr;
    }
    return *this;
  }
  ~pid() { detail::release(p_); }

  /// Node-unique serial number (the N in `<0.N.0>`); 0 for an empty pid.
  std::uint64_t serial() const noexcept { return p_ ? p_->serial : 0; }
  explicit operator bool() const noexcept { return p_ != nullptr; }
  std::string to_string() const;

  friend bool operator==(const pid& a, const pid& b) noexcept { return a.p_ == b.p_; }
  friend std::strong_ordering operator<=>(const pid& a, const pid& b) noexcept {
    return a.serial() <=> b.serial();
  }

  /// Runtime use only: adopts a reference already counted for this pid.
  static pid adopt(detail::process_base* p) noexcept {
    pid r;
    r.p_ = p;
    return r;
  }
  detail::process_base* get() const noexcept { return p_; }
  /// Runtime use only: gives up the reference without dropping it (the
  /// inverse of adopt).
  detail::process_base* release() noexcept { return std::exchange(p_, nullptr); }

 private:
  detail::process_base* p_ = nullptr;
};

}  // namespace otp

template <>
struct std::hash<otp::pid> {
  std::size_t operator()(const otp::pid& p) const noexcept { return std::hash<std::uint64_t>{}(p.serial()); }
};
