#pragma once
// The state behind otp::tcp handles (include/otp/tcp.hpp).
//
// Threads. Everything marked "reactor thread" is touched only there: the
// API functions (tcp.cpp) post operations with await_io and wait for their
// io_completion<tcp_result>. Across threads go only the owner (a mutex),
// the closed flag (atomic) and fields written once before the handle is
// published (id, port, addresses).
//
// Ownership. A port's owner is watched by the node's port-owner process
// (tcp.cpp), which closes the port when the owner exits. Each completion
// handler holds a strong reference to its port, so a port lives while any
// operation of it is pending; the port keeps the reactor's context alive,
// so its asio objects can be destroyed with it even after the node is gone.

#include <array>
#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include "net/completion.hpp"
#include "net/reactor.hpp"
#include "otp/pid.hpp"
#include "otp/tcp.hpp"

namespace otp::internal {

/// A socket's options, as used on the reactor thread.
struct tcp_settings {
  static constexpr std::size_t default_packet_size = std::size_t{64} << 20;
  unsigned packet = 0;
  tcp::active_mode active{};
  bool nodelay = true;
  std::size_t packet_size = default_packet_size;
};

/// What every tcp operation reports to its waiter.
class tcp_socket;

struct tcp_result {
  tcp_result() = default;
  tcp_result(std::error_code e) : ec(e) {}  // NOLINT(google-explicit-constructor): a failure
  std::error_code ec;
  std::string bytes;                      // recv
  std::shared_ptr<tcp_socket> accepted;   // accept
  tcp::active_mode previous{};            // suspend_active
};

class tcp_port;

/// To the port-owner process: watch `owner` for this port (the newest
/// `seq` of a port wins: ownership may change from several threads).
struct port_watch {
  std::uint64_t id;
  std::weak_ptr<tcp_port> port;
  pid owner;
  std::uint64_t seq;
};
/// To the port-owner process: the port is closed or gone.
struct port_unwatch {
  std::uint64_t id;
};

/// A socket or a listener: what the port-owner process and close() see.
class tcp_port : public io_resource, public std::enable_shared_from_this<tcp_port> {
 public:
  tcp_port(internal::reactor& r, pid owner_watcher);
  ~tcp_port() override;

  const std::uint64_t id;  // the N of #Port<0.N>
  asio::io_context& context() const noexcept { return *ctx_; }

  pid owner() const;
  /// Makes `p` the owner and has the port-owner process watch it (any thread).
  void set_owner(pid p);
  /// Set once the port is closed (by close(), its owner's exit, an error or
  /// node shutdown): later calls fail at once with `closed`.
  bool closed() const noexcept { return closed_.load(std::memory_order_acquire); }
  /// Sets the flag; true if this call set it (close() then posts close_now).
  bool mark_closed() noexcept { return !closed_.exchange(true, std::memory_order_acq_rel); }
  /// Port-owner process: `who` exited; the port closes if it still owns it.
  void owner_exited(const pid& who);
  /// Reactor thread: closes the port; its waiters fail with `closed`.
  virtual void close_now() noexcept = 0;
  void release_io() noexcept override { close_now(); }

 protected:
  void unwatch() noexcept;

  // Outlives the derived classes' asio objects (base members die last).
  std::shared_ptr<asio::io_context> ctx_;
  internal::reactor& reactor_;  // used on the reactor thread only (which it outlives)
  const pid watcher_;

 private:
  mutable std::mutex owner_mu_;
  pid owner_;
  std::uint64_t owner_seq_ = 0;
  std::atomic<bool> closed_{false};
};

class tcp_socket final : public tcp_port {
 public:
  tcp_socket(internal::reactor& r, pid owner_watcher, tcp_settings s);

  // Written on the reactor thread before the socket is handed out.
  tcp::address local, peer;

  // ---- reactor thread ----
  void connect(io_waiter w, std::string host, std::uint16_t port);
  void cancel_connect() noexcept { close_now(); }
  /// A connection accepted by a listener (not yet handed out).
  void adopt(asio::ip::tcp::socket s);
  void recv(io_waiter w, std::size_t length);
  void cancel_recv(std::uint64_t tag);
  void send(io_waiter w, std::string bytes);
  void shutdown(io_waiter w, asio::socket_base::shutdown_type how);
  /// Applies validated options; answers einval for an {active, N} overflow.
  void setopts(io_waiter w, const tcp::options& o);
  /// controlling_process: makes the socket passive, answers the mode it had.
  void suspend_active(io_waiter w);
  /// Moves on: serves waiting recvs, delivers active messages, reads more.
  void pump();
  void close_now() noexcept override;

 private:
  struct recv_request {
    io_waiter w;
    std::size_t length;
  };
  struct send_request {
    io_waiter w;
    std::string bytes;
    std::array<unsigned char, 4> header{};
    std::size_t header_len = 0;
  };
  enum class phase { connecting, open, closed };

  std::shared_ptr<tcp_socket> self() { return std::static_pointer_cast<tcp_socket>(shared_from_this()); }
  void opened();
  std::optional<std::string> take_unit(std::size_t length, std::error_code& ec);
  void consume(std::size_t n);
  std::error_code serve();
  void count_delivery();
  void report_end();
  void start_read();
  void write_next();
  void finish_shutdown();
  bool apply_active(tcp::active_mode m);

  std::optional<asio::ip::tcp::socket> sock_;
  std::optional<asio::ip::tcp::resolver> resolver_;
  phase phase_ = phase::connecting;
  tcp_settings set_;
  // reading
  std::string in_;  // received, not yet taken: in_[in_pos_..]
  std::size_t in_pos_ = 0;
  std::vector<char> rbuf_;
  bool reading_ = false;
  bool read_ended_ = false;
  std::error_code read_error_;  // why reading ended: closed (EOF) or an error
  bool end_told_ = false;        // an active owner has been told of the end
  std::deque<recv_request> recvs_;
  // writing: the front request is being written while writing_
  std::deque<send_request> sends_;
  bool writing_ = false;
  std::optional<asio::socket_base::shutdown_type> shutdown_after_;
  std::optional<io_waiter> shutdown_waiter_;
};

class tcp_listener final : public tcp_port {
 public:
  tcp_listener(internal::reactor& r, pid owner_watcher, tcp_settings inherited);

  std::uint16_t port = 0;  // written on the reactor thread before the listener is handed out

  // ---- reactor thread ----
  void open(io_waiter w, asio::ip::tcp::endpoint ep, bool reuseaddr, int backlog);
  void accept(io_waiter w);
  void cancel_accept(std::uint64_t tag);
  void close_now() noexcept override;

 private:
  void accept_next();
  void hand_off(const io_waiter& w, std::shared_ptr<tcp_socket> s);

  std::optional<asio::ip::tcp::acceptor> acc_;
  bool open_ = false;
  bool shut_ = false;  // close_now has run
  bool accepting_ = false;
  tcp_settings inherited_;
  std::deque<io_waiter> waiters_;
  std::deque<std::shared_ptr<tcp_socket>> ready_;  // accepted after their waiter gave up
};

}  // namespace otp::internal
