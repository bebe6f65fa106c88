// otp::atom and otp::term: the atom table, construction, access, Erlang's
// term order, hashing and printing. Parsing is in term_parse.cpp.
//
// Terms can be nested as deeply as a peer cares to send them, and processes
// run on small stacks, so nothing here recurses on the depth of a term:
// comparison, hashing, printing and destruction all walk with an explicit
// stack.

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <cassert>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <unordered_map>
#include <variant>

#include "otp/term.hpp"
#include "term/atom_table.hpp"
#include "term/term_internal.hpp"

namespace otp {

// ================================================================ atoms

namespace {

// Interned atom texts. Reads (`name`) take no lock: entries live in chunks
// that never move, and a chunk pointer is published (release) before any
// index inside it is handed out. Interning takes the lock; lookups of
// existing atoms share it.
class atom_table {
 public:
  atom_table() { insert_locked(""); }

  std::string_view name(std::uint32_t index) const noexcept {
    const entry* chunk = chunks_[index >> chunk_bits].load(std::memory_order_acquire);
    const entry& e = chunk[index & (chunk_size - 1)];
    return {e.data, e.size};
  }

  std::optional<std::uint32_t> find(std::string_view text) const {
    recent& r = t_recent[recent_slot(text)];
    if (r.data != nullptr && std::string_view(r.data, r.size) == text) return r.index;
    std::shared_lock lock(mutex_);
    auto it = index_.find(text);
    if (it == index_.end()) return std::nullopt;
    r = recent{it->first.data(), static_cast<std::uint32_t>(it->first.size()), it->second};
    return it->second;
  }

  std::uint32_t intern(std::string_view text) {
    if (auto found = find(text)) return *found;
    std::unique_lock lock(mutex_);
    auto it = index_.find(text);  // someone may have interned it meanwhile
    if (it != index_.end()) return it->second;
    if (count_ >= limit_) throw std::length_error("otp::atom: the atom table is full");
    return insert_locked(text);
  }

  std::size_t count() const noexcept {
    std::shared_lock lock(mutex_);
    return count_;
  }

  void set_limit(std::size_t limit) noexcept {
    std::unique_lock lock(mutex_);
    limit_ = std::clamp<std::size_t>(limit, count_, atom::max_atoms);
  }

 private:
  struct entry {
    const char* data = nullptr;
    std::uint32_t size = 0;
  };
  // The atoms this thread looked up last, in front of the shared table:
  // every distribution message names the same few (node names, '$gen_call',
  // ...), and taking the shared lock for each made its cache line bounce
  // between the threads that decode and encode (5 % of a remote call's CPU).
  // Atoms are never removed and texts never move, so an entry never goes
  // stale.
  struct recent {
    const char* data = nullptr;
    std::uint32_t size = 0;
    std::uint32_t index = 0;
  };
  static constexpr std::size_t recent_slots = 64;
  static thread_local std::array<recent, recent_slots> t_recent;
  // A few bytes rather than a hash of all: a collision costs only a lookup
  // in the table, and node names share long prefixes and suffixes.
  static std::size_t recent_slot(std::string_view text) noexcept {
    if (text.empty()) return 0;
    const auto at = [&](std::size_t i) { return static_cast<std::size_t>(static_cast<unsigned char>(text[i])); };
    const std::size_t n = text.size();
    return (n * 7 + at(0) * 3 + at(n / 2) * 5 + at(n / 3) * 11 + at(n - 1) * 13 + at((2 * n) / 3) * 17) % recent_slots;
  }

  static constexpr unsigned chunk_bits = 12;
  static constexpr std::size_t chunk_size = std::size_t{1} << chunk_bits;
  static constexpr std::size_t arena_block = 64 * 1024;  // > the longest atom (255 * 4 bytes)

  std::uint32_t insert_locked(std::string_view text) {
    const auto index = static_cast<std::uint32_t>(count_);
    entry* chunk = chunks_[index >> chunk_bits].load(std::memory_order_relaxed);
    if (chunk == nullptr) {
      chunk_storage_.push_back(std::make_unique<entry[]>(chunk_size));
      chunk = chunk_storage_.back().get();
      chunks_[index >> chunk_bits].store(chunk, std::memory_order_release);
    }
    const char* stored = store(text);
    chunk[index & (chunk_size - 1)] = entry{stored, static_cast<std::uint32_t>(text.size())};
    index_.emplace(std::string_view(stored, text.size()), index);
    ++count_;
    return index;
  }

  // Texts are copied into an arena of blocks that never move or shrink.
  const char* store(std::string_view text) {
    if (arena_.empty() || arena_used_ + text.size() > arena_block) {
      arena_.push_back(std::make_unique<char[]>(arena_block));
      arena_used_ = 0;
    }
    char* at = arena_.back().get() + arena_used_;
    std::memcpy(at, text.data(), text.size());
    arena_used_ += text.size();
    return at;
  }

