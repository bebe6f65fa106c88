// The reactor side of otp::tcp: sockets and listeners (see tcp_socket.hpp).

#include "net/tcp_socket.hpp"

#include <algorithm>

namespace otp::internal {

namespace {
std::atomic<std::uint64_t> g_port_ids{1};

// Reads start small (many idle connections cost little) and double while
// they fill the buffer, up to this.
constexpr std::size_t first_read = 8 * 1024;
constexpr std::size_t largest_read = 256 * 1024;

std::error_code closed_code() { return tcp::make_error_code(tcp::errc::closed); }

// What a failed write means to the sender: a connection gone (EPIPE, or our
// own close aborting it) is `closed`, as gen_tcp reports it.
std::error_code write_error(const std::error_code& ec) {
  if (ec == asio::error::operation_aborted || ec == asio::error::broken_pipe || ec == asio::error::bad_descriptor)
    return closed_code();
  return ec;
}

tcp::address to_address(const asio::ip::tcp::endpoint& ep) { return {ep.address().to_string(), ep.port()}; }
}  // namespace

// ---------------------------------------------------------------- tcp_port

tcp_port::tcp_port(internal::reactor& r, pid owner_watcher)
    : id(g_port_ids.fetch_add(1, std::memory_order_relaxed)),
      ctx_(r.shared_context()),
      reactor_(r),
      watcher_(std::move(owner_watcher)) {}

tcp_port::~tcp_port() { unwatch(); }

pid tcp_port::owner() const {
  std::lock_guard lk(owner_mu_);
  return owner_;
}

void tcp_port::set_owner(pid p) {
  std::lock_guard lk(owner_mu_);
  owner_ = p;
  // Sent under the lock: the port-owner process sees the seqs in order per
  // sender, and takes the highest across senders.
  deliver_to(watcher_, message(port_watch{id, weak_from_this(), std::move(p), ++owner_seq_}));
}

void tcp_port::unwatch() noexcept {
  try {
    deliver_to(watcher_, message(port_unwatch{id}));
  } catch (...) {  // out of memory: the entry goes when the owner exits
  }
}

void tcp_port::owner_exited(const pid& who) {
  asio::post(*ctx_, [self = shared_from_this(), who] {
    if (self->owner() == who) self->close_now();
  });
}

// ---------------------------------------------------------------- tcp_socket

tcp_socket::tcp_socket(internal::reactor& r, pid owner_watcher, tcp_settings s)
    : tcp_port(r, std::move(owner_watcher)), set_(s) {}

void tcp_socket::connect(io_waiter w, std::string host, std::uint16_t port) {
  if (phase_ != phase::connecting) return complete(w, tcp_result{closed_code()});
  resolver_.emplace(*ctx_);
  resolver_->async_resolve(
      host, std::to_string(port), asio::ip::resolver_base::numeric_service,
      [self = self(), w](const std::error_code& ec, asio::ip::tcp::resolver::results_type results) mutable {
        if (self->phase_ != phase::connecting) return complete(w, tcp_result{asio::error::operation_aborted});
        if (ec) {
          self->close_now();
          const bool unknown = ec == asio::error::host_not_found || ec == asio::error::host_not_found_try_again ||
                               ec == asio::error::no_data;
          return complete(w, tcp_result{unknown ? tcp::make_error_code(tcp::errc::nxdomain) : ec});
        }
        self->sock_.emplace(*self->ctx_);
        asio::async_connect(*self->sock_, results,
                            [self, w](const std::error_code& ec, const asio::ip::tcp::endpoint&) mutable {
                              if (self->phase_ != phase::connecting)
                                return complete(w, tcp_result{asio::error::operation_aborted});
                              if (ec) {
                                self->close_now();
                                return complete(w, tcp_result{ec});
                              }
                              self->opened();
                              complete(w, tcp_result{});
                              self->pump();  // an active socket starts reading
                            });
      });
}

void tcp_socket::adopt(asio::ip::tcp::socket s) {
  sock_.emplace(std::move(s));
  opened();
}

void tcp_socket::opened() {
  phase_ = phase::open;
  resolver_.reset();
  std::error_code ignored;
  sock_->set_option(asio::ip::tcp::no_delay(set_.nodelay), ignored);
  local = to_address(sock_->local_endpoint(ignored));
  peer = to_address(sock_->remote_endpoint(ignored));
}

void tcp_socket::close_now() noexcept {
  if (phase_ == phase::closed) return;
  phase_ = phase::closed;
  mark_closed();
  std::error_code ignored;
  if (resolver_) resolver_->cancel();
  if (sock_) sock_->close(ignored);  // pending operations complete, aborted
  for (auto& r : recvs_) complete(r.w, tcp_result{closed_code()});
  recvs_.clear();
  // The request being written is answered by its handler.
  while (sends_.size() > (writing_ ? 1u : 0u)) {
    complete(sends_.back().w, tcp_result{closed_code()});
    sends_.pop_back();
  }
  if (shutdown_waiter_) complete(*std::exchange(shutdown_waiter_, std::nullopt), tcp_result{closed_code()});
  in_.clear();
  in_pos_ = 0;
  unwatch();
}

// ---- reading

void tcp_socket::recv(io_waiter w, std::size_t length) {
  if (phase_ != phase::open) return complete(w, tcp_result{closed_code()});
  const bool bad_length = set_.packet != 0 ? length != 0 : length > set_.packet_size;
  if (set_.active.mode != tcp::active_mode::kind::passive || bad_length)
    return complete(w, tcp_result{std::make_error_code(std::errc::invalid_argument)});
  recvs_.push_back({std::move(w), length});
  pump();
}

void tcp_socket::cancel_recv(std::uint64_t tag) {
  auto it = std::find_if(recvs_.begin(), recvs_.end(), [&](const recv_request& r) { return r.w.tag == tag; });
  if (it == recvs_.end()) return;  // already answered
  complete(it->w, tcp_result{asio::error::operation_aborted});
  recvs_.erase(it);
}

// One unit for a reader: raw, `length` bytes (0: all there is); in packet
// mode a whole packet. nullopt if it has not fully arrived; `ec` is set for
// a packet longer than packet_size (never buffered).
std::optional<std::string> tcp_socket::take_unit(std::size_t length, std::error_code& ec) {
  const std::size_t avail = in_.size() - in_pos_;
  if (set_.packet == 0) {
    const std::size_t want = length == 0 ? avail : length;
    if (avail == 0 || avail < want) return std::nullopt;
    std::string unit = in_.substr(in_pos_, want);
    consume(want);
    return unit;
  }
  const std::size_t h = set_.packet;
  if (avail < h) return std::nullopt;
  std::size_t len = 0;
  for (std::size_t i = 0; i < h; ++i) len = (len << 8) | static_cast<unsigned char>(in_[in_pos_ + i]);
  if (len > set_.packet_size) {
    ec = std::make_error_code(std::errc::message_size);
    return std::nullopt;
  }
  if (avail - h < len) return std::nullopt;
  std::string unit = in_.substr(in_pos_ + h, len);
  consume(h + len);
  return unit;
}

void tcp_socket::consume(std::size_t n) {
  in_pos_ += n;
  if (in_pos_ == in_.size()) {
    in_.clear();
    in_pos_ = 0;
  } else if (in_pos_ > in_.size() / 2) {
    in_.erase(0, in_pos_);
    in_pos_ = 0;
  }
}

// Hands out every whole unit there is: to the waiting recvs first, then, if
// active, to the owner. Returns the error of an oversized packet.
std::error_code tcp_socket::serve() {
  std::error_code ec;
  while (!recvs_.empty()) {
    auto unit = take_unit(recvs_.front().length, ec);
    if (!unit) return ec;
    tcp_result r;
    r.bytes = std::move(*unit);
    complete(recvs_.front().w, std::move(r));
    recvs_.pop_front();
  }
  while (set_.active.mode != tcp::active_mode::kind::passive) {
    auto unit = take_unit(0, ec);
    if (!unit) return ec;
    deliver_to(owner(), message(tcp::data{tcp::socket(self()), std::move(*unit)}));
    count_delivery();
  }
  return {};
}

void tcp_socket::count_delivery() {
  auto& a = set_.active;
  if (a.mode == tcp::active_mode::kind::once) {
    a = tcp::active_false;
  } else if (a.mode == tcp::active_mode::kind::count && --a.count <= 0) {
    a = tcp::active_false;
    deliver_to(owner(), message(tcp::passive{tcp::socket(self())}));
  }
}

void tcp_socket::pump() {
  if (phase_ != phase::open) return;
  if (std::error_code bad = serve()) {  // the stream cannot be followed past it
    read_ended_ = true;
    read_error_ = bad;
  }
  if (!read_ended_) {
    if (!reading_ && (!recvs_.empty() || set_.active.mode != tcp::active_mode::kind::passive)) start_read();
    return;
  }
  const bool failed = read_error_ != closed_code();
  report_end();
  if (failed) close_now();  // the connection is unusable (a later recv gets `closed`)
}

// The input has ended (EOF or an error) and nothing whole is left: the
// waiting recvs fail with the reason; an active owner gets tcp_error (unless
// it is a plain close) and tcp_closed, once.
void tcp_socket::report_end() {
  for (auto& r : recvs_) complete(r.w, tcp_result{read_error_});
  recvs_.clear();
  if (set_.active.mode == tcp::active_mode::kind::passive || std::exchange(end_told_, true)) return;
  if (read_error_ != closed_code())
    deliver_to(owner(), message(tcp::error{tcp::socket(self()), tcp::reason_of(read_error_)}));
  deliver_to(owner(), message(tcp::closed{tcp::socket(self())}));
}

void tcp_socket::start_read() {
  reading_ = true;
  if (rbuf_.empty()) rbuf_.resize(first_read);
  sock_->async_read_some(asio::buffer(rbuf_), [self = self()](const std::error_code& ec, std::size_t n) {
    self->reading_ = false;
    if (self->phase_ != phase::open) return;  // closed meanwhile: its waiters were told
    if (ec) {
      self->read_ended_ = true;
      self->read_error_ = ec == asio::error::eof ? closed_code() : ec;
    } else {
      self->in_.append(self->rbuf_.data(), n);
      if (n == self->rbuf_.size() && n < largest_read) self->rbuf_.resize(n * 2);
    }
    self->pump();
  });
}

// ---- writing

void tcp_socket::send(io_waiter w, std::string bytes) {
  if (phase_ != phase::open) return complete(w, tcp_result{closed_code()});
  send_request r{std::move(w), std::move(bytes)};
  if (set_.packet != 0) {
    const std::uint64_t max = set_.packet == 4 ? 0xFFFFFFFFull : (1ull << (8 * set_.packet)) - 1;
    const std::uint64_t len = r.bytes.size();
    if (len > max) return complete(r.w, tcp_result{std::make_error_code(std::errc::message_size)});
    r.header_len = set_.packet;
    for (std::size_t i = 0; i < r.header_len; ++i) r.header[i] = static_cast<unsigned char>(len >> (8 * (r.header_len - 1 - i)));
  }
  sends_.push_back(std::move(r));
  if (!writing_) write_next();
}

void tcp_socket::write_next() {
  if (sends_.empty()) {
    if (shutdown_after_) finish_shutdown();
    return;
  }
  writing_ = true;
  send_request& r = sends_.front();
  std::array<asio::const_buffer, 2> bufs{asio::buffer(r.header.data(), r.header_len), asio::buffer(r.bytes)};
  asio::async_write(*sock_, bufs, [self = self()](const std::error_code& ec, std::size_t) {
    self->writing_ = false;
    complete(self->sends_.front().w, tcp_result{write_error(ec)});
    self->sends_.pop_front();
    if (self->phase_ == phase::open) self->write_next();
  });
}

void tcp_socket::shutdown(io_waiter w, asio::socket_base::shutdown_type how) {
  if (phase_ != phase::open) return complete(w, tcp_result{closed_code()});
  if (shutdown_waiter_)  // another shutdown waits for the sends: `ealready`
    return complete(w, tcp_result{std::make_error_code(std::errc::connection_already_in_progress)});
  shutdown_after_ = how;
  shutdown_waiter_ = std::move(w);
  if (how == asio::socket_base::shutdown_receive || !writing_) finish_shutdown();
}

void tcp_socket::finish_shutdown() {
  std::error_code ec;
  sock_->shutdown(*std::exchange(shutdown_after_, std::nullopt), ec);
  complete(*std::exchange(shutdown_waiter_, std::nullopt), tcp_result{ec});
}

// ---- options

bool tcp_socket::apply_active(tcp::active_mode m) {
  if (m.mode != tcp::active_mode::kind::count) {
    set_.active = m;
    return true;
  }
  const long base = set_.active.mode == tcp::active_mode::kind::count ? set_.active.count : 0;
  const long n = base + m.count;
  if (n > 32767) return false;
  if (n > 0) {
    set_.active = tcp::active_n(static_cast<int>(n));
  } else {
    set_.active = tcp::active_false;
    deliver_to(owner(), message(tcp::passive{tcp::socket(self())}));
  }
  return true;
}

void tcp_socket::setopts(io_waiter w, const tcp::options& o) {
  if (phase_ != phase::open) return complete(w, tcp_result{closed_code()});
  if (o.active && !apply_active(*o.active))
    return complete(w, tcp_result{std::make_error_code(std::errc::invalid_argument)});
  if (o.packet) set_.packet = *o.packet;
  if (o.packet_size) set_.packet_size = *o.packet_size;
  std::error_code ec;
  if (o.nodelay) {
    set_.nodelay = *o.nodelay;
    sock_->set_option(asio::ip::tcp::no_delay(set_.nodelay), ec);
  }
  pump();  // what is buffered goes out (as messages) before setopts returns
  complete(w, tcp_result{ec});
}

void tcp_socket::suspend_active(io_waiter w) {
  if (phase_ != phase::open) return complete(w, tcp_result{closed_code()});
  tcp_result r;
  r.previous = std::exchange(set_.active, tcp::active_false);
  complete(w, std::move(r));
}

// ---------------------------------------------------------------- tcp_listener

tcp_listener::tcp_listener(internal::reactor& r, pid owner_watcher, tcp_settings inherited)
    : tcp_port(r, std::move(owner_watcher)), inherited_(inherited) {}

void tcp_listener::open(io_waiter w, asio::ip::tcp::endpoint ep, bool reuseaddr, int backlog) {
  if (closed()) return complete(w, tcp_result{closed_code()});
  acc_.emplace(*ctx_);
  std::error_code ec;
  acc_->open(ep.protocol(), ec);
  if (!ec && reuseaddr) acc_->set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acc_->bind(ep, ec);
  if (!ec) acc_->listen(backlog, ec);
  if (!ec) port = acc_->local_endpoint(ec).port();
  if (ec) {
    close_now();
    return complete(w, tcp_result{ec});
  }
  open_ = true;
  complete(w, tcp_result{});
}

void tcp_listener::accept(io_waiter w) {
  if (!open_) return complete(w, tcp_result{closed_code()});
  if (!ready_.empty()) {
    auto s = std::move(ready_.front());
    ready_.pop_front();
    return hand_off(w, std::move(s));
  }
  waiters_.push_back(std::move(w));
  accept_next();
}

void tcp_listener::cancel_accept(std::uint64_t tag) {
  auto it = std::find_if(waiters_.begin(), waiters_.end(), [&](const io_waiter& w) { return w.tag == tag; });
  if (it == waiters_.end()) return;  // already answered
  complete(*it, tcp_result{asio::error::operation_aborted});
  waiters_.erase(it);
}

// One accept at a time, only while someone waits: a connection accepted
// after its waiter gave up is kept (ready_) for the next accept.
void tcp_listener::accept_next() {
  if (accepting_ || waiters_.empty() || !open_) return;
  accepting_ = true;
  acc_->async_accept([self = std::static_pointer_cast<tcp_listener>(shared_from_this())](
                         const std::error_code& ec, asio::ip::tcp::socket s) {
    self->accepting_ = false;
    if (!self->open_) return;  // closed meanwhile: its waiters were told
    if (ec == asio::error::connection_aborted) return self->accept_next();  // the client gave up
    if (ec) {  // e.g. emfile: the first waiter hears of it
      if (!self->waiters_.empty()) {
        complete(self->waiters_.front(), tcp_result{ec});
        self->waiters_.pop_front();
      }
      return self->accept_next();
    }
    std::shared_ptr<tcp_socket> conn;
    try {
      conn = std::make_shared<tcp_socket>(self->reactor_, self->watcher_, self->inherited_);
      self->reactor_.track(conn);
    } catch (const std::logic_error&) {  // the reactor is stopping: drop the connection
      return;
    }
    conn->adopt(std::move(s));
    if (self->waiters_.empty()) {
      self->ready_.push_back(std::move(conn));
    } else {
      io_waiter w = std::move(self->waiters_.front());
      self->waiters_.pop_front();
      self->hand_off(w, std::move(conn));
    }
    self->accept_next();
  });
}

void tcp_listener::hand_off(const io_waiter& w, std::shared_ptr<tcp_socket> s) {
  s->set_owner(w.to);
  tcp_result r;
  r.accepted = s;
  complete(w, std::move(r));
  s->pump();  // an active socket starts reading; its messages follow the result
}

void tcp_listener::close_now() noexcept {
  if (std::exchange(shut_, true)) return;
  open_ = false;
  mark_closed();
  std::error_code ignored;
  if (acc_) acc_->close(ignored);
  for (auto& w : waiters_) complete(w, tcp_result{closed_code()});
  waiters_.clear();
  for (auto& s : ready_) s->close_now();
  ready_.clear();
  unwatch();
}

}  // namespace otp::internal
