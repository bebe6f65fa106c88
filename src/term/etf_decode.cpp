// ETF decoding, safe on hostile input (a peer node is not trusted):
//  1. every length is checked against the bytes that remain before anything
//     is read or allocated, and reservations are capped, so a lying count
//     costs nothing;
//  2. nesting is decoded with an explicit stack of frames (no recursion),
//     bounded by `decode_limits::max_depth`;
//  3. compressed terms are inflated incrementally, never beyond the declared
//     size nor `decode_limits::max_uncompressed`;
//  4. every failure, including a full atom table, is a `decode_error` with
//     the byte offset.
// Semantics follow OTP 25's `binary_to_term/1`: duplicate map keys, NaN and
// infinite floats, invalid UTF-8 atoms and malformed bitstrings are rejected.

#include <array>
#include <bit>
#include <charconv>
#include <climits>
#include <cmath>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <zlib.h>

#include "otp/etf.hpp"
#include "term/etf_tags.hpp"

namespace otp::etf {

decode_error::decode_error(std::size_t at, const std::string& what)
    : std::runtime_error(fmt::format("{} (at byte {})", what, at)), offset(at) {}

}  // namespace otp::etf

namespace otp::internal {
namespace {

namespace tag = etf_tag;
using etf::decode_error;

// Length of the UTF-8 sequence starting at s[i] (RFC 3629: no overlongs, no
// surrogates, nothing above U+10FFFF), or 0 if it is invalid.
std::size_t utf8_sequence_length(std::string_view s, std::size_t i) {
  auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char b = byte(i);
  if (b < 0x80) return 1;
  std::size_t n = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc2 ? 2 : 0;
  if (n == 0 || b > 0xf4 || i + n > s.size()) return 0;
  for (std::size_t k = 1; k < n; ++k)
    if ((byte(i + k) & 0xc0) != 0x80) return 0;
  unsigned char b1 = byte(i + 1);
  if ((b == 0xe0 && b1 < 0xa0) || (b == 0xed && b1 > 0x9f) || (b == 0xf0 && b1 < 0x90) || (b == 0xf4 && b1 > 0x8f))
    return 0;
  return n;
}

std::string latin1_to_utf8(std::string_view text) {
  std::string out;
  out.reserve(text.size() * 2);
  for (char c : text) {
    auto b = static_cast<unsigned char>(c);
    if (b < 0x80) {
      out.push_back(c);
    } else {
      out.push_back(static_cast<char>(0xc0 | (b >> 6)));
      out.push_back(static_cast<char>(0x80 | (b & 0x3f)));
    }
  }
  return out;
}

}  // namespace

atom atom_from_wire(std::string_view text, bool latin1, std::size_t offset) {
  if (!latin1) {
    if (auto known = atom::existing(text)) return *known;  // valid when it went in
  }
  std::string converted;
  std::size_t characters = text.size();
  if (latin1) {
    converted = latin1_to_utf8(text);
    text = converted;
  } else {
    characters = 0;
    for (std::size_t i = 0; i < text.size(); ++characters) {
      std::size_t n = utf8_sequence_length(text, i);
      if (n == 0) throw decode_error(offset, fmt::format("atom text is not valid UTF-8 (byte {} of the text)", i));
      i += n;
    }
  }
  if (characters > 255) throw decode_error(offset, fmt::format("atom of {} characters (at most 255)", characters));
  try {
    return atom(text);
  } catch (const std::length_error& e) {
    throw decode_error(offset, fmt::format("cannot create atom: {}", e.what()));
  } catch (const std::invalid_argument& e) {
    throw decode_error(offset, fmt::format("invalid atom: {}", e.what()));
  }
}

namespace {

// Bounds-checked cursor over the input.
class reader {
 public:
  reader(std::string_view buf, std::size_t pos) : buf_(buf), pos_(pos) {}

  std::size_t pos() const noexcept { return pos_; }
  std::size_t remaining() const noexcept { return buf_.size() - pos_; }
  [[noreturn]] void fail(const std::string& what) const { throw decode_error(pos_, what); }

