#pragma once
/// \file otp/tcp.hpp
/// TCP sockets for processes, mirroring Erlang's gen_tcp: listen / accept /
/// connect / send / recv / close / shutdown / controlling_process / setopts,
/// with `{packet, 1 | 2 | 4}` framing and `{active, false | true | once | N}`.
///
/// The I/O runs on the node's reactor thread, never on the scheduler
/// threads; a call that waits (accept, connect, send, recv, ...) suspends
/// only the calling process (a foreign thread such as main() blocks only
/// itself). Unless a function says otherwise it may be called from a process
/// or a foreign thread, on any socket of its node.
///
/// Ownership. The process that creates a socket (connect, accept, listen)
/// is its *controlling process*: it receives the active-mode messages, only
/// it may hand the socket over (controlling_process), and when it exits the
/// socket is closed (an Erlang port linked to its owner).
///
/// Errors are thrown as `otp::tcp::socket_error` (a std::system_error) whose
/// reason() is gen_tcp's error atom: "closed", "timeout", "econnrefused",
/// "emsgsize", ... Invalid arguments (an empty handle, a bad option) throw
/// `otp::badarg`.
///
///   auto l = otp::tcp::listen(0, {.packet = 4});
///   otp::spawn([l] {
///     auto s = otp::tcp::accept(l);
///     for (;;) otp::tcp::send(s, otp::tcp::recv(s));   // echo each packet
///   });
///   auto c = otp::tcp::connect("127.0.0.1", l.port(), {.packet = 4});
///   otp::tcp::send(c, "hello");
///   std::string back = otp::tcp::recv(c, 0, 1s);

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>

#include "otp/pid.hpp"
#include "otp/receive.hpp"

namespace otp::internal {
class tcp_socket;
class tcp_listener;
}  // namespace otp::internal

namespace otp::tcp {

// ---------------------------------------------------------------- errors

/// Failures that are not operating-system errors (those use
/// std::system_category: econnrefused, econnreset, emsgsize, einval, ...).
enum class errc {
  closed = 1,  ///< the socket is closed (by us or the peer): `{error, closed}`
  timeout,     ///< the time given to the call passed: `{error, timeout}`
  not_owner,   ///< controlling_process by a process that does not own the socket
  nxdomain,    ///< the host name does not resolve
};
const std::error_category& category() noexcept;
inline std::error_code make_error_code(errc e) noexcept { return {static_cast<int>(e), category()}; }

/// gen_tcp's reason atom for `ec`: "closed", "timeout", "econnrefused", ...
std::string reason_of(const std::error_code& ec);

/// What a failed call throws.
class socket_error : public std::system_error {
 public:
  explicit socket_error(std::error_code ec);
  /// gen_tcp's reason atom, e.g. "closed", "timeout", "econnrefused".
  const std::string& reason() const noexcept { return reason_; }

 private:
  std::string reason_;
};

}  // namespace otp::tcp

template <>
struct std::is_error_code_enum<otp::tcp::errc> : std::true_type {};

namespace otp::tcp {

// ---------------------------------------------------------------- options

/// gen_tcp's `{active, false | true | once | N}`.
struct active_mode {
  enum class kind : std::uint8_t { passive, active, once, count };
  kind mode = kind::passive;
  int count = 0;  ///< for `count`: added to the socket's current count (-32768..32767)
  friend bool operator==(const active_mode&, const active_mode&) = default;
};
/// `{active, false}`: data is read with recv (the default).
inline constexpr active_mode active_false{};
/// `{active, true}`: every packet arrives as a `data` message.
inline constexpr active_mode active_true{active_mode::kind::active};
/// `{active, once}`: one `data` message, then the socket is passive again.
inline constexpr active_mode active_once{active_mode::kind::once};
/// `{active, N}`: N `data` messages, then a `passive` message.
constexpr active_mode active_n(int n) noexcept { return {active_mode::kind::count, n}; }

/// Socket options. Unset fields keep their default (listen, connect) or
/// their current value (setopts). A listening socket's options are
/// inherited by the sockets it accepts.
struct options {
  std::optional<unsigned> packet;            ///< 0 = raw (default), 1, 2 or 4: a big-endian length header
  std::optional<active_mode> active;         ///< default active_false
  std::optional<bool> nodelay;               ///< TCP_NODELAY; default true
  std::optional<std::size_t> packet_size;    ///< largest packet (or raw recv length) accepted; default 64 MiB
  // listen only:
  std::optional<bool> reuseaddr;             ///< SO_REUSEADDR; default true
  std::optional<int> backlog;                ///< default 128
  std::optional<std::string> ip;             ///< address to bind; default "0.0.0.0"
};

// ---------------------------------------------------------------- handles

/// A connected socket: a cheap, copyable handle (all copies are the same
/// socket); printable as `#Port<0.N>`. Default-constructed: no socket.
class socket {
 public:
  socket() noexcept = default;
  explicit socket(std::shared_ptr<internal::tcp_socket> s) noexcept : s_(std::move(s)) {}  ///< runtime use
  explicit operator bool() const noexcept { return s_ != nullptr; }
  std::string to_string() const;
  internal::tcp_socket* get() const noexcept { return s_.get(); }
  const std::shared_ptr<internal::tcp_socket>& shared() const noexcept { return s_; }  ///< runtime use
  friend bool operator==(const socket& a, const socket& b) noexcept { return a.s_ == b.s_; }

