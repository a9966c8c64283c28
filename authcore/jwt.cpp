// JWT signing and verification with OpenSSL 3 EVP APIs, following what
// PyJWT 2.x does for fastapi-users' decode_jwt(): header alg must be the one
// configured algorithm, signature before claims, exp/nbf/iat compared in whole
// seconds with no leeway, and the audience rule of PyJWT's _validate_aud.
#include "authcore/jwt.hpp"

#include <cmath>
#include <stdexcept>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/decoder.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/params.h>

#include "authcore/base64url.hpp"

namespace doorman::authcore {
namespace {

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* p) const { EVP_MD_CTX_free(p); }
};
struct EcdsaSigFree {
  void operator()(ECDSA_SIG* p) const { ECDSA_SIG_free(p); }
};
struct DecoderFree {
  void operator()(OSSL_DECODER_CTX* p) const { OSSL_DECODER_CTX_free(p); }
};
struct MacCtxFree {
  void operator()(EVP_MAC_CTX* p) const { EVP_MAC_CTX_free(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;
using EcdsaSigPtr = std::unique_ptr<ECDSA_SIG, EcdsaSigFree>;
using DecoderPtr = std::unique_ptr<OSSL_DECODER_CTX, DecoderFree>;
using MacCtxPtr = std::unique_ptr<EVP_MAC_CTX, MacCtxFree>;

constexpr std::size_t es256_coordinate_bytes = 32;  // P-256: R and S are 32 bytes each in JWS

std::string_view algorithm_name(config::JwtAlgorithm algorithm) {
  switch (algorithm) {
    case config::JwtAlgorithm::HS256:
      return "HS256";
    case config::JwtAlgorithm::RS256:
      return "RS256";
    case config::JwtAlgorithm::ES256:
      return "ES256";
  }
  return "";
}

const unsigned char* bytes_of(std::string_view s) { return reinterpret_cast<const unsigned char*>(s.data()); }

// HMAC-SHA256 with the algorithm fetched and the key set once, at startup: the
// one-shot HMAC() does both on every call (a provider lookup, key padding and two
// digest setups), which cost more than hashing the token itself. Each call works on
// a copy of the keyed context, so one instance serves every thread.
class HmacSha256 {
 public:
  explicit HmacSha256(std::string_view secret) {
    EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
    keyed_.reset(mac != nullptr ? EVP_MAC_CTX_new(mac) : nullptr);
    EVP_MAC_free(mac);  // the context keeps its own reference
    char digest[] = "SHA256";
    const OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                                 OSSL_PARAM_construct_end()};
    // A non-null key even for an empty secret: a null key means "keep the current one".
    static const unsigned char empty_key = 0;
    const unsigned char* key = secret.empty() ? &empty_key : bytes_of(secret);
    if (!keyed_ || EVP_MAC_init(keyed_.get(), key, secret.size(), params) != 1) {
      ERR_clear_error();
      throw std::runtime_error("HMAC-SHA256 setup failed");
    }
  }

  std::string mac(std::string_view data) const {
    MacCtxPtr ctx(EVP_MAC_CTX_dup(keyed_.get()));
    unsigned char out[EVP_MAX_MD_SIZE];
    std::size_t len = 0;
    if (!ctx || EVP_MAC_update(ctx.get(), bytes_of(data), data.size()) != 1 ||
        EVP_MAC_final(ctx.get(), out, &len, sizeof out) != 1)
      throw std::runtime_error("HMAC-SHA256 failed");
    return {reinterpret_cast<const char*>(out), len};
  }

 private:
  MacCtxPtr keyed_;
};

// Reads a PEM key (PKCS#8, traditional, SubjectPublicKeyInfo or PKCS#1) and
// checks that it fits the algorithm. Throws: only called at startup.
PkeyPtr load_pem_key(const std::string& pem, config::JwtAlgorithm algorithm, bool private_key) {
  EVP_PKEY* raw = nullptr;
  const int selection = private_key ? OSSL_KEYMGMT_SELECT_KEYPAIR : 0;
  DecoderPtr decoder(
      OSSL_DECODER_CTX_new_for_pkey(&raw, "PEM", nullptr, nullptr, selection, nullptr, nullptr));
  const auto* data = bytes_of(pem);
  std::size_t len = pem.size();
  const bool decoded = decoder && OSSL_DECODER_from_data(decoder.get(), &data, &len) == 1 && raw != nullptr;
  PkeyPtr key(raw);
  ERR_clear_error();
  const char* what = private_key ? "private" : "public";
  if (!decoded) throw std::runtime_error(std::string("cannot read the JWT ") + what + " key PEM");
  if (algorithm == config::JwtAlgorithm::RS256) {
    if (!EVP_PKEY_is_a(key.get(), "RSA"))
      throw std::runtime_error(std::string("RS256 needs an RSA ") + what + " key");
  } else {
    char group[64] = {};
    std::size_t group_len = 0;
    const bool p256 = EVP_PKEY_is_a(key.get(), "EC") &&
                      EVP_PKEY_get_utf8_string_param(key.get(), OSSL_PKEY_PARAM_GROUP_NAME, group,
                                                     sizeof group, &group_len) == 1 &&
                      std::string_view(group, group_len) == "prime256v1";
    ERR_clear_error();
    if (!p256) throw std::runtime_error(std::string("ES256 needs an EC P-256 ") + what + " key");
  }
  return key;
}

// JWS ES256 signatures are R||S; OpenSSL speaks DER ECDSA-Sig-Value.
std::optional<std::string> raw_ecdsa_to_der(std::string_view raw) {
  if (raw.size() != 2 * es256_coordinate_bytes) return std::nullopt;
  EcdsaSigPtr sig(ECDSA_SIG_new());
  BIGNUM* r = BN_bin2bn(bytes_of(raw), es256_coordinate_bytes, nullptr);
  BIGNUM* s = BN_bin2bn(bytes_of(raw) + es256_coordinate_bytes, es256_coordinate_bytes, nullptr);
  if (!sig || !r || !s || ECDSA_SIG_set0(sig.get(), r, s) != 1) {
    BN_free(r);
    BN_free(s);
    return std::nullopt;
  }
  const int len = i2d_ECDSA_SIG(sig.get(), nullptr);
  if (len <= 0) return std::nullopt;
  std::string der(static_cast<std::size_t>(len), '\0');
  auto* out = reinterpret_cast<unsigned char*>(der.data());
  if (i2d_ECDSA_SIG(sig.get(), &out) != len) return std::nullopt;
  return der;
}

std::string der_ecdsa_to_raw(std::string_view der) {
  const auto* in = bytes_of(der);
  EcdsaSigPtr sig(d2i_ECDSA_SIG(nullptr, &in, static_cast<long>(der.size())));
  if (!sig) throw std::runtime_error("ECDSA signature decoding failed");
  std::string raw(2 * es256_coordinate_bytes, '\0');
  auto* out = reinterpret_cast<unsigned char*>(raw.data());
  constexpr int n = es256_coordinate_bytes;
  if (BN_bn2binpad(ECDSA_SIG_get0_r(sig.get()), out, n) != n ||
      BN_bn2binpad(ECDSA_SIG_get0_s(sig.get()), out + n, n) != n)
    throw std::runtime_error("ECDSA signature encoding failed");
  return raw;
}

std::string pkey_sign_sha256(EVP_PKEY* key, std::string_view data) {
  MdCtxPtr ctx(EVP_MD_CTX_new());
  std::size_t len = 0;
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &len, bytes_of(data), data.size()) != 1)
    throw std::runtime_error("JWT signing failed");
  std::string sig(len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len, bytes_of(data),
                     data.size()) != 1)
    throw std::runtime_error("JWT signing failed");
  sig.resize(len);
  return sig;
}

