// RouteContext's event firing; see route_context.hpp.
#include "routes/route_context.hpp"

#include <exception>
#include <utility>

namespace doorman::routes {

void RouteContext::fire(std::string name, const authcore::User& user,
                        std::optional<std::vector<std::string>> fields) const {
  deliver(Event{std::move(name), user, std::nullopt, std::move(fields)});
}

void RouteContext::fire_with_token(std::string name, const authcore::User& user, std::string token) const {
  deliver(Event{std::move(name), user, std::move(token), std::nullopt});
}

void RouteContext::deliver(Event event) const {
  if (!events) return;
  try {
    events(std::move(event));
  } catch (const std::exception&) {
    // Delivery problems are the sink's to report; the request has succeeded.
  }
}

}  // namespace doorman::routes
