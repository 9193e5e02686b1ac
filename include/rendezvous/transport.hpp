#pragma once

#include <rendezvous/http.hpp>
#include <rendezvous/types.hpp>

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace rendezvous {

/// What the Broker needs from the host's network layer. Implemented by the host (the example
/// server's websocketpp adapter, a media server, or a test's recording fake).
///
/// Thread context: every callback runs synchronously inside the Broker entry point that caused
/// it, on the thread that called that entry point. A callback must not call back into the same
/// Broker (asserted in debug builds). If a callback throws, the Broker catches the exception at
/// its boundary and detaches only the connection concerned.
///
/// Lifetime: views passed to a callback are valid for that call only; copy what you queue.
/// After Broker::disconnect(id) (or after the Broker closed/dropped id itself) the Broker never
/// names id again.
class Transport {
 public:
  virtual ~Transport() = default;

  /// Write one text data message on WebSocket `id`, after everything sent to it before.
  virtual void send(ConnectionId id, std::string_view text, SendKind kind) = 0;

  /// Send a Close frame with `code` and `reason` on WebSocket `id` after its queued data, then
  /// end the connection (RFC 6455: wait at most 5 s for the peer's Close). The Broker has
  /// already forgotten `id`; the host's later disconnect(id) is a harmless no-op.
  virtual void close(ConnectionId id, std::uint16_t code, std::string_view reason) = 0;

  /// Write the HTTP response to the request pending on connection `id`. May come during
  /// Broker::handle_http (immediate answer) or later (deferred: long polls).
  virtual void respond(ConnectionId id, const HttpResponse& response) = 0;

  /// Send a WebSocket Ping on `id` (keepalive, §1.6). Default: no keepalive pings.
  virtual void ping(ConnectionId id) { (void)id; }

  /// Drop the TCP connection `id` without a response (handshake timeout, end of shutdown
  /// grace). Default: nothing.
  virtual void drop(ConnectionId id) { (void)id; }

  /// Bytes queued on `id` but not yet written to the network, for back-pressure (§1.10).
  /// Default 0: the host has no queue of its own or does its own back-pressure.
  virtual std::size_t buffered_bytes(ConnectionId id) const {
    (void)id;
    return 0;
  }
};

}  // namespace rendezvous
