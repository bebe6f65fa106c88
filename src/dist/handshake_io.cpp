#include "dist/handshake_io.hpp"

#include <fmt/format.h>

#include <array>
#include <memory>

namespace otp::internal {

namespace {

// One run: owns the state machine, the deadline timer and the buffers; kept
// alive by the handlers it has pending.
class handshake_op : public std::enable_shared_from_this<handshake_op> {
 public:
  handshake_op(asio::ip::tcp::socket& socket, handshake hs, std::function<void(handshake_outcome)> handler)
      : socket_(socket), timer_(socket.get_executor()), hs_(std::move(hs)), handler_(std::move(handler)) {}

  void start(std::chrono::steady_clock::duration timeout) {
    timer_.expires_after(timeout);
    timer_.async_wait([self = shared_from_this(), timeout](const std::error_code& ec) {
      if (ec || self->finished_) return;
      self->timeout_ = fmt::format(
          "handshake timeout after {} ms",
          std::chrono::duration_cast<std::chrono::milliseconds>(timeout).count());
      self->socket_.cancel();  // the pending read or write completes with operation_aborted
    });
    next();
  }

 private:
  // Write what the state machine produced, else stop if it finished, else read.
  void next() {
    if (hs_.has_output()) return write();
    if (hs_.state() != handshake_state::in_progress) return finish();
    socket_.async_read_some(asio::buffer(in_), [self = shared_from_this()](const std::error_code& ec, std::size_t n) {
      self->on_read(ec, n);
    });
  }

  void write() {
    out_ = hs_.take_output();
    asio::async_write(socket_, asio::buffer(out_), [self = shared_from_this()](const std::error_code& ec, std::size_t) {
      if (ec) return self->io_failed("write", ec);
      self->next();
    });
  }

  void on_read(const std::error_code& ec, std::size_t n) {
    if (!timeout_.empty()) return io_failed("read", ec);
    if (ec == asio::error::eof || ec == asio::error::connection_reset) {
      hs_.on_eof();
      return next();
    }
    if (ec) return io_failed("read", ec);
    const std::string_view got(in_.data(), n);
    const std::size_t used = hs_.feed(got);
    if (hs_.state() == handshake_state::done) leftover_ = std::string(got.substr(used));
    next();
  }

  void io_failed(const char* what, const std::error_code& ec) {
    hs_.abort(timeout_.empty() ? fmt::format("{} error: {}", what, ec.message()) : timeout_);
    finish();
  }

  void finish() {
    finished_ = true;
    timer_.cancel();
    handler_(handshake_outcome{std::move(hs_), std::move(leftover_)});
  }

  asio::ip::tcp::socket& socket_;
  asio::steady_timer timer_;
  handshake hs_;
  std::function<void(handshake_outcome)> handler_;
  std::array<char, 4096> in_{};
  std::string out_;
  std::string leftover_;
  std::string timeout_;  // set when the deadline passed
  bool finished_ = false;
};

}  // namespace

void async_handshake(asio::ip::tcp::socket& socket, handshake hs, std::chrono::steady_clock::duration timeout,
                     std::function<void(handshake_outcome)> handler) {
  std::make_shared<handshake_op>(socket, std::move(hs), std::move(handler))->start(timeout);
}

}  // namespace otp::internal
