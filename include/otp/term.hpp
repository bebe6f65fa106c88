#pragma once
/// \file otp/term.hpp
/// `otp::term`: a dynamic Erlang term — what crosses the wire to BEAM nodes.
/// Atoms are interned; compound terms share immutable storage, so copying a
/// term is cheap, and a term may be read from any thread. Equality and
/// ordering follow Erlang's term order (number < atom < reference < fun < port
/// < pid < tuple < map < nil < list < bitstring); printing uses Erlang syntax,
/// and `term::parse` reads it back. Comparing, hashing, printing and
/// destroying a term use no recursion, so a deeply nested term from a peer
/// cannot overflow a process's stack.

#include <fmt/format.h>

#include <atomic>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace otp {

/// An interned atom. Two atoms are equal iff their texts are equal; the
/// comparison is one integer compare. The atom table only grows (as in the
/// BEAM) and is bounded: `atom::make` throws `std::length_error` when it is
/// full, so a peer cannot exhaust memory with new atoms. @threadsafe
class atom {
 public:
  /// The empty atom `''`.
  constexpr atom() noexcept = default;
  /// Interns `text` (UTF-8, at most 255 characters; longer throws
  /// `std::invalid_argument`).
  explicit atom(std::string_view text) : index_(intern(text)) {}
  static atom make(std::string_view text) { return atom(text); }
  /// The atom if it already exists (never grows the table).
  static std::optional<atom> existing(std::string_view text);
  std::string_view name() const noexcept;
  std::uint32_t index() const noexcept { return index_; }
  /// Erlang syntax: `ok`, `'EXIT'`, `'hello world'`.
  std::string to_string() const;
  friend constexpr bool operator==(atom a, atom b) noexcept { return a.index_ == b.index_; }
  /// Alphabetical (by UTF-8 bytes), as Erlang orders atoms.
  friend std::strong_ordering operator<=>(atom a, atom b) noexcept;

  static constexpr std::size_t max_atoms = 1u << 20;  ///< the BEAM's default limit

 private:
  friend class term;
  static std::uint32_t intern(std::string_view text);
  std::uint32_t index_ = 0;
};

/// A pid as it travels between nodes (NEW_PID_EXT).
struct term_pid {
  atom node;
  std::uint32_t id = 0;
  std::uint32_t serial = 0;
  std::uint32_t creation = 0;
  friend bool operator==(const term_pid&, const term_pid&) = default;
};
/// A port identifier (V4_PORT_EXT / NEW_PORT_EXT).
struct term_port {
  atom node;
  std::uint64_t id = 0;
  std::uint32_t creation = 0;
  friend bool operator==(const term_port&, const term_port&) = default;
};
/// A reference (NEWER_REFERENCE_EXT): 1 to 5 32-bit words, first word first
/// (as on the wire).
struct term_ref {
  atom node;
  std::uint32_t creation = 0;
  std::vector<std::uint32_t> words;
  friend bool operator==(const term_ref&, const term_ref&) = default;
};
/// A fun. `fun M:F/A` (EXPORT_EXT) is fully supported; a local fun
/// (NEW_FUN_EXT) can only be passed through: it keeps its encoded bytes.
struct term_fun {
  atom module;
  atom function;
  std::uint8_t arity = 0;
  std::string encoded;  ///< for a local fun: its whole NEW_FUN_EXT encoding (tag included); empty for an export
  bool is_export() const noexcept { return encoded.empty(); }
  friend bool operator==(const term_fun&, const term_fun&) = default;
};

class term;
using term_list = std::vector<term>;

/// Thrown by the typed accessors (`as_*`) when a term has another type, and
/// by the codecs when a term does not convert.
struct bad_term : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// Any Erlang term. Default-constructed: `[]` (nil).
class term {
 public:
  enum class type : std::uint8_t {
    integer,    ///< fits in int64
    bignum,     ///< outside int64 (sign + magnitude)
    float_,
    atom,
    reference,
    fun,
    port,
    pid,
    tuple,
    map,
    nil,        ///< `[]`
    list,       ///< a non-empty list, proper or improper
    binary,     ///< a whole number of bytes
    bitstring,  ///< a binary whose last byte is partial
  };

