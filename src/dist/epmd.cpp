#include "dist/epmd.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <thread>

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace otp::internal {

namespace {

using clock = std::chrono::steady_clock;

constexpr std::uint8_t alive2_req = 120;
constexpr std::uint8_t alive2_x_resp = 118;
constexpr std::uint8_t alive2_resp = 121;
constexpr std::uint8_t port_please2_req = 122;
constexpr std::uint8_t port2_resp = 119;
constexpr std::uint8_t names_req = 110;
// A NAMES_RESP lists every node of the host; more than this is not an epmd.
constexpr std::size_t max_names_resp = 1 << 20;

// ---- big-endian helpers

void put16(std::string& out, std::uint16_t v) {
  out += static_cast<char>(v >> 8);
  out += static_cast<char>(v & 0xff);
}

std::uint16_t get16(std::string_view b, std::size_t at) {
  return static_cast<std::uint16_t>((static_cast<std::uint8_t>(b[at]) << 8) | static_cast<std::uint8_t>(b[at + 1]));
}

std::uint32_t get32(std::string_view b, std::size_t at) {
  return (std::uint32_t{get16(b, at)} << 16) | get16(b, at + 2);
}

std::string with_length_prefix(std::string_view request) {
  std::string out;
  put16(out, static_cast<std::uint16_t>(request.size()));
  out += request;
  return out;
}

// ---- blocking socket with a deadline

class socket_fd {
 public:
  explicit socket_fd(int fd) noexcept : fd_(fd) {}
  socket_fd(socket_fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  socket_fd& operator=(socket_fd&& o) noexcept {
    std::swap(fd_, o.fd_);
    return *this;
  }
  ~socket_fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const noexcept { return fd_; }
  int release() noexcept { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

int ms_left(clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now()).count();
  return left <= 0 ? 0 : static_cast<int>(std::min<long long>(left, 60'000));
}

// Waits for `events` on fd; false on timeout.
bool wait_for(int fd, short events, clock::time_point deadline) {
  for (;;) {
    pollfd p{fd, events, 0};
    const int r = ::poll(&p, 1, ms_left(deadline));
    if (r > 0) return true;
    if (r == 0) return false;
    if (errno != EINTR) throw epmd_error(fmt::format("poll: {}", std::strerror(errno)));
  }
}

// Non-blocking connect to one address, finished within the deadline.
std::optional<socket_fd> try_connect(const addrinfo& ai, clock::time_point deadline, std::string& why) {
  socket_fd s(::socket(ai.ai_family, ai.ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai.ai_protocol));
  if (s.get() < 0) {
    why = std::strerror(errno);
    return std::nullopt;
  }
  if (::connect(s.get(), ai.ai_addr, ai.ai_addrlen) != 0) {
    if (errno != EINPROGRESS) {
      why = std::strerror(errno);
      return std::nullopt;
    }
    if (!wait_for(s.get(), POLLOUT, deadline)) {
      why = "timeout";
      return std::nullopt;
    }
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(s.get(), SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) {
      why = std::strerror(err);
      return std::nullopt;
    }
  }
  int one = 1;
  ::setsockopt(s.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return s;
}

socket_fd connect_epmd(std::string_view host, clock::time_point deadline) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* list = nullptr;
  const std::string host_s(host);
  const std::string port_s = std::to_string(epmd_port());
  if (const int rc = ::getaddrinfo(host_s.c_str(), port_s.c_str(), &hints, &list); rc != 0)
    throw epmd_error(fmt::format("cannot resolve epmd host '{}': {}", host, ::gai_strerror(rc)));
  std::string why = "no address";
  for (addrinfo* ai = list; ai != nullptr; ai = ai->ai_next) {
    if (auto s = try_connect(*ai, deadline, why)) {
      ::freeaddrinfo(list);
      return std::move(*s);
    }
  }
  ::freeaddrinfo(list);
  throw epmd_error(fmt::format("cannot connect to epmd at {}:{}: {}", host, port_s, why));
}

void send_all(int fd, std::string_view data, clock::time_point deadline) {
  while (!data.empty()) {
    const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n > 0) {
      data.remove_prefix(static_cast<std::size_t>(n));
    } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      if (!wait_for(fd, POLLOUT, deadline)) throw epmd_error("timeout sending to epmd");
    } else {
      throw epmd_error(fmt::format("send to epmd: {}", std::strerror(errno)));
    }
  }
}

// Appends what arrives to `buf`; false at end of stream.
bool recv_some(int fd, std::string& buf, clock::time_point deadline) {
  char chunk[4096];
  for (;;) {
    const ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
    if (n > 0) {
      buf.append(chunk, static_cast<std::size_t>(n));
      return true;
    }
    if (n == 0) return false;
    if (errno == ECONNRESET) return false;
    if (errno != EAGAIN && errno != EINTR) throw epmd_error(fmt::format("recv from epmd: {}", std::strerror(errno)));
    if (!wait_for(fd, POLLIN, deadline)) throw epmd_error("timeout waiting for epmd's reply");
  }
}

// Sends a request and reads until `parse` gives a reply (or epmd closes).
template <class Parse>
auto request(std::string_view host, std::string_view req, std::chrono::milliseconds timeout, Parse parse,
             socket_fd* keep = nullptr) {
  const auto deadline = clock::now() + timeout;
  socket_fd s = connect_epmd(host, deadline);
  send_all(s.get(), req, deadline);
  std::string buf;
  for (;;) {
    const bool more = recv_some(s.get(), buf, deadline);
    if (auto reply = parse(buf, !more)) {
      if (keep != nullptr) *keep = socket_fd(s.release());
      return *reply;
    }
    if (!more) throw epmd_error("epmd closed the connection before replying");
  }
}

std::string find_on_path(std::string_view program) {
  const char* path = std::getenv("PATH");
  std::string_view rest = path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin";
  while (!rest.empty()) {
    const auto colon = rest.find(':');
    const std::string_view dir = rest.substr(0, colon);
    rest = colon == std::string_view::npos ? std::string_view{} : rest.substr(colon + 1);
    const std::string candidate = fmt::format("{}/{}", dir.empty() ? "." : dir, program);
    struct stat st {};
    if (::stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(candidate.c_str(), X_OK) == 0)
      return candidate;
  }
  return {};
}

bool epmd_answers(std::chrono::milliseconds timeout) {
  try {
    epmd_names("127.0.0.1", timeout);
    return true;
  } catch (const epmd_error&) {
    return false;
  }
}

// Runs `epmd -daemon`; it forks a detached daemon (own session) and exits.
void start_epmd_daemon() {
  const std::string epmd = find_on_path("epmd");
  if (epmd.empty())
    throw epmd_error("no epmd answers on 127.0.0.1 and no 'epmd' program is on PATH (install Erlang/OTP, "
                     "Debian package erlang-base or erlang-nox)");
  char arg0[] = "epmd";
  char arg1[] = "-daemon";
  char* argv[] = {arg0, arg1, nullptr};
  pid_t pid = 0;
  if (const int rc = ::posix_spawn(&pid, epmd.c_str(), nullptr, nullptr, argv, environ); rc != 0)
    throw epmd_error(fmt::format("cannot run {} -daemon: {}", epmd, std::strerror(rc)));
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    throw epmd_error(fmt::format("{} -daemon failed (wait status {})", epmd, status));
}

}  // namespace

// ------------------------------------------------------------ configuration

std::uint16_t epmd_port() {
  const char* env = std::getenv("ERL_EPMD_PORT");
  if (env == nullptr || *env == '\0') return epmd_default_port;
  const std::string_view s(env);
  unsigned v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || end != s.data() + s.size() || v == 0 || v > 65535)
    throw epmd_error(fmt::format("ERL_EPMD_PORT='{}' is not a port number", s));
  return static_cast<std::uint16_t>(v);
}

void validate_alive_name(std::string_view alive) {
  if (alive.empty() || alive.size() > 255 || alive.find('@') != std::string_view::npos)
    throw epmd_error(fmt::format("'{}' is not a valid node name part (1-255 bytes, no '@')", alive));
}

// ------------------------------------------------------------ wire format

std::string encode_alive2_req(std::string_view alive, std::uint16_t listen_port) {
  validate_alive_name(alive);
  std::string req;
  req += static_cast<char>(alive2_req);
  put16(req, listen_port);
  req += static_cast<char>(epmd_node_type_normal);
  req += '\0';  // protocol: TCP/IPv4
  put16(req, dist_version);  // highest
  put16(req, dist_version);  // lowest: we speak only version 6 (OTP 25+ registers 6 as well, per the docs)
  put16(req, static_cast<std::uint16_t>(alive.size()));
  req += alive;
  put16(req, 0);  // Extra
  return with_length_prefix(req);
}

std::optional<alive2_reply> parse_alive2_resp(std::string_view b, std::size_t* consumed) {
  if (b.empty()) return std::nullopt;
  const auto tag = static_cast<std::uint8_t>(b[0]);
  const std::size_t size = tag == alive2_x_resp ? 6 : tag == alive2_resp ? 4 : 0;
  if (size == 0) throw epmd_error(fmt::format("epmd answered ALIVE2_REQ with tag {}", tag));
  if (b.size() < size) return std::nullopt;
  if (consumed != nullptr) *consumed = size;
  const auto result = static_cast<std::uint8_t>(b[1]);
  return alive2_reply{result, size == 6 ? get32(b, 2) : get16(b, 2)};
}

std::string encode_port_please2_req(std::string_view alive) {
  validate_alive_name(alive);
  std::string req(1, static_cast<char>(port_please2_req));
  req += alive;
  return with_length_prefix(req);
}

std::optional<port2_reply> parse_port2_resp(std::string_view b) {
  if (b.empty()) return std::nullopt;
  if (static_cast<std::uint8_t>(b[0]) != port2_resp)
    throw epmd_error(fmt::format("epmd answered PORT_PLEASE2_REQ with tag {}", static_cast<std::uint8_t>(b[0])));
  if (b.size() < 2) return std::nullopt;
  if (b[1] != 0) return port2_reply{};
  // 119, 0, PortNo:16, NodeType, Protocol, Highest:16, Lowest:16, Nlen:16, Name, Elen:16, Extra
  constexpr std::size_t fixed = 12;
  if (b.size() < fixed) return std::nullopt;
  const std::size_t nlen = get16(b, 10);
  if (b.size() < fixed + nlen + 2) return std::nullopt;
  const std::size_t elen = get16(b, fixed + nlen);
  if (b.size() < fixed + nlen + 2 + elen) return std::nullopt;
  port2_reply r;
  r.registered = true;
  r.info.port = get16(b, 2);
  r.info.node_type = static_cast<std::uint8_t>(b[4]);
  r.info.protocol = static_cast<std::uint8_t>(b[5]);
  r.info.highest_version = get16(b, 6);
  r.info.lowest_version = get16(b, 8);
  r.info.name = std::string(b.substr(fixed, nlen));
  return r;
}

std::string encode_names_req() {
  return with_length_prefix(std::string(1, static_cast<char>(names_req)));
}

std::vector<std::pair<std::string, std::uint16_t>> parse_names_resp(std::string_view b) {
  if (b.size() < 4) throw epmd_error("epmd's NAMES_RESP is shorter than its 4-byte header");
  b.remove_prefix(4);
  std::vector<std::pair<std::string, std::uint16_t>> names;
  constexpr std::string_view name_kw = "name ", port_kw = " at port ";
  while (!b.empty()) {
    const auto nl = b.find('\n');
    if (nl == std::string_view::npos) break;  // an unterminated last line is dropped, as erl_epmd does
    std::string_view line = b.substr(0, nl);
    b.remove_prefix(nl + 1);
    if (!line.starts_with(name_kw)) continue;
    line.remove_prefix(name_kw.size());
    const auto at = line.find(port_kw);
    if (at == std::string_view::npos) continue;
    const std::string_view port_s = line.substr(at + port_kw.size());
    unsigned port = 0;
    const auto [end, ec] = std::from_chars(port_s.data(), port_s.data() + port_s.size(), port);
    if (ec != std::errc{} || end != port_s.data() + port_s.size() || port > 65535) continue;
    names.emplace_back(std::string(line.substr(0, at)), static_cast<std::uint16_t>(port));
  }
  return names;
}

// ------------------------------------------------------------ client

epmd_registration& epmd_registration::operator=(epmd_registration&& o) noexcept {
  if (this != &o) {
    close();
    fd_ = std::exchange(o.fd_, -1);
    alive_ = std::move(o.alive_);
    creation_ = o.creation_;
  }
  return *this;
}

epmd_registration::~epmd_registration() { close(); }

void epmd_registration::close() noexcept {
  if (fd_ >= 0) ::close(std::exchange(fd_, -1));
}

bool epmd_registration::still_registered() const {
  if (fd_ < 0) return false;
  pollfd p{fd_, POLLIN, 0};
  if (::poll(&p, 1, 0) <= 0) return true;
  // epmd never sends anything after its reply: readable means closed (or garbage).
  char c = 0;
  return ::recv(fd_, &c, 1, MSG_PEEK | MSG_DONTWAIT) < 0 && errno == EAGAIN;
}

epmd_registration epmd_register(std::string_view alive, std::uint16_t listen_port,
                                std::chrono::milliseconds timeout) {
  const std::string req = encode_alive2_req(alive, listen_port);
  socket_fd conn(-1);
  const alive2_reply reply = request(
      "127.0.0.1", req, timeout, [](std::string_view buf, bool) { return parse_alive2_resp(buf); }, &conn);
  if (reply.result != 0)
    throw epmd_error(fmt::format("epmd refused to register '{}' (result {}): the name is already in use", alive,
                                 reply.result));
  return epmd_registration(conn.release(), std::string(alive), reply.creation);
}

std::optional<port_info> epmd_port_please(std::string_view host, std::string_view alive,
                                          std::chrono::milliseconds timeout) {
  const port2_reply reply =
      request(host, encode_port_please2_req(alive), timeout, [](std::string_view buf, bool) { return parse_port2_resp(buf); });
  if (!reply.registered) return std::nullopt;
  return reply.info;
}

std::vector<std::pair<std::string, std::uint16_t>> epmd_names(std::string_view host,
                                                              std::chrono::milliseconds timeout) {
  using names_t = std::vector<std::pair<std::string, std::uint16_t>>;
  return request(host, encode_names_req(), timeout, [](std::string_view buf, bool at_end) -> std::optional<names_t> {
    if (buf.size() > max_names_resp) throw epmd_error("epmd's NAMES_RESP is implausibly large");
    if (!at_end) return std::nullopt;  // the reply ends when epmd closes the connection
    return parse_names_resp(buf);
  });
}

void ensure_epmd_running(std::chrono::milliseconds timeout) {
  const auto deadline = clock::now() + timeout;
  epmd_port();  // an invalid ERL_EPMD_PORT is reported as such, not as "epmd does not answer"
  if (epmd_answers(std::chrono::milliseconds(500))) return;
  start_epmd_daemon();
  while (clock::now() < deadline) {
    if (epmd_answers(std::chrono::milliseconds(200))) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  throw epmd_error(fmt::format("epmd was started but does not answer on 127.0.0.1:{} after {} ms", epmd_port(),
                               timeout.count()));
}

}  // namespace otp::internal
