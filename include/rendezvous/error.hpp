#pragma once

#include <rendezvous/export.hpp>

#include <system_error>

namespace rendezvous {

/// Outcomes reported by Broker entry points. Peer input never throws; it yields one of these
/// (for the host's logs) plus the wire answer the spec names.
enum class errc {
  ok = 0,
  not_found = 1,           ///< no dialect owns the path (404)
  bad_request,             ///< malformed request or identifier (400)
  origin_not_allowed,      ///< Origin not in allowed_origins (403)
  rate_limited,            ///< token bucket empty (429 / close 1008)
  upgrade_required,        ///< plain HTTP on a WebSocket-only path (426)
  method_not_allowed,      ///< (405)
  duplicate_id,            ///< id held by another connection (409)
  over_capacity,           ///< connection caps or dialect caps (503)
  head_too_large,          ///< request head over max_request_head_bytes (431)
  message_too_big,         ///< message over max_message_bytes (close 1009 / 413)
  invalid_utf8,            ///< text message that is not UTF-8 (close 1007)
  unknown_connection,      ///< the id is not (or no longer) known to the Broker
  wrong_state,             ///< the call does not fit the connection's state
  shutting_down,           ///< the Broker is shutting down
  host_callback_failed,    ///< a Transport callback threw; the connection was detached
};

/// The category of rendezvous::errc, named "rendezvous".
RENDEZVOUS_EXPORT const std::error_category& category() noexcept;

inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), category()};
}

}  // namespace rendezvous

template <>
struct std::is_error_code_enum<rendezvous::errc> : std::true_type {};
