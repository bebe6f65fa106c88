// term::parse: Erlang term syntax back into terms.
//
// The parser keeps its open containers on an explicit stack (nesting is
// bounded by max_depth) so hostile text cannot overflow a process's stack,
// and integer literals are bounded in length so bignum conversion, which is
// quadratic, stays cheap.

#include <cctype>
#include <charconv>
#include <cmath>
#include <limits>

#include "otp/term.hpp"
#include "term/term_internal.hpp"

namespace otp {

namespace {

constexpr std::size_t max_depth = 10000;
constexpr std::size_t max_integer_digits = 100000;

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_lower(char c) { return c >= 'a' && c <= 'z'; }
bool is_name_char(char c) { return is_lower(c) || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '_' || c == '@'; }

int digit_value(char c) {
  if (is_digit(c)) return c - '0';
  if (c >= 'a' && c <= 'z') return c - 'a' + 10;
  if (c >= 'A' && c <= 'Z') return c - 'A' + 10;
  return 99;
}

// Appends bits, most significant first, as binary segments do.
class bit_writer {
 public:
  void put(std::uint64_t value, unsigned bits) {
    for (unsigned i = bits; i-- > 0;) {
      if (used_ % 8 == 0) bytes_ += '\0';
      if (value >> i & 1) bytes_.back() = static_cast<char>(bytes_.back() | (0x80 >> (used_ % 8)));
      ++used_;
    }
  }
  void put_bytes(std::string_view s) {
    if (used_ % 8 == 0) {
      bytes_ += s;
      used_ += s.size() * 8;
    } else {
      for (char c : s) put(static_cast<unsigned char>(c), 8);
    }
  }
  term finish() {
    unsigned rest = used_ % 8;
    if (rest == 0) return term::binary(std::move(bytes_));
    return term::bitstring(std::move(bytes_), static_cast<std::uint8_t>(rest));
  }

 private:
  std::string bytes_;
  std::size_t used_ = 0;
};

class parser {
 public:
  using type = term::type;
  std::string_view text;
  bool check_only = false;  // validate the syntax without interning atoms
  std::size_t pos = 0;

  [[noreturn]] void fail(const std::string& what) const {
    throw bad_term("term::parse: " + what + " at offset " + std::to_string(pos));
  }

  bool at_end() const { return pos >= text.size(); }
  char peek(std::size_t ahead = 0) const { return pos + ahead < text.size() ? text[pos + ahead] : '\0'; }

  void skip_space() {
    while (!at_end()) {
      char c = text[pos];
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') {
        ++pos;
      } else if (c == '%') {  // a comment, to the end of the line
        while (!at_end() && text[pos] != '\n') ++pos;
      } else {
        return;
      }
    }
  }

  bool accept(std::string_view token) {
    skip_space();
    if (text.substr(pos, token.size()) != token) return false;
    pos += token.size();
    return true;
  }

  void expect(std::string_view token) {
    if (!accept(token)) fail("expected '" + std::string(token) + "'");
  }

  // ---- containers

  enum class kind { tuple, list, map };
  struct frame {
    kind k;
    term_list items;
    std::vector<std::pair<term, term>> entries;
    std::optional<term> key;  // a map's key, once read
    bool in_tail = false;     // a list after `|`
  };

  term parse_all() {
    std::vector<frame> open;
    for (;;) {
      term value;
      skip_space();
      if (std::optional<kind> k = opening()) {
        if (open.size() >= max_depth) fail("nesting deeper than " + std::to_string(max_depth));
        if (!closing(*k)) {
          open.push_back(frame{*k, {}, {}, {}, false});
          continue;
        }
        value = *k == kind::tuple ? term::tuple({}) : *k == kind::map ? term::map({}) : term();
      } else {
        value = scalar();
      }
      // Hand the value to the innermost container; close those that end.
      for (;;) {
        if (open.empty()) return value;
        frame& f = open.back();
        if (!add(f, std::move(value))) break;  // the container wants more
        value = close(f);
        open.pop_back();
      }
    }
  }

  std::optional<kind> opening() {
    if (accept("{")) return kind::tuple;
    if (accept("[")) return kind::list;
    if (accept("#{")) return kind::map;
    return std::nullopt;
  }

  bool closing(kind k) { return accept(k == kind::tuple ? "}" : k == kind::list ? "]" : "}"); }

