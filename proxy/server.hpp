// The network side of `doorman serve`: N workers, each an io_context thread with
// its own SO_REUSEPORT acceptor and upstream pool; the admin listener; signals.
#pragma once

#include <memory>

#include "proxy/runtime.hpp"

namespace doorman::proxy {

// Listens, serves until SIGTERM/SIGINT, drains in-flight requests (bounded), returns
// the process exit code (0 after a clean drain). Throws std::runtime_error when a
// listener cannot be opened.
int serve(std::shared_ptr<Runtime> runtime);

}  // namespace doorman::proxy
