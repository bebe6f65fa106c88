#pragma once
/// \file tests/support/dist_servers.hpp
/// What the distribution tests talk to across nodes: one test server with
/// the same protocol on an otpcpp node (`test_server`, registered as `echo`
/// by the tests and by otp_dist_peer) and on an Elixir node (`TestServer` in
/// `elixir_prelude`), and the Elixir side's line REPL.
///
///   call {echo, X}      -> X
///   call {twice, N}     -> 2 * N
///   call {sleep, Ms}    -> slept, after Ms (the server keeps serving meanwhile)
///   call {crash, Text}  -> the server crashes (C++: std::runtime_error(Text);
///                          Elixir: raise Text)
///   call {stop, Atom}   -> the server stops with reason Atom, no reply
///   call {digest, Bin}  -> {byte_size(Bin), crc32(Bin)}
///   call log            -> the X of every {note, X} cast or sent, in order
///   call whoami         -> the server's pid
///   cast / send {note, X}

#include <array>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "otp/gen_server.hpp"
#include "otp/term_codec.hpp"
#include "otp/timer.hpp"

namespace otp_test::dist_servers {

/// CRC-32 (IEEE 802.3), the value of zlib's crc32 and `:erlang.crc32/1`.
inline std::uint32_t crc32(std::string_view bytes) {
  static const auto table = [] {
    std::array<std::uint32_t, 256> t{};
    for (std::uint32_t i = 0; i < 256; ++i) {
      std::uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  std::uint32_t c = 0xFFFFFFFFu;
  for (unsigned char b : bytes) c = table[(c ^ b) & 0xFFu] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

struct echo {
  otp::term value;
  using reply = otp::term;
};
OTP_TERM_TUPLE(echo, "echo", value)
struct twice {
  std::int64_t n = 0;
  using reply = std::int64_t;
};
OTP_TERM_TUPLE(twice, "twice", n)
struct sleep {
  std::int64_t ms = 0;
  using reply = otp::atom;
};
OTP_TERM_TUPLE(sleep, "sleep", ms)
struct crash {
  std::string text;
  using reply = otp::atom;
};
OTP_TERM_TUPLE(crash, "crash", text)
struct stop {
  otp::atom reason;
  using reply = otp::atom;
};
OTP_TERM_TUPLE(stop, "stop", reason)
struct digest {
  std::string bytes;
  using reply = std::pair<std::uint64_t, std::uint32_t>;
};
OTP_TERM_TUPLE(digest, "digest", bytes)
struct note {
  otp::term value;
};
OTP_TERM_TUPLE(note, "note", value)
struct log {
  using reply = std::vector<otp::term>;
};
OTP_TERM_TUPLE(log, "log")
struct whoami {
  using reply = otp::pid;
};
OTP_TERM_TUPLE(whoami, "whoami")

/// The C++ side of the protocol above.
struct test_server {
  using state = std::vector<otp::term>;  // the notes
  struct wake {                          // a sleep is over (local only)
    otp::from caller;
  };
  // digest and echo first: a term is tried against each type in order, and
  // a failed decode prints the whole term into its bad_term message, which
  // for a 64 MB binary takes seconds per type.
  using accepts = otp::types<digest, echo, twice, sleep, crash, stop, note, log, whoami, wake>;

  otp::init_result<state> init() { return otp::ok(state{}); }
  otp::call_result<otp::term> handle_call(echo e, state&) { return otp::reply(std::move(e.value)); }
  otp::call_result<std::int64_t> handle_call(twice t, state&) { return otp::reply(2 * t.n); }
  otp::call_result<otp::atom> handle_call(sleep s, const otp::from& f, state&) {
    otp::send_after(otp::self(), wake{f}, std::chrono::milliseconds(s.ms));
    return otp::noreply();
  }
  otp::call_result<otp::atom> handle_call(crash c, state&) { throw std::runtime_error(c.text); }
  otp::call_result<otp::atom> handle_call(stop s, state&) { return otp::stop(otp::exit_reason::other(std::string(s.reason.name()))); }
  otp::call_result<std::pair<std::uint64_t, std::uint32_t>> handle_call(const digest& d, state&) {
    return otp::reply(std::pair<std::uint64_t, std::uint32_t>{d.bytes.size(), crc32(d.bytes)});
  }
  otp::call_result<std::vector<otp::term>> handle_call(log, const otp::from&, state& notes) { return otp::reply(notes); }
  otp::call_result<otp::pid> handle_call(whoami, state&) { return otp::reply(otp::self()); }
  otp::noreply_result handle_cast(note n, state& notes) {
    notes.push_back(std::move(n.value));
    return otp::noreply();
  }
  otp::noreply_result handle_info(note n, state& notes) { return handle_cast(std::move(n), notes); }
  otp::noreply_result handle_info(wake w) {
    otp::gen_server::reply(w.caller, otp::atom("slept"));
    return otp::noreply();
  }
};

/// The Elixir side: TestServer (the protocol above, started as `:echo`) and
/// Repl, which reads one line of Elixir at a time from stdin (the end of the
/// input halts the node), evaluates it with the bindings of the lines before
/// (in the script's process, which traps exits and is registered as
/// `:repl`) and prints `=> ` and the inspected result (`{:raised, Message}`
/// / `{:caught, Kind, Value}` when it fails). Helpers for the lines:
/// `Repl.flush()` (the mailbox, emptied), `Repl.down(ref)` and
/// `Repl.exit_from(pid_or_node)` (the reason of the DOWN / trapped EXIT, or
/// :none after 5 s), `Repl.sync(node)` (a round trip to node's `echo`: what
/// was sent to node before has been handled there).
inline constexpr std::string_view elixir_prelude = R"EX(
defmodule TestServer do
  use GenServer
  def init(_), do: {:ok, []}
  def handle_call({:echo, x}, _from, log), do: {:reply, x, log}
  def handle_call({:twice, n}, _from, log), do: {:reply, 2 * n, log}
  def handle_call({:sleep, ms}, from, log) do
    Process.send_after(self(), {:wake, from}, ms)
    {:noreply, log}
  end
  def handle_call({:crash, text}, _from, _log), do: raise(text)
  def handle_call({:stop, reason}, _from, log), do: {:stop, reason, log}
  def handle_call({:digest, bin}, _from, log), do: {:reply, {byte_size(bin), :erlang.crc32(bin)}, log}
  def handle_call(:log, _from, log), do: {:reply, Enum.reverse(log), log}
  def handle_call(:whoami, _from, log), do: {:reply, self(), log}
  def handle_cast({:note, x}, log), do: {:noreply, [x | log]}
  def handle_info({:note, x}, log), do: {:noreply, [x | log]}
  def handle_info({:wake, from}, log) do
    GenServer.reply(from, :slept)
    {:noreply, log}
  end
end

defmodule Repl do
  def flush(acc \\ []) do
    receive do
      m -> flush([m | acc])
    after
      0 -> Enum.reverse(acc)
    end
  end
  def down(ref) do
    receive do
      {:DOWN, ^ref, :process, _, reason} -> reason
    after
      5000 -> :none
    end
  end
  def exit_from(pid) when is_pid(pid) do
    receive do
      {:EXIT, ^pid, reason} -> reason
    after
      5000 -> :none
    end
  end
  def exit_from(node) when is_atom(node) do
    receive do
      {:EXIT, pid, reason} when node(pid) == node -> reason
    after
      5000 -> :none
    end
  end
  def sync(node), do: GenServer.call({:echo, node}, {:echo, :sync}, 10000)
  # Lines are read by a process of their own, so that the end of the input
  # (the test process is gone) halts the node even while a line is running.
  def read(repl) do
    case IO.gets("") do
      line when is_binary(line) ->
        send(repl, {:line, line})
        read(repl)
      _ -> System.halt(0)
    end
  end
  def loop(binding) do
    receive do
      {:line, line} ->
        {result, binding} =
          try do
            Code.eval_string(line, binding)
          rescue
            e -> {{:raised, Exception.message(e)}, binding}
          catch
            kind, value -> {{:caught, kind, value}, binding}
          end
        IO.puts("=> " <> inspect(result, limit: :infinity, printable_limit: 200))
        loop(binding)
    end
  end
end

{:ok, _} = GenServer.start(TestServer, [], name: :echo)
Process.register(self(), :repl)
Process.flag(:trap_exit, true)
repl = self()
spawn(fn -> Repl.read(repl) end)
IO.puts("READY")
Repl.loop([])
)EX";

}  // namespace otp_test::dist_servers