  std::array<std::atomic<entry*>, atom::max_atoms / chunk_size> chunks_{};
  mutable std::shared_mutex mutex_;
  std::unordered_map<std::string_view, std::uint32_t> index_;
  std::vector<std::unique_ptr<entry[]>> chunk_storage_;
  std::vector<std::unique_ptr<char[]>> arena_;
  std::size_t arena_used_ = 0;
  std::size_t count_ = 0;
  std::size_t limit_ = atom::max_atoms;
};

thread_local std::array<atom_table::recent, atom_table::recent_slots> atom_table::t_recent{};

// Never destroyed: atoms stay valid in static destructors, as in the BEAM.
atom_table& table() {
  static atom_table* const t = new atom_table;
  return *t;
}

bool is_bare_atom(std::string_view s) {
  static constexpr std::string_view reserved[] = {
      "after", "and", "andalso", "band", "begin", "bnot", "bor", "bsl", "bsr", "bxor", "case", "catch",
      "cond", "div", "else", "end", "fun", "if", "let", "maybe", "not", "of", "or", "orelse", "receive",
      "rem", "try", "when", "xor"};
  if (s.empty() || s[0] < 'a' || s[0] > 'z') return false;
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '@';
    if (!ok) return false;
  }
  return std::find(std::begin(reserved), std::end(reserved), s) == std::end(reserved);
}

}  // namespace

namespace internal {
std::size_t atom_count() noexcept { return table().count(); }
void set_atom_limit(std::size_t limit) noexcept { table().set_limit(limit); }
}  // namespace internal

std::uint32_t atom::intern(std::string_view text) {
  // Most atoms exist already (every message names the same few): a text
  // found in the table was valid when it went in.
  if (auto index = table().find(text)) return *index;
  std::size_t chars = 0;
  for (std::size_t pos = 0; pos < text.size(); ++chars) {
    if (!internal::decode_utf8(text, pos)) throw std::invalid_argument("otp::atom: the text is not valid UTF-8");
  }
  if (chars > 255) throw std::invalid_argument("otp::atom: longer than 255 characters");
  return table().intern(text);
}

std::optional<atom> atom::existing(std::string_view text) {
  auto index = table().find(text);
  if (!index) return std::nullopt;
  atom a;
  a.index_ = *index;
  return a;
}

std::string_view atom::name() const noexcept { return table().name(index_); }

std::string atom::to_string() const {
  std::string_view text = name();
  if (is_bare_atom(text)) return std::string(text);
  std::string out = "'";
  internal::append_quoted_chars(out, text, '\'');
  out += '\'';
  return out;
}

std::strong_ordering operator<=>(atom a, atom b) noexcept {
  if (a == b) return std::strong_ordering::equal;
  return a.name().compare(b.name()) <=> 0;
}

// ================================================================ storage

struct term::box : box_count {
  using bignum = internal::bignum_data;
  struct sequence {  // a tuple, or a non-empty list (whose tail is never a non-empty list)
    term_list elements;
    term tail;
  };
  struct map_data {
    std::vector<std::pair<term, term>> entries;  // sorted by key, in map-key order
  };
  using bits = internal::bits_data;
  using data_type = std::variant<bignum, term_pid, term_port, term_ref, term_fun, sequence, map_data, bits>;

  explicit box(data_type d) : data(std::move(d)) {}
  box(const box&) = delete;
  box& operator=(const box&) = delete;
  ~box() = default;

  static box_ptr make(data_type d) { return box_ptr(new box(std::move(d))); }

  /// Calls f(term&) for every term this box holds.
  template <class F>
  void for_each_child(F&& f) {
    if (auto* s = std::get_if<sequence>(&data)) {
      for (term& e : s->elements) f(e);
      f(s->tail);
    } else if (auto* m = std::get_if<map_data>(&data)) {
      for (auto& [k, v] : m->entries) {
        f(k);
        f(v);
      }
    }
  }

  data_type data;
};

inline const term::box* term::box_ptr::operator->() const noexcept { return static_cast<const box*>(p_); }

// Destroying a deeply nested term must not recurse: each child whose last
// reference we drop is detached onto a work list (our acq_rel decrement made
// it ours alone) and emptied the same way before it is freed.
void term::box_ptr::destroy(box_count* last) noexcept {
  std::vector<box*> pending;
  box* b = static_cast<box*>(last);
  for (;;) {
    b->for_each_child([&pending](term& t) {
      box_count* child = t.box_.detach();
      if (child && child->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) pending.push_back(static_cast<box*>(child));
    });
    delete b;
    if (pending.empty()) return;
    b = pending.back();
    pending.pop_back();
  }
}

// ================================================================ construction

term::term(std::int64_t v) noexcept : type_(type::integer), i_(v) {}
term::term(double v) noexcept : type_(type::float_), f_(v) {}
term::term(atom a) noexcept : type_(type::atom), atom_(a.index()) {}
term::term(term_pid p) : type_(type::pid), box_(box::make(std::move(p))) {}
term::term(term_port p) : type_(type::port), box_(box::make(std::move(p))) {}
term::term(term_ref r) : type_(type::reference), box_(box::make(std::move(r))) {
  const auto& words = std::get<term_ref>(box_->data).words;
  if (words.empty() || words.size() > 5) throw bad_term("otp::term: a reference has 1 to 5 words");
}
term::term(term_fun f) : type_(type::fun), box_(box::make(std::move(f))) {}

term term::from_uint64(std::uint64_t v) {
  if (v <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) return term(static_cast<std::int64_t>(v));
  std::vector<std::uint8_t> mag(8);
  for (int i = 0; i < 8; ++i) mag[i] = static_cast<std::uint8_t>(v >> (8 * i));
  return big(false, std::move(mag));
}

