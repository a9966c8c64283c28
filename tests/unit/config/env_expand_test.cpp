// Tests for config/env_expand: ${VAR}, ${VAR:-default}, escapes and errors.
#include "config/env_expand.hpp"

#include <doctest/doctest.h>

#include <map>

using doorman::config::EnvLookup;
using doorman::config::expand_env;

namespace {

EnvLookup fake_env(std::map<std::string, std::string> vars) {
  return [vars](const std::string& name) -> std::optional<std::string> {
    const auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

}  // namespace

TEST_CASE("expand_env substitutes set variables") {
  const auto env = fake_env({{"A", "alpha"}, {"EMPTY", ""}});
  CHECK(expand_env("x-${A}-y", env).value == "x-alpha-y");
  CHECK(expand_env("${A}${A}", env).value == "alphaalpha");
  CHECK(expand_env("no vars", env).value == "no vars");
  CHECK(expand_env("${EMPTY}", env).value.empty());
  CHECK(expand_env("${EMPTY}", env).ok());
}

TEST_CASE("expand_env defaults apply when unset or empty, as in sh") {
  const auto env = fake_env({{"A", "alpha"}, {"EMPTY", ""}});
  CHECK(expand_env("${A:-d}", env).value == "alpha");
  CHECK(expand_env("${MISSING:-fallback value}", env).value == "fallback value");
  CHECK(expand_env("${EMPTY:-d}", env).value == "d");
  CHECK(expand_env("${MISSING:-}", env).value.empty());
  CHECK(expand_env("${MISSING:-a:b/c}", env).value == "a:b/c");
}

TEST_CASE("expand_env keeps lone dollars and unescapes $${") {
  const auto env = fake_env({});
  CHECK(expand_env("pa$$word$", env).value == "pa$$word$");
  CHECK(expand_env("$${NOT_A_VAR}", env).value == "${NOT_A_VAR}");
}

TEST_CASE("expand_env errors name the variable") {
  const auto env = fake_env({});
  const auto r = expand_env("${DOORMAN_SECRET}", env);
  CHECK_FALSE(r.ok());
  CHECK(r.error.find("DOORMAN_SECRET") != std::string::npos);
  CHECK_FALSE(expand_env("${UNCLOSED", env).ok());
  CHECK_FALSE(expand_env("${}", env).ok());
  CHECK_FALSE(expand_env("${1BAD}", env).ok());
  CHECK_FALSE(expand_env("${BAD-NAME}", env).ok());
}
