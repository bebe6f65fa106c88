// A connection to another node: setup, framing, ticks, incoming control
// messages and the tables that make links, monitors and calls fail cleanly
// when it goes down. The protocol is written down in connection.hpp.

#include "dist/connection.hpp"

#include <fmt/format.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <array>

#include "dist/dist_codec.hpp"
#include "dist/epmd.hpp"
#include "dist/flags.hpp"
#include "dist/handshake.hpp"
#include "node_impl.hpp"
#include "otp/receive.hpp"
#include "otp/term_codec.hpp"
#include "process/process.hpp"

namespace otp::internal {
namespace {

enum op : std::int64_t {
  op_link = 1,
  op_send = 2,
  op_exit = 3,
  op_unlink = 4,
  op_reg_send = 6,
  op_group_leader = 7,
  op_exit2 = 8,
  op_send_tt = 12,
  op_exit_tt = 13,
  op_reg_send_tt = 16,
  op_exit2_tt = 18,
  op_monitor_p = 19,
  op_demonitor_p = 20,
  op_monitor_p_exit = 21,
  op_send_sender = 22,
  op_send_sender_tt = 23,
  op_payload_exit = 24,
  op_payload_exit_tt = 25,
  op_payload_exit2 = 26,
  op_payload_exit2_tt = 27,
  op_payload_monitor_p_exit = 28,
  op_alias_send = 33,
  op_alias_send_tt = 34,
  op_spawn_request = 29,
  op_spawn_request_tt = 30,
  op_spawn_reply = 31,
  op_unlink_id = 35,
  op_unlink_id_ack = 36,
};

constexpr std::size_t max_packet = std::size_t{1} << 32;  // the 4-byte length's range
const exit_reason& noconnection() {
  static const exit_reason r = exit_reason::other("noconnection");
  return r;
}

std::pair<std::string, std::string> split_node(std::string_view n) {
  const auto at = n.find('@');
  return {std::string(n.substr(0, at)), std::string(n.substr(at + 1))};
}

/// Reads what is available within `deadline`; 0 on end of stream. Throws on
/// timeout or error. Setup threads only.
std::size_t read_some_until(int fd, char* buf, std::size_t cap, std::chrono::steady_clock::time_point deadline) {
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) throw std::runtime_error("timed out");
    pollfd p{fd, POLLIN, 0};
    const int r = ::poll(&p, 1, static_cast<int>(left.count()));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) throw std::system_error(errno, std::generic_category(), "poll");
    if (r == 0) continue;
    const ssize_t n = ::recv(fd, buf, cap, 0);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n < 0) throw std::system_error(errno, std::generic_category(), "recv");
    return static_cast<std::size_t>(n);
  }
}

void write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw std::system_error(errno, std::generic_category(), "send");
    data.remove_prefix(static_cast<std::size_t>(n));
  }
}

bool is_op(const term& control, std::size_t min_arity) {
  return control.is_tuple() && control.size() >= min_arity && control[0].get_type() == term::type::integer;
}

}  // namespace

connection::connection(dist_node& d, atom peer) : dist_(d), peer_(peer) {}

connection::~connection() = default;

// ================================================================ setup

void connection::start_connect() {
  dist_.setup_started();
  std::thread([self = shared_from_this()] {
    self->setup_initiator();
    self->dist_.setup_finished();
  }).detach();
}

void connection::start_accepted(asio::ip::tcp::socket s) {
  accepting_ = true;
  socket_ = std::make_unique<asio::ip::tcp::socket>(std::move(s));
  fd_ = socket_->native_handle();
  dist_.setup_started();
  std::thread([self = shared_from_this()] {
    self->setup_acceptor();
    self->dist_.setup_finished();
  }).detach();
}

handshake_config connection::config() const {
  return handshake_config{std::string(dist_.name().name()), dist_.options().cookie, dist_.our_flags(),
                          dist_.creation()};
}

void connection::setup_initiator() {
  const auto deadline = std::chrono::steady_clock::now() + dist_.options().connect_timeout;
  try {
    auto [alive, host] = split_node(peer_.name());
    auto info = epmd_port_please(host, alive, dist_.options().connect_timeout);
    if (!info) return fail_setup(fmt::format("{} is not registered with epmd on {}", alive, host));
    socket_ = std::make_unique<asio::ip::tcp::socket>(dist_.node().reactor().context());
    asio::ip::tcp::resolver resolver(dist_.node().reactor().context());
    asio::connect(*socket_, resolver.resolve(host, std::to_string(info->port)));
    socket_->set_option(asio::ip::tcp::no_delay(true));
    fd_ = socket_->native_handle();
    handshake_hooks hooks;
    hooks.is_pending = [this](std::string_view) { return dist_.still_pending(this); };
    run_handshake(handshake::initiator(config(), std::string(peer_.name()), std::move(hooks)), deadline);
  } catch (const std::exception& e) {
    fail_setup(e.what());
  }
}