term term::big(bool negative, std::vector<std::uint8_t> magnitude_le) {
  while (!magnitude_le.empty() && magnitude_le.back() == 0) magnitude_le.pop_back();
  if (magnitude_le.size() <= 8) {
    std::uint64_t u = 0;
    for (std::size_t i = 0; i < magnitude_le.size(); ++i) u |= std::uint64_t{magnitude_le[i]} << (8 * i);
    constexpr std::uint64_t int64_max = std::numeric_limits<std::int64_t>::max();
    if (!negative && u <= int64_max) return term(static_cast<std::int64_t>(u));
    if (negative && u <= int64_max + 1) return term(static_cast<std::int64_t>(0 - u));  // wraps to INT64_MIN at 2^63
  }
  term t;
  t.type_ = type::bignum;
  t.box_ = box::make(box::bignum{negative, std::move(magnitude_le)});
  return t;
}

term term::boolean(bool b) {
  static const atom t("true"), f("false");
  return term(b ? t : f);
}

term term::tuple(term_list elements) {
  term t;
  t.type_ = type::tuple;
  t.box_ = box::make(box::sequence{std::move(elements), term()});
  return t;
}

term term::list(term_list elements) { return improper_list(std::move(elements), term()); }

term term::improper_list(term_list elements, term tail) {
  if (tail.type_ == type::list) {  // keep the tail flat: [a | [b | c]] is [a, b | c]
    const auto& rest = std::get<box::sequence>(tail.box_->data);
    elements.insert(elements.end(), rest.elements.begin(), rest.elements.end());
    term new_tail = rest.tail;
    tail = std::move(new_tail);
  }
  if (elements.empty()) return tail;
  term t;
  t.type_ = type::list;
  t.box_ = box::make(box::sequence{std::move(elements), std::move(tail)});
  return t;
}

term term::binary(std::string_view bytes) { return binary(std::string(bytes)); }

term term::binary(std::string bytes) {
  term t;
  t.type_ = type::binary;
  t.box_ = box::make(box::bits{std::move(bytes), 8});
  return t;
}

term term::bitstring(std::string bytes, std::uint8_t bits_in_last_byte) {
  if (bits_in_last_byte < 1 || bits_in_last_byte > 8 || bytes.empty())
    throw bad_term("otp::term::bitstring: needs at least one byte and 1 to 8 bits in the last one");
  if (bits_in_last_byte == 8) return binary(std::move(bytes));
  bytes.back() = static_cast<char>(static_cast<unsigned char>(bytes.back()) & (0xFF00u >> bits_in_last_byte));
  term t;
  t.type_ = type::bitstring;
  t.box_ = box::make(box::bits{std::move(bytes), bits_in_last_byte});
  return t;
}

term term::charlist(std::string_view text) {
  term_list chars;
  for (std::size_t pos = 0; pos < text.size();) {
    auto c = internal::decode_utf8(text, pos);
    if (!c) throw bad_term("otp::term::charlist: the text is not valid UTF-8");
    chars.emplace_back(static_cast<std::int64_t>(*c));
  }
  return list(std::move(chars));
}

term term::map(std::vector<std::pair<term, term>> entries) {
  std::stable_sort(entries.begin(), entries.end(),
                   [](const auto& a, const auto& b) { return compare_keys(a.first, b.first) < 0; });
  // Of equal keys (adjacent now, in input order) the last one wins.
  std::vector<std::pair<term, term>> unique;
  unique.reserve(entries.size());
  for (auto& e : entries) {
    if (!unique.empty() && compare_keys(unique.back().first, e.first) == 0)
      unique.back() = std::move(e);
    else
      unique.push_back(std::move(e));
  }
  term t;
  t.type_ = type::map;
  t.box_ = box::make(box::map_data{std::move(unique)});
  return t;
}

// ================================================================ access

namespace {

[[noreturn]] void wrong_type(const char* expected, const term& t) {
  throw bad_term("expected " + std::string(expected) + ", got " + internal::describe(t));
}

}  // namespace

bool term::is_atom(std::string_view text) const noexcept { return type_ == type::atom && atom_name() == text; }

bool term::is_tagged_tuple(std::string_view tag, std::size_t arity) const noexcept {
  if (type_ != type::tuple || arity == 0) return false;
  const auto& e = std::get<box::sequence>(box_->data).elements;
  return e.size() == arity && e[0].is_atom(tag);
}

bool term::is_proper_list() const noexcept {
  return type_ == type::nil || (type_ == type::list && std::get<box::sequence>(box_->data).tail.is_nil());
}

std::int64_t term::as_int() const {
  if (type_ != type::integer) wrong_type(type_ == type::bignum ? "an integer that fits in 64 bits" : "an integer", *this);
  return i_;
}

double term::as_float() const {
  switch (type_) {
    case type::float_: return f_;
    case type::integer: return static_cast<double>(i_);
    case type::bignum: {
      const auto& b = std::get<box::bignum>(box_->data);
      double d = 0;
      for (auto it = b.magnitude.rbegin(); it != b.magnitude.rend(); ++it) d = d * 256 + *it;
      return b.negative ? -d : d;
    }
    default: wrong_type("a number", *this);
  }
}

atom term::as_atom() const {
  if (type_ != type::atom) wrong_type("an atom", *this);
  atom a;
  a.index_ = atom_;
  return a;
}

bool term::as_bool() const {
  if (is_atom("true")) return true;
  if (is_atom("false")) return false;
  wrong_type("a boolean", *this);
}

