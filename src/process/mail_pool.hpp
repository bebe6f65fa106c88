#pragma once
// Allocation of mail nodes (every message and signal is one).
//
// Messages are usually freed on another thread than the one that allocated
// them (a sender on one core, its receiver on the other). With plain malloc
// each such free takes the lock of the sender's arena, which the sender keeps
// taking to allocate: that lock was the hot spot of cross-core fan-in. Here
// each thread has a cache of fixed-size blocks; a block freed on its own
// thread goes back to the local list, one freed elsewhere is pushed onto its
// owner's lock-free remote list, in chains of up to 64 (one CAS per chain),
// which the owner takes whole when its local list runs dry (mimalloc's
// local/remote free lists).
//
// Caches are never destroyed (a block may be freed after its owner thread
// ended); they stay reachable from a global list, so nothing leaks. Under
// AddressSanitizer the pool is bypassed so that ASan sees every node.

#include <cstddef>

namespace otp::internal::mail_pool {

inline constexpr std::size_t block_size = 192;  // fits message_node and signal_node

void* allocate(std::size_t n);
void deallocate(void* p) noexcept;

}  // namespace otp::internal::mail_pool