  // Adds a value to `f` and reads the separator after it; true when `f` is complete.
  bool add(frame& f, term value) {
    switch (f.k) {
      case kind::tuple:
        f.items.push_back(std::move(value));
        if (accept(",")) return false;
        expect("}");
        return true;
      case kind::list:
        if (f.in_tail) {
          f.items.push_back(std::move(value));
          expect("]");
          return true;
        }
        f.items.push_back(std::move(value));
        if (accept(",")) return false;
        if (accept("|")) {
          f.in_tail = true;
          return false;
        }
        expect("]");
        return true;
      case kind::map:
        if (!f.key) {
          f.key = std::move(value);
          expect("=>");
          return false;
        }
        f.entries.emplace_back(std::move(*f.key), std::move(value));
        f.key.reset();
        if (accept(",")) return false;
        expect("}");
        return true;
    }
    return true;
  }

  term close(frame& f) const {
    switch (f.k) {
      case kind::tuple: return term::tuple(std::move(f.items));
      case kind::map: return check_only ? term() : term::map(std::move(f.entries));
      case kind::list:
        if (f.in_tail) {
          term tail = std::move(f.items.back());
          f.items.pop_back();
          return term::improper_list(std::move(f.items), std::move(tail));
        }
        return term::list(std::move(f.items));
    }
    return {};
  }

  // ---- scalars

  term scalar() {
    if (at_end()) fail("unexpected end of input");
    char c = peek();
    if (is_digit(c) || ((c == '-' || c == '+') && is_digit(peek(1)))) return number();
    if (c == '$') {
      ++pos;
      return term(static_cast<std::int64_t>(character('\0')));
    }
    if (c == '"') return charlist_literal();
    if (c == '\'') return make_atom(quoted('\''));
    if (is_lower(c)) {
      std::size_t start = pos;
      while (!at_end() && is_name_char(text[pos])) ++pos;
      return make_atom(text.substr(start, pos - start));
    }
    if (c == '<' && peek(1) == '<') return binary_literal();
    fail(std::string("unexpected '") + c + "'");
  }

  // (The text is valid UTF-8: `character` checked it.)
  term make_atom(std::string_view name) const {
    std::size_t chars = 0;
    for (std::size_t p = 0; p < name.size(); ++chars) internal::decode_utf8(name, p);
    if (chars > 255) fail("atom longer than 255 characters");
    return check_only ? term() : term(atom(name));
  }

  term number() {
    const std::size_t start = pos;
    bool negative = peek() == '-';
    if (peek() == '-' || peek() == '+') ++pos;
    std::size_t digits_start = pos;
    while (is_digit(peek()) || (peek() == '_' && is_digit(peek(1)))) ++pos;
    if (peek() == '#') {
      auto base = integer_value(text.substr(digits_start, pos - digits_start), 10);
      if (base.get_type() == type::bignum || base.as_int() < 2 || base.as_int() > 36) fail("base must be 2 to 36");
      ++pos;
      std::size_t from = pos;
      int b = static_cast<int>(base.as_int());
      while (digit_value(peek()) < b || (peek() == '_' && digit_value(peek(1)) < b)) ++pos;
      if (from == pos) fail("expected digits in base " + std::to_string(b));
      return negate_if(negative, integer_value(text.substr(from, pos - from), b));
    }
    if (peek() == '.' && is_digit(peek(1))) {
      ++pos;
      while (is_digit(peek())) ++pos;
      if ((peek() == 'e' || peek() == 'E') &&
          (is_digit(peek(1)) || ((peek(1) == '-' || peek(1) == '+') && is_digit(peek(2))))) {
        pos += 2;
        while (is_digit(peek())) ++pos;
      }
      std::string literal;
      for (char ch : text.substr(start, pos - start))
        if (ch != '+' || literal.size() > 0) literal += ch;  // from_chars takes no leading '+'
      double d = 0;
      auto res = std::from_chars(literal.data(), literal.data() + literal.size(), d);
      if (res.ec != std::errc() || !std::isfinite(d)) fail("bad float '" + literal + "'");
      return term(d);
    }
    return negate_if(negative, integer_value(text.substr(digits_start, pos - digits_start), 10));
  }

  static term integer_value(std::string_view digits, int base) {
    if (digits.size() > max_integer_digits) throw bad_term("term::parse: integer literal longer than " + std::to_string(max_integer_digits) + " digits");
    // Digits are taken in chunks that fit in 32 bits, so each step is one
    // multiply-add over the limbs.
    std::vector<std::uint32_t> limbs;
    std::uint32_t chunk = 0, scale = 1;
    for (char c : digits) {
      if (c == '_') continue;
      chunk = chunk * static_cast<std::uint32_t>(base) + static_cast<std::uint32_t>(digit_value(c));
      scale *= static_cast<std::uint32_t>(base);
      if (scale > std::numeric_limits<std::uint32_t>::max() / 36) {
        internal::multiply_add(limbs, scale, chunk);
        chunk = 0, scale = 1;
      }
    }
    if (scale > 1) internal::multiply_add(limbs, scale, chunk);
    return term::big(false, internal::magnitude_of_limbs(limbs));
  }

