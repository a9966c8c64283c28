// GET {auth}/openapi.json (DESIGN.md §2): the OpenAPI 3.1 document of the auth
// API, generated from the RouteTable the server matches with, so a route is
// documented exactly when it is served (prefixes, backend names and router
// switches included). What each RouteId takes and answers is described here
// and nowhere else.
#pragma once

#include "config/config.hpp"
#include "routes/answers.hpp"
#include "routes/route_table.hpp"

namespace doorman::routes {

Json openapi_document(const RouteTable& table, const config::Config& config);

}  // namespace doorman::routes
