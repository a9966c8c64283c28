// A transport-neutral HTTP answer (status, headers, body) built by authcore and
// routes and written to the socket by proxy.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace doorman::authcore {

struct HttpAnswer {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;  // in order; may repeat
  std::string body;      // written with Content-Type application/json unless headers say otherwise
  bool has_body = true;  // false: 204-style, no Content-Type, no Content-Length
};

}  // namespace doorman::authcore
