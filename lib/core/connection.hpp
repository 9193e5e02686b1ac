#pragma once

#include "core/token_bucket.hpp"

#include <rendezvous/types.hpp>

#include <cstddef>
#include <memory>
#include <string>

namespace rendezvous::detail {

/// A dialect's per-connection state, owned by the Connection.
struct Session {
  virtual ~Session() = default;
};

enum class ConnState : std::uint8_t {
  fresh,      ///< TCP accepted, no request yet
  http,       ///< a plain HTTP request is pending or was answered
  websocket,  ///< upgraded; belongs to `dialect`
  closed,     ///< the Broker closed or dropped it; waits for the host's disconnect
};

struct Connection {
  ConnectionId id{};
  ConnState state = ConnState::fresh;
  Dialect dialect = Dialect::fingersmith;  ///< meaningful in http (dialect path) and websocket
  bool has_dialect = false;
  bool over_cap = false;         ///< answer its first request with 503
  bool cap_per_address = false;  ///< ... because of max_connections_per_address
  bool http_pending = false;   ///< a request waits for Transport::respond
  std::string remote;          ///< remote address (cap and rate-limit key)
  TokenBucket bucket;
  TimePoint opened{};
  TimePoint last_inbound{};
  TimePoint next_ping{};
  std::size_t max_message_bytes = 0;
  std::unique_ptr<Session> session;

  template <typename T>
  T& session_as() noexcept {
    return static_cast<T&>(*session);
  }
};

}  // namespace rendezvous::detail