  void need(std::size_t n, const char* what) const {
    if (n > remaining()) fail(fmt::format("truncated {}: needs {} bytes, {} left", what, n, remaining()));
  }
  std::uint64_t be(std::size_t width, const char* what) {
    need(width, what);
    std::uint64_t v = read_be(buf_.data() + pos_, width);
    pos_ += width;
    return v;
  }
  std::uint8_t u8(const char* what) { return static_cast<std::uint8_t>(be(1, what)); }
  std::string_view bytes(std::size_t n, const char* what) {
    need(n, what);
    std::string_view v = buf_.substr(pos_, n);
    pos_ += n;
    return v;
  }
  // A count of items that each take at least `min_bytes` bytes: checked
  // against what remains, so it can be trusted for reservations.
  void check_count(std::uint64_t count, std::size_t min_bytes, const char* what) const {
    if (count > remaining() / min_bytes)
      fail(fmt::format("{} of {} elements cannot fit in the {} bytes left", what, count, remaining()));
  }

 private:
  std::string_view buf_;
  std::size_t pos_;
};

// What NEW_FUN_EXT carries besides its free variables. The fun is stored
// re-encoded from these parts, so that atom cache references (tag 82) in
// the received bytes are resolved and the stored bytes stand on their own.
struct fun_parts {
  std::uint8_t arity = 0;
  std::array<char, 16> uniq{};
  std::uint32_t index = 0;
  std::uint32_t num_free = 0;
  atom module;
  std::int64_t old_index = 0;
  std::int64_t old_uniq = 0;
  term_pid pid;
  std::size_t end = 0;  // offset just past the fun, from its Size field
};

class decoder {
 public:
  decoder(std::string_view buf, std::size_t pos, const std::vector<atom>* refs, const etf::decode_limits& limits)
      : in_(buf, pos), refs_(refs), limits_(limits) {}
  decoder(const decoder&) = delete;
  decoder& operator=(const decoder&) = delete;
  ~decoder() {
    stack_.clear();  // what a decoding that threw left
    if (stack_.capacity() > kept_frames) std::vector<frame>().swap(stack_);
  }

  std::size_t pos() const noexcept { return in_.pos(); }

  // One term (no version byte) starting at the current position. A term the
  // term constructors refuse is malformed input too.
  term decode_term() {
    try {
      return decode_frames();
    } catch (const decode_error&) {
      throw;
    } catch (const bad_term& e) {
      in_.fail(fmt::format("invalid term: {}", e.what()));
    } catch (const std::logic_error& e) {
      in_.fail(fmt::format("invalid term: {}", e.what()));
    }
  }

 private:
  term decode_frames() {
    term value;
    for (;;) {
      if (!open(value)) continue;  // a compound's frame was pushed; read its first child
      while (!stack_.empty()) {
        frame& top = stack_.back();
        top.items.push_back(std::move(value));
        if (--top.remaining > 0) break;
        value = close(top);
        stack_.pop_back();
      }
      if (stack_.empty()) return value;
    }
  }

  struct frame {
    enum class kind : std::uint8_t { tuple, list, map, fun };
    kind k;
    std::size_t remaining;  // children still to read (for a list: elements + the tail)
    term_list items;
    std::unique_ptr<fun_parts> fun;
  };

  void push(frame::kind k, std::size_t children, std::unique_ptr<fun_parts> fun = nullptr) {
    if (stack_.size() >= limits_.max_depth)
      in_.fail(fmt::format("term nested deeper than {} levels", limits_.max_depth));
    stack_.push_back(frame{k, children, {}, std::move(fun)});
    // Capped: each nested frame may claim the whole remaining input.
    stack_.back().items.reserve(std::min<std::size_t>(children, 1024));
  }

