// How a worker thread runs its io_context: plainly, or polling for a while after
// each piece of work before it sleeps (server.busy_poll_us).
//
// Every sleep in epoll_wait costs a wakeup when the next event comes, tens of
// microseconds on a virtual machine: a request through a proxy sleeps twice (for
// the upstream's answer, for the client's next request). Polling through short gaps
// takes those wakeups off the request's latency, for the CPU time the polling
// burns; the loop still sleeps once a gap outlasts the window, so an idle worker
// costs nothing. This is HAProxy's `busy-polling` bounded in time.
#pragma once

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <cstddef>

namespace doorman::proxy {

struct EventLoopStats {
  std::size_t sleeps = 0;  // times the loop waited in the kernel for an event
};

// Runs `context` until it runs out of work, as io_context::run() does. With a
// non-zero `busy_poll`, after each handler the loop keeps polling for up to that
// long before it sleeps.
EventLoopStats run_event_loop(boost::asio::io_context& context, std::chrono::microseconds busy_poll);

}  // namespace doorman::proxy
