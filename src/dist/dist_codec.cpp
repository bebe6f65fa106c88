// Distribution packet framing: see dist_codec.hpp for the packet layouts.

#include "dist/dist_codec.hpp"

#include <limits>
#include <stdexcept>

#include <fmt/format.h>

#include "term/etf_tags.hpp"

namespace otp::internal {
namespace {

using etf::decode_error;

constexpr std::uint8_t pass_through = 112;
constexpr std::uint8_t dist_header = 68;
constexpr std::uint8_t dist_frag_header = 69;
constexpr std::uint8_t dist_frag_cont = 70;

class packet_reader {
 public:
  packet_reader(std::string_view p, std::size_t pos) : p_(p), pos_(pos) {}
  std::size_t pos() const noexcept { return pos_; }
  std::uint64_t be(std::size_t width, const char* what) { return read_be(bytes(width, what).data(), width); }
  std::string_view bytes(std::size_t n, const char* what) {
    if (n > p_.size() - pos_)
      throw decode_error(pos_, fmt::format("truncated distribution header: {} needs {} bytes, {} left", what, n,
                                           p_.size() - pos_));
    std::string_view v = p_.substr(pos_, n);
    pos_ += n;
    return v;
  }

 private:
  std::string_view p_;
  std::size_t pos_;
};

}  // namespace

dist_decoder::dist_decoder(etf::decode_limits limits) : limits_(limits) {}

std::optional<dist_message> dist_decoder::feed(std::string_view packet) {
  if (packet.empty()) throw decode_error(0, "empty distribution packet (a tick must not reach the decoder)");
  auto first = static_cast<std::uint8_t>(packet[0]);
  if (first == pass_through) return decode_body(packet, 1, nullptr, true);
  if (first != etf::version_magic)
    throw decode_error(0, fmt::format("distribution packet starts with {}, expected 112 or 131", first));
  if (packet.size() < 2) throw decode_error(1, "truncated distribution header: no header tag");
  switch (static_cast<std::uint8_t>(packet[1])) {
    case dist_header: {
      std::size_t pos = 2;
      std::vector<atom> refs = read_atom_cache_section(packet, pos);
      return decode_body(packet, pos, &refs, false);
    }
    case dist_frag_header: return first_fragment(packet, 2);
    case dist_frag_cont: return next_fragment(packet, 2);
    default:
      throw decode_error(1, fmt::format("unknown distribution header tag {}", static_cast<std::uint8_t>(packet[1])));
  }
}

// NumberOfAtomCacheRefs, then (if not 0) the half-byte flags (NewCacheEntry:1
// SegmentIndex:3 per reference, then LongAtoms in the last half byte) and one
// reference per index: a new entry InternalSegmentIndex Length AtomText, or
// a cached one InternalSegmentIndex.
std::vector<atom> dist_decoder::read_atom_cache_section(std::string_view packet, std::size_t& pos) {
  packet_reader in(packet, pos);
  std::size_t n = in.be(1, "NumberOfAtomCacheRefs");
  std::vector<atom> refs;
  if (n == 0) {
    pos = in.pos();
    return refs;
  }
  std::string_view flags = in.bytes(n / 2 + 1, "atom cache flags");
  auto half_byte = [&](std::size_t i) { return (static_cast<std::uint8_t>(flags[i / 2]) >> (4 * (i % 2))) & 0xf; };
  bool long_atoms = (half_byte(n) & 1) != 0;
  refs.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    std::size_t at = in.pos();
    std::size_t index = (half_byte(i) & 7) * 256 + in.be(1, "InternalSegmentIndex");
    if ((half_byte(i) & 8) != 0) {
      std::string_view text = in.bytes(in.be(long_atoms ? 2 : 1, "atom length"), "atom text");
      cache_.set(index, atom_from_wire(text, false, at));
    }
    std::optional<atom> a = cache_.get(index);
    if (!a) throw decode_error(at, fmt::format("reference to atom cache entry {}, which was never set", index));
    refs.push_back(*a);
  }
  pos = in.pos();
  return refs;
}

// Control, then the optional message, and nothing else.
dist_message dist_decoder::decode_body(std::string_view data, std::size_t pos, const std::vector<atom>* refs,
                                       bool with_version) const {
  dist_message m;
  m.control = etf::decode_one(data, pos, refs, limits_, with_version);
  if (pos < data.size()) m.payload = etf::decode_one(data, pos, refs, limits_, with_version);
  if (pos != data.size())
    throw decode_error(pos, fmt::format("{} bytes left after the distribution message", data.size() - pos));
  return m;
}