  // Reads one tag. Returns true with `out` set when the term is complete,
  // false when it opened a compound whose children come next.
  bool open(term& out) {
    std::uint8_t t = in_.u8("term tag");
    switch (t) {
      case tag::small_integer: out = term(std::int64_t{in_.u8("SMALL_INTEGER_EXT")}); return true;
      case tag::integer:
        out = term(std::int64_t{static_cast<std::int32_t>(static_cast<std::uint32_t>(in_.be(4, "INTEGER_EXT")))});
        return true;
      case tag::small_big: out = read_big(in_.u8("SMALL_BIG_EXT")); return true;
      case tag::large_big: out = read_big(in_.be(4, "LARGE_BIG_EXT")); return true;
      case tag::new_float: out = checked_float(std::bit_cast<double>(in_.be(8, "NEW_FLOAT_EXT"))); return true;
      case tag::float_: out = read_float_text(); return true;
      case tag::atom_latin1:
      case tag::small_atom_latin1:
      case tag::atom_utf8:
      case tag::small_atom_utf8:
      case tag::atom_cache_ref: out = term(read_atom_body(t)); return true;
      case tag::small_tuple: return open_tuple(in_.u8("SMALL_TUPLE_EXT"), out);
      case tag::large_tuple: return open_tuple(in_.be(4, "LARGE_TUPLE_EXT"), out);
      case tag::nil: out = term(); return true;
      case tag::string: out = read_string(); return true;
      case tag::list: return open_list();
      case tag::binary: out = term::binary(std::string(in_.bytes(in_.be(4, "BINARY_EXT"), "BINARY_EXT data"))); return true;
      case tag::bit_binary: out = read_bit_binary(); return true;
      case tag::map: return open_map(out);
      case tag::new_pid:
      case tag::pid: out = term(read_pid_body(t)); return true;
      case tag::new_port:
      case tag::port:
      case tag::v4_port: out = term(read_port_body(t)); return true;
      case tag::newer_reference:
      case tag::new_reference:
      case tag::reference: out = term(read_ref_body(t)); return true;
      case tag::export_: out = read_export(); return true;
      case tag::new_fun: return open_fun(out);
      case tag::compressed: fail_at_tag("a compressed term (tag 80) is only allowed at the top level");
      case tag::fun: fail_at_tag("FUN_EXT (tag 117) is not supported (not sent since OTP 23)");
      case tag::local: fail_at_tag("LOCAL_EXT (tag 121) is unsupported: only the node that encoded it can decode it");
      default: fail_at_tag(fmt::format("unknown term tag {}", t));
    }
  }

  [[noreturn]] void fail_at_tag(const std::string& what) const { throw decode_error(in_.pos() - 1, what); }

  term close(frame& f) {
    switch (f.k) {
      case frame::kind::tuple: return term::tuple(std::move(f.items));
      case frame::kind::list: {
        term tail = std::move(f.items.back());
        f.items.pop_back();
        return tail.is_nil() ? term::list(std::move(f.items)) : term::improper_list(std::move(f.items), std::move(tail));
      }
      case frame::kind::map: return close_map(f.items);
      case frame::kind::fun: return close_fun(*f.fun, f.items);
    }
    return term();
  }

  bool open_tuple(std::uint64_t arity, term& out) {
    if (arity == 0) {
      out = term::tuple(term_list{});
      return true;
    }
    in_.check_count(arity, 1, "tuple");
    push(frame::kind::tuple, arity);
    return false;
  }

  // LIST_EXT: Length elements, then the tail. With Length 0 the "list" is
  // just its tail (OTP decodes it so), which the next `open` reads.
  bool open_list() {
    std::uint64_t n = in_.be(4, "LIST_EXT");
    in_.check_count(n + 1, 1, "list");
    if (n > 0) push(frame::kind::list, n + 1);
    return false;
  }

  bool open_map(term& out) {
    std::uint64_t n = in_.be(4, "MAP_EXT");
    if (n == 0) {
      out = term::map(std::vector<std::pair<term, term>>{});
      return true;
    }
    in_.check_count(n, 2, "map");
    push(frame::kind::map, 2 * n);
    return false;
  }

  term close_map(term_list& items) {
    std::vector<std::pair<term, term>> entries;
    entries.reserve(items.size() / 2);
    for (std::size_t i = 0; i < items.size(); i += 2) entries.emplace_back(std::move(items[i]), std::move(items[i + 1]));
    std::size_t n = entries.size();
    term m = term::map(std::move(entries));
    // OTP's binary_to_term rejects duplicate keys (the spec forbids them).
    if (m.size() != n) in_.fail("map with duplicate keys");
    return m;
  }

  term read_big(std::uint64_t n) {
    std::uint8_t sign = in_.u8("bignum sign");
    std::string_view digits = in_.bytes(n, "bignum digits");
    while (!digits.empty() && digits.back() == 0) digits.remove_suffix(1);
    // Any non-zero sign byte means negative, as in OTP.
    return term::big(sign != 0, std::vector<std::uint8_t>(digits.begin(), digits.end()));
  }

  term checked_float(double d) const {
    if (!std::isfinite(d)) in_.fail("float is NaN or infinite");
    return term(d);
  }

  // FLOAT_EXT: 31 bytes of "%.20e" text, NUL-padded.
  term read_float_text() {
    std::string_view text = in_.bytes(31, "FLOAT_EXT");
    text = text.substr(0, text.find('\0'));
    double d = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), d);
    if (ec != std::errc() || end != text.data() + text.size())
      in_.fail(fmt::format("FLOAT_EXT text '{}' is not a float", text));
    return checked_float(d);
  }

