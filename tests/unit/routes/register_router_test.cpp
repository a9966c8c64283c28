// routes/register_router.cpp: POST {auth}/register, every success and
// documented error, exact bytes; a refused request changes nothing.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "authcore/uuid.hpp"
#include "routes/api_fixture.hpp"

using namespace doorman;
using namespace doorman::routes;
using namespace doorman::routes::testing;

namespace {

Request register_body(std::string body) { return json_request("POST", "/auth/register", std::move(body)); }

}  // namespace

TEST_CASE("register: 201 with the new user; flags and extra keys ignored; the email normalised") {
  ApiFixture f;
  const auto answer = f.send(register_body(
      R"({"email":"  King.Arthur@Camelot.BT ","password":"excalibur!","is_active":false,"is_superuser":true,)"
      R"("is_verified":"yes","id":"00000000-0000-0000-0000-000000000000","extra":[1]})"));
  CHECK(answer.status == 201);
  CHECK(header(answer, "Content-Type") == "application/json");
  REQUIRE(f.store->users.size() == 1);
  const authcore::User& user = f.store->users[0];
  CHECK(authcore::parse_uuid(user.id) == user.id);
  CHECK(user.id[14] == '4');  // UUIDv4
  CHECK(
      answer.body ==
      R"({"id":")" + user.id +
          R"(","email":"King.Arthur@camelot.bt","is_active":true,"is_superuser":false,"is_verified":false})");
  CHECK(user.email == "King.Arthur@camelot.bt");
  CHECK(f.hasher->verify("excalibur!", user.hashed_password) == authcore::PasswordCheck::ok);
  REQUIRE(f.events.size() == 1);
  CHECK(f.events[0].name == "after_register");
  CHECK(f.events[0].user.id == user.id);
}

TEST_CASE("register: 422 lists every field error in declaration order and stores nothing") {
  ApiFixture f;
  const auto answer = f.send(register_body(
      R"({"is_verified":null,"is_superuser":[],"is_active":"maybe","password":1,"email":"foo"})"));
  CHECK(answer.status == 422);
  CHECK(
      answer.body ==
      R"({"detail":[)"
      R"({"type":"value_error","loc":["body","email"],"msg":"value is not a valid email address: An email address must have an @-sign.","input":"foo","ctx":{"reason":"An email address must have an @-sign."}},)"
      R"({"type":"string_type","loc":["body","password"],"msg":"Input should be a valid string","input":1},)"
      R"({"type":"bool_parsing","loc":["body","is_active"],"msg":"Input should be a valid boolean, unable to interpret input","input":"maybe"},)"
      R"({"type":"bool_type","loc":["body","is_superuser"],"msg":"Input should be a valid boolean","input":[]}]})");
  CHECK(f.store->users.empty());
  CHECK(f.events.empty());

  CHECK(f.send(register_body("{}")).body ==
        R"({"detail":[{"type":"missing","loc":["body","email"],"msg":"Field required","input":{}},)"
        R"({"type":"missing","loc":["body","password"],"msg":"Field required","input":{}}]})");
  CHECK(
      f.send(register_body(R"({"email":null,"password":"x"})")).body ==
      R"({"detail":[{"type":"string_type","loc":["body","email"],"msg":"Input should be a valid string","input":null}]})");
  CHECK(f.store->writes == 0);
}

TEST_CASE("register: body not parsed, absent, not an object, malformed, not UTF-8") {
  ApiFixture f;
  CHECK(f.send(register_body("")).body ==
        R"({"detail":[{"type":"missing","loc":["body"],"msg":"Field required","input":null}]})");
  CHECK(f.send(register_body("null")).status == 422);
  CHECK(
      f.send(register_body("[]")).body ==
      R"({"detail":[{"type":"model_attributes_type","loc":["body"],"msg":"Input should be a valid dictionary or object to extract fields from","input":[]}]})");
  Request untyped = register_body(R"({"email":"a@example.com","password":"long enough"})");
  untyped.content_type.clear();
  const auto raw = f.send(untyped);
  CHECK(raw.status == 422);
  CHECK(raw.body.find(R"("type":"model_attributes_type")") != std::string::npos);

  const auto malformed = f.send(register_body(R"({"email": "a@example.com",})"));
  CHECK(malformed.status == 422);
  CHECK(malformed.body.find(R"("type":"json_invalid","loc":["body",)") != std::string::npos);
  const auto not_utf8 =
      f.send(register_body("{\"email\":\"\xFF@example.com\",\"password\":\"long enough\"}"));
  CHECK(not_utf8.status == 400);
  CHECK(not_utf8.body == R"({"detail":"There was an error parsing the body"})");

  Request plus_json = register_body(R"({"email":"a@example.com","password":"long enough"})");
  plus_json.content_type = "application/merge-patch+json; charset=utf-8";
  CHECK(f.send(plus_json).status == 201);
  CHECK(f.store->users.size() == 1);
}

TEST_CASE("register: password policy before the existence check") {
  ApiFixture f;
  f.add_user("taken@example.com");
  const auto shorter = f.send(register_body(R"({"email":"taken@example.com","password":"1234567"})"));
  CHECK(shorter.status == 400);
  CHECK(
      shorter.body ==
      R"({"detail":{"code":"REGISTER_INVALID_PASSWORD","reason":"Password should be at least 8 characters"}})");
  const auto with_email =
      f.send(register_body(R"({"email":"new@example.com","password":"xnew@example.comx"})"));
  CHECK(with_email.body ==
        R"({"detail":{"code":"REGISTER_INVALID_PASSWORD","reason":"Password should not contain e-mail"}})");
  CHECK(f.store->users.size() == 1);

  ApiFixture lenient([](config::Config& c) { c.users.password_min_length = 3; });
  CHECK(lenient.send(register_body(R"({"email":"a@example.com","password":"abc"})")).status == 201);
  CHECK(
      lenient.send(register_body(R"({"email":"b@example.com","password":"ab"})")).body ==
      R"({"detail":{"code":"REGISTER_INVALID_PASSWORD","reason":"Password should be at least 3 characters"}})");
}

TEST_CASE("register: an existing email in any case, or a lost race, is REGISTER_USER_ALREADY_EXISTS") {
  ApiFixture f;
  f.add_user("Taken@Example.com");
  const auto answer = f.send(register_body(R"({"email":"taken@example.com","password":"long enough"})"));
  CHECK(answer.status == 400);
  CHECK(answer.body == R"({"detail":"REGISTER_USER_ALREADY_EXISTS"})");

  f.store->duplicate_on_write = true;
  CHECK(f.send(register_body(R"({"email":"racer@example.com","password":"long enough"})")).body ==
        R"({"detail":"REGISTER_USER_ALREADY_EXISTS"})");
  CHECK(f.store->users.size() == 1);
  CHECK(f.events.empty());
}

TEST_CASE("register: the store down -> 503") {
  ApiFixture f;
  f.store->unavailable = true;
  const auto answer = f.send(register_body(R"({"email":"a@example.com","password":"long enough"})"));
  CHECK(answer.status == 503);
  CHECK(answer.body == R"({"detail":"Service Unavailable"})");
}
