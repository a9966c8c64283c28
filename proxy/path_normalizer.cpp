// Request-target normalization (DESIGN.md §4): percent-decoding of unreserved
// characters, refusal of encoded separators, slash merging and dot-segment removal.
#include "proxy/path_normalizer.hpp"
#include "config/hex.hpp"

namespace doorman::proxy {
namespace {

using config::hex_value;

bool is_unreserved(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
         c == '_' || c == '~';
}

bool is_control(unsigned char c) { return c < 0x20 || c == 0x7f; }

// Decodes %XX of unreserved characters and upper-cases the hex of the others, so
// that one resource has one spelling. Refuses what could be read as a separator
// or terminator by the upstream ('/', '\', NUL) whether raw or encoded.
std::optional<std::string> decode_unreserved(std::string_view path) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(path.size());
  for (std::size_t i = 0; i < path.size(); ++i) {
    const auto c = static_cast<unsigned char>(path[i]);
    if (c == '\\' || is_control(c)) return std::nullopt;
    if (c != '%') {
      out.push_back(static_cast<char>(c));
      continue;
    }
    if (i + 2 >= path.size()) return std::nullopt;
    const int hi = hex_value(path[i + 1]);
    const int lo = hex_value(path[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    const auto decoded = static_cast<unsigned char>(hi * 16 + lo);
    if (decoded == '/' || decoded == '\\' || decoded == 0) return std::nullopt;
    if (is_unreserved(decoded)) {
      out.push_back(static_cast<char>(decoded));
    } else {
      out.push_back('%');
      out.push_back(kHex[hi]);
      out.push_back(kHex[lo]);
    }
    i += 2;
  }
  return out;
}

// RFC 3986 remove_dot_segments with runs of '/' merged first, as nginx's
// merge_slashes does: an empty segment is no segment, so "/a//../b" is "/b".
// A path ending in '/', "." or ".." keeps its trailing '/'; ".." at the root stays there.
std::string remove_dot_segments(std::string_view path) {
  // `out` is a run of "/segment" pieces, so ".." cuts it back to its last '/'.
  std::string out;
  out.reserve(path.size());
  bool trailing_slash = false;
  std::size_t start = 1;  // path[0] == '/'
  while (start <= path.size()) {
    std::size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    const std::string_view segment = path.substr(start, end - start);
    if (segment == "..") {
      if (!out.empty()) out.resize(out.rfind('/'));
    } else if (!segment.empty() && segment != ".") {
      out.push_back('/');
      out.append(segment);
    }
    if (end == path.size()) trailing_slash = segment.empty() || segment == "." || segment == "..";
    start = end + 1;
  }
  if (out.empty() || trailing_slash) out.push_back('/');
  return out;
}

// True when normalizing would give `path` back unchanged, as for nearly every real
// request: nothing to decode, refuse, merge or remove. One pass instead of two
// copies. "/." anywhere (also "/.well-known") takes the full path, to stay simple.
bool is_normal_already(std::string_view path) {
  char previous = '\0';
  for (const char ch : path) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '%' || c == '\\' || is_control(c)) return false;
    if (previous == '/' && (c == '/' || c == '.')) return false;
    previous = ch;
  }
  return true;
}

}  // namespace

std::string NormalizedTarget::target() const {
  if (!has_query) return path;
  std::string out;
  out.reserve(path.size() + 1 + query.size());
  out.append(path).append("?").append(query);
  return out;
}

std::optional<NormalizedTarget> normalize_target(std::string_view request_target) {
  // Origin-form only: absolute-form and "*" never reach an upstream through a sidecar.
  if (request_target.empty() || request_target.front() != '/') return std::nullopt;

  // A fragment is never sent by a client; a raw '#' would end the target for the upstream.
  if (request_target.find('#') != std::string_view::npos) return std::nullopt;

  NormalizedTarget result;
  std::string_view raw_path = request_target;
  if (const auto q = request_target.find('?'); q != std::string_view::npos) {
    raw_path = request_target.substr(0, q);
    const std::string_view query = request_target.substr(q + 1);
    // The query is forwarded untouched, but a control character in it is no valid
    // request line and may be read as a terminator by the upstream.
    for (const char c : query) {
      if (is_control(static_cast<unsigned char>(c))) return std::nullopt;
    }
    result.query.assign(query);
    result.has_query = true;
  }
  if (is_normal_already(raw_path)) {
    result.path.assign(raw_path);
    return result;
  }
  auto decoded = decode_unreserved(raw_path);
  if (!decoded) return std::nullopt;
  result.path = remove_dot_segments(*decoded);
  return result;
}

}  // namespace doorman::proxy
