// Small syntax checks the config needs: host:port, http URLs, CIDRs, HTTP tokens.
// Each returns an error message (empty = fine) so the loader can attach key and line.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "config/config.hpp"

namespace doorman::config {

struct HostPort {
  std::string host;  // IPv6 without brackets
  std::uint16_t port = 0;
};

// "host:port" or "[v6]:port"; port 1..65535.
std::string parse_host_port(std::string_view text, HostPort& out);

struct HttpUrl {
  std::string scheme;  // "http" or "https"
  HostPort endpoint;
  std::string target = "/";  // path and query; only when parsed with allow_path
};

// "http://host[:port][/]"; no user info, query or fragment, and no path unless `allow_path`.
// https parses (port 443) so the caller can say "not supported yet" rather than "bad URL".
std::string parse_http_url(std::string_view text, HttpUrl& out, bool allow_path = false);

// "10.0.0.0/8", "::1/128"; a bare address is /32 or /128. Host bits are cleared.
std::string parse_cidr(std::string_view text, Cidr& out);

// RFC 9110 token (header names, methods, cookie names).
bool is_http_token(std::string_view text);

}  // namespace doorman::config
