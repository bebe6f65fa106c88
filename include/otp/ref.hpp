#pragma once
/// \file otp/ref.hpp
/// References: `otp::ref`, unique per node, like Erlang's `make_ref()`.

#include <compare>
#include <cstdint>
#include <functional>
#include <string>

namespace otp {

/// A node-unique reference (monitor refs, timer refs, call tags).
/// A default-constructed ref is the empty ref and equals no made ref.
class ref {
 public:
  constexpr ref() noexcept = default;
  constexpr explicit ref(std::uint64_t id) noexcept : id_(id) {}
  constexpr std::uint64_t id() const noexcept { return id_; }
  constexpr explicit operator bool() const noexcept { return id_ != 0; }
  std::string to_string() const;  ///< `#Ref<0.N>`
  friend constexpr bool operator==(ref, ref) noexcept = default;
  friend constexpr auto operator<=>(ref, ref) noexcept = default;

 private:
  std::uint64_t id_ = 0;
};

/// A new reference, unique within the node. @threadsafe
ref make_ref();

}  // namespace otp

template <>
struct std::hash<otp::ref> {
  std::size_t operator()(otp::ref r) const noexcept { return std::hash<std::uint64_t>{}(r.id()); }
};
