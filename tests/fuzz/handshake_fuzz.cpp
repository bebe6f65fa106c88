// libFuzzer target: arbitrary bytes into the distribution handshake (both
// roles, at every step) and into the epmd reply parsers. Nothing may crash,
// hang, or consume more than it was given; failures must come with a reason.
//
// Input: byte 0 = scenario (low 3 bits) and hook answers (high bits),
// byte 1 = chunk size for feeding, the rest = what the peer "sends".

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "dist/epmd.hpp"
#include "dist/handshake.hpp"

namespace {

using namespace otp::internal;

std::string packet(std::string_view body) {
  std::string p;
  p += static_cast<char>(body.size() >> 8);
  p += static_cast<char>(body.size() & 0xff);
  p += body;
  return p;
}

std::string be(std::uint64_t v, int bytes) {
  std::string s;
  for (int i = bytes - 1; i >= 0; --i) s += static_cast<char>((v >> (8 * i)) & 0xff);
  return s;
}

handshake_config config(std::string node) { return {std::move(node), "cookie", dflag::otpcpp_default, 1}; }

handshake_hooks hooks(std::uint8_t bits) {
  handshake_hooks h;
  h.accept_pending = [v = bits % 5](std::string_view) { return static_cast<accept_verdict>(v); };
  h.is_pending = [b = (bits & 8) != 0](std::string_view) { return b; };
  h.wait_pending = [](std::string_view) {};
  return h;
}

void check(bool ok) {
  if (!ok) __builtin_trap();
}

// Feeds `input` in chunks; checks the consumption and failure invariants.
void drive(handshake& hs, std::string_view input, std::size_t chunk) {
  hs.take_output();
  while (!input.empty()) {
    const std::string_view piece = input.substr(0, chunk);
    const std::size_t used = hs.feed(piece);
    check(used <= piece.size());
    check(hs.state() != handshake_state::in_progress || used == piece.size());
    hs.take_output();
    if (used < piece.size()) break;  // finished: the rest is not the handshake's
    input.remove_prefix(piece.size());
  }
  if (hs.state() == handshake_state::in_progress) hs.on_eof();
  check(hs.state() != handshake_state::in_progress);
  check((hs.state() == handshake_state::failed) == !hs.failure_reason().empty());
  check(hs.feed("xx") == 0);
}

void fuzz_epmd(std::string_view in) {
  try {
    (void)parse_alive2_resp(in);
  } catch (const epmd_error&) {
  }
  try {
    (void)parse_port2_resp(in);
  } catch (const epmd_error&) {
  }
  try {
    (void)parse_names_resp(in);
  } catch (const epmd_error&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const std::uint8_t scenario = data[0] & 7;
  const std::uint8_t bits = data[0] >> 3;
  const std::size_t chunk = std::size_t{data[1]} + 1;
  const std::string_view in(reinterpret_cast<const char*>(data + 2), size - 2);
  const std::string peer_name = packet("N" + be(dflag::otpcpp_default, 8) + be(9, 4) + be(6, 2) + "a@host");
  const std::string challenge =
      packet("N" + be(dflag::otpcpp_default, 8) + be(1234, 4) + be(9, 4) + be(6, 2) + "b@host");
  switch (scenario) {
    case 0: {  // acceptor, from the start
      auto hs = handshake::acceptor(config("b@host"), hooks(bits));
      drive(hs, in, chunk);
      break;
    }
    case 1: {  // initiator, from the start
      auto hs = handshake::initiator(config("a@host"), "b@host", hooks(bits));
      drive(hs, in, chunk);
      break;
    }
    case 2: {  // initiator after a status
      auto hs = handshake::initiator(config("a@host"), "b@host", hooks(bits));
      hs.feed(packet((bits & 1) != 0 ? "salive" : "sok"));
      drive(hs, in, chunk);
      break;
    }
    case 3: {  // initiator waiting for the ack
      auto hs = handshake::initiator(config("a@host"), "b@host", hooks(bits));
      hs.feed(packet("sok") + challenge);
      drive(hs, in, chunk);
      break;
    }
    case 4: {  // acceptor after a valid name (challenge reply or, for alive, the status reply)
      auto hs = handshake::acceptor(config("b@host"), hooks(bits));
      hs.feed(peer_name);
      drive(hs, in, chunk);
      break;
    }
    default:
      fuzz_epmd(in);
      break;
  }
  return 0;
}
