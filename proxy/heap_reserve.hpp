// Keeps the threads of the request path from taking the process's memory-map
// lock in steady state. Argon2 (libsodium) maps and unmaps 64 MiB per hash on
// the low-priority auth API threads, holding that lock; a worker that grew its
// malloc arena at that moment (mprotect) waited for the starved hasher: 15 to
// 70 ms stalls in a login storm, measured with perf. So freed heap memory is
// kept, not handed back, and each worker's arena is grown once at start.
#pragma once

#include <cstddef>

namespace doorman::proxy {

// How much of its arena each request-path thread grows at start.
inline constexpr std::size_t kThreadHeapReserve = 8u << 20;

// Process-wide, once at startup before other threads: freed heap memory stays
// with the process (no trimming), and allocations up to a few MiB come from
// the arenas rather than from their own mmap each.
void keep_freed_heap_memory();

// Grows the calling thread's malloc arena by `bytes` and frees it again, so its
// later allocations up to that much need no system call. Touches only one page
// per block (the block headers), so resident memory grows by far less.
void reserve_thread_heap(std::size_t bytes = kThreadHeapReserve);

}  // namespace doorman::proxy
