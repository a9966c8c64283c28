// `${VAR}` / `${VAR:-default}` expansion of config scalars.
#include "config/env_expand.hpp"

#include <cstdlib>

namespace doorman::config {

namespace {

bool is_name_start(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; }
bool is_name_char(char c) { return is_name_start(c) || (c >= '0' && c <= '9'); }

}  // namespace

EnvLookup process_env() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* value = std::getenv(name.c_str());
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  };
}

ExpandResult expand_env(std::string_view text, const EnvLookup& env) {
  ExpandResult result;
  std::string& out = result.value;
  out.reserve(text.size());
  std::size_t i = 0;
  while (i < text.size()) {
    if (text.compare(i, 3, "$${") == 0) {
      out += "${";
      i += 3;
      continue;
    }
    if (text.compare(i, 2, "${") != 0) {
      out += text[i++];
      continue;
    }
    const std::size_t close = text.find('}', i + 2);
    if (close == std::string_view::npos) {
      result.error = "unterminated '${' (write '$${' for a literal '${')";
      return result;
    }
    const std::string_view body = text.substr(i + 2, close - i - 2);
    const std::size_t sep = body.find(":-");
    const std::string_view name = body.substr(0, sep);
    if (name.empty() || !is_name_start(name[0])) {
      result.error = "bad variable reference '${" + std::string(body) + "}'";
      return result;
    }
    for (char c : name) {
      if (!is_name_char(c)) {
        result.error = "bad variable reference '${" + std::string(body) + "}'";
        return result;
      }
    }
    const std::optional<std::string> value = env(std::string(name));
    if (sep == std::string_view::npos) {
      if (!value) {
        result.error = "environment variable " + std::string(name) + " is not set (write ${" +
                       std::string(name) + ":-default} to give a default)";
        return result;
      }
      out += *value;
    } else if (value && !value->empty()) {
      out += *value;
    } else {
      out += body.substr(sep + 2);
    }
    i = close + 1;
  }
  return result;
}

}  // namespace doorman::config
