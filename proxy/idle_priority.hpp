// The scheduling priority password hashing runs at, wherever it runs (the
// in-process HashPool, the hash helper's threads).
#pragma once

namespace doorman::proxy {

// SCHED_IDLE for the calling thread (any thread may lower its own policy);
// where that is refused, the lowest niceness. False when SCHED_IDLE was refused.
bool lower_this_thread_to_idle();

}  // namespace doorman::proxy
