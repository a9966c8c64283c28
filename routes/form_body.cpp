// Form bodies (urlencoded and multipart); see form_body.hpp.
#include "routes/form_body.hpp"
#include "config/hex.hpp"

#include <algorithm>

#include "routes/utf8.hpp"

namespace doorman::routes {

namespace {

using config::hex_value;

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), ascii_lower);
  return out;
}

// Starlette decodes the raw field as latin-1 and then runs unquote_plus on
// it: '+' is a space, runs of %XX are UTF-8 (errors replaced), every other
// byte stands for the latin-1 code point of its value.
std::string unquote_plus(std::string_view raw) {
  std::string out;
  std::string escaped;  // the current run of %XX bytes
  const auto flush = [&] {
    if (!escaped.empty()) out += decode_utf8_replace(escaped);
    escaped.clear();
  };
  for (std::size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] == '%' && i + 2 < raw.size() && hex_value(raw[i + 1]) >= 0 && hex_value(raw[i + 2]) >= 0) {
      escaped += static_cast<char>(hex_value(raw[i + 1]) * 16 + hex_value(raw[i + 2]));
      i += 2;
      continue;
    }
    flush();
    if (raw[i] == '+') {
      out += ' ';
    } else {
      append_utf8(out, static_cast<unsigned char>(raw[i]));
    }
  }
  flush();
  return out;
}

// The parameter `wanted` of a header value such as `form-data; name="a"; filename="b"`
// (parameter names compared in lower case; quoted values may hold ';' and \-escapes).
std::optional<std::string> header_parameter(std::string_view value, std::string_view wanted) {
  constexpr auto npos = std::string_view::npos;
  std::size_t i = value.find(';');
  while (i != npos && i < value.size()) {
    ++i;  // past ';'
    const auto eq = value.find('=', i);
    if (eq == npos) return std::nullopt;
    const std::string name = lower(trim_ascii_space(value.substr(i, eq - i)));
    i = eq + 1;
    while (i < value.size() && (value[i] == ' ' || value[i] == '\t')) ++i;
    std::string parsed;
    if (i < value.size() && value[i] == '"') {
      for (++i; i < value.size() && value[i] != '"'; ++i) {
        if (value[i] == '\\' && i + 1 < value.size()) ++i;
        parsed += value[i];
      }
      i = value.find(';', i);
    } else {
      const auto end = value.find(';', i);
      parsed = std::string(trim_ascii_space(value.substr(i, end == npos ? npos : end - i)));
      i = end;
    }
    if (name == wanted) return parsed;
  }
  return std::nullopt;
}

// Starlette decodes multipart names and values as UTF-8, falling back to latin-1.
std::string decode_part_text(std::string_view bytes) {
  return is_valid_utf8(bytes) ? std::string(bytes) : latin1_to_utf8(bytes);
}

std::variant<FormFields, HttpAnswer> parse_multipart(std::string_view content_type, std::string_view body) {
  const auto boundary = header_parameter(content_type, "boundary");
  if (!boundary || boundary->empty()) return detail_answer(400, "Missing boundary in multipart.");
  const HttpAnswer malformed = detail_answer(400, "There was an error parsing the body");
  const std::string delimiter = "--" + *boundary;

  FormFields fields;
  // Skip the preamble up to the first delimiter.
  std::size_t pos = body.find(delimiter);
  if (pos == std::string_view::npos) return fields;
  pos += delimiter.size();
  while (true) {
    if (body.substr(pos).starts_with("--")) return fields;  // closing delimiter
    if (!body.substr(pos).starts_with("\r\n")) return malformed;
    pos += 2;
    const auto headers_end = body.find("\r\n\r\n", pos);
    if (headers_end == std::string_view::npos) return malformed;
    std::optional<std::string> name;
    for (std::string_view headers = body.substr(pos, headers_end - pos); !headers.empty();) {
      const auto eol = headers.find("\r\n");
      const std::string_view line = headers.substr(0, eol);
      headers = eol == std::string_view::npos ? std::string_view{} : headers.substr(eol + 2);
      const auto colon = line.find(':');
      if (colon == std::string_view::npos) return malformed;
      if (lower(trim_ascii_space(line.substr(0, colon))) == "content-disposition")
        name = header_parameter(line.substr(colon + 1), "name");
    }
    if (!name) return malformed;  // Starlette fails on a part without a name
    const std::size_t data_begin = headers_end + 4;
    const std::string end_marker = "\r\n" + delimiter;
    const auto data_end = body.find(end_marker, data_begin);
    if (data_end == std::string_view::npos) return malformed;
    fields.emplace_back(decode_part_text(*name),
                        decode_part_text(body.substr(data_begin, data_end - data_begin)));
    pos = data_end + end_marker.size();
  }
}

}  // namespace

FormFields parse_urlencoded(std::string_view body) {
  FormFields fields;
  while (!body.empty()) {
    const auto amp = body.find('&');
    const std::string_view pair = body.substr(0, amp);
    body = amp == std::string_view::npos ? std::string_view{} : body.substr(amp + 1);
    if (pair.empty()) continue;
    const auto eq = pair.find('=');
    // A field without '=' has an empty value (python-multipart, non-strict).
    fields.emplace_back(unquote_plus(pair.substr(0, eq)),
                        eq == std::string_view::npos ? std::string{} : unquote_plus(pair.substr(eq + 1)));
  }
  return fields;
}

std::variant<FormFields, HttpAnswer> read_form_body(std::string_view content_type, std::string_view body) {
  const std::string type = lower(trim_ascii_space(content_type.substr(0, content_type.find(';'))));
  if (type == "multipart/form-data") return parse_multipart(content_type, body);
  if (type == "application/x-www-form-urlencoded") return parse_urlencoded(body);
  return FormFields{};
}

std::optional<std::string_view> form_value(const FormFields& fields, std::string_view name) {
  for (auto it = fields.rbegin(); it != fields.rend(); ++it)
    if (it->first == name) return it->second;
  return std::nullopt;
}

}  // namespace doorman::routes
