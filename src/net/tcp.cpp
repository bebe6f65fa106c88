// otp::tcp: the API functions (the process side of each operation), error
// reasons, and the port-owner process that closes a port when its owner
// exits.

#include "otp/tcp.hpp"

#include <cctype>
#include <cstring>
#include <mutex>
#include <unordered_map>
#include <utility>
#include <vector>

#include "net/tcp_socket.hpp"
#include "node_impl.hpp"
#include "otp/error.hpp"
#include "otp/process.hpp"

namespace otp::tcp {

// ---------------------------------------------------------------- errors

namespace {
class tcp_category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "otp::tcp"; }
  std::string message(int v) const override {
    switch (static_cast<errc>(v)) {
      case errc::closed: return "closed";
      case errc::timeout: return "timeout";
      case errc::not_owner: return "not_owner";
      case errc::nxdomain: return "nxdomain";
    }
    return "unknown otp::tcp error " + std::to_string(v);
  }
};
}  // namespace

const std::error_category& category() noexcept {
  static const tcp_category c;
  return c;
}

std::string reason_of(const std::error_code& ec) {
  if (ec.category() == category()) return ec.message();
  if (ec == asio::error::eof) return "closed";
  if (ec.category() == asio::system_category() || ec.category() == std::system_category() ||
      ec.category() == std::generic_category()) {
    if (const char* name = strerrorname_np(ec.value())) {  // "ECONNREFUSED" -> "econnrefused", as inet's atoms
      std::string r(name);
      for (char& c : r) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      return r;
    }
  }
  return ec.message();
}

socket_error::socket_error(std::error_code ec) : std::system_error(ec, "otp::tcp"), reason_(reason_of(ec)) {}

// ---------------------------------------------------------------- the port-owner process

