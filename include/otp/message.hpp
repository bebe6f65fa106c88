#pragma once
/// \file otp/message.hpp
/// `otp::message`: a type-erased, move-only envelope for any C++ value.
/// Values up to 48 bytes with a noexcept move are stored inline (no
/// allocation); larger ones live on the heap. Receivers match by exact type.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>
#include <string>
#include <type_traits>
#include <typeinfo>
#include <utility>

#include "otp/describe.hpp"
#include "otp/term_codec.hpp"

namespace otp {

namespace detail {

struct message_vtable {
  void (*destroy)(void* storage) noexcept;      ///< null: nothing to destroy
  void (*move)(void* dst, void* src) noexcept;  ///< move-construct dst from src, destroy src; null: copy the bytes
  std::string (*describe)(const void* storage);  ///< otp::describe of the value
  const std::type_info& type;
  term (*to_term)(const void* storage);  ///< the value as a term (null: the type has no codec)
  std::size_t size;                      ///< sizeof the value
};

inline constexpr std::size_t message_inline_size = 48;

template <class T>
inline constexpr bool message_fits_inline = sizeof(T) <= message_inline_size &&
                                            alignof(T) <= alignof(std::max_align_t) &&
                                            std::is_nothrow_move_constructible_v<T>;

/// Stored inline and moved by copying its bytes, with nothing to destroy
/// (ints, enums, small plain structs: most requests and replies). Such a
/// message moves without an indirect call.
template <class T>
inline constexpr bool message_is_trivial = message_fits_inline<T> && std::is_trivially_copyable_v<T>;

template <class T>
struct message_ops {
  static T* ptr(void* s) noexcept {
    if constexpr (message_fits_inline<T>) return std::launder(static_cast<T*>(s));
    else return *static_cast<T**>(s);
  }
  static void destroy(void* s) noexcept {
    if constexpr (message_fits_inline<T>) ptr(s)->~T();
    else delete ptr(s);
  }
  static void move(void* dst, void* src) noexcept {
    if constexpr (message_fits_inline<T>) {
      ::new (dst) T(std::move(*ptr(src)));
      ptr(src)->~T();
    } else {
      *static_cast<T**>(dst) = *static_cast<T**>(src);
    }
  }
  static std::string describe(const void* s) { return otp::describe(*ptr(const_cast<void*>(s))); }
  static term encode(const void* s) { return otp::to_term(*ptr(const_cast<void*>(s))); }
  static constexpr auto encoder() noexcept {
    if constexpr (term_encodable<T>) return &encode;
    else return static_cast<term (*)(const void*)>(nullptr);
  }
  // One vtable per type: its address is the type's identity (inline variable,
  // so unique across translation units).
  static constexpr auto destroyer() noexcept {
    return message_is_trivial<T> ? static_cast<void (*)(void*) noexcept>(nullptr) : &destroy;
  }
  static constexpr auto mover() noexcept {
    return message_is_trivial<T> ? static_cast<void (*)(void*, void*) noexcept>(nullptr) : &move;
  }
  static inline const message_vtable vtable{destroyer(), mover(), &describe, typeid(T), encoder(), sizeof(T)};
};

}  // namespace detail

/// A message of any type. Empty after being moved from.
class message {
 public:
  // User-provided, so that value-initialising a message (`message{}`, or a
  // `{}` member initialiser of an aggregate) does not zero its 48-byte
  // buffer first: with gen_server's outcome that showed up as a `rep stos`
  // costing ~5 % of a call.
  message() noexcept {}  // NOLINT(modernize-use-equals-default)

  template <class T, class D = std::decay_t<T>,
            class = std::enable_if_t<!std::is_same_v<D, message>>>
  message(T&& value) : vt_(&detail::message_ops<D>::vtable) {  // NOLINT: implicit by design
    // A value under a word is moved as the whole word (take_value): its
    // other bytes are zeroed first, not copied uninitialised (one store).
    if constexpr (sizeof(D) < 8) std::memset(buf_, 0, 8);
    if constexpr (detail::message_fits_inline<D>) ::new (static_cast<void*>(buf_)) D(std::forward<T>(value));
    else *reinterpret_cast<D**>(buf_) = new D(std::forward<T>(value));
  }

  message(message&& o) noexcept : vt_(o.vt_) {
    take_value(o);
  }
  message& operator=(message&& o) noexcept {
    if (this != &o) {
      reset();
      vt_ = o.vt_;
      take_value(o);
    }
    return *this;
  }
  message(const message&) = delete;
  message& operator=(const message&) = delete;
  ~message() { reset(); }

  bool empty() const noexcept { return vt_ == nullptr; }
  /// True if the message holds exactly a `T`.
  template <class T>
  bool is() const noexcept { return vt_ == &detail::message_ops<T>::vtable; }
  /// The held `T`, or nullptr if it holds another type.
  template <class T>
  T* get_if() noexcept { return is<T>() ? detail::message_ops<T>::ptr(buf_) : nullptr; }
  template <class T>
  const T* get_if() const noexcept { return const_cast<message*>(this)->get_if<T>(); }
  /// The held `T`; the type must match (checked with `is<T>()` first).
  template <class T>
  T& get() noexcept { return *detail::message_ops<T>::ptr(buf_); }
  template <class T>
  const T& get() const noexcept { return *detail::message_ops<T>::ptr(const_cast<unsigned char*>(buf_)); }
  /// The held value's type name (demangled), for logs and crash reports.
  std::string type_name() const { return vt_ ? detail::demangle(vt_->type.name()) : "<empty>"; }
  /// The held value's type (typeid(void) when empty).
  const std::type_info& type() const noexcept { return vt_ ? vt_->type : typeid(void); }
  /// The held value as text (otp::describe), for logs and crash reports.
  std::string describe() const { return vt_ ? vt_->describe(buf_) : "<empty>"; }
  /// True if the held value can travel to another node (its type has a
  /// term codec, otp/term_codec.hpp).
  bool can_encode() const noexcept { return vt_ && vt_->to_term; }
  /// The held value as a term; check can_encode() first.
  term to_term() const { return vt_->to_term(buf_); }

  void reset() noexcept {
    if (vt_ && vt_->destroy) vt_->destroy(buf_);
    vt_ = nullptr;
  }

 private:
  template <int N>
  void copy_words(const message& o) noexcept {
    for (int i = 0; i < N; ++i) {
      std::uint64_t w;
      std::memcpy(&w, o.buf_ + 8 * i, 8);
      std::memcpy(buf_ + 8 * i, &w, 8);
    }
  }
  // vt_ is already o's: moves o's value here and leaves o empty.
  void take_value(message& o) noexcept {
    if (!vt_) return;
    if (vt_->move) [[unlikely]] {
      vt_->move(buf_, o.buf_);
    } else if (vt_->size <= 8) {
      // Word by word, as small values are stored: a 16-byte load of a value
      // just written with an 8-byte store (a reply built and moved at once)
      // cannot take it from the store buffer and stalls.
      copy_words<1>(o);
    } else if (vt_->size <= 16) {
      copy_words<2>(o);
    } else {
      copy_words<detail::message_inline_size / 8>(o);  // not memcpy: GCC makes that a slow `rep movs` in cold code
    }
    o.vt_ = nullptr;
  }

  const detail::message_vtable* vt_ = nullptr;
  alignas(std::max_align_t) unsigned char buf_[detail::message_inline_size];
};

}  // namespace otp
