// Tests for authcore/email.cpp: pydantic EmailStr + email-validator 2.3 reasons
// and normalisation, table-driven.
#include "authcore/email.hpp"

#include <doctest/doctest.h>

using namespace doorman::authcore;

namespace {

std::string normalized(std::string_view input) {
  const auto r = normalize_email(input);
  return r.ok() ? r.value() : "ERROR: " + r.error().reason;
}

}  // namespace

TEST_CASE("valid addresses and their normalised form") {
  const struct {
    const char* input;
    const char* expected;
  } cases[] = {
      {"alice@example.com", "alice@example.com"},
      {"King.Arthur@Camelot.BT", "King.Arthur@camelot.bt"},  // api-contract §10
      {"Bob@Example.com", "Bob@example.com"},
      {"  bob@example.com \t\n", "bob@example.com"},
      {"Bob Smith <Bob@Example.COM>", "Bob@example.com"},
      {"  \"Smith, Bob\" <bob@example.com>  ", "bob@example.com"},
      {"<bob@example.com>", "bob@example.com"},
      {"POSTMASTER@Example.com", "postmaster@example.com"},  // RFC 2142 names are lowercased
      {"Abuse@example.com", "abuse@example.com"},
      {"WebMaster@example.com", "webmaster@example.com"},
      {"Postmaster2@example.com", "Postmaster2@example.com"},
      {"a.b+tag@sub.example.co.uk", "a.b+tag@sub.example.co.uk"},
      {"x!#$%&'*+/=?^_`{|}~-@example.com", "x!#$%&'*+/=?^_`{|}~-@example.com"},
      {"user@my-host.example", "user@my-host.example"},
      {"user@123.example.com", "user@123.example.com"},
      {"J\xc3\xb6rg@example.com", "J\xc3\xb6rg@example.com"},  // internationalized local part kept as is
      {"\xe7\x94\xa8\xe6\x88\xb7@example.com", "\xe7\x94\xa8\xe6\x88\xb7@example.com"},
      {"user@example.test.com", "user@example.test.com"},  // "test" only as the last label
  };
  for (const auto& c : cases) {
    CAPTURE(c.input);
    CHECK(normalized(c.input) == c.expected);
  }
}

