#include "dist/handshake.hpp"

#include <fmt/format.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <memory>
#include <stdexcept>

namespace otp::internal {

namespace {

constexpr std::size_t digest_size = 16;
constexpr std::size_t max_node_name = 255;  // an atom's length limit
// 'N' Flags:64 Creation:32 Nlen:16 (send_name); the challenge has Challenge:32 more.
constexpr std::size_t name_fixed = 1 + 8 + 4 + 2;
constexpr std::size_t challenge_fixed = 1 + 8 + 4 + 4 + 2;
constexpr std::size_t challenge_reply_size = 1 + 4 + digest_size;
constexpr std::size_t challenge_ack_size = 1 + digest_size;

std::uint64_t get_be(std::string_view b, std::size_t at, std::size_t n) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < n; ++i) v = (v << 8) | static_cast<std::uint8_t>(b[at + i]);
  return v;
}

void put_be(std::string& out, std::uint64_t v, std::size_t n) {
  for (std::size_t i = n; i-- > 0;) out += static_cast<char>((v >> (8 * i)) & 0xff);
}

// Peer-supplied text for a log line: printable ASCII kept, the rest escaped, bounded.
std::string printable(std::string_view s) {
  constexpr std::size_t limit = 80;
  std::string out;
  for (const char c : s.substr(0, limit)) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7f && c != '\\')
      out += c;
    else
      out += fmt::format("\\x{:02x}", u);
  }
  if (s.size() > limit) out += "...";
  return out;
}

std::uint32_t random_challenge() {
  std::uint32_t c = 0;
  if (RAND_bytes(reinterpret_cast<unsigned char*>(&c), sizeof c) != 1)
    throw std::runtime_error("handshake: the CSPRNG (RAND_bytes) failed to produce a challenge");
  return c;
}

int tag_of(std::string_view packet) { return static_cast<std::uint8_t>(packet[0]); }

bool digest_matches(std::string_view received, std::uint32_t challenge, std::string_view cookie) {
  const std::string expected = handshake_digest(challenge, cookie);
  return received.size() == digest_size && CRYPTO_memcmp(received.data(), expected.data(), digest_size) == 0;
}

}  // namespace

// ------------------------------------------------------------ helpers

bool is_node_name(std::string_view node) noexcept {
  const auto at = node.find('@');
  return node.size() <= max_node_name && at != std::string_view::npos && at > 0 && at + 1 < node.size() &&
         node.find('@', at + 1) == std::string_view::npos;
}

void validate_node_name(std::string_view node) {
  if (!is_node_name(node))
    throw std::invalid_argument(
        fmt::format("'{}' is not a node name: expected name@host, one '@', at most 255 bytes", printable(node)));
}

accept_verdict simultaneous_verdict(std::string_view this_node, std::string_view peer) noexcept {
  return this_node > peer ? accept_verdict::nok : accept_verdict::ok_simultaneous;
}

std::string handshake_digest(std::uint32_t challenge, std::string_view cookie) {
  const std::string text = fmt::format("{}{}", cookie, challenge);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(text.data(), text.size(), md, &len, EVP_md5(), nullptr) != 1 || len != digest_size)
    throw std::runtime_error("handshake: MD5 is not available from libcrypto");
  return std::string(reinterpret_cast<const char*>(md), len);
}

std::string_view to_string(handshake_error e) noexcept {
  switch (e) {
    case handshake_error::none: return "none";
    case handshake_error::protocol: return "protocol";
    case handshake_error::bad_name: return "bad_name";
    case handshake_error::missing_flags: return "missing_flags";
    case handshake_error::not_allowed: return "not_allowed";
    case handshake_error::simultaneous: return "simultaneous";
    case handshake_error::already_connected: return "already_connected";
    case handshake_error::bad_cookie: return "bad_cookie";
    case handshake_error::closed: return "closed";
    case handshake_error::aborted: return "aborted";
  }
  return "unknown";
}

// ------------------------------------------------------------ construction