bool pkey_verify_sha256(EVP_PKEY* key, std::string_view data, std::string_view sig) {
  MdCtxPtr ctx(EVP_MD_CTX_new());
  const bool ok = ctx && EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key) == 1 &&
                  EVP_DigestVerify(ctx.get(), bytes_of(sig), sig.size(), bytes_of(data), data.size()) == 1;
  // Failed verifications leave entries in this thread's OpenSSL error queue; other
  // OpenSSL users on the thread (TLS) must not see them.
  ERR_clear_error();
  return ok;
}

// PyJWT's json.dumps default (ensure_ascii): non-ASCII as \uXXXX, so doorman's
// tokens are byte-identical to fastapi-users' for the same claims.
std::string dump_like_python(const nlohmann::ordered_json& j) {
  return j.dump(-1, ' ', true, nlohmann::ordered_json::error_handler_t::replace);
}

std::optional<nlohmann::json> parse_json_object(std::string_view text) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  return j;
}

// A NumericDate as PyJWT reads it with int(): truncated toward zero. Python's
// int() also takes numeric strings and booleans; doorman takes JSON numbers only.
std::optional<double> numeric_date(const nlohmann::json& value) {
  if (!value.is_number()) return std::nullopt;
  const double d = value.get<double>();
  if (!std::isfinite(d)) return std::nullopt;
  return std::trunc(d);
}