// The header's cache entries take effect now, as the sender encoded the
// whole message (and updated its cache) before sending the first fragment.
std::optional<dist_message> dist_decoder::first_fragment(std::string_view packet, std::size_t pos) {
  packet_reader in(packet, pos);
  std::uint64_t seq = in.be(8, "SequenceId");
  std::uint64_t frag = in.be(8, "FragmentId");
  if (frag == 0) throw decode_error(10, "fragment id 0 (fragments count down to 1)");
  pos = in.pos();
  std::vector<atom> refs = read_atom_cache_section(packet, pos);
  if (frag == 1) return decode_body(packet, pos, &refs, false);
  if (sequences_.contains(seq)) throw decode_error(2, fmt::format("fragment sequence {} started twice", seq));
  if (sequences_.size() >= limits_.max_open_sequences)
    throw decode_error(2, fmt::format("more than {} fragmented messages in progress", limits_.max_open_sequences));
  sequence& s = sequences_[seq];
  s.refs = std::move(refs);
  s.next_fragment = frag - 1;
  // The fragments after the first are about as long as it: room for all of
  // them at once, rather than regrowing (and refaulting) the buffer as the
  // pieces of a large message arrive. Bounded: the count comes from the peer.
  constexpr std::size_t max_reserve = std::size_t{64} << 20;
  const std::size_t piece = packet.size() - pos;
  const std::size_t cap = std::min(max_reserve, limits_.max_fragment_bytes - buffered_);
  s.data.reserve(piece == 0 || frag > cap / piece ? cap : piece * frag);
  buffer(s, packet.substr(pos), pos);
  return std::nullopt;
}

std::optional<dist_message> dist_decoder::next_fragment(std::string_view packet, std::size_t pos) {
  packet_reader in(packet, pos);
  std::uint64_t seq = in.be(8, "SequenceId");
  std::uint64_t frag = in.be(8, "FragmentId");
  auto it = sequences_.find(seq);
  if (it == sequences_.end()) throw decode_error(2, fmt::format("fragment of unknown sequence {}", seq));
  sequence& s = it->second;
  if (frag != s.next_fragment)
    throw decode_error(10, fmt::format("fragment {} of sequence {}, expected {}", frag, seq, s.next_fragment));
  buffer(s, packet.substr(in.pos()), in.pos());
  if (--s.next_fragment > 0) return std::nullopt;
  sequence done = std::move(s);
  sequences_.erase(it);
  buffered_ -= done.data.size();
  try {
    return decode_body(done.data, 0, &done.refs, false);
  } catch (const decode_error& e) {
    throw decode_error(0, fmt::format("in the reassembled message of sequence {}: {}", seq, e.what()));
  }
}

void dist_decoder::buffer(sequence& s, std::string_view data, std::size_t at) {
  if (data.size() > limits_.max_fragment_bytes - buffered_)
    throw decode_error(at, fmt::format("fragmented messages exceed {} buffered bytes", limits_.max_fragment_bytes));
  s.data.append(data);
  buffered_ += data.size();
}

void encode_dist_message_append(std::string& out, const term& control, const term* payload, bool hdr_atom_cache) {
  // Without the header (pass-through), each term carries its version byte.
  const std::size_t version = hdr_atom_cache ? 0 : 1;
  const std::size_t control_size = etf::encoded_size(control, false);
  const std::size_t payload_size = payload != nullptr ? etf::encoded_size(*payload, false) + version : 0;
  const std::size_t start = out.size();
  out.resize(start + (hdr_atom_cache ? 3 : 1) + version + control_size + payload_size);
  char* at = out.data() + start;
  if (hdr_atom_cache) {
    *at++ = static_cast<char>(etf::version_magic);
    *at++ = static_cast<char>(dist_header);
    *at++ = 0;  // no atom cache references: the flags are omitted
  } else {
    *at++ = static_cast<char>(pass_through);
    *at++ = static_cast<char>(etf::version_magic);
  }
  at = encode_into(at, control);
  if (payload != nullptr) {
    if (version != 0) *at++ = static_cast<char>(etf::version_magic);
    encode_into(at, *payload);
  }
}

std::string encode_dist_message(const term& control, const term* payload, bool hdr_atom_cache) {
  std::string out;
  encode_dist_message_append(out, control, payload, hdr_atom_cache);
  return out;
}

void encode_dist_packet_append(std::string& out, const term& control, const term* payload, bool hdr_atom_cache) {
  std::size_t start = out.size();
  out.append(4, '\0');
  encode_dist_message_append(out, control, payload, hdr_atom_cache);
  std::size_t body = out.size() - start - 4;
  if (body > std::numeric_limits<std::uint32_t>::max()) {
    out.resize(start);
    throw std::length_error(fmt::format("distribution packet of {} bytes exceeds 4 GiB - 1", body));
  }
  for (std::size_t i = 0; i < 4; ++i) out[start + i] = static_cast<char>((body >> (8 * (3 - i))) & 0xff);
}

}  // namespace otp::internal
