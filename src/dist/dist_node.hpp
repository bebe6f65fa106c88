#pragma once
// The node's distribution state: who we are on the wire (name, creation),
// the table of local pids that have been sent to other nodes, the proxies
// that stand for remote processes, and the connections.
//
// Remote processes are *proxies*: a process control block whose `remote`
// is set. A pid of another node is a pid of its proxy, so every local path
// (send, link, monitor, exit, gen_server call/reply) works unchanged: what
// it delivers to the proxy is forwarded to the connection (proxy.cpp),
// which turns it into a control message. Proxies are interned, so two pids
// of the same remote process compare equal.

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "otp/dist.hpp"
#include "otp/logger.hpp"
#include "otp/pid.hpp"
#include "otp/ref.hpp"
#include "otp/term.hpp"

namespace otp::internal {

enum class accept_verdict;  // dist/handshake.hpp

class node_impl;
class process;
class connection;
struct mail_node;

/// What a proxy stands for: a process, or a registered name, on `node`.
struct remote_target {
  class dist_node* dist;
  atom node;
  std::optional<term_pid> pid;  // empty: a name
  atom name;
  /// As the target appears in control messages (a pid or an atom).
  term as_term() const { return pid ? term(*pid) : term(name); }
};

/// `<node.id.serial>` for a remote pid, `{name,node}` for a name.
std::string remote_pid_text(const remote_target& t);

/// Delivers `n` (any mail kind) to the remote process `proxy` stands for.
/// Takes `n`. Called on the sender's thread.
void forward_to_remote(process& proxy, mail_node* n);

class dist_node {
 public:
  explicit dist_node(node_impl& n);
  ~dist_node();
  dist_node(const dist_node&) = delete;
  dist_node& operator=(const dist_node&) = delete;

  void start(const dist::options& opts);
  void stop();
  bool alive() const noexcept { return alive_.load(std::memory_order_acquire); }
  node_impl& node() noexcept { return node_; }
  atom name() const noexcept { return name_; }
  std::uint32_t creation() const noexcept { return creation_; }
  const dist::options& options() const noexcept { return opts_; }
  std::uint64_t our_flags() const noexcept;

  // ---- identities ----
  term_pid pid_to_term(const pid& p);
  /// A local pid (if it was sent out and is still referenced), or a proxy.
  /// Empty for a local pid that is unknown (a dead process).
  pid pid_from_term(const term_pid& t);
  term_ref ref_to_term(ref r) const;
  /// Our own ref back (its salt must match): nullopt otherwise.
  std::optional<ref> ref_from_term(const term_ref& t) const;
  /// The proxy for `{name, node}`.
  pid name_proxy(atom node, atom name);
  /// Called by ~process for an exported process or a proxy.
  void forget(process* p) noexcept;

  // ---- connections ----
  /// The connection to `node`, set up on first use (auto-connect). Null for
  /// ourselves or when distribution is not started.
  std::shared_ptr<connection> connection_to(atom node);
  std::shared_ptr<connection> find_connection(atom node);
  /// The verdict on the accepting connection `c`, whose peer has just told
  /// its name. A plain `ok` also makes `c` the node's connection at once,
  /// still setting up, as net_kernel registers a pending accept: a send to
  /// that node meanwhile queues on it instead of opening a second
  /// connection, which the peer (still finishing its own attempt, this
  /// one) would see as a simultaneous connect and might prefer, leaving
  /// each side to keep the connection the other closes.
  accept_verdict claim_accept(const std::shared_ptr<connection>& c, atom peer);
  /// An accepting connection that answered `alive` and is told to replace
  /// the peer's connection: it takes the slot; returns the old one (to close).
  std::shared_ptr<connection> claim_replacement(const std::shared_ptr<connection>& c, atom peer);
  /// An attempt of ours told `alive` by the peer: should it replace the
  /// peer's connection? Only while it is still the node's attempt, not one
  /// that has yielded to the peer's own (simultaneous connect) or been
  /// superseded by it.
  bool still_pending(const connection* c);
  /// A connection whose handshake succeeded (accepting or initiating).
  /// False when another connection to that node is up (the caller closes).
  bool connection_up(const std::shared_ptr<connection>& c);
  void connection_down(connection* c, atom peer, bool was_up);
  std::vector<std::string> nodes();
  /// Connection setup threads: stop() waits for them.
  void setup_started();
  void setup_finished();
  otp::logger& logger();

  // ---- node monitors ----
  void monitor_nodes(const pid& p, bool on);
  void monitor_node(const pid& p, atom node, bool on);

  // ---- rpc ----
  void register_rpc(std::string module, std::string function, dist::rpc_function fn);
  std::optional<dist::rpc_function> find_rpc(atom module, atom function);

 private:
  void accept_next();
  void handle_accepted(std::shared_ptr<void> socket);
  struct impl;
  std::unique_ptr<impl> impl_;
  node_impl& node_;
  dist::options opts_;
  atom name_{"nonode@nohost"};
  std::uint32_t creation_ = 0;
  std::uint32_t salt_ = 0;  // first word of our refs: makes them unguessable
  std::atomic<bool> alive_{false};
  std::mutex setup_mu_;
  std::condition_variable setup_cv_;
  unsigned setups_ = 0;
  friend class connection;
};

/// The node's distribution state, created on first use.
dist_node& dist_of(node_impl& n);

}  // namespace otp::internal
