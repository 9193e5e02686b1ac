#include <rendezvous/broker.hpp>

#include "core/core.hpp"
#include "core/text.hpp"

namespace rendezvous {

class Broker::Impl : public detail::Core {
 public:
  using detail::Core::Core;
};

Broker::Broker(Transport& transport, Options options)
    : impl_(std::make_unique<Impl>(transport, std::move(options))) {}
Broker::~Broker() = default;
Broker::Broker(Broker&&) noexcept = default;
Broker& Broker::operator=(Broker&&) noexcept = default;

ConnectionId Broker::open(std::string_view remote_address) { return impl_->open(remote_address); }
Handshake Broker::connect(ConnectionId id, const HttpRequest& request) {
  return impl_->connect(id, request);
}
std::error_code Broker::handle_http(ConnectionId id, const HttpRequest& request) {
  return impl_->handle_http(id, request);
}
std::error_code Broker::route(ConnectionId id, std::string_view data, MessageType type) {
  return impl_->route(id, data, type);
}
void Broker::traffic(ConnectionId id) { impl_->traffic(id); }
void Broker::disconnect(ConnectionId id) { impl_->disconnect(id); }
void Broker::disconnect(ConnectionId id, std::uint16_t sent_code) {
  impl_->disconnect(id, sent_code);
}
void Broker::on_timer() { impl_->on_timer(); }
std::optional<TimePoint> Broker::next_deadline() const { return impl_->next_deadline(); }
void Broker::shutdown() { impl_->shutdown(); }
bool Broker::finished() const noexcept { return impl_->finished(); }
std::size_t Broker::connection_count() const noexcept { return impl_->connection_count(); }
std::string Broker::metrics_text() const { return impl_->metrics_text(); }
const Options& Broker::options() const noexcept { return impl_->options(); }

std::size_t Options::message_limit(Dialect d) const noexcept {
  std::size_t own = 0;
  switch (d) {
    case Dialect::fingersmith: own = fingersmith.max_message_bytes; break;
    case Dialect::cuttlefish: own = cuttlefish.max_message_bytes; break;
    case Dialect::rooms: own = rooms.max_message_bytes; break;
    case Dialect::mailbox: own = mailbox.max_message_bytes; break;
  }
  return own != 0 ? own : max_message_bytes;
}

const HeaderView* HttpRequest::find(std::string_view name) const noexcept {
  for (const auto& h : headers)
    if (detail::iequals(h.name, name)) return &h;
  return nullptr;
}

std::string_view HttpRequest::path() const noexcept {
  return target.substr(0, target.find('?'));
}

std::string_view HttpRequest::query() const noexcept {
  auto q = target.find('?');
  return q == std::string_view::npos ? std::string_view{} : target.substr(q + 1);
}

const std::string* HttpResponse::find(std::string_view name) const noexcept {
  for (const auto& h : headers)
    if (detail::iequals(h.first, name)) return &h.second;
  return nullptr;
}

namespace {

class Category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "rendezvous"; }
  std::string message(int value) const override {
    switch (static_cast<errc>(value)) {
      case errc::ok: return "success";
      case errc::not_found: return "no endpoint at this path";
      case errc::bad_request: return "malformed request";
      case errc::origin_not_allowed: return "origin not allowed";
      case errc::rate_limited: return "rate limit exceeded";
      case errc::upgrade_required: return "WebSocket upgrade required";
      case errc::method_not_allowed: return "method not allowed";
      case errc::duplicate_id: return "identifier already in use";
      case errc::over_capacity: return "over capacity";
      case errc::head_too_large: return "request head too large";
      case errc::message_too_big: return "message too big";
      case errc::invalid_utf8: return "invalid UTF-8";
      case errc::unknown_connection: return "unknown connection";
      case errc::wrong_state: return "call does not fit the connection state";
      case errc::shutting_down: return "shutting down";
      case errc::host_callback_failed: return "host callback failed";
    }
    return "unknown rendezvous error";
  }
};

}  // namespace

const std::error_category& category() noexcept {
  static const Category instance;
  return instance;
}

}  // namespace rendezvous
