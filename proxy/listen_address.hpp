// Listen addresses (server.listen, server.admin_listen): "host:port" or "[v6]:port"
// to a TCP endpoint, and endpoints back to text for startup lines.
#pragma once

#include <boost/asio/ip/tcp.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace doorman::proxy {

// An IP literal with a port ("0.0.0.0:8000", "[::1]:9901"); nullopt for anything
// else (a host name, a missing or bad port).
std::optional<boost::asio::ip::tcp::endpoint> parse_ip_endpoint(std::string_view text);

// Like parse_ip_endpoint, but a host name ("localhost:8000") is resolved (blocking,
// startup only). Throws std::runtime_error naming `what` and the text on failure.
std::vector<boost::asio::ip::tcp::endpoint> resolve_endpoints(std::string_view text, std::string_view what);

// "0.0.0.0:8000", "[::1]:9901".
std::string format_endpoint(const boost::asio::ip::tcp::endpoint& endpoint);

}  // namespace doorman::proxy
