#pragma once
/// \file otp/describe.hpp
/// How values are printed in crash reports, `sys` traces and `get_status`:
/// with fmt when the type is formattable (give your type an
/// `fmt::formatter` to control it), strings quoted, and otherwise as the
/// type's name — enough to say *which* message crashed a server.

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <string>
#include <string_view>
#include <type_traits>
#include <typeinfo>

namespace otp {

namespace detail {
std::string demangle(const char* mangled);
std::string quote(std::string_view s);
}  // namespace detail

/// A printable description of `v` (see the file comment).
template <class T>
std::string describe(const T& v) {
  if constexpr (std::is_convertible_v<const T&, std::string_view>) {
    return detail::quote(std::string_view(v));
  } else if constexpr (fmt::is_formattable<T>::value) {
    return fmt::format("{}", v);
  } else {
    return detail::demangle(typeid(T).name());
  }
}

}  // namespace otp