const term_pid& term::as_pid() const {
  if (type_ != type::pid) wrong_type("a pid", *this);
  return std::get<term_pid>(box_->data);
}

const term_port& term::as_port() const {
  if (type_ != type::port) wrong_type("a port", *this);
  return std::get<term_port>(box_->data);
}

const term_ref& term::as_ref() const {
  if (type_ != type::reference) wrong_type("a reference", *this);
  return std::get<term_ref>(box_->data);
}

const term_fun& term::as_fun() const {
  if (type_ != type::fun) wrong_type("a fun", *this);
  return std::get<term_fun>(box_->data);
}

std::string_view term::as_binary() const {
  if (!is_bitstring()) wrong_type("a binary", *this);
  return std::get<box::bits>(box_->data).bytes;
}

std::uint8_t term::bits_in_last_byte() const noexcept {
  return is_bitstring() ? std::get<box::bits>(box_->data).last_bits : 8;
}

bool term::big_negative() const {
  if (type_ != type::bignum) wrong_type("a bignum", *this);
  return std::get<box::bignum>(box_->data).negative;
}

const std::vector<std::uint8_t>& term::big_magnitude() const {
  if (type_ != type::bignum) wrong_type("a bignum", *this);
  return std::get<box::bignum>(box_->data).magnitude;
}

std::span<const term> term::elements() const {
  if (type_ != type::tuple) wrong_type("a tuple", *this);
  return std::get<box::sequence>(box_->data).elements;
}

std::span<const term> term::list_elements() const {
  if (type_ == type::nil) return {};
  if (type_ != type::list) wrong_type("a list", *this);
  return std::get<box::sequence>(box_->data).elements;
}

const term& term::list_tail() const {
  if (type_ == type::nil) return *this;
  if (type_ != type::list) wrong_type("a list", *this);
  return std::get<box::sequence>(box_->data).tail;
}

std::span<const std::pair<term, term>> term::map_entries() const {
  if (type_ != type::map) wrong_type("a map", *this);
  return std::get<box::map_data>(box_->data).entries;
}

const term* term::map_find(const term& key) const {
  auto entries = map_entries();
  auto it = std::lower_bound(entries.begin(), entries.end(), key,
                             [](const auto& e, const term& k) { return compare_keys(e.first, k) < 0; });
  if (it == entries.end() || compare_keys(it->first, key) != 0) return nullptr;
  return &it->second;
}

std::optional<std::string> term::as_string() const {
  if (type_ == type::binary) return std::string(std::get<box::bits>(box_->data).bytes);
  if (!is_proper_list()) return std::nullopt;
  std::string out;
  for (const term& c : list_elements()) {
    if (c.type_ != type::integer || !internal::is_code_point(c.i_)) return std::nullopt;
    internal::append_utf8(out, static_cast<char32_t>(c.i_));
  }
  return out;
}

const term& term::operator[](std::size_t i) const {
  auto e = elements();
  if (i >= e.size()) throw bad_term("tuple index " + std::to_string(i) + " out of range in " + internal::describe(*this));
  return e[i];
}

std::size_t term::size() const noexcept {
  switch (type_) {
    case type::tuple:
    case type::list: return std::get<box::sequence>(box_->data).elements.size();
    case type::map: return std::get<box::map_data>(box_->data).entries.size();
    case type::binary:
    case type::bitstring: return std::get<box::bits>(box_->data).bytes.size();
    default: return 0;
  }
}

std::string_view term::atom_name() const noexcept { return table().name(atom_); }

// ================================================================ term order

