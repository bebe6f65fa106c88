// libFuzzer: otp::etf::decode and dist_decoder::feed on arbitrary bytes.
// Only decode_error / bad_term may come out; a crash, a sanitizer report, a
// leak or an unbounded allocation is a bug. What decodes must re-encode
// (with `encoded_size` exact) and decode again to the same term.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "dist/dist_codec.hpp"
#include "otp/etf.hpp"
#include "otp/term.hpp"

namespace {

// Small bounds keep each run fast; the checks are the same.
otp::etf::decode_limits fuzz_limits() {
  otp::etf::decode_limits limits;
  limits.max_uncompressed = 1 << 20;
  limits.max_fragment_bytes = 1 << 20;
  return limits;
}

void check_round_trip(const otp::term& t, const otp::etf::decode_limits& limits) {
  std::string again = otp::etf::encode(t);
  if (otp::etf::encoded_size(t) != again.size()) __builtin_trap();
  if (!(otp::etf::decode(again, limits) == t)) __builtin_trap();
  (void)t.to_string();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  const auto limits = fuzz_limits();
  try {
    check_round_trip(otp::etf::decode(input, limits), limits);
  } catch (const otp::etf::decode_error&) {
  } catch (const otp::bad_term&) {
  }
  try {
    otp::internal::dist_decoder decoder(limits);
    if (auto m = decoder.feed(input)) {
      check_round_trip(m->control, limits);
      if (m->payload) check_round_trip(*m->payload, limits);
    }
  } catch (const otp::etf::decode_error&) {
  } catch (const otp::bad_term&) {
  }
  return 0;
}
