// Typed, error-collecting reading of yaml-cpp nodes for the config loader.
#include "config/yaml_reader.hpp"

#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace doorman::config {

namespace {

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

std::string range_message(long long min, long long max) {
  if (max >= INT_MAX) return "must be >= " + std::to_string(min);
  return "must be between " + std::to_string(min) + " and " + std::to_string(max);
}

}  // namespace

YamlReader::YamlReader(EnvLookup env, std::string origin, std::string base_dir)
    : env_(std::move(env)), origin_(std::move(origin)), base_dir_(std::move(base_dir)) {}

void YamlReader::error(const std::string& key_path, int line, std::string message) {
  ConfigError e;
  e.key_path = key_path;
  e.line = line;
  e.message = std::move(message);
  e.file = origin_;
  errors_.push_back(std::move(e));
}

int YamlReader::line_of(const YAML::Node& node) {
  if (!node.IsDefined()) return 0;
  const YAML::Mark mark = node.Mark();
  return mark.is_null() ? 0 : mark.line + 1;
}

const char* YamlReader::kind_name(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map:
      return "a map";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Null:
      return "null";
    case YAML::NodeType::Scalar:
      return "a scalar";
    default:
      return "nothing";
  }
}

std::optional<std::string> YamlReader::scalar(const YAML::Node& node, const std::string& path, int line,
                                              const char* expected) {
  if (!node.IsScalar()) {
    error(path, line, std::string("expected ") + expected + ", got " + kind_name(node));
    return std::nullopt;
  }
  ExpandResult expanded = expand_env(node.Scalar(), env_);
  if (!expanded.ok()) {
    error(path, line, expanded.error);
    return std::nullopt;
  }
  return std::move(expanded.value);
}

std::string YamlReader::resolve_path(const std::string& path) const {
  const std::filesystem::path p(path);
  if (p.is_absolute() || base_dir_.empty()) return path;
  return (std::filesystem::path(base_dir_) / p).lexically_normal().string();
}

std::optional<std::string> YamlReader::read_file(const std::string& path, std::string& error_out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error_out = "cannot read '" + path + "': " + std::strerror(errno);
    return std::nullopt;
  }
  std::ostringstream content;
  content << in.rdbuf();
  if (in.bad()) {
    error_out = "cannot read '" + path + "'";
    return std::nullopt;
  }
  return content.str();
}

MapCursor::MapCursor(YamlReader& reader, const YAML::Node& node, std::string path, int line)
    : reader_(reader), path_(std::move(path)), line_(line) {
  if (!node.IsDefined()) return;
  if (!node.IsMap()) {
    reader_.error(path_, line_, std::string("expected a map, got ") + YamlReader::kind_name(node));
    return;
  }
  ok_ = true;
  for (const auto& item : node) {
    Entry entry;
    entry.line = YamlReader::line_of(item.first);
    if (!item.first.IsScalar()) {
      reader_.error(path_, entry.line, "map keys must be strings");
      continue;
    }
    entry.key = item.first.Scalar();
    entry.value = item.second;
    if (find(entry.key) != nullptr) {
      reader_.error(child_path(entry.key), entry.line, "duplicate key");
      continue;
    }
    entries_.push_back(std::move(entry));
  }
}

std::string MapCursor::child_path(std::string_view key) const {
  return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
}

const MapCursor::Entry* MapCursor::find(std::string_view key) const {
  for (const Entry& e : entries_)
    if (e.key == key) return &e;
  return nullptr;
}

bool MapCursor::has(std::string_view key) const { return find(key) != nullptr; }

int MapCursor::key_line(std::string_view key) const {
  const Entry* e = find(key);
  return e != nullptr ? e->line : line_;
}

YAML::Node MapCursor::take(std::string_view key) {
  for (Entry& e : entries_) {
    if (e.key == key) {
      e.used = true;
      return e.value;
    }
  }
  return YAML::Node(YAML::NodeType::Undefined);
}

void MapCursor::finish(const std::string& hint) {
  for (const Entry& e : entries_) {
    if (e.used) continue;
    reader_.error(child_path(e.key), e.line, hint.empty() ? "unknown key" : "unknown key (" + hint + ")");
  }
}

std::optional<std::string> MapCursor::scalar_of(std::string_view key, const char* expected) {
  const YAML::Node node = take(key);
  if (!node.IsDefined()) return std::nullopt;
  return reader_.scalar(node, child_path(key), key_line(key), expected);
}

bool MapCursor::get_string(std::string_view key, std::string& out) {
  std::optional<std::string> text = scalar_of(key, "a string");
  if (!text) return false;
  out = std::move(*text);
  return true;
}

bool MapCursor::get_optional_string(std::string_view key, std::optional<std::string>& out) {
  if (!has(key)) return false;
  if (take(key).IsNull()) {
    out.reset();
    return true;
  }
  std::optional<std::string> text = scalar_of(key, "a string or null");
  if (!text) return false;
  if (text->empty()) {
    out.reset();
  } else {
    out = std::move(*text);
  }
  return true;
}

