// Tests for authcore/jwt.cpp: fastapi-users/PyJWT interop (fixture and pasted
// PyJWT tokens), every refusal status, and round trips for HS256/RS256/ES256.
#include "authcore/jwt.hpp"

#include <stdexcept>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include <doctest/doctest.h>

#include "authcore/base64url.hpp"

using namespace doorman::authcore;
using doorman::config::JwtAlgorithm;
using std::chrono::seconds;
using std::chrono::system_clock;

namespace {

// tests/fixtures/fastapi-users-14/tokens.json, minted by fastapi-users 14.
constexpr const char* fixture_secret = "fixture-secret-3c9d2f71a8b64e05b1d7c2e9f4a6083d";
constexpr const char* alice_access_jwt =
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
    "eyJzdWIiOiI5MjgzYjM0Mi05YTgzLTQ1MDMtOTc3MS05Y2Y4MTI5NDgyYWEiLCJhdWQiOlsiZmFz"
    "dGFwaS11c2VyczphdXRoIl0sImV4cCI6MjExMDc4OTc4NX0.Wkh7aHi0FDSsuCeSj7RVPeNtQkrhXswxIgdKzHnik4U";
constexpr long long alice_exp = 2110789785;
constexpr const char* alice_id = "9283b342-9a83-4503-9771-9cf8129482aa";
constexpr const char* auth_audience = "fastapi-users:auth";

// Made once with PyJWT 2.6 (jwt.encode) on /usr/bin/python3; the key pairs are test-only.
// {"sub": alice, "email": "j\u00f6rg@example.com", "aud": "fastapi-users:verify", "exp": 4102444800}
constexpr const char* pyjwt_hs256_verify_token =
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
    "eyJzdWIiOiI5MjgzYjM0Mi05YTgzLTQ1MDMtOTc3MS05Y2Y4MTI5NDgyYWEiLCJlbWFpbCI6I"
    "mpcdTAwZjZyZ0BleGFtcGxlLmNvbSIsImF1ZCI6ImZhc3RhcGktdXNlcnM6dmVyaWZ5IiwiZXhwIjo0MTAyNDQ0ODAwfQ."
    "WKSJIWmnow5qFq8j"
    "pt87pGDyMDRIskCKxkxbNxjcTOU";
// {"sub": alice, "aud": ["fastapi-users:auth"], "exp": 4102444800}
constexpr const char* pyjwt_rs256_token =
    "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9."
    "eyJzdWIiOiI5MjgzYjM0Mi05YTgzLTQ1MDMtOTc3MS05Y2Y4MTI5NDgyYWEiLCJhdWQiOlsiZ"
    "mFzdGFwaS11c2VyczphdXRoIl0sImV4cCI6NDEwMjQ0NDgwMH0.oYOsbZmet7bzzwMK-"
    "xsZyXz4WgaQYRLDzPHIvfe422GdL8y5raAZ7oDdFzt"
    "F43AQfvz3liqL5CLeTkYC3Y_Fgdp2gHgPvDrqulwTRuICsj3HKeMjEv_IdItVb198Qx2WmHnfJv7xWXzydh3-"
    "NuXyr74k6gAaTj0T9sO6Cqix2"
    "SKGU5relxP57tQKgRB4y8Sm6r52MREf7iQxdvP7UM9jPPf2u4i6XCr7J8weYwFvcqtPxabaEFCg3L1Lf2IuQNTUZTtUdHhNkZ4etlLta"
    "QhXNZQ"
    "7pFqIMSH5AozrWq6UxPFOt2NvnLBD45tUwFSNaOGnTletnbIrrk-TyyZhkxn25A";
constexpr const char* pyjwt_es256_token =
    "eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCJ9."
    "eyJzdWIiOiI5MjgzYjM0Mi05YTgzLTQ1MDMtOTc3MS05Y2Y4MTI5NDgyYWEiLCJhdWQiOlsiZ"
    "mFzdGFwaS11c2VyczphdXRoIl0sImV4cCI6NDEwMjQ0NDgwMH0.t21k01MgwSzTET0XPvdYEknk_7O_9TW6ENh7O8_"
    "EQtTpgBgYZkSCJ5U8Efa"
    "U2iqSFKY-vAbdkcjqsfuPOpUYtQ";
constexpr const char* pyjwt_rsa_private_pem = R"(-----BEGIN PRIVATE KEY-----
MIIEvAIBADANBgkqhkiG9w0BAQEFAASCBKYwggSiAgEAAoIBAQDP2L1PGEi3Rf+s
aMW/oHOlbj0OgcCqBx4gH/1rYMs9XF883kAzACGYk4eI8LA/5kU1GyaRuPFDjz7G
yj6XxY0oGWVIC7wcsYcyi/SHnPf40eG3trC1erRnVcuiLWsjBSr6CyB+57Qqntt9
oq4ere5yvaNav29+wKFvy+hmh8FHHo9qmW9lZUwmuIVV2wAg3oasPG3e+n5Puw1G
++jBdgtZjDcTk1uB1nzGkFIeKwFN4U8vfA1hWPo80g1fVSfykDai/wnR+DFEGtOT
oNwEeH7cbp0Ai88ownpaUdQrHFb7vGplbMDm7ttXStfB7n3qFFpp+KQeN6LUC6tn
k5sX2P1jAgMBAAECggEAIAZQsOmty+iyABd1Sf/dIcMOZE2ovmnyAdgmp2SsHAxq
CN+5EO1Mao0SB+RcpmktW6/kbZ/giLIput55mM/8XmPUqlj93IacArVJcZsazWX6
peBfx4Pxslmn/Rk2Fe4bakMhotFs/gN+ZT7AyQMFUlJBjl91vJgjUlhJkCwK+JEy
k926Hs4Z8fwfDXCdsZMLiwlYasFfRdDbJMPRQ+vwEim2Zl3JZhiDMIcXZ8yJ/+qK
h+mlnqUKt5SEHEYIXbu5zAtdyPC3HVQTI+DfNbdY8E9kc0mFF0J7c17c93zVxdLu
p8mAI8iGllBEIfi/tzdNFObL6IUv8eV0244/pL89sQKBgQDux8bpHi4q9QUvjmZE
UAuQTBypJVyBbkJWJbVKfX8DRDPE0WcPfmGfZ53UuWwQGPba++TlQs21phPcRVOe
z61hUoniSzIYpVbNMPRwc9lS6IghLzBkaHSJHbA6RhotP2/rRzU8kGuJuduuFEOc
75QiMdS93m37zieMZv9c2lq3UwKBgQDe1eHIU+ToKJFiNEq+QM1J/h/ouOmiFy9U
s71KQF5IKpiPU6YDc2ACfUg9hrgLCp+crELnIFkuHqLjGmZI/TGdHnfFHXDKJFyR
jVPxm2YtMOScBd7IBcAHgg/2YMx4KpIKsSYSidV2ZXThi8ZgceVCw8paRMeVOUtz
BcpaE6gvsQKBgE7KGudnLwK7sMddbH9UDkzB4J8rldebg0Yb0TNQL63rPk3Obvxc
zmej8B92Q6MYKbRec8v2fBxZPapsMchwbJx1eMvz1gbt37N7WN0WTPqfgfO5N3Wa
RgHMiw7ffNm7Wfm/mGBwoxth+Yv6YckSAMY7vSAdmhsBjmk0v0RrRI3DAoGAOjiB
pFifDzVCPvlQqgK+YF3AMorVqB8Mo8HObC8DMzHF6HS/hFlJtXzMOh8PyPq+ly2+
0Sp3goBIqLOGE/3rT5TdUCgQBxCXCwR08URb3uTOZiF2gqZV9OA7kXDbG25r99Uv
EFro5eU+M4vUifBYKSiEny8nQkrU9rmFlCFcqRECgYA9mmxsd8rNNu1BSfw/YC6F
Wk98a9g37laHIzF5PImcvHToTATal6P77Ve+A2excb1Lb7KMYIe4RUd+t4wKkRTW
F7i0SVk8DpaAYG+KMZcEBRlh3lNNQgi2l7gBAqEktWYJ1iRJL/IPxxyDQXadCfi9
qXDRbSUXojbjaKLMBw04kA==
-----END PRIVATE KEY-----
)";
constexpr const char* pyjwt_rsa_public_pem = R"(-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAz9i9TxhIt0X/rGjFv6Bz
pW49DoHAqgceIB/9a2DLPVxfPN5AMwAhmJOHiPCwP+ZFNRsmkbjxQ48+xso+l8WN
KBllSAu8HLGHMov0h5z3+NHht7awtXq0Z1XLoi1rIwUq+gsgfue0Kp7bfaKuHq3u
cr2jWr9vfsChb8voZofBRx6PaplvZWVMJriFVdsAIN6GrDxt3vp+T7sNRvvowXYL
WYw3E5NbgdZ8xpBSHisBTeFPL3wNYVj6PNINX1Un8pA2ov8J0fgxRBrTk6DcBHh+
3G6dAIvPKMJ6WlHUKxxW+7xqZWzA5u7bV0rXwe596hRaafikHjei1AurZ5ObF9j9
YwIDAQAB
-----END PUBLIC KEY-----
)";
constexpr const char* pyjwt_ec_public_pem = R"(-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEPMP7e7wafM+HGHM8b+MKNAQ5oLWq
XQ6hdOUBDZgD/aJ/3t72bfn8C6zcq1DodCE/jsskgsIwX9kD6VThwtGTeg==
-----END PUBLIC KEY-----
)";

