// keep_freed_heap_memory and reserve_thread_heap over glibc's mallopt: a
// trim threshold no arena reaches keeps freed memory mapped, and a fixed mmap
// threshold keeps mid-size buffers in the arenas.
#include "proxy/heap_reserve.hpp"

#include <malloc.h>

#include <cstdlib>
#include <vector>

namespace doorman::proxy {
namespace {

// Below the mmap threshold, so each block comes from the thread's arena.
constexpr std::size_t kBlock = 120u << 10;
constexpr int kMmapThreshold = 4 << 20;
constexpr int kNeverTrim = 1 << 30;

}  // namespace

void keep_freed_heap_memory() {
  // Failure leaves glibc's defaults: the only cost is the stall this avoids.
  (void)mallopt(M_MMAP_THRESHOLD, kMmapThreshold);
  (void)mallopt(M_TRIM_THRESHOLD, kNeverTrim);
}

void reserve_thread_heap(std::size_t bytes) {
  std::vector<void*> blocks;
  blocks.reserve(bytes / kBlock + 1);
  for (std::size_t grown = 0; grown < bytes; grown += kBlock) blocks.push_back(std::malloc(kBlock));
  for (void* block : blocks) std::free(block);
}

}  // namespace doorman::proxy
