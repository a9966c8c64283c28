// tokens.json of the fastapi-users 14 fixture, parsed once.
#pragma once

#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

namespace doorman::test {

inline const nlohmann::json& fixture_tokens() {
  static const nlohmann::json tokens = [] {
    std::ifstream in(std::string(DOORMAN_FIXTURES) + "/fastapi-users-14/tokens.json");
    return nlohmann::json::parse(in);
  }();
  return tokens;
}

}  // namespace doorman::test
