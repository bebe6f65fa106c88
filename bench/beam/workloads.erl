%%% BEAM reference implementation of the otpcpp comparison workloads.
%%%
%%% One workload per VM invocation; the result is printed as one JSON line per
%%% metric on stdout, everything else (diagnostics, errors) goes to stderr:
%%%
%%%   {"workload": "<name>", "value": <number>, "unit": "<unit>", "better": "higher"|"lower"}
%%%
%%% Usage (this is what bench/compare runs):
%%%
%%%   erlc -o DIR bench/beam/workloads.erl
%%%   erl -noinput -pa DIR +P 2000000 +S N:N -run workloads main WORKLOAD [SIZE [MAX_DELAY_MS]]
%%%
%%% SIZE defaults to the full size listed below. MAX_DELAY_MS only applies to
%%% timer_lateness; when omitted it is 1000 for SIZE >= 100000 and 300 below
%%% that (the quick size), the same rule the C++ program applies to --size.
%%%
%%% Workloads and what SIZE counts (full size in brackets):
%%%   ping_pong            round trips between two processes      [1000000]
%%%   thread_ring          token hops around a 503-process ring   [10000000]
%%%   spawn_exit           processes spawned (and exited)         [1000000]
%%%   fan_in_2/16/1000     total messages received                [4000000]
%%%   idle_process_bytes   processes parked in receive            [100000]
%%%   timer_lateness       timers armed                           [100000]
%%%   million_processes    processes parked in receive            [1000000]
%%%   call_roundtrip       gen_server calls, one after another    [1000000]
%%%   call_from_foreign_thread  the same (see sequential_calls/2) [100000]
%%%   cast_throughput      gen_server casts (then one call)       [10000000]
%%%   fan_in_calls_16/1000 calls, spread over 16/1000 clients     [1000000]
%%%   start_server         gen_servers started with start_link    [100000]
%%%   idle_server_bytes    idle gen_servers                       [100000]
%%%   million_servers      idle gen_servers                       [1000000]
%%%   restart_latency      worker kills, each until the restarted
%%%                        worker answers a call                  [100000]
%%%   registry_lookup      calls through {via, Registry, ...} to
%%%                        random keys of 100k, from 16 clients   [1000000]
%%%   task_async_await     Task.async + Task.await pairs          [1000000]
%%%
%%% registry_lookup and task_async_await use Elixir's Registry and Task
%%% (what Elixir users run), so they need Elixir's ebin directories on the
%%% code path: bench/compare adds -pz /usr/lib/elixir/lib/{elixir,logger}/ebin
%%% (Debian's elixir package) to every erl it starts. Without them these two
%%% workloads exit with the usage status (2) and show n/a. The Elixir modules
%%% are called from Erlang ('Elixir.Registry':start_link/1, ...); the Elixir
%%% application is not started, as none of the three needs it.
%%%
%%% General choices:
%%%  * The VM runs with default flags apart from +P (room for 1M processes)
%%%    and +S (scheduler count under test): no scheduler binding or busy-wait
%%%    tuning, so the figures are what an untuned BEAM node delivers.
%%%  * No warm-up: OTP 25 JITs modules at load time, and the C++ side also
%%%    measures a cold process, so neither side gets a warm allocator.
%%%  * Each workload runs in a freshly spawned process (see isolated/1) so that
%%%    its mailbox and heap are clean and a crash becomes a clean exit status.
%%%  * Durations use erlang:monotonic_time/1, never wall-clock time.
%%%  * Messages are atoms or small integers wherever possible so that the
%%%    numbers measure the runtime, not term copying.
-module(workloads).

-export([main/1]).

%% Spawned through a plain M:F/A so that parked processes hold no closure.
-export([park/0]).

%% Shared with dist_workloads.erl (the distribution workloads).
-export([isolated/1, emit/1]).

%% This module is also the callback module of the gen_server workloads, and
%% of the supervisor of restart_latency (init/1 dispatches on its argument;
%% no -behaviour(supervisor), since one module cannot declare both).
-behaviour(gen_server).
-export([init/1, handle_call/3, handle_cast/2]).

-define(RING_SIZE, 503).
-define(SPAWN_WINDOW, 1000).
-define(TIMER_RECEIVERS, 4).
-define(REGISTRY_KEYS, 100000).
-define(REGISTRY_CLIENTS, 16).

%%--------------------------------------------------------------------
%% Entry point
%%--------------------------------------------------------------------

%% Called by `erl -run workloads main Args...`; Args are strings.
%% Always ends the VM itself: 0 = success, 1 = workload crashed, 2 = usage.
-spec main([string()]) -> no_return().
main(Args) ->
    Status =
        try parse_args(Args) of
            {Name, Fun} ->
                case isolated(Fun) of
                    {ok, Results} ->
                        lists:foreach(fun emit/1, Results),
                        0;
                    {error, Reason} ->
                        err("workloads: ~s failed: ~p~n", [Name, Reason]),
                        1
                end
        catch
            throw:{usage, Msg} ->
                err("workloads: ~s~n~s", [Msg, usage()]),
                2
        end,
    %% halt/1 with an integer status flushes stdout before exiting.
    erlang:halt(Status).

usage() ->
    "usage: erl -noinput -pa DIR +P 2000000 -run workloads main "
    "WORKLOAD [SIZE [MAX_DELAY_MS]]\n"
    "workloads: ping_pong thread_ring spawn_exit fan_in_2 fan_in_16 "
    "fan_in_1000 idle_process_bytes timer_lateness million_processes\n"
    "           call_roundtrip call_from_foreign_thread cast_throughput "
    "fan_in_calls_16\n"
    "           fan_in_calls_1000 start_server idle_server_bytes "
    "million_servers\n"
    "           restart_latency registry_lookup task_async_await "
    "(the last two need Elixir's ebin on the code path)\n".

parse_args([]) ->
    throw({usage, "missing workload name"});
parse_args([Name | Rest]) ->
    {Size, Extra} =
        case Rest of
            [] -> {default, []};
            [S | More] -> {positive_int(S), [positive_or_zero_int(X) || X <- More]}
        end,
    {Name, workload(Name, Size, Extra)}.

%% Returns a zero-arity fun that runs the workload and returns its results.
workload("ping_pong", Size, []) ->
    fun() -> ping_pong(or_default(Size, 1000000)) end;
workload("thread_ring", Size, []) ->
    fun() -> thread_ring(or_default(Size, 10000000)) end;
workload("spawn_exit", Size, []) ->
    fun() -> spawn_exit(or_default(Size, 1000000)) end;
workload("fan_in_" ++ Senders = Name, Size, []) when
        Senders =:= "2"; Senders =:= "16"; Senders =:= "1000" ->
    fun() -> fan_in(Name, list_to_integer(Senders), or_default(Size, 4000000)) end;
workload("idle_process_bytes", Size, []) ->
    fun() -> idle_process_bytes(or_default(Size, 100000)) end;
workload("timer_lateness", Size, Extra) when length(Extra) =< 1 ->
    N = or_default(Size, 100000),
    MaxDelay =
        case Extra of
            [D] -> D;
            [] when N >= 100000 -> 1000;
            [] -> 300
        end,
    fun() -> timer_lateness(N, MaxDelay) end;
workload("million_processes", Size, []) ->
    fun() -> million_processes(or_default(Size, 1000000)) end;
workload("call_roundtrip" = Name, Size, []) ->
    fun() -> sequential_calls(Name, or_default(Size, 1000000)) end;
workload("call_from_foreign_thread" = Name, Size, []) ->
    fun() -> sequential_calls(Name, or_default(Size, 100000)) end;
workload("cast_throughput", Size, []) ->
    fun() -> cast_throughput(or_default(Size, 10000000)) end;
workload("fan_in_calls_" ++ Clients = Name, Size, []) when
        Clients =:= "16"; Clients =:= "1000" ->
    fun() -> fan_in_calls(Name, list_to_integer(Clients), or_default(Size, 1000000)) end;
workload("start_server", Size, []) ->
    fun() -> start_server(or_default(Size, 100000)) end;
workload("idle_server_bytes", Size, []) ->
    fun() -> idle_server_bytes(or_default(Size, 100000)) end;
workload("million_servers", Size, []) ->
    fun() -> million_servers(or_default(Size, 1000000)) end;
workload("restart_latency", Size, []) ->
    fun() -> restart_latency(or_default(Size, 100000)) end;
workload("registry_lookup" = Name, Size, []) ->
    need_elixir(Name, 'Elixir.Registry'),
    fun() -> registry_lookup(or_default(Size, 1000000), ?REGISTRY_CLIENTS) end;
workload("task_async_await" = Name, Size, []) ->
    need_elixir(Name, 'Elixir.Task'),
    fun() -> task_async_await(or_default(Size, 1000000)) end;
workload(Name, _Size, _Extra) ->
    throw({usage, "unknown workload or bad arguments: " ++ Name}).

need_elixir(Name, Module) ->
    case code:ensure_loaded(Module) of
        {module, Module} -> ok;
        _ -> throw({usage, Name ++ " needs Elixir: add -pz /usr/lib/elixir/lib/elixir/ebin "
                    "(Debian package elixir)"})
    end.

or_default(default, Full) -> Full;
or_default(N, _Full) -> N.

positive_int(S) ->
    case string:to_integer(S) of
        {N, ""} when N > 0 -> N;
        _ -> throw({usage, "not a positive integer: " ++ S})
    end.

positive_or_zero_int(S) ->
    case string:to_integer(S) of
        {N, ""} when N >= 0 -> N;
        _ -> throw({usage, "not a non-negative integer: " ++ S})
    end.

%% Runs Fun in a fresh process (clean heap and mailbox, not the init-spawned
%% process that evaluates -run). The result travels back as the exit reason,
%% so a crash in the workload is reported instead of hanging the VM.
isolated(Fun) ->
    {Pid, Ref} = spawn_monitor(fun() -> exit({workload_result, Fun()}) end),
    receive
        {'DOWN', Ref, process, Pid, {workload_result, Results}} -> {ok, Results};
        {'DOWN', Ref, process, Pid, Reason} -> {error, Reason}
    end.

%%--------------------------------------------------------------------
%% ping_pong: two processes, N round trips, 2 messages per round trip.
%%--------------------------------------------------------------------

%% Both ends are dedicated processes and the clock runs inside the pinger,
%% so spawning is not measured. The ponger learns its peer once up front;
%% after that the messages are bare atoms (no sender pid in each message).
ping_pong(N) ->
    Parent = self(),
    Ponger = spawn_link(fun() -> receive {peer, P} -> pong_loop(P) end end),
    Pinger = spawn_link(
        fun() ->
            T0 = now_ns(),
            ping_loop(Ponger, N),
            T1 = now_ns(),
            Ponger ! stop,
            Parent ! {ping_pong_done, self(), T1 - T0}
        end),
    Ponger ! {peer, Pinger},
    receive {ping_pong_done, Pinger, Ns} -> ok end,
    [result("ping_pong", 2 * N / secs(Ns), "msg/s", higher)].

ping_loop(_Ponger, 0) ->
    ok;
ping_loop(Ponger, K) ->
    Ponger ! ping,
    receive pong -> ping_loop(Ponger, K - 1) end.

pong_loop(Pinger) ->
    receive
        ping -> Pinger ! pong, pong_loop(Pinger);
        stop -> ok
    end.

%%--------------------------------------------------------------------
%% thread_ring: 503 processes in a ring pass a token Hops times.
%%--------------------------------------------------------------------

%% As in the Benchmarks Game: the token is the number of hops still to go,
%% each node forwards Token-1 to its successor, the node that receives 0
%% reports. The ring is wired and every node has acknowledged its successor
%% before the clock starts, so only token passing is timed.
thread_ring(Hops) ->
    Parent = self(),
    Nodes = [spawn_link(fun() -> ring_node(Parent) end) || _ <- lists:seq(1, ?RING_SIZE)],
    [First | _] = Nodes,
    Successors = tl(Nodes) ++ [First],
    lists:foreach(fun({Node, Next}) -> Node ! {next, Next} end,
                  lists:zip(Nodes, Successors)),
    [receive {ring_ready, Node} -> ok end || Node <- Nodes],
    T0 = now_ns(),
    First ! Hops,
    receive ring_done -> ok end,
    T1 = now_ns(),
    [result("thread_ring", Hops / secs(T1 - T0), "hops/s", higher)].

ring_node(Parent) ->
    receive
        {next, Next} ->
            Parent ! {ring_ready, self()},
            ring_loop(Next, Parent)
    end.

ring_loop(Next, Parent) ->
    receive
        0 ->
            Parent ! ring_done,
            ring_loop(Next, Parent);
        Token ->
            Next ! Token - 1,
            ring_loop(Next, Parent)
    end.

%%--------------------------------------------------------------------
%% spawn_exit: spawn N processes that exit at once.
%%--------------------------------------------------------------------

%% Strategy (shared with the C++ side): spawn_monitor each process and wait
%% for its 'DOWN', keeping at most ?SPAWN_WINDOW (1000) outstanding; each
%% 'DOWN' received releases the next spawn. This bounds memory, so the number
%% is spawn + exit + monitor notification cost, not allocator growth with 1M
%% live processes (million_processes covers that). The clock covers
%% everything until the last 'DOWN' arrived; value = elapsed / N.
spawn_exit(N) ->
    T0 = now_ns(),
    Initial = min(N, ?SPAWN_WINDOW),
    spawn_n(Initial),
    spawn_exit_loop(N - Initial, Initial),
    T1 = now_ns(),
    [result("spawn_exit", (T1 - T0) / N, "ns", lower)].

spawn_n(0) -> ok;
spawn_n(K) -> spawn_monitor(fun exit_now/0), spawn_n(K - 1).

exit_now() -> ok.

spawn_exit_loop(0, 0) ->
    ok;
spawn_exit_loop(ToSpawn, Outstanding) ->
    receive
        {'DOWN', _Ref, process, _Pid, _Reason} when ToSpawn > 0 ->
            spawn_monitor(fun exit_now/0),
            spawn_exit_loop(ToSpawn - 1, Outstanding);
        {'DOWN', _Ref, process, _Pid, _Reason} ->
            spawn_exit_loop(0, Outstanding - 1)
    end.

%%--------------------------------------------------------------------
%% fan_in_S: S senders each send Total div S messages to one receiver.
%%--------------------------------------------------------------------

%% Senders are spawned and confirmed ready (parked waiting for 'go') before
%% the clock starts; the clock stops when the receiver has taken the last
%% message out of its mailbox. The receiver is this workload process itself
%% and uses the default on-heap message queue (no message_queue_data tuning).
fan_in(Name, Senders, Total) ->
    PerSender = Total div Senders,
    Receiver = self(),
    Pids = [spawn_link(fun() -> fan_in_sender(Receiver, PerSender) end)
            || _ <- lists:seq(1, Senders)],
    [receive {sender_ready, P} -> ok end || P <- Pids],
    T0 = now_ns(),
    lists:foreach(fun(P) -> P ! go end, Pids),
    Received = Senders * PerSender,
    receive_n(Received),
    T1 = now_ns(),
    [result(Name, Received / secs(T1 - T0), "msg/s", higher)].

fan_in_sender(Receiver, Count) ->
    Receiver ! {sender_ready, self()},
    receive go -> send_n(Receiver, Count) end.

send_n(_To, 0) -> ok;
send_n(To, K) -> To ! m, send_n(To, K - 1).

receive_n(0) -> ok;
receive_n(K) -> receive m -> receive_n(K - 1) end.

%%--------------------------------------------------------------------
%% idle_process_bytes: memory per process parked in receive.
%%--------------------------------------------------------------------

%% Uses erlang:memory(total): the VM's own accounting of what its allocators
%% hold (process control blocks, heaps, ...). The C++ side reports an RSS
%% delta instead, so this is close but not the identical yardstick; the RSS
%% delta is printed to stderr for reference. The process table is sized by
%% +P at boot, so it is not part of the delta. Pids are not kept in a list
%% (that list would be counted too); only the last one is needed.
idle_process_bytes(N) ->
    idle_bytes("idle_process_bytes", fun spawn_parked/1, N).

%% Memory per idle item (process or server) that Start(N) leaves behind,
%% measured as described above.
idle_bytes(Name, Start, N) ->
    garbage_collect(),
    MemBefore = erlang:memory(total),
    RssBefore = rss_bytes(),
    Start(N),
    garbage_collect(),
    MemAfter = erlang:memory(total),
    RssAfter = rss_bytes(),
    info("~s: erlang:memory(total) delta ~.1f bytes each, RSS delta ~s bytes each~n",
         [Name, (MemAfter - MemBefore) / N, per_item(RssBefore, RssAfter, N)]),
    [result(Name, (MemAfter - MemBefore) / N, "bytes", lower)].

%%--------------------------------------------------------------------
%% million_processes: time and RSS for N processes parked in receive.
%%--------------------------------------------------------------------

%% Time = spawning all N plus confirming they are parked (see
%% spawn_parked/1). Memory = OS resident set size delta of the VM process
%% (same yardstick as the C++ side), in MiB; erlang:memory(total) delta goes
%% to stderr for reference.
million_processes(N) ->
    million("million_processes", fun spawn_parked/1, N).

%% Metrics Name_time and Name_rss for the N idle items that Start(N) leaves
%% behind, measured as described above.
million(Name, Start, N) ->
    garbage_collect(),
    MemBefore = erlang:memory(total),
    RssBefore = rss_bytes(),
    T0 = now_ns(),
    Start(N),
    T1 = now_ns(),
    MemAfter = erlang:memory(total),
    RssAfter = rss_bytes(),
    info("~s: ~b started, erlang:memory(total) delta ~.1f MiB~n",
         [Name, N, (MemAfter - MemBefore) / mib()]),
    Rss = case {RssBefore, RssAfter} of
              {B, A} when is_integer(B), is_integer(A) ->
                  [result(Name ++ "_rss", (A - B) / mib(), "MiB", lower)];
              _ ->
                  info("~s: could not read RSS, no rss line~n", [Name]),
                  []
          end,
    [result(Name ++ "_time", secs(T1 - T0), "s", lower) | Rss].

%% Spawns N processes blocked in receive and returns once all of them are
%% parked: a message round trip with the last spawned process (it was
%% enqueued last, so by the time it answers the others have normally run
%% too), then wait until the run queues are empty, which settles the
%% multi-scheduler case where a few may not have started yet. (A process
%% that is running right now is not in a run queue, but a parked-to-be
%% process only runs for a few instructions before it blocks.)
spawn_parked(N) when N > 0 ->
    Last = spawn_parked_n(N, undefined),
    Last ! {ping, self()},
    receive pong -> ok end,
    wait_until_run_queues_empty(now_ns() + 5000000000).

spawn_parked_n(0, Last) -> Last;
spawn_parked_n(K, _) -> spawn_parked_n(K - 1, spawn(?MODULE, park, [])).

park() ->
    receive
        {ping, From} -> From ! pong, park();
        stop -> ok
    end.

wait_until_run_queues_empty(Deadline) ->
    case erlang:statistics(total_run_queue_lengths) of
        0 ->
            ok;
        _ ->
            case now_ns() > Deadline of
                true -> info("warning: run queues did not drain; measuring anyway~n", []);
                false -> erlang:yield(), wait_until_run_queues_empty(Deadline)
            end
    end.

%%--------------------------------------------------------------------
%% timer_lateness: how late erlang:send_after/3 timers are delivered.
%%--------------------------------------------------------------------

%% N timers with uniformly random delays 0..MaxDelay ms (fixed seed, so runs
%% arm the same sequence), timer i addressed to receiver i rem 4. The due time
%% of each timer is taken right before arming it, in microseconds; lateness =
%% monotonic receive time - due time. Percentiles use the nearest-rank method
%% over all N samples. Four receivers ("a few") keep any single mailbox from
%% dominating while still sharing schedulers with the arming process.
timer_lateness(N, MaxDelay) ->
    Parent = self(),
    Receivers = list_to_tuple(
        [spawn_link(fun() ->
                        timer_receiver(Parent, timers_for(J, N, ?TIMER_RECEIVERS), [])
                    end)
         || J <- lists:seq(0, ?TIMER_RECEIVERS - 1)]),
    rand:seed(exsss, {17, 42, 2024}),
    arm_timers(0, N, MaxDelay, Receivers),
    Samples = lists:append(
        [receive {lateness, R, L} -> L end || R <- tuple_to_list(Receivers)]),
    Sorted = list_to_tuple(lists:sort(Samples)),
    info("timer_lateness: ~b timers, delays 0..~b ms, min ~b us, max ~b us~n",
         [N, MaxDelay, element(1, Sorted), element(N, Sorted)]),
    [result("timer_lateness_p50", percentile(50, Sorted), "us", lower),
     result("timer_lateness_p99", percentile(99, Sorted), "us", lower)].

%% Number of indices I in 0..N-1 with I rem K =:= J.
timers_for(J, N, K) -> (N - J + K - 1) div K.

arm_timers(N, N, _MaxDelay, _Receivers) ->
    ok;
arm_timers(I, N, MaxDelay, Receivers) ->
    Delay = rand:uniform(MaxDelay + 1) - 1,
    Due = erlang:monotonic_time(microsecond) + Delay * 1000,
    To = element(I rem tuple_size(Receivers) + 1, Receivers),
    erlang:send_after(Delay, To, {timer, Due}),
    arm_timers(I + 1, N, MaxDelay, Receivers).

timer_receiver(Parent, 0, Acc) ->
    Parent ! {lateness, self(), Acc};
timer_receiver(Parent, Left, Acc) ->
    receive
        {timer, Due} ->
            Late = erlang:monotonic_time(microsecond) - Due,
            timer_receiver(Parent, Left - 1, [Late | Acc])
    end.

%% Nearest rank: the smallest sample with at least P% of samples =< it.
percentile(P, Sorted) ->
    N = tuple_size(Sorted),
    Rank = max(1, ceil(P * N / 100)),
    element(Rank, Sorted).

%%--------------------------------------------------------------------
%% gen_server workloads
%%--------------------------------------------------------------------

%% Every server is this module, started by start_link_server/0 as
%% gen_server:start_link(?MODULE, 0, []): linked to the process that starts
%% it, unnamed, no options, synchronous init (start_link returns once init/1
%% has run). The state is an integer, the number of `bump` casts handled so
%% far; the `get` call replies with it. The C++ programs serve the same two
%% requests on an integer state.

init({restart_sup, Bench, Intensity}) ->
    restart_sup_init(Bench, Intensity);
init({restart_worker, Bench}) ->
    restart_worker_init(Bench);
init(Count) -> {ok, Count}.

handle_call(get, _From, Count) -> {reply, Count, Count}.

handle_cast(bump, Count) -> {noreply, Count + 1}.

start_link_server() ->
    {ok, Pid} = gen_server:start_link(?MODULE, 0, []),
    Pid.

%% call_roundtrip and call_from_foreign_thread: N sequential
%% gen_server:call(Server, get), i.e. with the default 5000 ms timeout, from
%% one client to one server; value = elapsed / N. The client is the workload
%% process itself (a fresh process, see isolated/1).
%%
%% The BEAM has no foreign threads: code outside the VM reaches processes
%% through ports and NIFs, never by calling gen_server:call/2 itself. So
%% call_from_foreign_thread runs the same plain-process client as
%% call_roundtrip (at its own, smaller size). On the C++ sides the caller is
%% main(), a thread that is not a process/actor; the BEAM row shows what the
%% same call costs a process, for comparison.
sequential_calls(Name, N) ->
    Server = start_link_server(),
    T0 = now_ns(),
    call_n(Server, N),
    T1 = now_ns(),
    [result(Name, (T1 - T0) / N, "ns", lower)].

%% No casts are ever sent to these servers, so every reply is 0; matching it
%% checks the call did its job at the cost of one compare.
call_n(_Server, 0) -> ok;
call_n(Server, K) -> 0 = gen_server:call(Server, get), call_n(Server, K - 1).

%% cast_throughput: the workload process casts `bump` N times, then makes one
%% `get` call. Messages between two processes arrive in order, so the reply
%% (which must be N) comes after the server handled every cast. The clock
%% covers the casts and that call; value = N / elapsed. The call waits with
%% timeout infinity: working off the backlog is part of what is measured,
%% and at 10M casts that may take longer than the default 5 s.
cast_throughput(N) ->
    Server = start_link_server(),
    T0 = now_ns(),
    cast_n(Server, N),
    N = gen_server:call(Server, get, infinity),
    T1 = now_ns(),
    [result("cast_throughput", N / secs(T1 - T0), "msg/s", higher)].

cast_n(_Server, 0) -> ok;
cast_n(Server, K) -> gen_server:cast(Server, bump), cast_n(Server, K - 1).

%% fan_in_calls_C: C client processes each make Total div C sequential calls
%% (default timeout) to one server. As in fan_in, the clients are spawned
%% and confirmed ready before the clock starts; it stops when the last
%% client has reported done. value = calls made / elapsed.
fan_in_calls(Name, Clients, Total) ->
    PerClient = Total div Clients,
    Server = start_link_server(),
    Parent = self(),
    Pids = [spawn_link(fun() -> fan_in_client(Parent, Server, PerClient) end)
            || _ <- lists:seq(1, Clients)],
    [receive {client_ready, P} -> ok end || P <- Pids],
    T0 = now_ns(),
    lists:foreach(fun(P) -> P ! go end, Pids),
    [receive {client_done, P} -> ok end || P <- Pids],
    T1 = now_ns(),
    [result(Name, Clients * PerClient / secs(T1 - T0), "calls/s", higher)].

fan_in_client(Parent, Server, Calls) ->
    Parent ! {client_ready, self()},
    receive go -> call_n(Server, Calls) end,
    Parent ! {client_done, self()}.

%% start_server: N sequential start_link_server/0 calls from the workload
%% process; value = elapsed / N. The servers stay alive: a started server is
%% there to serve, and stopping each one would add a synchronous stop (plus
%% the exit of the process) to every iteration. So, like million_servers,
%% this includes the allocators growing to N live servers. They go down with
%% the workload process through their links.
start_server(N) ->
    T0 = now_ns(),
    start_servers(N),
    T1 = now_ns(),
    [result("start_server", (T1 - T0) / N, "ns", lower)].

start_servers(0) -> ok;
start_servers(K) -> start_link_server(), start_servers(K - 1).

%% idle_server_bytes and million_servers: N servers started as in
%% start_server and left idle, measured exactly like idle_process_bytes and
%% million_processes. Both ends of each link are included: that is part of
%% what a started server costs. No pid list is kept (the links tie the
%% servers to the workload process), so it does not count either.
idle_server_bytes(N) ->
    idle_bytes("idle_server_bytes", fun start_idle_servers/1, N).

million_servers(N) ->
    million("million_servers", fun start_idle_servers/1, N).

%% start_link returns once init/1 ran, but the new server still has to get
%% from proc_lib's ack into its receive; waiting for empty run queues (see
%% spawn_parked/1) settles that.
start_idle_servers(N) ->
    start_servers(N),
    wait_until_run_queues_empty(now_ns() + 5000000000).

