// Test support: waits for a condition another thread makes true, polling.
#pragma once

#include <chrono>
#include <thread>

// True as soon as `condition()` is; false if it still is not after `within`.
template <class Condition>
bool eventually(Condition condition, std::chrono::milliseconds within = std::chrono::milliseconds(5000)) {
  const auto deadline = std::chrono::steady_clock::now() + within;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return condition();
}
