// Tests for authcore/user.cpp: the exact public JSON of a user.
#include "authcore/user.hpp"

#include <doctest/doctest.h>

using namespace doorman::authcore;

TEST_CASE("user_json is compact, ordered, and omits the password hash") {
  User u;
  u.id = "9283b342-9a83-4503-9771-9cf8129482aa";
  u.email = "alice@example.com";
  u.hashed_password = "$argon2id$secret";
  CHECK(
      user_json(u) ==
      R"({"id":"9283b342-9a83-4503-9771-9cf8129482aa","email":"alice@example.com","is_active":true,"is_superuser":false,"is_verified":false})");
  u.is_active = false;
  u.is_superuser = true;
  u.is_verified = true;
  CHECK(
      user_json(u) ==
      R"({"id":"9283b342-9a83-4503-9771-9cf8129482aa","email":"alice@example.com","is_active":false,"is_superuser":true,"is_verified":true})");
}

TEST_CASE("user_json leaves non-ASCII unescaped and escapes JSON specials") {
  User u;
  u.id = "1d9e73fd-3aff-4ebd-a778-390dc2df0517";
  u.email =
      "J\xc3\xb6rg\"x\\@b\xc3\xbc"
      "cher.de";
  CHECK(user_json(u) ==
        "{\"id\":\"1d9e73fd-3aff-4ebd-a778-390dc2df0517\",\"email\":\"J\xc3\xb6rg\\\"x\\\\@b\xc3\xbc"
        "cher.de\",\"is_active\":true,\"is_superuser\":false,\"is_verified\":false}");
  u.email = "bad\xff@x.com";  // not UTF-8: replaced, never thrown
  CHECK(user_json(u).find("bad\xef\xbf\xbd@x.com") != std::string::npos);
}