%%--------------------------------------------------------------------
%% restart_latency: how long a one_for_one supervisor takes to replace a
%% killed worker.
%%--------------------------------------------------------------------

%% The supervisor (supervisor:start_link(?MODULE, {restart_sup, ...}), i.e.
%% plain OTP supervisor) has one child: a gen_server of this module,
%% permanent, default shutdown, started with gen_server:start_link. The
%% worker's init/1 sends {started, self()} to the workload process before
%% returning, so the workload process learns the replacement's pid without
%% polling which_children. N times: T0, exit(Worker, kill), wait for
%% {started, New}, gen_server:call(New, get) (it answers once its init has
%% returned and it entered its loop), T1. Samples are T1 - T0 in
%% microseconds; p50/p99 by nearest rank.
%%
%% Rounds: a fresh supervisor for every ?RESTARTS_PER_SUP kills (its start
%% and stop are not timed), with an intensity of twice that in 1 s so it
%% never trips. OTP's supervisor keeps one timestamp per restart of the
%% current period in a list it walks on every restart; one long-lived
%% supervisor restarting tens of thousands of times a second would make the
%% BEAM figure grow with N (measured: p50 11 us at N = 300, 77 us at
%% N = 10000), which says more about that list than about restarting. The
%% C++ side runs the same rounds.
-define(RESTARTS_PER_SUP, 100).

