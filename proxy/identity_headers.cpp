// Header policy on the forward path (DESIGN.md §2, §4): what doorman strips from
// a client request and the identity and X-Forwarded-* values it adds.
#include "proxy/identity_headers.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cstring>

namespace doorman::proxy {
namespace {

char fold_char(char c) {
  if (c >= 'A' && c <= 'Z') return static_cast<char>(c - 'A' + 'a');
  return c == '_' ? '-' : c;
}

// `folded` is already folded; `name` is compared folded in place, without a copy.
bool folded_equals(std::string_view name, std::string_view folded) {
  if (name.size() != folded.size()) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    if (fold_char(name[i]) != folded[i]) return false;
  }
  return true;
}

bool folded_starts_with(std::string_view name, std::string_view folded_prefix) {
  return name.size() >= folded_prefix.size() &&
         folded_equals(name.substr(0, folded_prefix.size()), folded_prefix);
}

// Hop-by-hop headers (RFC 9110 §7.6.1) plus proxy-connection (de facto) and
// proxy-authorization: credentials for a proxy in front of doorman, which the
// application behind it must never see (Go's httputil.ReverseProxy drops it too).
// The caller frames the upstream message itself and re-adds Upgrade for WebSockets.
constexpr std::array<std::string_view, 8> kHopByHop = {
    "connection", "keep-alive",        "proxy-connection", "te",
    "trailer",    "transfer-encoding", "upgrade",          "proxy-authorization",
};

// The X-Forwarded-* headers doorman sets (appends to, when the client is trusted).
constexpr std::array<std::string_view, 3> kForwardedSet = {"x-forwarded-for", "x-forwarded-proto",
                                                           "x-forwarded-host"};

template <std::size_t N>
bool folded_in(std::string_view name, const std::array<std::string_view, N>& folded_names) {
  return std::any_of(folded_names.begin(), folded_names.end(),
                     [&](std::string_view f) { return folded_equals(name, f); });
}

std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// The 12 bytes that make an IPv6 address an IPv4-mapped one (::ffff:a.b.c.d).
constexpr std::uint8_t kMappedPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

struct Address {
  std::array<std::uint8_t, 16> bytes{};
  std::size_t size = 0;  // 4 or 16
};

// Parses an IPv4 or IPv6 literal (brackets and an IPv6 zone allowed) without
// allocating; an IPv4-mapped IPv6 address becomes its IPv4 address so that one
// CIDR covers both forms of a client on a dual-stack listener.
std::optional<Address> parse_address(std::string_view text) {
  if (text.size() >= 2 && text.front() == '[' && text.back() == ']') text = text.substr(1, text.size() - 2);
  if (const auto zone = text.find('%'); zone != std::string_view::npos) text = text.substr(0, zone);
  char buffer[INET6_ADDRSTRLEN + 1];
  if (text.empty() || text.size() >= sizeof buffer) return std::nullopt;
  std::memcpy(buffer, text.data(), text.size());
  buffer[text.size()] = '\0';

  Address address;
  if (inet_pton(AF_INET, buffer, address.bytes.data()) == 1) {
    address.size = 4;
    return address;
  }
  if (inet_pton(AF_INET6, buffer, address.bytes.data()) != 1) return std::nullopt;
  address.size = 16;
  if (std::memcmp(address.bytes.data(), kMappedPrefix, sizeof kMappedPrefix) == 0) {
    std::memmove(address.bytes.data(), address.bytes.data() + 12, 4);
    address.size = 4;
  }
  return address;
}

bool prefix_matches(const std::uint8_t* address, const std::uint8_t* network, int prefix_bits) {
  const int whole = prefix_bits / 8;
  if (std::memcmp(address, network, static_cast<std::size_t>(whole)) != 0) return false;
  const int rest = prefix_bits % 8;
  if (rest == 0) return true;
  const auto mask = static_cast<std::uint8_t>(0xff << (8 - rest));
  return (address[whole] & mask) == (network[whole] & mask);
}

bool cidr_contains(const config::Cidr& cidr, const Address& address) {
  const std::uint8_t* network = cidr.address.data();
  int prefix = cidr.prefix_length;
  if (cidr.address.size() == 16 && address.size == 4) {
    // An IPv4-mapped IPv6 network (::ffff:a.b.c.d/96 or longer) covers the IPv4 address.
    if (prefix < 96 || std::memcmp(network, kMappedPrefix, sizeof kMappedPrefix) != 0) return false;
    network += 12;
    prefix -= 96;
  } else if (cidr.address.size() != address.size) {
    return false;
  }
  prefix = std::clamp(prefix, 0, static_cast<int>(address.size) * 8);
  return prefix_matches(address.bytes.data(), network, prefix);
}

}  // namespace

