#pragma once
// Distribution capability flags (DFLAG_*), exchanged in the handshake; the
// connection uses the intersection of both nodes' flags. Values and sets from
// erts `dist.h` (OTP 25-28) and the erts "Distribution Protocol" chapter.

#include <cstdint>
#include <string>

namespace otp::internal::dflag {

inline constexpr std::uint64_t published = 0x1;  // visible node (takes part in `global`)
inline constexpr std::uint64_t atom_cache = 0x2;  // obsolete
inline constexpr std::uint64_t extended_references = 0x4;
inline constexpr std::uint64_t dist_monitor = 0x8;
inline constexpr std::uint64_t fun_tags = 0x10;
inline constexpr std::uint64_t dist_monitor_name = 0x20;
inline constexpr std::uint64_t hidden_atom_cache = 0x40;  // obsolete
inline constexpr std::uint64_t new_fun_tags = 0x80;
inline constexpr std::uint64_t extended_pids_ports = 0x100;
inline constexpr std::uint64_t export_ptr_tag = 0x200;
inline constexpr std::uint64_t bit_binaries = 0x400;
inline constexpr std::uint64_t new_floats = 0x800;
inline constexpr std::uint64_t unicode_io = 0x1000;
inline constexpr std::uint64_t dist_hdr_atom_cache = 0x2000;
inline constexpr std::uint64_t small_atom_tags = 0x4000;
inline constexpr std::uint64_t utf8_atoms = 0x10000;
inline constexpr std::uint64_t map_tag = 0x20000;
inline constexpr std::uint64_t big_creation = 0x40000;
inline constexpr std::uint64_t send_sender = 0x80000;
inline constexpr std::uint64_t big_seqtrace_labels = 0x100000;
inline constexpr std::uint64_t exit_payload = 0x400000;
inline constexpr std::uint64_t fragments = 0x800000;
inline constexpr std::uint64_t handshake_23 = 0x1000000;
inline constexpr std::uint64_t unlink_id = 0x2000000;
/// "Has every OTP 25 mandatory flag" (bit 26; the docs' "1 bsl 36" is a typo,
/// dist.h and dist_util.erl use 0x4000000). Expanded on receipt.
inline constexpr std::uint64_t mandatory_25_digest = 0x4000000;
inline constexpr std::uint64_t spawn = 1ULL << 32;
/// A request for a dynamic node name, not a capability (not supported here).
inline constexpr std::uint64_t name_me = 1ULL << 33;
inline constexpr std::uint64_t v4_nc = 1ULL << 34;
inline constexpr std::uint64_t alias = 1ULL << 35;
inline constexpr std::uint64_t altact_sig = 1ULL << 37;  // OTP 28

/// erts DFLAG_DIST_MANDATORY_25: OTP 25 refuses peers lacking any of these.
inline constexpr std::uint64_t mandatory_25 = extended_references | fun_tags | extended_pids_ports |
                                              utf8_atoms | new_fun_tags | big_creation | new_floats |
                                              map_tag | export_ptr_tag | bit_binaries | handshake_23;
/// erts DFLAG_DIST_MANDATORY_26: added to the mandatory set by OTP 26.
inline constexpr std::uint64_t mandatory_26 = v4_nc | unlink_id;
/// What we require of a peer (and of ourselves): the OTP 26+ mandatory set.
/// OTP 25 peers always have it (the new link protocol and v4 node containers
/// are all we implement).
inline constexpr std::uint64_t mandatory = mandatory_25 | mandatory_26;

/// What an otpcpp node announces by default: the mandatory sets, plus what
/// makes monitors, aliases and exits behave as between BEAM nodes (see
/// erlang-distribution-notes.md: without DIST_MONITOR|DIST_MONITOR_NAME erts
/// degrades monitors to connection monitors, without ALIAS it drops alias
/// sends), plus the encodings the connection layer must decode: SMALL_ATOM_TAGS,
/// the distribution header with atom cache and FRAGMENTS, SEND_SENDER
/// (control op 22 instead of SEND), EXIT_PAYLOAD (ops 24-28),
/// BIG_SEQTRACE_LABELS (any term as seq_trace label in *_TT ops), and SPAWN:
/// OTP 23+ rpc:call is erpc:call, a SPAWN_REQUEST of erpc:execute_call/4
/// (without SPAWN the BEAM answers {badrpc, notsup}); we run the C++
/// function registered for the call (connection.cpp, on_spawn_request).
/// Not announced: PUBLISHED (hidden, like a C node: we do not speak `global`),
/// UNICODE_IO (no remote group leaders), NAME_ME.
inline constexpr std::uint64_t otpcpp_default =
    mandatory | mandatory_25_digest | dist_monitor | dist_monitor_name | alias | small_atom_tags |
    dist_hdr_atom_cache | fragments | send_sender | exit_payload | big_seqtrace_labels | spawn;

/// Replaces MANDATORY_25_DIGEST by the flags it stands for (dist_util:expand_mandatory_25_flag/1).
constexpr std::uint64_t expand_mandatory_25(std::uint64_t flags) noexcept {
  return (flags & mandatory_25_digest) != 0 ? flags | mandatory_25 : flags;
}

/// The names of the set bits, comma-separated, as OTP spells them
/// (`"UTF8_ATOMS, MAP_TAG"`); unknown bits as `UNKNOWN<hex>`.
std::string names(std::uint64_t flags);

}  // namespace otp::internal::dflag
