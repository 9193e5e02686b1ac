#pragma once

#include <rendezvous/error.hpp>
#include <rendezvous/export.hpp>
#include <rendezvous/http.hpp>
#include <rendezvous/options.hpp>
#include <rendezvous/transport.hpp>
#include <rendezvous/types.hpp>

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

namespace rendezvous {

/// Answer to a WebSocket upgrade request (Broker::connect).
struct Handshake {
  std::error_code error;       ///< empty on success
  HttpResponse response;       ///< status 101 on success; otherwise the refusal to write
  std::string subprotocol;     ///< subprotocol to select, empty for none
  std::size_t max_message_bytes = 0;  ///< the limit the host's frame reassembly should enforce
  bool accepted() const noexcept { return response.status == 101; }
};

/// The signaling core: all four dialects of ../shared/PROTOCOLS.md behind one transport-free
/// interface. The host owns sockets, threads and timers, reports what happened through the
/// entry points below, and the Broker answers through the Transport it borrows.
///
/// Lifecycle of a connection as the host reports it:
///   open(remote) -> id          a TCP connection was accepted
///   connect(id, request)        its request is a WebSocket upgrade (101 or a refusal)
///   handle_http(id, request)    ... or a plain HTTP request (answered via Transport::respond)
///   route(id, data, type)       a complete WebSocket data message
///   traffic(id)                 a ping or pong frame arrived (keepalive)
///   disconnect(id)              the TCP connection is gone (idempotent)
///
/// Thread safety: a Broker is used from one thread at a time (one thread, or one Asio strand).
/// It has no internal mutex and no global state: two Brokers never see each other.
/// Transport callbacks run synchronously inside the entry point that caused them and must not
/// re-enter the same Broker (asserted in debug builds).
///
/// Ownership: the Broker borrows `transport` for its whole life. Views passed to entry points
/// are copied if kept. Connection ids are never reused.
///
/// Errors: no entry point throws because of peer input. Returned error codes (category
/// rendezvous::category()) are for the host's logs; the wire answer has already been given.
class RENDEZVOUS_EXPORT Broker {
 public:
  /// Throws std::invalid_argument for invalid options (an ICE server without URL, ...).
  explicit Broker(Transport& transport, Options options = {});
  ~Broker();
  Broker(Broker&&) noexcept;
  Broker& operator=(Broker&&) noexcept;
  Broker(const Broker&) = delete;
  Broker& operator=(const Broker&) = delete;

  /// A TCP connection from `remote_address` (an IP address, no port) was accepted. Counts it
  /// against max_connections and max_connections_per_address; a connection over a cap gets
  /// 503 on its first request. The id lives until disconnect(id), or until the Broker closes
  /// or drops it. Handshake timeout (§1.4) runs from here.
  ConnectionId open(std::string_view remote_address);

  /// The request on `id` is a WebSocket upgrade. On success the connection is a WebSocket of
  /// the dialect owning the path from now on (its id is claimed atomically, §2.2), and the
  /// Broker may send to it at once: the host queues sends until its handshake completes.
  Handshake connect(ConnectionId id, const HttpRequest& request);

  /// The request on `id` is plain HTTP. The Broker answers with Transport::respond(id, ...),
  /// during this call or later (mailbox long polls). The host keeps the connection until then
  /// or until it reports disconnect(id), which cancels the pending request.
  std::error_code handle_http(ConnectionId id, const HttpRequest& request);

  /// One complete inbound data message on WebSocket `id` (fragments already reassembled).
  std::error_code route(ConnectionId id, std::string_view data,
                        MessageType type = MessageType::text);

  /// A control frame (ping or pong) arrived on `id`; it counts as traffic for §1.6.
  void traffic(ConnectionId id);

  /// The TCP connection `id` is gone, for any reason. Idempotent; unknown ids are ignored.
  void disconnect(ConnectionId id);

  /// The host ended WebSocket `id` itself after sending Close `sent_code` (its frame layer
  /// refused an oversize message, 1009, or invalid UTF-8, 1007, before the Broker saw it).
  /// Counted in rendezvous_closes_total like a close the Broker decided; otherwise the same as
  /// disconnect(id).
  void disconnect(ConnectionId id, std::uint16_t sent_code);

  /// Runs every expiry that is due: keepalive pings and idle closes, handshake timeouts, long
  /// poll timeouts, inbox and polled-connection expiry, client-first waits, shutdown grace.
  void on_timer();

  /// The earliest time on_timer() has work, or nullopt when nothing is scheduled. The host
  /// arms one timer for it and re-reads it after every entry point.
  std::optional<TimePoint> next_deadline() const;

  /// Starts graceful shutdown (§1.11): close 1001 "going away" on every WebSocket, empty
  /// answers to waiting long polls, no further dialect messages, new requests refused 503.
  /// Connections still open `shutdown_grace` later are dropped by on_timer().
  void shutdown();

  /// True once shutdown() ran and no connection is left: the host may stop.
  bool finished() const noexcept;

  /// Open connections (TCP connections reported by open and not yet ended).
  std::size_t connection_count() const noexcept;

  /// The metrics of §6 in Prometheus text format 0.0.4 (also served at GET /metrics).
  std::string metrics_text() const;

  const Options& options() const noexcept;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace rendezvous
