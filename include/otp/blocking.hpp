#pragma once
/// \file otp/blocking.hpp
/// `otp::blocking(fn)`: runs a blocking function (file I/O, a C library call)
/// on the node's blocking thread pool while the calling process waits, so the
/// scheduler threads stay free (the BEAM's dirty schedulers). Returns fn's
/// result or rethrows its exception in the caller.

#include <exception>
#include <functional>
#include <optional>
#include <type_traits>
#include <utility>

namespace otp {

namespace detail {
/// Runs `job` on the blocking pool and waits (as a process: suspended, not
/// blocking the scheduler; as a foreign thread: runs it inline).
void run_blocking(std::function<void()> job);
}

template <class F>
auto blocking(F&& fn) -> std::invoke_result_t<F&> {
  using R = std::invoke_result_t<F&>;
  std::exception_ptr error;
  if constexpr (std::is_void_v<R>) {
    detail::run_blocking([&] {
      try { fn(); } catch (...) { error = std::current_exception(); }
    });
    if (error) std::rethrow_exception(error);
  } else {
    std::optional<R> result;
    detail::run_blocking([&] {
      try { result.emplace(fn()); } catch (...) { error = std::current_exception(); }
    });
    if (error) std::rethrow_exception(error);
    return std::move(*result);
  }
}

}  // namespace otp
