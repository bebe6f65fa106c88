// Randomized property test of gen_server calls (otp-semantics.md §2, §3,
// §4.3, §6; Appendix A), on the real clock.
//
// For each of a fixed set of seeds, several client processes run a random
// mix against one server:
//   * calls answered at once (typed, and untyped through the run-time match),
//   * calls the server defers: it returns noreply and answers later with
//     otp::gen_server::reply, from a timer (send_after -> handle_info) or
//     from a helper process,
//   * calls the server answers late (it blocks inside handle_call),
//   * casts and infos,
//   * and, in some seeds, one stop (gen_server::stop, or a call answered
//     with stop(reason, reply)).
// Calls use either a long timeout or a short one (0-10 ms) that the
// deferred and late replies often miss.
//
// Properties:
//   1. every call returns the value for *its* request, or fails with a
//      wrapped `{Reason, {gen_server,call,[...]}}` where Reason is `timeout`
//      (short timeouts only: a long-timeout call is never left unanswered),
//      or, once the server is being stopped, `noproc` or the stop reason;
//   2. no reply is lost: the server handled every cast and info sent, and
//      answered every deferred call;
//   3. no late reply (or anything else) is left in a client's mailbox once
//      everything that could still reach it has been sent.

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "otp/gen_server.hpp"
#include "otp/sys.hpp"
#include "support/test_node.hpp"

namespace {

using namespace otp_test;
using otp::exit_reason;
namespace gs = otp::gen_server;
using std::chrono::milliseconds;

const exit_reason stop_reason = exit_reason::shutdown("prop_stop");
constexpr milliseconds long_timeout{2000};

/// Shared by the server, its helpers and the test body of one seed.
struct shared_ctx {
  std::atomic<int> helpers{0};         // helper processes that have not finished
  std::atomic<bool> stopping{false};   // set before the stop is issued
};

struct prop_srv {
  struct counts {
    long casts = 0;
    long infos = 0;
    long calls = 0;
    long replies = 0;
  };
  struct state {
    std::shared_ptr<shared_ctx> ctx;
    std::unordered_map<std::uint64_t, otp::from> pending;  // deferred calls not yet answered
    std::uint64_t next_id = 0;
    std::vector<otp::from> quiesce_waiters;
    counts n;
  };

  struct echo {  // v + 1, at once
    int v;
    using reply = int;
  };
  struct deferred {  // v * 2, after delay_ms, by timer or by a helper process
    int v;
    int delay_ms;
    bool by_helper;
    using reply = int;
  };
  struct slow {  // v * 3, after blocking sleep_ms inside handle_call
    int v;
    int sleep_ms;
    using reply = int;
  };
  struct halt {  // stop(stop_reason, v + 5)
    int v;
    using reply = int;
  };
  struct quiesce {  // answered once no deferred call is pending
    using reply = counts;
  };
  struct add {  // cast
    int n;
  };
  struct poke {  // info
    int n;
  };
  struct fire {  // info: the timer of a deferred call
    std::uint64_t id;
    int v;
  };
  struct helper_done {  // info: a helper answered deferred call `id`
    std::uint64_t id;
  };
  using accepts = otp::types<echo, poke, fire, helper_done>;

  otp::init_result<state> init(std::shared_ptr<shared_ctx> ctx) { return otp::ok(state{std::move(ctx), {}, 0, {}, {}}); }