JwtStatus check_audience(const nlohmann::json& claims, std::string_view audience) {
  const auto it = claims.find("aud");
  // PyJWT: a missing or falsy aud ("" or []) is a missing claim.
  if (it == claims.end() || it->is_null() || (it->is_string() && it->get_ref<const std::string&>().empty()) ||
      (it->is_array() && it->empty()))
    return JwtStatus::bad_audience;
  if (it->is_string())
    return it->get_ref<const std::string&>() == audience ? JwtStatus::ok : JwtStatus::bad_audience;
  if (!it->is_array()) return JwtStatus::bad_audience;
  bool found = false;
  for (const auto& entry : *it) {
    if (!entry.is_string()) return JwtStatus::bad_audience;  // "Invalid claim format in token"
    if (entry.get_ref<const std::string&>() == audience) found = true;
  }
  return found ? JwtStatus::ok : JwtStatus::bad_audience;
}

JwtStatus check_claims(const nlohmann::json& claims, std::string_view audience,
                       std::chrono::system_clock::time_point now) {
  // PyJWT 2.10+ refuses a non-string sub or jti.
  for (const char* name : {"sub", "jti"}) {
    const auto it = claims.find(name);
    if (it != claims.end() && !it->is_string()) return JwtStatus::bad_claims;
  }
  const auto now_seconds =
      static_cast<double>(std::chrono::floor<std::chrono::seconds>(now.time_since_epoch()).count());
  for (const char* name : {"iat", "nbf"}) {
    const auto it = claims.find(name);
    if (it == claims.end()) continue;
    const auto when = numeric_date(*it);
    if (!when) return JwtStatus::bad_claims;
    if (*when > now_seconds) return JwtStatus::not_yet_valid;
  }
  if (const auto it = claims.find("exp"); it != claims.end()) {
    const auto when = numeric_date(*it);
    if (!when) return JwtStatus::bad_claims;
    if (*when <= now_seconds) return JwtStatus::expired;
  }
  return check_audience(claims, audience);
}

}  // namespace

struct JwtKey::Impl {
  std::optional<HmacSha256> hmac;  // HS256
  PkeyPtr signing_key;             // RS256/ES256 private key
  PkeyPtr verify_key;              // RS256/ES256 public key (or the private key when no public one was given)
};

JwtKey::JwtKey(config::JwtAlgorithm algorithm, std::string secret, const std::string& private_key_pem,
               const std::string& public_key_pem)
    : algorithm_(algorithm), impl_(std::make_unique<Impl>()) {
  if (algorithm == config::JwtAlgorithm::HS256) {
    impl_->hmac.emplace(secret);
    return;
  }
  if (!private_key_pem.empty()) impl_->signing_key = load_pem_key(private_key_pem, algorithm, true);
  if (!public_key_pem.empty()) {
    impl_->verify_key = load_pem_key(public_key_pem, algorithm, false);
  } else if (impl_->signing_key) {
    EVP_PKEY_up_ref(impl_->signing_key.get());
    impl_->verify_key.reset(impl_->signing_key.get());
  }
  if (!impl_->signing_key && !impl_->verify_key)
    throw std::runtime_error("RS256/ES256 need a private or public key");
}

