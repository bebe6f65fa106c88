// net_kernel and rex: see services.hpp.

#include "dist/services.hpp"

#include <fmt/format.h>

#include "dist/dist_node.hpp"
#include "otp/gen_server.hpp"
#include "otp/term_codec.hpp"

namespace otp::internal {
namespace {

term atom_term(const char* a) { return term(atom(a)); }

struct net_kernel_server {
  using state = int;
  otp::init_result<state> init() { return otp::ok(0); }
  otp::call_result<message> handle_call(message& req, const from&, state&) {
    const term* t = req.get_if<term>();
    if (t && t->is_tagged_tuple("is_auth", 2)) return otp::reply(atom_term("yes"));
    return otp::reply(term::tuple({atom_term("error"), atom_term("not_supported")}));
  }
  otp::noreply_result handle_cast(message&, state&) { return otp::noreply(); }
  otp::noreply_result handle_info(message&, state&) { return otp::noreply(); }
};

/// rex, the rpc server (kernel/rpc.erl): runs registered C++ functions.
struct rex_server {
  using state = dist_node*;
  otp::init_result<state> init(dist_node* d) { return otp::ok(d); }

  otp::call_result<message> handle_call(message& req, const from&, state& d) {
    const term* t = req.get_if<term>();
    if (t && (t->is_tagged_tuple("call", 5) || t->is_tagged_tuple("block_call", 5)))
      return otp::reply(run(*d, (*t)[1], (*t)[2], (*t)[3]));
    return otp::reply(term::tuple({atom_term("badrpc"), atom_term("not_supported")}));
  }
  otp::noreply_result handle_cast(message& m, state& d) {
    if (const term* t = m.get_if<term>(); t && t->is_tagged_tuple("cast", 5)) run(*d, (*t)[1], (*t)[2], (*t)[3]);
    return otp::noreply();
  }
  otp::noreply_result handle_info(message& m, state& d) {
    const term* t = m.get_if<term>();
    if (!t || !t->is_tuple() || t->size() != 2 || !(*t)[0].is_pid()) return otp::noreply();
    pid from = d->pid_from_term((*t)[0].as_pid());
    const term& req = (*t)[1];
    if (req.is_atom("features_request"))  // rpc's nodes observer asks what we support
      otp::send(from, term::tuple({atom_term("features_reply"), term(d->name()), term::list({})}));
    else if (req.is_tagged_tuple("call", 5))  // {From, {call, M, F, A, GL}}: the reply is {rex, Result}
      otp::send(from, term::tuple({atom_term("rex"), run(*d, req[1], req[2], req[3])}));
    return otp::noreply();
  }

  /// M:F(A): the registered function's result, or `{badrpc, Reason}` as rpc gives it.
  static term run(dist_node& d, const term& m, const term& f, const term& a) {
    auto badrpc = [](term why) { return term::tuple({atom_term("badrpc"), std::move(why)}); };
    if (!m.is_atom() || !f.is_atom() || !a.is_proper_list()) return badrpc(atom_term("badarg"));
    auto fn = d.find_rpc(m.as_atom(), f.as_atom());
    if (!fn)
      return badrpc(term::tuple({atom_term("EXIT"),
                                 term::tuple({atom_term("undef"), term::list({term::tuple({m, f, a, term::list({})})})})}));
    try {
      return (*fn)(a);
    } catch (const std::exception& e) {
      return badrpc(term::tuple({atom_term("EXIT"), to_term(exit_reason::from_exception(std::current_exception()))}));
    }
  }
};

}  // namespace

std::vector<pid> start_services(dist_node& d) {
  auto nk = gen_server::start<net_kernel_server>({.name = "net_kernel"});
  auto rex = gen_server::start<rex_server>(&d, {.name = "rex"});
  std::vector<pid> out;
  if (nk) out.push_back(nk.get_pid());
  if (rex) out.push_back(rex.get_pid());
  return out;
}

}  // namespace otp::internal
