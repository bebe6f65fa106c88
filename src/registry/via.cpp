// `{via, Registry, {reg, key}}` (otp-semantics.md §9.5–9.6).
//
// One name_registry serves every registry: `otp::server_name` keeps a raw
// `name_registry*` (and gen_server keeps its name for reports after the
// registry may be gone), so the object behind it must outlive any registry.
// The server_name key encodes which registry: a named registry by its name
// (resolved at each use, like Elixir's `{MyReg, key}`, so a via name in a
// child spec keeps working after the registry restarts), an anonymous one
// by its instance id.

#include <fmt/format.h>

#include "otp/describe.hpp"
#include "otp/process.hpp"
#include "registry/registry_state.hpp"

namespace otp::detail {

namespace {

constexpr char by_name_tag = '\x01';
constexpr char by_id_tag = '\x02';

struct decoded {
  bool named = true;
  std::string_view registry;  // the name, or the id's digits
  std::string key;
};

decoded decode(const std::string& enc) {
  decoded d;
  auto sep = enc.find('\0');
  if (enc.size() < 2 || sep == std::string::npos || (enc[0] != by_name_tag && enc[0] != by_id_tag))
    throw badarg("registry via: malformed name");
  d.named = enc[0] == by_name_tag;
  d.registry = std::string_view(enc).substr(1, sep - 1);
  d.key = enc.substr(sep + 1);
  return d;
}

class registry_via final : public name_registry {
 public:
  bool register_name(const std::string& enc, const pid& p) override {
    auto [st, key] = resolve(enc);
    if (!(p == self())) throw badarg("registry via: register_name must be called by the process itself");
    registry_value value;
    {
      std::lock_guard lk(st->via_mu);
      auto it = st->via_values.find(key);
      if (it != st->via_values.end()) value = it->second;
      else if (st->typing.has_default) value = st->typing.default_value;
      else throw badarg("registry via: no value given for " + key + " and the value type has no default");
    }
    return registry_core::adopt(std::move(st)).register_key(key, std::move(value)).ok();
  }
  void unregister_name(const std::string& enc) override {
    auto [st, key] = resolve(enc);
    registry_core::adopt(std::move(st)).unregister(key);
  }
  std::optional<pid> whereis_name(const std::string& enc) override {
    auto [st, key] = resolve(enc);
    for (auto& e : registry_core::adopt(std::move(st)).lookup(key))
      if (is_alive(e.owner)) return e.owner;  // §9.6: a dead holder not yet cleaned up is filtered
    return std::nullopt;
  }
  std::string describe(const std::string& enc) const override {
    decoded d = decode(enc);
    std::string reg;
    if (d.named) {
      reg = quote(d.registry);
    } else {
      auto st = registry_by_id(std::stoull(std::string(d.registry)));
      reg = st && st->sup ? st->sup.to_string() : "#registry<" + std::string(d.registry) + ">";
    }
    return "{via,Registry,{" + reg + "," + quote(d.key) + "}}";
  }

 private:
  static std::pair<std::shared_ptr<registry_state>, std::string> resolve(const std::string& enc) {
    decoded d = decode(enc);
    std::shared_ptr<registry_state> st;
    if (d.named) {
      st = registry_by_name(d.registry);
      if (!st) throw badarg("unknown registry: " + std::string(d.registry));
    } else {
      st = registry_by_id(std::stoull(std::string(d.registry)));
      if (!st || !st->alive.load(std::memory_order_acquire)) throw badarg("unknown registry: <anonymous registry>");
    }
    if (!st->unique()) throw badarg(":via is not supported for duplicate registries");
    return {std::move(st), std::move(d.key)};
  }
};

}  // namespace

name_registry& registry_via_names() {
  static registry_via v;  // stateless: safe to use until exit
  return v;
}

server_name registry_core::via(std::string key, registry_value value) const {
  registry_state& s = state();
  if (!s.unique()) throw badarg(":via is not supported for duplicate registries");
  if (value) {
    std::lock_guard lk(s.via_mu);
    s.via_values[key] = std::move(value);
  }
  std::string enc;
  if (!s.name.empty()) enc = by_name_tag + s.name;
  else enc = by_id_tag + std::to_string(s.id);
  enc.push_back('\0');
  enc += key;
  return server_name(registry_via_names(), std::move(enc));
}

}  // namespace otp::detail
