// otp::message: values of every storage kind survive moves, a moved-from
// message is empty, and every value is destroyed exactly once. Trivially
// copyable values up to 48 bytes move by copying their bytes (in words of
// 8 up to 16 bytes, then the whole buffer); others through their move
// constructor; values over 48 bytes live on the heap.

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <string>
#include <typeinfo>

#include "otp/message.hpp"

namespace {

struct sixteen {
  std::int64_t a, b;
};
struct forty {
  std::array<std::int64_t, 5> v;
};
struct big {
  std::array<std::int64_t, 8> v;  // 64 bytes: on the heap
};

int g_live = 0;  // counted values alive now
struct counted {
  std::string text;
  explicit counted(std::string t) : text(std::move(t)) { ++g_live; }
  counted(counted&& o) noexcept : text(std::move(o.text)) { ++g_live; }
  counted(const counted& o) : text(o.text) { ++g_live; }
  ~counted() { --g_live; }
};

static_assert(otp::detail::message_is_trivial<int>);
static_assert(otp::detail::message_is_trivial<sixteen>);
static_assert(otp::detail::message_is_trivial<forty>);
static_assert(!otp::detail::message_is_trivial<big>);
static_assert(!otp::detail::message_is_trivial<counted>);

/// Moves `m` through a move construction and a move assignment, checking
/// that each source is left empty.
otp::message pass_along(otp::message m) {
  otp::message constructed(std::move(m));
  EXPECT_TRUE(m.empty());  // NOLINT(bugprone-use-after-move): what a move leaves is the point
  otp::message assigned(42);
  assigned = std::move(constructed);
  EXPECT_TRUE(constructed.empty());  // NOLINT(bugprone-use-after-move)
  return assigned;
}

}  // namespace

TEST(message, trivially_copyable_values_of_each_size_survive_moves) {
  otp::message a = pass_along(otp::message(7));
  ASSERT_TRUE(a.is<int>());
  EXPECT_EQ(a.get<int>(), 7);

  otp::message b = pass_along(otp::message(sixteen{-1, 1LL << 40}));
  ASSERT_TRUE(b.is<sixteen>());
  EXPECT_EQ(b.get<sixteen>().a, -1);
  EXPECT_EQ(b.get<sixteen>().b, 1LL << 40);

  otp::message c = pass_along(otp::message(forty{{1, 2, 3, 4, 5}}));
  ASSERT_TRUE(c.is<forty>());
  EXPECT_EQ(c.get<forty>().v, (std::array<std::int64_t, 5>{1, 2, 3, 4, 5}));
}

TEST(message, heap_and_non_trivial_values_survive_moves_and_are_destroyed_once) {
  {
    otp::message h = pass_along(otp::message(big{{1, 2, 3, 4, 5, 6, 7, 8}}));
    ASSERT_TRUE(h.is<big>());
    EXPECT_EQ(h.get<big>().v[7], 8);
    otp::message c = pass_along(otp::message(counted("a text longer than a short string's buffer")));
    ASSERT_TRUE(c.is<counted>());
    EXPECT_EQ(c.get<counted>().text, "a text longer than a short string's buffer");
    EXPECT_EQ(g_live, 1);
    otp::message replaced(counted("replaced"));
    EXPECT_EQ(g_live, 2);
    replaced = otp::message(5);  // the old value is destroyed by the assignment
    EXPECT_EQ(g_live, 1);
  }
  EXPECT_EQ(g_live, 0);
}

TEST(message, value_initialised_and_reset_messages_are_empty) {
  otp::message m{};
  EXPECT_TRUE(m.empty());
  EXPECT_EQ(m.type(), typeid(void));
  m = otp::message(1);
  EXPECT_FALSE(m.empty());
  m.reset();
  EXPECT_TRUE(m.empty());
}