namespace {

// Rank of each type in Erlang's term order.
int rank(term::type t) noexcept {
  switch (t) {
    case term::type::integer:
    case term::type::bignum:
    case term::type::float_: return 0;
    case term::type::atom: return 1;
    case term::type::reference: return 2;
    case term::type::fun: return 3;
    case term::type::port: return 4;
    case term::type::pid: return 5;
    case term::type::tuple: return 6;
    case term::type::map: return 7;
    case term::type::nil: return 8;
    case term::type::list: return 9;
    case term::type::binary:
    case term::type::bitstring: return 10;
  }
  return 11;
}

template <class T>
int cmp(const T& a, const T& b) noexcept {
  return a < b ? -1 : (b < a ? 1 : 0);
}

int cmp_magnitudes(const std::vector<std::uint8_t>& a, const std::vector<std::uint8_t>& b) noexcept {
  if (a.size() != b.size()) return cmp(a.size(), b.size());
  for (std::size_t i = a.size(); i-- > 0;)
    if (a[i] != b[i]) return cmp(a[i], b[i]);
  return 0;
}

int cmp_bignums(const internal::bignum_data& a, const internal::bignum_data& b) noexcept {
  if (a.negative != b.negative) return a.negative ? -1 : 1;
  int c = cmp_magnitudes(a.magnitude, b.magnitude);
  return a.negative ? -c : c;
}

// NaN (which Erlang has not) sorts above every number, so the order stays total.
int cmp_floats(double a, double b) noexcept {
  if (std::isnan(a) || std::isnan(b)) return cmp(std::isnan(a), std::isnan(b));
  return cmp(a, b);  // -0.0 == 0.0, as `=:=` in OTP 25
}

int cmp_int_float(std::int64_t i, double d) noexcept {
  constexpr double two63 = 9223372036854775808.0;
  if (std::isnan(d) || d >= two63) return -1;
  if (d < -two63) return 1;
  double whole = std::trunc(d);
  if (int c = cmp(i, static_cast<std::int64_t>(whole))) return c;
  return cmp(0.0, d - whole);
}

// A double of magnitude >= 2^63 is an integer; this is its exact magnitude.
std::vector<std::uint8_t> magnitude_of(double d) {
  int exp = 0;
  double m = std::frexp(std::fabs(d), &exp);  // |d| = m * 2^exp, m in [0.5, 1)
  auto mantissa = static_cast<std::uint64_t>(std::ldexp(m, 53));
  int shift = exp - 53;  // >= 11 here
  std::vector<std::uint8_t> mag(static_cast<std::size_t>(exp + 7) / 8);
  for (int bit = 0; bit < 53; ++bit)
    if (mantissa >> bit & 1) mag[(shift + bit) / 8] |= static_cast<std::uint8_t>(1u << ((shift + bit) % 8));
  return mag;
}

int cmp_big_float(const internal::bignum_data& b, double d) {
  constexpr double two63 = 9223372036854775808.0;
  if (std::isnan(d) || d == HUGE_VAL) return -1;
  if (d == -HUGE_VAL) return 1;
  if (std::fabs(d) < two63) return b.negative ? -1 : 1;  // a bignum lies beyond int64
  return cmp_bignums(b, internal::bignum_data{d < 0, magnitude_of(d)});
}

int cmp_bitstrings(std::string_view a, unsigned a_last, std::string_view b, unsigned b_last) noexcept {
  std::size_t a_bits = a.size() * 8 - (8 - a_last), b_bits = b.size() * 8 - (8 - b_last);
  std::size_t common = std::min(a_bits, b_bits);
  std::size_t whole = common / 8;
  if (int c = std::memcmp(a.data(), b.data(), whole)) return c < 0 ? -1 : 1;
  if (unsigned rest = common % 8) {
    unsigned mask = 0xFF00u >> rest & 0xFF;
    if (int c = cmp(static_cast<unsigned char>(a[whole]) & mask, static_cast<unsigned char>(b[whole]) & mask)) return c;
  }
  return cmp(a_bits, b_bits);
}

int cmp_nodes(atom a, std::uint32_t a_creation, atom b, std::uint32_t b_creation) noexcept {
  if (int c = cmp(a, b)) return c;
  return cmp(a_creation, b_creation);
}

int cmp_refs(const term_ref& a, const term_ref& b) noexcept {
  if (int c = cmp_nodes(a.node, a.creation, b.node, b.creation)) return c;
  if (int c = cmp(a.words.size(), b.words.size())) return c;
  for (std::size_t i = a.words.size(); i-- > 0;)  // the last word is the most significant
    if (int c = cmp(a.words[i], b.words[i])) return c;
  return 0;
}

int cmp_funs(const term_fun& a, const term_fun& b) noexcept {
  if (a.is_export() != b.is_export()) return a.is_export() ? 1 : -1;  // local funs first
  if (int c = cmp(a.module, b.module)) return c;
  if (a.is_export()) {
    if (int c = cmp(a.function, b.function)) return c;
    return cmp(a.arity, b.arity);
  }
  return cmp(a.encoded, b.encoded);
}

}  // namespace

// The walk: pairs of terms to compare, in order. A null side stands for "the
// rest of a non-empty list" (when one list has more elements than the other,
// the shorter one's tail meets the longer one's remaining cells).
struct term::comparison {
  struct step {
    const term* a;
    const term* b;
    bool exact;  // map keys: integers before floats, regardless of value
  };

  static int numbers(const term& a, const term& b, bool exact) noexcept {
    const bool a_float = a.type_ == type::float_, b_float = b.type_ == type::float_;
    if (a_float && b_float) return cmp_floats(a.f_, b.f_);
    if (a_float != b_float) {
      if (exact) return a_float ? 1 : -1;
      int c = a_float ? -int_vs_float(b, a.f_) : int_vs_float(a, b.f_);
      if (c != 0) return c;
      return a_float ? 1 : -1;  // equal values: the integer first
    }
    if (a.type_ == type::integer && b.type_ == type::integer) return cmp(a.i_, b.i_);
    if (a.type_ == type::bignum && b.type_ == type::bignum)
      return cmp_bignums(std::get<box::bignum>(a.box_->data), std::get<box::bignum>(b.box_->data));
    // A bignum and an int64: the bignum lies beyond.
    const term& big = a.type_ == type::bignum ? a : b;
    int c = std::get<box::bignum>(big.box_->data).negative ? -1 : 1;
    return &big == &a ? c : -c;
  }

  static int int_vs_float(const term& i, double d) noexcept {
    if (i.type_ == type::integer) return cmp_int_float(i.i_, d);
    return cmp_big_float(std::get<box::bignum>(i.box_->data), d);
  }

