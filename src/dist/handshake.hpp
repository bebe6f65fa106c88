#pragma once
// The distribution handshake, version 6 (OTP 23+; the only one OTP 25
// speaks), as a transport-agnostic state machine: feed it the bytes received,
// send what take_output() returns. Both roles, as in kernel/dist_util.erl
// (handshake_we_started / handshake_other_started). Every handshake packet
// has a 2-byte big-endian length prefix. A = initiator, B = acceptor:
//
//   1. A -> B  send_name        'N' Flags:64 Creation:32 Nlen:16 Name
//   2. B -> A  send_status      's' ok | ok_simultaneous | nok | not_allowed | alive
//   2b.A -> B  (after alive)    's' true | false
//   3. B -> A  send_challenge   'N' Flags:64 Challenge:32 Creation:32 Nlen:16 Name
//   4. A -> B  challenge_reply  'r' ChallengeA:32 Digest(ChallengeB):128
//   5. B -> A  challenge_ack    'a' Digest(ChallengeA):128
//
// Digest(C) = MD5(Cookie ++ integer_to_list(C)). The connection then uses the
// intersection of both nodes' flags and 4-byte length-prefixed packets.
//
// Not supported (both refused with a clear failure_reason): the version-5
// 'n' name packet (sent only by OTP 23/24 nodes that bypass epmd; OTP 25.2
// refuses it too) and dynamic node names (DFLAG_NAME_ME, status "named:").

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>

#include "dist/flags.hpp"

namespace otp::internal {

struct handshake_config {
  /// Our full node name, `name@host` (exactly one '@', both parts non-empty,
  /// at most 255 bytes).
  std::string this_node;
  /// The magic cookie (the same for in and out: per-node cookies are not supported).
  std::string cookie;
  /// What we announce; must contain dflag::mandatory and not NAME_ME. Add
  /// dflag::published for a visible node.
  std::uint64_t flags = dflag::otpcpp_default;
  /// From epmd registration (epmd_registration::creation()).
  std::uint32_t creation = 0;
};

/// The acceptor's view of the connection table when a peer's name arrives
/// (net_kernel's reply to accept_pending, dist_util:mark_pending/1).
enum class accept_verdict {
  /// No connection to or from this peer: continue (status "ok").
  ok,
  /// We are also connecting to this peer and its name is greater than ours
  /// (net_kernel compares the names as atoms, i.e. bytewise): give up our
  /// attempt, continue this one (status "ok_simultaneous").
  ok_simultaneous,
  /// We are also connecting to it and our name is greater: refuse (status
  /// "nok"); our own attempt wins.
  nok,
  /// A connection to this peer is up: ask the peer (status "alive"); if it
  /// says its old connection is gone, the hook wait_pending runs before we
  /// acknowledge, to take the old connection down.
  alive,
  /// Such a replacement is already being negotiated: close without a word.
  already_pending,
};

/// The verdict for a peer that connects while our own attempt to it is
/// pending (net_kernel's accept_pending): the greater node name wins, names
/// compared as atoms (bytewise for these latin-1 names). nok if ours is
/// greater (keep our attempt), ok_simultaneous otherwise (abandon ours).
accept_verdict simultaneous_verdict(std::string_view this_node, std::string_view peer) noexcept;

/// How the owner of the connection table takes part. Each member may be
/// empty (the default answer is given in brackets). They are called from
/// within feed(), on the caller's thread.
struct handshake_hooks {
  /// Acceptor, once the peer's name and flags passed the checks [ok].
  std::function<accept_verdict(std::string_view peer)> accept_pending;
  /// Initiator, when the peer answered "alive": true if this attempt is
  /// still the one we want (net_kernel is_pending), so the peer's old
  /// connection from us is stale [true].
  std::function<bool(std::string_view peer)> is_pending;
  /// Acceptor after an `alive` verdict the peer confirmed, once the peer
  /// proved the cookie and before our ack is produced: take the old
  /// connection to `peer` down now (dist_util wait_pending) [nothing].
  std::function<void(std::string_view peer)> wait_pending;
};

enum class handshake_state { in_progress, done, failed };

/// Why a handshake failed (failure_reason() has the details).
enum class handshake_error {
  none,
  /// A malformed, unexpected or unsupported packet.
  protocol,
  /// The peer's name is malformed, or not the node we meant to reach.
  bad_name,
  /// A node lacks mandatory capability flags (we sent not_allowed, or, as
  /// initiator, aborted).
  missing_flags,
  /// The peer answered not_allowed, or asked for a dynamic name.
  not_allowed,
  /// Simultaneous connect resolved against this attempt (nok sent or received).
  simultaneous,
  /// The peer is already connected and that connection stays (alive/false,
  /// already_pending).
  already_connected,
  /// Cookie mismatch: bad challenge reply or ack, or (initiator) the peer
  /// closed the connection instead of acknowledging our reply.
  bad_cookie,
  /// The peer closed the connection.
  closed,
  /// abort() was called (timeout or I/O error in the driver).
  aborted,
};
std::string_view to_string(handshake_error e) noexcept;

/// One handshake, either role. Not thread-safe; movable.
class handshake {
 public:
  /// We connect to `expected_peer` (`name@host`, validated as this_node is);
  /// the name packet is ready in take_output() at once. Throws
  /// std::invalid_argument for an invalid configuration or peer name, and
  /// std::runtime_error if no random challenge can be drawn.
  static handshake initiator(handshake_config cfg, std::string expected_peer, handshake_hooks hooks = {});
  /// A peer connected to us; we wait for its name. Throws as initiator() does.
  static handshake acceptor(handshake_config cfg, handshake_hooks hooks = {});

