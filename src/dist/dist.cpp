// The public distribution API (otp/dist.hpp) over the node's dist_node.

#include "otp/dist.hpp"

#include "dist/connection.hpp"
#include "dist/dist_node.hpp"
#include "node_impl.hpp"
#include "otp/gen_server.hpp"
#include "otp/process.hpp"
#include "otp/receive.hpp"
#include "otp/term_codec.hpp"

namespace otp::dist {
/// The distribution state of the caller's node (also used by the pid and
/// ref codecs below).
internal::dist_node& here() { return internal::dist_of(internal::current_node()); }

namespace {

/// The connection to `node`, waiting for its setup; null if it fails.
std::shared_ptr<internal::connection> connected(std::string_view node, std::chrono::milliseconds timeout) {
  auto& d = here();
  if (!d.alive()) return nullptr;
  auto c = d.connection_to(atom(node));
  if (!c || !c->wait_setup(timeout)) return nullptr;
  return c;
}

}  // namespace

void start(const options& opts) { here().start(opts); }
void stop() { here().stop(); }
bool alive() { return here().alive(); }
std::string node_name() { return std::string(here().name().name()); }
std::vector<std::string> nodes() { return here().nodes(); }

bool connect(std::string_view node) {
  if (node == node_name()) return true;
  return connected(node, here().options().connect_timeout) != nullptr;
}

bool disconnect(std::string_view node) {
  auto c = here().find_connection(atom(node));
  if (!c) return false;
  c->close("disconnected");
  return true;
}

bool ping(std::string_view node, std::chrono::milliseconds timeout) {
  if (!connect(node)) return false;
  // net_adm:ping/1: gen:call({net_kernel, Node}, '$gen_call', {is_auth, node()})
  auto r = gen_server::try_call(whereis_remote("net_kernel", node),
                                term::tuple({term(atom("is_auth")), term(atom(node_name()))}), timeout);
  return r.ok() && r.value().is_atom("yes");
}

void monitor_nodes(bool on) { here().monitor_nodes(self(), on); }
void monitor_node(std::string_view node, bool on) { here().monitor_node(self(), atom(node), on); }

pid whereis_remote(std::string_view name, std::string_view node) {
  auto& d = here();
  if (atom(node) == d.name()) return otp::whereis(name).value_or(pid{});
  return d.name_proxy(atom(node), atom(name));
}

void register_rpc(std::string module, std::string function, rpc_function fn) {
  here().register_rpc(std::move(module), std::move(function), std::move(fn));
}

term rpc_call(std::string_view node, std::string_view module, std::string_view function, term args,
              std::chrono::milliseconds timeout) {
  auto badrpc = [](term why) { return term::tuple({term(atom("badrpc")), std::move(why)}); };
  if (!connect(node)) return badrpc(term(atom("nodedown")));
  // The rex protocol (rpc.erl handle_call({call, M, F, A, Gleader}, ...)).
  const term req = term::tuple({term(atom("call")), term(atom(module)), term(atom(function)), std::move(args),
                                term(here().pid_to_term(self()))});
  auto r = gen_server::try_call(whereis_remote("rex", node), req, timeout);
  if (r.ok()) return std::move(r.value());
  const exit_reason& why = r.error().inner();
  if (why.to_string().starts_with("{nodedown")) return badrpc(term(atom("nodedown")));
  if (why.to_string() == "timeout") return badrpc(term(atom("timeout")));
  return badrpc(term::tuple({term(atom("EXIT")), to_term(why)}));
}

}  // namespace otp::dist

namespace otp {

term term_codec<pid>::to_term(const pid& p) { return term(dist::here().pid_to_term(p)); }
pid term_codec<pid>::from_term(const term& t) { return dist::here().pid_from_term(t.as_pid()); }
term term_codec<ref>::to_term(const ref& r) { return term(dist::here().ref_to_term(r)); }
ref term_codec<ref>::from_term(const term& t) {
  auto r = dist::here().ref_from_term(t.as_ref());
  if (!r) throw bad_term("a reference made by another node cannot become an otp::ref (use otp::term_ref): " + t.to_string());
  return *r;
}

}  // namespace otp