  otp::call_result<int> handle_call(echo m, state& s) {
    ++s.n.calls;
    ++s.n.replies;
    return otp::reply(m.v + 1);
  }
  otp::call_result<int> handle_call(deferred m, const otp::from& f, state& s) {
    ++s.n.calls;
    const std::uint64_t id = ++s.next_id;
    s.pending.emplace(id, f);
    if (!m.by_helper) {
      otp::send_after(otp::self(), fire{id, m.v}, milliseconds(m.delay_ms));
    } else {
      s.ctx->helpers.fetch_add(1);
      otp::pid server = otp::self();
      otp::spawn([ctx = s.ctx, server, f, id, v = m.v, d = m.delay_ms] {
        (void)otp::receive_as<never_t>(milliseconds(d));
        gs::reply(f, v * 2);
        otp::send(server, helper_done{id});
        ctx->helpers.fetch_sub(1);
      });
    }
    return otp::noreply();
  }
  otp::call_result<int> handle_call(slow m, state& s) {
    ++s.n.calls;
    (void)otp::receive_as<never_t>(milliseconds(m.sleep_ms));
    ++s.n.replies;
    return otp::reply(m.v * 3);
  }
  otp::call_result<int> handle_call(halt m, state& s) {
    ++s.n.calls;
    ++s.n.replies;
    return otp::stop(stop_reason, m.v + 5);
  }
  otp::call_result<counts> handle_call(quiesce, const otp::from& f, state& s) {
    if (s.pending.empty()) return otp::reply(s.n);
    s.quiesce_waiters.push_back(f);
    return otp::noreply();
  }
  otp::cast_result handle_cast(add m, state& s) {
    s.n.casts += m.n;
    return otp::noreply();
  }
  otp::info_result handle_info(poke m, state& s) {
    s.n.infos += m.n;
    return otp::noreply();
  }
  otp::info_result handle_info(fire m, state& s) {
    auto it = s.pending.find(m.id);
    if (it != s.pending.end()) {
      gs::reply(it->second, m.v * 2);
      ++s.n.replies;
      s.pending.erase(it);
    }
    answer_quiesce(s);
    return otp::noreply();
  }
  otp::info_result handle_info(helper_done m, state& s) {
    if (s.pending.erase(m.id)) ++s.n.replies;
    answer_quiesce(s);
    return otp::noreply();
  }

