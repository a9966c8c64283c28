// The hash helper's own side: what `doorman hash-helper` runs, started by
// HashHelper (hash_helper.hpp), never by hand. It lowers its session's
// autogroup to nice 19, says "ready" on the control socket, then serves each
// job socket it is handed on a SCHED_IDLE thread of its own. It exits when
// doorman closes the control socket or dies.
#pragma once

#include <sys/types.h>

#include "authcore/password.hpp"
#include "proxy/hash_wire.hpp"

namespace doorman::proxy {

// Serves jobs until the control socket closes; then ends the process at once
// (jobs still running have no one left to answer). Returns 1 without serving
// when `parent` is no longer the parent process.
int run_hash_helper(const authcore::PasswordHasherParams& params, pid_t parent,
                    int control_fd = hash_helper_control_fd);

}  // namespace doorman::proxy
