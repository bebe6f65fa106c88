#pragma once
// A hierarchical timing wheel (6 levels of 64 slots; the tick is set by the
// owner, 100 µs in the node): O(1) insert and cancel, and the next expiry is
// found from per-level occupancy bitmaps, so a manual clock can jump hours
// ahead without stepping tick by tick. Not thread-safe: the owner locks.
//
// Invariant (as in tokio's wheel): an entry sits at the level of the highest
// 6-bit digit in which its deadline differs from `now`, so at every level the
// occupied slots are at or after now's slot, and any entry of a lower level
// expires before any entry of a higher one.

#include <bit>
#include <cstdint>
#include <optional>

namespace otp::internal {

struct wheel_entry {
  std::uint64_t deadline = 0;  // in ticks
  wheel_entry* prev = nullptr;
  wheel_entry* next = nullptr;
  std::uint8_t level = 0;
  std::uint8_t slot = 0;
  bool linked = false;
  bool is_wait = false;  // a process's wait deadline (timer_service::wait_entry)
};

class timer_wheel {
 public:
  static constexpr unsigned levels = 6;
  static constexpr unsigned slots = 64;
  static constexpr std::uint64_t max_span = (std::uint64_t{1} << (6 * levels)) - 1;

  std::uint64_t now() const noexcept { return now_; }

  /// Inserts `e` (deadline already set; a deadline at or before now goes
  /// into the current slot and fires at the next poll).
  void insert(wheel_entry* e) noexcept {
    if (e->deadline <= now_) e->deadline = now_;
    if (e->deadline - now_ > max_span) e->deadline = now_ + max_span;
    unsigned lvl = level_for(e->deadline);
    unsigned s = slot_for(e->deadline, lvl);
    e->level = static_cast<std::uint8_t>(lvl);
    e->slot = static_cast<std::uint8_t>(s);
    e->prev = nullptr;
    e->next = heads_[lvl][s];
    if (e->next) e->next->prev = e;
    heads_[lvl][s] = e;
    occupied_[lvl] |= std::uint64_t{1} << s;
    e->linked = true;
    ++size_;
  }

  void remove(wheel_entry* e) noexcept {
    if (!e->linked) return;
    if (e->prev) e->prev->next = e->next;
    else heads_[e->level][e->slot] = e->next;
    if (e->next) e->next->prev = e->prev;
    if (!heads_[e->level][e->slot]) occupied_[e->level] &= ~(std::uint64_t{1} << e->slot);
    e->linked = false;
    e->prev = e->next = nullptr;
    --size_;
  }

  /// The earliest tick at which something is due, if any.
  std::optional<std::uint64_t> next_expiry() const noexcept {
    for (unsigned lvl = 0; lvl < levels; ++lvl) {
      if (!occupied_[lvl]) continue;
      unsigned s = static_cast<unsigned>(std::countr_zero(occupied_[lvl]));
      if (lvl == 0) return (now_ & ~std::uint64_t{63}) | s;
      const std::uint64_t slot_span = std::uint64_t{1} << (6 * lvl);
      const std::uint64_t level_start = now_ & ~(slot_span * slots - 1);
      std::uint64_t t = level_start + s * slot_span;
      return t < now_ ? now_ : t;
    }
    return std::nullopt;
  }

  /// Advances to `to`, calling `fire(entry)` for every entry due by then
  /// (in deadline order between slots). Entries are unlinked before `fire`.
  template <class Fire>
  void advance(std::uint64_t to, Fire&& fire) {
    for (;;) {
      auto next = next_expiry();
      if (!next || *next > to) break;
      if (*next > now_) now_ = *next;
      unsigned lvl = 0;
      while (!occupied_[lvl]) ++lvl;
      unsigned s = static_cast<unsigned>(std::countr_zero(occupied_[lvl]));
      wheel_entry* list = heads_[lvl][s];
      heads_[lvl][s] = nullptr;
      occupied_[lvl] &= ~(std::uint64_t{1} << s);
      while (list) {
        wheel_entry* e = list;
        list = e->next;
        e->linked = false;
        e->prev = e->next = nullptr;
        --size_;
        if (e->deadline <= now_) fire(e);
        else insert(e);  // cascade to a lower level
      }
    }
    if (to > now_) now_ = to;
  }

  std::size_t size() const noexcept { return size_; }

 private:
  unsigned level_for(std::uint64_t deadline) const noexcept {
    std::uint64_t diff = (deadline ^ now_) | 63;
    unsigned significant = 63 - static_cast<unsigned>(std::countl_zero(diff));
    unsigned lvl = significant / 6;
    return lvl < levels ? lvl : levels - 1;
  }
  static unsigned slot_for(std::uint64_t deadline, unsigned lvl) noexcept {
    return static_cast<unsigned>((deadline >> (6 * lvl)) & 63);
  }

  std::uint64_t now_ = 0;
  std::size_t size_ = 0;
  std::uint64_t occupied_[levels] = {};
  wheel_entry* heads_[levels][slots] = {};
};

}  // namespace otp::internal