system_clock::time_point at(long long unix_seconds) {
  return system_clock::time_point(seconds(unix_seconds));
}

std::string hmac(const EVP_MD* md, std::string_view key, std::string_view data) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(md, key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
       data.size(), mac, &len);
  return {reinterpret_cast<char*>(mac), len};
}

// A token with any header and payload text, HMAC-signed with `md` (SHA-256 unless told).
std::string forge(std::string_view header, std::string_view payload, std::string_view secret = fixture_secret,
                  const EVP_MD* md = EVP_sha256()) {
  const std::string input = base64url_encode(header) + "." + base64url_encode(payload);
  return input + "." + base64url_encode(hmac(md, secret, input));
}

constexpr const char* hs256_header = R"({"alg":"HS256","typ":"JWT"})";

JwtStatus status_of(const Result<nlohmann::json, JwtStatus>& r) { return r.ok() ? JwtStatus::ok : r.error(); }

JwtStatus verify_hs(std::string_view token, long long now = 2000000000,
                    std::string_view audience = auth_audience) {
  const JwtKey key(JwtAlgorithm::HS256, fixture_secret, "", "");
  return status_of(key.verify(token, audience, at(now)));
}

JwtStatus verify_payload(std::string_view payload, long long now = 2000000000) {
  return verify_hs(forge(hs256_header, payload), now);
}

