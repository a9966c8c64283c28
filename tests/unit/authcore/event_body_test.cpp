// Tests for authcore/event_body.cpp: the exact body bytes of DESIGN.md §8 (with
// a token, with fields, with neither) and signatures equal to Python's
// hmac.new(secret, body, hashlib.sha256).hexdigest() of the same bytes.
#include "authcore/event_body.hpp"

#include <doctest/doctest.h>

using doorman::authcore::event_body;
using doorman::authcore::event_signature;
using doorman::authcore::hmac_sha256_hex;
using doorman::authcore::User;

namespace {

User sample_user() {
  User user;
  user.id = "8f3c1f2e-0000-4000-8000-000000000001";
  user.email = "zo\xc3\xab@example.com";  // non-ASCII stays unescaped
  user.hashed_password = "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA";
  user.is_active = true;
  user.is_superuser = false;
  user.is_verified = false;
  return user;
}

constexpr const char* kUserJson =
    "{\"id\":\"8f3c1f2e-0000-4000-8000-000000000001\",\"email\":\"zo\xc3\xab@example.com\","
    "\"is_active\":true,\"is_superuser\":false,\"is_verified\":false}";

}  // namespace

TEST_CASE("event_body: neither token nor fields") {
  const std::string body = event_body("after_register", sample_user(), std::nullopt, std::nullopt);
  CHECK(body == std::string("{\"event\":\"after_register\",\"user\":") + kUserJson + "}");
  // The stored hash is not part of the user object.
  CHECK(body.find("argon2") == std::string::npos);
  CHECK(hmac_sha256_hex("hook-secret", body) ==
        "05b9da65d6e1adb042eed4f39a2212590d9eb944ad60812171abb848f5c3ed60");
}

TEST_CASE("event_body: with a token") {
  const std::string body =
      event_body("forgot_password", sample_user(), std::string("abc.def-ghi"), std::nullopt);
  CHECK(body ==
        std::string("{\"event\":\"forgot_password\",\"user\":") + kUserJson + ",\"token\":\"abc.def-ghi\"}");
  CHECK(hmac_sha256_hex("hook-secret", body) ==
        "0bac2e0d67d7df96c11151db584f1fe7598b2e27941e4c13e961e43d8b1a25fb");
}

TEST_CASE("event_body: with fields") {
  const std::vector<std::string> fields{"password", "email"};
  const std::string body = event_body("after_update", sample_user(), std::nullopt, fields);
  CHECK(body == std::string("{\"event\":\"after_update\",\"user\":") + kUserJson +
                    ",\"fields\":[\"password\",\"email\"]}");
  CHECK(hmac_sha256_hex("hook-secret", body) ==
        "20e604907a8df1b3d557ad06a9551e497b94db33daa19c53ea91244b6538f483");

  // An empty list is present and empty, not left out.
  const std::string empty =
      event_body("after_update", sample_user(), std::nullopt, std::vector<std::string>{});
  CHECK(empty == std::string("{\"event\":\"after_update\",\"user\":") + kUserJson + ",\"fields\":[]}");
  CHECK(hmac_sha256_hex("hook-secret", empty) ==
        "9f29a98b67da21a62dcc2314599c899d8dfbfbceceb26382f0ea4581b259ab85");
}

TEST_CASE("event_body: the user object matches user_json") {
  const std::string body = event_body("after_login", sample_user(), std::nullopt, std::nullopt);
  CHECK(body.find(doorman::authcore::user_json(sample_user())) != std::string::npos);
}

TEST_CASE("event_body: an email that is not UTF-8 does not throw") {
  User user = sample_user();
  user.email = "bad\xff@example.com";
  std::string body;
  CHECK_NOTHROW(body = event_body("after_login", user, std::nullopt, std::nullopt));
  CHECK(body.find("\"email\":\"bad\xef\xbf\xbd@example.com\"") != std::string::npos);
}

TEST_CASE("event_signature: header value, and an empty secret") {
  CHECK(event_signature("hook-secret", "x").rfind("sha256=", 0) == 0);
  CHECK(event_signature("hook-secret", "x").size() == 7 + 64);
  CHECK(hmac_sha256_hex("", "{}") == "22f8eea909400af98adf3681a9f31923ef6b7fcba4abb553d92823a3e9d5c25e");
}
