#pragma once
/// \file examples/lessons/agent_server.hpp
/// `AgentServer` — seed 003 ("Section 4: The Complete AgentServer"): the
/// Phase 2 ProcessAgent as a GenServer. Memory, an inbox of tasks, and a
/// processed count.
///
///   start_link(name, opts)          opts[:memory] is the initial memory
///   get_state(pid)                  call  -> the whole state
///   remember(pid, key, value)       cast
///   recall(pid, key)                call  -> value or nil
///   send_task(pid, action, params)  cast  -> appends Message.task(id, action, params)
///   process_next(pid)               call  -> {:empty, nil} | {:ok, task, result}
///   inbox_count(pid)                call
///   handle_info(msg)                IO.puts("[AgentServer name] Unexpected message: ...")
///   terminate(reason)               IO.puts("[AgentServer name] Terminating: ...")
///
/// Differences forced by C++ types: actions are strings ("search",
/// "analyze"), params and memory are string maps, and `:last_result` is
/// stored in memory as the result's text (`{:ok, "..."}`). process_next's
/// `{:empty, nil}` is `std::nullopt`. AgentFramework.Message (not in the
/// seed) is `agent_message` {id, type = "task", action, params}.

#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "common.hpp"

namespace lessons::agent_server {

using params_t = std::map<std::string, std::string>;

/// AgentFramework.Message.task(id, action, params).
struct agent_message {
  std::string id;
  std::string type = "task";
  std::string action;
  params_t params;
};

/// {:ok, text} or {:error, text}.
struct task_result {
  bool ok = true;
  std::string value;
  friend bool operator==(const task_result&, const task_result&) = default;
  std::string to_string() const {
    return ok ? "{:ok, \"" + value + "\"}" : "{:error, " + value + "}";
  }
};

/// {:ok, task, result}.
struct processed {
  agent_message task;
  task_result result;
};

struct options {
  params_t memory;  // opts[:memory]
  puts_fn puts = stdout_puts;
};

struct agent_state {
  std::string name;
  std::string status = "idle";
  std::map<std::string, std::string> memory;
  std::vector<agent_message> inbox;
  std::size_t processed_count = 0;
  puts_fn puts;
};

// --- Server callbacks
struct server {
  using state = agent_state;
  struct init_arg {
    std::string name;
    options opts;
  };
  struct get_state_req {
    using reply = agent_state;
  };
  struct recall_req {
    using reply = std::optional<std::string>;
    std::string key;
  };
  struct inbox_count_req {
    using reply = std::size_t;
  };
  struct process_next_req {
    using reply = std::optional<processed>;
  };
  struct remember_msg {
    std::string key, value;
  };
  struct send_task_msg {
    std::string action;
    params_t params;
  };

  otp::init_result<state> init(init_arg a) {
    return otp::ok(agent_state{.name = a.name, .memory = std::move(a.opts.memory), .puts = std::move(a.opts.puts)});
  }

  otp::call_result<agent_state> handle_call(get_state_req, state& s) { return otp::reply(s); }
  otp::call_result<std::optional<std::string>> handle_call(recall_req r, state& s) {
    auto it = s.memory.find(r.key);
    return otp::reply(it == s.memory.end() ? std::optional<std::string>{} : it->second);
  }
  otp::call_result<std::size_t> handle_call(inbox_count_req, state& s) { return otp::reply(s.inbox.size()); }
  otp::call_result<std::optional<processed>> handle_call(process_next_req, state& s) {
    if (s.inbox.empty()) return otp::reply(std::optional<processed>{});  // {:empty, nil}
    agent_message task = std::move(s.inbox.front());
    s.inbox.erase(s.inbox.begin());
    task_result result = handle_task(task);
    s.processed_count += 1;
    s.memory["last_result"] = result.to_string();
    return otp::reply(std::optional<processed>(processed{std::move(task), std::move(result)}));
  }

  otp::cast_result handle_cast(remember_msg m, state& s) {
    s.memory[m.key] = std::move(m.value);
    return otp::noreply();
  }
  otp::cast_result handle_cast(send_task_msg m, state& s) {
    s.inbox.push_back(agent_message{generate_id(), "task", std::move(m.action), std::move(m.params)});
    return otp::noreply();
  }

  otp::info_result handle_info(otp::message& msg, state& s) {
    s.puts("[AgentServer " + s.name + "] Unexpected message: " + msg.describe());
    return otp::noreply();
  }
  void terminate(const otp::exit_reason& reason, state& s) {
    s.puts("[AgentServer " + s.name + "] Terminating: " + reason.to_string());
  }

 private:
  static task_result handle_task(const agent_message& t) {
    auto param = [&](const char* k) {
      auto it = t.params.find(k);
      return it == t.params.end() ? std::string() : it->second;
    };
    if (t.action == "search") return {true, "Search results for: " + param("query")};
    if (t.action == "analyze") return {true, "Analysis of: " + param("data")};
    return {false, "{:unknown_action, :" + t.action + "}"};
  }
  static std::string generate_id() {
    // :crypto.strong_rand_bytes(8) |> Base.encode16(case: :lower)
    thread_local std::mt19937_64 rng{std::random_device{}()};
    return fmt::format("{:016x}", rng());
  }
};

using ref = otp::server_ref<server>;

// --- Client API
inline otp::start_result<server> start_link(std::string name, options opts = {}) {
  return otp::gen_server::start_link<server>(server::init_arg{std::move(name), std::move(opts)});
}
inline agent_state get_state(const ref& pid) { return otp::gen_server::call(pid, server::get_state_req{}); }
inline void remember(const ref& pid, std::string key, std::string value) {
  otp::gen_server::cast(pid, server::remember_msg{std::move(key), std::move(value)});
}
inline std::optional<std::string> recall(const ref& pid, std::string key) {
  return otp::gen_server::call(pid, server::recall_req{std::move(key)});
}
inline void send_task(const ref& pid, std::string action, params_t params = {}) {
  otp::gen_server::cast(pid, server::send_task_msg{std::move(action), std::move(params)});
}
inline std::optional<processed> process_next(const ref& pid) {
  return otp::gen_server::call(pid, server::process_next_req{});
}
inline std::size_t inbox_count(const ref& pid) { return otp::gen_server::call(pid, server::inbox_count_req{}); }

}  // namespace lessons::agent_server