struct PemPair {
  std::string private_pem;
  std::string public_pem;
};

PemPair generate_pem_pair(bool rsa) {
  EVP_PKEY* key = rsa ? EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(2048))
                      : EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  REQUIRE(key != nullptr);
  auto to_string = [](BIO* bio) {
    char* data = nullptr;
    const long len = BIO_get_mem_data(bio, &data);
    std::string s(data, static_cast<std::size_t>(len));
    BIO_free(bio);
    return s;
  };
  BIO* priv = BIO_new(BIO_s_mem());
  BIO* pub = BIO_new(BIO_s_mem());
  REQUIRE(PEM_write_bio_PrivateKey(priv, key, nullptr, nullptr, 0, nullptr, nullptr) == 1);
  REQUIRE(PEM_write_bio_PUBKEY(pub, key) == 1);
  EVP_PKEY_free(key);
  return {to_string(priv), to_string(pub)};
}

nlohmann::ordered_json access_claims(long long exp) {
  return {{"sub", alice_id}, {"aud", nlohmann::ordered_json::array({auth_audience})}, {"exp", exp}};
}

}  // namespace

TEST_CASE("the fastapi-users fixture token verifies with the fixture secret") {
  const JwtKey key(JwtAlgorithm::HS256, fixture_secret, "", "");
  const auto claims = key.verify(alice_access_jwt, auth_audience, system_clock::now());
  REQUIRE(claims.ok());
  CHECK(claims.value()["sub"] == alice_id);
  CHECK(claims.value()["exp"] == alice_exp);
  CHECK(verify_hs(alice_access_jwt, alice_exp - 1) == JwtStatus::ok);
  CHECK(verify_hs(alice_access_jwt, alice_exp) == JwtStatus::expired);  // exp <= now, no leeway
  CHECK(verify_hs(alice_access_jwt, alice_exp + 1) == JwtStatus::expired);
  // Whole seconds: 0.999 s before exp is still the second before.
  CHECK(status_of(key.verify(alice_access_jwt, auth_audience,
                             at(alice_exp - 1) + std::chrono::milliseconds(999))) == JwtStatus::ok);
  CHECK(verify_hs(alice_access_jwt, 2000000000, "fastapi-users:verify") == JwtStatus::bad_audience);
  const JwtKey other(JwtAlgorithm::HS256, "another-secret", "", "");
  CHECK(status_of(other.verify(alice_access_jwt, auth_audience, at(2000000000))) == JwtStatus::bad_signature);
}