restart_latency(N) ->
    ok = logger:add_primary_filter(
        drop_supervisor_reports, {fun logger_filters:domain/2, {stop, sub, [otp, sasl]}}),
    Samples = restart_rounds(N, []),
    ok = logger:remove_primary_filter(drop_supervisor_reports),
    Sorted = list_to_tuple(lists:sort(Samples)),
    info("restart_latency: ~b restarts, min ~.1f us, max ~.1f us~n",
         [N, element(1, Sorted), element(N, Sorted)]),
    [result("restart_latency_p50", percentile(50, Sorted), "us", lower),
     result("restart_latency_p99", percentile(99, Sorted), "us", lower)].

restart_rounds(0, Acc) ->
    Acc;
restart_rounds(Left, Acc) ->
    K = min(Left, ?RESTARTS_PER_SUP),
    {ok, Sup} = supervisor:start_link(?MODULE, {restart_sup, self(), 2 * ?RESTARTS_PER_SUP}),
    First = receive {started, P} -> P end,
    Acc1 = restart_loop(K, First, Acc),
    unlink(Sup),
    ok = gen_server:stop(Sup),
    restart_rounds(Left - K, Acc1).

restart_sup_init(Bench, Intensity) ->
    Flags = #{strategy => one_for_one, intensity => Intensity, period => 1},
    Child = #{id => worker,
              start => {gen_server, start_link, [?MODULE, {restart_worker, Bench}, []]}},
    {ok, {Flags, [Child]}}.

