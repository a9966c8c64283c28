// Email validation and normalisation following pydantic's validate_email and
// email-validator 2.3's syntax checks (check_deliverability=False, no quoted
// local parts, no domain literals), with the same reason sentences.
//
// Where doorman stops short of email-validator (no Unicode database, no IDNA):
// - Non-ASCII local parts are accepted and kept byte for byte (assumed NFC);
//   only controls, non-ASCII spaces, line/paragraph separators, common format
//   characters (bidi, zero-width) and private-use code points are refused as
//   unsafe. A leading combining mark is not detected.
// - Internationalized domains (non-ASCII or `xn--` labels) are refused:
//   email-validator would store them in a Unicode form doorman cannot compute,
//   and a differently written domain would break lower(email) lookups.
// - Domain literals get the "not allowed here" reason without checking that
//   the IP address inside is valid.
// - Python's str.strip()/`\s` whitespace is matched for ASCII and the common
//   Unicode spaces; `\w` in pydantic's display-name pattern takes any non-ASCII
//   character that is not whitespace.
#include "authcore/email.hpp"

#include <algorithm>
#include <array>
#include <optional>
#include <set>
#include <vector>

namespace doorman::authcore {
namespace {

constexpr std::size_t max_input_chars = 2048;  // pydantic MAX_EMAIL_LENGTH
constexpr std::size_t email_max_length = 254;
constexpr std::size_t local_part_max_length = 64;
constexpr std::size_t domain_max_length = 255;
constexpr std::size_t dns_label_max_length = 63;

constexpr std::array<std::u32string_view, 6> special_use_domains = {U"arpa",      U"invalid", U"local",
                                                                    U"localhost", U"onion",   U"test"};
// RFC 2142 mailbox names email-validator lowercases.
constexpr std::array<std::u32string_view, 15> case_insensitive_mailboxes = {
    U"info",       U"marketing", U"sales", U"support",   U"abuse", U"noc",  U"security", U"postmaster",
    U"hostmaster", U"usenet",    U"news",  U"webmaster", U"www",   U"uucp", U"ftp"};

using Text = std::u32string;
using TextView = std::u32string_view;

struct SyntaxError {
  std::string reason;
};

std::optional<Text> decode_utf8(std::string_view s) {
  Text out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    const auto b = static_cast<unsigned char>(s[i]);
    std::size_t n = 0;
    char32_t c = 0;
    if (b < 0x80) {
      n = 1, c = b;
    } else if ((b & 0xE0) == 0xC0) {
      n = 2, c = b & 0x1F;
    } else if ((b & 0xF0) == 0xE0) {
      n = 3, c = b & 0x0F;
    } else if ((b & 0xF8) == 0xF0) {
      n = 4, c = b & 0x07;
    } else {
      return std::nullopt;
    }
    if (i + n > s.size()) return std::nullopt;
    for (std::size_t k = 1; k < n; ++k) {
      const auto cb = static_cast<unsigned char>(s[i + k]);
      if ((cb & 0xC0) != 0x80) return std::nullopt;
      c = c << 6 | (cb & 0x3F);
    }
    constexpr char32_t min_for_length[] = {0, 0, 0x80, 0x800, 0x10000};
    if (c < min_for_length[n] || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) return std::nullopt;
    out += c;
    i += n;
  }
  return out;
}

std::string encode_utf8(TextView t) {
  std::string out;
  out.reserve(t.size());
  for (const char32_t c : t) {
    if (c < 0x80) {
      out += static_cast<char>(c);
    } else if (c < 0x800) {
      out += static_cast<char>(0xC0 | c >> 6);
      out += static_cast<char>(0x80 | (c & 0x3F));
    } else if (c < 0x10000) {
      out += static_cast<char>(0xE0 | c >> 12);
      out += static_cast<char>(0x80 | (c >> 6 & 0x3F));
      out += static_cast<char>(0x80 | (c & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | c >> 18);
      out += static_cast<char>(0x80 | (c >> 12 & 0x3F));
      out += static_cast<char>(0x80 | (c >> 6 & 0x3F));
      out += static_cast<char>(0x80 | (c & 0x3F));
    }
  }
  return out;
}

std::size_t utf8_length(TextView t) { return encode_utf8(t).size(); }

// Python str.isspace().
bool is_space(char32_t c) {
  return c == ' ' || (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x1F) || c == 0x85 || c == 0xA0 ||
         c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F ||
         c == 0x205F || c == 0x3000;
}

TextView strip(TextView t) {
  while (!t.empty() && is_space(t.front())) t.remove_prefix(1);
  while (!t.empty() && is_space(t.back())) t.remove_suffix(1);
  return t;
}

bool is_ascii_alnum(char32_t c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

// RFC 5322 atext (email-validator's ATEXT).
bool is_atext(char32_t c) {
  return is_ascii_alnum(c) || (c < 0x80 && TextView(U"_!#$%&'*+-/=?^`{|}~").find(c) != TextView::npos);
}
bool is_atext_intl(char32_t c) { return is_atext(c) || c >= 0x80; }

bool is_ascii(TextView t) {
  return std::all_of(t.begin(), t.end(), [](char32_t c) { return c < 0x80; });
}

Text ascii_lower(TextView t) {
  Text out(t);
  for (auto& c : out)
    if (c >= 'A' && c <= 'Z') c = c - 'A' + 'a';
  return out;
}

bool is_unsafe(char32_t c);

// email-validator's safe_character_display: quoted for printable characters,
// the Unicode name for spaces, U+XXXX otherwise. Deviation: without a Unicode
// database, non-ASCII unsafe characters show as U+XXXX where Python prints
// their name (U+200B is "ZERO WIDTH SPACE" there).
std::string display_char(char32_t c) {
  if (c == '\\') return "\"\\\"";
  if (c == ' ') return "SPACE";
  if (c < 0x20 || c == 0x7F || (c >= 0x80 && is_unsafe(c))) {
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string h = "U+";
    for (int shift = c <= 0xFFFF ? 12 : 28; shift >= 0; shift -= 4) h += hex[c >> shift & 0xF];
    return h;
  }
  if (c == '\'') return "\"'\"";
  return "'" + encode_utf8(TextView(&c, 1)) + "'";
}

template <class Pred>
std::string bad_char_list(TextView t, Pred allowed) {
  std::set<std::string> shown;  // sorted and unique, as sorted(set(...)) in Python
  for (const char32_t c : t)
    if (!allowed(c)) shown.insert(display_char(c));
  std::string out;
  for (const auto& s : shown) out += (out.empty() ? "" : ", ") + s;
  return out;
}

std::string length_reason(std::size_t length, std::size_t limit) {
  const std::size_t diff = length - limit;
  return "(" + std::to_string(diff) + " character" + (diff > 1 ? "s" : "") + " too many)";
}

// Code points email-validator's check_unsafe_chars refuses that doorman can
// recognise without a Unicode database.
bool is_unsafe(char32_t c) {
  return c < 0x20 || (c >= 0x7F && c < 0xA0) || c == 0xA0 || c == 0xAD || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200F) || (c >= 0x2028 && c <= 0x202F) || (c >= 0x205F && c <= 0x206F) ||
         c == 0x3000 || c == 0xFEFF || (c >= 0xFFF9 && c <= 0xFFFB) || (c >= 0xE000 && c <= 0xF8FF) ||
         c >= 0xF0000 || (c & 0xFFFE) == 0xFFFE;
}

bool contains(TextView t, TextView what) { return t.find(what) != TextView::npos; }

// Python's str.format with one "{}".
std::string fill(std::string_view pattern, std::string_view word) {
  const auto at = pattern.find("{}");
  return std::string(pattern.substr(0, at)) + std::string(word) + std::string(pattern.substr(at + 2));
}

// email-validator's check_dot_atom.
std::optional<SyntaxError> check_dot_atom(TextView label, std::string_view start_descr,
                                          std::string_view end_descr, bool is_hostname) {
  if (!label.empty() && label.back() == '.') return SyntaxError{fill(end_descr, "period")};
  if (!label.empty() && label.front() == '.') return SyntaxError{fill(start_descr, "period")};
  if (contains(label, U"..")) return SyntaxError{"An email address cannot have two periods in a row."};
  if (is_hostname) {
    if (!label.empty() && label.back() == '-') return SyntaxError{fill(end_descr, "hyphen")};
    if (!label.empty() && label.front() == '-') return SyntaxError{fill(start_descr, "hyphen")};
    if (contains(label, U".-") || contains(label, U"-."))
      return SyntaxError{"An email address cannot have a period and a hyphen next to each other."};
  }
  return std::nullopt;
}

bool matches_dot_atom(TextView t, bool (*allowed)(char32_t)) {
  if (t.empty() || t.front() == '.' || t.back() == '.' || contains(t, U"..")) return false;
  return std::all_of(t.begin(), t.end(), [&](char32_t c) { return c == '.' || allowed(c); });
}

// validate_email_local_part (unquoted), then the RFC 2142 lower-casing.
Result<Text, SyntaxError> validate_local_part(TextView local) {
  if (local.empty()) return SyntaxError{"There must be something before the @-sign."};
  if (local.size() > local_part_max_length)
    return SyntaxError{"The email address is too long before the @-sign " +
                       length_reason(local.size(), local_part_max_length) + "."};
  if (matches_dot_atom(local, is_atext)) {
    const Text lowered = ascii_lower(local);
    const bool mailbox = std::find(case_insensitive_mailboxes.begin(), case_insensitive_mailboxes.end(),
                                   TextView(lowered)) != case_insensitive_mailboxes.end();
    return mailbox ? lowered : Text(local);
  }
  if (matches_dot_atom(local, is_atext_intl)) {
    const std::string unsafe = bad_char_list(local, [](char32_t c) { return !is_unsafe(c); });
    if (!unsafe.empty()) return SyntaxError{"The email address contains unsafe characters: " + unsafe + "."};
    return Text(local);
  }
  const std::string bad = bad_char_list(local, [](char32_t c) { return c == '.' || is_atext_intl(c); });
  if (!bad.empty())
    return SyntaxError{"The email address contains invalid characters before the @-sign: " + bad + "."};
  if (auto e = check_dot_atom(local, "An email address cannot start with a {}.",
                              "An email address cannot have a {} immediately before the @-sign.", false))
    return *e;
  return SyntaxError{"The email address contains invalid characters before the @-sign."};
}

bool is_hostname_char(char32_t c) { return is_ascii_alnum(c) || c == '-' || c == '.'; }

// validate_email_domain_name for ASCII domains; returns the lowercased domain.
Result<Text, SyntaxError> validate_domain(TextView domain_part) {
  if (domain_part.size() >= 2 && domain_part.front() == '[' && domain_part.back() == ']') {
    const TextView literal = domain_part.substr(1, domain_part.size() - 2);
    const bool ipv4_like = !literal.empty() && std::all_of(literal.begin(), literal.end(), [](char32_t c) {
      return (c >= '0' && c <= '9') || c == '.';
    });
    if (ipv4_like || literal.starts_with(U"IPv6:"))
      return SyntaxError{"A bracketed IP address after the @-sign is not allowed here."};
    if (!contains(literal, U":"))
      return SyntaxError{
          "The part after the @-sign in brackets is not an IPv4 address and has no address literal tag."};
    return SyntaxError{"The part after the @-sign contains an invalid address literal tag in brackets."};
  }
  const std::string bad =
      bad_char_list(domain_part, [](char32_t c) { return is_hostname_char(c) || c >= 0x80; });
  if (!bad.empty()) return SyntaxError{"The part after the @-sign contains invalid characters: " + bad + "."};
  if (!is_ascii(domain_part))
    return SyntaxError{
        "The part after the @-sign contains internationalized characters, which are not supported."};
  const Text domain = ascii_lower(domain_part);  // UTS-46 mapping of ASCII: case folding only
  if (auto e = check_dot_atom(domain, "An email address cannot have a {} immediately after the @-sign.",
                              "An email address cannot end with a {}.", true))
    return *e;
  std::vector<TextView> labels;
  for (std::size_t start = 0;;) {
    const auto dot = domain.find('.', start);
    labels.emplace_back(TextView(domain).substr(start, dot - start));
    if (dot == Text::npos) break;
    start = dot + 1;
  }
  for (const TextView label : labels) {
    if (label.size() >= 4 && label[2] == '-' && label[3] == '-' && !label.starts_with(U"xn"))
      return SyntaxError{
          "An email address cannot have two letters followed by two dashes immediately after the @-sign or "
          "after a "
          "period, except Punycode."};
  }
  if (domain.size() > domain_max_length)
    return SyntaxError{"The email address is too long after the @-sign " +
                       length_reason(domain.size(), domain_max_length) + "."};
  for (const TextView label : labels) {
    if (label.size() > dns_label_max_length)
      return SyntaxError{"After the @-sign, periods cannot be separated by so many characters " +
                         length_reason(label.size(), dns_label_max_length) + "."};
  }
  if (!contains(domain, U"."))
    return SyntaxError{"The part after the @-sign is not valid. It should have a period."};
  if (!(domain.back() >= 'a' && domain.back() <= 'z'))
    return SyntaxError{"The part after the @-sign is not valid. It is not within a valid top-level domain."};
  for (const TextView special : special_use_domains) {
    if (domain == special || (domain.size() > special.size() && TextView(domain).ends_with(special) &&
                              domain[domain.size() - special.size() - 1] == '.'))
      return SyntaxError{
          "The part after the @-sign is a special-use or reserved name that cannot be used with email."};
  }
  for (const TextView label : labels) {
    if (label.starts_with(U"xn--"))
      return SyntaxError{
          "The part after the @-sign contains internationalized characters, which are not supported."};
  }
  return domain;
}

// validate_email_length: the original and the normalized form, in UTF-8 bytes.
std::optional<SyntaxError> check_length(TextView original, TextView normalized) {
  const struct {
    TextView addr;
    bool normalization;
  } forms[] = {{original, false}, {normalized, true}};
  for (const auto& [addr, normalization] : forms) {
    const std::size_t bytes = utf8_length(addr);
    if (bytes <= email_max_length) continue;
    const std::size_t diff = bytes - email_max_length;
    const std::string s = diff > 1 ? "s" : "";
    std::string reason;
    if (normalization) {
      reason = "after normalization (" + std::to_string(diff) + " byte" + s + " too many)";
    } else if (addr.size() == bytes) {
      reason = length_reason(bytes, email_max_length);
    } else {
      std::size_t max_bytes_per_char = 1;
      for (const char32_t c : addr)
        max_bytes_per_char = std::max(max_bytes_per_char, utf8_length(TextView(&c, 1)));
      const std::size_t min_chars = std::max<std::size_t>(1, diff / max_bytes_per_char);
      reason = min_chars == diff ? "(" + std::to_string(diff) + " character" + s + " too many)"
                                 : "(" + std::to_string(min_chars) + "-" + std::to_string(diff) +
                                       " character" + s + " too many)";
    }
    return SyntaxError{"The email address is too long " + reason + "."};
  }
  return std::nullopt;
}

// pydantic's pretty_email_regex, `\s*(?:name|"quoted name")?\s*<(.+)>\s*`, fully
// matched: returns what is inside the angle brackets.
std::optional<TextView> pretty_address(TextView v) {
  auto name_char = [](char32_t c) {
    return is_ascii_alnum(c) || (c < 0x80 && TextView(U"_!#$%&'*+-/=?^`{|}~").find(c) != TextView::npos) ||
           (c >= 0x80 && !is_space(c));
  };
  std::size_t end = v.size();
  while (end > 0 && is_space(v[end - 1])) --end;
  if (end == 0 || v[end - 1] != '>') return std::nullopt;
  const std::size_t close = end - 1;
  auto inner_at = [&](std::size_t open) -> std::optional<TextView> {
    if (open >= close || v[open] != '<' || open + 1 == close) return std::nullopt;
    const TextView inner = v.substr(open + 1, close - open - 1);
    if (contains(inner, U"\n")) return std::nullopt;
    return inner;
  };
  std::size_t pos = 0;
  while (pos < close && is_space(v[pos])) ++pos;
  if (v[pos] == '<') return inner_at(pos);
  if (v[pos] == '"') {
    // Greedy quoted name: try the last closing quote first.
    for (std::size_t q = close; q-- > pos + 2;) {
      if (v[q] != '"') continue;
      std::size_t open = q + 1;
      while (open < close && is_space(v[open])) ++open;
      if (auto inner = inner_at(open)) return inner;
    }
    return std::nullopt;
  }
  if (!name_char(v[pos])) return std::nullopt;
  std::size_t open = pos;
  while (open < close && (name_char(v[open]) || is_space(v[open]))) ++open;
  return inner_at(open);
}

// email-validator's unquote_quoted_string: a leading '"' starts a quoted string
// whose escapes are removed; nothing may follow the closing quote.
struct Unquoted {
  Text value;
  bool quoted = false;
};

Result<Unquoted, SyntaxError> unquote(TextView text) {
  Unquoted out;
  bool escaped = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char32_t c = text[i];
    if (out.quoted) {
      if (escaped) {
        out.value += c;
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        if (i != text.size() - 1) {
          std::string extra;
          for (const char32_t e : text.substr(i + 1)) extra += (extra.empty() ? "" : ", ") + display_char(e);
          return SyntaxError{"Extra character(s) found after close quote: " + extra};
        }
        break;
      } else {
        out.value += c;
      }
    } else if (i == 0 && c == '"') {
      out.quoted = true;
    } else {
      out.value += c;
    }
  }
  return out;
}

// The first '@' (or '<' when `angle` is set) outside double quotes.
std::optional<std::size_t> find_unquoted_special(TextView text, bool angle) {
  bool inside_quote = false;
  bool escaped = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char32_t c = text[i];
    if (inside_quote) {
      if (c == '\\' && !escaped) {
        escaped = true;
      } else if (c == '"' && !escaped) {
        inside_quote = false;
        escaped = false;
      } else {
        escaped = false;
      }
    } else if (c == '"') {
      inside_quote = true;
    } else if (c == '@' || (angle && c == '<')) {
      return i;
    }
  }
  return std::nullopt;
}