namespace {

// Monitors each port's owner; when an owner exits, its ports close. One per
// node, started on first use (an Erlang port is linked to its owner; here a
// monitor held by this process does it, so the runtime needs no port type).
void port_owner_main() {
  struct entry {
    ref mref;
    std::weak_ptr<internal::tcp_port> port;
    std::uint64_t seq;
  };
  std::unordered_map<std::uint64_t, entry> ports;
  std::unordered_map<ref, std::uint64_t> by_monitor;
  auto stop_watching = [&](entry& e) {
    demonitor(e.mref, {.flush = true});
    by_monitor.erase(e.mref);
  };
  for (;;) {
    receive(
        [&](internal::port_watch& w) {
          auto it = ports.find(w.id);
          if (it != ports.end()) {
            if (w.seq < it->second.seq) return;  // overtaken by a newer owner
            stop_watching(it->second);
          }
          ref r = monitor(w.owner);  // an owner already gone: `noproc` DOWN at once
          ports[w.id] = entry{r, std::move(w.port), w.seq};
          by_monitor[r] = w.id;
        },
        [&](internal::port_unwatch& u) {
          auto it = ports.find(u.id);
          if (it == ports.end()) return;
          stop_watching(it->second);
          ports.erase(it);
        },
        [&](down_msg& d) {
          auto id = by_monitor.find(d.mref);
          if (id == by_monitor.end()) return;
          auto it = ports.find(id->second);
          auto port = it->second.port.lock();
          by_monitor.erase(id);
          ports.erase(it);
          if (port) port->owner_exited(d.process);
        });
  }
}

std::mutex g_owners_mu;
std::vector<std::pair<std::uint64_t, pid>> g_owners;  // node generation -> its port-owner process

pid port_owner_process() {
  const std::uint64_t gen = internal::current_node().generation();
  auto find = [&]() -> pid {
    for (auto& [g, p] : g_owners)
      if (g == gen && is_alive(p)) return p;
    return {};
  };
  {
    std::lock_guard lk(g_owners_mu);
    if (pid p = find()) return p;
  }
  pid fresh = spawn(port_owner_main);  // not under the lock: spawn may switch fibers
  pid winner;
  {
    std::lock_guard lk(g_owners_mu);
    winner = find();
    if (!winner) {
      std::erase_if(g_owners, [](const auto& e) { return !is_alive(e.second); });
      g_owners.emplace_back(gen, fresh);
      return fresh;
    }
  }
  exit(fresh, exit_reason::kill());  // another caller started one first
  return winner;
}

// ---------------------------------------------------------------- helpers

using internal::tcp_result;

[[noreturn]] void fail(std::error_code ec) { throw socket_error(ec); }

template <class Handle>
auto& port_of(const Handle& h, const char* fn) {
  if (!h) throw badarg(std::string("otp::tcp::") + fn + ": empty handle");
  if (h.get()->closed()) fail(errc::closed);
  return *h.get();
}

struct no_cancel {
  void operator()(std::uint64_t) const noexcept {}
};

// Runs an operation on the reactor and waits for it; an operation aborted
// by the timeout's cancel is a `timeout`, else an abort means `closed`.
template <class Start, class Cancel = no_cancel>
tcp_result await(internal::tcp_port& port, timeout t, Start start, Cancel cancel = {}) {
  auto o = internal::await_io<tcp_result>(port.context(), t, std::move(start), std::move(cancel));
  std::error_code ec = o.value.ec;
  if (ec == asio::error::operation_aborted) ec = o.timed_out ? errc::timeout : errc::closed;
  if (ec) fail(ec);
  return std::move(o.value);
}

// Validates `o` and applies it to `s`. At creation an {active, N} needs
// N > 0; setopts adds N to the current count on the reactor.
internal::tcp_settings settings(internal::tcp_settings s, const options& o, const char* fn, bool creating) {
  const std::string where = std::string("otp::tcp::") + fn + ": ";
  if (o.packet) {
    if (*o.packet != 0 && *o.packet != 1 && *o.packet != 2 && *o.packet != 4)
      throw badarg(where + "packet must be 0 (raw), 1, 2 or 4");
    s.packet = *o.packet;
  }
  if (o.packet_size) {
    if (*o.packet_size == 0) throw badarg(where + "packet_size must be positive");
    s.packet_size = *o.packet_size;
  }
  if (o.active) {
    const int n = o.active->count;
    if (o.active->mode == active_mode::kind::count && (n > 32767 || n < (creating ? 1 : -32768)))
      throw badarg(where + (creating ? "{active, N} needs 0 < N <= 32767" : "{active, N} needs -32768 <= N <= 32767"));
    s.active = *o.active;
  }
  if (o.nodelay) s.nodelay = *o.nodelay;
  return s;
}

void no_listen_options(const options& o, const char* fn) {
  if (o.reuseaddr || o.backlog || o.ip)
    throw badarg(std::string("otp::tcp::") + fn + ": reuseaddr, backlog and ip are listen options");
}

internal::reactor& node_reactor() { return internal::current_node().reactor(); }

template <class Port>
std::shared_ptr<Port> make_port(internal::tcp_settings s) {
  internal::reactor& r = node_reactor();
  try {
    auto p = std::make_shared<Port>(r, port_owner_process(), s);
    r.track(p);
    p->set_owner(self());
    return p;
  } catch (const std::logic_error&) {  // the reactor has stopped: the node is going down
    fail(errc::closed);
  }
}

}  // namespace

// ---------------------------------------------------------------- handles

std::string socket::to_string() const { return s_ ? "#Port<0." + std::to_string(s_->id) + ">" : "#Port<none>"; }

std::string listener::to_string() const { return l_ ? "#Port<0." + std::to_string(l_->id) + ">" : "#Port<none>"; }

std::uint16_t listener::port() const {
  if (!l_) throw badarg("otp::tcp::listener::port: empty handle");
  return l_->port;
}

// ---------------------------------------------------------------- functions

listener listen(std::uint16_t port, const options& opts) {
  const internal::tcp_settings s = settings({}, opts, "listen", true);
  std::error_code ec;
  const auto addr = asio::ip::make_address(opts.ip.value_or("0.0.0.0"), ec);
  if (ec) throw badarg("otp::tcp::listen: not an IP address: " + *opts.ip);
  const int backlog = opts.backlog.value_or(128);
  if (backlog <= 0) throw badarg("otp::tcp::listen: backlog must be positive");
  auto l = make_port<internal::tcp_listener>(s);
  asio::ip::tcp::endpoint ep(addr, port);
  const bool reuse = opts.reuseaddr.value_or(true);
  await(*l, infinity, [l, ep, reuse, backlog](internal::io_waiter w) { l->open(std::move(w), ep, reuse, backlog); });
  return listener(std::move(l));
}

