#pragma once

// The connection layer behind rendezvous::Broker: connection table, the common checks of
// §1.1, caps, rate limits, size and UTF-8 rules, keepalive, back-pressure, shutdown and
// metrics. Dialects (lib/dialects) see it through the members marked "for dialects".

#include "core/connection.hpp"
#include "core/metrics.hpp"
#include "dialects/dialect.hpp"
#include "json/scan.hpp"

#include <rendezvous/broker.hpp>

#include <array>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace rendezvous::detail {

class Core {
 public:
  Core(Transport& transport, Options options);
  ~Core();

  // ---- Broker entry points -------------------------------------------------------------
  ConnectionId open(std::string_view remote_address);
  Handshake connect(ConnectionId id, const HttpRequest& request);
  std::error_code handle_http(ConnectionId id, const HttpRequest& request);
  std::error_code route(ConnectionId id, std::string_view data, MessageType type);
  void traffic(ConnectionId id);
  void disconnect(ConnectionId id, std::uint16_t sent_code = 0);
  void on_timer();
  std::optional<TimePoint> next_deadline() const;
  void shutdown();
  bool finished() const noexcept;
  std::size_t connection_count() const noexcept { return connections_.size(); }
  std::string metrics_text() const;

  // ---- for dialects --------------------------------------------------------------------
  const Options& options() const noexcept { return options_; }
  TimePoint now() const { return options_.clock(); }
  Metrics& metrics() noexcept { return metrics_; }
  json::Scanner& scanner() noexcept { return scanner_; }
  bool shutting_down() const noexcept { return shutting_down_; }
  Connection* find(ConnectionId id) noexcept;

  /// Writes `text` to WebSocket `to`. Suppressed during shutdown (§1.11 step 2) and on a
  /// connection already closed. Applies back-pressure (§1.10): over max_outbound_bytes the
  /// message is dropped and `to` is closed 1008. `relay` counts it as relayed (§6). Returns
  /// whether the message was handed to the transport.
  bool send(Connection& to, std::string_view text, SendKind kind = SendKind::own,
            bool relay = false);

  /// Sends Close and detaches `conn`: its dialect's closed() runs at the end of the current
  /// entry point, so dialects may close peers while iterating their own registries.
  void close(Connection& conn, std::uint16_t code, std::string_view reason);

  /// Answers the HTTP request pending on `conn` (ignored when none is pending).
  void respond(Connection& conn, const HttpResponse& response);

  /// Cryptographically secure random bytes (OpenSSL RAND_bytes, §1.12).
  void random_bytes(unsigned char* out, std::size_t n);

 private:
  class Entry;  // marks an entry point: re-entrance check, teardown at exit
  friend class Entry;

  struct Route {
    DialectHandler* dialect = nullptr;  // nullptr: a server path
    RouteKind kind = RouteKind::http;
  };

  std::optional<Route> resolve(std::string_view path) const noexcept;
  /// Steps 1 to 6 of §1.1. Returns false with `refusal` filled when a check failed.
  bool precheck(Connection& conn, const HttpRequest& request, bool upgrade, Route& route,
                HttpResponse& refusal, RefuseReason& reason, bool& counted);
  void serve_server_path(Connection& conn, const HttpRequest& request);
  void emit(Event::Kind kind, const Connection& conn, int code, std::string_view reason);
  void flush_teardown();
  void detach_after_failure(ConnectionId id);
  void sweep(TimePoint now);
  Duration sweep_interval() const noexcept;

  Transport& transport_;
  Options options_;
  Metrics metrics_;
  json::Scanner scanner_;
  std::array<std::unique_ptr<DialectHandler>, dialect_count> dialects_{};
  std::unordered_map<std::uint64_t, Connection> connections_;
  std::unordered_map<std::string, std::size_t> per_address_;
  std::unordered_map<std::string, TokenBucket> http_buckets_;
  std::vector<ConnectionId> teardown_;
  std::uint64_t next_id_ = 1;
  std::size_t served_ = 0;  // connections counted against max_connections
  TimePoint next_sweep_{};
  bool shutting_down_ = false;
  TimePoint shutdown_deadline_{};
  bool grace_over_ = false;  // the end-of-grace drop has run
  bool in_entry_ = false;
};

}  // namespace rendezvous::detail