TEST_CASE("sign writes byte-identical tokens to fastapi-users/PyJWT") {
  const JwtKey key(JwtAlgorithm::HS256, fixture_secret, "", "");
  CHECK(key.sign(access_claims(alice_exp)) == alice_access_jwt);
  // Non-ASCII claim values are \u-escaped as Python's json.dumps does.
  const nlohmann::ordered_json verify_claims = {{"sub", alice_id},
                                                {"email", "j\xc3\xb6rg@example.com"},
                                                {"aud", "fastapi-users:verify"},
                                                {"exp", 4102444800LL}};
  CHECK(key.sign(verify_claims) == pyjwt_hs256_verify_token);
  const auto back = key.verify(pyjwt_hs256_verify_token, "fastapi-users:verify", at(2000000000));
  REQUIRE(back.ok());
  CHECK(back.value()["email"] == "j\xc3\xb6rg@example.com");
  // RSASSA-PKCS1-v1_5 is deterministic, so RS256 tokens match too.
  const JwtKey rsa(JwtAlgorithm::RS256, "", pyjwt_rsa_private_pem, "");
  CHECK(rsa.sign(access_claims(4102444800LL)) == pyjwt_rs256_token);
}

TEST_CASE("PyJWT RS256 and ES256 tokens verify with the public keys") {
  const JwtKey rsa(JwtAlgorithm::RS256, "", "", pyjwt_rsa_public_pem);
  const auto r = rsa.verify(pyjwt_rs256_token, auth_audience, at(2000000000));
  REQUIRE(r.ok());
  CHECK(r.value()["sub"] == alice_id);
  const JwtKey ec(JwtAlgorithm::ES256, "", "", pyjwt_ec_public_pem);
  const auto e = ec.verify(pyjwt_es256_token, auth_audience, at(2000000000));
  REQUIRE(e.ok());
  CHECK(e.value()["sub"] == alice_id);
  CHECK(status_of(ec.verify(pyjwt_es256_token, auth_audience, at(4102444800LL))) == JwtStatus::expired);
  // Algorithm confusion: each key refuses the other's tokens by header alg.
  CHECK(status_of(rsa.verify(pyjwt_es256_token, auth_audience, at(2000000000))) == JwtStatus::bad_algorithm);
  CHECK(status_of(ec.verify(pyjwt_rs256_token, auth_audience, at(2000000000))) == JwtStatus::bad_algorithm);
  CHECK(verify_hs(pyjwt_rs256_token) == JwtStatus::bad_algorithm);
}

TEST_CASE("tampered tokens are refused") {
  const std::string token = alice_access_jwt;
  const auto dot1 = token.find('.');
  const auto dot2 = token.rfind('.');
  const std::string header = token.substr(0, dot1);
  const std::string signature = token.substr(dot2 + 1);
  // Another payload under the original signature.
  const std::string evil_payload = base64url_encode(
      R"({"sub":"1d9e73fd-3aff-4ebd-a778-390dc2df0517","aud":["fastapi-users:auth"],"exp":2110789785})");
  CHECK(verify_hs(header + "." + evil_payload + "." + signature) == JwtStatus::bad_signature);
  // One flipped signature character, a truncated and an empty signature.
  std::string flipped = token;
  flipped[dot2 + 5] = flipped[dot2 + 5] == 'A' ? 'B' : 'A';
  CHECK(verify_hs(flipped) == JwtStatus::bad_signature);
  CHECK(verify_hs(token.substr(0, token.size() - 4)) == JwtStatus::bad_signature);
  CHECK(verify_hs(token.substr(0, dot2 + 1)) == JwtStatus::bad_signature);
}