  static term negate_if(bool negative, const term& t) {
    if (!negative) return t;
    if (t.get_type() == type::integer) return term(-t.as_int());  // never INT64_MIN: that is a bignum here
    return term::big(!t.big_negative(), t.big_magnitude());
  }

  // One character of a string, atom or `$c` literal; `quote` ends the text.
  char32_t character(char quote) {
    if (at_end()) fail("unexpected end of input");
    if (text[pos] != '\\') {
      std::size_t start = pos;
      auto c = internal::decode_utf8(text, pos);
      if (!c) {
        pos = start;
        fail("invalid UTF-8");
      }
      if (*c == static_cast<char32_t>(quote) && quote != '\0') fail("unexpected quote");
      return *c;
    }
    ++pos;
    if (at_end()) fail("unexpected end of input");
    char e = text[pos++];
    switch (e) {
      case 'n': return '\n';
      case 'r': return '\r';
      case 't': return '\t';
      case 'v': return '\v';
      case 'b': return '\b';
      case 'f': return '\f';
      case 'e': return 27;
      case 's': return ' ';
      case 'd': return 127;
      case '^': {
        char c = peek();
        if (at_end()) fail("unexpected end of input");
        ++pos;
        return static_cast<char32_t>(c & 31);
      }
      case 'x': {
        std::size_t from = pos;
        bool braces = peek() == '{';
        if (braces) from = ++pos;
        while (std::isxdigit(static_cast<unsigned char>(peek())) && (braces || pos - from < 2)) ++pos;
        if (pos == from || pos - from > 8) fail("bad \\x escape");
        std::uint32_t v = 0;
        std::from_chars(text.data() + from, text.data() + pos, v, 16);
        if (braces) expect("}");
        if (!internal::is_code_point(v)) fail("\\x escape is not a character");
        return v;
      }
      default:
        if (e >= '0' && e <= '7') {
          std::uint32_t v = static_cast<std::uint32_t>(e - '0');
          for (int i = 0; i < 2 && peek() >= '0' && peek() <= '7'; ++i) v = v * 8 + static_cast<std::uint32_t>(text[pos++] - '0');
          return v;
        }
        return static_cast<unsigned char>(e);  // \\, \', \", and any other character as itself
    }
  }

  std::string quoted(char quote) {
    ++pos;  // the opening quote
    std::string out;
    for (;;) {
      if (at_end()) fail("unterminated quoted text");
      if (peek() == quote) break;
      internal::append_utf8(out, character(quote));
    }
    ++pos;
    return out;
  }

  term charlist_literal() { return term::charlist(quoted('"')); }

  // `<<>>`, `<<1,2,3:4>>`, `<<"text">>`, `<<"text"/utf8>>`, `<<$a, 0:16>>`.
  term binary_literal() {
    pos += 2;
    bit_writer out;
    if (accept(">>")) return out.finish();
    do {
      skip_space();
      if (peek() == '"') {
        std::string s = quoted('"');
        bool utf8 = accept("/utf8");
        if (utf8) {
          out.put_bytes(s);
        } else {  // one byte per character, as Erlang (latin-1)
          for (std::size_t p = 0; p < s.size();) out.put(*internal::decode_utf8(s, p) & 0xFF, 8);
        }
        continue;
      }
      term v = scalar();
      if (!v.is_integer()) fail("binary segments must be integers or strings");
      if (v.get_type() == type::bignum) fail("binary segment value too large");
      unsigned size = 8;
      if (accept(":")) {
        skip_space();
        std::size_t from = pos;
        while (is_digit(peek())) ++pos;
        auto res = std::from_chars(text.data() + from, text.data() + pos, size);
        if (res.ec != std::errc() || size < 1 || size > 64) fail("segment size must be 1 to 64 bits");
      }
      out.put(static_cast<std::uint64_t>(v.as_int()), size);
    } while (accept(","));
    expect(">>");
    return out.finish();
  }

  term parse_whole() {
    term t = parse_all();
    accept(".");
    skip_space();
    if (!at_end()) fail("unexpected text after the term");
    return t;
  }
};

}  // namespace

term term::parse(std::string_view text) { return parser{text, false}.parse_whole(); }

namespace internal {
bool parses(std::string_view text) noexcept {
  try {
    parser{text, true}.parse_whole();
    return true;
  } catch (...) {  // bad_term, or bad_alloc on absurd input
    return false;
  }
}
}  // namespace internal

}  // namespace otp
