// Syntax checks for addresses, URLs, CIDRs and HTTP tokens used by the config loader.
#include "config/net_parse.hpp"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

namespace doorman::config {

namespace {

bool parse_port(std::string_view text, std::uint16_t& out) {
  if (text.empty() || text.size() > 5) return false;
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < 1 || value > 65535) return false;
  out = static_cast<std::uint16_t>(value);
  return true;
}

bool is_hostname(std::string_view host) {
  if (host.empty() || host.size() > 253) return false;
  for (char c : host) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                    c == '.' || c == '_';
    if (!ok) return false;
  }
  return true;
}

bool is_ipv6(const std::string& text) {
  unsigned char buf[16];
  return inet_pton(AF_INET6, text.c_str(), buf) == 1;
}

}  // namespace

std::string parse_host_port(std::string_view text, HostPort& out) {
  std::string_view host;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {
    const std::size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':')
      return "must be host:port, e.g. \"0.0.0.0:8000\" or \"[::]:8000\"";
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
    if (!is_ipv6(std::string(host))) return "'" + std::string(host) + "' is not an IPv6 address";
  } else {
    const std::size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) return "must be host:port, e.g. \"0.0.0.0:8000\"";
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos)
      return "an IPv6 address must be in brackets, e.g. \"[::1]:8000\"";
    if (!is_hostname(host)) return "'" + std::string(host) + "' is not a host name or address";
  }
  if (!parse_port(port, out.port)) return "port '" + std::string(port) + "' is not in 1..65535";
  out.host = std::string(host);
  return {};
}

std::string parse_http_url(std::string_view text, HttpUrl& out, bool allow_path) {
  std::string_view rest;
  if (text.substr(0, 7) == "http://") {
    out.scheme = "http";
    rest = text.substr(7);
  } else if (text.substr(0, 8) == "https://") {
    out.scheme = "https";
    rest = text.substr(8);
  } else {
    return "must be an http:// URL, e.g. \"http://127.0.0.1:8080\"";
  }
  out.target = "/";
  if (const std::size_t slash = rest.find('/'); allow_path && slash != std::string_view::npos) {
    out.target = std::string(rest.substr(slash));
    rest = rest.substr(0, slash);
    if (out.target.find('#') != std::string::npos) return "must not hold a fragment";
  }
  if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  if (rest.find_first_of("/?#") != std::string_view::npos)
    return "must be scheme://host[:port] with no path, query or fragment";
  if (rest.find('@') != std::string_view::npos) return "must not hold user info";
  const std::uint16_t default_port = out.scheme == "https" ? 443 : 80;
  // Host without a port: append the default and reuse host:port parsing.
  const bool bracketed = !rest.empty() && rest.front() == '[';
  const std::size_t close = bracketed ? rest.find(']') : 0;
  const bool has_port = bracketed ? (close != std::string_view::npos && close + 1 < rest.size())
                                  : rest.find(':') != std::string_view::npos;
  std::string with_port(rest);
  if (!has_port) with_port += ":" + std::to_string(default_port);
  return parse_host_port(with_port, out.endpoint);
}

std::string parse_cidr(std::string_view text, Cidr& out) {
  const std::size_t slash = text.find('/');
  const std::string address(text.substr(0, slash));
  unsigned char buf[16];
  std::size_t size = 0;
  if (inet_pton(AF_INET, address.c_str(), buf) == 1) {
    size = 4;
  } else if (inet_pton(AF_INET6, address.c_str(), buf) == 1) {
    size = 16;
  } else {
    return "'" + std::string(text) + "' is not a CIDR (e.g. \"10.0.0.0/8\", \"fd00::/8\", or one address)";
  }
  const int max_prefix = static_cast<int>(size * 8);
  int prefix = max_prefix;
  if (slash != std::string_view::npos) {
    const std::string_view digits = text.substr(slash + 1);
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), prefix);
    if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size() || prefix < 0 ||
        prefix > max_prefix)
      return "prefix length in '" + std::string(text) + "' must be 0.." + std::to_string(max_prefix);
  }
  out.text = std::string(text);
  out.prefix_length = prefix;
  out.address.assign(buf, buf + size);
  for (std::size_t i = 0; i < size; ++i) {
    const int bits_here = prefix - static_cast<int>(i * 8);
    if (bits_here >= 8) continue;
    out.address[i] &= bits_here <= 0 ? 0 : static_cast<std::uint8_t>(0xff << (8 - bits_here));
  }
  return {};
}

bool is_http_token(std::string_view text) {
  if (text.empty()) return false;
  for (char c : text) {
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!alnum && (c == '\0' || std::strchr("!#$%&'*+-.^_`|~", c) == nullptr)) return false;
  }
  return true;
}

}  // namespace doorman::config
