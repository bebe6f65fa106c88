#pragma once
// One connection to another node, and everything that lives and dies with
// it: the links and monitors that cross it and the calls waiting on it.
//
// Life of a connection:
//  1. created by the first send to the node (auto-connect) or by an accept;
//     until it is up, what is sent is queued (and recorded in the tables);
//  2. set up on a short-lived thread (epmd lookup, TCP connect, handshake,
//     all synchronous with deadlines), so neither the schedulers nor the
//     reactor wait for a slow peer;
//  3. up: the reactor reads 4-byte packets (an empty one is a tick), decodes
//     them (dist_codec) and acts on each control message; any thread may
//     queue packets, the reactor writes them in batches; a tick goes out
//     every ticktime/4 without traffic, and a peer silent for ticktime is
//     declared down (OTP's net_kernel rule);
//  4. down (setup failed, closed, tick timeout, malformed data): every link
//     across it delivers an exit `noconnection`, every monitor a DOWN
//     `noconnection`, every waiting call fails with `{nodedown, Node}`, and
//     nodedown goes to the node monitors. Nothing else is touched.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "dist/dist_node.hpp"
#include "dist/handshake.hpp"
#include "process/mailbox.hpp"
#include "net/reactor.hpp"
#include "otp/exit_reason.hpp"
#include "otp/term.hpp"
#include "runtime/deferred_output.hpp"

namespace otp::internal {

class dist_decoder;

/// Delivers a signal to a local process, as if `from` had sent it; false if
/// the process has exited (its block may outlive it while pids refer to it).
bool deliver_signal(const pid& to, mail_kind k, const pid& from, const exit_reason& reason, ref mref);
/// Fails the call `tag` of `caller` with `why` (as a dead server's does).
void fail_call(const pid& caller, std::uint64_t tag, const exit_reason& why);
/// `{nodedown, Node}`: the reason of a call whose node went away.
exit_reason nodedown_reason(atom node);
/// What a proxy answers when its node cannot be reached: links and monitors
/// fire with `noconnection`, calls fail with `{nodedown, Node}`.
void answer_unreachable(const pid& proxy, mail_node* n, atom node);

class connection : public std::enable_shared_from_this<connection>, public io_resource, public deferred_output {
 public:
  enum class state { setting_up, up, down };

  connection(dist_node& d, atom peer);
  ~connection() override;

  atom peer() const noexcept { return peer_; }
  /// Accepting side, once the peer's name is accepted (dist_node::claim_accept).
  void name_accepted_peer(atom p) noexcept { peer_ = p; }
  /// An attempt of ours that lost a simultaneous connect (the acceptor
  /// answered the peer's attempt ok_simultaneous); under the node's
  /// connection mutex.
  void yield_to_peer() noexcept { yielded_ = true; }
  bool yielded() const noexcept { return yielded_; }
  state get_state() const noexcept { return state_.load(std::memory_order_acquire); }
  /// The negotiated flags; 0 until the handshake is done, and 0 asks for
  /// nothing (a packet queued before then uses the forms every peer takes).
  std::uint64_t peer_flags() const noexcept { return peer_flags_.load(std::memory_order_relaxed); }
  bool has_flag(std::uint64_t f) const noexcept { return (peer_flags() & f) == f; }

  /// Sets up the connection on a thread of its own (initiating side).
  void start_connect();
  /// Takes an accepted socket and runs the accepting handshake.
  void start_accepted(asio::ip::tcp::socket s);
  /// Closes (an up connection: the peer sees nodedown). Any thread.
  void close(std::string why);
  /// Blocks the calling thread until the connection is up or down; true if up.
  bool wait_setup(std::chrono::milliseconds timeout);
  void release_io() noexcept override;
  /// Writes the packets senders on schedulers queued (see push_packet).
  void flush_output() noexcept override;

  // ---- sending (any thread) ----
  /// Queues one control message (and its payload): ordered after everything
  /// queued before it from any thread.
  void send(const term& control, const term* payload = nullptr);
  /// One control message and its optional payload, for `send_all`.
  struct outgoing {
    const term& control;
    const term* payload = nullptr;
  };
  /// Queues several control messages as one write, so that the peer reads
  /// them together (a remote call's MONITOR_P and its request).
  void send_all(std::initializer_list<outgoing> messages);

  // ---- tables (any thread) ----
  /// A link between local `local` and remote `remote` (proxy). True if new.
  bool add_link(const pid& local, const pid& remote);
  bool remove_link(const pid& local, const pid& remote);
  /// Our process `watcher` monitors the remote `target` (proxy) with `r`.
  void add_out_monitor(ref r, const pid& watcher, const pid& target);
  bool remove_out_monitor(ref r);
  /// A remote process monitors our `target` (as `how`: its pid or its name).
  struct in_monitor {
    pid target;       // ours
    term_pid watcher;
    term_ref remote_ref;
    term how;
  };
  /// The local ref of a remote monitor, its record removed; nullopt if unknown.
  std::optional<in_monitor> take_in_monitor(ref local);
  /// A call of `caller` (tag) to `target` waits for a reply carried by the
  /// alias `r`.
  void add_pending_call(ref r, const pid& caller, std::uint64_t tag, term target);
  /// The caller side of a call that got its answer (or failed).
  struct pending_call {
    pid caller;
    std::uint64_t tag;
    term target;  // as monitored: the server's pid or name
  };
  std::optional<pending_call> take_pending_call(ref r);
  /// The call `tag` of `caller`, given up: its alias and record, removed.
  std::optional<std::pair<ref, pending_call>> take_pending_call_of(const pid& caller, std::uint64_t tag);
  /// An incoming call: a local tag for the remote caller's Tag term.
  std::uint64_t remember_reply_tag(term tag);
  std::optional<term> take_reply_tag(std::uint64_t tag);
  void add_node_monitor(const pid& p);
  bool remove_node_monitor(const pid& p);
  /// Simultaneous connect: this attempt lost to `winner`, which takes its
  /// queue and tables; everything later sent here goes there.
  void hand_over_to(connection& winner);