 private:
  std::shared_ptr<internal::tcp_socket> s_;
};

/// A listening socket (gen_tcp:listen's result); copyable like socket.
class listener {
 public:
  listener() noexcept = default;
  explicit listener(std::shared_ptr<internal::tcp_listener> l) noexcept : l_(std::move(l)) {}  ///< runtime use
  explicit operator bool() const noexcept { return l_ != nullptr; }
  /// The port it listens on (the one picked by the system for port 0).
  std::uint16_t port() const;
  std::string to_string() const;
  internal::tcp_listener* get() const noexcept { return l_.get(); }
  friend bool operator==(const listener& a, const listener& b) noexcept { return a.l_ == b.l_; }

 private:
  std::shared_ptr<internal::tcp_listener> l_;
};

/// An address and port (inet:peername / inet:sockname).
struct address {
  std::string ip;
  std::uint16_t port = 0;
};

// ---------------------------------------------------------------- active-mode messages

/// `{tcp, Socket, Data}`: a packet (or, raw, the bytes that arrived).
struct data {
  socket sock;
  std::string bytes;
};
/// `{tcp_closed, Socket}`: the peer closed the connection (not sent after close()).
struct closed {
  socket sock;
};
/// `{tcp_error, Socket, Reason}`: the connection failed; `closed` follows.
struct error {
  socket sock;
  std::string reason;
};
/// `{tcp_passive, Socket}`: an `{active, N}` socket used up its count.
struct passive {
  socket sock;
};

// ---------------------------------------------------------------- functions

/// gen_tcp:listen/2: listens on `port` (0: one picked by the system). The
/// caller owns the listener: it is closed when the caller exits.
listener listen(std::uint16_t port, const options& opts = {});

/// gen_tcp:accept/2: the next connection, owned by the caller, with the
/// listener's options. Several processes may wait on one listener (served
/// in order). Throws timeout, or closed once the listener is closed.
socket accept(const listener& l, timeout t = infinity);

/// gen_tcp:connect/4: connects to `host` (a name or an address) and `port`;
/// the caller owns the socket. Throws econnrefused, nxdomain, timeout, ...
socket connect(std::string_view host, std::uint16_t port, const options& opts = {}, timeout t = infinity);

/// gen_tcp:send/2: returns once all of `bytes` is handed to the kernel (in
/// packet mode, as one packet with its header). Any process may send; sends
/// are written whole, one after the other. Throws closed after close() (or
/// when the peer is gone), emsgsize if the packet is too long for its header.
void send(const socket& s, std::string bytes);

/// gen_tcp:recv/3, for a passive socket. Raw mode: `length` bytes, or with
/// 0 whatever is available (at least one byte). Packet mode: the next whole
/// packet (`length` must be 0). Throws closed when the connection ends
/// before, timeout (no data is lost: it stays for the next recv), einval on
/// an active socket, emsgsize for a packet over packet_size.
std::string recv(const socket& s, std::size_t length = 0, timeout t = infinity);

/// gen_tcp:close/1: closes the socket at once; waiting calls on it fail
/// with closed, and so do later ones. Any process may close. Idempotent.
void close(const socket& s);
/// Closes a listener; processes waiting in accept get closed.
void close(const listener& l);

enum class shutdown_how { read, write, read_write };
/// gen_tcp:shutdown/2: half-closes the connection; `write` is done after the
/// sends already queued.
void shutdown(const socket& s, shutdown_how how);

/// gen_tcp:controlling_process/2: makes `new_owner` the owner. Only the
/// current owner may call it (else not_owner). Active-mode messages of this
/// socket already in the caller's mailbox move to the new owner, in order.
void controlling_process(const socket& s, const pid& new_owner);

/// inet:setopts/2: changes packet, active, nodelay or packet_size (the
/// listen-only options are a badarg). When it returns the new options are in
/// effect: e.g. after active_once, the next packet is on its way as a message.
void setopts(const socket& s, const options& opts);

/// inet:peername/1 and inet:sockname/1 (kept after close).
address peername(const socket& s);
address sockname(const socket& s);

}  // namespace otp::tcp

template <>
struct std::hash<otp::tcp::socket> {
  std::size_t operator()(const otp::tcp::socket& s) const noexcept {
    return std::hash<const void*>{}(s.get());
  }
};
