#pragma once
/// \file tests/support/beam_node.hpp
/// A real BEAM node (Elixir script or `erl -eval`) run as a child process
/// for interop tests: its own process group, stdin a pipe the test writes
/// lines to, stdout and stderr merged into one pipe the test reads lines
/// from. The destructor stops it (SIGTERM, then SIGKILL on the whole group),
/// so no node outlives its test.
///
///     if (!beam_node::elixir_available()) GTEST_SKIP() << "elixir not installed";
///     auto n = beam_node::start_elixir(beam_node::unique_name("ex"), "cookie",
///                                      "IO.puts(\"READY\")\nIO.gets(\"\")\n");
///     n->write_line("go");
///     auto line = n->expect_line("RESULT ");
///
/// The script must print a line starting with the readiness text ("READY" by
/// default) once it is set up; start_* waits for it. epmd is started first
/// (ensure_epmd_running) so that the node does not start one in its group.
/// Node names are `<name>@127.0.0.1` (long names).

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "dist/epmd.hpp"

extern char** environ;

namespace otp_test {

class beam_node {
 public:
  using ms = std::chrono::milliseconds;

  static bool elixir_available() { return on_path("elixir"); }
  static bool erl_available() { return on_path("erl"); }

  /// `prefix` plus this process's pid and a counter: distinct across tests
  /// and across test processes running at the same time.
  static std::string unique_name(std::string_view prefix) {
    static int counter = 0;
    return std::string(prefix) + std::to_string(::getpid()) + "_" + std::to_string(++counter);
  }

  /// Runs `elixir --name <name>@127.0.0.1 --cookie <cookie> <script file>`.
  static std::unique_ptr<beam_node> start_elixir(const std::string& name, const std::string& cookie,
                                                 std::string_view script, std::string_view ready = "READY",
                                                 ms timeout = ms(30000)) {
    auto node = std::unique_ptr<beam_node>(new beam_node(name));
    node->script_ = write_temp_file(script);
    node->spawn({"elixir", "--erl", quiet_vm_flags, "--name", node->full_name(), "--cookie", cookie, node->script_});
    node->expect_line(ready, timeout);
    return node;
  }

  /// Runs `erl -noshell -name <name>@127.0.0.1 -setcookie <cookie> -eval <eval>`.
  static std::unique_ptr<beam_node> start_erl(const std::string& name, const std::string& cookie,
                                              const std::string& eval, std::string_view ready = "READY",
                                              ms timeout = ms(30000)) {
    auto node = std::unique_ptr<beam_node>(new beam_node(name));
    std::vector<std::string> args{"erl", "-noshell", "-name", node->full_name(), "-setcookie", cookie, "-eval", eval};
    for (std::string_view flags = quiet_vm_flags; !flags.empty();) {
      const auto sp = flags.find(' ');
      args.emplace_back(flags.substr(0, sp));
      flags = sp == std::string_view::npos ? std::string_view{} : flags.substr(sp + 1);
    }
    node->spawn(args);
    node->expect_line(ready, timeout);
    return node;
  }

  /// Runs any other node program (e.g. otp_dist_peer) the same way: `args`
  /// is its whole command line; `name` is its node name's part before `@`.
  static std::unique_ptr<beam_node> start_program(const std::string& name, const std::vector<std::string>& args,
                                                  std::string_view ready = "READY", ms timeout = ms(30000)) {
    auto node = std::unique_ptr<beam_node>(new beam_node(name));
    node->spawn(args);
    node->expect_line(ready, timeout);
    return node;
  }

  beam_node(const beam_node&) = delete;
  beam_node& operator=(const beam_node&) = delete;
  ~beam_node() {
    stop();
    if (!script_.empty()) ::unlink(script_.c_str());
  }

  /// `name@127.0.0.1`.
  std::string full_name() const { return name_ + "@127.0.0.1"; }
  /// Everything the node printed so far (for failure messages).
  const std::string& transcript() const { return transcript_; }

  /// The next output line (without '\n'), or nullopt if none completes
  /// within `timeout` or the node closed its output.
  std::optional<std::string> read_line(ms timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      if (const auto nl = pending_.find('\n'); nl != std::string::npos) {
        std::string line = pending_.substr(0, nl);
        pending_.erase(0, nl + 1);
        return line;
      }
      if (out_ < 0 || !fill(deadline)) return std::nullopt;
    }
  }

  /// Reads lines until one starts with `prefix` and returns it; throws
  /// std::runtime_error (with the transcript) on timeout or end of output.
  std::string expect_line(std::string_view prefix, ms timeout = ms(15000)) {
    return expect([&](std::string_view l) { return l.starts_with(prefix); }, prefix, timeout);
  }
  /// Same, for a line containing `text` anywhere (log lines start with a timestamp).
  std::string expect_line_containing(std::string_view text, ms timeout = ms(15000)) {
    return expect([&](std::string_view l) { return l.find(text) != std::string_view::npos; }, text, timeout);
  }