  static void answer_quiesce(state& s) {
    if (!s.pending.empty()) return;
    for (auto& w : s.quiesce_waiters) gs::reply(w, s.n);
    s.quiesce_waiters.clear();
  }
};

// ------------------------------------------------------------ clients

struct client_plan {
  int idx = 0;
  std::uint64_t seed = 0;
  int ops = 0;
  int stop_at = -1;       // the op at which this client stops the server (-1: never)
  bool stop_by_halt = false;
};

struct client_report {
  int idx = 0;
  std::vector<std::string> errors;
  long casts = 0;  // sum of `add` amounts sent
  long infos = 0;  // sum of `poke` amounts sent
  long ok_calls = 0;
  long timeouts = 0;
  long stop_failures = 0;  // calls failed with noproc or the stop reason
};
struct check_mailbox {};
struct stray_report {
  int idx;
  std::vector<std::string> stray;
};

void run_client(client_plan plan, otp::server_ref<prop_srv> srv, std::shared_ptr<shared_ctx> ctx, otp::pid body) {
  std::mt19937_64 rng(plan.seed);
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  client_report rep;
  rep.idx = plan.idx;
  const otp::pid server = srv.get_pid();
  const std::string where_prefix = "{gen_server,call,[";

  // Checks one call's outcome; `expected` is the right reply.
  auto check = [&](const char* what, int v, bool short_timeout, int expected, auto&& do_call) {
    try {
      int got = do_call();
      if (got != expected)
        rep.errors.push_back(std::string(what) + " v=" + std::to_string(v) + ": got " + std::to_string(got) +
                             ", expected " + std::to_string(expected) + " (a reply to another call?)");
      else ++rep.ok_calls;
    } catch (const otp::exit_error& e) {
      const exit_reason& r = e.reason();
      const std::string text = r.to_string();
      if (!r.is_wrapped() || r.detail().substr(0, where_prefix.size()) != where_prefix) {
        rep.errors.push_back(std::string(what) + " v=" + std::to_string(v) + ": unwrapped reason " + text);
      } else if (r.inner() == exit_reason::timeout()) {
        if (short_timeout) ++rep.timeouts;
        else rep.errors.push_back(std::string(what) + " v=" + std::to_string(v) + ": long call timed out (lost reply?) " + text);
      } else if ((r.inner() == exit_reason::noproc() || r.inner() == stop_reason) && ctx->stopping.load()) {
        ++rep.stop_failures;
      } else {
        rep.errors.push_back(std::string(what) + " v=" + std::to_string(v) + ": unexpected reason " + text +
                             (ctx->stopping.load() ? " (stopping)" : " (not stopping)"));
      }
    } catch (const std::exception& e) {
      rep.errors.push_back(std::string(what) + " v=" + std::to_string(v) + ": exception " + e.what());
    }
  };
  auto call_timeout = [&](bool short_t) { return short_t ? milliseconds(pick(0, 10)) : long_timeout; };

  (void)recv<go>();
  for (int op = 0; op < plan.ops; ++op) {
    const int v = plan.idx * 1'000'000 + op;
    if (op == plan.stop_at) {
      ctx->stopping.store(true);
      if (plan.stop_by_halt) {
        check("halt", v, false, v + 5, [&] { return gs::call(srv, prop_srv::halt{v}, long_timeout); });
      } else {
        try {
          gs::stop(srv.target(), stop_reason);
        } catch (const otp::exit_error& e) {
          rep.errors.push_back("stop: " + e.reason().to_string());
        }
      }
      continue;
    }
    const int r = pick(0, 99);
    if (r < 20) {
      const bool short_t = pick(0, 3) == 0;
      const auto t = call_timeout(short_t);
      if (pick(0, 1))
        check("echo", v, short_t, v + 1, [&] { return gs::call(srv, prop_srv::echo{v}, t); });
      else  // untyped: matched at run time through `accepts`
        check("echo/untyped", v, short_t, v + 1, [&] { return gs::call(srv.target(), prop_srv::echo{v}, t); });
    } else if (r < 45) {
      const bool short_t = pick(0, 1) == 0;
      const auto t = call_timeout(short_t);
      prop_srv::deferred d{v, pick(0, 12), pick(0, 2) == 0};
      check(d.by_helper ? "deferred/helper" : "deferred/timer", v, short_t, v * 2,
            [&] { return gs::call(srv, d, t); });
    } else if (r < 55) {
      const bool short_t = pick(0, 1) == 0;
      const auto t = call_timeout(short_t);
      prop_srv::slow s{v, pick(0, 3)};
      check("slow", v, short_t, v * 3, [&] { return gs::call(srv, s, t); });
    } else if (r < 78) {
      const int n = pick(1, 5);
      gs::cast(srv, prop_srv::add{n});
      rep.casts += n;
    } else {
      const int n = pick(1, 5);
      otp::send(server, prop_srv::poke{n});
      rep.infos += n;
    }
  }

  // Everything the server could still send us is sent once it answers this
  // (no deferred call pending; replies of ours that missed come first), or
  // once we have its DOWN.
  bool quiesced = false;
  try {
    (void)gs::call(srv, prop_srv::quiesce{}, long_timeout);
    quiesced = true;
  } catch (const otp::exit_error& e) {
    const exit_reason& r = e.reason();
    if (!ctx->stopping.load() || !(r.inner() == exit_reason::noproc() || r.inner() == stop_reason))
      rep.errors.push_back("quiesce: " + r.to_string());
  }
  if (!quiesced) (void)await_down(otp::monitor(server));

  otp::send(body, std::move(rep));
  // The body tells us when the helpers are done too; then nothing may be left.
  (void)recv<check_mailbox>();
  stray_report sr{plan.idx, {}};
  for (auto& m : drain()) sr.stray.push_back(m.type_name() + " " + m.describe());
  otp::send(body, std::move(sr));
}

struct seed_totals {
  long ok_calls = 0, timeouts = 0, stop_failures = 0;
};

void run_seed(std::uint64_t seed, seed_totals& totals) {
  SCOPED_TRACE("seed " + std::to_string(seed));
  test_node node(clock_kind::real, 2, std::chrono::seconds(60));
  auto ctx = std::make_shared<shared_ctx>();
  auto srv = gs::start<prop_srv>(ctx).value();
  const otp::pid server = srv.get_pid();
  otp::ref server_mon = otp::monitor(server);

  const int clients = 4;
  const int ops = static_cast<int>(scaled(60, 6));
  std::mt19937_64 plan_rng(seed);
  const bool with_stop = seed % 3 == 0;
  const int stop_client = static_cast<int>(plan_rng() % clients);
  const int stop_op = static_cast<int>(plan_rng() % static_cast<std::uint64_t>(ops));

  const otp::pid body = otp::self();
  std::vector<std::pair<otp::pid, otp::ref>> procs;
  for (int i = 0; i < clients; ++i) {
    client_plan plan{i + 1, seed * 1000 + static_cast<std::uint64_t>(i), ops, -1, seed % 2 == 0};
    if (with_stop && i == stop_client) plan.stop_at = stop_op;
    procs.push_back(otp::spawn_monitor([plan, srv, ctx, body] { run_client(plan, srv, ctx, body); }));
  }
  for (auto& [p, m] : procs) otp::send(p, go{});

  long casts = 0, infos = 0;
  for (int i = 0; i < clients; ++i) {
    auto rep = recv<client_report>();
    for (auto& e : rep.errors) ADD_FAILURE() << "client " << rep.idx << ": " << e;
    casts += rep.casts;
    infos += rep.infos;
    totals.ok_calls += rep.ok_calls;
    totals.timeouts += rep.timeouts;
    totals.stop_failures += rep.stop_failures;
  }
  // No helper can send anything any more.
  ASSERT_TRUE(wait_until([&] { return ctx->helpers.load() == 0; }));

  if (!ctx->stopping.load()) {
    // Property 2: nothing lost on the server side.
    auto st = otp::sys::get_state(srv);
    EXPECT_TRUE(st.pending.empty());
    EXPECT_EQ(st.n.casts, casts);
    EXPECT_EQ(st.n.infos, infos);
    EXPECT_EQ(st.n.replies, st.n.calls);
    EXPECT_TRUE(otp::is_alive(server));
  } else {
    EXPECT_EQ(await_down(server_mon).reason, stop_reason);
  }

  for (auto& [p, m] : procs) otp::send(p, check_mailbox{});
  for (int i = 0; i < clients; ++i) {
    auto sr = recv<stray_report>();
    for (auto& s : sr.stray) ADD_FAILURE() << "client " << sr.idx << ": stray message left in its mailbox: " << s;
  }
  for (auto& [p, m] : procs) EXPECT_TRUE(await_down(m).reason.is_normal());
  if (!ctx->stopping.load()) {
    gs::stop(srv.target());
    EXPECT_TRUE(await_down(server_mon).reason.is_normal());
  }
  // The body's own mailbox: nothing unexpected either.
  for (auto& m : drain()) ADD_FAILURE() << "stray message in the test body: " << m.type_name();
}

}  // namespace

TEST(gen_server_property, random_calls_casts_infos_deferred_and_late_replies_stop) {
  seed_totals totals;
  const auto t0 = std::chrono::steady_clock::now();
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    run_seed(seed, totals);
    if (HasFatalFailure()) return;
  }
  const auto ms = std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - t0).count();
  std::printf("[ property ] 20 seeds in %lld ms: %ld calls answered, %ld short-timeout misses, %ld failed by the stop\n",
              static_cast<long long>(ms), totals.ok_calls, totals.timeouts, totals.stop_failures);
  // The mix must exercise late replies (short timeouts that miss), or property 3 tests nothing.
  if (stress_scale() >= 1.0) EXPECT_GT(totals.timeouts, 0);
}