handshake::handshake(handshake_config cfg, handshake_hooks hooks, bool initiator)
    : cfg_(std::move(cfg)),
      hooks_(std::move(hooks)),
      initiator_(initiator),
      step_(initiator ? step::recv_status : step::recv_name),
      our_challenge_(random_challenge()) {
  validate_node_name(cfg_.this_node);
  if (const std::uint64_t missing = dflag::mandatory & ~cfg_.flags; missing != 0)
    throw std::invalid_argument(fmt::format("handshake: our flags lack mandatory [{}]", dflag::names(missing)));
  if ((cfg_.flags & dflag::name_me) != 0)
    throw std::invalid_argument("handshake: dynamic node names (NAME_ME) are not supported");
}

handshake handshake::initiator(handshake_config cfg, std::string expected_peer, handshake_hooks hooks) {
  validate_node_name(expected_peer);
  handshake hs(std::move(cfg), std::move(hooks), true);
  hs.peer_ = std::move(expected_peer);
  hs.send_name();
  return hs;
}

handshake handshake::acceptor(handshake_config cfg, handshake_hooks hooks) {
  return handshake(std::move(cfg), std::move(hooks), false);
}

std::string_view handshake::step_name() const noexcept {
  switch (step_) {
    case step::recv_status: return "recv_status";
    case step::recv_challenge: return "recv_challenge";
    case step::recv_challenge_ack: return "recv_challenge_ack";
    case step::recv_name: return "recv_name";
    case step::recv_status_reply: return "recv_status_reply";
    case step::recv_challenge_reply: return "recv_challenge_reply";
    case step::done: return "done";
    case step::failed: return "failed";
  }
  return "unknown";
}

// ------------------------------------------------------------ input

std::size_t handshake::feed(std::string_view bytes) {
  std::size_t used = 0;
  while (state_ == handshake_state::in_progress && used < bytes.size()) {
    // Take the 2-byte length first, then exactly the rest of that packet,
    // so that nothing after the final packet is consumed.
    const std::size_t want = input_.size() < 2 ? 2 - input_.size() : 2 + get_be(input_, 0, 2) - input_.size();
    const std::size_t take = std::min(want, bytes.size() - used);
    input_.append(bytes.substr(used, take));
    used += take;
    if (input_.size() < 2) continue;
    if (input_.size() == 2 + get_be(input_, 0, 2)) {
      const std::string packet = std::exchange(input_, {});
      on_packet(std::string_view(packet).substr(2));
    }
  }
  return used;
}

void handshake::on_packet(std::string_view p) {
  if (p.empty()) return fail(handshake_error::protocol, fmt::format("empty packet during {}", step_name()));
  switch (step_) {
    case step::recv_status: return on_status(p);
    case step::recv_challenge: return on_challenge(p);
    case step::recv_challenge_ack: return on_challenge_ack(p);
    case step::recv_name: return on_name(p);
    case step::recv_status_reply: return on_status_reply(p);
    case step::recv_challenge_reply: return on_challenge_reply(p);
    case step::done:
    case step::failed: return;
  }
}

void handshake::on_eof() {
  if (state_ != handshake_state::in_progress) return;
  if (step_ == step::recv_challenge_ack)
    return fail(handshake_error::bad_cookie,
                fmt::format("{} closed the connection instead of acknowledging our challenge reply: it rejected "
                            "our digest (wrong cookie?)",
                            peer_));
  fail(handshake_error::closed, fmt::format("connection closed by {} during {}",
                                            peer_.empty() ? std::string("the peer") : peer_, step_name()));
}

void handshake::abort(std::string_view why) {
  if (state_ == handshake_state::in_progress)
    fail(handshake_error::aborted, fmt::format("{} during {}", why, step_name()));
}

void handshake::fail(handshake_error e, std::string why) {
  step_ = step::failed;
  state_ = handshake_state::failed;
  error_ = e;
  reason_ = std::move(why);
}

// ------------------------------------------------------------ initiator

void handshake::send_name() {
  std::string p(1, 'N');
  put_be(p, cfg_.flags, 8);
  put_be(p, cfg_.creation, 4);
  put_be(p, cfg_.this_node.size(), 2);
  p += cfg_.this_node;
  send_packet(p);
}