 private:
  handshake_config config() const;
  void setup_initiator();
  void setup_acceptor();
  accept_verdict accept_verdict_for(std::string_view peer);
  void run_handshake(handshake hs, std::chrono::steady_clock::time_point deadline);
  void lose_simultaneous();
  void set_up();
  void fail_setup(std::string why);
  void go_down(std::string why);
  void close_socket() noexcept;
  /// Queues a framed packet; written from this thread when the connection is
  /// idle and `may_write_inline`, else by the reactor.
  void push_packet(std::string packet, bool may_write_inline = true);
  /// Under out_mu_: queues (or writes) `packet`; true if the reactor must
  /// now be asked to write the queue.
  bool queue_or_write_locked(std::string packet, bool may_write_inline);
  /// Under out_mu_: writes as much of the queue as the kernel takes at once;
  /// true if some is left (for the reactor).
  bool write_queued_locked() noexcept;
  /// Packets a scheduler may hold back before they are written anyway.
  static constexpr std::size_t max_deferred_packets = 64;
  /// For the reactor's own messages that nobody waits for (a call's
  /// DEMONITOR_P): never written inline. Those of a read are written
  /// together once the read is handled, the others after the current handler.
  void send_from_reactor(const term& control);
  std::shared_ptr<connection> successor();
  void read_more();
  void parse_buffer();
  void on_packet(std::string_view body);
  void dispatch(const term& control, const std::optional<term>& payload);
  void deliver_payload(const pid& to, const term& payload);
  void deliver_alias(const term_ref& alias, const term& payload);
  void on_link(const term& from, const term& to);
  void on_unlink(const term& from, const term& to, const term* id);
  void on_exit(const term& from, const term& to, const term& reason, bool link);
  void on_monitor(const term& from, const term& target, const term& r);
  void on_demonitor(const term& from, const term& target, const term& r);
  void on_spawn_request(const term& control, const term& args);
  void on_monitor_exit(const term& from, const term& to, const term& r, const term& reason);
  void write_more();
  void write_unwritten();
  void arm_tick();
  void on_tick();
  void cleanup_tables();
  std::string take_output();

  dist_node& dist_;
  atom peer_;
  bool yielded_ = false;  // see yield_to_peer (guarded by dist_node's connection mutex)
  std::atomic<state> state_{state::setting_up};
  std::atomic<std::uint64_t> peer_flags_{0};
  std::uint32_t peer_creation_ = 0;
  bool accepting_ = false;
  std::atomic<int> fd_{-1};           // the socket's descriptor (setup thread, close())
  std::atomic<bool> closing_{false};  // close() asked during setup

  // I/O (reactor thread, after setup)
  std::unique_ptr<asio::ip::tcp::socket> socket_;
  std::unique_ptr<asio::steady_timer> tick_timer_;
  std::unique_ptr<dist_decoder> decoder_;
  std::string rbuf_;
  std::size_t rlen_ = 0;
  std::vector<std::string> writing_;
  std::vector<asio::const_buffer> unwritten_;  // what of writing_ the kernel has not taken yet
  bool write_in_flight_ = false;
  bool reading_ = false;  // in parse_buffer: the reactor's own packets wait for its end
  std::atomic<std::uint64_t> received_{0};  // packets read (ticks included)
  std::uint64_t received_at_last_tick_ = 0;
  unsigned silent_ticks_ = 0;
  std::atomic<std::uint64_t> sent_{0};
  std::uint64_t sent_at_last_tick_ = 0;

  // output queue and state changes (any thread)
  std::mutex out_mu_;
  std::vector<std::string> out_;
  bool write_scheduled_ = false;
  std::shared_ptr<connection> successor_;
  std::condition_variable setup_cv_;

  // tables (any thread)
  std::mutex tables_mu_;
  std::map<std::pair<std::uint64_t, std::uint64_t>, std::pair<pid, pid>> links_;  // (local, proxy) serials
  std::unordered_map<std::uint64_t, std::pair<pid, pid>> out_monitors_;            // ref id -> (watcher, proxy)
  std::unordered_map<std::uint64_t, in_monitor> in_monitors_;                      // local ref id -> record
  std::map<std::vector<std::uint32_t>, ref> in_monitor_refs_;                      // remote ref words -> local ref
  std::unordered_map<std::uint64_t, pending_call> pending_calls_;                  // alias ref id -> caller
  std::unordered_map<std::uint64_t, term> reply_tags_;                             // local tag -> remote Tag
  std::uint64_t next_reply_tag_ = 1;
  std::vector<pid> node_monitors_;
  std::uint64_t next_unlink_id_ = 1;
};

}  // namespace otp::internal