  atom read_atom() { return read_atom_body(in_.u8("atom tag")); }

  atom read_atom_body(std::uint8_t t) {
    std::size_t at = in_.pos() - 1;
    switch (t) {
      case tag::atom_latin1: return atom_from_wire(in_.bytes(in_.be(2, "ATOM_EXT"), "atom text"), true, at);
      case tag::small_atom_latin1: return atom_from_wire(in_.bytes(in_.u8("SMALL_ATOM_EXT"), "atom text"), true, at);
      case tag::atom_utf8: return atom_from_wire(in_.bytes(in_.be(2, "ATOM_UTF8_EXT"), "atom text"), false, at);
      case tag::small_atom_utf8:
        return atom_from_wire(in_.bytes(in_.u8("SMALL_ATOM_UTF8_EXT"), "atom text"), false, at);
      case tag::atom_cache_ref: {
        std::uint8_t index = in_.u8("ATOM_CACHE_REF");
        if (refs_ == nullptr) throw decode_error(at, "atom cache reference outside a distribution message");
        if (index >= refs_->size())
          throw decode_error(at, fmt::format("atom cache reference {} but the header has {}", index, refs_->size()));
        return (*refs_)[index];
      }
      default: throw decode_error(at, fmt::format("expected an atom, found tag {}", t));
    }
  }

  term read_string() {
    std::string_view bytes = in_.bytes(in_.be(2, "STRING_EXT"), "STRING_EXT data");
    term_list elements;
    elements.reserve(bytes.size());
    for (char c : bytes) elements.emplace_back(std::int64_t{static_cast<unsigned char>(c)});
    return term::list(std::move(elements));
  }

  // BIT_BINARY_EXT: Bits (1..8) of the last byte are used; an empty one has
  // Bits = 0. The unused low bits are cleared so equal bitstrings compare equal.
  term read_bit_binary() {
    std::uint64_t n = in_.be(4, "BIT_BINARY_EXT");
    std::uint8_t bits = in_.u8("BIT_BINARY_EXT bits");
    if (n == 0 ? bits != 0 : (bits < 1 || bits > 8))
      in_.fail(fmt::format("bitstring of {} bytes cannot have {} bits in its last byte", n, bits));
    std::string data(in_.bytes(n, "BIT_BINARY_EXT data"));
    if (n == 0 || bits == 8) return term::binary(std::move(data));
    data.back() = static_cast<char>(static_cast<unsigned char>(data.back()) & (0xff << (8 - bits)));
    return term::bitstring(std::move(data), bits);
  }

  term_pid read_pid_body(std::uint8_t t) {
    term_pid p;
    p.node = read_atom();
    p.id = static_cast<std::uint32_t>(in_.be(4, "pid id"));
    p.serial = static_cast<std::uint32_t>(in_.be(4, "pid serial"));
    p.creation = static_cast<std::uint32_t>(in_.be(t == tag::new_pid ? 4 : 1, "pid creation"));
    return p;
  }

  term_pid read_pid() {
    std::uint8_t t = in_.u8("pid tag");
    if (t != tag::new_pid && t != tag::pid) fail_at_tag(fmt::format("expected a pid, found tag {}", t));
    return read_pid_body(t);
  }

  term_port read_port_body(std::uint8_t t) {
    term_port p;
    p.node = read_atom();
    p.id = in_.be(t == tag::v4_port ? 8 : 4, "port id");
    p.creation = static_cast<std::uint32_t>(in_.be(t == tag::port ? 1 : 4, "port creation"));
    return p;
  }

  term_ref read_ref_body(std::uint8_t t) {
    term_ref r;
    std::size_t words = t == tag::reference ? 1 : in_.be(2, "reference length");
    if (words < 1 || words > 5) in_.fail(fmt::format("reference of {} words (1 to 5)", words));
    r.node = read_atom();
    if (t == tag::reference) {  // REFERENCE_EXT: Node, ID, Creation
      r.words.push_back(static_cast<std::uint32_t>(in_.be(4, "reference id")));
      r.creation = in_.u8("reference creation");
      return r;
    }
    r.creation = static_cast<std::uint32_t>(in_.be(t == tag::newer_reference ? 4 : 1, "reference creation"));
    for (std::size_t i = 0; i < words; ++i) r.words.push_back(static_cast<std::uint32_t>(in_.be(4, "reference id")));
    return r;
  }

