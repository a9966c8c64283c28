// The OpenAPI document of the auth API; see openapi.hpp. Names, summaries,
// operation ids, tags and error examples follow what FastAPI generates for the
// fastapi-users routers mounted as in the fastapi-users docs.
#include "routes/openapi.hpp"

#include <algorithm>
#include <cctype>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "routes/password_policy.hpp"

namespace doorman::routes {

namespace {

Json ref(std::string_view schema) { return Json{{"$ref", "#/components/schemas/" + std::string(schema)}}; }

Json nullable(Json schema) {
  return Json{{"anyOf", Json::array({std::move(schema), Json{{"type", "null"}}})}};
}

Json typed(std::string_view type, std::string_view title) { return Json{{"type", type}, {"title", title}}; }

Json with(Json schema, std::string_view key, Json value) {
  schema[std::string(key)] = std::move(value);
  return schema;
}

Json object_schema(std::string_view title, Json properties, std::vector<std::string> required) {
  Json schema = Json::object();
  schema["properties"] = std::move(properties);
  schema["type"] = "object";
  if (!required.empty()) schema["required"] = required;
  schema["title"] = title;
  return schema;
}

Json json_content(Json schema) { return Json{{"application/json", Json{{"schema", std::move(schema)}}}}; }

Json success(Json schema) {
  return Json{{"description", "Successful Response"}, {"content", json_content(std::move(schema))}};
}
Json success_empty() { return Json{{"description", "Successful Response"}}; }

// An example reason the configured policy gives, taken from the policy itself.
std::string example_policy_reason(const config::Config& config) {
  const int n = config.users.password_min_length;
  return password_policy_violation("", "", n).value_or(
      password_policy_violation("a@b.c", "a@b.c", 0).value_or(std::string()));
}

struct Example {
  std::string_view code;
  std::string_view summary;
  bool code_reason = false;  // the *_INVALID_PASSWORD {"code","reason"} shape
};

Json error_response(std::string_view description, const std::vector<Example>& examples,
                    const config::Config& config) {
  Json listed = Json::object();
  for (const Example& e : examples) {
    const Json detail =
        e.code_reason ? Json{{"code", e.code}, {"reason", example_policy_reason(config)}} : Json(e.code);
    listed[std::string(e.code)] = Json{{"summary", e.summary}, {"value", Json{{"detail", detail}}}};
  }
  Json content = Json{{"schema", ref("ErrorModel")}, {"examples", std::move(listed)}};
  return Json{{"description", description}, {"content", Json{{"application/json", std::move(content)}}}};
}

Json validation_error_response() {
  return Json{{"description", "Validation Error"}, {"content", json_content(ref("HTTPValidationError"))}};
}

// Python's str.title() on ASCII.
std::string python_title(std::string_view name) {
  std::string out;
  bool previous_cased = false;
  for (const char c : name) {
    const bool letter = std::isalpha(static_cast<unsigned char>(c)) != 0;
    out += letter ? static_cast<char>(previous_cased ? std::tolower(c) : std::toupper(c)) : c;
    previous_cased = letter;
  }
  return out;
}

// FastAPI's generate_unique_id: re.sub(r"\W", "_", name + path) + "_" + method.
std::string operation_id(std::string_view name, std::string_view path, std::string_view method) {
  std::string out = std::string(name) + std::string(path);
  for (char& c : out)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') c = '_';
  out += '_';
  for (const char c : method) out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

Json path_parameters(std::string_view path) {
  Json parameters = Json::array();
  for (std::size_t open = path.find('{'); open != std::string_view::npos; open = path.find('{', open + 1)) {
    const std::string name(path.substr(open + 1, path.find('}', open) - open - 1));
    parameters.push_back(Json{
        {"name", name}, {"in", "path"}, {"required", true}, {"schema", typed("string", python_title(name))}});
  }
  return parameters;
}

Json login_form_schema() {
  Json properties = Json::object();
  properties["grant_type"] =
      with(nullable(Json{{"type", "string"}, {"pattern", "^password$"}}), "title", "Grant Type");
  properties["username"] = typed("string", "Username");
  properties["password"] = with(typed("string", "Password"), "format", "password");
  properties["scope"] = with(typed("string", "Scope"), "default", "");
  properties["client_id"] = with(nullable(Json{{"type", "string"}}), "title", "Client Id");
  properties["client_secret"] = with(nullable(Json{{"type", "string"}}), "title", "Client Secret");
  return object_schema("OAuth2PasswordRequestForm", std::move(properties), {"username", "password"});
}

Json json_body(Json schema) { return Json{{"content", json_content(std::move(schema))}, {"required", true}}; }

Json embedded_body(std::string_view title, const std::vector<std::pair<std::string, Json>>& fields) {
  Json properties = Json::object();
  std::vector<std::string> required;
  for (const auto& [name, schema] : fields) {
    properties[name] = schema;
    required.push_back(name);
  }
  return json_body(object_schema(title, std::move(properties), std::move(required)));
}

Json email_field() { return with(typed("string", "Email"), "format", "email"); }

Json error_without_examples(std::string_view description) {
  return Json{{"description", description}, {"content", json_content(ref("ErrorModel"))}};
}

struct Operation {
  std::string name;  // the fastapi-users route name
  std::string tag;
  Json request_body;  // null: none
  Json responses = Json::object();
  bool authenticated = false;
};

Operation describe(const RouteEntry& entry, const config::Config& config) {
  Operation op;
  const bool patch = entry.method == "PATCH";
  const auto add = [&op](int status, Json response) {
    op.responses[std::to_string(status)] = std::move(response);
  };
  switch (entry.route) {
    case RouteId::login: {
      const auto& backend = config.auth.backends.at(entry.backend_index);
      op.name = "auth:" + backend.name + ".login";
      op.tag = "auth";
      op.request_body = Json{
          {"content", Json{{"application/x-www-form-urlencoded", Json{{"schema", login_form_schema()}}}}},
          {"required", true}};
      if (backend.transport.type == config::TransportKind::bearer)
        add(200, success(ref("BearerResponse")));
      else
        add(204, with(success_empty(), "description", "Session cookie set."));
      add(400, error_response("Bad Request",
                              {{"LOGIN_BAD_CREDENTIALS", "Bad credentials or the user is inactive."},
                               {"LOGIN_USER_NOT_VERIFIED", "The user is not verified."}},
                              config));
      add(422, validation_error_response());
      break;
    }
    case RouteId::logout:
      op.name = "auth:" + config.auth.backends.at(entry.backend_index).name + ".logout";
      op.tag = "auth";
      op.authenticated = true;
      add(204, success_empty());
      add(401, error_without_examples("Missing token or inactive user."));
      if (config.users.requires_verification)
        add(403, error_without_examples("The user is not verified (users.requires_verification)."));
      break;
    case RouteId::register_:
      op.name = "register:register";
      op.tag = "auth";
      op.request_body = json_body(ref("UserCreate"));
      add(201, success(ref("UserRead")));
      add(400, error_response("Bad Request",
                              {{"REGISTER_USER_ALREADY_EXISTS", "A user with this email already exists."},
                               {"REGISTER_INVALID_PASSWORD", "Password validation failed.", true}},
                              config));
      add(422, validation_error_response());
      break;
    case RouteId::forgot_password:
      op.name = "reset:forgot_password";
      op.tag = "auth";
      op.request_body = embedded_body("Body_reset_forgot_password", {{"email", email_field()}});
      add(202, success(Json::object()));
      add(422, validation_error_response());
      break;
    case RouteId::reset_password:
      op.name = "reset:reset_password";
      op.tag = "auth";
      op.request_body =
          embedded_body("Body_reset_reset_password",
                        {{"token", typed("string", "Token")}, {"password", typed("string", "Password")}});
      add(200, success(Json::object()));
      add(400, error_response("Bad Request",
                              {{"RESET_PASSWORD_BAD_TOKEN", "Bad or expired token."},
                               {"RESET_PASSWORD_INVALID_PASSWORD", "Password validation failed.", true}},
                              config));
      add(422, validation_error_response());
      break;
    case RouteId::request_verify_token:
      op.name = "verify:request-token";
      op.tag = "auth";
      op.request_body = embedded_body("Body_verify_request_token", {{"email", email_field()}});
      add(202, success(Json::object()));
      add(422, validation_error_response());
      break;
    case RouteId::verify:
      op.name = "verify:verify";
      op.tag = "auth";
      op.request_body = embedded_body("Body_verify_verify", {{"token", typed("string", "Token")}});
      add(200, success(ref("UserRead")));
      add(400, error_response("Bad Request",
                              {{"VERIFY_USER_BAD_TOKEN",
                                "Bad token, not existing user or not the e-mail currently set for the user."},
                               {"VERIFY_USER_ALREADY_VERIFIED", "The user is already verified."}},
                              config));
      add(422, validation_error_response());
      break;
    case RouteId::users_me:
    case RouteId::users_id: {
      const bool by_id = entry.route == RouteId::users_id;
      op.tag = "users";
      op.authenticated = true;
      if (entry.method == "DELETE") {
        op.name = "users:delete_user";
        add(204, success_empty());
      } else {
        op.name = by_id ? (patch ? "users:patch_user" : "users:user")
                        : (patch ? "users:patch_current_user" : "users:current_user");
        add(200, success(ref("UserRead")));
      }
      if (patch) {
        op.request_body = json_body(ref("UserUpdate"));
        add(400,
            error_response("Bad Request",
                           {{"UPDATE_USER_EMAIL_ALREADY_EXISTS", "A user with this email already exists."},
                            {"UPDATE_USER_INVALID_PASSWORD", "Password validation failed.", true}},
                           config));
      }
      add(401, error_without_examples("Missing token or inactive user."));
      if (by_id)
        add(403, error_without_examples("Not a superuser."));
      else if (config.users.requires_verification)
        add(403, error_without_examples("The user is not verified (users.requires_verification)."));
      if (by_id) add(404, error_without_examples("The user does not exist."));
      if (patch) add(422, validation_error_response());
      break;
    }
    case RouteId::openapi:
      op.name = "doorman:openapi";
      op.tag = "doorman";
      add(200, success(Json{{"type", "object"}}));
      break;
  }
  return op;
}

Json components(const config::Config& config) {
  Json schemas = Json::object();

  Json read = Json::object();
  read["id"] = with(typed("string", "Id"), "format", "uuid");
  read["email"] = email_field();
  read["is_active"] = with(typed("boolean", "Is Active"), "default", true);
  read["is_superuser"] = with(typed("boolean", "Is Superuser"), "default", false);
  read["is_verified"] = with(typed("boolean", "Is Verified"), "default", false);
  schemas["UserRead"] = object_schema("UserRead", std::move(read), {"id", "email"});

  const auto optional_flag = [](std::string_view title, bool fallback) {
    return with(with(nullable(Json{{"type", "boolean"}}), "title", title), "default", fallback);
  };
  Json create = Json::object();
  create["email"] = email_field();
  create["password"] = typed("string", "Password");
  create["is_active"] = optional_flag("Is Active", true);
  create["is_superuser"] = optional_flag("Is Superuser", false);
  create["is_verified"] = optional_flag("Is Verified", false);
  schemas["UserCreate"] = object_schema("UserCreate", std::move(create), {"email", "password"});

  Json update = Json::object();
  update["password"] = with(nullable(Json{{"type", "string"}}), "title", "Password");
  update["email"] = with(nullable(Json{{"type", "string"}, {"format", "email"}}), "title", "Email");
  for (const auto& [key, title] :
       {std::pair{"is_active", "Is Active"}, std::pair{"is_superuser", "Is Superuser"},
        std::pair{"is_verified", "Is Verified"}})
    update[key] = with(nullable(Json{{"type", "boolean"}}), "title", title);
  schemas["UserUpdate"] = object_schema("UserUpdate", std::move(update), {});

  Json bearer = Json::object();
  bearer["access_token"] = typed("string", "Access Token");
  bearer["token_type"] = typed("string", "Token Type");
  schemas["BearerResponse"] =
      object_schema("BearerResponse", std::move(bearer), {"access_token", "token_type"});

  Json error = Json::object();
  error["detail"] = Json{
      {"anyOf", Json::array({Json{{"type", "string"}},
                             Json{{"additionalProperties", Json{{"type", "string"}}}, {"type", "object"}}})},
      {"title", "Detail"}};
  schemas["ErrorModel"] = object_schema("ErrorModel", std::move(error), {"detail"});

  Json validation = Json::object();
  validation["loc"] =
      Json{{"items", Json{{"anyOf", Json::array({Json{{"type", "string"}}, Json{{"type", "integer"}}})}}},
           {"type", "array"},
           {"title", "Location"}};
  validation["msg"] = typed("string", "Message");
  validation["type"] = typed("string", "Error Type");
  schemas["ValidationError"] =
      object_schema("ValidationError", std::move(validation), {"loc", "msg", "type"});
  Json http_validation = Json::object();
  http_validation["detail"] = Json{{"items", ref("ValidationError")}, {"type", "array"}, {"title", "Detail"}};
  schemas["HTTPValidationError"] = object_schema("HTTPValidationError", std::move(http_validation), {});

  // One scheme per backend, named after it (FastAPI would merge same-kind backends into one name).
  Json security = Json::object();
  for (const auto& backend : config.auth.backends) {
    if (backend.transport.type == config::TransportKind::bearer) {
      const std::string token_url = config.routes.auth_prefix + "/" + backend.name + "/login";
      security[backend.name] =
          Json{{"type", "oauth2"},
               {"flows", Json{{"password", Json{{"scopes", Json::object()}, {"tokenUrl", token_url}}}}}};
    } else {
      security[backend.name] =
          Json{{"type", "apiKey"}, {"in", "cookie"}, {"name", backend.transport.cookie_name}};
    }
  }
  return Json{{"schemas", std::move(schemas)}, {"securitySchemes", std::move(security)}};
}

}  // namespace

Json openapi_document(const RouteTable& table, const config::Config& config) {
  Json paths = Json::object();
  for (const RouteEntry& entry : table.entries()) {
    Operation op = describe(entry, config);
    Json operation = Json::object();
    operation["tags"] = Json::array({op.tag});
    // FastAPI's summary: route.name.replace("_", " ").title().
    std::string summary = op.name;
    std::replace(summary.begin(), summary.end(), '_', ' ');
    operation["summary"] = python_title(summary);
    operation["operationId"] = operation_id(op.name, entry.path, entry.method);
    if (Json parameters = path_parameters(entry.path); !parameters.empty())
      operation["parameters"] = std::move(parameters);
    if (!op.request_body.is_null()) operation["requestBody"] = std::move(op.request_body);
    operation["responses"] = std::move(op.responses);
    if (op.authenticated) {
      Json security = Json::array();
      for (const auto& backend : config.auth.backends)
        security.push_back(Json{{backend.name, Json::array()}});
      operation["security"] = std::move(security);
    }
    std::string method;
    for (const char c : entry.method)
      method += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    paths[entry.path][method] = std::move(operation);
  }
  Json document = Json::object();
  document["openapi"] = "3.1.0";
  document["info"] = Json{{"title", "doorman auth API"},
                          {"description", "The fastapi-users HTTP API as served by doorman."},
                          {"version", "1"}};
  document["paths"] = std::move(paths);
  document["components"] = components(config);
  return document;
}

}  // namespace doorman::routes
