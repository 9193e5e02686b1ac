#pragma once

// websocketpp enforces the message size limit (while reassembling fragments) and UTF-8 itself,
// before the Broker sees the message, and closes with its own reason texts ("A message was
// too large", "Invalid UTF8 encoding"). PROTOCOLS.md §1.9 makes "message too big" normative,
// so the server configurations get an explicit specialization of connection::close that
// writes the spec's texts for those codes. The body is websocketpp 0.8.2's own; system
// headers stay untouched.

#include "ws_config.hpp"

#include <algorithm>
#include <string>

namespace rendezvous::server {

/// The §1.9 reason for a close code websocketpp may send on its own, else `reason`.
inline const std::string& spec_close_reason(websocketpp::close::status::value code,
                                            const std::string& reason) {
  static const std::string too_big = "message too big";
  static const std::string bad_utf8 = "invalid utf-8";
  if (code == websocketpp::close::status::message_too_big) return too_big;
  if (code == websocketpp::close::status::invalid_payload) return bad_utf8;
  return reason;
}

}  // namespace rendezvous::server

// One specialization per server config; a macro because member specializations cannot be
// partial.
#define RENDEZVOUS_SPEC_CLOSE(CONFIG)                                                        \
  template <>                                                                                \
  inline void websocketpp::connection<CONFIG>::close(close::status::value const code,        \
                                                     std::string const& reason,             \
                                                     lib::error_code& ec) {                 \
    const std::string& text = rendezvous::server::spec_close_reason(code, reason);          \
    std::string tr(text, 0, std::min<size_t>(text.size(), frame::limits::close_reason_size)); \
    scoped_lock_type lock(m_connection_state_lock);                                          \
    if (m_state != session::state::open) {                                                   \
      ec = error::make_error_code(error::invalid_state);                                    \
      return;                                                                                \
    }                                                                                        \
    ec = this->send_close_frame(code, tr, false, close::status::terminal(code));            \
  }

RENDEZVOUS_SPEC_CLOSE(rendezvous::server::PlainConfig)
RENDEZVOUS_SPEC_CLOSE(rendezvous::server::TlsConfig)

#undef RENDEZVOUS_SPEC_CLOSE
