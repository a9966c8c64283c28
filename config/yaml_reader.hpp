// Typed reading of yaml-cpp nodes for the config loader: env expansion of
// scalars, key paths, 1-based lines, unknown/duplicate key detection and the
// `x` / `x_file` secret pairs. Every problem is appended to one error list;
// nothing throws, so a single run reports all of them.
#pragma once

#include <yaml-cpp/yaml.h>

#include <climits>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/config_loader.hpp"
#include "config/env_expand.hpp"

namespace doorman::config {

class YamlReader {
 public:
  YamlReader(EnvLookup env, std::string origin, std::string base_dir);

  void error(const std::string& key_path, int line, std::string message);
  std::vector<ConfigError>& errors() { return errors_; }

  // 1-based line of a node, 0 when yaml-cpp has no mark for it.
  static int line_of(const YAML::Node& node);
  static const char* kind_name(const YAML::Node& node);  // "a map", "a list", "null", ...

  // The env-expanded text of a scalar; an error (and nullopt) for anything else.
  std::optional<std::string> scalar(const YAML::Node& node, const std::string& path, int line,
                                    const char* expected);
  // Relative paths resolve against the config file's directory.
  std::string resolve_path(const std::string& path) const;
  // Whole file contents, or nullopt with `error_out` set.
  static std::optional<std::string> read_file(const std::string& path, std::string& error_out);

 private:
  EnvLookup env_;
  std::string origin_;
  std::string base_dir_;
  std::vector<ConfigError> errors_;
};

// One YAML map being read: every key must be taken, or finish() reports it.
class MapCursor {
 public:
  // `node` not a map (and not absent) is reported as a type error; ok() is then false.
  MapCursor(YamlReader& reader, const YAML::Node& node, std::string path, int line);

  bool ok() const { return ok_; }
  int line() const { return line_; }
  const std::string& path() const { return path_; }
  std::string child_path(std::string_view key) const;
  YamlReader& reader() { return reader_; }

  bool has(std::string_view key) const;
  int key_line(std::string_view key) const;  // the map's line when absent
  // The value node (marked as used); an undefined node when absent.
  YAML::Node take(std::string_view key);
  // Reports keys never taken as unknown, naming `hint` when given.
  void finish(const std::string& hint = {});

  // Typed getters: absent key leaves `out` unchanged and returns false;
  // a bad value records an error and returns false; true when `out` was set.
  bool get_string(std::string_view key, std::string& out);
  bool get_optional_string(std::string_view key, std::optional<std::string>& out);  // null/"" -> nullopt
  bool get_int(std::string_view key, int& out, long long min = 0, long long max = INT_MAX);
  bool get_size(std::string_view key, std::size_t& out, long long min, long long max);
  bool get_optional_int(std::string_view key, std::optional<int>& out, long long min = 0,
                        long long max = INT_MAX);
  bool get_bool(std::string_view key, bool& out);
  // Case-insensitive match against `names`; `out` is set to the matching value.
  template <typename E>
  bool get_enum(std::string_view key, E& out, std::initializer_list<std::pair<std::string_view, E>> names);
  // `key` or `key_file` (file contents, one trailing newline stripped). Both is an error.
  bool get_secret(std::string_view key, std::string& out);
  // A path (resolved against base_dir) whose whole contents are read into `out`.
  bool get_file_contents(std::string_view key, std::string& out);
  // A path resolved against base_dir, checked to be readable.
  bool get_path(std::string_view key, std::string& out);

  // The value of `key` as a string list; an error for anything else.
  bool get_string_list(std::string_view key, std::vector<std::pair<std::string, int>>& out);

 private:
  struct Entry {
    std::string key;
    int line = 0;
    YAML::Node value;
    bool used = false;
  };
  const Entry* find(std::string_view key) const;
  std::optional<std::string> scalar_of(std::string_view key, const char* expected);
  bool match_enum(std::string_view key, const std::string& text, const std::vector<std::string_view>& names,
                  std::size_t& index);

  YamlReader& reader_;
  std::string path_;
  int line_ = 0;
  bool ok_ = false;
  std::vector<Entry> entries_;
};

template <typename E>
bool MapCursor::get_enum(std::string_view key, E& out,
                         std::initializer_list<std::pair<std::string_view, E>> names) {
  const std::optional<std::string> text = scalar_of(key, "a string");
  if (!text) return false;
  std::vector<std::string_view> labels;
  for (const auto& [label, value] : names) labels.push_back(label);
  std::size_t index = 0;
  if (!match_enum(key, *text, labels, index)) return false;
  out = std::data(names)[index].second;
  return true;
}

}  // namespace doorman::config