void connection::setup_acceptor() {
  const auto deadline = std::chrono::steady_clock::now() + dist_.options().connect_timeout;
  try {
    socket_->set_option(asio::ip::tcp::no_delay(true));
    handshake_hooks hooks;
    hooks.accept_pending = [this](std::string_view peer) { return accept_verdict_for(peer); };
    hooks.wait_pending = [this](std::string_view peer) {
      if (auto old = dist_.claim_replacement(shared_from_this(), atom(peer)))
        old->close("replaced by a new connection from the peer");
    };
    run_handshake(handshake::acceptor(config(), std::move(hooks)), deadline);
  } catch (const std::exception& e) {
    fail_setup(e.what());
  }
}

accept_verdict connection::accept_verdict_for(std::string_view peer) {
  return dist_.claim_accept(shared_from_this(), atom(peer));
}

void connection::run_handshake(handshake hs, std::chrono::steady_clock::time_point deadline) {
  std::string buf(4096, '\0');
  auto flush = [&] {
    if (hs.has_output()) write_all(fd_, hs.take_output());
  };
  flush();
  std::size_t used = 0;
  while (hs.state() == handshake_state::in_progress) {
    if (closing_.load(std::memory_order_acquire)) hs.abort("connection closed");
    if (hs.state() != handshake_state::in_progress) break;
    std::size_t n = 0;
    try {
      n = read_some_until(fd_, buf.data(), buf.size(), std::min(deadline, std::chrono::steady_clock::now() + std::chrono::milliseconds(200)));
    } catch (const std::runtime_error& e) {
      if (std::chrono::steady_clock::now() < deadline && std::string_view(e.what()) == "timed out") continue;
      hs.abort(e.what());
      break;
    }
    if (n == 0) {
      hs.on_eof();
      break;
    }
    used = hs.feed(std::string_view(buf.data(), n));
    flush();
    if (hs.state() == handshake_state::done) {
      rbuf_.assign(buf.data() + used, n - used);  // the peer's first packets may follow at once
      rlen_ = rbuf_.size();
      break;
    }
  }
  flush();
  if (hs.state() != handshake_state::done) {
    if (hs.error() == handshake_error::simultaneous && !accepting_) return lose_simultaneous();
    return fail_setup(fmt::format("handshake with {} failed ({}): {}", hs.peer_name(), to_string(hs.error()),
                                  hs.failure_reason()));
  }
  if (accepting_ && peer_ == atom()) peer_ = atom(hs.peer_name());  // an `alive` replacement was not claimed
  peer_flags_.store(hs.negotiated_flags(), std::memory_order_relaxed);
  peer_creation_ = hs.peer_creation();
  set_up();
}

void connection::lose_simultaneous() {
  // The peer's attempt won: our queue and tables move to its connection when
  // it comes up (dist_node::connection_up). If it never does, fail as usual.
  std::unique_lock lk(out_mu_);
  const bool handed =
      setup_cv_.wait_for(lk, dist_.options().connect_timeout, [&] { return successor_ != nullptr; });
  lk.unlock();
  if (!handed) fail_setup("simultaneous connect lost, and the peer's connection did not come up");
  else close_socket();
}

void connection::set_up() {
  auto self = shared_from_this();
  if (!dist_.connection_up(self)) return fail_setup("a connection to that node is already up");
  decoder_ = std::make_unique<dist_decoder>();
  asio::post(dist_.node().reactor().context(), [self] {
    {
      std::lock_guard lk(self->out_mu_);
      self->state_.store(state::up, std::memory_order_release);
      self->write_scheduled_ = true;  // the write_more below flushes the queue first
      self->setup_cv_.notify_all();
    }
    self->tick_timer_ = std::make_unique<asio::steady_timer>(self->dist_.node().reactor().context());
    self->arm_tick();
    self->parse_buffer();
    self->read_more();
    self->write_more();
  });
  dist_.logger().log(log_level::info, fmt::format("connected to {}", peer_.name()));
}

void connection::fail_setup(std::string why) {
  dist_.logger().log(log_level::warning, fmt::format("connection to {} failed: {}",
                                                     peer_ == atom() ? "an unknown node" : peer_.name(), why));
  go_down(std::move(why));
}

bool connection::wait_setup(std::chrono::milliseconds timeout) {
  std::unique_lock lk(out_mu_);
  setup_cv_.wait_for(lk, timeout, [&] { return state_.load() != state::setting_up || successor_; });
  if (successor_) {
    auto s = successor_;
    lk.unlock();
    return s->wait_setup(timeout);
  }
  return state_.load() == state::up;
}

void connection::hand_over_to(connection& winner) {
  std::scoped_lock lk(out_mu_, winner.out_mu_, tables_mu_, winner.tables_mu_);
  for (auto& p : out_) winner.out_.push_back(std::move(p));
  out_.clear();
  winner.links_.merge(links_);
  winner.out_monitors_.merge(out_monitors_);
  winner.pending_calls_.merge(pending_calls_);
  winner.node_monitors_.insert(winner.node_monitors_.end(), node_monitors_.begin(), node_monitors_.end());
  node_monitors_.clear();
  successor_ = winner.shared_from_this();
  setup_cv_.notify_all();
}

