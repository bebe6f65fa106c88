// ETF encoding: what `term_to_binary(T, [{minor_version, 2}])` produces on
// OTP 25 (the encoding the distribution uses: UTF-8 atoms, NEW_FLOAT_EXT,
// NEW_PID_EXT, NEWER_REFERENCE_EXT, NEW_PORT_EXT or V4_PORT_EXT).
//
// One traversal serves both `encoded_size` and `encode_append` (a counting
// sink and a writing sink), so `encode_append` reserves once and the bytes
// of a large binary are copied exactly once. The traversal is iterative
// (pre-order with an explicit stack, which is ETF's order), so a deeply
// nested term cannot overflow a small fiber stack.

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "otp/etf.hpp"
#include "term/etf_tags.hpp"

namespace otp::etf {
namespace {

namespace tag = internal::etf_tag;

struct size_sink {
  std::size_t n = 0;
  void byte(std::uint8_t) { ++n; }
  void be(std::uint64_t, std::size_t width) { n += width; }
  void bytes(std::string_view s) { n += s.size(); }
};

// Writes into a buffer sized beforehand with size_sink's count.
struct pointer_sink {
  char* at;
  void byte(std::uint8_t b) { *at++ = static_cast<char>(b); }
  void be(std::uint64_t v, std::size_t width) {
    for (std::size_t i = width; i-- > 0;) *at++ = static_cast<char>((v >> (8 * i)) & 0xff);
  }
  void bytes(std::string_view s) {
    std::memcpy(at, s.data(), s.size());
    at += s.size();
  }
};

// ETF counts are 32-bit; a longer list, tuple, map or binary has no encoding.
std::uint32_t count32(std::size_t n, const char* what) {
  if (n > std::numeric_limits<std::uint32_t>::max())
    throw bad_term(fmt::format("cannot encode a {} of {} elements in ETF (at most 2^32-1)", what, n));
  return static_cast<std::uint32_t>(n);
}

// A list's elements may be split over a chain of tails (`[1 | [2, 3]]`);
// OTP encodes the chain as one list, and so do we. Nearly every list is one
// segment, kept inline (no allocation for the usual list of a message).
struct list_chain {
  const term* first;                 // a non-empty list
  std::vector<const term*> more;     // the segments after the first, if any
  const term* tail = nullptr;        // the final non-list tail (or nil)
  std::size_t length = 0;

  explicit list_chain(const term& t) : first(&t), length(t.list_elements().size()) {
    const term* cur = &t.list_tail();
    while (cur->get_type() == term::type::list) {
      more.push_back(cur);
      length += cur->list_elements().size();
      cur = &cur->list_tail();
    }
    tail = cur;
  }
  template <class F>
  void each_element(F&& f) const {
    for (const term& e : first->list_elements()) f(e);
    for (const term* s : more)
      for (const term& e : s->list_elements()) f(e);
  }
  // STRING_EXT: a proper list of at most 65535 integers 0..255.
  bool is_byte_string() const {
    if (!tail->is_nil() || length > 0xffff) return false;
    bool bytes = true;
    each_element([&](const term& e) {
      bytes = bytes && e.get_type() == term::type::integer && e.as_int() >= 0 && e.as_int() <= 255;
    });
    return bytes;
  }
};

// The encoders' work stacks, one per thread, kept between encodings: a
// distribution message is encoded twice (size, then bytes) and each fresh
// stack grew by several allocations. Encoding calls no user code, so
// encoders never nest on a thread.
thread_local std::vector<const term*> t_work;

template <class Sink>
class encoder {
 public:
  explicit encoder(Sink& sink) : out_(sink) {}

  void run(const term& root) {
    work_.clear();  // what an encoding that threw left
    work_.push_back(&root);
    while (!work_.empty()) {
      const term* t = work_.back();
      work_.pop_back();
      put(*t);
    }
  }

