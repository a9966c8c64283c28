// Unpadded base64 in its two alphabets: URL-safe (JWT, opaque tokens) and
// standard (PHC password strings). One codec, parameterised by the alphabet.
#include "authcore/base64url.hpp"

#include <array>
#include <cstdint>

namespace doorman::authcore {
namespace {

struct Alphabet {
  std::string_view chars;
  std::array<std::int8_t, 256> values;  // -1 outside the alphabet
};

constexpr Alphabet make_alphabet(std::string_view chars) {
  Alphabet a{chars, {}};
  for (auto& v : a.values) v = -1;
  for (std::size_t i = 0; i < chars.size(); ++i)
    a.values[static_cast<unsigned char>(chars[i])] = static_cast<std::int8_t>(i);
  return a;
}

constexpr Alphabet url_alphabet =
    make_alphabet("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_");
constexpr Alphabet std_alphabet =
    make_alphabet("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/");

std::string encode(std::string_view bytes, const Alphabet& alphabet) {
  std::string out;
  out.reserve((bytes.size() * 4 + 2) / 3);
  std::size_t i = 0;
  auto byte = [&](std::size_t k) { return static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[k])); };
  for (; i + 3 <= bytes.size(); i += 3) {
    const std::uint32_t n = byte(i) << 16 | byte(i + 1) << 8 | byte(i + 2);
    out += alphabet.chars[n >> 18 & 63];
    out += alphabet.chars[n >> 12 & 63];
    out += alphabet.chars[n >> 6 & 63];
    out += alphabet.chars[n & 63];
  }
  const std::size_t rest = bytes.size() - i;
  if (rest == 1) {
    const std::uint32_t n = byte(i) << 16;
    out += alphabet.chars[n >> 18 & 63];
    out += alphabet.chars[n >> 12 & 63];
  } else if (rest == 2) {
    const std::uint32_t n = byte(i) << 16 | byte(i + 1) << 8;
    out += alphabet.chars[n >> 18 & 63];
    out += alphabet.chars[n >> 12 & 63];
    out += alphabet.chars[n >> 6 & 63];
  }
  return out;
}

// Leftover low bits of a final partial group are ignored, as Python's decoder
// (and so PyJWT) does.
std::optional<std::string> decode(std::string_view text, const Alphabet& alphabet) {
  if (text.size() % 4 == 1) return std::nullopt;  // 6 bits cannot make a byte
  std::string out;
  out.reserve(text.size() * 3 / 4);
  std::uint32_t acc = 0;
  int bits = 0;
  for (const char c : text) {
    const int v = alphabet.values[static_cast<unsigned char>(c)];
    if (v < 0) return std::nullopt;
    acc = (acc << 6 | static_cast<std::uint32_t>(v)) & 0xFFFFFF;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>(acc >> bits & 0xFF);
    }
  }
  return out;
}

}  // namespace

std::string base64url_encode(std::string_view bytes) { return encode(bytes, url_alphabet); }
std::optional<std::string> base64url_decode(std::string_view text) { return decode(text, url_alphabet); }
std::string base64_encode(std::string_view bytes) { return encode(bytes, std_alphabet); }
std::optional<std::string> base64_decode(std::string_view text) { return decode(text, std_alphabet); }

}  // namespace doorman::authcore
