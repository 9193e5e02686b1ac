#include "core/core.hpp"

#include "core/text.hpp"
#include "dialects/factory.hpp"

#include <openssl/rand.h>

#include <algorithm>
#include <cassert>
#include <stdexcept>

namespace rendezvous::detail {

// Every entry point runs inside one Entry. It enforces the "callbacks must not re-enter"
// rule in debug builds and runs deferred teardowns when the entry point finishes, so a
// dialect never sees a registry change under its feet while it iterates one.
class Core::Entry {
 public:
  explicit Entry(Core& core) : core_(core) {
    assert(!core_.in_entry_ && "a Transport callback re-entered the Broker");
    core_.in_entry_ = true;
  }
  ~Entry() {
    core_.flush_teardown();
    core_.in_entry_ = false;
  }
  Entry(const Entry&) = delete;
  Entry& operator=(const Entry&) = delete;

 private:
  Core& core_;
};

HttpResponse plain_refusal(int status, std::string_view text) {
  HttpResponse r;
  r.status = status;
  r.header("Content-Type", "text/plain; charset=utf-8");
  r.body.assign(text);
  return r;
}

HttpResponse DialectHandler::refusal(int status, std::string_view text) const {
  return plain_refusal(status, text);
}

namespace {

/// The error code an entry point reports for a refusal with HTTP `status`.
errc error_for_status(int status) noexcept {
  switch (status) {
    case 403: return errc::origin_not_allowed;
    case 404: return errc::not_found;
    case 405: return errc::method_not_allowed;
    case 409: return errc::duplicate_id;
    case 426: return errc::upgrade_required;
    case 429: return errc::rate_limited;
    case 431: return errc::head_too_large;
    case 503: return errc::over_capacity;
    default: return errc::bad_request;
  }
}

}  // namespace

Core::Core(Transport& transport, Options options)
    : transport_(transport), options_(std::move(options)), scanner_(options_.max_json_depth) {
  if (!options_.clock) options_.clock = [] { return Clock::now(); };
  if (options_.max_message_bytes == 0)
    throw std::invalid_argument("max_message_bytes must be positive");
  if (options_.max_json_depth == 0)
    throw std::invalid_argument("max_json_depth must be positive");
  if (options_.rate_limit.messages_per_second < 0 ||
      (options_.rate_limit.messages_per_second > 0 && options_.rate_limit.burst < 1))
    throw std::invalid_argument("rate_limit.burst must be at least 1");
  for (Dialect d : {Dialect::fingersmith, Dialect::cuttlefish, Dialect::rooms, Dialect::mailbox})
    dialects_[static_cast<std::size_t>(d)] = make_dialect(d, *this);
  next_sweep_ = now();
}

Core::~Core() = default;

Connection* Core::find(ConnectionId id) noexcept {
  auto it = connections_.find(static_cast<std::uint64_t>(id));
  return it == connections_.end() ? nullptr : &it->second;
}

void Core::emit(Event::Kind kind, const Connection& conn, int code, std::string_view reason) {
  if (!options_.on_event) return;
  Event e{kind, conn.id, std::nullopt, code, reason, conn.remote};
  if (conn.has_dialect) e.dialect = conn.dialect;
  try {
    options_.on_event(e);
  } catch (...) {
    // An observer that throws must not break the connection it observes.
  }
}

ConnectionId Core::open(std::string_view remote_address) {
  Entry entry(*this);
  ConnectionId id{next_id_++};
  Connection& conn = connections_[static_cast<std::uint64_t>(id)];
  conn.id = id;
  conn.remote.assign(remote_address);
  conn.opened = now();
  if (served_ >= options_.max_connections) {
    conn.over_cap = true;
  } else {
    std::size_t& n = per_address_[conn.remote];
    if (n >= options_.max_connections_per_address) {
      conn.over_cap = true;
      conn.cap_per_address = true;
      if (n == 0) per_address_.erase(conn.remote);
    } else {
      ++n;
      ++served_;
    }
  }
  return id;
}

std::optional<Core::Route> Core::resolve(std::string_view path) const noexcept {
  if (path == "/healthz" || path == "/metrics" || path == "/") return Route{};
  for (const auto& d : dialects_) {
    if (!d) continue;
    if (auto kind = d->match(path)) return Route{d.get(), *kind};
  }
  return std::nullopt;
}

bool Core::precheck(Connection& conn, const HttpRequest& request, bool upgrade, Route& route,
                    HttpResponse& refusal, RefuseReason& reason, bool& counted) {
  auto plain = [&](int status, std::string_view text) { refusal = plain_refusal(status, text); };
  counted = true;
  // Step 1: connection caps.
  if (conn.over_cap || shutting_down_) {
    plain(503, shutting_down_ ? "shutting down\n" : "too many connections\n");
    refusal.close_connection = true;
    reason = conn.cap_per_address ? RefuseReason::max_per_address
                                         : RefuseReason::max_connections;
    counted = !shutting_down_;
    return false;
  }
  // Step 2: request head size.
  if (request.head_bytes > options_.max_request_head_bytes) {
    plain(431, "request header fields too large\n");
    refusal.close_connection = true;
    reason = RefuseReason::head_too_large;
    return false;
  }
  // Step 3: routing.
  auto found = resolve(request.path());
  if (!found) {
    plain(404, "not found\n");
    reason = RefuseReason::not_found;
    return false;
  }
  route = *found;
  if (!route.dialect) return true;  // server paths skip the origin and rate checks
  // Step 4: Origin allowlist.
  if (!options_.allowed_origins.empty()) {
    if (const HeaderView* origin = request.find("Origin")) {
      bool ok = std::any_of(options_.allowed_origins.begin(), options_.allowed_origins.end(),
                            [&](const std::string& a) { return iequals(a, origin->value); });
      if (!ok) {
        // §1.1: WebSocket-only paths refuse in text/plain whatever their dialect's HTTP style.
        refusal = route.kind == RouteKind::websocket
                      ? plain_refusal(403, "Origin not allowed")
                      : route.dialect->refusal(403, "Origin not allowed");
        reason = RefuseReason::origin;
        return false;
      }
    }
  }
  // Step 5: per-address rate limit for plain HTTP requests.
  if (!upgrade) {
    auto now_ = now();
    auto [it, inserted] = http_buckets_.try_emplace(conn.remote);
    if (inserted) it->second = TokenBucket(options_.rate_limit.burst, now_);
    if (!it->second.take(options_.rate_limit.messages_per_second, options_.rate_limit.burst,
                         now_)) {
      refusal = route.dialect->refusal(429, "Rate limit exceeded");
      counted = false;  // not a §1.1 step 1-4 refusal
      return false;
    }
  }
  // Step 6: does the request fit the path?
  if (!upgrade && route.kind == RouteKind::websocket) {
    plain(426, "WebSocket upgrade required\n");
    refusal.header("Upgrade", "websocket");
    reason = RefuseReason::upgrade_required;
    return false;
  }
  if (upgrade && route.kind == RouteKind::http) {
    refusal = route.dialect->refusal(400, "not a WebSocket endpoint");
    reason = RefuseReason::bad_request;
    return false;
  }
  return true;
}

Handshake Core::connect(ConnectionId id, const HttpRequest& request) {
  Entry entry(*this);
  Handshake hs;
  Connection* conn = find(id);
  if (!conn || conn->state != ConnState::fresh) {
    hs.error = make_error_code(conn ? errc::wrong_state : errc::unknown_connection);
    hs.response.status = 400;
    return hs;
  }
  conn->state = ConnState::http;  // until the upgrade succeeds
  Route route;
  RefuseReason reason{};
  bool counted = true;
  if (!precheck(*conn, request, true, route, hs.response, reason, counted)) {
    if (counted) metrics_.refused(reason);
    hs.error = make_error_code(error_for_status(hs.response.status));
    emit(Event::Kind::refused, *conn, hs.response.status, to_string(reason));
    return hs;
  }
  if (!route.dialect) {  // server paths are plain HTTP
    hs.response.status = 400;
    metrics_.refused(RefuseReason::bad_request);
    hs.error = make_error_code(errc::bad_request);
    emit(Event::Kind::refused, *conn, 400, "bad_request");
    return hs;
  }
  DialectHandler& dialect = *route.dialect;
  conn->dialect = dialect.kind();
  conn->has_dialect = true;
  conn->max_message_bytes = options_.message_limit(conn->dialect);
  hs.max_message_bytes = conn->max_message_bytes;
  hs.response.status = 101;
  if (options_.on_connect && !options_.on_connect(conn->dialect, request.path(), conn->remote)) {
    hs.response = plain_refusal(403, "Forbidden");  // a WebSocket path
  } else {
    dialect.upgrade(*conn, request, hs);
  }
  if (!hs.accepted()) {
    RefuseReason r = hs.response.status == 409   ? RefuseReason::duplicate_id
                     : hs.response.status == 404 ? RefuseReason::not_found
                     : hs.response.status == 403 ? RefuseReason::origin
                                                 : RefuseReason::bad_request;
    metrics_.refused(r);
    hs.error = make_error_code(error_for_status(hs.response.status));
    conn->session.reset();
    emit(Event::Kind::refused, *conn, hs.response.status, to_string(r));
    return hs;
  }
  TimePoint t = now();
  conn->state = ConnState::websocket;
  conn->last_inbound = t;
  conn->next_ping = t + options_.ping_interval;
  conn->bucket = TokenBucket(options_.rate_limit.burst, t);
  metrics_.connection_opened(conn->dialect);
  emit(Event::Kind::connected, *conn, 101, "");
  return hs;
}

void Core::serve_server_path(Connection& conn, const HttpRequest& request) {
  HttpResponse r;
  std::string_view path = request.path();
  if (request.method != "GET" && request.method != "HEAD") {
    r.status = 405;
    r.header("Allow", "GET, HEAD");
  } else if (path == "/healthz") {
    r.header("Content-Type", "text/plain; charset=utf-8");
    r.body = "ok";
  } else if (path == "/metrics") {
    r.header("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
    r.body = metrics_text();
  } else {
    r.header("Content-Type", "text/html; charset=utf-8");
    r.body = options_.index_html.empty()
                 ? "<!doctype html><meta charset=utf-8><title>rendezvous</title>"
                   "<p>rendezvous signaling server</p>"
                 : options_.index_html;
  }
  r.header("Cache-Control", "no-store");
  if (request.method == "HEAD") {
    r.header("Content-Length", std::to_string(r.body.size()));
    r.body.clear();
  }
  respond(conn, r);
}

std::error_code Core::handle_http(ConnectionId id, const HttpRequest& request) {
  Entry entry(*this);
  Connection* conn = find(id);
  if (!conn) return make_error_code(errc::unknown_connection);
  if (conn->state == ConnState::websocket || conn->state == ConnState::closed || conn->http_pending)
    return make_error_code(errc::wrong_state);
  conn->state = ConnState::http;
  conn->http_pending = true;
  Route route;
  HttpResponse refusal;
  RefuseReason reason{};
  bool counted = true;
  if (!precheck(*conn, request, false, route, refusal, reason, counted)) {
    if (counted) metrics_.refused(reason);
    if (route.dialect) {
      conn->dialect = route.dialect->kind();
      conn->has_dialect = true;
    }
    emit(Event::Kind::refused, *conn, refusal.status, counted ? to_string(reason) : "rate_limit");
    respond(*conn, refusal);
    return make_error_code(error_for_status(refusal.status));
  }
  if (!route.dialect) {
    serve_server_path(*conn, request);
    return {};
  }
  conn->dialect = route.dialect->kind();
  conn->has_dialect = true;
  conn->max_message_bytes = options_.message_limit(conn->dialect);
  metrics_.received(conn->dialect);
  route.dialect->http(*conn, request);
  return {};
}

std::error_code Core::route(ConnectionId id, std::string_view data, MessageType type) {
  Entry entry(*this);
  Connection* conn = find(id);
  if (!conn) return make_error_code(errc::unknown_connection);
  if (conn->state != ConnState::websocket) return make_error_code(errc::wrong_state);
  TimePoint t = now();
  conn->last_inbound = t;
  metrics_.received(conn->dialect);
  // §1.5: the token is taken before any other processing.
  if (!conn->bucket.take(options_.rate_limit.messages_per_second, options_.rate_limit.burst, t)) {
    close(*conn, 1008, "rate limit");
    return make_error_code(errc::rate_limited);
  }
  if (data.size() > conn->max_message_bytes) {
    close(*conn, 1009, "message too big");
    return make_error_code(errc::message_too_big);
  }
  if (type == MessageType::text && !valid_utf8(data)) {
    close(*conn, 1007, "invalid utf-8");
    return make_error_code(errc::invalid_utf8);
  }
  dialects_[static_cast<std::size_t>(conn->dialect)]->message(*conn, data, type);
  return {};
}

void Core::traffic(ConnectionId id) {
  if (Connection* conn = find(id)) conn->last_inbound = now();
}

void Core::disconnect(ConnectionId id, std::uint16_t sent_code) {
  Entry entry(*this);
  auto it = connections_.find(static_cast<std::uint64_t>(id));
  if (it == connections_.end()) return;
  Connection& conn = it->second;
  if (conn.state == ConnState::websocket) {
    metrics_.connection_closed(conn.dialect);
    if (sent_code != 0) metrics_.closed(conn.dialect, sent_code);
    emit(Event::Kind::disconnected, conn, sent_code, sent_code != 0 ? "host" : "peer");
  }
  if ((conn.state == ConnState::websocket || conn.http_pending) && conn.has_dialect) {
    conn.state = ConnState::closed;
    try {
      dialects_[static_cast<std::size_t>(conn.dialect)]->closed(conn);
    } catch (...) {
      // Dialects do not throw; a host callback they triggered may have. Nothing to undo.
    }
  }
  if (!conn.over_cap) {
    --served_;
    auto pa = per_address_.find(conn.remote);
    if (pa != per_address_.end() && --pa->second == 0) per_address_.erase(pa);
  }
  connections_.erase(it);
}

bool Core::send(Connection& to, std::string_view text, SendKind kind, bool relay) {
  if (to.state != ConnState::websocket || shutting_down_) return false;
  if (options_.max_outbound_bytes != 0) {
    std::size_t queued = 0;
    try {
      queued = transport_.buffered_bytes(to.id);
    } catch (...) {
      detach_after_failure(to.id);
      return false;
    }
    if (queued + text.size() > options_.max_outbound_bytes) {
      metrics_.dropped(to.dialect, DropReason::send_queue_full);
      close(to, 1008, "send queue full");
      return false;
    }
  }
  try {
    transport_.send(to.id, text, kind);
  } catch (...) {
    detach_after_failure(to.id);
    return false;
  }
  if (relay) metrics_.relayed(to.dialect);
  return true;
}

void Core::close(Connection& conn, std::uint16_t code, std::string_view reason) {
  if (conn.state != ConnState::websocket) return;
  conn.state = ConnState::closed;
  metrics_.closed(conn.dialect, code);
  metrics_.connection_closed(conn.dialect);
  emit(Event::Kind::disconnected, conn, code, reason);
  teardown_.push_back(conn.id);
  try {
    transport_.close(conn.id, code, reason);
  } catch (...) {
    // The connection is already detached; the host will report its disconnect.
  }
}

void Core::respond(Connection& conn, const HttpResponse& response) {
  if (!conn.http_pending) return;
  conn.http_pending = false;
  if (conn.has_dialect) metrics_.http_response(conn.dialect, response.status);
  try {
    transport_.respond(conn.id, response);
  } catch (...) {
    detach_after_failure(conn.id);
  }
}

void Core::detach_after_failure(ConnectionId id) {
  Connection* conn = find(id);
  if (!conn || conn->state == ConnState::closed) return;
  if (conn->state == ConnState::websocket) metrics_.connection_closed(conn->dialect);
  bool had_dialect_state = conn->has_dialect && (conn->session || conn->http_pending);
  conn->state = ConnState::closed;
  conn->http_pending = false;
  if (had_dialect_state) teardown_.push_back(id);
  try {
    transport_.drop(id);
  } catch (...) {
  }
}

void Core::flush_teardown() {
  for (std::size_t i = 0; i < teardown_.size(); ++i) {
    Connection* conn = find(teardown_[i]);
    if (!conn || !conn->has_dialect) continue;
    dialects_[static_cast<std::size_t>(conn->dialect)]->closed(*conn);
    conn->session.reset();
  }
  teardown_.clear();
}

Duration Core::sweep_interval() const noexcept {
  Duration base = std::min(options_.ping_interval, options_.idle_timeout);
  if (base.count() <= 0) base = std::max(options_.ping_interval, options_.idle_timeout);
  if (base.count() <= 0) base = std::chrono::seconds(1);
  return std::clamp<Duration>(base / 4, Duration(10), Duration(1000));
}

void Core::sweep(TimePoint t) {
  for (auto& [key, conn] : connections_) {
    switch (conn.state) {
      case ConnState::fresh:
        if (t - conn.opened >= options_.handshake_timeout) {
          conn.state = ConnState::closed;
          try {
            transport_.drop(conn.id);
          } catch (...) {
          }
        }
        break;
      case ConnState::websocket:
        if (options_.idle_timeout.count() > 0 && t - conn.last_inbound >= options_.idle_timeout) {
          close(conn, 1001, "idle timeout");
        } else if (options_.ping_interval.count() > 0 && t >= conn.next_ping) {
          conn.next_ping = t + options_.ping_interval;
          try {
            transport_.ping(conn.id);
          } catch (...) {
            detach_after_failure(conn.id);
          }
        }
        break;
      default:
        break;
    }
  }
  for (auto it = http_buckets_.begin(); it != http_buckets_.end();) {
    if (it->second.full(options_.rate_limit.messages_per_second, options_.rate_limit.burst, t))
      it = http_buckets_.erase(it);
    else
      ++it;
  }
}

void Core::on_timer() {
  Entry entry(*this);
  TimePoint t = now();
  if (t >= next_sweep_) {
    sweep(t);
    next_sweep_ = t + sweep_interval();
  }
  for (auto& d : dialects_)
    if (d) d->on_timer(t);
  if (shutting_down_ && !grace_over_ && t >= shutdown_deadline_) {
    grace_over_ = true;  // once: a deadline left in the past would make the host's timer spin
    for (auto& [key, conn] : connections_) {
      if (conn.state == ConnState::closed) continue;
      if (conn.state == ConnState::websocket) metrics_.connection_closed(conn.dialect);
      bool had_dialect_state = conn.has_dialect && (conn.session || conn.http_pending);
      conn.state = ConnState::closed;
      conn.http_pending = false;
      if (had_dialect_state) teardown_.push_back(conn.id);
      try {
        transport_.drop(conn.id);
      } catch (...) {
      }
    }
  }
}

std::optional<TimePoint> Core::next_deadline() const {
  std::optional<TimePoint> best;
  auto consider = [&](std::optional<TimePoint> t) {
    if (t && (!best || *t < *best)) best = t;
  };
  if (!connections_.empty() || !http_buckets_.empty()) consider(next_sweep_);
  for (const auto& d : dialects_)
    if (d) consider(d->next_deadline());
  if (shutting_down_ && !grace_over_) consider(shutdown_deadline_);
  return best;
}

void Core::shutdown() {
  Entry entry(*this);
  if (shutting_down_) return;
  shutting_down_ = true;
  shutdown_deadline_ = now() + options_.shutdown_grace;
  for (auto& [key, conn] : connections_)
    if (conn.state == ConnState::websocket) close(conn, 1001, "going away");
  for (auto& d : dialects_)
    if (d) d->shutdown();
}

bool Core::finished() const noexcept {
  if (!shutting_down_) return false;
  // Connections with nothing in progress (closed, fresh, answered HTTP) do not hold it up.
  return std::none_of(connections_.begin(), connections_.end(), [](const auto& entry) {
    const Connection& c = entry.second;
    return c.state == ConnState::websocket || c.http_pending;
  });
}

std::string Core::metrics_text() const {
  std::vector<std::pair<std::string_view, double>> gauges;
  for (const auto& d : dialects_)
    if (d) d->gauges(gauges);
  for (std::string_view name : {"rendezvous_rooms", "rendezvous_devices",
                                "rendezvous_polled_connections", "rendezvous_inboxes"}) {
    bool present = std::any_of(gauges.begin(), gauges.end(),
                               [&](const auto& g) { return g.first == name; });
    if (!present) gauges.emplace_back(name, 0.0);
  }
  std::string out;
  metrics_.render(out, gauges);
  return out;
}

void Core::random_bytes(unsigned char* out, std::size_t n) {
  if (RAND_bytes(out, static_cast<int>(n)) != 1)
    throw std::runtime_error("RAND_bytes failed");  // no entropy: nothing safe to do
}

}  // namespace rendezvous::detail
