#pragma once

#include <rendezvous/export.hpp>
#include <rendezvous/types.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace rendezvous {

/// How a dialect treats a second connection claiming an id already held (§2.7, §4.4).
enum class DuplicatePolicy : std::uint8_t { reject, replace, allow };

/// One entry of the cuttlefish `ice_servers` array (§3.4).
struct IceServer {
  std::vector<std::string> urls;          ///< at least one, or the Broker constructor throws
  std::optional<std::string> username;
  std::optional<std::string> credential;
};

/// Something the host may want to log or count. Never carries message bodies, passwords or
/// secret ids; `id` and `remote_address` are for the host's own logs only.
struct Event {
  enum class Kind : std::uint8_t {
    connected,     ///< WebSocket handshake accepted (status 101)
    refused,       ///< handshake or HTTP request refused before any dialect work (status)
    disconnected,  ///< a WebSocket connection ended (code: the close code the Broker sent, or 0)
  };
  Kind kind;
  ConnectionId id;
  std::optional<Dialect> dialect;
  int code = 0;                   ///< HTTP status (refused) or close code (disconnected)
  std::string_view reason;        ///< short machine reason ("origin", "duplicate_id", ...)
  std::string_view remote_address;
};

/// Every setting of ../shared/PROTOCOLS.md Appendix A, with its default. Names follow the
/// spec (`rate_limit.burst` is `rate_limit.burst`). A value of 0 disables a limit only where
/// the spec says so. Invalid combinations make the Broker constructor throw
/// std::invalid_argument (the only exception the library throws).
struct Options {
  std::size_t max_message_bytes = 65536;
  struct RateLimit {
    double messages_per_second = 100;  ///< 0 disables rate limiting
    double burst = 200;
  } rate_limit;
  std::size_t max_connections = 100000;
  std::size_t max_connections_per_address = 1000;
  std::size_t max_json_depth = 64;
  std::size_t max_outbound_bytes = 4u << 20;
  std::size_t max_request_head_bytes = 16384;
  Duration handshake_timeout = std::chrono::seconds(10);
  Duration ping_interval = std::chrono::seconds(30);
  Duration idle_timeout = std::chrono::seconds(60);
  /// Exact, ASCII case-insensitive Origin values; empty allows every origin (§1.7).
  std::vector<std::string> allowed_origins;
  Duration shutdown_grace = std::chrono::seconds(5);

  struct Fingersmith {
    bool enabled = true;
    bool verify_from = true;
    DuplicatePolicy duplicate_ids = DuplicatePolicy::reject;
    std::size_t max_message_bytes = 0;  ///< 0: use Options::max_message_bytes
  } fingersmith;

  struct Cuttlefish {
    bool enabled = true;
    std::vector<IceServer> ice_servers;
    bool client_first = false;
    Duration client_first_wait = std::chrono::seconds(30);
    Duration poll_expiry = std::chrono::seconds(60);
    std::size_t poll_queue_max = 1000;
    std::size_t max_polled_connections = 100000;
    std::size_t max_message_bytes = 0;
  } cuttlefish;

  struct Rooms {
    bool enabled = true;
    DuplicatePolicy duplicate_ids = DuplicatePolicy::reject;  ///< reject or replace
    std::size_t max_peers = 64;
    std::size_t max_public_key_bytes = 4096;
    std::size_t max_message_bytes = 0;
  } rooms;

  struct Mailbox {
    bool enabled = true;
    bool long_polling = true;
    Duration long_poll_timeout = std::chrono::seconds(25);
    int empty_status = 200;  ///< 200 or 204
    std::size_t inbox_capacity = 100;
    Duration inbox_timeout = std::chrono::seconds(60);
    std::size_t max_inboxes = 100000;
    bool cors = false;
    std::size_t max_message_bytes = 0;
  } mailbox;

  /// Body of `GET /`. Empty: a minimal built-in page.
  std::string index_html;

  /// Source of "now" for every entry point (rate limits, keepalive, expiry). Default
  /// std::chrono::steady_clock::now. Tests inject a fake clock here and never sleep.
  std::function<TimePoint()> clock;

  /// Optional veto on WebSocket handshakes after the spec's checks passed (authentication).
  /// Return false to refuse with 403. Called with the request being upgraded.
  std::function<bool(Dialect, std::string_view path, std::string_view remote_address)> on_connect;

  /// Optional observer for logging and metrics. Called synchronously; must not call back into
  /// the Broker.
  std::function<void(const Event&)> on_event;

  /// The per-dialect message limit: the dialect's override, or max_message_bytes.
  RENDEZVOUS_EXPORT std::size_t message_limit(Dialect d) const noexcept;
};

}  // namespace rendezvous