TEST_CASE("invalid addresses give email-validator's reason") {
  const std::string long_local(65, 'a');
  const std::string long_label(64, 'b');
  const std::string long_domain = std::string(63, 'c') + "." + std::string(63, 'd') + "." +
                                  std::string(63, 'e') + "." + std::string(63, 'f') + ".com";
  const std::string long_address = std::string(64, 'a') + "@" + std::string(63, 'b') + "." +
                                   std::string(63, 'c') + "." + std::string(60, 'd') +
                                   ".com";  // 64 + 1 + 63+1+63+1+60+4 = 257
  const struct {
    std::string input;
    const char* reason;
  } cases[] = {
      {"", "An email address must have an @-sign."},
      {"alice", "An email address must have an @-sign."},
      {"alice.example.com", "An email address must have an @-sign."},
      {"@example.com", "There must be something before the @-sign."},
      {"alice@", "There must be something after the @-sign."},
      {"alice@example", "The part after the @-sign is not valid. It should have a period."},
      {"alice@localhost", "The part after the @-sign is not valid. It should have a period."},
      {"alice@example.123",
       "The part after the @-sign is not valid. It is not within a valid top-level domain."},
      {"alice@example.arpa",
       "The part after the @-sign is a special-use or reserved name that cannot be used with email."},
      {"alice@foo.invalid",
       "The part after the @-sign is a special-use or reserved name that cannot be used with email."},
      {"alice@printer.local",
       "The part after the @-sign is a special-use or reserved name that cannot be used with email."},
      {"alice@a.localhost",
       "The part after the @-sign is a special-use or reserved name that cannot be used with email."},
      {"alice@hidden.onion",
       "The part after the @-sign is a special-use or reserved name that cannot be used with email."},
      {"alice@example.TEST",
       "The part after the @-sign is a special-use or reserved name that cannot be used with email."},
      {"alice@[127.0.0.1]", "A bracketed IP address after the @-sign is not allowed here."},
      {"alice@[IPv6:::1]", "A bracketed IP address after the @-sign is not allowed here."},
      {"\"alice\"@example.com", "Quoting the part before the @-sign is not allowed here."},
      {"\"al ice\"@example.com", "Quoting the part before the @-sign is not allowed here."},
      {"\"\"@example.com", "There must be something before the @-sign."},
      {"al ice@example.com", "The email address contains invalid characters before the @-sign: SPACE."},
      {"a,l(ice)@example.com",
       "The email address contains invalid characters before the @-sign: '(', ')', ','."},
      {"a\\b@example.com", "The email address contains invalid characters before the @-sign: \"\\\"."},
      {"a\tb@example.com", "The email address contains invalid characters before the @-sign: U+0009."},
      {"alice@b@example.com", "The part after the @-sign contains invalid characters: '@'."},
      {"alice@exa_mple.com", "The part after the @-sign contains invalid characters: '_'."},
      {"alice@exa mple.com", "The part after the @-sign contains invalid characters: SPACE."},
      {"a..b@example.com", "An email address cannot have two periods in a row."},
      {".alice@example.com", "An email address cannot start with a period."},
      {"alice.@example.com", "An email address cannot have a period immediately before the @-sign."},
      {"alice@.example.com", "An email address cannot have a period immediately after the @-sign."},
      {"alice@example.com.", "An email address cannot end with a period."},
      {"alice@example..com", "An email address cannot have two periods in a row."},
      {"alice@-example.com", "An email address cannot have a hyphen immediately after the @-sign."},
      {"alice@example.com-", "An email address cannot end with a hyphen."},
      {"alice@example-.com", "An email address cannot have a period and a hyphen next to each other."},
      {"alice@ab--cd.com",
       "An email address cannot have two letters followed by two dashes immediately after the @-sign or "
       "after a "
       "period, except Punycode."},
      {long_local + "@example.com",
       "The email address is too long before the @-sign (1 character too many)."},
      {std::string(70, 'a') + "@example.com",
       "The email address is too long before the @-sign (6 characters too many)."},
      {"alice@" + long_label + ".com",
       "After the @-sign, periods cannot be separated by so many characters (1 character too many)."},
      {"a@" + long_domain, "The email address is too long after the @-sign (4 characters too many)."},
      {long_address, "The email address is too long (3 characters too many)."},
      {"Bob Smith <bob@example.com",
       "An open angle bracket at the start of the email address has to be followed by a close angle bracket "
       "at the end."},
      {"J. Smith <bob@example.com>", "The display name contains invalid characters when not quoted: '.'."},
      {"<bob@example.com> x", "There can't be anything after the email address."},
      // email-validator names the character (ZERO WIDTH SPACE); doorman shows its code point.
      {"a\xe2\x80\x8b"
       "b@example.com",
       "The email address contains unsafe characters: U+200B."},
      {std::string(2049, 'a'), "Length must not exceed 2048 characters"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.input);
    CHECK(normalized(c.input) == std::string("ERROR: ") + c.reason);
  }
}

TEST_CASE("internationalized domains are refused rather than stored unnormalised") {
  CHECK_FALSE(normalize_email("user@b\xc3\xbc"
                              "cher.de")
                  .ok());
  CHECK_FALSE(normalize_email("user@xn--bcher-kva.de").ok());
  CHECK_FALSE(normalize_email("bad\xff@example.com").ok());  // not UTF-8
}

TEST_CASE("lower_email lowercases ASCII only") {
  CHECK(lower_email("Bob@Example.COM") == "bob@example.com");
  CHECK(lower_email("J\xc3\x96RG@x.com") == "j\xc3\x96rg@x.com");
  CHECK(lower_email("") == "");
}
