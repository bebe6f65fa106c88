// The node's distribution state: identities on the wire, the pid tables,
// the listener, epmd registration and the connection map.

#include "dist/dist_node.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <array>
#include <cstdlib>
#include <fstream>
#include <random>

#include "dist/connection.hpp"
#include "dist/epmd.hpp"
#include "dist/flags.hpp"
#include "dist/services.hpp"
#include "net/reactor.hpp"
#include "node_impl.hpp"
#include "otp/error.hpp"
#include "process/process.hpp"

namespace otp::internal {

struct dist_node::impl {
  // pid tables: a weak map, guarded by ids_mu; an entry is removed by
  // ~process (forget), and a lookup takes a reference only while the count
  // is not zero (see try_retain), so a dying block is never revived.
  std::mutex ids_mu;
  std::unordered_map<std::uint64_t, process*> exported;  // our processes, by wire id
  struct pid_key {
    std::uint32_t node, id, serial, creation;
    friend bool operator<(const pid_key& a, const pid_key& b) {
      return std::tie(a.node, a.id, a.serial, a.creation) < std::tie(b.node, b.id, b.serial, b.creation);
    }
  };
  std::map<pid_key, process*> proxies;
  std::map<std::pair<std::uint32_t, std::uint32_t>, process*> name_proxies;  // (node, name)
  // The proxies made last, kept alive: a remote caller's pid arrives with
  // each of its calls, and without this its proxy would be built and freed
  // again per call (the reactor's busiest allocation under load).
  std::array<pid, 256> recent_proxies;
  std::size_t recent_next = 0;

  std::mutex conns_mu;
  std::unordered_map<std::uint32_t, std::shared_ptr<connection>> conns;  // by peer atom index
  std::vector<std::shared_ptr<connection>> accepting;  // handshaking, peer not known yet
  // Accepting handshakes that answered `alive` (they replace an up
  // connection if the peer says so), by peer: should the old connection go
  // down first, a send to that node queues on the replacement instead of
  // opening a connection of its own (net_kernel keeps the pending entry).
  std::unordered_map<std::uint32_t, std::shared_ptr<connection>> replacing;

  std::mutex monitors_mu;
  std::vector<pid> node_subscribers;  // monitor_nodes(true)

  std::mutex rpc_mu;
  std::map<std::pair<std::uint32_t, std::uint32_t>, dist::rpc_function> rpcs;

