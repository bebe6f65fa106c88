#pragma once
// Runs a dist handshake (dist/handshake.hpp) over a connected TCP socket,
// asynchronously: an asio composed operation that writes the state machine's
// output, reads and feeds until it is done or failed, under a deadline.

#include <chrono>
#include <functional>
#include <string>

#include "dist/handshake.hpp"
#include "net/reactor.hpp"  // asio, configured once for the whole library

namespace otp::internal {

struct handshake_outcome {
  /// state() is done or failed (after an I/O error, end of stream or the
  /// deadline: failed with a reason that says so).
  handshake hs;
  /// Bytes received after the final handshake packet: the start of the
  /// connection's 4-byte framed stream. Empty unless done.
  std::string leftover;
};

/// Runs `hs` on `socket` (connected; for an initiator, to the port epmd gave)
/// until it finishes or `timeout` elapses (OTP's net_setuptime is 7 s).
/// Never blocks: `handler` runs once, on the socket's executor, after the
/// last output (the acceptor's ack, or a not_allowed/nok status) has been
/// written. On failure the socket is left open; the caller closes it.
///
/// The socket must outlive the operation and must not be used by anything
/// else meanwhile; its executor must not run handlers concurrently (a
/// single-threaded io_context, such as the node's reactor, or a strand).
void async_handshake(asio::ip::tcp::socket& socket, handshake hs, std::chrono::steady_clock::duration timeout,
                     std::function<void(handshake_outcome)> handler);

}  // namespace otp::internal