 private:
  void put(const term& t) {
    switch (t.get_type()) {
      case term::type::integer: return put_integer(t.as_int());
      case term::type::bignum: return put_big(t.big_negative(), t.big_magnitude());
      case term::type::float_: return put_float(t.as_float());
      case term::type::atom: return put_atom(t.as_atom());
      case term::type::reference: return put_ref(t.as_ref());
      case term::type::fun: return put_fun(t.as_fun());
      case term::type::port: return put_port(t.as_port());
      case term::type::pid: return put_pid(t.as_pid());
      case term::type::tuple: return put_tuple(t);
      case term::type::map: return put_map(t);
      case term::type::nil: return out_.byte(tag::nil);
      case term::type::list: return put_list(t);
      case term::type::binary: return put_binary(t.as_binary());
      case term::type::bitstring: return put_bitstring(t.as_binary(), t.bits_in_last_byte());
    }
  }

  void put_integer(std::int64_t v) {
    if (v >= 0 && v <= 255) {
      out_.byte(tag::small_integer);
      out_.byte(static_cast<std::uint8_t>(v));
    } else if (v >= std::numeric_limits<std::int32_t>::min() && v <= std::numeric_limits<std::int32_t>::max()) {
      out_.byte(tag::integer);
      out_.be(static_cast<std::uint32_t>(static_cast<std::int32_t>(v)), 4);
    } else {
      // |v| without overflow for INT64_MIN.
      std::uint64_t m = v < 0 ? std::uint64_t{0} - static_cast<std::uint64_t>(v) : static_cast<std::uint64_t>(v);
      std::uint8_t digits[8];
      std::size_t n = 0;
      for (; m != 0; m >>= 8) digits[n++] = static_cast<std::uint8_t>(m & 0xff);
      out_.byte(tag::small_big);
      out_.byte(static_cast<std::uint8_t>(n));
      out_.byte(v < 0 ? 1 : 0);
      out_.bytes(std::string_view(reinterpret_cast<const char*>(digits), n));
    }
  }

  void put_big(bool negative, const std::vector<std::uint8_t>& magnitude_le) {
    std::size_t n = magnitude_le.size();
    while (n > 0 && magnitude_le[n - 1] == 0) --n;  // high zero digits are not part of the number
    if (n <= 255) {
      out_.byte(tag::small_big);
      out_.byte(static_cast<std::uint8_t>(n));
    } else {
      out_.byte(tag::large_big);
      out_.be(count32(n, "bignum"), 4);
    }
    out_.byte(negative ? 1 : 0);
    out_.bytes(std::string_view(reinterpret_cast<const char*>(magnitude_le.data()), n));
  }

  void put_float(double d) {
    if (!std::isfinite(d)) throw bad_term(fmt::format("cannot encode the float {} in ETF (not finite)", d));
    out_.byte(tag::new_float);
    out_.be(std::bit_cast<std::uint64_t>(d), 8);
  }

  void put_atom(atom a) {
    std::string_view name = a.name();
    if (name.size() <= 255) {
      out_.byte(tag::small_atom_utf8);
      out_.byte(static_cast<std::uint8_t>(name.size()));
    } else {
      out_.byte(tag::atom_utf8);
      out_.be(name.size(), 2);
    }
    out_.bytes(name);
  }

  void put_pid(const term_pid& p) {
    out_.byte(tag::new_pid);
    put_atom(p.node);
    out_.be(p.id, 4);
    out_.be(p.serial, 4);
    out_.be(p.creation, 4);
  }

  // OTP 25 writes NEW_PORT_EXT when the port number fits 32 bits, else V4_PORT_EXT.
  void put_port(const term_port& p) {
    bool fits32 = p.id <= std::numeric_limits<std::uint32_t>::max();
    out_.byte(fits32 ? tag::new_port : tag::v4_port);
    put_atom(p.node);
    out_.be(p.id, fits32 ? 4 : 8);
    out_.be(p.creation, 4);
  }