JwtKey::~JwtKey() = default;

std::string JwtKey::sign(const nlohmann::ordered_json& claims) const {
  const nlohmann::ordered_json header = {{"alg", algorithm_name(algorithm_)}, {"typ", "JWT"}};
  std::string signing_input = base64url_encode(dump_like_python(header));
  signing_input += '.';
  signing_input += base64url_encode(dump_like_python(claims));
  std::string signature;
  switch (algorithm_) {
    case config::JwtAlgorithm::HS256:
      signature = impl_->hmac->mac(signing_input);
      break;
    case config::JwtAlgorithm::RS256:
    case config::JwtAlgorithm::ES256:
      if (!impl_->signing_key) throw std::logic_error("JWT signing needs a private key");
      signature = pkey_sign_sha256(impl_->signing_key.get(), signing_input);
      if (algorithm_ == config::JwtAlgorithm::ES256) signature = der_ecdsa_to_raw(signature);
      break;
  }
  return signing_input + '.' + base64url_encode(signature);
}

Result<nlohmann::json, JwtStatus> JwtKey::verify(std::string_view token, std::string_view audience,
                                                 std::chrono::system_clock::time_point now) const {
  const auto first_dot = token.find('.');
  const auto last_dot = token.rfind('.');
  if (first_dot == std::string_view::npos || first_dot == last_dot ||
      token.find('.', first_dot + 1) != last_dot)
    return JwtStatus::malformed;
  const std::string_view signing_input = token.substr(0, last_dot);

  const auto header_text = base64url_decode(token.substr(0, first_dot));
  if (!header_text) return JwtStatus::malformed;
  const auto header = parse_json_object(*header_text);
  if (!header) return JwtStatus::malformed;
  // PyJWT refuses a non-string kid, and b64=false needs a detached payload it is never given.
  if (const auto kid = header->find("kid"); kid != header->end() && !kid->is_string())
    return JwtStatus::malformed;
  if (const auto b64 = header->find("b64"); b64 != header->end() && *b64 == false)
    return JwtStatus::malformed;
  const auto payload_text = base64url_decode(token.substr(first_dot + 1, last_dot - first_dot - 1));
  const auto signature = base64url_decode(token.substr(last_dot + 1));
  if (!payload_text || !signature) return JwtStatus::malformed;

  const auto alg = header->find("alg");
  if (alg == header->end() || !alg->is_string() ||
      alg->get_ref<const std::string&>() != algorithm_name(algorithm_))
    return JwtStatus::bad_algorithm;

  bool signature_ok = false;
  switch (algorithm_) {
    case config::JwtAlgorithm::HS256: {
      const std::string expected = impl_->hmac->mac(signing_input);
      signature_ok = signature->size() == expected.size() &&
                     CRYPTO_memcmp(signature->data(), expected.data(), expected.size()) == 0;
      break;
    }
    case config::JwtAlgorithm::RS256:
      signature_ok =
          impl_->verify_key && pkey_verify_sha256(impl_->verify_key.get(), signing_input, *signature);
      break;
    case config::JwtAlgorithm::ES256: {
      const auto der = raw_ecdsa_to_der(*signature);
      signature_ok =
          der && impl_->verify_key && pkey_verify_sha256(impl_->verify_key.get(), signing_input, *der);
      break;
    }
  }
  if (!signature_ok) return JwtStatus::bad_signature;

  auto claims = parse_json_object(*payload_text);
  if (!claims) return JwtStatus::malformed;
  if (const JwtStatus status = check_claims(*claims, audience, now); status != JwtStatus::ok) return status;
  return std::move(*claims);
}

}  // namespace doorman::authcore
