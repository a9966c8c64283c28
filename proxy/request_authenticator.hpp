// authenticate_request: the authentication step of a proxied request, on its
// worker. It drives the Authenticator's resumable walk: transports, JWTs and
// cache hits inline; Redis token reads on the worker's own asynchronous Redis
// connection; database token reads and user loads on the blocking pool.
#pragma once

#include <boost/asio/awaitable.hpp>

#include "authcore/authenticator.hpp"
#include "authcore/transport.hpp"

namespace doorman::proxy {

class Worker;

// `credentials` must stay alive until the call completes. Call on the worker's thread.
boost::asio::awaitable<authcore::AuthOutcome> authenticate_request(
    Worker& worker, const authcore::RequestCredentials& credentials);

}  // namespace doorman::proxy
