// Listen address parsing and formatting (see listen_address.hpp).
#include "proxy/listen_address.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/system/error_code.hpp>

#include <stdexcept>

#include "config/net_parse.hpp"

namespace doorman::proxy {

namespace asio = boost::asio;
using asio::ip::tcp;

std::optional<tcp::endpoint> parse_ip_endpoint(std::string_view text) {
  config::HostPort host_port;
  if (!config::parse_host_port(text, host_port).empty()) return std::nullopt;
  boost::system::error_code ec;
  const auto address = asio::ip::make_address(host_port.host, ec);
  if (ec) return std::nullopt;
  return tcp::endpoint(address, host_port.port);
}

std::vector<tcp::endpoint> resolve_endpoints(std::string_view text, std::string_view what) {
  if (auto endpoint = parse_ip_endpoint(text)) return {*endpoint};
  config::HostPort host_port;
  if (const auto error = config::parse_host_port(text, host_port); !error.empty()) {
    throw std::runtime_error(std::string(what) + ": " + error + " in \"" + std::string(text) + "\"");
  }
  asio::io_context context;
  tcp::resolver resolver(context);
  boost::system::error_code ec;
  const auto results = resolver.resolve(host_port.host, std::to_string(host_port.port), ec);
  if (ec || results.empty()) {
    throw std::runtime_error(std::string(what) + ": cannot resolve \"" + host_port.host + "\"" +
                             (ec ? ": " + ec.message() : std::string()));
  }
  std::vector<tcp::endpoint> endpoints;
  for (const auto& entry : results) endpoints.push_back(entry.endpoint());
  return endpoints;
}

std::string format_endpoint(const tcp::endpoint& endpoint) {
  const auto address = endpoint.address();
  std::string host = address.to_string();
  if (address.is_v6()) host = "[" + host + "]";
  return host + ":" + std::to_string(endpoint.port());
}

}  // namespace doorman::proxy
