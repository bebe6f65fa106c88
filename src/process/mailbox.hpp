#pragma once
// The mailbox: a lock-free multi-producer inbox plus the owner's private
// queue of messages already taken from it.
//
// Inbox protocol (a LIFO stack with two sentinel states, as in CAF's
// lifo_inbox):
//  - head == nullptr: empty, owner not waiting;
//  - head == blocked(): empty and the owner is (about to be) suspended: the
//    producer that replaces this sentinel must wake the owner (exactly one
//    producer can observe it, so there is exactly one wake-up);
//  - head == closed(): the owner has exited; pushes fail (the message is
//    dropped, a signal gets its "dead process" answer from the sender).
// The owner takes everything with one exchange and reverses it, which
// restores each producer's push order (per-pair FIFO, Erlang's guarantee),
// and signals and messages share the queue, so a message sent before an exit
// signal is seen before it.

#include <atomic>
#include <cstdint>
#include <string>

#include "otp/exit_reason.hpp"
#include "otp/message.hpp"
#include "otp/pid.hpp"
#include "otp/ref.hpp"
#include "runtime/block_pool.hpp"

namespace otp::internal {

enum class mail_kind : std::uint8_t {
  message,          // a user message
  call,             // a gen_server call (request_node): a message with a reply wanted
  cast,             // a gen_server cast (request_node)
  reply,            // the answer to one of our calls (reply_node)
  exit,             // exit signal: exit/2 (from, reason)
  link_exit,        // exit signal caused by a link (from, reason)
  link,             // from wants a link
  unlink,           // from removes the link
  monitor,          // from monitors us (mref)
  demonitor,        // monitor mref removed
  down,             // DOWN for a monitor we hold (mref, from, reason, name)
  wait_timeout,     // our wait deadline passed (seq = the deadline, µs)
  info_request,     // from asks process_info (mref = reply tag)
  terminate,        // untrappable exit with `reason` (node shutdown)
  call_abandoned,   // to a proxy: the caller (from) gave up its call (seq = tag)
};

struct mail_node {
  mail_node* next = nullptr;
  mail_kind kind;
  bool counted = false;  // counted against a bounded mailbox (process::admit)
  // reply_node's: the call failed (see its reason). Here, in the padding,
  // so that a reply is no bigger than a request (see spent_request).
  bool failed = false;
  explicit mail_node(mail_kind k) noexcept : kind(k) {}
  virtual ~mail_node() = default;
  static void* operator new(std::size_t n) { return block_pool::allocate(n); }
  static void operator delete(void* p) noexcept { block_pool::deallocate(p); }
};

struct message_node : mail_node {
  message msg;
  explicit message_node(message&& m, mail_kind k = mail_kind::message) noexcept : mail_node(k), msg(std::move(m)) {}
};

/// Kinds that queue as messages (a plain process sees a request's payload).
inline bool is_message_kind(mail_kind k) noexcept { return k <= mail_kind::cast; }
/// Kinds a sender may place straight in a waiting owner's private state
/// (process::deliver): messages, and the reply to a call.
inline bool is_handed_kind(mail_kind k) noexcept { return k <= mail_kind::reply; }

/// A gen_server request. The caller does not monitor the server: the server
/// answers for its calls instead. A call still queued when the server dies,
/// or taken and not yet answered (see process::hold_call), is failed with
/// the server's exit reason, which is what OTP's per-call monitor delivers.
struct request_node final : message_node {
  pid caller;                       // call: who waits (empty for a cast)
  std::uint64_t tag = 0;            // call: the caller's call tag
  const void* entry = nullptr;      // typed dispatch made at the call site, or null
  bool system = false;              // a sys request (OTP's {system, From, Req})
  request_node(message&& m, mail_kind k) noexcept : message_node(std::move(m), k) {}
};

/// The answer to a call: the reply, or the exit reason of a server that died
/// before answering. Dropped on arrival unless its caller still waits for
/// exactly this tag: a late reply never reaches the mailbox (OTP 24 aliases).
struct reply_node final : message_node {
  std::uint64_t tag;
  exit_reason reason;  // failed: why
  reply_node(std::uint64_t t, message&& m) noexcept : message_node(std::move(m), mail_kind::reply), tag(t) {}
};

// A server that answers a call from its callback's result makes the reply
// in the request's own block (server_process::act): one allocation and one
// free less per call.
static_assert(sizeof(reply_node) <= sizeof(request_node) && alignof(reply_node) <= alignof(request_node),
              "a reply must fit in the block of the request it answers");

struct signal_node final : mail_node {
  pid from;
  exit_reason reason;
  ref mref;
  std::string name;        // DOWN of a monitor by name
  std::uint64_t seq = 0;   // wait_timeout: the deadline (µs) it was armed for
  explicit signal_node(mail_kind k) noexcept : mail_node(k) {}
};

static_assert(sizeof(request_node) <= block_pool::max_block && sizeof(reply_node) <= block_pool::max_block &&
                  sizeof(signal_node) <= block_pool::max_block,
              "mail nodes must fit the pool's blocks");

class inbox {
 public:
  enum class push_result { ok, wake, closed, handed };

