// reserve_thread_heap and keep_freed_heap_memory: after the reserve, a thread's
// allocations up to that size take no new memory from the system, and what it
// frees is kept (the arena never shrinks back).
#include "proxy/heap_reserve.hpp"

#include <doctest/doctest.h>
#include <malloc.h>

#include <cstdlib>
#include <thread>
#include <vector>

namespace {

// Bytes the arenas hold from the system (mmap'd blocks not counted).
std::size_t arena_bytes() { return mallinfo2().arena; }

}  // namespace

TEST_CASE("a reserved thread heap serves later allocations without growing, and is kept when freed") {
  doorman::proxy::keep_freed_heap_memory();
  std::size_t reserved = 0, after_churn = 0, after_free = 0;
  std::thread thread([&] {
    doorman::proxy::reserve_thread_heap(8u << 20);
    reserved = arena_bytes();
    // What a busy worker does: many mid-size buffers at once, then all freed.
    std::vector<void*> blocks;
    for (int i = 0; i < 200; ++i) blocks.push_back(std::malloc(16 * 1024));
    for (int i = 0; i < 50; ++i) blocks.push_back(std::malloc(64 * 1024));
    after_churn = arena_bytes();
    for (void* block : blocks) std::free(block);
    after_free = arena_bytes();
  });
  thread.join();
  CHECK(reserved >= (8u << 20));
  CHECK(after_churn == reserved);  // 6.4 MiB in use fit in the reserve: nothing new from the system
  CHECK(after_free == reserved);   // and nothing handed back
}