bool MapCursor::get_int(std::string_view key, int& out, long long min, long long max) {
  const std::optional<std::string> text = scalar_of(key, "an integer");
  if (!text) return false;
  long long value = 0;
  const char* begin = text->data();
  const char* end = begin + text->size();
  const auto [stop, ec] = std::from_chars(begin, end, value);
  if (text->empty() || ec == std::errc::invalid_argument || stop != end) {
    reader_.error(child_path(key), key_line(key), "expected an integer, got '" + *text + "'");
    return false;
  }
  if (ec == std::errc::result_out_of_range || value < min || value > max) {
    reader_.error(child_path(key), key_line(key), range_message(min, max) + " (got " + *text + ")");
    return false;
  }
  out = static_cast<int>(value);
  return true;
}

bool MapCursor::get_size(std::string_view key, std::size_t& out, long long min, long long max) {
  int value = 0;
  if (!get_int(key, value, min, max)) return false;
  out = static_cast<std::size_t>(value);
  return true;
}

bool MapCursor::get_optional_int(std::string_view key, std::optional<int>& out, long long min,
                                 long long max) {
  if (!has(key)) return false;
  if (take(key).IsNull()) {
    out.reset();
    return true;
  }
  // `${VAR:-}` expanding to nothing means null too.
  const YAML::Node node = take(key);
  if (node.IsScalar()) {
    const std::optional<std::string> text =
        reader_.scalar(node, child_path(key), key_line(key), "an integer");
    if (!text) return false;
    if (text->empty()) {
      out.reset();
      return true;
    }
  }
  int value = 0;
  if (!get_int(key, value, min, max)) return false;
  out = value;
  return true;
}

bool MapCursor::get_bool(std::string_view key, bool& out) {
  const std::optional<std::string> text = scalar_of(key, "true or false");
  if (!text) return false;
  const std::string value = lower(*text);
  if (value == "true") {
    out = true;
  } else if (value == "false") {
    out = false;
  } else {
    reader_.error(child_path(key), key_line(key), "expected true or false, got '" + *text + "'");
    return false;
  }
  return true;
}

bool MapCursor::match_enum(std::string_view key, const std::string& text,
                           const std::vector<std::string_view>& names, std::size_t& index) {
  const std::string wanted = lower(text);
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (lower(names[i]) == wanted) {
      index = i;
      return true;
    }
  }
  std::string list;
  for (std::string_view n : names) list += (list.empty() ? "" : ", ") + std::string(n);
  reader_.error(child_path(key), key_line(key), "must be one of " + list + " (got '" + text + "')");
  return false;
}

bool MapCursor::get_secret(std::string_view key, std::string& out) {
  const std::string file_key = std::string(key) + "_file";
  if (has(key) && has(file_key)) {
    take(key);
    take(file_key);
    reader_.error(child_path(file_key), key_line(file_key),
                  "give either " + std::string(key) + " or " + file_key + ", not both");
    return false;
  }
  if (has(key)) {
    if (take(key).IsNull()) {
      out.clear();
      return true;
    }
    return get_string(key, out);
  }
  std::string path;
  if (!get_string(file_key, path)) return false;
  std::string error;
  std::optional<std::string> content = YamlReader::read_file(reader_.resolve_path(path), error);
  if (!content) {
    reader_.error(child_path(file_key), key_line(file_key), error);
    return false;
  }
  // A Kubernetes Secret or `echo x > file` ends in one newline that is not part of the secret.
  if (!content->empty() && content->back() == '\n') {
    content->pop_back();
    if (!content->empty() && content->back() == '\r') content->pop_back();
  }
  out = std::move(*content);
  return true;
}

bool MapCursor::get_file_contents(std::string_view key, std::string& out) {
  std::string path;
  if (!get_path(key, path)) return false;
  std::string error;
  std::optional<std::string> content = YamlReader::read_file(path, error);
  if (!content) {
    reader_.error(child_path(key), key_line(key), error);
    return false;
  }
  out = std::move(*content);
  return true;
}

bool MapCursor::get_path(std::string_view key, std::string& out) {
  std::string path;
  if (!get_string(key, path)) return false;
  if (path.empty()) {
    reader_.error(child_path(key), key_line(key), "must not be empty");
    return false;
  }
  const std::string resolved = reader_.resolve_path(path);
  std::ifstream probe(resolved, std::ios::binary);
  if (!probe) {
    reader_.error(child_path(key), key_line(key), "cannot read '" + resolved + "': " + std::strerror(errno));
    return false;
  }
  out = resolved;
  return true;
}

bool MapCursor::get_string_list(std::string_view key, std::vector<std::pair<std::string, int>>& out) {
  const YAML::Node node = take(key);
  if (!node.IsDefined()) return false;
  const std::string path = child_path(key);
  if (!node.IsSequence()) {
    reader_.error(path, key_line(key), std::string("expected a list, got ") + YamlReader::kind_name(node));
    return false;
  }
  bool all_ok = true;
  out.clear();
  std::size_t i = 0;
  for (const YAML::Node& item : node) {
    const std::string item_path = path + "[" + std::to_string(i++) + "]";
    int line = YamlReader::line_of(item);
    if (line == 0) line = key_line(key);
    std::optional<std::string> text = reader_.scalar(item, item_path, line, "a string");
    if (!text) {
      all_ok = false;
      continue;
    }
    out.emplace_back(std::move(*text), line);
  }
  return all_ok;
}

}  // namespace doorman::config
