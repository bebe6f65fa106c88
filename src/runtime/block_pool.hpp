#pragma once
// Memory for the runtime's many small blocks: process control blocks,
// process bodies (a gen_server's loop and callbacks), and mail nodes (every
// message and signal is one).
//
// Why not malloc:
//  - Page faults. A million servers touch half a gigabyte of fresh memory;
//    with malloc that is one page fault per 4 KiB page, and on the
//    virtualised machines we measure on a fault costs microseconds: it was
//    ~90 % of a gen_server start. Blocks here are carved from 2 MiB chunks
//    populated 64 KiB at a time (one system call instead of 16 faults;
//    not huge pages, whose first touch stalled a scheduler for ~10 ms:
//    see carve() in block_pool.cpp).
//  - Cross-thread frees. A message is allocated by its sender and freed by
//    its receiver, often on another core; with malloc each such free takes
//    the lock of the sender's arena, which the sender keeps taking to
//    allocate (the hot spot of cross-core fan-in). Here a block freed on
//    its owner's thread goes back to a local free list; one freed elsewhere
//    is pushed onto its owner's lock-free remote list, in chains of up to
//    64 (one CAS per chain), which the owner takes whole when a local list
//    runs dry (mimalloc's local/remote free lists).
//
// Only threads that adopt a cache allocate from it: the node's schedulers,
// timer and reactor threads, for their lifetime (adopt_thread/release_thread).
// Other threads (foreign threads calling into the node, the blocking pool)
// get plain malloc'd blocks; the 8-byte header of every block says which,
// so any thread frees any block. A released cache is kept, with its chunks
// and free lists, for the next thread that adopts one: the pool's memory is
// bounded by the peak number of adopting threads, not by how many come and
// go (a test suite starts hundreds of nodes). Under AddressSanitizer the
// pool is bypassed so that ASan sees every block.

#include <cstddef>

namespace otp::internal::block_pool {

/// Larger blocks go to ::operator new.
inline constexpr std::size_t max_block = 512;

void* allocate(std::size_t n);
void deallocate(void* p) noexcept;
/// False under AddressSanitizer, where every block is a plain operator new.
bool pooling() noexcept;

/// The calling thread allocates from a cache of its own until release_thread.
void adopt_thread();
/// Hands the thread's cache back (before the thread ends); idempotent.
void release_thread() noexcept;

/// Scoped adopt/release for a thread's main function.
struct thread_scope {
  thread_scope() { adopt_thread(); }
  ~thread_scope() { release_thread(); }
  thread_scope(const thread_scope&) = delete;
  thread_scope& operator=(const thread_scope&) = delete;
};

}  // namespace otp::internal::block_pool