  /// Writes `text` and a newline to the node's stdin (`IO.gets/1` reads it).
  void write_line(std::string_view text) {
    std::string line(text);
    line += '\n';
    for (std::string_view rest = line; !rest.empty();) {
      const ssize_t n = ::write(in_, rest.data(), rest.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) throw std::runtime_error("beam_node: cannot write to the node's stdin");
      rest.remove_prefix(static_cast<std::size_t>(n));
    }
  }

  /// Stops the node: closes its stdin, SIGTERM to the group, SIGKILL after
  /// 3 s if still alive. Idempotent.
  void stop() {
    close_fd(in_);
    if (pid_ > 0) {
      ::kill(-pid_, SIGTERM);
      if (!reap_within(ms(3000))) {
        ::kill(-pid_, SIGKILL);
        reap_within(ms(10000));
      }
      ::kill(-pid_, SIGKILL);  // stragglers of the group (erl_child_setup)
      pid_ = -1;
    }
    close_fd(out_);
  }

 private:
  // One scheduler and no busy-waiting: the CI machine is small and shared.
  static constexpr const char* quiet_vm_flags = "+S 1:1 +sbwt none +sbwtdcpu none +sbwtdio none";

  explicit beam_node(std::string name) : name_(std::move(name)) {}

  static bool on_path(std::string_view program) {
    const char* path = std::getenv("PATH");
    for (std::string_view rest = path != nullptr ? path : ""; !rest.empty();) {
      const auto colon = rest.find(':');
      const std::string file = std::string(rest.substr(0, colon)) + "/" + std::string(program);
      if (::access(file.c_str(), X_OK) == 0) return true;
      rest = colon == std::string_view::npos ? std::string_view{} : rest.substr(colon + 1);
    }
    return false;
  }

  static std::string write_temp_file(std::string_view text) {
    char path[] = "/tmp/beam_node_XXXXXX.exs";
    const int fd = ::mkstemps(path, 4);
    if (fd < 0) throw std::runtime_error("beam_node: cannot create a temporary script file");
    const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
    ::close(fd);
    if (!ok) throw std::runtime_error("beam_node: cannot write the script file");
    return path;
  }

  static void close_fd(int& fd) {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }

  void spawn(const std::vector<std::string>& args) {
    otp::internal::ensure_epmd_running();
    ::signal(SIGPIPE, SIG_IGN);  // a node that died must fail write_line, not kill the test
    int in_pipe[2], out_pipe[2];
    if (::pipe2(in_pipe, O_CLOEXEC) != 0 || ::pipe2(out_pipe, O_CLOEXEC) != 0)
      throw std::runtime_error("beam_node: pipe failed");
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in_pipe[0], 0);
    posix_spawn_file_actions_adddup2(&fa, out_pipe[1], 1);
    posix_spawn_file_actions_adddup2(&fa, out_pipe[1], 2);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
    posix_spawnattr_setpgroup(&attr, 0);  // its own group, so stop() reaches its children too
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    const int rc = ::posix_spawnp(&pid_, argv[0], &fa, &attr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    ::close(in_pipe[0]);
    ::close(out_pipe[1]);
    in_ = in_pipe[1];
    out_ = out_pipe[0];
    if (rc != 0) {
      pid_ = -1;
      throw std::runtime_error(std::string("beam_node: cannot run ") + args[0] + ": " + std::strerror(rc));
    }
  }

  // Reads what is available into pending_; false on timeout or end of output.
  bool fill(std::chrono::steady_clock::time_point deadline) {
    const auto left = std::chrono::duration_cast<ms>(deadline - std::chrono::steady_clock::now()).count();
    pollfd p{out_, POLLIN, 0};
    const int r = ::poll(&p, 1, static_cast<int>(std::max<long long>(left, 0)));
    if (r <= 0) return false;
    char buf[4096];
    const ssize_t n = ::read(out_, buf, sizeof buf);
    if (n <= 0) {
      close_fd(out_);
      return false;
    }
    pending_.append(buf, static_cast<std::size_t>(n));
    transcript_.append(buf, static_cast<std::size_t>(n));
    return true;
  }

  template <class Match>
  std::string expect(Match match, std::string_view what, ms timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      const auto left = std::chrono::duration_cast<ms>(deadline - std::chrono::steady_clock::now());
      auto line = read_line(std::max(left, ms(0)));
      if (!line)
        throw std::runtime_error("beam_node " + full_name() + ": no line matching '" + std::string(what) +
                                 "' within the timeout; output so far:\n" + transcript_);
      if (match(*line)) return *line;
    }
  }

  bool reap_within(ms timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      int status = 0;
      const pid_t r = ::waitpid(pid_, &status, WNOHANG);
      if (r == pid_ || (r < 0 && errno == ECHILD)) return true;
      if (std::chrono::steady_clock::now() >= deadline) return false;
      std::this_thread::sleep_for(ms(10));
    }
  }

  std::string name_;
  std::string script_;
  pid_t pid_ = -1;
  int in_ = -1;
  int out_ = -1;
  std::string pending_;
  std::string transcript_;
};

}  // namespace otp_test