  // SMALL_INTEGER_EXT or INTEGER_EXT, where the format requires a plain integer.
  std::int64_t read_small_int(const char* what) {
    std::uint8_t t = in_.u8(what);
    if (t == tag::small_integer) return in_.u8(what);
    if (t == tag::integer) return static_cast<std::int32_t>(static_cast<std::uint32_t>(in_.be(4, what)));
    fail_at_tag(fmt::format("{}: expected an integer, found tag {}", what, t));
  }

  term read_export() {
    term_fun f;
    f.module = read_atom();
    f.function = read_atom();
    std::int64_t arity = read_small_int("EXPORT_EXT arity");
    if (arity < 0 || arity > 255) in_.fail(fmt::format("EXPORT_EXT arity {} (0 to 255)", arity));
    f.arity = static_cast<std::uint8_t>(arity);
    return term(std::move(f));
  }

  // NEW_FUN_EXT: Size Arity Uniq Index NumFree Module OldIndex OldUniq Pid
  // FreeVars, where Size counts the bytes from Size to the end of the fun.
  bool open_fun(term& out) {
    std::size_t size_at = in_.pos();
    std::uint64_t size = in_.be(4, "NEW_FUN_EXT size");
    if (size < 29 || size - 4 > in_.remaining())
      throw decode_error(size_at, fmt::format("NEW_FUN_EXT size {} does not fit the {} bytes left", size, in_.remaining() + 4));
    auto parts = std::make_unique<fun_parts>();
    parts->end = size_at + size;
    parts->arity = in_.u8("fun arity");
    std::string_view uniq = in_.bytes(16, "fun uniq");
    std::copy(uniq.begin(), uniq.end(), parts->uniq.begin());
    parts->index = static_cast<std::uint32_t>(in_.be(4, "fun index"));
    parts->num_free = static_cast<std::uint32_t>(in_.be(4, "fun free variable count"));
    parts->module = read_atom();
    parts->old_index = read_small_int("fun old index");
    parts->old_uniq = read_small_int("fun old uniq");
    parts->pid = read_pid();
    if (in_.pos() > parts->end || parts->num_free > parts->end - in_.pos())
      in_.fail(fmt::format("NEW_FUN_EXT with {} free variables overruns its size {}", parts->num_free, size));
    if (parts->num_free == 0) {
      out = close_fun(*parts, {});
      return true;
    }
    std::size_t n = parts->num_free;
    push(frame::kind::fun, n, std::move(parts));
    return false;
  }

  term close_fun(const fun_parts& p, const term_list& free_vars) {
    if (in_.pos() != p.end)
      in_.fail(fmt::format("NEW_FUN_EXT ends at byte {} but its size field says byte {}", in_.pos(), p.end));
    term_fun f;
    f.module = p.module;
    f.arity = p.arity;
    std::string& enc = f.encoded;
    enc.push_back(static_cast<char>(tag::new_fun));
    append_be(enc, 0, 4);  // Size, patched below
    enc.push_back(static_cast<char>(p.arity));
    enc.append(p.uniq.data(), p.uniq.size());
    append_be(enc, p.index, 4);
    append_be(enc, p.num_free, 4);
    for (const term& part : {term(p.module), term(p.old_index), term(p.old_uniq), term(p.pid)})
      etf::encode_append(enc, part, false);
    for (const term& v : free_vars) etf::encode_append(enc, v, false);
    std::string size;
    append_be(size, enc.size() - 1, 4);
    enc.replace(1, 4, size);
    return term(std::move(f));
  }

  reader in_;
  const std::vector<atom>* refs_;
  const etf::decode_limits& limits_;
  // The frame stack, one per thread, kept between decodings (a fresh one
  // grew by several allocations per message). Decoding calls no user code,
  // so decoders never nest on a thread; a deep term's stack is not kept.
  static constexpr std::size_t kept_frames = 64;
  static thread_local std::vector<frame> t_stack;
  std::vector<frame>& stack_ = t_stack;
};