struct SplitEmail {
  Unquoted local;
  Text domain;
};

// email-validator's split_email plus validate_email's refusal of display names.
Result<SplitEmail, SyntaxError> split_email(TextView email) {
  const auto at = find_unquoted_special(email, true);
  if (!at) return SyntaxError{"An email address must have an @-sign."};
  TextView local = email.substr(0, *at);
  TextView domain = email.substr(*at);
  if (domain.front() == '<') {
    TextView display = local;
    while (!display.empty() && is_space(display.back())) display.remove_suffix(1);
    auto name = unquote(display);
    if (!name) return name.error();
    if (!name->quoted) {
      const std::string bad = bad_char_list(name->value, [](char32_t c) { return c == ' ' || is_atext(c); });
      if (!bad.empty())
        return SyntaxError{"The display name contains invalid characters when not quoted: " + bad + "."};
    }
    if (!contains(domain, U">"))
      return SyntaxError{
          "An open angle bracket at the start of the email address has to be followed by a close angle "
          "bracket at "
          "the end."};
    while (!domain.empty() && domain.back() == ' ') domain.remove_suffix(1);
    if (domain.back() != '>') return SyntaxError{"There can't be anything after the email address."};
    TextView addr_spec = domain.substr(1);
    while (!addr_spec.empty() && addr_spec.back() == '>') addr_spec.remove_suffix(1);
    const auto inner_at = find_unquoted_special(addr_spec, false);
    if (!inner_at) return SyntaxError{"An email address must have an @-sign."};
    if (!name->value.empty())
      return SyntaxError{
          "A display name and angle brackets around the email address are not permitted here."};
    local = addr_spec.substr(0, *inner_at);
    domain = addr_spec.substr(*inner_at);
  }
  domain.remove_prefix(1);  // the '@'
  auto unquoted_local = unquote(local);
  if (!unquoted_local) return unquoted_local.error();
  return SplitEmail{std::move(unquoted_local.value()), Text(domain)};
}

}  // namespace

