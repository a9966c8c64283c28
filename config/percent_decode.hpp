// Percent-decoding of URL parts (user, password, database name, query pairs) as
// the database and Redis URL parsers need it: every %XX becomes its byte.
#pragma once

#include <string>
#include <string_view>

namespace doorman::config {

// Decodes `in` into `out`. False on a '%' not followed by two hex digits.
bool percent_decode(std::string_view in, std::string& out);

}  // namespace doorman::config
