// The runtime's block pool (src/runtime/block_pool.hpp): blocks come back to
// the cache that carved them, whichever thread frees them, and a thread's
// cache outlives the thread for the next one that adopts a cache.

#include "runtime/block_pool.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <thread>
#include <vector>

namespace bp = otp::internal::block_pool;

namespace {

// Allocates blocks of `size` on this (adopting) thread until `wanted` comes
// back, then frees them all; true if it did. The cache may hold free blocks
// of that size from earlier users (caches are reused), so `wanted` comes
// back only once those are taken: that is the order the pool promises
// (local blocks first, then the ones other threads handed back).
bool comes_back(void* wanted, std::size_t size) {
  std::vector<void*> taken;
  bool found = false;
  for (int i = 0; i < 1'000'000 && !found; ++i) {
    void* p = bp::allocate(size);
    taken.push_back(p);
    found = p == wanted;
  }
  for (void* p : taken) bp::deallocate(p);
  return found;
}

class block_pool : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!bp::pooling()) GTEST_SKIP() << "AddressSanitizer build: blocks are plain operator new";
  }
};

}  // namespace

TEST_F(block_pool, blocks_of_every_size_are_aligned_usable_and_reused_first_in_last_out) {
  std::thread t([] {
    bp::thread_scope scope;
    for (std::size_t size = 1; size <= 2 * bp::max_block; size += 7) {
      void* a = bp::allocate(size);
      void* b = bp::allocate(size);
      EXPECT_NE(a, b);
      EXPECT_EQ(reinterpret_cast<std::uintptr_t>(a) % 16, 0u) << size;
      std::memset(a, 0xab, size);
      std::memset(b, 0xcd, size);
      EXPECT_EQ(static_cast<unsigned char*>(a)[size - 1], 0xab);
      bp::deallocate(b);
      bp::deallocate(a);
      if (size <= bp::max_block) {
        EXPECT_EQ(bp::allocate(size), a) << size;  // the last block freed here is the next one given
        bp::deallocate(a);
      }
    }
  });
  t.join();
}

TEST_F(block_pool, a_block_freed_by_a_thread_without_a_cache_returns_to_its_owner) {
  std::thread owner([] {
    bp::thread_scope scope;
    void* p = bp::allocate(72);
    std::thread([p] { bp::deallocate(p); }).join();  // a foreign thread: straight onto the owner's remote list
    EXPECT_TRUE(comes_back(p, 72));
  });
  owner.join();
}

TEST_F(block_pool, a_block_freed_by_another_cache_returns_to_its_owner_when_that_thread_releases) {
  std::thread owner([] {
    bp::thread_scope scope;
    void* p = bp::allocate(136);
    std::thread([p] {
      bp::thread_scope other;  // batched with this thread's other remote frees, handed back at release
      bp::deallocate(p);
    }).join();
    EXPECT_TRUE(comes_back(p, 136));
  });
  owner.join();
}

TEST_F(block_pool, blocks_stay_distinct_and_usable_across_chunk_refills) {
  // 16 MiB of 512-byte blocks: the first chunk and several 2 MiB chunks,
  // some made by the refilling thread and some (when the idle-priority
  // helper had a CPU) prepared in the background.
  std::thread([] {
    bp::thread_scope scope;
    constexpr std::size_t n = (std::size_t{16} << 20) / 520;
    std::vector<unsigned char*> blocks;
    blocks.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
      auto* p = static_cast<unsigned char*>(bp::allocate(512));
      ASSERT_EQ(reinterpret_cast<std::uintptr_t>(p) % 16, 0u);
      std::memset(p, static_cast<int>(i & 0xff), 512);
      blocks.push_back(p);
    }
    for (std::size_t i = 0; i < n; ++i) {
      ASSERT_EQ(blocks[i][0], static_cast<unsigned char>(i & 0xff)) << "block " << i << " overlaps another";
      ASSERT_EQ(blocks[i][511], static_cast<unsigned char>(i & 0xff)) << "block " << i << " overlaps another";
    }
    for (unsigned char* p : blocks) bp::deallocate(p);
  }).join();
}

TEST_F(block_pool, a_released_cache_serves_the_next_thread_that_adopts_one) {
  void* freed = nullptr;
  std::thread([&] {
    bp::thread_scope scope;
    freed = bp::allocate(264);
    bp::deallocate(freed);  // on its local list when the thread releases the cache
  }).join();
  std::thread([&] {
    bp::thread_scope scope;  // the cache released last is the first taken
    void* p = bp::allocate(264);
    EXPECT_EQ(p, freed);
    bp::deallocate(p);
  }).join();
}

TEST_F(block_pool, blocks_of_threads_without_a_cache_are_freed_by_any_thread) {
  std::vector<void*> blocks;
  for (std::size_t size : {8, 100, 512, 513, 4096}) {
    void* p = bp::allocate(size);  // the test thread adopted no cache: malloc'd
    std::memset(p, 1, size);
    blocks.push_back(p);
  }
  // Read as pooled, a malloc'd block's header would send it to a cache's
  // free list (and the next allocation would hand out malloc's memory);
  // read wrongly as malloc'd, free() would abort on a pointer it never gave.
  std::thread([&] {
    bp::thread_scope scope;
    for (void* p : blocks) bp::deallocate(p);
    std::vector<void*> fresh;
    for (std::size_t i = 0; i < blocks.size(); ++i) fresh.push_back(bp::allocate(100));
    for (void* p : fresh) {
      for (void* old : blocks) EXPECT_NE(p, old);
      bp::deallocate(p);
    }
  }).join();
}