std::string fold_header_name(std::string_view name) {
  std::string out(name);
  for (auto& c : out) c = fold_char(c);
  return out;
}

void append_connection_tokens(std::string_view connection_value, std::vector<std::string>& tokens) {
  while (!connection_value.empty()) {
    const auto comma = connection_value.find(',');
    const auto token = trim_ows(connection_value.substr(0, comma));
    if (!token.empty()) tokens.push_back(fold_header_name(token));
    if (comma == std::string_view::npos) break;
    connection_value.remove_prefix(comma + 1);
  }
}

HeaderPolicy::HeaderPolicy(const config::Config& config)
    : trusted_(config.forwarding.trusted_proxies),
      forward_credentials_(config.forwarding.forward_credentials) {
  const auto& names = config.identity_headers;
  for (const auto* name : {&names.id, &names.email, &names.superuser, &names.verified}) {
    identity_names_.push_back(*name);
    identity_folded_.push_back(fold_header_name(*name));
  }
}

bool HeaderPolicy::drop_request_header(std::string_view name,
                                       const std::vector<std::string>& connection_tokens,
                                       bool client_is_trusted_proxy) const {
  if (folded_in(name, kHopByHop)) return true;
  // Identity headers come from doorman only, in whatever spelling the client tried.
  const bool identity =
      std::any_of(identity_folded_.begin(), identity_folded_.end(),
                  [&](const std::string& f) { return !f.empty() && folded_equals(name, f); });
  if (identity) return true;
  // A client that is not a trusted proxy has no say in where the request came from:
  // Forwarded and every X-Forwarded-* (Port, Prefix ... that frameworks also read).
  const bool forwarding = folded_equals(name, "forwarded") || folded_starts_with(name, "x-forwarded-");
  if (forwarding && !client_is_trusted_proxy) return true;
  // A Connection token removes the header it names, except one doorman sets itself
  // (identity: dropped above anyway; X-Forwarded-*: appended to by the caller) and
  // Host, without which the upstream request would be malformed.
  if (folded_in(name, kForwardedSet) || folded_equals(name, "host")) return false;
  return std::any_of(connection_tokens.begin(), connection_tokens.end(),
                     [&](const std::string& token) { return folded_equals(name, token); });
}

std::vector<std::pair<std::string, std::string>> HeaderPolicy::identity_for(
    const authcore::User* user) const {
  std::vector<std::pair<std::string, std::string>> headers;
  // An inactive user is no user (DESIGN.md §4): an anonymous path gets no identity for it.
  if (user == nullptr || !user->is_active) return headers;
  const std::string_view values[] = {user->id, user->email, user->is_superuser ? "true" : "false",
                                     user->is_verified ? "true" : "false"};
  headers.reserve(identity_names_.size());
  for (std::size_t i = 0; i < identity_names_.size(); ++i) {
    if (!identity_names_[i].empty()) headers.emplace_back(identity_names_[i], values[i]);
  }
  return headers;
}

std::string HeaderPolicy::forwarded_for(std::string_view prior_chain, std::string_view client_address,
                                        bool client_is_trusted_proxy) const {
  prior_chain = trim_ows(prior_chain);
  if (!client_is_trusted_proxy || prior_chain.empty()) return std::string(client_address);
  std::string out;
  out.reserve(prior_chain.size() + 2 + client_address.size());
  out.append(prior_chain).append(", ").append(client_address);
  return out;
}

bool HeaderPolicy::is_trusted_proxy(std::string_view client_address) const {
  if (trusted_.empty()) return false;
  const auto address = parse_address(client_address);
  if (!address) return false;
  return std::any_of(trusted_.begin(), trusted_.end(),
                     [&](const config::Cidr& cidr) { return cidr_contains(cidr, *address); });
}

std::string strip_cookies(std::string_view cookie_header, const std::vector<std::string>& names) {
  std::string out;
  out.reserve(cookie_header.size());
  while (!cookie_header.empty()) {
    const auto semicolon = cookie_header.find(';');
    const auto pair = trim_ows(cookie_header.substr(0, semicolon));
    const auto cookie_name = trim_ows(pair.substr(0, pair.find('=')));
    // Cookie names are case-sensitive (RFC 6265), so compare exactly.
    const bool drop = pair.empty() || std::find(names.begin(), names.end(), cookie_name) != names.end();
    if (!drop) {
      if (!out.empty()) out.append("; ");
      out.append(pair);
    }
    if (semicolon == std::string_view::npos) break;
    cookie_header.remove_prefix(semicolon + 1);
  }
  return out;
}

}  // namespace doorman::proxy
