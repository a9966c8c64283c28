// authcore's view of a Redis URL: config's parser (so check-config refuses bad
// URLs) with the Result type the strategies and clients use.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "authcore/result.hpp"
#include "config/redis_url.hpp"

namespace doorman::authcore {

using config::RedisEndpoint;

inline Result<RedisEndpoint, std::string> parse_redis_url(std::string_view url) {
  auto parsed = config::parse_redis_url(url);
  if (auto* endpoint = std::get_if<RedisEndpoint>(&parsed)) return std::move(*endpoint);
  return std::get<std::string>(std::move(parsed));
}

}  // namespace doorman::authcore