void handshake::on_status(std::string_view p) {
  if (p[0] != 's')
    return fail(handshake_error::protocol, fmt::format("expected a status from {}, got tag {}", peer_, tag_of(p)));
  const std::string_view status = p.substr(1);
  if (status == "ok" || status == "ok_simultaneous") {
    step_ = step::recv_challenge;
  } else if (status == "nok") {
    fail(handshake_error::simultaneous,
         fmt::format("{} is connecting to us at the same time and its attempt wins (status nok)", peer_));
  } else if (status == "not_allowed") {
    fail(handshake_error::not_allowed,
         fmt::format("{} refused the connection (status not_allowed: it lacks capability flags we need, or "
                     "we are not in its allowed list)",
                     peer_));
  } else if (status == "alive") {
    const bool ours = hooks_.is_pending ? hooks_.is_pending(peer_) : true;
    send_status(ours ? "true" : "false");
    if (!ours)
      return fail(handshake_error::already_connected,
                  fmt::format("{} has a connection from us and we keep it (answered alive with false)", peer_));
    step_ = step::recv_challenge;
  } else {
    fail(handshake_error::protocol, fmt::format("unexpected status '{}' from {}", printable(status), peer_));
  }
}

void handshake::on_challenge(std::string_view p) {
  if (p[0] != 'N' || p.size() < challenge_fixed)
    return fail(handshake_error::protocol,
                fmt::format("expected a version-6 challenge ('N') from {}, got tag {} ({} bytes)", peer_, tag_of(p),
                            p.size()));
  const std::size_t nlen = get_be(p, 17, 2);
  if (p.size() < challenge_fixed + nlen)
    return fail(handshake_error::protocol, fmt::format("truncated name in the challenge from {}", peer_));
  const std::string_view name = p.substr(challenge_fixed, nlen);  // any bytes after it are ignored
  if (name != peer_)
    return fail(handshake_error::bad_name,
                fmt::format("connected to {} but the node there calls itself '{}'", peer_, printable(name)));
  if (!check_peer_flags(get_be(p, 1, 8))) return;
  peer_creation_ = static_cast<std::uint32_t>(get_be(p, 13, 4));
  const auto peer_challenge = static_cast<std::uint32_t>(get_be(p, 9, 4));
  std::string reply(1, 'r');
  put_be(reply, our_challenge_, 4);
  reply += handshake_digest(peer_challenge, cfg_.cookie);
  send_packet(reply);
  step_ = step::recv_challenge_ack;
}

void handshake::on_challenge_ack(std::string_view p) {
  if (p[0] != 'a' || p.size() != challenge_ack_size)
    return fail(handshake_error::protocol,
                fmt::format("expected a challenge ack ('a', 17 bytes) from {}, got tag {} ({} bytes)", peer_, tag_of(p),
                            p.size()));
  if (!digest_matches(p.substr(1), our_challenge_, cfg_.cookie))
    return fail(handshake_error::bad_cookie,
                fmt::format("invalid challenge ack from {}: its cookie differs from ours", peer_));
  succeed();
}

// ------------------------------------------------------------ acceptor

