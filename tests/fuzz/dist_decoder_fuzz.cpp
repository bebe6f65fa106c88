// libFuzzer: a sequence of distribution packets into one dist_decoder, so
// that the atom cache and fragment reassembly see state across packets.
// Input: packets, each as Length:16 (big-endian) then Length bytes; the
// tail of the input is the last packet. Only decode_error may come out.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "dist/dist_codec.hpp"
#include "otp/etf.hpp"
#include "otp/term.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  otp::etf::decode_limits limits;
  limits.max_uncompressed = 1 << 20;
  limits.max_fragment_bytes = 1 << 16;
  limits.max_open_sequences = 16;
  otp::internal::dist_decoder decoder(limits);
  try {
    while (!input.empty()) {
      std::size_t n = input.size();
      if (input.size() >= 2) {
        n = std::min<std::size_t>((static_cast<unsigned char>(input[0]) << 8) | static_cast<unsigned char>(input[1]),
                                  input.size() - 2);
        input.remove_prefix(2);
      }
      std::string_view packet = input.substr(0, n);
      input.remove_prefix(n);
      if (packet.empty()) continue;  // a tick: the connection filters it
      if (auto m = decoder.feed(packet)) (void)m->control.to_string();
    }
  } catch (const otp::etf::decode_error&) {
  }
  return 0;
}