TEST_CASE("header algorithm must be exactly the configured one") {
  const std::string payload = R"({"sub":"x","aud":["fastapi-users:auth"]})";
  const std::string unsigned_input =
      base64url_encode(R"({"alg":"none","typ":"JWT"})") + "." + base64url_encode(payload);
  CHECK(verify_hs(unsigned_input + ".") == JwtStatus::bad_algorithm);
  CHECK(verify_hs(forge(R"({"alg":"none"})", payload)) == JwtStatus::bad_algorithm);
  CHECK(verify_hs(forge(R"({"alg":"None"})", payload)) == JwtStatus::bad_algorithm);
  CHECK(verify_hs(forge(R"({"alg":"hs256"})", payload)) == JwtStatus::bad_algorithm);
  CHECK(verify_hs(forge(R"({"alg":"HS512","typ":"JWT"})", payload, fixture_secret, EVP_sha512())) ==
        JwtStatus::bad_algorithm);
  CHECK(verify_hs(forge(R"({"alg":"RS256","typ":"JWT"})", payload)) == JwtStatus::bad_algorithm);
  CHECK(verify_hs(forge(R"({"typ":"JWT"})", payload)) == JwtStatus::bad_algorithm);
  CHECK(verify_hs(forge(R"({"alg":256})", payload)) == JwtStatus::bad_algorithm);
  CHECK(verify_hs(forge(R"({"alg":null})", payload)) == JwtStatus::bad_algorithm);
  CHECK(verify_hs(forge(R"({"alg":"HS256"})", payload)) == JwtStatus::ok);  // typ is not required
}

TEST_CASE("structurally broken tokens are malformed") {
  const std::string payload = R"({"sub":"x","aud":"fastapi-users:auth"})";
  const std::string good = forge(hs256_header, payload);
  CHECK(verify_hs(good) == JwtStatus::ok);
  CHECK(verify_hs("") == JwtStatus::malformed);
  CHECK(verify_hs("abc") == JwtStatus::malformed);
  CHECK(verify_hs(good.substr(0, good.rfind('.'))) == JwtStatus::malformed);  // 2 segments
  CHECK(verify_hs(good + ".extra") == JwtStatus::malformed);                  // 4 segments
  CHECK(verify_hs(good + ".") == JwtStatus::malformed);
  CHECK(verify_hs("." + good) == JwtStatus::malformed);
  CHECK(verify_hs("..") == JwtStatus::malformed);
  CHECK(verify_hs(forge("[]", payload)) == JwtStatus::malformed);
  CHECK(verify_hs(forge(R"("HS256")", payload)) == JwtStatus::malformed);
  CHECK(verify_hs(forge("not json", payload)) == JwtStatus::malformed);
  CHECK(verify_hs(forge(R"({"alg":"HS256","kid":7})", payload)) == JwtStatus::malformed);
  CHECK(verify_hs(forge(R"({"alg":"HS256","b64":false})", payload)) == JwtStatus::malformed);
  // Signed correctly but the payload is not a JSON object.
  CHECK(verify_hs(forge(hs256_header, "[1,2]")) == JwtStatus::malformed);
  CHECK(verify_hs(forge(hs256_header, "{bad json")) == JwtStatus::malformed);
  // Bad base64url in each segment.
  const auto dot1 = good.find('.');
  const auto dot2 = good.rfind('.');
  CHECK(verify_hs("eyJ*" + good.substr(dot1)) == JwtStatus::malformed);
  CHECK(verify_hs(good.substr(0, dot1 + 1) + "e+J9" + good.substr(dot2)) == JwtStatus::malformed);
  CHECK(verify_hs(good.substr(0, dot2 + 1) + "A") == JwtStatus::malformed);  // impossible length
  CHECK(verify_hs(good + "=") == JwtStatus::malformed);
}