socket accept(const listener& l, timeout t) {
  internal::tcp_listener& port = port_of(l, "accept");
  auto lp = std::static_pointer_cast<internal::tcp_listener>(port.shared_from_this());
  tcp_result r = await(
      port, t, [lp](internal::io_waiter w) { lp->accept(std::move(w)); },
      [lp](std::uint64_t tag) { lp->cancel_accept(tag); });
  return socket(std::move(r.accepted));
}

socket connect(std::string_view host, std::uint16_t port, const options& opts, timeout t) {
  no_listen_options(opts, "connect");
  auto s = make_port<internal::tcp_socket>(settings({}, opts, "connect", true));
  await(
      *s, t, [s, h = std::string(host), port](internal::io_waiter w) { s->connect(std::move(w), h, port); },
      [s](std::uint64_t) { s->cancel_connect(); });
  return socket(std::move(s));
}

void send(const socket& s, std::string bytes) {
  auto& port = port_of(s, "send");
  await(port, infinity, [p = s.shared(), b = std::move(bytes)](internal::io_waiter w) mutable {
    p->send(std::move(w), std::move(b));
  });
}

std::string recv(const socket& s, std::size_t length, timeout t) {
  auto& port = port_of(s, "recv");
  auto p = s.shared();
  return await(
             port, t, [p, length](internal::io_waiter w) { p->recv(std::move(w), length); },
             [p](std::uint64_t tag) { p->cancel_recv(tag); })
      .bytes;
}

void close(const socket& s) {
  if (!s) throw badarg("otp::tcp::close: empty handle");
  // Later calls fail at once, whichever thread they come from. Already
  // closed (by an error, the owner's exit, node shutdown): nothing to post.
  if (!s.get()->mark_closed()) return;
  asio::post(s.get()->context(), [p = s.shared()] { p->close_now(); });
}

void close(const listener& l) {
  if (!l) throw badarg("otp::tcp::close: empty handle");
  if (!l.get()->mark_closed()) return;
  auto lp = std::static_pointer_cast<internal::tcp_listener>(l.get()->shared_from_this());
  asio::post(l.get()->context(), [lp] { lp->close_now(); });
}

void shutdown(const socket& s, shutdown_how how) {
  auto& port = port_of(s, "shutdown");
  const auto type = how == shutdown_how::read    ? asio::socket_base::shutdown_receive
                    : how == shutdown_how::write ? asio::socket_base::shutdown_send
                                                 : asio::socket_base::shutdown_both;
  await(port, infinity, [p = s.shared(), type](internal::io_waiter w) { p->shutdown(std::move(w), type); });
}

void setopts(const socket& s, const options& opts) {
  auto& port = port_of(s, "setopts");
  no_listen_options(opts, "setopts");
  settings({}, opts, "setopts", false);  // validates
  await(port, infinity, [p = s.shared(), opts](internal::io_waiter w) { p->setopts(std::move(w), opts); });
}

void controlling_process(const socket& s, const pid& new_owner) {
  auto& port = port_of(s, "controlling_process");
  const pid me = self();
  if (port.owner() != me) fail(errc::not_owner);
  if (new_owner == me) return;
  auto p = s.shared();
  // Stop the deliveries, move what was delivered, then resume them for the
  // new owner: its messages of this socket stay in order.
  const active_mode was =
      await(port, infinity, [p](internal::io_waiter w) { p->suspend_active(std::move(w)); }).previous;
  auto ours = [](const void* ctx, const message& m) {
    const auto* sock = static_cast<const internal::tcp_socket*>(ctx);
    if (auto* d = m.get_if<data>()) return d->sock.get() == sock;
    if (auto* c = m.get_if<closed>()) return c->sock.get() == sock;
    if (auto* e = m.get_if<error>()) return e->sock.get() == sock;
    if (auto* x = m.get_if<passive>()) return x->sock.get() == sock;
    return false;
  };
  while (auto m = detail::receive_core(ours, p.get(), timeout::zero())) internal::deliver_to(new_owner, std::move(*m));
  port.set_owner(new_owner);
  if (was != active_false) {
    options resume;
    resume.active = was;
    await(port, infinity, [p, resume](internal::io_waiter w) { p->setopts(std::move(w), resume); });
  }
}

address peername(const socket& s) {
  if (!s) throw badarg("otp::tcp::peername: empty handle");
  return s.get()->peer;
}

address sockname(const socket& s) {
  if (!s) throw badarg("otp::tcp::sockname: empty handle");
  return s.get()->local;
}

}  // namespace otp::tcp