  std::optional<epmd_registration> registration;
  std::unique_ptr<asio::ip::tcp::acceptor> acceptor;
  std::shared_ptr<io_resource> acceptor_owner;
  std::vector<pid> services;
};

namespace {

bool try_retain(detail::process_base* p) noexcept {
  std::uint32_t r = p->refs.load(std::memory_order_relaxed);
  while (r != 0)
    if (p->refs.compare_exchange_weak(r, r + 1, std::memory_order_relaxed)) return true;
  return false;
}

std::string read_cookie_file() {
  const char* home = std::getenv("HOME");
  if (!home) throw std::runtime_error("otp::dist::start: no cookie given and HOME is not set");
  std::ifstream f(std::string(home) + "/.erlang.cookie");
  std::string cookie;
  if (!f || !std::getline(f, cookie) || cookie.empty())
    throw std::runtime_error(fmt::format("otp::dist::start: no cookie given and {}/.erlang.cookie is unreadable", home));
  while (!cookie.empty() && (cookie.back() == '\r' || cookie.back() == ' ')) cookie.pop_back();
  return cookie;
}

std::string full_name(const dist::options& o) {
  if (o.name.empty()) throw std::invalid_argument("otp::dist::start: a node name is required");
  if (o.name.find('@') != std::string::npos) return o.name;
  if (o.longnames) return o.name + "@127.0.0.1";
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  std::string h(host);
  return o.name + "@" + h.substr(0, h.find('.'));
}

/// Owns the acceptor so that the reactor can close it at shutdown.
struct acceptor_resource final : io_resource {
  asio::ip::tcp::acceptor* a;
  explicit acceptor_resource(asio::ip::tcp::acceptor* x) : a(x) {}
  void release_io() noexcept override {
    asio::error_code ec;
    a->close(ec);
  }
};

}  // namespace

dist_node::dist_node(node_impl& n) : impl_(std::make_unique<impl>()), node_(n) {
  std::random_device rd;
  salt_ = rd() | 1u;  // never 0
}

dist_node::~dist_node() {
  stop();
  for (pid& p : impl_->recent_proxies) p = pid{};  // before ids_mu: their release takes it
  // Pids may outlive the node: detach them, so that their control blocks
  // never reach back into this object.
  std::lock_guard lk(impl_->ids_mu);
  for (auto& [_, p] : impl_->exported) p->exported = false;
  for (auto& [_, p] : impl_->proxies) p->remote()->dist = nullptr;
  for (auto& [_, p] : impl_->name_proxies) p->remote()->dist = nullptr;
}

void release_dist_ids(process* p) noexcept {
  if (p->remote() && !p->remote()->dist) {
    delete p->remote();
    p->drop_remote();
    return;
  }
  (p->remote() ? *p->remote()->dist : dist_of(p->node())).forget(p);
}

std::uint64_t dist_node::our_flags() const noexcept { return dflag::otpcpp_default; }
otp::logger& dist_node::logger() { return node_.logger(); }

void dist_node::start(const dist::options& o) {
  if (alive()) throw std::logic_error("otp::dist::start: the node is already distributed");
  opts_ = o;
  if (opts_.cookie.empty()) opts_.cookie = read_cookie_file();
  const std::string me = full_name(opts_);
  const std::string alive_part = me.substr(0, me.find('@'));
  validate_alive_name(alive_part);
  if (opts_.start_epmd) ensure_epmd_running();

  asio::io_context& io = node_.reactor().context();
  auto acc = std::make_unique<asio::ip::tcp::acceptor>(io);
  asio::ip::tcp::endpoint ep(asio::ip::address_v4::any(), opts_.port);
  acc->open(ep.protocol());
  acc->set_option(asio::socket_base::reuse_address(true));
  acc->bind(ep);
  acc->listen();
  const std::uint16_t port = acc->local_endpoint().port();
  impl_->registration.emplace(epmd_register(alive_part, port));
  creation_ = impl_->registration->creation();
  name_ = atom(me);
  impl_->acceptor = std::move(acc);
  impl_->acceptor_owner = std::make_shared<acceptor_resource>(impl_->acceptor.get());
  node_.reactor().track(impl_->acceptor_owner);
  alive_.store(true, std::memory_order_release);
  asio::post(io, [this] { accept_next(); });
  impl_->services = start_services(*this);
  node_.logger().log(log_level::info, fmt::format("distribution started: {} (port {}, creation {})", me, port, creation_));
}

void dist_node::accept_next() {
  if (!impl_->acceptor || !impl_->acceptor->is_open()) return;
  impl_->acceptor->async_accept([this](asio::error_code ec, asio::ip::tcp::socket s) {
    if (ec) {
      if (ec != asio::error::operation_aborted && alive()) accept_next();
      return;
    }
    auto c = std::make_shared<connection>(*this, atom());
    node_.reactor().track(c);
    {
      std::lock_guard lk(impl_->conns_mu);
      impl_->accepting.push_back(c);
    }
    c->start_accepted(std::move(s));
    accept_next();
  });
}

void dist_node::stop() {
  if (!alive_.exchange(false, std::memory_order_acq_rel)) return;
  // At node shutdown the services are gone already (terminated with every
  // other process); after otp::dist::stop they must not answer any more.
  if (!node_.stopping())
    for (const pid& s : impl_->services) otp::exit(s, exit_reason::kill());
  impl_->services.clear();
  std::vector<std::shared_ptr<connection>> all;
  {
    std::lock_guard lk(impl_->conns_mu);
    for (auto& [_, c] : impl_->conns) all.push_back(c);
    for (auto& c : impl_->accepting) all.push_back(c);
    impl_->conns.clear();
    impl_->accepting.clear();
    impl_->replacing.clear();  // each is in `accepting` too
  }
  for (auto& c : all) c->close("distribution stopped");
  std::unique_lock lk(setup_mu_);
  setup_cv_.wait(lk, [&] { return setups_ == 0; });
  lk.unlock();
  if (impl_->acceptor)
    asio::post(node_.reactor().context(), [a = impl_->acceptor_owner] { a->release_io(); });
  if (impl_->registration) impl_->registration->close();
}

// ---------------------------------------------------------------- identities

std::string remote_pid_text(const remote_target& t) {
  if (!t.pid) return fmt::format("{{{},{}}}", t.name.to_string(), t.node.to_string());
  return fmt::format("<{}.{}.{}>", t.node.name(), t.pid->id, t.pid->serial);
}

term_pid dist_node::pid_to_term(const pid& p) {
  auto* proc = static_cast<process*>(p.get());
  if (!proc) throw badarg("cannot send an empty pid to another node");
  if (proc->remote()) {
    if (!proc->remote()->pid) throw badarg("a {name, node} target is not a pid");
    return *proc->remote()->pid;
  }
  const std::uint64_t s = proc->serial;
  {
    std::lock_guard lk(impl_->ids_mu);
    if (!proc->exported) {
      impl_->exported[s] = proc;
      proc->exported = true;
    }
  }
  // NEW_PID_EXT carries a 32-bit id and a 32-bit serial: our 64-bit serial
  // is split over them.
  return term_pid{name_, static_cast<std::uint32_t>(s), static_cast<std::uint32_t>(s >> 32), creation_};
}

pid dist_node::pid_from_term(const term_pid& t) {
  pid evicted;  // released after the lock: a last release takes ids_mu (forget)
  std::lock_guard lk(impl_->ids_mu);
  if (t.node == name_) {
    if (t.creation != creation_) return {};  // an earlier incarnation of this node: dead
    auto it = impl_->exported.find((std::uint64_t{t.serial} << 32) | t.id);
    if (it == impl_->exported.end() || !try_retain(it->second)) return {};
    return pid::adopt(it->second);
  }
  const impl::pid_key k{t.node.index(), t.id, t.serial, t.creation};
  auto it = impl_->proxies.find(k);
  if (it != impl_->proxies.end() && try_retain(it->second)) return pid::adopt(it->second);
  auto* p = new process(node_, nullptr, false);
  p->make_proxy(new remote_target{this, t.node, t, atom()});
  impl_->proxies[k] = p;
  pid made = pid::adopt(p);  // the count of 1 it was made with
  pid& slot = impl_->recent_proxies[impl_->recent_next++ % impl_->recent_proxies.size()];
  evicted = std::exchange(slot, made);
  return made;
}

pid dist_node::name_proxy(atom node, atom name) {
  std::lock_guard lk(impl_->ids_mu);
  const auto k = std::make_pair(node.index(), name.index());
  auto it = impl_->name_proxies.find(k);
  if (it != impl_->name_proxies.end() && try_retain(it->second)) return pid::adopt(it->second);
  auto* p = new process(node_, nullptr, false);
  p->make_proxy(new remote_target{this, node, std::nullopt, name});
  impl_->name_proxies[k] = p;
  return pid::adopt(p);
}

void dist_node::forget(process* p) noexcept {
  std::lock_guard lk(impl_->ids_mu);
  if (p->remote() && !p->remote()->dist) {  // detached by ~dist_node meanwhile
    delete p->remote();
    p->drop_remote();
    return;
  }
  if (p->exported) {
    auto it = impl_->exported.find(p->serial);
    if (it != impl_->exported.end() && it->second == p) impl_->exported.erase(it);
  }
  if (remote_target* r = p->remote()) {
    if (r->pid) {
      auto it = impl_->proxies.find(impl::pid_key{r->node.index(), r->pid->id, r->pid->serial, r->pid->creation});
      if (it != impl_->proxies.end() && it->second == p) impl_->proxies.erase(it);
    } else {
      auto it = impl_->name_proxies.find({r->node.index(), r->name.index()});
      if (it != impl_->name_proxies.end() && it->second == p) impl_->name_proxies.erase(it);
    }
    delete r;
    p->drop_remote();
  }
}

term_ref dist_node::ref_to_term(ref r) const {
  return term_ref{name_, creation_, {salt_, static_cast<std::uint32_t>(r.id()), static_cast<std::uint32_t>(r.id() >> 32)}};
}

std::optional<ref> dist_node::ref_from_term(const term_ref& t) const {
  if (t.node != name_ || t.creation != creation_ || t.words.size() != 3 || t.words[0] != salt_) return std::nullopt;
  return ref((std::uint64_t{t.words[2]} << 32) | t.words[1]);
}

// ---------------------------------------------------------------- connections

std::shared_ptr<connection> dist_node::find_connection(atom node) {
  std::lock_guard lk(impl_->conns_mu);
  auto it = impl_->conns.find(node.index());
  return it == impl_->conns.end() ? nullptr : it->second;
}

accept_verdict dist_node::claim_accept(const std::shared_ptr<connection>& c, atom peer) {
  std::lock_guard lk(impl_->conns_mu);
  auto& slot = impl_->conns[peer.index()];
  c->name_accepted_peer(peer);  // before a sender can find it
  if (slot && slot != c) {
    if (slot->get_state() == connection::state::up) {
      impl_->replacing[peer.index()] = c;
      return accept_verdict::alive;
    }
    if (slot->get_state() == connection::state::setting_up) {
      // Simultaneous connect (net_kernel): the greater name's attempt wins.
      if (peer.name() < name_.name()) return accept_verdict::nok;
      slot->yield_to_peer();  // ours loses, whatever the peer answers it later
      return accept_verdict::ok_simultaneous;
    }
  }
  slot = c;
  return accept_verdict::ok;
}

bool dist_node::still_pending(const connection* c) {
  std::lock_guard lk(impl_->conns_mu);
  auto it = impl_->conns.find(c->peer().index());
  return it != impl_->conns.end() && it->second.get() == c && !c->yielded();
}

std::shared_ptr<connection> dist_node::claim_replacement(const std::shared_ptr<connection>& c, atom peer) {
  std::lock_guard lk(impl_->conns_mu);
  auto it = impl_->replacing.find(peer.index());
  if (it != impl_->replacing.end() && it->second == c) impl_->replacing.erase(it);
  auto& slot = impl_->conns[peer.index()];
  auto old = std::exchange(slot, c);
  return old == c ? nullptr : old;
}

std::shared_ptr<connection> dist_node::connection_to(atom node) {
  if (!alive() || node == name_) return nullptr;
  std::shared_ptr<connection> c;
  {
    std::lock_guard lk(impl_->conns_mu);
    auto& slot = impl_->conns[node.index()];
    if (slot && slot->get_state() != connection::state::down) return slot;
    if (auto it = impl_->replacing.find(node.index());
        it != impl_->replacing.end() && it->second->get_state() == connection::state::setting_up)
      return slot = it->second;  // the old connection went down first: wait for its replacement
    c = slot = std::make_shared<connection>(*this, node);
  }
  node_.reactor().track(c);
  c->start_connect();
  return c;
}

bool dist_node::connection_up(const std::shared_ptr<connection>& c) {
  std::vector<pid> subscribers;
  {
    std::lock_guard lk(impl_->conns_mu);
    std::erase(impl_->accepting, c);
    if (auto it = impl_->replacing.find(c->peer().index()); it != impl_->replacing.end() && it->second == c)
      impl_->replacing.erase(it);
    auto& slot = impl_->conns[c->peer().index()];
    if (slot && slot != c && slot->get_state() == connection::state::up) return false;
    if (slot && slot != c) {
      // An attempt of ours that lost to the peer's (simultaneous connect):
      // what was queued on it moves to the winner.
      slot->hand_over_to(*c);
    }
    slot = c;
  }
  {
    std::lock_guard lk(impl_->monitors_mu);
    subscribers = impl_->node_subscribers;
  }
  for (const pid& p : subscribers) otp::send(p, dist::nodeup_msg{std::string(c->peer().name())});
  return true;
}

void dist_node::connection_down(connection* c, atom peer, bool was_up) {
  {
    std::lock_guard lk(impl_->conns_mu);
    std::erase_if(impl_->accepting, [c](const auto& x) { return x.get() == c; });
    if (auto r = impl_->replacing.find(peer.index()); r != impl_->replacing.end() && r->second.get() == c)
      impl_->replacing.erase(r);
    auto it = impl_->conns.find(peer.index());
    if (it != impl_->conns.end() && it->second.get() == c) impl_->conns.erase(it);
  }
  if (!was_up) return;
  std::vector<pid> subscribers;
  {
    std::lock_guard lk(impl_->monitors_mu);
    subscribers = impl_->node_subscribers;
  }
  for (const pid& p : subscribers) otp::send(p, dist::nodedown_msg{std::string(peer.name())});
}

void dist_node::setup_started() {
  std::lock_guard lk(setup_mu_);
  ++setups_;
}

void dist_node::setup_finished() {
  std::lock_guard lk(setup_mu_);
  if (--setups_ == 0) setup_cv_.notify_all();
}

std::vector<std::string> dist_node::nodes() {
  std::vector<std::string> out;
  std::lock_guard lk(impl_->conns_mu);
  for (auto& [_, c] : impl_->conns)
    if (c->get_state() == connection::state::up) out.emplace_back(c->peer().name());
  return out;
}

void dist_node::monitor_nodes(const pid& p, bool on) {
  std::lock_guard lk(impl_->monitors_mu);
  std::erase(impl_->node_subscribers, p);
  if (on) impl_->node_subscribers.push_back(p);
}

void dist_node::monitor_node(const pid& p, atom node, bool on) {
  auto c = on ? connection_to(node) : find_connection(node);
  if (!c) {
    if (on) otp::send(p, dist::nodedown_msg{std::string(node.name())});
    return;
  }
  if (on) c->add_node_monitor(p);
  else c->remove_node_monitor(p);
}

// ---------------------------------------------------------------- rpc

void dist_node::register_rpc(std::string module, std::string function, dist::rpc_function fn) {
  std::lock_guard lk(impl_->rpc_mu);
  impl_->rpcs[{atom(module).index(), atom(function).index()}] = std::move(fn);
}

std::optional<dist::rpc_function> dist_node::find_rpc(atom module, atom function) {
  std::lock_guard lk(impl_->rpc_mu);
  auto it = impl_->rpcs.find({module.index(), function.index()});
  if (it == impl_->rpcs.end()) return std::nullopt;
  return it->second;
}

// ---------------------------------------------------------------- per node

dist_node& dist_of(node_impl& n) { return n.dist(); }

}  // namespace otp::internal