// ================================================================ closing

void connection::close(std::string why) {
  closing_.store(true, std::memory_order_release);
  if (get_state() == state::setting_up) {
    if (const int fd = fd_.load(); fd >= 0) ::shutdown(fd, SHUT_RDWR);  // wakes the setup thread
    return;
  }
  asio::post(dist_.node().reactor().context(), [self = shared_from_this(), why = std::move(why)]() mutable {
    self->go_down(std::move(why));
  });
}

void connection::close_socket() noexcept {
  asio::error_code ec;
  std::lock_guard lk(out_mu_);  // no sender is inside its inline write (push_packet)
  if (socket_) socket_->close(ec);
}

void connection::release_io() noexcept {
  if (tick_timer_) tick_timer_->cancel();
  close_socket();
  tick_timer_.reset();
  socket_.reset();
}

void connection::go_down(std::string why) {
  state was = state_.exchange(state::down, std::memory_order_acq_rel);
  if (was == state::down) return;
  {
    std::lock_guard lk(out_mu_);
    out_.clear();
    setup_cv_.notify_all();
  }
  if (was == state::up) {
    // on the reactor thread
    if (tick_timer_) tick_timer_->cancel();
    close_socket();
    dist_.logger().log(log_level::info, fmt::format("connection to {} closed: {}", peer_.name(), why));
  } else {
    close_socket();
  }
  dist_.connection_down(this, peer_, was == state::up);
  cleanup_tables();
}

void connection::cleanup_tables() {
  decltype(links_) links;
  decltype(out_monitors_) outs;
  decltype(in_monitors_) ins;
  decltype(pending_calls_) calls;
  std::vector<pid> watchers;
  {
    std::lock_guard lk(tables_mu_);
    links.swap(links_);
    outs.swap(out_monitors_);
    ins.swap(in_monitors_);
    calls.swap(pending_calls_);
    watchers.swap(node_monitors_);
    in_monitor_refs_.clear();
    reply_tags_.clear();
  }
  for (auto& [_, l] : links) deliver_signal(l.first, mail_kind::link_exit, l.second, noconnection(), {});
  for (auto& [id, m] : outs) deliver_signal(m.first, mail_kind::down, m.second, noconnection(), ref(id));
  for (auto& [id, m] : ins) deliver_signal(m.target, mail_kind::demonitor, {}, {}, ref(id));
  for (auto& [_, c] : calls) fail_call(c.caller, c.tag, nodedown_reason(peer_));
  for (const pid& w : watchers) otp::send(w, dist::nodedown_msg{std::string(peer_.name())});
}

// ================================================================ sending

void connection::send(const term& control, const term* payload) { send_all({{control, payload}}); }

void connection::send_all(std::initializer_list<outgoing> messages) {
  std::string packets;
  for (const outgoing& m : messages) encode_dist_packet_append(packets, m.control, m.payload, true);
  push_packet(std::move(packets));
}

void connection::send_from_reactor(const term& control) {
  std::string packet;
  encode_dist_packet_append(packet, control, nullptr, true);
  if (reading_) {
    std::lock_guard lk(out_mu_);
    if (!successor_ && state_.load(std::memory_order_relaxed) == state::up) {
      out_.push_back(std::move(packet));  // parse_buffer's flush_output writes it
      return;
    }
  }
  push_packet(std::move(packet), false);
}

void connection::push_packet(std::string packet, bool may_write_inline) {
  std::shared_ptr<connection> next;
  {
    std::lock_guard lk(out_mu_);
    if (successor_) {
      next = successor_;
    } else if (!queue_or_write_locked(std::move(packet), may_write_inline)) {
      return;
    }
  }
  if (next) return next->push_packet(std::move(packet), may_write_inline);
  asio::post(dist_.node().reactor().context(), [self = shared_from_this()] { self->write_more(); });
}

bool connection::queue_or_write_locked(std::string packet, bool may_write_inline) {
  const state st = state_.load(std::memory_order_relaxed);
  if (st == state::down) return false;
  if (may_write_inline && st == state::up && !write_scheduled_) {
    // A process on a scheduler: queued, and written by that scheduler when it
    // idles or a few slices later (runtime/deferred_output.hpp), so a burst
    // of sends shares a system call; a long burst from one slice (a loop of
    // casts) is written as it grows. Any other thread, when nothing waits:
    // written now, as the BEAM writes from the sending scheduler (a hop to
    // the reactor costs a wake-up per message). Only what the kernel does
    // not take at once goes to the reactor.
    if (defer_output(shared_from_this())) {
      out_.push_back(std::move(packet));
      if (out_.size() < max_deferred_packets || !write_queued_locked()) return false;
      write_scheduled_ = true;
      return true;
    }
    if (out_.empty()) {
      const ssize_t n = ::send(fd_.load(std::memory_order_relaxed), packet.data(), packet.size(),
                               MSG_DONTWAIT | MSG_NOSIGNAL);
      if (n == static_cast<ssize_t>(packet.size())) {
        sent_.fetch_add(1, std::memory_order_relaxed);
        return false;
      }
      if (n > 0) packet.erase(0, static_cast<std::size_t>(n));  // the reactor writes the rest (or sees the error)
    }
  }
  out_.push_back(std::move(packet));
  if (st != state::up || write_scheduled_) return false;
  write_scheduled_ = true;
  return true;
}

