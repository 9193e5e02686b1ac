#pragma once

// The interface between the connection layer (lib/core) and one wire protocol. The core does
// routing, the common checks of §1.1, limits, rate limits, keepalive, back-pressure, metrics
// and shutdown; a dialect only translates its wire text to registry operations and back.

#include "core/connection.hpp"

#include <rendezvous/broker.hpp>
#include <rendezvous/http.hpp>

#include <optional>
#include <string_view>
#include <utility>
#include <vector>

namespace rendezvous::detail {

class Core;

/// A refusal with a short `text/plain; charset=utf-8` body: §1.1's answer for steps 1 and 2
/// and for WebSocket-only paths.
HttpResponse plain_refusal(int status, std::string_view text);

/// How a path is served by its dialect.
enum class RouteKind : std::uint8_t { websocket, http };

class DialectHandler {
 public:
  explicit DialectHandler(Core& core) : core_(core) {}
  virtual ~DialectHandler() = default;
  DialectHandler(const DialectHandler&) = delete;
  DialectHandler& operator=(const DialectHandler&) = delete;

  virtual Dialect kind() const noexcept = 0;

  /// Whether this dialect owns `path` (exact path, no query), and how.
  virtual std::optional<RouteKind> match(std::string_view path) const noexcept = 0;

  /// A WebSocket upgrade to one of this dialect's paths passed the common checks. Either set
  /// `conn.session` and leave `hs.response.status` at 101 (the core then marks the connection
  /// a WebSocket), or fill a refusal into `hs`.
  virtual void upgrade(Connection& conn, const HttpRequest& request, Handshake& hs) {
    (void)conn;
    (void)request;
    hs.response.status = 404;
  }

  /// One data message on an open WebSocket of this dialect that passed the size, rate and
  /// UTF-8 checks.
  virtual void message(Connection& conn, std::string_view data, MessageType type) {
    (void)conn;
    (void)data;
    (void)type;
  }

  /// A WebSocket or HTTP connection of this dialect is leaving, for any reason (the host's
  /// disconnect, or a close the Broker decided). Called once; the session is still there.
  virtual void closed(Connection& conn) { (void)conn; }

  /// A plain HTTP request to one of this dialect's paths passed the common checks. Answer with
  /// Core::respond now or later.
  virtual void http(Connection& conn, const HttpRequest& request) {
    (void)conn;
    (void)request;
  }

  /// The refusal for a common check that failed after routing (403, 413, 429, 503): the body
  /// and headers this dialect's paths use (§1.1: text/plain by default).
  virtual HttpResponse refusal(int status, std::string_view text) const;

  virtual void on_timer(TimePoint now) { (void)now; }
  virtual std::optional<TimePoint> next_deadline() const { return std::nullopt; }

  /// Graceful shutdown (§1.11): answer waiting long polls. WebSockets are closed by the core.
  virtual void shutdown() {}

  /// The registry gauges of §6 this dialect owns (name, value).
  virtual void gauges(std::vector<std::pair<std::string_view, double>>& out) const {
    (void)out;
  }

 protected:
  Core& core_;
};

}  // namespace rendezvous::detail
