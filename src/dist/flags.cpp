#include "dist/flags.hpp"

#include <fmt/format.h>

#include <array>
#include <utility>

namespace otp::internal::dflag {

namespace {

// dist_util:dflag2str/1's spelling, so that our logs read like OTP's.
constexpr std::array<std::pair<std::uint64_t, const char*>, 32> flag_names{{
    {published, "PUBLISHED"},
    {atom_cache, "ATOM_CACHE"},
    {extended_references, "EXTENDED_REFERENCES"},
    {dist_monitor, "DIST_MONITOR"},
    {fun_tags, "FUN_TAGS"},
    {dist_monitor_name, "DIST_MONITOR_NAME"},
    {hidden_atom_cache, "HIDDEN_ATOM_CACHE"},
    {new_fun_tags, "NEW_FUN_TAGS"},
    {extended_pids_ports, "EXTENDED_PIDS_PORTS"},
    {export_ptr_tag, "EXPORT_PTR_TAG"},
    {bit_binaries, "BIT_BINARIES"},
    {new_floats, "NEW_FLOATS"},
    {unicode_io, "UNICODE_IO"},
    {dist_hdr_atom_cache, "DIST_HDR_ATOM_CACHE"},
    {small_atom_tags, "SMALL_ATOM_TAGS"},
    {0x8000, "ETS_COMPRESSED"},
    {utf8_atoms, "UTF8_ATOMS"},
    {map_tag, "MAP_TAG"},
    {big_creation, "BIG_CREATION"},
    {send_sender, "SEND_SENDER"},
    {big_seqtrace_labels, "BIG_SEQTRACE_LABELS"},
    {0x200000, "PENDING_CONNECT"},
    {exit_payload, "EXIT_PAYLOAD"},
    {fragments, "FRAGMENTS"},
    {handshake_23, "HANDSHAKE_23"},
    {unlink_id, "UNLINK_ID"},
    {mandatory_25_digest, "MANDATORY_25_DIGEST"},
    {spawn, "SPAWN"},
    {name_me, "NAME_ME"},
    {v4_nc, "V4_NC"},
    {alias, "ALIAS"},
    {altact_sig, "ALTACT_SIG"},
}};

const char* name_of(std::uint64_t bit) {
  for (const auto& [value, name] : flag_names)
    if (value == bit) return name;
  return nullptr;
}

}  // namespace

std::string names(std::uint64_t flags) {
  std::string out;
  for (int i = 0; i < 64; ++i) {
    const std::uint64_t bit = std::uint64_t{1} << i;
    if ((flags & bit) == 0) continue;
    if (!out.empty()) out += ", ";
    if (const char* n = name_of(bit))
      out += n;
    else
      out += fmt::format("UNKNOWN<{:X}>", bit);
  }
  return out;
}

}  // namespace otp::internal::dflag