  term() noexcept = default;  ///< `[]`
  term(const term&) = default;
  term& operator=(const term&) = default;
  /// Moving leaves `other` as `[]`.
  term(term&& other) noexcept : type_(other.type_), box_(std::move(other.box_)) {
    copy_scalar(other);
    other.type_ = type::nil;
  }
  term& operator=(term&& other) noexcept {
    if (this != &other) {
      type_ = other.type_;
      copy_scalar(other);
      box_ = std::move(other.box_);
      other.type_ = type::nil;
    }
    return *this;
  }
  ~term() = default;
  term(std::int64_t v) noexcept;   // NOLINT: implicit, terms are built from literals
  term(int v) noexcept : term(static_cast<std::int64_t>(v)) {}  // NOLINT
  term(double v) noexcept;         // NOLINT
  term(atom a) noexcept;           // NOLINT
  term(term_pid p);                // NOLINT
  term(term_port p);               // NOLINT
  term(term_ref r);                // NOLINT: throws `bad_term` unless it has 1 to 5 words
  term(term_fun f);                // NOLINT

  // ---- constructors by kind ----
  static term integer(std::int64_t v) { return term(v); }
  static term from_uint64(std::uint64_t v);
  /// A bignum from its sign and magnitude (little-endian bytes, as in ETF);
  /// normalised to `integer` when it fits in int64.
  static term big(bool negative, std::vector<std::uint8_t> magnitude_le);
  static term float_(double v) { return term(v); }
  static term make_atom(std::string_view text) { return term(atom(text)); }
  static term boolean(bool b);  ///< the atoms `true` / `false`
  static term tuple(term_list elements);
  static term tuple(std::initializer_list<term> elements) { return tuple(term_list(elements)); }
  /// `[]` for an empty vector; else a proper list.
  static term list(term_list elements);
  static term list(std::initializer_list<term> elements) { return list(term_list(elements)); }
  /// `[e1, ..., en | tail]`; with `tail` = nil this is a proper list.
  /// `elements` must not be empty (an improper list has at least one element).
  static term improper_list(term_list elements, term tail);
  /// A binary: an Elixir string, or any bytes.
  static term binary(std::string_view bytes);
  static term binary(std::string bytes);
  static term binary(const char* bytes) { return binary(std::string_view(bytes)); }
  /// A bitstring of `bits` bits (`bytes.size() * 8 - 8 < bits <= bytes.size() * 8`).
  static term bitstring(std::string bytes, std::uint8_t bits_in_last_byte);
  /// A charlist (Erlang "string"): a list of the code points of UTF-8 `text`.
  static term charlist(std::string_view text);
  /// A map; later duplicates of a key replace earlier ones.
  static term map(std::vector<std::pair<term, term>> entries);
  static term map(std::initializer_list<std::pair<term, term>> entries) {
    return map(std::vector<std::pair<term, term>>(entries));
  }

  /// Parses Erlang syntax: integers (any size, `16#ff`, `$a`), floats, atoms
  /// (bare or quoted), "strings" (charlists), `<<1,2>>`, `<<1,2:4>>`,
  /// `<<"text">>` and `<<"text"/utf8>>` binaries, tuples, lists (also
  /// `[a | b]`) and maps `#{k => v}`; `%` comments and a final `.` are
  /// allowed. Pids, refs, ports and funs have no literal syntax and are not
  /// accepted. Throws `bad_term` with the offset on a syntax error, on nesting
  /// deeper than 10,000 and on integer literals of more than 100,000 digits
  /// (which keeps the time bounded); `std::length_error` if the atom table is
  /// full. It interns the atoms it reads: give it only trusted text.
  static term parse(std::string_view text);

