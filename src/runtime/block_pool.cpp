#include "runtime/block_pool.hpp"

#include <sys/mman.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <mutex>
#include <new>

#if defined(__SANITIZE_ADDRESS__)  // gcc
#define OTP_BLOCK_POOL_BYPASS 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)  // clang
#define OTP_BLOCK_POOL_BYPASS 1
#endif
#endif

namespace otp::internal::block_pool {

#ifdef OTP_BLOCK_POOL_BYPASS

void* allocate(std::size_t n) { return ::operator new(n); }
void deallocate(void* p) noexcept { ::operator delete(p); }
bool pooling() noexcept { return false; }
void adopt_thread() {}
void release_thread() noexcept {}

#else

namespace {

struct cache;

// Every block starts with an 8-byte header: its owner cache (64-aligned)
// with its size class in the low bits, or just the class for a malloc'd
// block. Headers sit at 8 mod 16, so the block itself is 16-aligned.
struct header {
  std::uintptr_t word;
};
constexpr std::uintptr_t class_mask = 63;
constexpr std::size_t granule = 16;
constexpr std::size_t classes = (max_block + sizeof(header) + granule - 1) / granule;
constexpr std::uintptr_t big_class = class_mask;  // malloc'd, any size
static_assert(classes <= big_class);

std::size_t class_of(std::size_t n) noexcept { return (n + sizeof(header) + granule - 1) / granule - 1; }
std::size_t block_bytes(std::size_t cls) noexcept { return (cls + 1) * granule; }
header* header_of(void* p) noexcept { return static_cast<header*>(p) - 1; }

// A free block keeps its header; the link is in the block's first word.
struct free_block {
  free_block* next;
};

// A cache's first chunk is small, so that a thread that allocates little
// (an idle scheduler, the reactor) holds little.
constexpr std::size_t first_chunk_bytes = std::size_t{256} << 10;
constexpr std::size_t chunk_bytes = std::size_t{2} << 20;
// Chunks are populated this much at a time, ahead of the carving.
constexpr std::size_t populate_step = std::size_t{64} << 10;

struct alignas(64) cache {
  free_block* local[classes] = {};  // owner thread only
  char* bump = nullptr;             // the unused rest of the current chunk
  char* bump_end = nullptr;
  char* populated = nullptr;  // the chunk's pages below this are populated
  bool had_chunk = false;
  cache* next_spare = nullptr;  // in `spares` while no thread has it
  alignas(64) std::atomic<free_block*> remote{nullptr};  // pushed by other threads
};

std::mutex spares_mu;
cache* spares = nullptr;  // released caches, kept for the next adopter (never freed)

thread_local cache* t_cache = nullptr;

// Blocks freed on an adopting thread for other caches are handed back in
// chains of up to `batch` (one CAS per chain instead of one per block: the
// owner's remote list is a cache line both threads fight over).
constexpr std::size_t batch = 64;
constexpr std::size_t batch_slots = 4;

void push_remote(cache* owner, free_block* first, free_block* last) noexcept {
  free_block* top = owner->remote.load(std::memory_order_relaxed);
  do {
    last->next = top;
    // release: the owner that takes the list sees every `next`.
  } while (!owner->remote.compare_exchange_weak(top, first, std::memory_order_release, std::memory_order_relaxed));
}

struct pending_batches {
  struct slot {
    cache* owner;
    free_block* first;
    free_block* last;
    std::size_t count;
  };
  slot slots[batch_slots];
  unsigned next_victim;

