#pragma once
// Shared by the term sources (term.cpp, term_parse.cpp, term_text.cpp) and
// the codecs: the storage of bignums and bitstrings, UTF-8 and quoting, and
// the limb arithmetic behind bignum printing and parsing.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "otp/term.hpp"

namespace otp::internal {

struct bignum_data {
  bool negative = false;
  std::vector<std::uint8_t> magnitude;  // little-endian, no high zero bytes, beyond int64
};

struct bits_data {
  std::string bytes;
  std::uint8_t last_bits = 8;  // used (high-order) bits of the last byte; its unused bits are 0
};

/// Decodes the UTF-8 character at `pos` and advances past it; nullopt (and
/// `pos` unspecified) for an invalid, overlong or surrogate sequence.
std::optional<char32_t> decode_utf8(std::string_view s, std::size_t& pos) noexcept;
void append_utf8(std::string& out, char32_t c);
/// A Unicode scalar value: 0..0x10FFFF, not a surrogate.
bool is_code_point(std::int64_t c) noexcept;

/// Appends UTF-8 `text` as the inside of an Erlang quoted atom or string
/// delimited by `quote`: `\\`, the quote, and control characters escaped.
void append_quoted_chars(std::string& out, std::string_view text, char quote);

/// Whether `term::parse(text)` would succeed; interns no atoms, so it is
/// safe on text from other nodes.
bool parses(std::string_view text) noexcept;

/// The term printed for an error message, cut after 200 characters.
std::string describe(const term& t);

/// Little-endian bytes <-> little-endian 32-bit limbs (without high zeros).
std::vector<std::uint32_t> limbs_of(const std::vector<std::uint8_t>& magnitude);
std::vector<std::uint8_t> magnitude_of_limbs(const std::vector<std::uint32_t>& limbs);
/// limbs = limbs * factor + add.
void multiply_add(std::vector<std::uint32_t>& limbs, std::uint32_t factor, std::uint32_t add);

}  // namespace otp::internal
