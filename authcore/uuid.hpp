// UUIDs as fastapi-users uses them: random v4 ids and Python uuid.UUID parsing.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace doorman::authcore {

// A random UUIDv4, lowercase hyphenated (libsodium CSPRNG).
std::string new_uuid4();
// Parses as Python's uuid.UUID(str) does: 32 hex digits in any case, hyphens
// anywhere (removed before counting), optional {} braces and urn:uuid: prefix.
// Returns the canonical lowercase hyphenated form, or nullopt.
std::optional<std::string> parse_uuid(std::string_view text);

}  // namespace doorman::authcore
