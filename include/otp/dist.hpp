#pragma once
/// \file otp/dist.hpp
/// Distribution: an otpcpp node joins an Erlang/Elixir cluster through the
/// BEAM's own protocol (epmd, the version-6 handshake, the External Term
/// Format). Once `otp::dist::start` has run, every process API works across
/// nodes: pids of other nodes are ordinary `otp::pid`s (send, link, monitor,
/// exit), `gen_server::call/cast` reach `{name, node}` or a remote pid, and
/// BEAM processes call C++ gen_servers with `GenServer.call({name, node}, req)`.
///
/// What crosses the wire is an `otp::term`: a typed C++ message crosses it
/// through its codec (`otp/term_codec.hpp`); a message from another node
/// arrives as an `otp::term`, and a gen_server turns it into the first of
/// its `accepts` types whose codec decodes it.
///
/// The node is *hidden* by default (like a C node: `Node.list(:hidden)` on
/// the BEAM side): it does not take part in `global`'s name sync.

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "otp/pid.hpp"
#include "otp/term.hpp"

namespace otp::dist {

struct options {
  /// `name@host`; a name without `@` gets the host part (`127.0.0.1` with
  /// long names, the short host name with short names).
  std::string name;
  /// The magic cookie; empty: read `~/.erlang.cookie` (as `erl` does).
  std::string cookie;
  bool longnames = true;
  /// Listen port for incoming connections; 0 = any free port (registered with epmd).
  std::uint16_t port = 0;
  /// net_ticktime: a peer silent for this long is declared down (OTP default 60 s).
  std::chrono::seconds ticktime{60};
  /// Start `epmd -daemon` when none answers on 127.0.0.1 (as `erl` does).
  bool start_epmd = true;
  /// How long a connection attempt (connect + handshake) may take.
  std::chrono::milliseconds connect_timeout{7000};
};

/// Makes the default node (or the node of the calling process) a distributed
/// node: registers with epmd, listens, and answers `net_kernel` (ping) and
/// `rex` (rpc). Throws `std::runtime_error` with the reason if epmd cannot be
/// reached, the name is taken, or the cookie is missing. Like Elixir's
/// `Node.start/3`.
void start(const options& opts);
/// Closes every connection (peers see nodedown) and unregisters from epmd.
/// Runs by itself at node shutdown.
void stop();
/// True once start() has succeeded (and until stop()).
bool alive();
/// This node's name, `nonode@nohost` when not distributed (Erlang `node()`).
std::string node_name();
/// The nodes connected now (Erlang `nodes(connected)`).
std::vector<std::string> nodes();
/// Connects if not connected; true on success (Elixir `Node.connect/1`).
bool connect(std::string_view node);
/// Closes the connection to `node`; its links and monitors fire with
/// `noconnection` (Elixir `Node.disconnect/1`).
bool disconnect(std::string_view node);
/// Connects and asks the peer's net_kernel; true for `pong` (`Node.ping/1`).
bool ping(std::string_view node, std::chrono::milliseconds timeout = std::chrono::milliseconds(7000));

/// `{nodeup, Node}` / `{nodedown, Node}` messages, as `net_kernel:monitor_nodes(true)` sends.
struct nodeup_msg {
  std::string node;
};
struct nodedown_msg {
  std::string node;
};
/// Subscribes (or unsubscribes) the calling process to nodeup/nodedown.
void monitor_nodes(bool on);
/// Erlang `monitor_node(Node, true)`: a `nodedown_msg` arrives when the
/// connection to `node` goes down (at once if it cannot be set up).
void monitor_node(std::string_view node, bool on);

/// The pid of `{name, node}`'s process as a remote send target (REG_SEND).
/// Messages sent to it go to whatever holds `name` on `node` then.
pid whereis_remote(std::string_view name, std::string_view node);

/// A C++ function callable from other nodes with `:rpc.call(node, module,
/// function, args)` (and `erpc`-free `rpc:cast`): it gets the argument list
/// and returns the result term; an exception becomes `{badrpc, {'EXIT', R}}`.
using rpc_function = std::function<term(const term& args)>;
void register_rpc(std::string module, std::string function, rpc_function fn);
/// `rpc:call(Node, M, F, A)` to another node; `{badrpc, Reason}` on failure.
term rpc_call(std::string_view node, std::string_view module, std::string_view function, term args,
              std::chrono::milliseconds timeout = std::chrono::milliseconds(10000));

}  // namespace otp::dist
