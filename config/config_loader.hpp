// Loads and validates a doorman YAML config into a Config (DESIGN.md §4):
// env expansion, *_file secrets, every error collected with key path and line.
#pragma once

#include <string>
#include <vector>

#include "config/config.hpp"

namespace doorman::config {

struct ConfigError {
  std::string key_path;  // e.g. "auth.backends[0].strategy.type"
  int line = 0;          // 1-based YAML line, 0 when unknown
  std::string message;
  std::string file{};             // the origin (config file path) the line refers to
  std::string to_string() const;  // "config.yaml:12: auth.backends[0].strategy.type: ..."
};

struct LoadResult {
  std::shared_ptr<Config> config;  // null when errors is non-empty
  std::vector<ConfigError> errors;
  bool ok() const { return errors.empty() && config != nullptr; }
};

// Reads the file at `path`. The environment is read through getenv.
LoadResult load_config_file(const std::string& path);
// Parses YAML text; `origin` names the source in messages; `base_dir` resolves relative *_file paths.
LoadResult load_config_text(const std::string& yaml_text, const std::string& origin,
                            const std::string& base_dir);

// The effective config as YAML, secrets masked, for `doorman check-config`.
std::string render_effective_config(const Config& config);

}  // namespace doorman::config