TEST_CASE("time claims: exp, nbf, iat in whole seconds with no leeway") {
  const long long now = 2000000000;
  CHECK(verify_payload(R"({"aud":"fastapi-users:auth","exp":2000000001})", now) == JwtStatus::ok);
  CHECK(verify_payload(R"({"aud":"fastapi-users:auth","exp":2000000000})", now) == JwtStatus::expired);
  CHECK(verify_payload(R"({"aud":"fastapi-users:auth","exp":1999999999})", now) == JwtStatus::expired);
  CHECK(verify_payload(R"({"aud":"fastapi-users:auth","exp":2000000000.9})", now) ==
        JwtStatus::expired);  // int()
  CHECK(verify_payload(R"({"aud":"fastapi-users:auth","exp":2000000001.5})", now) == JwtStatus::ok);
  CHECK(verify_payload(R"({"aud":"fastapi-users:auth","exp":"2000000001"})", now) == JwtStatus::bad_claims);
  CHECK(verify_payload(R"({"aud":"fastapi-users:auth","exp":true})", now) == JwtStatus::bad_claims);
  CHECK(verify_payload(R"({"aud":"fastapi-users:auth","exp":null})", now) == JwtStatus::bad_claims);
  CHECK(verify_payload(R"({"aud":"fastapi-users:auth","nbf":2000000000})", now) == JwtStatus::ok);
  CHECK(verify_payload(R"({"aud":"fastapi-users:auth","nbf":2000000001})", now) == JwtStatus::not_yet_valid);
  CHECK(verify_payload(R"({"aud":"fastapi-users:auth","nbf":"soon"})", now) == JwtStatus::bad_claims);
  CHECK(verify_payload(R"({"aud":"fastapi-users:auth","iat":2000000000})", now) == JwtStatus::ok);
  CHECK(verify_payload(R"({"aud":"fastapi-users:auth","iat":2000000000.7})", now) == JwtStatus::ok);
  CHECK(verify_payload(R"({"aud":"fastapi-users:auth","iat":2000000001})", now) == JwtStatus::not_yet_valid);
  CHECK(verify_payload(R"({"aud":"fastapi-users:auth","iat":[]})", now) == JwtStatus::bad_claims);
  // Out of double range: Python makes it inf and int() fails; refused either way.
  CHECK(verify_payload(R"({"aud":"fastapi-users:auth","exp":1e400})", now) != JwtStatus::ok);
}

TEST_CASE("audience: string must equal, list must contain, anything else refused") {
  CHECK(verify_payload(R"({"aud":"fastapi-users:auth"})") == JwtStatus::ok);
  CHECK(verify_payload(R"({"aud":["other","fastapi-users:auth"]})") == JwtStatus::ok);
  CHECK(verify_payload(R"({"sub":"x"})") == JwtStatus::bad_audience);
  CHECK(verify_payload(R"({"aud":""})") == JwtStatus::bad_audience);
  CHECK(verify_payload(R"({"aud":[]})") == JwtStatus::bad_audience);
  CHECK(verify_payload(R"({"aud":null})") == JwtStatus::bad_audience);
  CHECK(verify_payload(R"({"aud":"fastapi-users:auth2"})") == JwtStatus::bad_audience);
  CHECK(verify_payload(R"({"aud":"FASTAPI-USERS:AUTH"})") == JwtStatus::bad_audience);
  CHECK(verify_payload(R"({"aud":["fastapi-users:verify"]})") == JwtStatus::bad_audience);
  CHECK(verify_payload(R"({"aud":["fastapi-users:auth",1]})") == JwtStatus::bad_audience);
  CHECK(verify_payload(R"({"aud":{"fastapi-users:auth":1}})") == JwtStatus::bad_audience);
  CHECK(verify_payload(R"({"aud":42})") == JwtStatus::bad_audience);
}

TEST_CASE("sub and jti must be strings when present") {
  CHECK(verify_payload(R"({"aud":"fastapi-users:auth","sub":"abc","jti":"j"})") == JwtStatus::ok);
  CHECK(verify_payload(R"({"aud":"fastapi-users:auth","sub":12})") == JwtStatus::bad_claims);
  CHECK(verify_payload(R"({"aud":"fastapi-users:auth","sub":null})") == JwtStatus::bad_claims);
  CHECK(verify_payload(R"({"aud":"fastapi-users:auth","jti":1})") == JwtStatus::bad_claims);
}