// zlib inflate of `in` into exactly `declared` bytes, growing the output as
// data arrives (a lying size costs nothing up front). `consumed` is set to
// the compressed bytes used. Errors are reported at `at`.
std::string inflate_bounded(std::string_view in, std::size_t declared, std::size_t at, std::size_t& consumed) {
  z_stream zs{};
  if (inflateInit(&zs) != Z_OK) throw decode_error(at, "zlib initialisation failed");
  struct guard {
    z_stream& zs;
    ~guard() { inflateEnd(&zs); }
  } end_stream{zs};

  std::string out(std::min<std::size_t>(declared, 64 * 1024), '\0');
  std::size_t produced = 0;
  std::size_t fed = 0;
  char spill = 0;  // output room once `declared` bytes are in: any byte there is an overrun
  for (;;) {
    if (zs.avail_in == 0 && fed < in.size()) {
      zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data() + fed));
      zs.avail_in = static_cast<uInt>(std::min<std::size_t>(in.size() - fed, UINT_MAX));
      fed += zs.avail_in;
    }
    if (produced == out.size() && out.size() < declared)
      out.resize(std::min(declared, out.size() * 2));
    bool full = produced == declared;
    uInt room = full ? 1 : static_cast<uInt>(std::min<std::size_t>(out.size() - produced, UINT_MAX));
    zs.next_out = reinterpret_cast<Bytef*>(full ? &spill : out.data() + produced);
    zs.avail_out = room;
    int rc = inflate(&zs, Z_NO_FLUSH);
    std::size_t wrote = room - zs.avail_out;
    if (full && wrote > 0)
      throw decode_error(at, fmt::format("compressed term inflates to more than its declared {} bytes", declared));
    if (!full) produced += wrote;
    if (rc == Z_STREAM_END) break;
    if (rc == Z_BUF_ERROR) throw decode_error(at, "compressed term is truncated");
    if (rc != Z_OK)
      throw decode_error(at, fmt::format("corrupt compressed term: {}", zs.msg != nullptr ? zs.msg : "zlib error"));
  }
  if (produced != declared)
    throw decode_error(at, fmt::format("compressed term inflates to {} bytes, not the declared {}", produced, declared));
  consumed = fed - zs.avail_in;
  return out;
}

thread_local std::vector<decoder::frame> decoder::t_stack;

// 131 80 UncompressedSize:32 ZlibData, `at` pointing at the 80.
term decode_compressed(std::string_view bytes, std::size_t& at, const std::vector<atom>* refs,
                       const etf::decode_limits& limits) {
  reader in(bytes, at + 1);
  std::uint64_t declared = in.be(4, "compressed term size");
  if (declared > limits.max_uncompressed)
    throw decode_error(at, fmt::format("compressed term declares {} bytes (limit {})", declared, limits.max_uncompressed));
  std::size_t consumed = 0;
  std::string data = inflate_bounded(bytes.substr(in.pos()), declared, at, consumed);
  try {
    decoder d(data, 0, refs, limits);
    term t = d.decode_term();
    if (d.pos() != data.size()) throw decode_error(d.pos(), "bytes left after the term");
    at = in.pos() + consumed;
    return t;
  } catch (const decode_error& e) {
    throw decode_error(at, fmt::format("in the uncompressed data of a compressed term: {}", e.what()));
  }
}

}  // namespace
}  // namespace otp::internal

namespace otp::etf {

term decode_one(std::string_view bytes, std::size_t& pos, const std::vector<atom>* atom_refs,
                const decode_limits& limits, bool expect_version) {
  std::size_t p = pos;
  if (p > bytes.size()) throw decode_error(p, fmt::format("start is beyond the {}-byte buffer", bytes.size()));
  if (expect_version) {
    if (p == bytes.size()) throw decode_error(p, "truncated: expected the version byte 131");
    if (static_cast<std::uint8_t>(bytes[p]) != version_magic)
      throw decode_error(p, fmt::format("expected the version byte 131, found {}", static_cast<std::uint8_t>(bytes[p])));
    ++p;
  }
  term t;
  if (p < bytes.size() && static_cast<std::uint8_t>(bytes[p]) == internal::etf_tag::compressed) {
    t = internal::decode_compressed(bytes, p, atom_refs, limits);
  } else {
    internal::decoder d(bytes, p, atom_refs, limits);
    t = d.decode_term();
    p = d.pos();
  }
  pos = p;
  return t;
}

term decode(std::string_view bytes, const decode_limits& limits) {
  std::size_t pos = 0;
  term t = decode_one(bytes, pos, nullptr, limits, true);
  if (pos != bytes.size()) throw decode_error(pos, fmt::format("{} bytes left after the term", bytes.size() - pos));
  return t;
}

}  // namespace otp::etf