  static mail_node* blocked() noexcept { return reinterpret_cast<mail_node*>(1); }
  static mail_node* closed() noexcept { return reinterpret_cast<mail_node*>(2); }

  /// @threadsafe. On `closed` the node is not taken (the caller frees it).
  /// `hand`: if the owner is waiting, take its wake-up and leave the node
  /// with the caller (`handed`): the owner's private state is then the
  /// caller's until it wakes the owner (process::deliver places the node in
  /// the owner's queue itself, sparing the owner's exchange and drain).
  push_result push(mail_node* n, bool hand = false) noexcept {
    mail_node* h = head_.load(std::memory_order_relaxed);
    for (;;) {
      if (h == closed()) return push_result::closed;
      if (hand && h == blocked()) {
        // acquire: pairs with try_block's release, after the owner's last
        // touch of its private state.
        if (head_.compare_exchange_weak(h, nullptr, std::memory_order_acquire, std::memory_order_relaxed))
          return push_result::handed;
        continue;
      }
      n->next = (h == blocked()) ? nullptr : h;
      // release: the node's contents are visible to the owner that takes it.
      if (head_.compare_exchange_weak(h, n, std::memory_order_acq_rel, std::memory_order_relaxed))
        return h == blocked() ? push_result::wake : push_result::ok;
    }
  }

  /// Owner only: takes everything pushed so far, oldest first.
  mail_node* take_all() noexcept {
    mail_node* h = head_.load(std::memory_order_relaxed);
    if (h == nullptr || h == blocked() || h == closed()) return nullptr;
    // acquire: see the contents of every node taken.
    h = head_.exchange(nullptr, std::memory_order_acquire);
    return reverse(h);
  }

  /// Owner only: declares the owner waiting. False if something arrived
  /// (then the owner must not wait).
  bool try_block() noexcept {
    mail_node* expected = nullptr;
    return head_.compare_exchange_strong(expected, blocked(), std::memory_order_acq_rel, std::memory_order_acquire);
  }

  /// Owner only: closes the inbox; returns what was still in it, oldest first.
  mail_node* close() noexcept {
    mail_node* h = head_.exchange(closed(), std::memory_order_seq_cst);
    if (h == blocked() || h == closed()) return nullptr;
    return reverse(h);
  }

  bool is_closed() const noexcept { return head_.load(std::memory_order_seq_cst) == closed(); }
  bool has_pending() const noexcept {
    mail_node* h = head_.load(std::memory_order_acquire);
    return h != nullptr && h != blocked() && h != closed();
  }

 private:
  static mail_node* reverse(mail_node* h) noexcept {
    mail_node* prev = nullptr;
    while (h) {
      mail_node* next = h->next;
      h->next = prev;
      prev = h;
      h = next;
    }
    return prev;
  }
  std::atomic<mail_node*> head_{nullptr};
};

/// The owner's private FIFO of messages taken from the inbox and not yet
/// received (selective receive leaves non-matching ones here, in order).
class mail_queue {
 public:
  mail_queue() = default;
  mail_queue(const mail_queue&) = delete;
  mail_queue& operator=(const mail_queue&) = delete;
  ~mail_queue() { clear(); }

  void push_back(mail_node* n) noexcept {
    n->next = nullptr;
    if (tail_) tail_->next = n;
    else head_ = n;
    tail_ = n;
    ++size_;
  }
  /// Removes the node after `prev` (or the head if prev is null).
  mail_node* remove_after(mail_node* prev) noexcept {
    mail_node* n = prev ? prev->next : head_;
    if (prev) prev->next = n->next;
    else head_ = n->next;
    if (tail_ == n) tail_ = prev;
    n->next = nullptr;
    --size_;
    return n;
  }
  mail_node* head() const noexcept { return head_; }
  mail_node* tail() const noexcept { return tail_; }
  std::size_t size() const noexcept { return size_; }
  void clear() noexcept {
    while (head_) delete remove_after(nullptr);
  }

 private:
  mail_node* head_ = nullptr;
  mail_node* tail_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace otp::internal
