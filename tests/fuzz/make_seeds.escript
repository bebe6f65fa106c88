#!/usr/bin/env escript
%% Writes the seed corpora of the ETF fuzz targets from real term_to_binary
%% output: tests/fuzz/corpus/etf_decode_fuzz/ (terms, and single distribution
%% packets) and tests/fuzz/corpus/dist_decoder_fuzz/ (packet sequences, each
%% packet as Length:16 then its bytes).
%%   escript tests/fuzz/make_seeds.escript
main(_) ->
    Dir = filename:join(filename:dirname(escript:script_name()), "corpus"),
    Y = 5,
    Terms = [0, 255, -1, 1 bsl 40, -(1 bsl 300), 1.5, ok, 'Ω', '', {}, {a, 1, "str"},
             [], [1, 2, 300], [a | b], "hello", lists:seq(1, 300), <<>>, <<1, 2, 3>>,
             <<1, 2, 3:4>>, #{}, #{a => 1, {k} => [<<"v">>]},
             maps:from_list([{I, I} || I <- lists:seq(1, 40)]),
             self(), make_ref(), hd(erlang:ports()), fun lists:map/2, fun(X) -> X + Y end,
             {'$gen_call', {self(), [alias | make_ref()]}, {get, key}}],
    Etf = [term_to_binary(T, [{minor_version, 2}]) || T <- Terms]
       ++ [term_to_binary(T) || T <- [ok, {a, b}, self()]]                 % Latin-1 atoms
       ++ [term_to_binary(T, [compressed]) || T <- [lists:seq(1, 500), {<<0:8000>>, x}]],
    Ctrl = {6, self(), '', counter},
    Msg = {'$gen_cast', {inc, 5}},
    Packets = [pass_through(Ctrl, Msg), header(Ctrl, Msg), header_with_cache(),
               fragment_first(7, 1, strip(term_to_binary(Ctrl)))],
    write(filename:join(Dir, "etf_decode_fuzz"), Etf ++ Packets),
    Body = strip(term_to_binary(Ctrl)),
    Seqs = [frame([pass_through(Ctrl, Msg), header(Ctrl, Msg)]),
            frame([header_with_cache(), cached_header()]),
            frame([fragment_first(7, 2, Body), header(Ctrl, Msg),
                   fragment_next(7, 1, strip(term_to_binary(Msg)))]),
            frame([fragment_first(1, 3, <<>>), fragment_first(2, 2, <<>>),
                   fragment_next(1, 2, <<>>), fragment_next(2, 1, strip(term_to_binary(ok))),
                   fragment_next(1, 1, Body)])],
    write(filename:join(Dir, "dist_decoder_fuzz"), Seqs).

strip(<<131, Rest/binary>>) -> Rest.

pass_through(Ctrl, Msg) -> <<112, (term_to_binary(Ctrl))/binary, (term_to_binary(Msg))/binary>>.

header(Ctrl, Msg) ->
    <<131, 68, 0, (strip(term_to_binary(Ctrl, [{minor_version, 2}])))/binary,
      (strip(term_to_binary(Msg, [{minor_version, 2}])))/binary>>.

%% Two new cache entries: 'counter' at segment 1 index 5, 'n@h' at segment 0 index 7;
%% control {6, Pid, '', counter} whose pid node is a cache reference.
header_with_cache() ->
    <<131, 68, 2, 16#89, 16#00, 5, 7, "counter", 7, 3, "n@h", (reg_send())/binary>>.
cached_header() ->
    <<131, 68, 2, 16#01, 16#00, 5, 7, (reg_send())/binary>>.
reg_send() ->
    <<104, 4, 97, 6, 88, 82, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 3, 119, 0, 82, 0>>.

fragment_first(Seq, N, Data) -> <<131, 69, Seq:64, N:64, 0, Data/binary>>.
fragment_next(Seq, N, Data) -> <<131, 70, Seq:64, N:64, Data/binary>>.

frame(Packets) -> << <<(byte_size(P)):16, P/binary>> || P <- Packets >>.

write(Dir, Seeds) ->
    ok = filelib:ensure_path(Dir),
    lists:foldl(fun(S, I) ->
                        Name = io_lib:format("seed_~3..0B", [I]),
                        ok = file:write_file(filename:join(Dir, Name), S),
                        I + 1
                end, 1, Seeds),
    ok.
