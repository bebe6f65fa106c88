#pragma once
/// \file otp/etf.hpp
/// The External Term Format (ETF): how `otp::term`s travel between nodes, the
/// format of `erlang:term_to_binary/1` and `erlang:binary_to_term/1`.
///
/// Encoding produces what OTP 25 puts on the distribution (UTF-8 atoms, i.e.
/// `term_to_binary(T, [{minor_version, 2}])`), byte for byte, with one
/// exception: maps of more than 32 keys are written in term order, where the
/// BEAM writes its hash order (both decode to the same map).
///
/// Decoding accepts every tag an OTP 25 node may send and is safe on hostile
/// input: every length is checked against the bytes that remain before
/// anything is allocated, nesting is decoded without recursion and bounded,
/// compressed data is inflated incrementally and bounded, and every error is
/// a `decode_error` naming the problem and the byte where it was found.

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "otp/term.hpp"

namespace otp::etf {

/// The version byte that starts every encoded term (and distribution header).
inline constexpr std::uint8_t version_magic = 131;

/// Malformed or unsupported input. `offset` is the byte (from the start of
/// the buffer that was given to the decoder) where the problem was found;
/// the message repeats it and says what was wrong.
struct decode_error : std::runtime_error {
  decode_error(std::size_t at, const std::string& what);
  std::size_t offset;
};

/// Bounds that keep a decoder's time and memory proportional to its input.
struct decode_limits {
  /// Deepest nesting of tuples, lists, maps and fun environments
  /// (`[[[...]]]` of depth 1001 fails with the default).
  std::size_t max_depth = 1000;
  /// Largest uncompressed size accepted for a compressed term (tag 80). The
  /// declared size is checked first, and inflation stops there too.
  std::size_t max_uncompressed = std::size_t{1} << 30;
  /// Distribution only: bytes of incomplete fragmented messages buffered
  /// per connection, all sequences together.
  std::size_t max_fragment_bytes = std::size_t{1} << 30;
  /// Distribution only: fragmented messages in progress at the same time on
  /// one connection (the BEAM interleaves one per sending process).
  std::size_t max_open_sequences = 4096;
};

/// `term_to_binary(T, [{minor_version, 2}])`: the version byte 131, then `t`.
/// Throws `bad_term` for what ETF cannot carry (a NaN or infinite float).
std::string encode(const term& t);

/// Appends the encoding of `t` to `out` (without the version byte when
/// `with_version` is false, as terms that follow a distribution header are).
/// `out` grows once, by `encoded_size(t, with_version)`.
void encode_append(std::string& out, const term& t, bool with_version = true);

/// The exact number of bytes `encode_append(out, t, with_version)` appends.
std::size_t encoded_size(const term& t, bool with_version = true);

/// `binary_to_term/1` on the whole buffer: the version byte is required, and
/// bytes left after the term are an error (OTP ignores them). Like OTP 25 it
/// rejects duplicate map keys, NaN and infinite floats, atoms that are not
/// UTF-8 or longer than 255 characters, and LOCAL_EXT (121); it also rejects
/// references of 0 words (OTP accepts them) and the old FUN_EXT (117).
/// A local fun (NEW_FUN_EXT) decodes to a `term_fun` holding its module,
/// arity and a self-contained re-encoding (atom cache references resolved).
/// Throws `decode_error`.
term decode(std::string_view bytes, const decode_limits& limits = {});

/// Decodes one term that starts at `pos` and advances `pos` past it.
/// `atom_refs` resolves ATOM_CACHE_REF (tag 82) indices: it is the atom list
/// of the distribution header that precedes the term (nullptr: tag 82 is an
/// error). `expect_version`: whether the term starts with the version byte
/// (terms after a distribution header do not). A compressed term (tag 80)
/// is accepted only at the top level, as in OTP.
term decode_one(std::string_view bytes, std::size_t& pos,
                const std::vector<atom>* atom_refs = nullptr,
                const decode_limits& limits = {}, bool expect_version = true);

}  // namespace otp::etf