  // Compares the top of two terms of the same rank and queues their children.
  static int shallow(const term& a, const term& b, bool exact, std::vector<step>& todo) noexcept {
    switch (rank(a.type_)) {
      case 0: return numbers(a, b, exact);
      case 1: return a.atom_ == b.atom_ ? 0 : cmp(a.atom_name(), b.atom_name());
      case 2: return cmp_refs(a.as_ref(), b.as_ref());
      case 3: return cmp_funs(a.as_fun(), b.as_fun());
      case 4: {
        const auto &x = a.as_port(), &y = b.as_port();
        if (int c = cmp_nodes(x.node, x.creation, y.node, y.creation)) return c;
        return cmp(x.id, y.id);
      }
      case 5: {  // OTP 25 orders pids by serial, number, then node
        const auto &x = a.as_pid(), &y = b.as_pid();
        if (int c = cmp(x.serial, y.serial)) return c;
        if (int c = cmp(x.id, y.id)) return c;
        return cmp_nodes(x.node, x.creation, y.node, y.creation);
      }
      case 6: {
        const auto &x = std::get<box::sequence>(a.box_->data).elements, &y = std::get<box::sequence>(b.box_->data).elements;
        if (int c = cmp(x.size(), y.size())) return c;
        for (std::size_t i = x.size(); i-- > 0;) todo.push_back({&x[i], &y[i], exact});
        return 0;
      }
      case 7: {  // size, then all keys (in key order), then the values
        const auto &x = std::get<box::map_data>(a.box_->data).entries, &y = std::get<box::map_data>(b.box_->data).entries;
        if (int c = cmp(x.size(), y.size())) return c;
        for (std::size_t i = x.size(); i-- > 0;) todo.push_back({&x[i].second, &y[i].second, exact});
        for (std::size_t i = x.size(); i-- > 0;) todo.push_back({&x[i].first, &y[i].first, true});
        return 0;
      }
      case 8: return 0;
      case 9: {
        const auto &x = std::get<box::sequence>(a.box_->data), &y = std::get<box::sequence>(b.box_->data);
        std::size_t n = x.elements.size(), m = y.elements.size();
        todo.push_back({n <= m ? &x.tail : nullptr, m <= n ? &y.tail : nullptr, exact});
        for (std::size_t i = std::min(n, m); i-- > 0;) todo.push_back({&x.elements[i], &y.elements[i], exact});
        return 0;
      }
      default: {
        const auto &x = std::get<box::bits>(a.box_->data), &y = std::get<box::bits>(b.box_->data);
        return cmp_bitstrings(x.bytes, x.last_bits, y.bytes, y.last_bits);
      }
    }
  }

  static int run(const term& a, const term& b, bool exact) noexcept {
    std::vector<step> todo;
    step s{&a, &b, exact};
    for (;;) {
      int ra = s.a ? rank(s.a->type_) : rank(type::list);
      int rb = s.b ? rank(s.b->type_) : rank(type::list);
      if (ra != rb) return cmp(ra, rb);
      assert(s.a && s.b);  // a list's tail is never a non-empty list
      bool shared = s.a->box_ && s.a->box_ == s.b->box_;
      if (!shared) {
        if (int c = shallow(*s.a, *s.b, s.exact, todo)) return c;
      }
      if (todo.empty()) return 0;
      s = todo.back();
      todo.pop_back();
    }
  }
};

int term::compare_keys(const term& a, const term& b) noexcept { return comparison::run(a, b, true); }

int term::compare(const term& a, const term& b) noexcept { return comparison::run(a, b, false); }

bool operator==(const term& a, const term& b) noexcept { return term::compare(a, b) == 0; }

std::strong_ordering operator<=>(const term& a, const term& b) noexcept { return term::compare(a, b) <=> 0; }

// ================================================================ hashing

struct term::hashing {
  static std::size_t run(const term& root) noexcept {
    std::uint64_t h = 0xcbf29ce484222325ull;
    auto mix = [&h](std::uint64_t v) {
      h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
      h *= 0x100000001b3ull;
    };
    auto mix_bytes = [&mix](std::string_view s) { mix(std::hash<std::string_view>{}(s)); };
    std::vector<const term*> todo;  // allocated only for compound terms
    for (const term* next = &root;; next = todo.back(), todo.pop_back()) {
      const term& t = *next;
      mix(static_cast<std::uint64_t>(t.type_));
      switch (t.type_) {
        case type::integer: mix(static_cast<std::uint64_t>(t.i_)); break;
        case type::float_: {
          double d = t.f_ == 0 ? 0.0 : t.f_;  // -0.0 == 0.0
          mix(std::isnan(d) ? 1 : std::bit_cast<std::uint64_t>(d));
          break;
        }
        case type::atom: mix(t.atom_); break;
        case type::nil: break;
        case type::bignum: {
          const auto& b = std::get<box::bignum>(t.box_->data);
          mix(b.negative);
          mix_bytes({reinterpret_cast<const char*>(b.magnitude.data()), b.magnitude.size()});
          break;
        }
        case type::pid: {
          const auto& p = std::get<term_pid>(t.box_->data);
          for (std::uint64_t v : {std::uint64_t{p.node.index()}, std::uint64_t{p.id}, std::uint64_t{p.serial}, std::uint64_t{p.creation}}) mix(v);
          break;
        }
        case type::port: {
          const auto& p = std::get<term_port>(t.box_->data);
          for (std::uint64_t v : {std::uint64_t{p.node.index()}, p.id, std::uint64_t{p.creation}}) mix(v);
          break;
        }
        case type::reference: {
          const auto& r = std::get<term_ref>(t.box_->data);
          mix(r.node.index());
          mix(r.creation);
          for (auto w : r.words) mix(w);
          break;
        }
        case type::fun: {
          const auto& f = std::get<term_fun>(t.box_->data);
          for (std::uint64_t v : {std::uint64_t{f.module.index()}, std::uint64_t{f.function.index()}, std::uint64_t{f.arity}}) mix(v);
          mix_bytes(f.encoded);
          break;
        }
        case type::tuple:
        case type::list: {
          const auto& s = std::get<box::sequence>(t.box_->data);
          mix(s.elements.size());
          todo.push_back(&s.tail);
          for (auto it = s.elements.rbegin(); it != s.elements.rend(); ++it) todo.push_back(&*it);
          break;
        }
        case type::map: {
          const auto& m = std::get<box::map_data>(t.box_->data).entries;
          mix(m.size());
          for (auto it = m.rbegin(); it != m.rend(); ++it) {
            todo.push_back(&it->second);
            todo.push_back(&it->first);
          }
          break;
        }
        case type::binary:
        case type::bitstring: {
          const auto& b = std::get<box::bits>(t.box_->data);
          mix(b.last_bits);
          mix_bytes(b.bytes);
          break;
        }
      }
      if (todo.empty()) return static_cast<std::size_t>(h);
    }
  }
};