  // ---- inspection ----
  type get_type() const noexcept { return type_; }
  bool is_integer() const noexcept { return type_ == type::integer || type_ == type::bignum; }
  bool is_number() const noexcept { return is_integer() || type_ == type::float_; }
  bool is_atom() const noexcept { return type_ == type::atom; }
  bool is_atom(std::string_view text) const noexcept;
  bool is_tuple() const noexcept { return type_ == type::tuple; }
  /// A tuple of `arity` elements whose first one is the atom `tag`.
  bool is_tagged_tuple(std::string_view tag, std::size_t arity) const noexcept;
  bool is_nil() const noexcept { return type_ == type::nil; }
  /// `[]` or a non-empty list (proper or not).
  bool is_list() const noexcept { return type_ == type::nil || type_ == type::list; }
  bool is_proper_list() const noexcept;
  bool is_binary() const noexcept { return type_ == type::binary; }
  bool is_bitstring() const noexcept { return type_ == type::binary || type_ == type::bitstring; }
  bool is_map() const noexcept { return type_ == type::map; }
  bool is_pid() const noexcept { return type_ == type::pid; }
  bool is_ref() const noexcept { return type_ == type::reference; }

  /// Typed access; throws `bad_term` when the term is of another type.
  std::int64_t as_int() const;  ///< throws for a bignum too
  double as_float() const;      ///< an integer converts
  atom as_atom() const;
  bool as_bool() const;         ///< `true` / `false`
  const term_pid& as_pid() const;
  const term_port& as_port() const;
  const term_ref& as_ref() const;
  const term_fun& as_fun() const;
  /// Bytes of a binary (or of a bitstring, including its partial last byte).
  std::string_view as_binary() const;
  /// For a bitstring: used bits of the last byte (1..8); 8 for a binary.
  std::uint8_t bits_in_last_byte() const noexcept;
  /// For a bignum: sign and magnitude (little-endian).
  bool big_negative() const;
  const std::vector<std::uint8_t>& big_magnitude() const;
  /// Elements of a tuple.
  std::span<const term> elements() const;
  /// Elements of a list (without its tail); empty for `[]`.
  std::span<const term> list_elements() const;
  /// The tail of a list: `[]` for a proper list.
  const term& list_tail() const;
  /// Entries of a map, sorted by key in map-key order (term order, except that
  /// every integer precedes every float, as in the BEAM).
  std::span<const std::pair<term, term>> map_entries() const;
  /// The value under `key`, or nullptr (throws `bad_term` if not a map).
  const term* map_find(const term& key) const;
  /// A proper list of code points as UTF-8 text, or a binary's bytes as they
  /// are; nullopt for anything else.
  std::optional<std::string> as_string() const;
  /// Tuple element i (0-based); throws `bad_term` if not a tuple or out of range.
  const term& operator[](std::size_t i) const;
  std::size_t size() const noexcept;  ///< tuple arity, list length (without tail), map size, binary bytes; else 0

  /// Erlang syntax, as `io:format("~w")` prints it, except that binaries of
  /// printable UTF-8 print as `<<"text">>` (`<<"tëxt"/utf8>>` when not ASCII).
  /// Charlists print as lists of integers; floats in Erlang's shortest form
  /// (`1.0`, `0.1`, `1.0e20`); bignums in decimal, or as `16#...` past 4096
  /// bytes (decimal conversion is quadratic). Text that parses back, except
  /// for what Erlang cannot write either: pids print as `#PID<node.id.serial>`,
  /// refs as `#Ref<node.w3.w2.w1>` (last word first, as Erlang), ports as
  /// `#Port<node.id>`, funs as `fun m:f/a` or `#Fun<module>`, and floats
  /// that Erlang lacks as `nan`, `inf`, `-inf`.
  std::string to_string() const;
  /// At most about `max_chars` characters of that, ending in "..." when cut;
  /// large binaries show as `<<N bytes>>` (for error messages and logs).
  std::string to_string(std::size_t max_chars) const;