  /// Consumes received bytes, in any split. Returns how many were consumed:
  /// all of them while in progress (partial packets are kept); once done,
  /// the bytes after the last handshake packet are not consumed: they
  /// belong to the connection (4-byte framed). Nothing once failed.
  /// Never throws for any input (hooks' exceptions propagate).
  std::size_t feed(std::string_view bytes);
  /// The bytes to send now (may be empty), including after a failure (a
  /// "not_allowed" or "nok" status) and at done (the acceptor's ack).
  std::string take_output() { return std::exchange(output_, {}); }
  bool has_output() const noexcept { return !output_.empty(); }

  /// The transport reached end of stream. Fails the handshake unless done:
  /// an initiator waiting for the ack reports a probable cookie mismatch.
  void on_eof();
  /// Fails the handshake with `why` (timeout, I/O error) unless already finished.
  void abort(std::string_view why);

  handshake_state state() const noexcept { return state_; }
  handshake_error error() const noexcept { return error_; }
  /// Empty unless failed; e.g. "digest mismatch from a@h: ...".
  const std::string& failure_reason() const noexcept { return reason_; }
  /// The current step, in dist_util's words: "recv_status", "recv_challenge_ack", ..., "done", "failed".
  std::string_view step_name() const noexcept;
  bool is_initiator() const noexcept { return initiator_; }

  /// The peer's node name (known from the start as initiator, after its
  /// name packet as acceptor).
  const std::string& peer_name() const noexcept { return peer_; }
  /// The flags the peer announced, MANDATORY_25_DIGEST expanded.
  std::uint64_t peer_flags() const noexcept { return peer_flags_; }
  /// The flags the connection uses: ours & the peer's (dist_util:adjust_flags/2).
  /// Hidden unless both have PUBLISHED.
  std::uint64_t negotiated_flags() const noexcept { return cfg_.flags & peer_flags_; }
  std::uint32_t peer_creation() const noexcept { return peer_creation_; }
  const handshake_config& config() const noexcept { return cfg_; }

 private:
  enum class step {
    recv_status,
    recv_challenge,
    recv_challenge_ack,
    recv_name,
    recv_status_reply,
    recv_challenge_reply,
    done,
    failed,
  };

  handshake(handshake_config cfg, handshake_hooks hooks, bool initiator);

  void on_packet(std::string_view p);
  void on_status(std::string_view p);
  void on_challenge(std::string_view p);
  void on_challenge_ack(std::string_view p);
  void on_name(std::string_view p);
  void on_status_reply(std::string_view p);
  void on_challenge_reply(std::string_view p);

  void send_name();
  void send_status(std::string_view status);
  void send_challenge();
  bool check_peer_flags(std::uint64_t announced);
  void fail(handshake_error e, std::string why);
  void succeed() { step_ = step::done, state_ = handshake_state::done; }
  void send_packet(std::string_view body);

  handshake_config cfg_;
  handshake_hooks hooks_;
  bool initiator_;
  bool replacing_ = false;  // acceptor: the peer confirmed its old connection is gone
  step step_;
  handshake_state state_ = handshake_state::in_progress;
  handshake_error error_ = handshake_error::none;
  std::string reason_;
  std::string peer_;
  std::uint64_t peer_flags_ = 0;
  std::uint32_t peer_creation_ = 0;
  std::uint32_t our_challenge_;
  std::string input_;   // the packet being received, prefix included
  std::string output_;  // packets to send, prefixes included
};

/// Throws std::invalid_argument unless `node` is `name@host` (exactly one
/// '@', both parts non-empty, at most 255 bytes), what dist_util accepts.
void validate_node_name(std::string_view node);
/// Same test, as a value.
bool is_node_name(std::string_view node) noexcept;

/// MD5(cookie ++ decimal(challenge)): the handshake digest (dist_util:gen_digest/2).
std::string handshake_digest(std::uint32_t challenge, std::string_view cookie);

}  // namespace otp::internal