TEST_CASE("round trips for HS256, RS256 and ES256") {
  const long long exp = 2000000100;
  {
    const JwtKey key(JwtAlgorithm::HS256, "s3cret", "", "");
    const std::string token = key.sign(access_claims(exp));
    CHECK(token.substr(0, token.find('.')) == "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9");
    CHECK(status_of(key.verify(token, auth_audience, at(2000000000))) == JwtStatus::ok);
    const JwtKey empty(JwtAlgorithm::HS256, "", "", "");  // an empty secret still works (PyJWT allows it)
    CHECK(status_of(empty.verify(empty.sign(access_claims(exp)), auth_audience, at(2000000000))) ==
          JwtStatus::ok);
    CHECK(status_of(empty.verify(token, auth_audience, at(2000000000))) == JwtStatus::bad_signature);
  }
  for (const bool rsa : {true, false}) {
    CAPTURE(rsa);
    const JwtAlgorithm alg = rsa ? JwtAlgorithm::RS256 : JwtAlgorithm::ES256;
    const PemPair pair = generate_pem_pair(rsa);
    const PemPair other = generate_pem_pair(rsa);
    const JwtKey signer(alg, "", pair.private_pem, "");
    const JwtKey verifier(alg, "", "", pair.public_pem);
    const JwtKey stranger(alg, "", "", other.public_pem);
    const std::string token = signer.sign(access_claims(exp));
    CHECK(token.substr(0, token.find('.')) ==
          base64url_encode(rsa ? R"({"alg":"RS256","typ":"JWT"})" : R"({"alg":"ES256","typ":"JWT"})"));
    const auto claims = verifier.verify(token, auth_audience, at(2000000000));
    REQUIRE(claims.ok());
    CHECK(claims.value()["sub"] == alice_id);
    CHECK(status_of(signer.verify(token, auth_audience, at(2000000000))) ==
          JwtStatus::ok);  // private key verifies too
    CHECK(status_of(stranger.verify(token, auth_audience, at(2000000000))) == JwtStatus::bad_signature);
    CHECK(status_of(verifier.verify(token, auth_audience, at(exp))) == JwtStatus::expired);
    const std::string signature = *base64url_decode(token.substr(token.rfind('.') + 1));
    CHECK(signature.size() == (rsa ? 256u : 64u));  // ES256: raw R||S, not DER
    std::string flipped = signature;
    flipped[10] = static_cast<char>(flipped[10] ^ 1);
    const std::string input = token.substr(0, token.rfind('.'));
    CHECK(status_of(verifier.verify(input + "." + base64url_encode(flipped), auth_audience,
                                    at(2000000000))) == JwtStatus::bad_signature);
    CHECK(status_of(verifier.verify(input + "." + base64url_encode(signature.substr(1)), auth_audience,
                                    at(2000000000))) == JwtStatus::bad_signature);
    CHECK_THROWS(verifier.sign(access_claims(exp)));  // no private key
  }
}

TEST_CASE("bad key material is refused at construction") {
  const PemPair rsa = generate_pem_pair(true);
  const PemPair ec = generate_pem_pair(false);
  CHECK_THROWS_AS(JwtKey(JwtAlgorithm::RS256, "", "not a pem", ""), std::runtime_error);
  CHECK_THROWS_AS(
      JwtKey(JwtAlgorithm::RS256, "", "", "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"),
      std::runtime_error);
  CHECK_THROWS_AS(JwtKey(JwtAlgorithm::RS256, "", "", ""), std::runtime_error);
  CHECK_THROWS_AS(JwtKey(JwtAlgorithm::RS256, "", ec.private_pem, ""), std::runtime_error);
  CHECK_THROWS_AS(JwtKey(JwtAlgorithm::ES256, "", "", rsa.public_pem), std::runtime_error);
  CHECK_THROWS_AS(JwtKey(JwtAlgorithm::RS256, "", rsa.public_pem, ""),
                  std::runtime_error);  // public as private
  EVP_PKEY* p384 = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-384");
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PUBKEY(bio, p384);
  char* data = nullptr;
  const std::string p384_pem(data, static_cast<std::size_t>(BIO_get_mem_data(bio, &data)));
  BIO_free(bio);
  EVP_PKEY_free(p384);
  CHECK_THROWS_AS(JwtKey(JwtAlgorithm::ES256, "", "", p384_pem), std::runtime_error);
  CHECK_NOTHROW(JwtKey(JwtAlgorithm::RS256, "", rsa.private_pem, rsa.public_pem));
}