void handshake::on_name(std::string_view p) {
  if (p[0] == 'n')
    return fail(handshake_error::protocol,
                "the peer sent a version-5 name ('n'): an OTP 23/24 node connecting without epmd; only the "
                "version-6 handshake (OTP 23+ via epmd, OTP 25+) is supported");
  if (p[0] != 'N' || p.size() < name_fixed)
    return fail(handshake_error::protocol,
                fmt::format("expected a version-6 name ('N'), got tag {} ({} bytes)", tag_of(p), p.size()));
  const std::size_t nlen = get_be(p, 13, 2);
  if (p.size() < name_fixed + nlen) return fail(handshake_error::protocol, "truncated node name in the name packet");
  const std::string_view name = p.substr(name_fixed, nlen);  // any bytes after it are ignored
  const std::uint64_t flags = get_be(p, 1, 8);
  if ((flags & dflag::name_me) != 0) {
    send_status("not_allowed");
    return fail(handshake_error::not_allowed,
                fmt::format("a node on host '{}' asked for a dynamic name (NAME_ME), which is not supported",
                            printable(name)));
  }
  if (!is_node_name(name))
    return fail(handshake_error::bad_name, fmt::format("the peer's name '{}' is not name@host", printable(name)));
  peer_ = std::string(name);
  peer_creation_ = static_cast<std::uint32_t>(get_be(p, 9, 4));
  if (!check_peer_flags(flags)) return;
  switch (hooks_.accept_pending ? hooks_.accept_pending(peer_) : accept_verdict::ok) {
    case accept_verdict::ok:
      send_status("ok");
      return send_challenge();
    case accept_verdict::ok_simultaneous:
      send_status("ok_simultaneous");
      return send_challenge();
    case accept_verdict::nok:
      send_status("nok");
      return fail(handshake_error::simultaneous,
                  fmt::format("simultaneous connect with {}: our own attempt wins (sent nok)", peer_));
    case accept_verdict::alive:
      send_status("alive");
      step_ = step::recv_status_reply;
      return;
    case accept_verdict::already_pending:
      return fail(handshake_error::already_connected,
                  fmt::format("{} is already replacing its connection to us (already pending)", peer_));
  }
}

void handshake::on_status_reply(std::string_view p) {
  const std::string_view status = p.substr(1);
  if (p[0] == 's' && status == "true") {
    replacing_ = true;
    return send_challenge();
  }
  if (p[0] == 's' && status == "false")
    return fail(handshake_error::already_connected,
                fmt::format("{} keeps its existing connection to us (answered alive with false)", peer_));
  fail(handshake_error::protocol,
       fmt::format("expected 'strue' or 'sfalse' from {}, got '{}'", peer_, printable(p)));
}

void handshake::on_challenge_reply(std::string_view p) {
  if (p[0] != 'r' || p.size() != challenge_reply_size)
    return fail(handshake_error::protocol,
                fmt::format("expected a challenge reply ('r', 21 bytes) from {}, got tag {} ({} bytes)", peer_,
                            tag_of(p), p.size()));
  // Nothing more is sent on a mismatch: the peer sees the connection close.
  if (!digest_matches(p.substr(5), our_challenge_, cfg_.cookie))
    return fail(handshake_error::bad_cookie,
                fmt::format("digest mismatch from {}: connection attempt rejected (invalid challenge reply; wrong "
                            "cookie?)",
                            peer_));
  if (replacing_ && hooks_.wait_pending) hooks_.wait_pending(peer_);
  std::string ack(1, 'a');
  ack += handshake_digest(static_cast<std::uint32_t>(get_be(p, 1, 4)), cfg_.cookie);
  send_packet(ack);
  succeed();
}

void handshake::send_challenge() {
  std::string p(1, 'N');
  put_be(p, cfg_.flags, 8);
  put_be(p, our_challenge_, 4);
  put_be(p, cfg_.creation, 4);
  put_be(p, cfg_.this_node.size(), 2);
  p += cfg_.this_node;
  send_packet(p);
  step_ = step::recv_challenge_reply;
}

// ------------------------------------------------------------ both

bool handshake::check_peer_flags(std::uint64_t announced) {
  peer_flags_ = dflag::expand_mandatory_25(announced);
  const std::uint64_t missing = dflag::mandatory & ~peer_flags_;
  if (missing == 0) return true;
  // As dist_util:check_dflags/2: the acceptor says not_allowed, the initiator just gives up.
  if (!initiator_) send_status("not_allowed");
  fail(handshake_error::missing_flags,
       fmt::format("connection {} node {} {} since it cannot handle [{}]", initiator_ ? "to" : "attempt from", peer_,
                   initiator_ ? "aborted" : "rejected", dflag::names(missing)));
  return false;
}

void handshake::send_status(std::string_view status) {
  send_packet(fmt::format("s{}", status));
}

void handshake::send_packet(std::string_view body) {
  put_be(output_, body.size(), 2);
  output_ += body;
}

}  // namespace otp::internal
