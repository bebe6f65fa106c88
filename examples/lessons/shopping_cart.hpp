#pragma once
/// \file examples/lessons/shopping_cart.hpp
/// `ShoppingCart` — seed 001 ("Practice: Shopping Cart GenServer"):
///   start_link/0           starts with an empty list of items
///   add_item(item, price)  adds an item (call, so the caller gets confirmation)
///   remove_item(item)      removes the first matching item (call; List.keydelete/3)
///   list_items/0           all items as a list of {item, price} tuples
///   total/0                the sum of all item prices
///   clear/0                empties the cart (cast)
/// Bonus: a handle_info that clears the cart after 30 minutes of
/// inactivity; the timer is reset on every add or remove with
/// Process.send_after/3. The 30 minutes are configurable here
/// (`options::inactivity`).
///
/// The seed's client functions take no pid, so the cart is registered as
/// `ShoppingCart`. The state is the seed's list of {item, price} tuples
/// (in the order added) plus the pending timer. A timer message that was
/// already queued when the timer was reset must not clear the cart: each
/// arm carries a sequence number and only the latest one counts.

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "common.hpp"

namespace lessons::shopping_cart {

using namespace std::chrono_literals;
inline const std::string name = "ShoppingCart";

using item = std::pair<std::string, double>;  // {item, price}

struct options {
  std::chrono::milliseconds inactivity = 30min;
};

// --- Server callbacks
struct server {
  struct state {
    std::vector<item> items;
    std::chrono::milliseconds inactivity{};
    otp::ref timer;           // the armed inactivity timer
    std::uint64_t seq = 0;    // which arm is current
    std::size_t inactivity_clears = 0;
  };
  struct add_item_req {
    using reply = ok_t;
    std::string item;
    double price;
  };
  struct remove_item_req {
    using reply = ok_t;
    std::string item;
  };
  struct list_items_req {
    using reply = std::vector<item>;
  };
  struct total_req {
    using reply = double;
  };
  struct clear_msg {};
  struct inactive {  // the :inactivity_timeout info
    std::uint64_t seq;
  };
  using accepts = otp::types<inactive>;

  otp::init_result<state> init(options o) { return otp::ok(state{.inactivity = o.inactivity}); }

  otp::call_result<ok_t> handle_call(add_item_req r, state& s) {
    s.items.emplace_back(std::move(r.item), r.price);
    reset_timer(s);
    return otp::reply(ok);
  }
  otp::call_result<ok_t> handle_call(remove_item_req r, state& s) {
    // List.keydelete(items, item, 0): the first tuple whose element 0 matches.
    auto it = std::find_if(s.items.begin(), s.items.end(), [&](const item& i) { return i.first == r.item; });
    if (it != s.items.end()) s.items.erase(it);
    reset_timer(s);
    return otp::reply(ok);
  }
  otp::call_result<std::vector<item>> handle_call(list_items_req, state& s) { return otp::reply(s.items); }
  otp::call_result<double> handle_call(total_req, state& s) {
    double sum = 0;
    for (auto& [_, price] : s.items) sum += price;
    return otp::reply(sum);
  }
  otp::cast_result handle_cast(clear_msg, state& s) {
    s.items.clear();
    return otp::noreply();
  }
  otp::info_result handle_info(inactive m, state& s) {
    if (m.seq != s.seq) return otp::noreply();  // a stale timer: reset since
    s.items.clear();
    s.timer = {};
    ++s.inactivity_clears;
    return otp::noreply();
  }

 private:
  static void reset_timer(state& s) {
    if (s.timer) otp::cancel_timer(s.timer);
    s.timer = otp::send_after(otp::self(), inactive{++s.seq}, s.inactivity);
  }
};

using ref = otp::server_ref<server>;
inline ref cart() { return ref(name); }

// --- Client API
inline otp::start_result<server> start_link(options o = {}) {
  return otp::gen_server::start_link<server>(o, {.name = name});
}
inline void add_item(std::string item, double price) {
  (void)otp::gen_server::call(cart(), server::add_item_req{std::move(item), price});
}
inline void remove_item(std::string item) { (void)otp::gen_server::call(cart(), server::remove_item_req{std::move(item)}); }
inline std::vector<item> list_items() { return otp::gen_server::call(cart(), server::list_items_req{}); }
inline double total() { return otp::gen_server::call(cart(), server::total_req{}); }
inline void clear() { otp::gen_server::cast(cart(), server::clear_msg{}); }

}  // namespace lessons::shopping_cart
