// routes/password_policy.cpp: minimum length in code points, no email inside.
#include <doctest/doctest.h>

#include "routes/password_policy.hpp"

using namespace doorman::routes;

TEST_CASE("password policy") {
  CHECK(password_policy_violation("1234567", "a@b.c", 8) == "Password should be at least 8 characters");
  CHECK_FALSE(password_policy_violation("12345678", "a@b.c", 8));
  // 8 code points, 16 bytes: long enough, as Python's len counts.
  CHECK_FALSE(password_policy_violation("\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9",
                                        "a@b.c", 8));
  CHECK(password_policy_violation("\xC3\xA9\xC3\xA9\xC3\xA9", "a@b.c", 4) ==
        "Password should be at least 4 characters");
  CHECK(password_policy_violation("xxa@b.cxx", "a@b.c", 8) == "Password should not contain e-mail");
  CHECK_FALSE(password_policy_violation("xxA@B.Cxx", "a@b.c", 8));  // case-sensitive, as `in`
  CHECK(password_policy_violation("short", "a@b.c", 8) ==
        "Password should be at least 8 characters");  // length first
  CHECK_FALSE(password_policy_violation("", "a@b.c", 0));
}
