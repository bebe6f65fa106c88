// Stress: many senders into one mailbox, spawn/exit churn, and timers
// cancelled concurrently with their firing. Sizes scale with
// OTP_STRESS_SCALE (default 1.0; sanitizer runs use 0.1).

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "support/test_node.hpp"

namespace {

using namespace otp_test;
using otp::exit_reason;
using ms = std::chrono::milliseconds;

constexpr std::chrono::seconds stress_limit{300};

struct result {
  bool ok;
  std::string detail;
};

// Waits for a `T` from the workers; any worker (spawned with
// spawn_monitor) that dies abnormally first ends the wait with a failure,
// instead of leaving the test to hang.
template <class T>
std::optional<T> await_or_crash(std::string* crash) {
  for (;;) {
    auto m = otp::receive_any(otp::infinity);
    if (m->is<T>()) return std::move(m->template get<T>());
    if (auto* d = m->get_if<otp::down_msg>(); d && !d->reason.is_quiet()) {
      *crash = "process " + d->process.to_string() + " died: " + d->reason.to_string();
      return std::nullopt;
    }
  }
}

// ------------------------------------------------------------ fan-in

struct seq {
  std::uint32_t sender;
  std::uint32_t i;
};
struct credit {};
struct senders_msg {
  std::vector<otp::pid> senders;
};

TEST(stress, stress_100_senders_100k_messages_each_keep_per_sender_order) {
  test_node tn(clock_kind::real, 2, stress_limit);
  const std::uint32_t senders = 100;
  const auto per = static_cast<std::uint32_t>(scaled(100000, 1000));
  // Flow control keeps memory bounded (the mailbox itself is unbounded):
  // a sender waits for a credit after each window of messages.
  const std::uint32_t window = 10000;
  auto me = otp::self();

  auto receiver = otp::spawn_monitor([me, senders, per, window] {
    auto list = recv<senders_msg>().senders;
    std::vector<std::uint32_t> next(senders, 0);
    const std::uint64_t total = std::uint64_t{senders} * per;
    for (std::uint64_t k = 0; k < total; ++k) {
      auto s = recv<seq>();
      if (s.sender >= senders || s.i != next[s.sender]) {
        otp::send(me, result{false, "sender " + std::to_string(s.sender) + ": expected " +
                                        std::to_string(s.sender < senders ? next[s.sender] : 0) + " got " +
                                        std::to_string(s.i)});
        return;
      }
      ++next[s.sender];
      if ((s.i + 1) % window == 0 && s.i + 1 < per) otp::send(list[s.sender], credit{});
    }
    otp::send(me, result{true, ""});
  }).first;

  senders_msg list;
  for (std::uint32_t s = 0; s < senders; ++s) {
    list.senders.push_back(otp::spawn_monitor([receiver, s, per, window] {
      (void)recv<go>();
      for (std::uint32_t i = 0; i < per; ++i) {
        otp::send(receiver, seq{s, i});
        if ((i + 1) % window == 0 && i + 1 < per) (void)recv<credit>();
      }
    }).first);
  }
  auto all = list.senders;
  otp::send(receiver, std::move(list));
  for (auto& s : all) otp::send(s, go{});
  std::string crash;
  auto r = await_or_crash<result>(&crash);
  ASSERT_TRUE(r.has_value()) << crash;
  EXPECT_TRUE(r->ok) << r->detail;
}

// ------------------------------------------------------------ churn

struct churn_done {
  std::uint64_t spawned;
  std::uint64_t downs;
  std::uint64_t abnormal;
  std::string first_abnormal;
};

// Spawns `total` short-lived processes, at most `max_alive` at a time, each
// through spawn_monitor; waits for every DOWN.
churn_done churn(std::uint64_t total, std::uint64_t max_alive) {
  auto me = otp::self();
  auto [driver, driver_ref] = otp::spawn_monitor([me, total, max_alive] {
    churn_done d{0, 0, 0, ""};
    auto start_one = [&] {
      // Every 1000th exits with `shutdown` (quiet, not normal).
      if (d.spawned % 1000 == 999) (void)otp::spawn_monitor([] { otp::exit(exit_reason::shutdown()); });
      else (void)otp::spawn_monitor([] {});
      ++d.spawned;
    };
    while (d.spawned < std::min(total, max_alive)) start_one();
    while (d.downs < total) {
      auto down = recv<otp::down_msg>();
      ++d.downs;
      if (!down.reason.is_quiet()) {
        if (d.abnormal++ == 0) d.first_abnormal = down.reason.to_string();
      }
      if (d.spawned < total) start_one();
    }
    otp::send(me, std::move(d));
  });
  std::string crash;
  auto done = await_or_crash<churn_done>(&crash);
  if (!done) {
    ADD_FAILURE() << crash;
    return churn_done{0, 0, 0, crash};
  }
  (void)await_down(driver_ref);  // the driver itself is gone too: counts are settled
  return *done;
}

TEST(stress, stress_spawn_exit_churn_1m_processes_returns_to_baseline) {
  test_node tn(clock_kind::real, 2, stress_limit);
  (void)otp::self();
  const std::uint64_t max_alive = 1000;
  // Warm-up: let pools (stacks, control blocks) reach their working size.
  auto warm = churn(20000, max_alive);
  ASSERT_EQ(warm.downs, 20000u);
  auto base_count = tn->process_count();
  auto base_rss = rss_bytes();

  const std::uint64_t total = scaled(1000000, 20000);
  auto d = churn(total, max_alive);
  EXPECT_EQ(d.spawned, total);
  EXPECT_EQ(d.downs, total);
  EXPECT_EQ(d.abnormal, 0u) << "first abnormal reason: " << d.first_abnormal;

  EXPECT_TRUE(wait_until([&] { return tn->process_count() <= base_count; }, std::chrono::seconds(30)));
  EXPECT_EQ(tn->process_count(), base_count);
  auto rss = rss_bytes();
  const std::size_t limit = 64u << 20;
#if defined(__SANITIZE_ADDRESS__)
  // ASan keeps freed memory in its quarantine (256 MiB by default), so RSS
  // says nothing about leaks there; LeakSanitizer checks those instead.
  (void)limit;
#else
  EXPECT_LE(rss, base_rss + limit) << "RSS grew from " << (base_rss >> 20) << " MiB to " << (rss >> 20) << " MiB";
  std::printf("[ churn    ] %llu processes, RSS %zu MiB -> %zu MiB\n", static_cast<unsigned long long>(total),
              base_rss >> 20, rss >> 20);
#endif
}

// ------------------------------------------------------------ timers vs cancel

struct tick {
  std::uint32_t id;
};
struct batch {
  std::vector<std::pair<std::uint32_t, otp::ref>> items;
};
struct creating_done {};
struct cancel_report {
  std::vector<std::uint8_t> cancelled;  // 1 if this canceller's cancel returned a value
  std::uint64_t bad_remaining;          // remaining times outside [0, 5] ms
};
struct marker {};

TEST(stress, stress_100k_timers_cancelled_concurrently_with_firing) {
  test_node tn(clock_kind::real, 2, stress_limit);
  const auto n = static_cast<std::uint32_t>(scaled(100000, 5000));
  auto me = otp::self();

  // R: the destination of every timer; checks the outcome.
  auto r = otp::spawn_monitor([me, n] {
    std::vector<std::uint32_t> arrived(n, 0);
    std::vector<cancel_report> reports;
    bool marked = false;
    while (!marked) {
      otp::receive(
          [&](const tick& t) {
            if (t.id < n) ++arrived[t.id];
          },
          [&](cancel_report& c) {
            reports.push_back(std::move(c));
            // Every timer was created before the cancellers finished and is
            // due within 5 ms of creation; this marker is due well after all.
            if (reports.size() == 2) (void)otp::send_after(otp::self(), marker{}, 100ms);
          },
          [&](const marker&) { marked = true; });
    }
    std::uint64_t cancelled = 0, fired = 0, lost = 0, dup = 0, leaked = 0, double_cancel = 0, bad_rem = 0;
    std::string first;
    for (std::uint32_t i = 0; i < n; ++i) {
      int c = reports[0].cancelled[i] + reports[1].cancelled[i];
      if (c > 1) ++double_cancel;
      if (c >= 1) {
        ++cancelled;
        if (arrived[i] != 0) {
          ++leaked;
          if (first.empty()) first = "timer " + std::to_string(i) + " cancelled but delivered";
        }
      } else {
        ++fired;
        if (arrived[i] == 0) {
          ++lost;
          if (first.empty()) first = "timer " + std::to_string(i) + " neither cancelled nor delivered";
        } else if (arrived[i] > 1) {
          ++dup;
          if (first.empty()) first = "timer " + std::to_string(i) + " delivered " + std::to_string(arrived[i]) + " times";
        }
      }
    }
    bad_rem = reports[0].bad_remaining + reports[1].bad_remaining;
    bool ok = lost == 0 && dup == 0 && leaked == 0 && double_cancel == 0 && bad_rem == 0;
    std::printf("[ timers   ] %u timers: %llu cancelled, %llu fired\n", n, static_cast<unsigned long long>(cancelled),
                static_cast<unsigned long long>(fired));
    otp::send(me, result{ok, "lost=" + std::to_string(lost) + " duplicated=" + std::to_string(dup) +
                                 " cancelled_but_delivered=" + std::to_string(leaked) +
                                 " cancelled_twice=" + std::to_string(double_cancel) +
                                 " bad_remaining=" + std::to_string(bad_rem) + " first: " + first});
  }).first;

  // K1, K2: cancel every timer they are told about, racing each other and
  // the expiry.
  auto canceller = [r, n] {
    cancel_report rep{std::vector<std::uint8_t>(n, 0), 0};
    for (bool done = false; !done;) {
      otp::receive(
          [&](const batch& b) {
            for (auto& [id, tref] : b.items) {
              auto left = otp::cancel_timer(tref);
              if (left) {
                rep.cancelled[id] = 1;
                if (*left < ms(0) || *left > ms(5)) ++rep.bad_remaining;
              }
            }
          },
          [&](creating_done) { done = true; });
    }
    otp::send(r, std::move(rep));
  };
  auto k1 = otp::spawn_monitor(canceller).first;
  auto k2 = otp::spawn_monitor(canceller).first;

  // C: creates the timers (delays 0..5 ms) and hands out their refs in batches.
  otp::spawn_monitor([r, k1, k2, n] {
    batch b;
    for (std::uint32_t i = 0; i < n; ++i) {
      b.items.emplace_back(i, otp::send_after(r, tick{i}, ms(i % 6)));
      if (b.items.size() == 128 || i + 1 == n) {
        otp::send(k1, b);
        otp::send(k2, std::move(b));
        b = batch{};
      }
    }
    otp::send(k1, creating_done{});
    otp::send(k2, creating_done{});
  });

  std::string crash;
  auto res = await_or_crash<result>(&crash);
  ASSERT_TRUE(res.has_value()) << crash;
  EXPECT_TRUE(res->ok) << res->detail;
}

}  // namespace