  friend bool operator==(const term& a, const term& b) noexcept;
  /// Erlang's term order; integers and floats compare by value (`1 < 1.5`),
  /// but `1 == 1.0` is false (exact equality, like `=:=`): of an integer and
  /// a float of equal value the integer comes first, which keeps the order
  /// total. `0.0 == -0.0` (as in OTP 25). As OTP 25 does, pids compare by
  /// serial, id, then node name and creation; refs and ports by node name,
  /// creation, then their numbers; local funs precede `fun M:F/A`.
  friend std::strong_ordering operator<=>(const term& a, const term& b) noexcept;
  /// Compares in term order; 0 for exactly equal terms.
  static int compare(const term& a, const term& b) noexcept;

 private:
  struct box;  // shared immutable storage for everything that is not a scalar
  struct box_count {
    mutable std::atomic<std::uint32_t> refs{1};
  };
  /// Owns one reference to a box. Not std::shared_ptr: destroying a deep term
  /// takes over each child whose count it drops to zero, and touching that
  /// child's contents is only safe after the acquire of that final decrement
  /// (shared_ptr::use_count() is a relaxed load: ThreadSanitizer caught the
  /// race when two threads released a shared subterm).
  class box_ptr {
   public:
    box_ptr() noexcept = default;
    explicit box_ptr(box_count* adopted) noexcept : p_(adopted) {}
    box_ptr(const box_ptr& o) noexcept : p_(o.p_) {
      if (p_) p_->refs.fetch_add(1, std::memory_order_relaxed);  // a new owner needs no ordering
    }
    box_ptr(box_ptr&& o) noexcept : p_(std::exchange(o.p_, nullptr)) {}
    box_ptr& operator=(box_ptr o) noexcept {
      std::swap(p_, o.p_);
      return *this;
    }
    ~box_ptr() { release(std::exchange(p_, nullptr)); }
    explicit operator bool() const noexcept { return p_ != nullptr; }
    friend bool operator==(const box_ptr&, const box_ptr&) noexcept = default;
    inline const box* operator->() const noexcept;  // defined where box is complete (term.cpp)
    /// Gives up the reference without releasing it.
    box_count* detach() noexcept { return std::exchange(p_, nullptr); }
    /// Drops one reference; the last one destroys the box (and, without
    /// recursion, every descendant it held the last reference to).
    static void release(box_count* b) noexcept {
      // acq_rel: our reads of the box happen-before whoever frees it.
      if (b && b->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) destroy(b);
    }

   private:
    static void destroy(box_count* last) noexcept;
    box_count* p_ = nullptr;
  };
  struct comparison;
  struct hashing;
  struct printing;
  friend struct std::hash<term>;
  /// Map-key order: term order, except that every integer is below every float.
  static int compare_keys(const term& a, const term& b) noexcept;
  std::string_view atom_name() const noexcept;
  void copy_scalar(const term& o) noexcept { std::memcpy(static_cast<void*>(&i_), &o.i_, sizeof i_); }  // whichever member is active
  type type_ = type::nil;
  union {
    std::int64_t i_ = 0;
    double f_;
    std::uint32_t atom_;
  };
  box_ptr box_;
};

std::string to_string(const term& t);

}  // namespace otp

template <>
struct std::hash<otp::atom> {
  std::size_t operator()(otp::atom a) const noexcept { return std::hash<std::uint32_t>{}(a.index()); }
};
template <>
struct std::hash<otp::term> {
  std::size_t operator()(const otp::term& t) const noexcept;
};

/// Terms print in Erlang syntax with fmt (and so in crash reports).
template <>
struct fmt::formatter<otp::term> : fmt::formatter<std::string_view> {
  auto format(const otp::term& t, fmt::format_context& ctx) const {
    return fmt::formatter<std::string_view>::format(t.to_string(), ctx);
  }
};
