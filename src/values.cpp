// Small value types: pid, ref, exit_reason, message type names.

#include <cxxabi.h>

#include <atomic>
#include <cstdlib>
#include <memory>
#include <typeinfo>

#include "otp/exit_reason.hpp"
#include "otp/message.hpp"
#include "otp/pid.hpp"
#include "otp/ref.hpp"
#include "dist/dist_node.hpp"
#include "process/process.hpp"

namespace otp {

namespace detail {
void destroy_process(process_base* p) noexcept { delete static_cast<internal::process*>(p); }

std::string demangle(const char* mangled) {
  int status = 0;
  std::unique_ptr<char, decltype(&std::free)> out(abi::__cxa_demangle(mangled, nullptr, nullptr, &status), &std::free);
  return status == 0 && out ? std::string(out.get()) : std::string(mangled);
}
std::string quote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}
}  // namespace detail

std::string pid::to_string() const {
  auto* p = static_cast<internal::process*>(p_);
  if (p && p->remote()) return internal::remote_pid_text(*p->remote());
  return "<0." + std::to_string(serial()) + ".0>";
}

std::string ref::to_string() const { return "#Ref<0." + std::to_string(id_) + ">"; }

ref make_ref() {
  // Each thread takes blocks of ids from one counter, so making a ref costs
  // no shared atomic operation on the hot path (calls make one per request).
  static std::atomic<std::uint64_t> next_block{1};
  constexpr std::uint64_t block = 1024;
  thread_local std::uint64_t cur = 0, end = 0;
  if (cur == end) {
    cur = next_block.fetch_add(block, std::memory_order_relaxed);
    end = cur + block;
  }
  return ref(cur++);
}

// ---------------------------------------------------------------- exit_reason

exit_reason exit_reason::shutdown(std::string detail) {
  return exit_reason(kind::shutdown, std::make_shared<const payload>(payload{std::move(detail), {}, {}}));
}

exit_reason exit_reason::other(std::string text) {
  return exit_reason(kind::other, std::make_shared<const payload>(payload{std::move(text), {}, {}}));
}

exit_reason exit_reason::from_exception(const std::exception_ptr& e) {
  std::string type = "unknown";
  std::string what;
  if (const std::type_info* t = abi::__cxa_current_exception_type()) type = detail::demangle(t->name());
  try {
    if (e) std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    what = ex.what();
    type = detail::demangle(typeid(ex).name());
  } catch (...) {
  }
  return exit_reason(kind::exception, std::make_shared<const payload>(payload{std::move(type), std::move(what), {}}));
}

exit_reason exit_reason::exception(std::string type_name, std::string what) {
  return exit_reason(kind::exception, std::make_shared<const payload>(payload{std::move(type_name), std::move(what), {}}));
}

exit_reason exit_reason::wrap(exit_reason inner, std::string where) {
  return exit_reason(kind::wrapped, std::make_shared<const payload>(payload{
                                        std::move(where), {}, std::make_shared<const exit_reason>(std::move(inner))}));
}

const exit_reason& exit_reason::inner() const noexcept {
  return kind_ == kind::wrapped ? *payload_->inner : *this;
}

std::string_view exit_reason::detail() const noexcept { return payload_ ? std::string_view(payload_->detail) : std::string_view(); }

std::string_view exit_reason::what() const noexcept { return payload_ ? std::string_view(payload_->what) : std::string_view(); }


std::string exit_reason::to_string() const {
  switch (kind_) {
    case kind::normal: return "normal";
    case kind::shutdown: return payload_ ? "{shutdown," + std::string(detail()) + "}" : "shutdown";
    case kind::kill: return "kill";
    case kind::killed: return "killed";
    case kind::noproc: return "noproc";
    case kind::exception: return "{'" + std::string(detail()) + "'," + detail::quote(what()) + "}";
    case kind::other: return std::string(detail());
    case kind::wrapped: {
      // Appended piece by piece: `"{" + std::string&&` trips GCC 12's
      // -Wrestrict false positive (GCC bug 105329).
      std::string s = "{";
      s.append(inner().to_string()).append(",").append(detail()).append("}");
      return s;
    }
  }
  return "?";
}

bool operator==(const exit_reason& a, const exit_reason& b) noexcept {
  return a.kind_ == b.kind_ && a.detail() == b.detail() && a.what() == b.what() &&
         (a.kind_ != exit_reason::kind::wrapped || a.inner() == b.inner());
}

}  // namespace otp
