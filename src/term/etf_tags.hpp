#pragma once
// ETF tag bytes (erts "External Term Format") and the wire helpers shared by
// the ETF codec and the distribution framing (src/dist/dist_codec.cpp).

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "otp/term.hpp"

namespace otp::internal::etf_tag {
inline constexpr std::uint8_t new_float = 70;
inline constexpr std::uint8_t bit_binary = 77;
inline constexpr std::uint8_t compressed = 80;
inline constexpr std::uint8_t atom_cache_ref = 82;
inline constexpr std::uint8_t new_pid = 88;
inline constexpr std::uint8_t new_port = 89;
inline constexpr std::uint8_t newer_reference = 90;
inline constexpr std::uint8_t small_integer = 97;
inline constexpr std::uint8_t integer = 98;
inline constexpr std::uint8_t float_ = 99;  // FLOAT_EXT: "%.20e" text, decode only
inline constexpr std::uint8_t atom_latin1 = 100;
inline constexpr std::uint8_t reference = 101;
inline constexpr std::uint8_t port = 102;
inline constexpr std::uint8_t pid = 103;
inline constexpr std::uint8_t small_tuple = 104;
inline constexpr std::uint8_t large_tuple = 105;
inline constexpr std::uint8_t nil = 106;
inline constexpr std::uint8_t string = 107;
inline constexpr std::uint8_t list = 108;
inline constexpr std::uint8_t binary = 109;
inline constexpr std::uint8_t small_big = 110;
inline constexpr std::uint8_t large_big = 111;
inline constexpr std::uint8_t new_fun = 112;
inline constexpr std::uint8_t export_ = 113;
inline constexpr std::uint8_t new_reference = 114;
inline constexpr std::uint8_t small_atom_latin1 = 115;
inline constexpr std::uint8_t map = 116;
inline constexpr std::uint8_t fun = 117;  // old FUN_EXT, not sent since OTP 23
inline constexpr std::uint8_t atom_utf8 = 118;
inline constexpr std::uint8_t small_atom_utf8 = 119;
inline constexpr std::uint8_t v4_port = 120;
inline constexpr std::uint8_t local = 121;  // LOCAL_EXT (OTP 26): only meaningful to its own node
}  // namespace otp::internal::etf_tag

namespace otp::internal {

/// Big-endian reads; the caller has checked that the bytes are there.
inline std::uint64_t read_be(const char* p, std::size_t n) noexcept {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < n; ++i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

/// Appends `v` as `n` big-endian bytes.
inline void append_be(std::string& out, std::uint64_t v, std::size_t n) {
  for (std::size_t i = n; i-- > 0;) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

/// Writes `t` (no version byte) to `dst`, which has room for exactly
/// `etf::encoded_size(t, false)` bytes; returns the end. For a caller that
/// sizes its buffer once for several terms (the distribution framing).
char* encode_into(char* dst, const term& t);

/// Interns an atom read off the wire (`latin1`: ATOM_EXT / SMALL_ATOM_EXT
/// text, converted to UTF-8). Checks UTF-8 validity and the 255-character
/// limit and turns a full atom table into an error: all failures throw
/// `etf::decode_error` at `offset`.
atom atom_from_wire(std::string_view text, bool latin1, std::size_t offset);

}  // namespace otp::internal
