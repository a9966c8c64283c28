// The blocking pool's threads (see blocking_pool.hpp).
#include "proxy/blocking_pool.hpp"

#include <algorithm>

namespace doorman::proxy {

BlockingPool::BlockingPool(std::size_t threads) : threads_(std::max<std::size_t>(1, threads)), pool_(threads_) {}

BlockingPool::~BlockingPool() { join(); }

void BlockingPool::join() { pool_.join(); }

}  // namespace doorman::proxy
