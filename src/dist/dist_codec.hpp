#pragma once
// Framing of distribution messages (erts "Distribution Protocol", "Protocol
// between connected nodes", and "External Term Format", "Distribution
// Header"). A packet is the body of one 4-byte-length-prefixed packet after
// the handshake (ticks, the empty packets, are filtered by the caller):
//
//   112 131 Control [131 Message]                 pass-through (no DIST_HDR_ATOM_CACHE)
//   131 68 AtomCacheSection Control [Message]     normal distribution header
//   131 69 SeqId:64 FragId:64 AtomCacheSection Data   first fragment (FragId = count)
//   131 70 SeqId:64 FragId:64 Data                    next fragments (FragId counts down to 1)
//
// Terms after a distribution header carry no version byte; their
// ATOM_CACHE_REF (82) indices name the header's atoms. The header's new
// entries update the per-connection atom cache, which later headers refer to.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "otp/etf.hpp"
#include "otp/term.hpp"

namespace otp::internal {

/// The receiving side's atom cache of one connection: 8 segments of 256
/// entries, indexed by SegmentIndex * 256 + InternalSegmentIndex.
class atom_cache {
 public:
  static constexpr std::size_t size = 2048;
  /// The atom stored at `index`, or nullopt if none was ever stored there.
  std::optional<atom> get(std::size_t index) const noexcept { return entries_[index]; }
  void set(std::size_t index, atom a) noexcept { entries_[index] = a; }

 private:
  std::array<std::optional<atom>, size> entries_{};
};

/// One received distribution message: the control tuple and, for the
/// operations that have one (SEND, REG_SEND, ...), the message.
struct dist_message {
  term control;
  std::optional<term> payload;
};

/// Decodes the packets of one connection, in arrival order. Not thread-safe
/// (one per connection, used by its reader).
class dist_decoder {
 public:
  explicit dist_decoder(etf::decode_limits limits = {});

  /// The message `packet` completes, or nullopt when it is a fragment of a
  /// message that is not complete yet. Throws `etf::decode_error` on any
  /// malformed packet, unknown fragment sequence or exceeded limit; the
  /// connection must then be closed (its atom cache and fragment state can
  /// no longer be trusted).
  std::optional<dist_message> feed(std::string_view packet);

  /// Bytes of incomplete fragmented messages held (for tests and metrics).
  std::size_t buffered_bytes() const noexcept { return buffered_; }

 private:
  struct sequence {
    std::vector<atom> refs;  // the atoms of the first fragment's header
    std::string data;        // the fragments' data so far
    std::uint64_t next_fragment = 0;
  };

  std::vector<atom> read_atom_cache_section(std::string_view packet, std::size_t& pos);
  std::optional<dist_message> first_fragment(std::string_view packet, std::size_t pos);
  std::optional<dist_message> next_fragment(std::string_view packet, std::size_t pos);
  void buffer(sequence& s, std::string_view data, std::size_t at);
  dist_message decode_body(std::string_view data, std::size_t pos, const std::vector<atom>* refs,
                           bool with_version) const;

  etf::decode_limits limits_;
  atom_cache cache_;
  std::unordered_map<std::uint64_t, sequence> sequences_;
  std::size_t buffered_ = 0;
};

/// The body of a packet carrying `control` and, if not null, `payload`.
/// With `hdr_atom_cache` (DFLAG_DIST_HDR_ATOM_CACHE negotiated) it is a
/// normal distribution header without atom cache references (131 68 0),
/// else a pass-through packet (112). We never send fragments: a packet may
/// be up to 4 GiB. Throws `bad_term` for a term ETF cannot carry.
std::string encode_dist_message(const term& control, const term* payload, bool hdr_atom_cache);

/// As `encode_dist_message`, appended to `out` (which grows once).
void encode_dist_message_append(std::string& out, const term& control, const term* payload, bool hdr_atom_cache);

/// As `encode_dist_message_append`, preceded by the 4-byte big-endian length
/// of the body: a complete packet ready for the socket, built with one copy
/// of each binary. Throws `std::length_error` if the body exceeds 4 GiB - 1.
void encode_dist_packet_append(std::string& out, const term& control, const term* payload, bool hdr_atom_cache);

}  // namespace otp::internal
