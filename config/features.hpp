// Which config features the current build accepts. Each switch guards one
// "X is not supported yet" error in the loader; the key is parsed and checked
// either way, so enabling a feature is flipping its line here to true.
#pragma once

namespace doorman::config::supported {

inline constexpr bool oauth = false;           // top-level `oauth`
inline constexpr bool hooks = true;            // top-level `hooks` (events, DESIGN §8)
inline constexpr bool server_tls = false;      // `server.tls`
inline constexpr bool redis_strategy = true;   // strategy `type: redis`
inline constexpr bool postgresql = true;       // database.url postgresql://
inline constexpr bool https_upstream = false;  // upstream.url https://

}  // namespace doorman::config::supported