Result<std::string, EmailError> normalize_email(std::string_view input) {
  const auto text = decode_utf8(input);
  if (!text) return EmailError{"The email address is not valid UTF-8."};
  if (text->size() > max_input_chars)
    return EmailError{"Length must not exceed " + std::to_string(max_input_chars) + " characters"};
  const TextView email = strip(pretty_address(*text).value_or(TextView(*text)));

  auto split = split_email(email);
  if (!split) return EmailError{split.error().reason};
  const Text& local_text = split->local.value;
  if (split->local.quoted) {
    // Length rules first, then the refusal (allow_quoted_local is off).
    if (local_text.empty()) return EmailError{"There must be something before the @-sign."};
    if (local_text.size() > local_part_max_length)
      return EmailError{"The email address is too long before the @-sign " +
                        length_reason(local_text.size(), local_part_max_length) + "."};
    return EmailError{"Quoting the part before the @-sign is not allowed here."};
  }
  auto local = validate_local_part(local_text);
  if (!local) return EmailError{local.error().reason};
  if (split->domain.empty()) return EmailError{"There must be something after the @-sign."};
  auto domain = validate_domain(split->domain);
  if (!domain) return EmailError{domain.error().reason};

  const Text original = local_text + U"@" + split->domain;
  const Text normalized = local.value() + U"@" + domain.value();
  if (auto e = check_length(original, normalized)) return EmailError{e->reason};
  return encode_utf8(normalized);
}

std::string lower_email(std::string_view email) {
  std::string out(email);
  for (auto& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

}  // namespace doorman::authcore
