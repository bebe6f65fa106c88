%%% BEAM side of the distribution workloads of bench/compare: gen_server
%%% calls and casts from this (client) node to a server node started as a
%%% separate OS process, over loopback with the real Erlang distribution.
%%% The C++ twin is bench/dist_workloads.cpp.
%%%
%%% Usage (what bench/compare runs; DIR holds this module and workloads.erl,
%%% whose isolated/1 and emit/1 it uses):
%%%
%%%   erlc -o DIR bench/beam/workloads.erl bench/beam/dist_workloads.erl
%%%   erl -noinput -pa DIR +S N:N -run dist_workloads main beam WORKLOAD [SIZE]
%%%   erl -noinput -pa DIR +S N:N -run dist_workloads main otpcpp WORKLOAD SIZE CPP_BIN
%%%
%%% The first form is the `beam` system: the server node is another erl
%%% (started by this one with open_port, the same +S, running serve/1 below:
%%% the gen_server of this module registered as dist_bench). The second is
%%% `beam_to_otpcpp`: the server node is the C++ program CPP_BIN
%%% (otpcpp_dist_workloads) in --serve mode. Either prints "ready" on stdout
%%% once dist_bench is registered. This node makes itself distributed
%%% (net_kernel:start/1, long names, cookie otpcpp_bench; epmd -daemon is
%%% started first, as erl -name would) with a name made unique by the OS
%%% pid. At the end the erl server halts on nodedown of this node, the C++
%%% server on end of file on its stdin (the port's pipe).
%%%
%%% The server's protocol: call ping -> pong; cast bump (counts it); call
%%% count -> bumps so far; call {size, Bin} -> byte_size(Bin). Calls are
%%% gen_server:call/3, i.e. what Elixir's GenServer.call/3 runs, with
%%% its monitor and alias.
%%%
%%% Workloads (SIZE in brackets is the default), as in dist_workloads.cpp:
%%%   remote_call_roundtrip   SIZE sequential calls ping after min(1000,
%%%                           SIZE div 10) untimed warm-up calls; the
%%%                           median of the per-call latencies, in us [100000]
%%%   remote_call_throughput  64 caller processes, SIZE calls in all, spawned
%%%                           and ready before the clock starts [200000]
%%%   remote_cast_throughput  SIZE casts bump, then call count (timed too),
%%%                           which must return SIZE [1000000]
%%%   remote_transfer_1mb     SIZE sequential calls {size, Bin} with a
%%%                           1000000-byte binary; MB/s, 1 MB = 10^6 bytes [1000]
-module(dist_workloads).

-export([main/1, serve/1]).

-behaviour(gen_server).
-export([init/1, handle_call/3, handle_cast/2]).

-define(COOKIE, otpcpp_bench).
-define(SERVER, dist_bench).
-define(CALLERS, 64).
-define(TRANSFER_BYTES, 1000000).
-define(READY_TIMEOUT_MS, 30000).

%%--------------------------------------------------------------------
%% Client node
%%--------------------------------------------------------------------

%% Always ends the VM: 0 = success, 1 = failure, 2 = usage.
-spec main([string()]) -> no_return().
main(Args) ->
    Status =
        try parse_args(Args) of
            {Name, Kind, Size, Bin} -> run(Name, Kind, Size, Bin)
        catch
            throw:{usage, Msg} ->
                io:format(standard_error, "dist_workloads: ~s~n", [Msg]),
                2
        end,
    erlang:halt(Status).

parse_args(["beam", Name, Size]) -> {workload(Name), beam, positive_int(Size), none};
parse_args(["beam", Name]) -> {workload(Name), beam, default, none};
parse_args(["otpcpp", Name, Size, Bin]) -> {workload(Name), otpcpp, positive_int(Size), Bin};
parse_args(_) ->
    throw({usage, "usage: -run dist_workloads main beam WORKLOAD [SIZE] | "
                  "main otpcpp WORKLOAD SIZE CPP_BIN"}).

workload("remote_call_roundtrip" = N) -> {N, 100000};
workload("remote_call_throughput" = N) -> {N, 200000};
workload("remote_cast_throughput" = N) -> {N, 1000000};
workload("remote_transfer_1mb" = N) -> {N, 1000};
workload(N) -> throw({usage, "unknown workload " ++ N}).

positive_int(S) ->
    case string:to_integer(S) of
        {N, ""} when N > 0 -> N;
        _ -> throw({usage, "not a positive integer: " ++ S})
    end.

run({Name, Full}, Kind, Size, Bin) ->
    N = case Size of default -> Full; _ -> Size end,
    Tag = os:getpid(),
    start_distribution(list_to_atom("dist_bench_cli_" ++ Tag ++ "@127.0.0.1")),
    ServerNode = list_to_atom("dist_bench_srv_" ++ Tag ++ "@127.0.0.1"),
    case start_server(Kind, ServerNode, Bin) of
        {ok, Port} ->
            pong = net_adm:ping(ServerNode),
            Server = {?SERVER, ServerNode},
            Result = workloads:isolated(fun() -> workload(Name, Server, N) end),
            catch port_close(Port),
            case Result of
                {ok, Results} ->
                    lists:foreach(fun workloads:emit/1, Results),
                    0;
                {error, Reason} ->
                    io:format(standard_error, "dist_workloads: ~s failed: ~p~n", [Name, Reason]),
                    1
            end;
        {error, Why} ->
            io:format(standard_error, "dist_workloads: server node ~s: ~p~n", [ServerNode, Why]),
            1
    end.

start_distribution(Node) ->
    _ = os:cmd("epmd -daemon"),
    {ok, _} = net_kernel:start([Node, longnames]),
    true = erlang:set_cookie(?COOKIE).

%% The server node as a port program: an erl running serve/1, or the C++
%% program in --serve mode. Returns once it printed "ready".
start_server(beam, ServerNode, none) ->
    Dir = filename:dirname(code:which(?MODULE)),
    S = integer_to_list(erlang:system_info(schedulers_online)),
    open_server(os:find_executable("erl"),
                ["-noinput", "-name", atom_to_list(ServerNode),
                 "-setcookie", atom_to_list(?COOKIE), "-pa", Dir, "+S", S ++ ":" ++ S,
                 "-run", ?MODULE_STRING, "serve", atom_to_list(node())]);
start_server(otpcpp, ServerNode, Bin) ->
    S = integer_to_list(erlang:system_info(schedulers_online)),
    open_server(Bin, ["--serve", atom_to_list(ServerNode), atom_to_list(?COOKIE),
                      "--schedulers", S]).

open_server(Executable, Args) ->
    Port = open_port({spawn_executable, Executable},
                     [{args, Args}, {line, 1024}, exit_status, use_stdio]),
    wait_ready(Port).

wait_ready(Port) ->
    receive
        {Port, {data, {eol, "ready"}}} -> {ok, Port};
        {Port, {data, {_, Line}}} ->
            io:format(standard_error, "server node: ~s~n", [Line]),
            wait_ready(Port);
        {Port, {exit_status, Status}} -> {error, {exited, Status}}
    after ?READY_TIMEOUT_MS ->
        {error, not_ready}
    end.

%%--------------------------------------------------------------------
%% Workloads (run in a fresh process, see workloads:isolated/1)
%%--------------------------------------------------------------------

workload("remote_call_roundtrip", Server, N) ->
    ok = call_n(Server, min(1000, N div 10)),
    Sorted = lists:sort(timed_calls(Server, N, [])),
    [{"remote_call_roundtrip", lists:nth(N div 2 + 1, Sorted), "us", lower}];
workload("remote_call_throughput", Server, Total) ->
    Each = Total div ?CALLERS,
    Parent = self(),
    Pids = [spawn_link(fun() -> caller(Parent, Server, Each) end) || _ <- lists:seq(1, ?CALLERS)],
    [receive {caller_ready, P} -> ok end || P <- Pids],
    T0 = now_ns(),
    lists:foreach(fun(P) -> P ! go end, Pids),
    [receive {caller_done, P} -> ok end || P <- Pids],
    T1 = now_ns(),
    [{"remote_call_throughput", ?CALLERS * Each / secs(T1 - T0), "calls/s", higher}];
workload("remote_cast_throughput", Server, N) ->
    T0 = now_ns(),
    ok = cast_n(Server, N),
    N = gen_server:call(Server, count, infinity),
    T1 = now_ns(),
    [{"remote_cast_throughput", N / secs(T1 - T0), "casts/s", higher}];
workload("remote_transfer_1mb", Server, N) ->
    Bin = binary:copy(<<"x">>, ?TRANSFER_BYTES),
    T0 = now_ns(),
    ok = transfer_n(Server, Bin, N),
    T1 = now_ns(),
    [{"remote_transfer_1mb", N * ?TRANSFER_BYTES / 1.0e6 / secs(T1 - T0), "MB/s", higher}].

call_n(_Server, 0) -> ok;
call_n(Server, K) -> pong = gen_server:call(Server, ping), call_n(Server, K - 1).

timed_calls(_Server, 0, Acc) ->
    Acc;
timed_calls(Server, K, Acc) ->
    T0 = now_ns(),
    pong = gen_server:call(Server, ping),
    T1 = now_ns(),
    timed_calls(Server, K - 1, [(T1 - T0) / 1000 | Acc]).

caller(Parent, Server, Calls) ->
    Parent ! {caller_ready, self()},
    receive go -> call_n(Server, Calls) end,
    Parent ! {caller_done, self()}.

cast_n(_Server, 0) -> ok;
cast_n(Server, K) -> gen_server:cast(Server, bump), cast_n(Server, K - 1).

transfer_n(_Server, _Bin, 0) ->
    ok;
transfer_n(Server, Bin, K) ->
    ?TRANSFER_BYTES = gen_server:call(Server, {size, Bin}, 30000),
    transfer_n(Server, Bin, K - 1).

now_ns() -> erlang:monotonic_time(nanosecond).

secs(Ns) -> Ns / 1.0e9.

%%--------------------------------------------------------------------
%% Server node (erl ... -run dist_workloads serve CLIENT_NODE)
%%--------------------------------------------------------------------

%% Registers the server, then lives until the client node goes down (or an
%% hour has passed, should the client never have come up).
serve([Client]) ->
    ClientNode = list_to_atom(Client),
    {ok, _} = gen_server:start({local, ?SERVER}, ?MODULE, 0, []),
    monitor_node(ClientNode, true),
    io:format("ready~n"),
    receive
        {nodedown, ClientNode} -> erlang:halt(0)
    after 3600000 ->
        erlang:halt(1)
    end.

init(Count) -> {ok, Count}.

handle_call(ping, _From, Count) -> {reply, pong, Count};
handle_call(count, _From, Count) -> {reply, Count, Count};
handle_call({size, Bin}, _From, Count) -> {reply, byte_size(Bin), Count}.

handle_cast(bump, Count) -> {noreply, Count + 1}.