  void put_ref(const term_ref& r) {
    if (r.words.size() > 0xffff) throw bad_term("cannot encode a reference of more than 65535 words");
    out_.byte(tag::newer_reference);
    out_.be(r.words.size(), 2);
    put_atom(r.node);
    out_.be(r.creation, 4);
    for (std::uint32_t w : r.words) out_.be(w, 4);
  }

  // A local fun is passed through as the NEW_FUN_EXT bytes it was received as.
  void put_fun(const term_fun& f) {
    if (!f.is_export()) return out_.bytes(f.encoded);
    out_.byte(tag::export_);
    put_atom(f.module);
    put_atom(f.function);
    out_.byte(tag::small_integer);
    out_.byte(f.arity);
  }

  void put_tuple(const term& t) {
    auto elements = t.elements();
    if (elements.size() <= 255) {
      out_.byte(tag::small_tuple);
      out_.byte(static_cast<std::uint8_t>(elements.size()));
    } else {
      out_.byte(tag::large_tuple);
      out_.be(count32(elements.size(), "tuple"), 4);
    }
    push_reversed(elements);
  }

  void put_map(const term& t) {
    auto entries = t.map_entries();
    out_.byte(tag::map);
    out_.be(count32(entries.size(), "map"), 4);
    for (auto it = entries.rbegin(); it != entries.rend(); ++it) {
      work_.push_back(&it->second);
      work_.push_back(&it->first);
    }
  }

  void put_list(const term& t) {
    list_chain chain(t);
    if (chain.is_byte_string()) {
      out_.byte(tag::string);
      out_.be(chain.length, 2);
      chain.each_element([&](const term& e) { out_.byte(static_cast<std::uint8_t>(e.as_int())); });
      return;
    }
    out_.byte(tag::list);
    out_.be(count32(chain.length, "list"), 4);
    work_.push_back(chain.tail);
    for (auto seg = chain.more.rbegin(); seg != chain.more.rend(); ++seg) push_reversed((*seg)->list_elements());
    push_reversed(chain.first->list_elements());
  }

  template <class Range>
  void push_reversed(const Range& elements) {
    for (auto it = elements.rbegin(); it != elements.rend(); ++it) work_.push_back(&*it);
  }

  void put_binary(std::string_view bytes) {
    out_.byte(tag::binary);
    out_.be(count32(bytes.size(), "binary"), 4);
    out_.bytes(bytes);
  }

  // The unused low bits of the last byte are written as zeros, as OTP does.
  void put_bitstring(std::string_view bytes, std::uint8_t bits) {
    if (bytes.empty()) return put_binary(bytes);
    out_.byte(tag::bit_binary);
    out_.be(count32(bytes.size(), "bitstring"), 4);
    out_.byte(bits);
    out_.bytes(bytes.substr(0, bytes.size() - 1));
    auto mask = static_cast<std::uint8_t>(0xff << (8 - bits));
    out_.byte(static_cast<std::uint8_t>(bytes.back()) & mask);
  }

  Sink& out_;
  std::vector<const term*>& work_ = t_work;
};

}  // namespace

std::size_t encoded_size(const term& t, bool with_version) {
  size_sink sink;
  encoder<size_sink>(sink).run(t);
  return sink.n + (with_version ? 1 : 0);
}

void encode_append(std::string& out, const term& t, bool with_version) {
  const std::size_t start = out.size();
  out.resize(start + encoded_size(t, with_version));
  char* at = out.data() + start;
  if (with_version) *at++ = static_cast<char>(version_magic);
  internal::encode_into(at, t);
}

std::string encode(const term& t) {
  std::string out;
  encode_append(out, t, true);
  return out;
}

}  // namespace otp::etf

namespace otp::internal {

char* encode_into(char* dst, const term& t) {
  etf::pointer_sink sink{dst};
  etf::encoder<etf::pointer_sink>(sink).run(t);
  return sink.at;
}

}  // namespace otp::internal
