#pragma once
// A hierarchical timing wheel (5 levels of 256 slots; the tick is set by the
// owner, 100 µs in the node): O(1) insert and cancel, and the next expiry is
// found from per-level occupancy bitmaps, so a manual clock can jump hours
// ahead without stepping tick by tick. Not thread-safe: the owner locks.
//
// Invariant (as in tokio's wheel): an entry sits at the level of the highest
// 8-bit digit in which its deadline differs from `now`, so at every level the
// occupied slots are at or after now's slot, and any entry of a lower level
// expires before any entry of a higher one.
//
// Why 256 slots and not 64: when `now` enters a higher-level slot, all of
// its entries cascade down at once, and the timers due meanwhile wait for
// that. With 64 slots of 0.1 ms, a level-2 slot spans 410 ms: 100k timers
// spread over a second cascaded ~40k entries in one go, and timers fired up
// to 8 ms late. With 256, level 1's slots span 25.6 ms (the same load
// cascades ~2.5k at a time) and level 2's 6.5 s.

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
  static constexpr unsigned levels = 5;
  static constexpr unsigned digit_bits = 8;
  static constexpr unsigned slots = 1u << digit_bits;
  // 2^40 ticks of 0.1 ms: about 3.5 years, beyond any Erlang timer (2^32 ms).
  static constexpr std::uint64_t max_span = (std::uint64_t{1} << (digit_bits * levels)) - 1;

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
    mark(lvl, s);
    e->linked = true;
    ++size_;
  }

  void remove(wheel_entry* e) noexcept {
    if (!e->linked) return;
    if (e->prev) e->prev->next = e->next;
    else heads_[e->level][e->slot] = e->next;
    if (e->next) e->next->prev = e->prev;
    if (!heads_[e->level][e->slot]) unmark(e->level, e->slot);
    e->linked = false;
    e->prev = e->next = nullptr;
    --size_;
  }

  /// The earliest tick at which something is due, if any.
  std::optional<std::uint64_t> next_expiry() const noexcept {
    for (unsigned lvl = 0; lvl < levels; ++lvl) {
      const int s = first_occupied(lvl);
      if (s < 0) continue;
      if (lvl == 0) return (now_ & ~std::uint64_t{slots - 1}) | static_cast<unsigned>(s);
      const std::uint64_t slot_span = std::uint64_t{1} << (digit_bits * lvl);
      const std::uint64_t level_start = now_ & ~(slot_span * slots - 1);
      std::uint64_t t = level_start + static_cast<unsigned>(s) * slot_span;
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
      while (first_occupied(lvl) < 0) ++lvl;
      const auto s = static_cast<unsigned>(first_occupied(lvl));
      wheel_entry* list = heads_[lvl][s];
      heads_[lvl][s] = nullptr;
      unmark(lvl, s);
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
  static constexpr unsigned words = slots / 64;  // occupancy bitmap words per level

  unsigned level_for(std::uint64_t deadline) const noexcept {
    std::uint64_t diff = (deadline ^ now_) | (slots - 1);
    unsigned significant = 63 - static_cast<unsigned>(std::countl_zero(diff));
    unsigned lvl = significant / digit_bits;
    return lvl < levels ? lvl : levels - 1;
  }
  static unsigned slot_for(std::uint64_t deadline, unsigned lvl) noexcept {
    return static_cast<unsigned>((deadline >> (digit_bits * lvl)) & (slots - 1));
  }
  void mark(unsigned lvl, unsigned s) noexcept { occupied_[lvl][s / 64] |= std::uint64_t{1} << (s % 64); }
  void unmark(unsigned lvl, unsigned s) noexcept { occupied_[lvl][s / 64] &= ~(std::uint64_t{1} << (s % 64)); }
  /// The lowest occupied slot of `lvl`, or -1.
  int first_occupied(unsigned lvl) const noexcept {
    for (unsigned w = 0; w < words; ++w)
      if (occupied_[lvl][w]) return static_cast<int>(w * 64 + static_cast<unsigned>(std::countr_zero(occupied_[lvl][w])));
    return -1;
  }

  std::uint64_t now_ = 0;
  std::size_t size_ = 0;
  std::uint64_t occupied_[levels][words] = {};
  wheel_entry* heads_[levels][slots] = {};
};

}  // namespace otp::internal