restart_worker_init(Bench) ->
    Bench ! {started, self()},
    {ok, 0}.

restart_loop(0, _Worker, Acc) ->
    Acc;
restart_loop(K, Worker, Acc) ->
    T0 = now_ns(),
    exit(Worker, kill),
    New = receive {started, P} -> P end,
    0 = gen_server:call(New, get),
    T1 = now_ns(),
    true = New =/= Worker,
    restart_loop(K - 1, New, [(T1 - T0) / 1000 | Acc]).

%%--------------------------------------------------------------------
%% registry_lookup: calls to servers named through Elixir's Registry.
%%--------------------------------------------------------------------

%% Setup (not timed): 'Elixir.Registry':start_link([{keys, unique},
%% {name, reg}, {partitions, schedulers_online}]), then 100k gen_servers of
%% this module, server K (0..99999) started with
%% gen_server:start_link({via, 'Elixir.Registry', {reg, K}}, ?MODULE, K, [])
%% so that its state, which `get` returns, is its key. Then, as in
%% fan_in_calls, 16 clients are spawned and report ready; the clock runs
%% from `go` until the last one is done. Each client makes Total div 16
%% calls 'Elixir.GenServer':call({via, 'Elixir.Registry', {reg, K}}, get)
%% (i.e. Elixir's GenServer.call: Registry.whereis_name/1, then the call)
%% to uniformly random keys (rand:uniform_s with its own exsss state) and
%% checks the reply is K. value = calls / elapsed.
registry_lookup(Total, Clients) ->
    {ok, _Registry} = 'Elixir.Registry':start_link(
        [{keys, unique}, {name, reg}, {partitions, erlang:system_info(schedulers_online)}]),
    start_registered(?REGISTRY_KEYS),
    PerClient = Total div Clients,
    Parent = self(),
    Pids = [spawn_link(fun() -> registry_client(Parent, PerClient, C) end)
            || C <- lists:seq(1, Clients)],
    [receive {client_ready, P} -> ok end || P <- Pids],
    T0 = now_ns(),
    lists:foreach(fun(P) -> P ! go end, Pids),
    [receive {client_done, P} -> ok end || P <- Pids],
    T1 = now_ns(),
    [result("registry_lookup", Clients * PerClient / secs(T1 - T0), "calls/s", higher)].

start_registered(0) ->
    ok;
start_registered(K) ->
    Key = K - 1,
    {ok, _} = gen_server:start_link({via, 'Elixir.Registry', {reg, Key}}, ?MODULE, Key, []),
    start_registered(K - 1).

registry_client(Parent, Calls, Seed) ->
    Rand = rand:seed_s(exsss, {Seed, 42, 2024}),
    Parent ! {client_ready, self()},
    receive go -> registry_calls(Calls, Rand) end,
    Parent ! {client_done, self()}.

registry_calls(0, _Rand) ->
    ok;
registry_calls(K, Rand0) ->
    {R, Rand} = rand:uniform_s(?REGISTRY_KEYS, Rand0),
    Key = R - 1,
    Key = 'Elixir.GenServer':call({via, 'Elixir.Registry', {reg, Key}}, get),
    registry_calls(K - 1, Rand).

%%--------------------------------------------------------------------
%% task_async_await: Elixir's Task.async + Task.await, one pair at a time.
%%--------------------------------------------------------------------

%% N sequential 'Elixir.Task':await('Elixir.Task':async(fun() -> I end))
%% from the workload process (await's default 5000 ms timeout); each reply
%% must be I. Task and Task.Supervised are loaded before the clock starts
%% (loading is not what is measured). value = elapsed / N.
task_async_await(N) ->
    {module, _} = code:ensure_loaded('Elixir.Task.Supervised'),
    T0 = now_ns(),
    task_loop(0, N),
    T1 = now_ns(),
    [result("task_async_await", (T1 - T0) / N, "ns", lower)].

task_loop(N, N) ->
    ok;
task_loop(I, N) ->
    I = 'Elixir.Task':await('Elixir.Task':async(fun() -> I end)),
    task_loop(I + 1, N).

%%--------------------------------------------------------------------
%% Helpers
%%--------------------------------------------------------------------

now_ns() -> erlang:monotonic_time(nanosecond).

secs(Ns) -> Ns / 1.0e9.

mib() -> 1024 * 1024.

%% Resident set size of this VM in bytes, or undefined. Reads
%% /proc/<pid>/status (no fork), falling back to `ps -o rss=`.
rss_bytes() ->
    Pid = os:getpid(),
    case file:read_file("/proc/" ++ Pid ++ "/status") of
        {ok, Bin} ->
            case re:run(Bin, "^VmRSS:\\s*(\\d+)\\s*kB", [multiline, {capture, all_but_first, list}]) of
                {match, [Kb]} -> list_to_integer(Kb) * 1024;
                nomatch -> rss_bytes_ps(Pid)
            end;
        {error, _} ->
            rss_bytes_ps(Pid)
    end.

rss_bytes_ps(Pid) ->
    case string:to_integer(string:trim(os:cmd("ps -o rss= -p " ++ Pid))) of
        {Kb, _} when is_integer(Kb) -> Kb * 1024;
        _ -> undefined
    end.

per_item(B, A, N) when is_integer(B), is_integer(A) ->
    io_lib:format("~.1f", [(A - B) / N]);
per_item(_, _, _) ->
    "n/a".

result(Name, Value, Unit, Better) -> {Name, Value, Unit, Better}.

%% One JSON line on stdout. Names and units are fixed ASCII strings, so no
%% escaping is needed.
emit({Name, Value, Unit, Better}) ->
    io:format("{\"workload\": \"~s\", \"value\": ~s, \"unit\": \"~s\", \"better\": \"~s\"}~n",
              [Name, number(Value), Unit, Better]).

number(V) when is_integer(V) -> integer_to_list(V);
number(V) when is_float(V) -> float_to_list(V, [{decimals, 6}, compact]).

info(Fmt, Args) -> io:format(standard_error, Fmt, Args).

err(Fmt, Args) -> io:format(standard_error, Fmt, Args).