// ================================================================ printing

namespace {

std::string decimal(const internal::bignum_data& b) {
  std::vector<std::uint32_t> limbs = internal::limbs_of(b.magnitude);
  std::vector<std::uint32_t> groups;  // base 10^9, least significant first
  while (!limbs.empty()) {
    std::uint64_t rem = 0;
    for (std::size_t i = limbs.size(); i-- > 0;) {
      std::uint64_t cur = rem << 32 | limbs[i];
      limbs[i] = static_cast<std::uint32_t>(cur / 1000000000u);
      rem = cur % 1000000000u;
    }
    groups.push_back(static_cast<std::uint32_t>(rem));
    while (!limbs.empty() && limbs.back() == 0) limbs.pop_back();
  }
  std::string out = b.negative ? "-" : "";
  out += std::to_string(groups.back());
  for (std::size_t i = groups.size() - 1; i-- > 0;) {
    std::string g = std::to_string(groups[i]);
    out.append(9 - g.size(), '0').append(g);
  }
  return out;
}

// Base 16 (`16#...`, which parses back) for bignums whose decimal form would
// take quadratic time to produce.
std::string hexadecimal(const internal::bignum_data& b) {
  static constexpr char digits[] = "0123456789ABCDEF";
  std::string out = b.negative ? "-16#" : "16#";
  std::size_t start = out.size();
  for (auto it = b.magnitude.rbegin(); it != b.magnitude.rend(); ++it) {
    out += digits[*it >> 4];
    out += digits[*it & 15];
  }
  if (out[start] == '0') out.erase(start, 1);
  return out;
}

// Erlang's shortest round-tripping float form (io_lib_format:fwrite_g in OTP 25):
// the fixed form `123.0` / `0.001` unless the `1.0e20` form is shorter.
std::string format_float(double d) {
  if (std::isnan(d)) return "nan";
  if (std::isinf(d)) return d < 0 ? "-inf" : "inf";
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
  std::string_view sci(buf, static_cast<std::size_t>(res.ptr - buf));  // "-1.2345e+20"
  std::string out;
  if (sci.front() == '-') {
    out = "-";
    sci.remove_prefix(1);
  }
  std::size_t e = sci.find('e');
  std::string digits;
  for (char c : sci.substr(0, e))
    if (c != '.') digits += c;
  int exp10 = 0;
  std::string_view exp_text = sci.substr(e + 1);
  if (exp_text.front() == '+') exp_text.remove_prefix(1);
  std::from_chars(exp_text.data(), exp_text.data() + exp_text.size(), exp10);
  while (digits.size() > 1 && digits.back() == '0') digits.pop_back();

  const int len = static_cast<int>(digits.size());
  const int place = exp10 - len + 1;  // value = digits * 10^place
  const std::string exp_str = std::to_string(exp10);
  const int exp_cost = static_cast<int>(exp_str.size()) + 2 + (len == 1 ? 1 : 0);
  auto scientific = [&] {
    out += digits[0];
    out += '.';
    out += len == 1 ? std::string("0") : digits.substr(1);
    out += 'e';
    out += exp_str;
    return out;
  };
  if (place < 0) {
    if (exp10 >= 0) return out + digits.substr(0, static_cast<std::size_t>(exp10 + 1)) + "." + digits.substr(static_cast<std::size_t>(exp10 + 1));
    if (2 - place - len <= exp_cost) return out + "0." + std::string(static_cast<std::size_t>(-place - len), '0') + digits;
    return scientific();
  }
  if (exp_cost >= place + 2 && std::fabs(d) < 9007199254740992.0) return out + digits + std::string(static_cast<std::size_t>(place), '0') + ".0";
  return scientific();
}

bool printable_char(char32_t c) {
  return (c >= 32 && c != 127 && !(c >= 128 && c < 160)) || c == '\n' || c == '\r' || c == '\t' || c == '\v' ||
         c == '\b' || c == '\f' || c == 27;
}

// `<<"text">>` when the bytes are printable UTF-8 (`/utf8` marks non-ASCII
// text, as `~tp` does), else `<<1,2,3>>` (and `<<1,2,3:4>>` for bitstrings).
void print_bits(std::string& out, const internal::bits_data& b) {
  bool text = b.last_bits == 8 && !b.bytes.empty();
  bool ascii = true;
  for (std::size_t pos = 0; text && pos < b.bytes.size();) {
    auto c = internal::decode_utf8(b.bytes, pos);
    text = c && printable_char(*c);
    ascii = ascii && c && *c < 128;
  }
  out += "<<";
  if (text) {
    out += '"';
    internal::append_quoted_chars(out, b.bytes, '"');
    out += ascii ? "\"" : "\"/utf8";
  } else {
    for (std::size_t i = 0; i < b.bytes.size(); ++i) {
      if (i) out += ',';
      auto byte = static_cast<unsigned char>(b.bytes[i]);
      if (i + 1 == b.bytes.size() && b.last_bits != 8)
        out.append(std::to_string(byte >> (8 - b.last_bits))).append(":").append(std::to_string(b.last_bits));
      else
        out += std::to_string(byte);
    }
  }
  out += ">>";
}

}  // namespace

