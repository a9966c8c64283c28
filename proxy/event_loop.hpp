// How a worker thread runs its io_context: plainly, or polling for a while after
// each piece of work before it sleeps (server.busy_poll_us).
//
// Every sleep in epoll_wait costs a wakeup when the next event comes, tens of
// microseconds on a virtual machine: a request through a proxy sleeps twice (for
// the upstream's answer, for the client's next request). Polling through short gaps
// takes those wakeups off the request's latency, for the CPU time the polling
// burns; the loop still sleeps once a gap outlasts the window, so an idle worker
// costs nothing. This is HAProxy's `busy-polling` bounded in time. Each empty
// poll yields the core: the threads that answer (the upstream, the clients) often
// share it, and a poller that kept its time slices took their CPU time (18-25%
// less throughput at 32 connections on 2 cores, before it yielded).
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
