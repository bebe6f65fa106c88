#pragma once
// epmd, the Erlang Port Mapper Daemon (erts "Distribution Protocol", "EPMD
// Protocol"; OTP's client is kernel/erl_epmd.erl).
//
// 1. A node listens on some TCP port, then registers `name -> port` with the
//    epmd of its host (ALIVE2_REQ on 127.0.0.1:4369) and keeps that
//    connection open: epmd unregisters the name when it closes. The reply
//    carries the node's *creation*, which goes into its pids, ports and refs.
// 2. To connect to `name@host`, a node asks the epmd on `host` for the port
//    (PORT_PLEASE2_REQ); epmd answers and closes the connection.
//
// Wire format: every request is prefixed by its 2-byte big-endian length;
// replies are not. The builders and parsers below are pure (and fuzzed); the
// client functions use blocking POSIX sockets with a deadline, so call them
// off the schedulers (registration once at start, port_please per connect).

#include <chrono>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace otp::internal {

/// An epmd request could not be made or was refused; what() says which and why.
struct epmd_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

inline constexpr std::uint16_t epmd_default_port = 4369;
/// The distribution protocol version we speak: 6, the OTP 23+ handshake (the
/// only one OTP 25 accepts).
inline constexpr std::uint16_t dist_version = 6;
/// Node type in ALIVE2_REQ: 77 ('M') = normal Erlang node, 72 ('H') = hidden
/// node. OTP registers every node, hidden ones included, as 77.
inline constexpr std::uint8_t epmd_node_type_normal = 77;

/// The epmd port: `ERL_EPMD_PORT` if set to a valid port number, else 4369
/// (as erl and epmd do). Throws epmd_error if the variable is set but invalid.
std::uint16_t epmd_port();

/// Throws epmd_error unless `alive` is a valid registration name: the part of
/// a node name before '@', 1-255 bytes, no '@'.
void validate_alive_name(std::string_view alive);

// ------------------------------------------------------------ wire format

/// ALIVE2_REQ (120) with its length prefix: port, node type 77, protocol 0
/// (TCP/IPv4), highest and lowest version 6, the name, an empty Extra.
std::string encode_alive2_req(std::string_view alive, std::uint16_t listen_port);

struct alive2_reply {
  std::uint8_t result = 0;  ///< 0 = registered; anything else = refused (name in use)
  std::uint32_t creation = 0;
};
/// Parses ALIVE2_X_RESP (118, 32-bit creation) or the older ALIVE2_RESP (121,
/// 16-bit creation). nullopt while `bytes` is an incomplete prefix of one;
/// throws epmd_error on anything else. `consumed` gets the reply's size.
std::optional<alive2_reply> parse_alive2_resp(std::string_view bytes, std::size_t* consumed = nullptr);

/// PORT_PLEASE2_REQ (122) with its length prefix.
std::string encode_port_please2_req(std::string_view alive);

/// What epmd knows about a registered node.
struct port_info {
  std::uint16_t port = 0;
  std::uint8_t node_type = 0;  ///< 77 normal, 72 hidden
  std::uint8_t protocol = 0;   ///< 0 = TCP/IPv4
  std::uint16_t highest_version = 0;
  std::uint16_t lowest_version = 0;
  std::string name;
  /// True if the node speaks our version (lowest <= 6 <= highest).
  bool speaks_our_version() const noexcept {
    return lowest_version <= dist_version && dist_version <= highest_version;
  }
};
/// The answer to a PORT_PLEASE2_REQ: `not_registered` for an error result
/// (epmd sends only `119, Result`).
struct port2_reply {
  bool registered = false;
  port_info info;
};
/// Parses PORT2_RESP (119). nullopt while incomplete; throws epmd_error on
/// anything else. Bytes after the reply are ignored.
std::optional<port2_reply> parse_port2_resp(std::string_view bytes);

/// NAMES_REQ (110) with its length prefix.
std::string encode_names_req();
/// Parses a complete NAMES_RESP (read until epmd closed the connection): the
/// 4-byte epmd port, then lines `name <Name> at port <Port>`. Malformed
/// lines are skipped (as erl_epmd does); throws epmd_error if shorter than 4 bytes.
std::vector<std::pair<std::string, std::uint16_t>> parse_names_resp(std::string_view bytes);

// ------------------------------------------------------------ client

/// A name registered with the local epmd; it stays registered as long as
/// this object (which owns the connection to epmd) lives. Movable, not copyable.
///
/// Like OTP, if epmd dies the registration is lost (OTP re-registers every
/// 2 s; we do not yet): `still_registered()` tells.
class epmd_registration {
 public:
  epmd_registration(int fd, std::string alive, std::uint32_t creation) noexcept
      : fd_(fd), alive_(std::move(alive)), creation_(creation) {}
  epmd_registration(epmd_registration&& o) noexcept
      : fd_(std::exchange(o.fd_, -1)), alive_(std::move(o.alive_)), creation_(o.creation_) {}
  epmd_registration& operator=(epmd_registration&& o) noexcept;
  epmd_registration(const epmd_registration&) = delete;
  epmd_registration& operator=(const epmd_registration&) = delete;
  ~epmd_registration();

  /// The creation epmd assigned: goes into the handshake and into every pid,
  /// port and reference of this node incarnation.
  std::uint32_t creation() const noexcept { return creation_; }
  const std::string& name() const noexcept { return alive_; }
  /// False once epmd has closed the connection (epmd restarted or killed).
  /// Non-blocking.
  bool still_registered() const;
  /// Unregisters now (closes the connection). Idempotent.
  void close() noexcept;

 private:
  int fd_ = -1;
  std::string alive_;
  std::uint32_t creation_ = 0;
};

/// Registers `alive` (the node name without `@host`) with the epmd on
/// 127.0.0.1:epmd_port() as listening on `listen_port` (erl_epmd:register_node/2).
/// Throws epmd_error if epmd cannot be reached within `timeout`, refuses the
/// name (already registered), or answers garbage.
epmd_registration epmd_register(std::string_view alive, std::uint16_t listen_port,
                                std::chrono::milliseconds timeout = std::chrono::seconds(5));

/// Asks the epmd on `host` (a name or a numeric address) where node `alive`
/// listens (erl_epmd:port_please/3). nullopt if no such node is registered;
/// throws epmd_error if epmd cannot be reached within `timeout` or answers garbage.
std::optional<port_info> epmd_port_please(std::string_view host, std::string_view alive,
                                          std::chrono::milliseconds timeout = std::chrono::seconds(5));

/// The names registered with the epmd on `host` (net_adm:names/1).
/// Throws epmd_error as epmd_port_please does.
std::vector<std::pair<std::string, std::uint16_t>> epmd_names(
    std::string_view host, std::chrono::milliseconds timeout = std::chrono::seconds(5));

/// Makes sure an epmd answers on 127.0.0.1:epmd_port(): if none does, runs
/// `epmd -daemon` (found on PATH, as `erl` does; it inherits ERL_EPMD_PORT)
/// and waits until it answers NAMES_REQ. Throws epmd_error if epmd is not
/// installed, cannot be started, or does not answer within `timeout`.
void ensure_epmd_running(std::chrono::milliseconds timeout = std::chrono::seconds(5));

}  // namespace otp::internal
