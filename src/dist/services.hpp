#pragma once
// The registered processes a distributed node must answer for:
//  - `net_kernel`: `{is_auth, Node}` → `yes` (net_adm:ping/1, Node.ping/1);
//  - `rex`: the rpc server. `{From, features_request}` → `{features_reply,
//    Node, []}` (we do not take spawn requests, so OTP's rpc falls back to
//    rex), and `{call, M, F, A, GroupLeader}` calls / casts run the C++
//    function registered for {M, F} (otp::dist::register_rpc).

#include <vector>

#include "otp/pid.hpp"

namespace otp::internal {

class dist_node;

/// Starts net_kernel and rex; returns their pids (killed by dist_node::stop).
std::vector<pid> start_services(dist_node& d);

}  // namespace otp::internal