bool connection::write_queued_locked() noexcept {
  std::array<iovec, max_deferred_packets> iov{};
  const std::size_t count = std::min(iov.size(), out_.size());
  for (std::size_t i = 0; i < count; ++i) iov[i] = {out_[i].data(), out_[i].size()};
  msghdr msg{};
  msg.msg_iov = iov.data();
  msg.msg_iovlen = count;
  ssize_t n = ::sendmsg(fd_.load(std::memory_order_relaxed), &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
  if (n > 0) sent_.fetch_add(1, std::memory_order_relaxed);
  // Drop what went out; the rest (or an error to report) is the reactor's.
  std::size_t done = 0;
  while (n > 0 && done < count && static_cast<std::size_t>(n) >= out_[done].size())
    n -= static_cast<ssize_t>(out_[done++].size());
  out_.erase(out_.begin(), out_.begin() + static_cast<std::ptrdiff_t>(done));
  if (n > 0) out_.front().erase(0, static_cast<std::size_t>(n));
  return !out_.empty();
}

void connection::flush_output() noexcept {
  {
    std::lock_guard lk(out_mu_);  // go_down takes it before closing the socket
    if (successor_ || write_scheduled_ || out_.empty() || state_.load(std::memory_order_relaxed) != state::up) return;
    if (!write_queued_locked()) return;
    write_scheduled_ = true;
  }
  asio::post(dist_.node().reactor().context(), [self = shared_from_this()] { self->write_more(); });
}

void connection::write_more() {
  if (write_in_flight_ || !socket_ || get_state() != state::up) return;
  {
    std::lock_guard lk(out_mu_);
    writing_.swap(out_);
    if (writing_.empty()) {
      write_scheduled_ = false;
      return;
    }
  }
  unwritten_.clear();
  for (const auto& p : writing_) unwritten_.emplace_back(asio::buffer(p));
  write_in_flight_ = true;
  sent_.fetch_add(1, std::memory_order_relaxed);
  write_unwritten();
}

// One write_some at a time rather than asio::async_write: that composed
// operation goes on to the next partial write by itself, on a socket that
// release_io (node shutdown) may have destroyed meanwhile (ASan caught it).
// Here every step comes back to a handler that looks first.
void connection::write_unwritten() {
  socket_->async_write_some(unwritten_, [self = shared_from_this()](asio::error_code ec, std::size_t n) {
    if (!self->socket_) return;  // released: the node is shutting down
    auto& rest = self->unwritten_;
    std::size_t done = 0;
    for (; done < rest.size() && n >= rest[done].size(); ++done) n -= rest[done].size();
    rest.erase(rest.begin(), rest.begin() + static_cast<std::ptrdiff_t>(done));
    if (n > 0) rest.front() += n;
    if (!ec && !rest.empty()) return self->write_unwritten();
    self->write_in_flight_ = false;
    self->writing_.clear();
    if (ec) return self->go_down("write failed: " + ec.message());
    self->write_more();
  });
}

// ================================================================ ticks

void connection::arm_tick() {
  if (!tick_timer_) return;  // released: the node is shutting down
  // net_kernel ticks every ticktime/4 and declares a peer down after four
  // silent intervals (about ticktime).
  tick_timer_->expires_after(std::chrono::duration_cast<std::chrono::milliseconds>(dist_.options().ticktime) / 4);
  tick_timer_->async_wait([self = shared_from_this()](asio::error_code ec) {
    if (!ec) self->on_tick();
  });
}

void connection::on_tick() {
  if (get_state() != state::up) return;
  const std::uint64_t r = received_.load(std::memory_order_relaxed);
  silent_ticks_ = r == received_at_last_tick_ ? silent_ticks_ + 1 : 0;
  received_at_last_tick_ = r;
  if (silent_ticks_ >= 4) {
    dist_.logger().log(log_level::warning, fmt::format("node {} not responding: connection removed", peer_.name()));
    return go_down("net_tick_timeout");
  }
  const std::uint64_t s = sent_.load(std::memory_order_relaxed);
  if (s == sent_at_last_tick_) push_packet(std::string(4, '\0'));
  sent_at_last_tick_ = sent_.load(std::memory_order_relaxed);
  arm_tick();
}

// ================================================================ receiving

void connection::read_more() {
  if (!socket_ || get_state() != state::up) return;
  if (rbuf_.size() - rlen_ < 65536) rbuf_.resize(std::max(rbuf_.size() * 2, rlen_ + 65536));
  socket_->async_read_some(asio::buffer(rbuf_.data() + rlen_, rbuf_.size() - rlen_),
                           [self = shared_from_this()](asio::error_code ec, std::size_t n) {
                             if (ec) return self->go_down(ec == asio::error::eof ? "closed by the peer" : ec.message());
                             self->rlen_ += n;
                             self->parse_buffer();
                             self->read_more();
                           });
}

void connection::parse_buffer() {
  held_batch wakes(dist_.node());  // the schedulers are woken once the read is delivered
  std::size_t pos = 0;
  reading_ = true;
  try {
    while (get_state() == state::up && rlen_ - pos >= 4) {
      const auto* b = reinterpret_cast<const unsigned char*>(rbuf_.data() + pos);
      const std::size_t len = (std::size_t{b[0]} << 24) | (std::size_t{b[1]} << 16) | (std::size_t{b[2]} << 8) | b[3];
      if (rlen_ - pos - 4 < len) {
        if (len + 4 > rbuf_.size()) rbuf_.resize(len + 4 + 65536);  // room for the whole packet
        break;
      }
      received_.fetch_add(1, std::memory_order_relaxed);
      if (len > 0) on_packet(std::string_view(rbuf_.data() + pos + 4, len));
      pos += 4 + len;
    }
  } catch (const std::exception& e) {
    reading_ = false;
    dist_.logger().log(log_level::error, fmt::format("malformed data from {}: {}; closing the connection",
                                                     peer_.name(), e.what()));
    return go_down(std::string("malformed data: ") + e.what());
  }
  // What the read's handlers answered (the DEMONITOR_Ps of the replies it
  // carried), in one sendmsg from here rather than a hop through the
  // reactor's queue and an asynchronous write.
  reading_ = false;
  flush_output();
  if (pos > 0) {
    std::memmove(rbuf_.data(), rbuf_.data() + pos, rlen_ - pos);
    rlen_ -= pos;
  }
}

void connection::on_packet(std::string_view body) {
  std::optional<dist_message> m = decoder_->feed(body);
  if (!m) return;  // a fragment
  if (!is_op(m->control, 1)) throw std::runtime_error("control message is not a tuple with an operation: " + m->control.to_string());
  dispatch(m->control, m->payload);
}

void connection::dispatch(const term& c, const std::optional<term>& payload) {
  auto need = [&](std::size_t arity, bool with_payload) {
    if (c.size() < arity || (with_payload && !payload))
      throw std::runtime_error("malformed control message " + c.to_string());
  };
  switch (c[0].as_int()) {
    case op_send:
    case op_send_tt:
    case op_send_sender:
    case op_send_sender_tt:
      need(3, true);
      return deliver_payload(dist_.pid_from_term(c[2].as_pid()), *payload);
    case op_reg_send:
    case op_reg_send_tt:
      need(4, true);
      if (auto p = dist_.node().whereis(c[3].as_atom().name())) deliver_payload(*p, *payload);
      return;
    case op_alias_send:
    case op_alias_send_tt:
      need(3, true);
      return deliver_alias(c[2].as_ref(), *payload);
    case op_link: need(3, false); return on_link(c[1], c[2]);
    case op_unlink: need(3, false); return on_unlink(c[1], c[2], nullptr);
    case op_unlink_id: need(4, false); return on_unlink(c[2], c[3], &c[1]);
    case op_unlink_id_ack: return;
    case op_exit:
    case op_exit_tt: need(4, false); return on_exit(c[1], c[2], c[c.size() - 1], true);
    case op_exit2:
    case op_exit2_tt: need(4, false); return on_exit(c[1], c[2], c[c.size() - 1], false);
    case op_payload_exit:
    case op_payload_exit_tt: need(3, true); return on_exit(c[1], c[2], *payload, true);
    case op_payload_exit2:
    case op_payload_exit2_tt: need(3, true); return on_exit(c[1], c[2], *payload, false);
    case op_monitor_p: need(4, false); return on_monitor(c[1], c[2], c[3]);
    case op_demonitor_p: need(4, false); return on_demonitor(c[1], c[2], c[3]);
    case op_monitor_p_exit: need(5, false); return on_monitor_exit(c[1], c[2], c[3], c[4]);
    case op_payload_monitor_p_exit: need(4, true); return on_monitor_exit(c[1], c[2], c[3], *payload);
    case op_spawn_request:
    case op_spawn_request_tt: need(6, true); return on_spawn_request(c, *payload);
    case op_group_leader: return;
    default:
      dist_.logger().log(log_level::warning,
                         fmt::format("ignored an unsupported control message from {}: {}", peer_.name(), c.to_string()));
  }
}

void connection::deliver_payload(const pid& to, const term& payload) {
  auto* target = static_cast<process*>(to.get());
  if (!target) return;  // a dead process: dropped, as in Erlang
  // A reply {[alias | Ref], Reply} sent to the caller's pid rather than to
  // the alias (net_kernel's async_gen_server_reply does so) is still the
  // reply of that call; once the call is over it is dropped, as the alias
  // would have dropped it.
  if (payload.is_tuple() && payload.size() == 2 && payload[0].get_type() == term::type::list &&
      payload[0].list_elements().size() == 1 && payload[0].list_elements()[0].is_atom("alias") &&
      payload[0].list_tail().is_ref() && dist_.ref_from_term(payload[0].list_tail().as_ref()))
    return deliver_alias(payload[0].list_tail().as_ref(), payload);
  // OTP's gen_server messages become requests, so a C++ gen_server answers
  // a BEAM caller as it answers a local one (and its reply goes back to the
  // caller's Tag: see proxy.cpp).
  if (payload.is_tagged_tuple("$gen_call", 3) && payload[1].is_tuple() && payload[1].size() == 2 &&
      payload[1][0].is_pid()) {
    pid caller = dist_.pid_from_term(payload[1][0].as_pid());
    auto* n = new request_node(message(payload[2]), mail_kind::call);
    n->caller = std::move(caller);
    n->tag = remember_reply_tag(payload[1][1]);
    if (!target->offer(n) || !target->deliver(n)) {
      take_reply_tag(n->tag);
      delete n;
    }
    return;
  }
  mail_node* n = payload.is_tagged_tuple("$gen_cast", 2) ? new request_node(message(payload[1]), mail_kind::cast)
                                                          : new message_node(message(payload));
  if (!target->offer(n) || !target->deliver(n)) delete n;
}

void connection::deliver_alias(const term_ref& alias, const term& payload) {
  std::optional<ref> r = dist_.ref_from_term(alias);
  if (!r) return;
  std::optional<pending_call> c = take_pending_call(*r);
  if (!c) return;  // a late reply: the call is over, the alias inactive
  if (!payload.is_tuple() || payload.size() != 2) return;
  // The reply first, and the DEMONITOR_P written after this handler: the
  // caller runs at once, and its next request does not wait for our write
  // (or goes out in the same one).
  auto* n = new reply_node(c->tag, message(payload[1]));
  auto* caller = static_cast<process*>(c->caller.get());
  if (!caller || !caller->deliver(n)) delete n;
  send_from_reactor(term::tuple({op_demonitor_p, term(dist_.pid_to_term(c->caller)), c->target, term(alias)}));
}

void connection::on_link(const term& from, const term& to) {
  pid local = dist_.pid_from_term(to.as_pid());
  pid remote = dist_.pid_from_term(from.as_pid());
  if (!local) {
    const term reason = to_term(exit_reason::noproc());
    return send(term::tuple({op_exit, to, from, reason}));
  }
  if (add_link(local, remote) && !deliver_signal(local, mail_kind::link, remote, {}, {})) {
    // Exited, though its pid is still known here: as for an unknown pid.
    remove_link(local, remote);
    const term reason = to_term(exit_reason::noproc());
    send(term::tuple({op_exit, to, from, reason}));
  }
}

void connection::on_unlink(const term& from, const term& to, const term* id) {
  pid local = dist_.pid_from_term(to.as_pid());
  pid remote = dist_.pid_from_term(from.as_pid());
  if (local && remove_link(local, remote)) deliver_signal(local, mail_kind::unlink, remote, {}, {});
  // UNLINK_ID is acknowledged before anything else goes to that process.
  if (id) send(term::tuple({op_unlink_id_ack, *id, to, from}));
}

void connection::on_exit(const term& from, const term& to, const term& reason, bool link) {
  pid local = dist_.pid_from_term(to.as_pid());
  if (!local) return;
  pid remote = dist_.pid_from_term(from.as_pid());
  const exit_reason why = exit_reason_from_term(reason);
  if (!link) {
    deliver_signal(local, mail_kind::exit, remote, why, {});
    return;
  }
  if (remove_link(local, remote)) deliver_signal(local, mail_kind::link_exit, remote, why, {});
}

void connection::on_monitor(const term& from, const term& target, const term& r) {
  std::optional<pid> local;
  if (target.is_atom()) local = dist_.node().whereis(target.as_atom().name());
  else if (pid p = dist_.pid_from_term(target.as_pid())) local = std::move(p);
  if (!local) {
    const term reason = to_term(exit_reason::noproc());
    return send(term::tuple({op_monitor_p_exit, target, from, r, reason}));
  }
  const ref mine = make_ref();
  {
    std::lock_guard lk(tables_mu_);
    in_monitors_[mine.id()] = in_monitor{*local, from.as_pid(), r.as_ref(), target};
    in_monitor_refs_[r.as_ref().words] = mine;
  }
  if (!deliver_signal(*local, mail_kind::monitor, dist_.pid_from_term(from.as_pid()), {}, mine)) {
    // Exited, though its pid is still known here: DOWN noproc at once.
    take_in_monitor(mine);
    const term reason = to_term(exit_reason::noproc());
    send(term::tuple({op_monitor_p_exit, target, from, r, reason}));
  }
}

void connection::on_demonitor(const term&, const term&, const term& r) {
  std::optional<in_monitor> m;
  ref mine;
  {
    std::lock_guard lk(tables_mu_);
    auto it = in_monitor_refs_.find(r.as_ref().words);
    if (it == in_monitor_refs_.end()) return;
    mine = it->second;
    in_monitor_refs_.erase(it);
    auto rec = in_monitors_.find(mine.id());
    if (rec == in_monitors_.end()) return;
    m = std::move(rec->second);
    in_monitors_.erase(rec);
  }
  deliver_signal(m->target, mail_kind::demonitor, {}, {}, mine);
}

void connection::on_monitor_exit(const term& from, const term& to, const term& r, const term& reason) {
  std::optional<ref> mine = dist_.ref_from_term(r.as_ref());
  if (!mine) return;
  const exit_reason why = exit_reason_from_term(reason);
  if (auto c = take_pending_call(*mine)) {
    // The server of a call we wait on is gone (or never was): the call fails
    // at once with its reason, as gen:do_call's monitor makes it.
    return fail_call(c->caller, c->tag, why);
  }
  std::pair<pid, pid> m;
  {
    std::lock_guard lk(tables_mu_);
    auto it = out_monitors_.find(mine->id());
    if (it == out_monitors_.end()) return;
    m = std::move(it->second);
    out_monitors_.erase(it);
  }
  deliver_signal(m.first, mail_kind::down, m.second, why, *mine);
}

// ================================================================ spawn requests

namespace {
bool has_option(const term& opts, const char* name) {
  if (!opts.is_list()) return false;
  for (const term& o : opts.list_elements())
    if (o.is_atom(name)) return true;
  return false;
}

/// What erpc:execute_call(Res, M, F, A) exits with: {Res, return, Value}, or
/// {Res, error, Reason, Stack} (rpc:call turns that into {badrpc, ...}).
term execute_call(dist_node& d, const term& res, const term& m, const term& f, const term& a) {
  const term error = term(atom("error"));
  auto fn = d.find_rpc(m.as_atom(), f.as_atom());
  if (!fn) return term::tuple({res, error, term(atom("undef")), term::list({term::tuple({m, f, a, term::list({})})})});
  try {
    return term::tuple({res, term(atom("return")), (*fn)(a)});
  } catch (const std::exception& e) {
    return term::tuple({res, error, to_term(exit_reason::from_exception(std::current_exception())), term::list({})});
  }
}
}  // namespace

void connection::on_spawn_request(const term& c, const term& args) {
  // SPAWN_REQUEST {29, ReqId, From, GroupLeader, {M, F, Arity}, Opts} + Args.
  // We run C++ functions registered with otp::dist::register_rpc: erpc's
  // execute_call/execute_cast wrappers (rpc:call, rpc:cast, erpc:call), or
  // M:F itself (Node.spawn(node, M, F, A)). The new process reports its end
  // to the requester's monitor (ReqId) with the erpc result as exit reason.
  const term& req_id = c[1];
  const term& from = c[2];
  const term& mfa = c[4];
  const term& opts = c[5];
  auto refuse = [&](const char* why) {
    send(term::tuple({op_spawn_reply, req_id, from, 0, term(atom(why))}));
  };
  if (!mfa.is_tuple() || mfa.size() != 3 || !mfa[0].is_atom() || !mfa[1].is_atom() || !args.is_proper_list())
    return refuse("badarg");
  std::span<const term> a = args.list_elements();
  const bool erpc = mfa[0].is_atom("erpc");
  const bool call = erpc && mfa[1].is_atom("execute_call") && a.size() == 4;
  const bool cast = erpc && mfa[1].is_atom("execute_cast") && a.size() == 3;
  const term m = call ? a[1] : cast ? a[0] : mfa[0];
  const term f = call ? a[2] : cast ? a[1] : mfa[1];
  const term fargs = call ? a[3] : cast ? a[2] : args;
  if (!m.is_atom() || !f.is_atom()) return refuse("badarg");
  if (!call && !dist_.find_rpc(m.as_atom(), f.as_atom())) return refuse("notsup");
  const bool monitor = has_option(opts, "monitor");
  const bool link = has_option(opts, "link");
  const term res = call ? a[0] : term();
  auto self = shared_from_this();
  struct spawn_go {};  // sent after SPAWN_REPLY: the requester learns of the pid before its DOWN
  pid p = otp::spawn([self, res, m, f, fargs, from, req_id, call, monitor] {
    otp::receive_as<spawn_go>();
    dist_node& d = self->dist_;
    term reason = term(atom("normal"));
    if (call) {
      reason = execute_call(d, res, m, f, fargs);
    } else if (auto fn = d.find_rpc(m.as_atom(), f.as_atom())) {
      (*fn)(fargs);
    }
    if (monitor) self->send(term::tuple({op_payload_monitor_p_exit, term(d.pid_to_term(otp::self())), from, req_id}), &reason);
  });
  const term pid_term(dist_.pid_to_term(p));
  if (link) {
    pid remote = dist_.pid_from_term(from.as_pid());
    if (add_link(p, remote)) deliver_signal(p, mail_kind::link, remote, {}, {});
  }
  send(term::tuple({op_spawn_reply, req_id, from, (link ? 1 : 0) | (monitor ? 2 : 0), pid_term}));
  otp::send(p, spawn_go{});
}

// ================================================================ tables

#define OTP_DIST_FORWARD_TO_SUCCESSOR(call)             \
  if (auto next = successor()) return next->call;

std::shared_ptr<connection> connection::successor() {
  std::lock_guard lk(out_mu_);
  return successor_;
}

bool connection::add_link(const pid& local, const pid& remote) {
  OTP_DIST_FORWARD_TO_SUCCESSOR(add_link(local, remote))
  std::lock_guard lk(tables_mu_);
  return links_.try_emplace({local.serial(), remote.serial()}, local, remote).second;
}

bool connection::remove_link(const pid& local, const pid& remote) {
  OTP_DIST_FORWARD_TO_SUCCESSOR(remove_link(local, remote))
  std::lock_guard lk(tables_mu_);
  return links_.erase({local.serial(), remote.serial()}) > 0;
}

void connection::add_out_monitor(ref r, const pid& watcher, const pid& target) {
  OTP_DIST_FORWARD_TO_SUCCESSOR(add_out_monitor(r, watcher, target))
  std::lock_guard lk(tables_mu_);
  out_monitors_[r.id()] = {watcher, target};
}

bool connection::remove_out_monitor(ref r) {
  OTP_DIST_FORWARD_TO_SUCCESSOR(remove_out_monitor(r))
  std::lock_guard lk(tables_mu_);
  return out_monitors_.erase(r.id()) > 0;
}

std::optional<connection::in_monitor> connection::take_in_monitor(ref local) {
  std::lock_guard lk(tables_mu_);
  auto it = in_monitors_.find(local.id());
  if (it == in_monitors_.end()) return std::nullopt;
  in_monitor m = std::move(it->second);
  in_monitors_.erase(it);
  in_monitor_refs_.erase(m.remote_ref.words);
  return m;
}

void connection::add_pending_call(ref r, const pid& caller, std::uint64_t tag, term target) {
  OTP_DIST_FORWARD_TO_SUCCESSOR(add_pending_call(r, caller, tag, std::move(target)))
  std::lock_guard lk(tables_mu_);
  pending_calls_[r.id()] = pending_call{caller, tag, std::move(target)};
}

std::optional<connection::pending_call> connection::take_pending_call(ref r) {
  std::lock_guard lk(tables_mu_);
  auto it = pending_calls_.find(r.id());
  if (it == pending_calls_.end()) return std::nullopt;
  pending_call c = std::move(it->second);
  pending_calls_.erase(it);
  return c;
}

std::optional<std::pair<ref, connection::pending_call>> connection::take_pending_call_of(const pid& caller,
                                                                                       std::uint64_t tag) {
  std::lock_guard lk(tables_mu_);
  // A linear scan: only calls that time out (or whose caller dies) come here.
  for (auto it = pending_calls_.begin(); it != pending_calls_.end(); ++it) {
    if (it->second.tag != tag || it->second.caller != caller) continue;
    std::pair<ref, pending_call> found{ref(it->first), std::move(it->second)};
    pending_calls_.erase(it);
    return found;
  }
  return std::nullopt;
}

std::uint64_t connection::remember_reply_tag(term tag) {
  std::lock_guard lk(tables_mu_);
  const std::uint64_t t = next_reply_tag_++;
  reply_tags_.emplace(t, std::move(tag));
  return t;
}

std::optional<term> connection::take_reply_tag(std::uint64_t tag) {
  std::lock_guard lk(tables_mu_);
  auto it = reply_tags_.find(tag);
  if (it == reply_tags_.end()) return std::nullopt;
  term t = std::move(it->second);
  reply_tags_.erase(it);
  return t;
}

void connection::add_node_monitor(const pid& p) {
  OTP_DIST_FORWARD_TO_SUCCESSOR(add_node_monitor(p))
  std::lock_guard lk(tables_mu_);
  node_monitors_.push_back(p);
}

bool connection::remove_node_monitor(const pid& p) {
  OTP_DIST_FORWARD_TO_SUCCESSOR(remove_node_monitor(p))
  std::lock_guard lk(tables_mu_);
  auto it = std::find(node_monitors_.begin(), node_monitors_.end(), p);
  if (it == node_monitors_.end()) return false;
  node_monitors_.erase(it);
  return true;
}

#undef OTP_DIST_FORWARD_TO_SUCCESSOR

}  // namespace otp::internal
