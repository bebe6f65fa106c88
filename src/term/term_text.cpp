// UTF-8, Erlang quoting and limb arithmetic for the term sources.

#include <algorithm>

#include "term/term_internal.hpp"

namespace otp::internal {

std::optional<char32_t> decode_utf8(std::string_view s, std::size_t& pos) noexcept {
  auto byte = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
  const unsigned char lead = byte(pos);
  if (lead < 0x80) {
    ++pos;
    return lead;
  }
  std::size_t len = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 0;
  if (len == 0 || lead > 0xF4 || pos + len > s.size()) return std::nullopt;
  char32_t c = lead & (0x7F >> len);
  for (std::size_t i = 1; i < len; ++i) {
    if ((byte(pos + i) & 0xC0) != 0x80) return std::nullopt;
    c = c << 6 | (byte(pos + i) & 0x3F);
  }
  static constexpr char32_t min_for_length[] = {0, 0, 0x80, 0x800, 0x10000};
  if (c < min_for_length[len] || !is_code_point(c)) return std::nullopt;
  pos += len;
  return c;
}

void append_utf8(std::string& out, char32_t c) {
  auto put = [&out](unsigned v) { out += static_cast<char>(v); };
  if (c < 0x80) {
    put(c);
  } else if (c < 0x800) {
    put(0xC0 | c >> 6), put(0x80 | (c & 0x3F));
  } else if (c < 0x10000) {
    put(0xE0 | c >> 12), put(0x80 | (c >> 6 & 0x3F)), put(0x80 | (c & 0x3F));
  } else {
    put(0xF0 | c >> 18), put(0x80 | (c >> 12 & 0x3F)), put(0x80 | (c >> 6 & 0x3F)), put(0x80 | (c & 0x3F));
  }
}

bool is_code_point(std::int64_t c) noexcept { return c >= 0 && c <= 0x10FFFF && !(c >= 0xD800 && c <= 0xDFFF); }

void append_quoted_chars(std::string& out, std::string_view text, char quote) {
  static constexpr char hex[] = "0123456789abcdef";
  for (std::size_t pos = 0; pos < text.size();) {
    std::size_t start = pos;
    auto c = decode_utf8(text, pos);
    if (!c) {  // not UTF-8: the byte as a character code
      c = static_cast<unsigned char>(text[start]);
      pos = start + 1;
    }
    switch (*c) {
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\v': out += "\\v"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case 27: out += "\\e"; break;
      case '\\': out += "\\\\"; break;
      default:
        if (*c == static_cast<char32_t>(quote)) {
          out += '\\';
          out += quote;
        } else if (*c < 32 || *c == 127) {
          out += '\\';
          out += static_cast<char>('0' + (*c >> 6));
          out += static_cast<char>('0' + (*c >> 3 & 7));
          out += static_cast<char>('0' + (*c & 7));
        } else if (*c >= 128 && *c < 160) {
          out += "\\x{";
          out += hex[*c >> 4];
          out += hex[*c & 15];
          out += '}';
        } else if (pos - start == 1 && *c >= 128) {  // a stray byte
          append_utf8(out, *c);
        } else {
          out.append(text.substr(start, pos - start));
        }
    }
  }
}

std::vector<std::uint32_t> limbs_of(const std::vector<std::uint8_t>& magnitude) {
  std::vector<std::uint32_t> limbs((magnitude.size() + 3) / 4);
  for (std::size_t i = 0; i < magnitude.size(); ++i) limbs[i / 4] |= std::uint32_t{magnitude[i]} << (8 * (i % 4));
  while (!limbs.empty() && limbs.back() == 0) limbs.pop_back();
  return limbs;
}

std::vector<std::uint8_t> magnitude_of_limbs(const std::vector<std::uint32_t>& limbs) {
  std::vector<std::uint8_t> magnitude(limbs.size() * 4);
  for (std::size_t i = 0; i < magnitude.size(); ++i) magnitude[i] = static_cast<std::uint8_t>(limbs[i / 4] >> (8 * (i % 4)));
  while (!magnitude.empty() && magnitude.back() == 0) magnitude.pop_back();
  return magnitude;
}

void multiply_add(std::vector<std::uint32_t>& limbs, std::uint32_t factor, std::uint32_t add) {
  std::uint64_t carry = add;
  for (auto& limb : limbs) {
    std::uint64_t cur = std::uint64_t{limb} * factor + carry;
    limb = static_cast<std::uint32_t>(cur);
    carry = cur >> 32;
  }
  if (carry) limbs.push_back(static_cast<std::uint32_t>(carry));
}

}  // namespace otp::internal