struct term::printing {
  // A piece of output: a term to print, or literal text.
  struct piece {
    const term* t;
    std::string_view text;
  };

  static void scalar(std::string& out, const term& t) {
    switch (t.type_) {
      case type::integer: out += std::to_string(t.i_); break;
      case type::bignum: {
        const auto& b = std::get<box::bignum>(t.box_->data);
        out += b.magnitude.size() <= 4096 ? decimal(b) : hexadecimal(b);
        break;
      }
      case type::float_: out += format_float(t.f_); break;
      case type::atom: out += t.as_atom().to_string(); break;
      case type::nil: out += "[]"; break;
      case type::pid: {
        const auto& p = std::get<term_pid>(t.box_->data);
        out.append("#PID<").append(p.node.to_string()).append(".").append(std::to_string(p.id));
        out.append(".").append(std::to_string(p.serial)).append(">");
        break;
      }
      case type::port: {
        const auto& p = std::get<term_port>(t.box_->data);
        out.append("#Port<").append(p.node.to_string()).append(".").append(std::to_string(p.id)).append(">");
        break;
      }
      case type::reference: {
        const auto& r = std::get<term_ref>(t.box_->data);
        out.append("#Ref<").append(r.node.to_string());
        for (auto it = r.words.rbegin(); it != r.words.rend(); ++it) out.append(".").append(std::to_string(*it));
        out += ">";
        break;
      }
      case type::fun: {
        const auto& f = std::get<term_fun>(t.box_->data);
        if (f.is_export())
          out.append("fun ").append(f.module.to_string()).append(":").append(f.function.to_string()).append("/").append(std::to_string(f.arity));
        else
          out.append("#Fun<").append(f.module.to_string()).append(">");
        break;
      }
      case type::binary:
      case type::bitstring: print_bits(out, std::get<box::bits>(t.box_->data)); break;
      default: break;
    }
  }

  /// Prints `root`; past `limit` characters it stops early (what it gives
  /// back may then be cut anywhere) and large binaries print as their size:
  /// error messages name the term without printing megabytes.
  static std::string run(const term& root, std::size_t limit = std::string::npos) {
    std::string out;
    std::vector<piece> todo{{&root, {}}};
    while (!todo.empty() && out.size() <= limit) {
      piece p = todo.back();
      todo.pop_back();
      if (!p.t) {
        out += p.text;
        continue;
      }
      const term& t = *p.t;
      switch (t.type_) {
        case type::tuple: {
          const auto& e = std::get<box::sequence>(t.box_->data).elements;
          out += '{';
          todo.push_back({nullptr, "}"});
          for (std::size_t i = e.size(); i-- > 0;) {
            todo.push_back({&e[i], {}});
            if (i) todo.push_back({nullptr, ","});
          }
          break;
        }
        case type::list: {
          const auto& s = std::get<box::sequence>(t.box_->data);
          out += '[';
          todo.push_back({nullptr, "]"});
          if (!s.tail.is_nil()) {
            todo.push_back({&s.tail, {}});
            todo.push_back({nullptr, "|"});
          }
          for (std::size_t i = s.elements.size(); i-- > 0;) {
            todo.push_back({&s.elements[i], {}});
            if (i) todo.push_back({nullptr, ","});
          }
          break;
        }
        case type::map: {
          const auto& m = std::get<box::map_data>(t.box_->data).entries;
          out += "#{";
          todo.push_back({nullptr, "}"});
          for (std::size_t i = m.size(); i-- > 0;) {
            todo.push_back({&m[i].second, {}});
            todo.push_back({nullptr, " => "});
            todo.push_back({&m[i].first, {}});
            if (i) todo.push_back({nullptr, ","});
          }
          break;
        }
        default:
          if (limit != std::string::npos && t.is_bitstring() && t.size() > limit)
            out += "<<" + std::to_string(t.size()) + " bytes>>";
          else
            scalar(out, t);
      }
    }
    return out;
  }
};

std::string term::to_string() const { return printing::run(*this); }

std::string term::to_string(std::size_t max_chars) const {
  std::string s = printing::run(*this, max_chars);
  if (s.size() > max_chars) s.resize(max_chars), s += "...";
  return s;
}

std::string to_string(const term& t) { return t.to_string(); }

namespace internal {

std::string describe(const term& t) {
  return t.to_string(200);
}

}  // namespace internal

}  // namespace otp

std::size_t std::hash<otp::term>::operator()(const otp::term& t) const noexcept { return otp::term::hashing::run(t); }
