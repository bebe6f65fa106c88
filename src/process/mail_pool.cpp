#include "process/mail_pool.hpp"

#include <atomic>
#include <cstdlib>
#include <mutex>
#include <new>

#if defined(__SANITIZE_ADDRESS__)
#define OTP_MAIL_POOL_BYPASS 1
#endif

namespace otp::internal::mail_pool {

#ifdef OTP_MAIL_POOL_BYPASS

void* allocate(std::size_t n) { return ::operator new(n); }
void deallocate(void* p) noexcept { ::operator delete(p); }

#else

namespace {

struct cache;

// Every block starts with a header naming the cache it belongs to.
struct alignas(16) header {
  cache* owner;
  header* next;  // in a free list
};

constexpr std::size_t local_limit = 16384;  // beyond this, frees go to malloc

struct cache {
  header* local = nullptr;  // owner thread only
  std::size_t local_count = 0;
  std::atomic<header*> remote{nullptr};  // pushed by other threads
  cache* next_cache = nullptr;           // registry (never unlinked)
};

std::mutex registry_mu;
cache* registry = nullptr;

cache* new_cache() {
  auto* c = new cache();
  std::lock_guard lk(registry_mu);
  c->next_cache = registry;
  registry = c;
  return c;
}

cache& this_thread_cache() {
  static thread_local cache* c = new_cache();
  return *c;
}

// Blocks freed on this thread for other threads' caches are handed back in
// chains of up to `batch` (one CAS per chain instead of one per block: the
// owner's remote list is a cache line both threads fight over).
constexpr std::size_t batch = 64;
constexpr std::size_t batch_slots = 4;

void push_remote(cache* owner, header* first, header* last) noexcept {
  header* top = owner->remote.load(std::memory_order_relaxed);
  do {
    last->next = top;
    // release: the owner that takes the list sees every `next`.
  } while (!owner->remote.compare_exchange_weak(top, first, std::memory_order_release, std::memory_order_relaxed));
}

struct pending_batches {
  struct slot {
    cache* owner = nullptr;
    header* first = nullptr;
    header* last = nullptr;
    std::size_t count = 0;
  };
  slot slots[batch_slots];
  unsigned next_victim = 0;

  void flush(slot& s) noexcept {
    if (s.owner && s.first) push_remote(s.owner, s.first, s.last);
    s = slot{};
  }
  void add(header* h) noexcept {
    slot* target = nullptr;
    for (slot& s : slots)
      if (s.owner == h->owner) target = &s;
    if (!target) {
      for (slot& s : slots)
        if (!s.owner) target = &s;
    }
    if (!target) {  // all slots busy with other owners: flush one
      target = &slots[next_victim++ % batch_slots];
      flush(*target);
    }
    target->owner = h->owner;
    h->next = target->first;
    target->first = h;
    if (!target->last) target->last = h;
    if (++target->count == batch) flush(*target);
  }
  ~pending_batches() {  // thread exit: hand everything back
    for (slot& s : slots) flush(s);
  }
};

pending_batches& this_thread_batches() {
  static thread_local pending_batches b;
  return b;
}

}  // namespace

void* allocate(std::size_t n) {
  if (n > block_size) return ::operator new(n);  // not pooled (never the case for mail nodes)
  cache& c = this_thread_cache();
  header* h = c.local;
  if (!h) {
    // acquire: see the `next` links written by the remote freers.
    h = c.remote.exchange(nullptr, std::memory_order_acquire);
    c.local_count = 0;  // the cap below counts local frees only: approximate by design
  }
  if (h) {
    c.local = h->next;
    if (c.local_count) --c.local_count;
  } else {
    h = static_cast<header*>(std::malloc(sizeof(header) + block_size));
    if (!h) throw std::bad_alloc();
    h->owner = &c;
  }
  return h + 1;
}

void deallocate(void* p) noexcept {
  if (!p) return;
  header* h = static_cast<header*>(p) - 1;
  cache& mine = this_thread_cache();
  if (h->owner == &mine) {
    if (mine.local_count >= local_limit) {
      std::free(h);
      return;
    }
    h->next = mine.local;
    mine.local = h;
    ++mine.local_count;
    return;
  }
  this_thread_batches().add(h);
}

#endif  // OTP_MAIL_POOL_BYPASS

}  // namespace otp::internal::mail_pool