  void flush(slot& s) noexcept {
    if (s.owner && s.first) push_remote(s.owner, s.first, s.last);
    s = slot{};
  }
  void add(cache* owner, free_block* b) noexcept {
    slot* target = nullptr;
    for (slot& s : slots)
      if (s.owner == owner) target = &s;
    if (!target) {
      for (slot& s : slots)
        if (!s.owner) target = &s;
    }
    if (!target) {  // all slots busy with other owners: flush one
      target = &slots[next_victim++ % batch_slots];
      flush(*target);
    }
    target->owner = owner;
    b->next = target->first;
    target->first = b;
    if (!target->last) target->last = b;
    if (++target->count == batch) flush(*target);
  }
  void flush_all() noexcept {
    for (slot& s : slots) flush(s);
  }
};
thread_local pending_batches t_batches{};  // trivially destructible: flushed by release_thread

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23  // Linux 5.14; older kernels refuse it (EINVAL), harmlessly
#endif

// Pages are populated 64 KiB at a time as carving reaches them
// (MADV_POPULATE_WRITE), not faulted in one by one: on the VMs we measure
// on a fault costs 10-30 us, and populating in one call roughly halves
// that (1M servers: 1.9 s instead of 2.9 s). Not in bigger steps, and not
// as transparent huge pages: the first touch of a fresh 2 MiB huge page
// took 8-12 ms here (the host faults its own 4 KiB pages in behind the
// guest's zeroing), and the scheduler that refilled its cache stalled that
// long with every process queued on it: that was most of timer_lateness's
// p99. Huge pages made a gen_server start ~3x cheaper when the host had
// them to give, and cost those stalls when it had not.
char* new_chunk(std::size_t bytes) {
  void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  ::madvise(p, bytes, MADV_NOHUGEPAGE);  // even where THP is "always"
  return static_cast<char*>(p);
}

header* carve(cache& c, std::size_t bytes) {
  if (static_cast<std::size_t>(c.bump_end - c.bump) < bytes) {
    const std::size_t size = c.had_chunk ? chunk_bytes : first_chunk_bytes;
    char* chunk = new_chunk(size);
    c.had_chunk = true;
    c.bump = chunk + sizeof(header);  // headers at 8 mod 16
    c.bump_end = chunk + size;
    c.populated = chunk;
  }
  if (c.bump + bytes > c.populated) {
    ::madvise(c.populated, populate_step, MADV_POPULATE_WRITE);
    c.populated += populate_step;
  }
  auto* h = reinterpret_cast<header*>(c.bump);
  c.bump += bytes;
  return h;
}

void take_remote(cache& c) noexcept {
  // acquire: see the `next` links written by the remote freers.
  free_block* b = c.remote.exchange(nullptr, std::memory_order_acquire);
  while (b) {
    free_block* next = b->next;
    const std::size_t cls = header_of(b)->word & class_mask;
    b->next = c.local[cls];
    c.local[cls] = b;
    b = next;
  }
}

void* allocate_unpooled(std::size_t n, std::uintptr_t cls) {
  // malloc's 16-byte alignment, the header in the second half of the first 16 bytes
  char* raw = static_cast<char*>(std::malloc(granule + n));
  if (!raw) throw std::bad_alloc();
  auto* h = reinterpret_cast<header*>(raw + granule - sizeof(header));
  h->word = cls;
  return h + 1;
}

}  // namespace

bool pooling() noexcept { return true; }

namespace {
// Everything but a hit in the local free list, out of line: with it inline,
// GCC saved and restored five registers on every allocation (half of it).
[[gnu::noinline]] void* allocate_slow(cache* c, std::size_t n, std::size_t cls) {
  if (n > max_block) return allocate_unpooled(n, big_class);
  if (!c) return allocate_unpooled(n, cls);
  if (c->remote.load(std::memory_order_relaxed)) {
    take_remote(*c);
    if (free_block* b = c->local[cls]) {
      c->local[cls] = b->next;
      return b;
    }
  }
  header* h = carve(*c, block_bytes(cls));
  h->word = reinterpret_cast<std::uintptr_t>(c) | cls;
  return h + 1;
}
}  // namespace

void* allocate(std::size_t n) {
  const std::size_t cls = class_of(n);
  cache* c = t_cache;
  if (c && n <= max_block) [[likely]] {
    if (free_block* b = c->local[cls]) {
      c->local[cls] = b->next;
      return b;
    }
  }
  return allocate_slow(c, n, cls);
}

void deallocate(void* p) noexcept {
  if (!p) return;
  header* h = header_of(p);
  auto* owner = reinterpret_cast<cache*>(h->word & ~class_mask);
  if (!owner) {
    std::free(reinterpret_cast<char*>(h) - (granule - sizeof(header)));
    return;
  }
  auto* b = static_cast<free_block*>(p);
  cache* mine = t_cache;
  if (owner == mine) {
    const std::size_t cls = h->word & class_mask;
    b->next = mine->local[cls];
    mine->local[cls] = b;
  } else if (mine) {
    t_batches.add(owner, b);
  } else {
    push_remote(owner, b, b);
  }
}

void adopt_thread() {
  if (t_cache) return;
  {
    std::lock_guard lk(spares_mu);
    if (spares) {
      t_cache = spares;
      spares = spares->next_spare;
      return;
    }
  }
  t_cache = new cache();
}

void release_thread() noexcept {
  cache* c = t_cache;
  if (!c) return;
  t_batches.flush_all();
  t_cache = nullptr;
  std::lock_guard lk(spares_mu);
  c->next_spare = spares;
  spares = c;
}

#endif  // OTP_BLOCK_POOL_BYPASS

}  // namespace otp::internal::block_pool
