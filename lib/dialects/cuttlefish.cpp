#include "dialects/cuttlefish.hpp"

#include "core/core.hpp"
#include "core/text.hpp"

#include <limits>
#include <stdexcept>

namespace rendezvous::detail {

namespace {

constexpr std::string_view subprotocol = "webrtc-operator";

/// The first member `name` of object `obj`, or nullptr.
const json::Value* member(const json::Value& obj, std::string_view name) {
  json::Value key(rapidjson::StringRef(name.data(), name.size()));
  auto it = obj.FindMember(key);
  return it == obj.MemberEnd() ? nullptr : &it->value;
}

/// Whether a comma-separated Sec-WebSocket-Protocol value lists `token`.
bool offers(std::string_view list, std::string_view token) {
  while (!list.empty()) {
    std::size_t comma = list.find(',');
    std::string_view item = list.substr(0, comma);
    std::size_t b = item.find_first_not_of(" \t");
    std::size_t e = item.find_last_not_of(" \t");
    if (b != std::string_view::npos && item.substr(b, e - b + 1) == token) return true;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

void add_cors(HttpResponse& r) {
  r.header("Access-Control-Allow-Origin", "*");
  r.header("Access-Control-Allow-Methods", "POST, GET, OPTIONS");
  r.header("Access-Control-Allow-Headers",
           "Content-Type, Access-Control-Allow-Headers, Authorization, X-Requested-With, Accept");
}

/// Clears the parse pool when a handler returns, so the next message starts from the buffer.
class PoolScope {
 public:
  explicit PoolScope(rapidjson::MemoryPoolAllocator<>& pool) : pool_(pool) {}
  ~PoolScope() { pool_.Clear(); }
  PoolScope(const PoolScope&) = delete;
  PoolScope& operator=(const PoolScope&) = delete;

 private:
  rapidjson::MemoryPoolAllocator<>& pool_;
};

}  // namespace

Cuttlefish::Cuttlefish(Core& core) : DialectHandler(core), polled_(core) {
  json::Writer& w = start();
  w.StartObject();
  w.Key("message_type");
  w.String("config");
  w.Key("ice_servers");
  w.StartArray();
  for (const IceServer& s : core_.options().cuttlefish.ice_servers) {
    if (s.urls.empty()) throw std::invalid_argument("cuttlefish.ice_servers: entry without a URL");
    w.StartObject();
    w.Key("urls");
    w.StartArray();  // always an array: devices refuse a plain string (§3.4)
    for (const std::string& url : s.urls) {
      if (url.empty()) throw std::invalid_argument("cuttlefish.ice_servers: empty URL");
      w.String(url.data(), static_cast<rapidjson::SizeType>(url.size()));
    }
    w.EndArray();
    if (s.username) {
      w.Key("username");
      w.String(s.username->data(), static_cast<rapidjson::SizeType>(s.username->size()));
    }
    if (s.credential) {
      w.Key("credential");
      w.String(s.credential->data(), static_cast<rapidjson::SizeType>(s.credential->size()));
    }
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  config_.assign(finish());
}

std::optional<RouteKind> Cuttlefish::match(std::string_view path) const noexcept {
  if (path == "/register_device" || path == "/connect_client") return RouteKind::websocket;
  if (path == "/infra_config" || path == "/connect" || path == "/forward" ||
      path == "/poll_messages" || path == "/devices")
    return RouteKind::http;
  return std::nullopt;
}

void Cuttlefish::upgrade(Connection& conn, const HttpRequest& request, Handshake& hs) {
  if (request.path() == "/register_device")
    conn.session = std::make_unique<DeviceSession>(conn);
  else
    conn.session = std::make_unique<ClientSession>();
  for (const HeaderView& h : request.headers)
    if (iequals(h.name, "Sec-WebSocket-Protocol") && offers(h.value, subprotocol))
      hs.subprotocol.assign(subprotocol);
}

// ---- output ----------------------------------------------------------------------------

json::Writer& Cuttlefish::start() {
  out_.Clear();
  writer_.Reset(out_);
  return writer_;
}

std::string_view Cuttlefish::finish() const { return {out_.GetString(), out_.GetSize()}; }

void Cuttlefish::send_error(Connection& to, std::string_view text) {
  json::Writer& w = start();
  w.StartObject();
  w.Key("error");
  w.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
  w.EndObject();
  core_.send(to, finish());
}

void Cuttlefish::fail(Connection& conn, std::string_view text, std::uint16_t code) {
  send_error(conn, text);
  core_.close(conn, code, code == 1003 ? "binary message" : "");
}

void Cuttlefish::send_client_msg(DeviceSession& d, std::int32_t client_id,
                                 const json::Value& payload) {
  json::Writer& w = start();
  w.StartObject();
  w.Key("message_type");
  w.String("client_msg");
  w.Key("client_id");
  w.Int(client_id);
  w.Key("payload");
  payload.Accept(w);
  w.EndObject();
  core_.send(d.conn, finish(), SendKind::own, true);
}

void Cuttlefish::send_client_disconnected(DeviceSession& d, std::int32_t client_id) {
  json::Writer& w = start();
  w.StartObject();
  w.Key("message_type");
  w.String("client_disconnected");
  w.Key("client_id");
  w.Int(client_id);
  w.EndObject();
  core_.send(d.conn, finish());
}

void Cuttlefish::send_device_info(Connection& to, const DeviceSession& d) {
  json::Writer& w = start();
  w.StartObject();
  w.Key("message_type");
  w.String("device_info");
  w.Key("device_info");
  w.RawValue(d.info.data(), d.info.size(), rapidjson::kObjectType);  // serialized by a Writer
  w.EndObject();
  core_.send(to, finish());
}

// ---- WebSocket messages ----------------------------------------------------------------

void Cuttlefish::message(Connection& conn, std::string_view data, MessageType type) {
  // §3.3, in this order.
  if (type == MessageType::binary) return fail(conn, "Received a binary message", 1003);
  PoolScope scope(pool_);
  json::Document doc(&pool_);
  if (!json::parse(core_.scanner(), data, doc)) return fail(conn, "Received Invalid JSON");
  const json::Value* type_member = doc.IsObject() ? member(doc, "message_type") : nullptr;
  if (!type_member || !type_member->IsString()) {
    text_.assign("Invalid message format: '").append(data).append("'");
    return fail(conn, text_);
  }
  std::string_view message_type = json::view(*type_member);
  if (conn.session_as<Peer>().device)
    device_message(conn, message_type, doc);
  else
    client_message(conn, message_type, doc);
}

void Cuttlefish::device_message(Connection& conn, std::string_view type, const json::Value& msg) {
  auto& d = conn.session_as<DeviceSession>();
  if (type == "register") return register_device(d, msg);
  if (type == "forward") return device_forward(d, msg);
  text_.assign("Unknown message type: ").append(type);
  send_error(conn, text_);
}

void Cuttlefish::client_message(Connection& conn, std::string_view type, const json::Value& msg) {
  auto& c = conn.session_as<ClientSession>();
  if (type == "connect") return connect_client(conn, c, msg);
  if (type == "forward") return client_forward(conn, c, msg);
  text_.assign("Unknown message type: ").append(type);
  send_error(conn, text_);
}

void Cuttlefish::register_device(DeviceSession& d, const json::Value& msg) {
  if (d.registered) {
    text_.assign("Device already registered: ").append(d.id);
    return fail(d.conn, text_);
  }
  const json::Value* id = member(msg, "device_id");
  if (!id || !id->IsString() || id->GetStringLength() == 0)
    return fail(d.conn, "Missing device id in registration request");
  std::string_view device_id = json::view(*id);
  if (!valid_identifier(device_id))
    return fail(d.conn, "Invalid device id in registration request");
  if (registered(device_id)) {
    // The first holder, its connection and its clients stay untouched (§3.5 R4).
    text_.assign("Device id already taken: ").append(device_id);
    return fail(d.conn, text_);
  }
  d.registered = true;
  d.id.assign(device_id);
  const json::Value* info = member(msg, "device_info");
  d.info = info ? json::to_string(*info) : "null";
  devices_.emplace(d.id, &d);
  core_.send(d.conn, config_);

  // Client-first (§3.8): the waiting clients are attached in the order they connected.
  auto w = waiters_.find(d.id);
  if (w == waiters_.end()) return;
  std::list<Connection*> waiting = std::move(w->second);
  waiters_.erase(w);
  for (Connection* conn : waiting) {
    auto& c = conn->session_as<ClientSession>();
    wait_order_.erase(c.in_wait_order);
    c.state = ClientSession::State::idle;
    if (!attach(*conn, c, d)) {
      text_.assign("Connection failed: Device not found: '").append(d.id).append("'");
      fail(*conn, text_);
    }
  }
}

void Cuttlefish::device_forward(DeviceSession& d, const json::Value& msg) {
  const json::Value* id = member(msg, "client_id");
  // IsInt: an integer token (RapidJSON keeps fractions and exponents as doubles) in int32.
  if (!id || !id->IsInt()) return fail(d.conn, "Forward failed: Missing or invalid client id");
  const json::Value* payload = member(msg, "payload");
  if (!payload) return fail(d.conn, "Forward failed: Missing payload");
  std::int32_t client_id = id->GetInt();
  if (client_id < 1 || client_id > d.last_client_id) {
    text_.assign("Forward failed: Unknown client ").append(std::to_string(client_id));
    return send_error(d.conn, text_);
  }
  auto it = d.clients.find(client_id);
  if (it == d.clients.end()) return send_client_disconnected(d, client_id);
  if (Connection* ws = it->second.ws) {
    json::Writer& w = start();
    w.StartObject();
    w.Key("message_type");
    w.String("device_msg");
    w.Key("payload");
    payload->Accept(w);
    w.EndObject();
    core_.send(*ws, finish(), SendKind::own, true);
    return;
  }
  PolledConnection& pc = *it->second.polled;
  if (pc.queue.size() >= core_.options().cuttlefish.poll_queue_max) {
    core_.metrics().dropped(Dialect::cuttlefish, DropReason::poll_queue_full);
    return;
  }
  pc.queue.push_back(json::to_string(*payload));
  core_.metrics().relayed(Dialect::cuttlefish);
}

void Cuttlefish::connect_client(Connection& conn, ClientSession& c, const json::Value& msg) {
  if (c.state != ClientSession::State::idle)
    return fail(conn, "Attempt to connect to multiple devices over same websocket");
  const json::Value* id = member(msg, "device_id");
  if (!id || !id->IsString()) return fail(conn, "Invalid connection request: Missing device id");
  std::string_view device_id = json::view(*id);
  if (!valid_identifier(device_id))
    return fail(conn, "Invalid connection request: Invalid device id");
  core_.send(conn, config_);  // before the lookup, as the original does
  if (DeviceSession* d = registered(device_id); d && attach(conn, c, *d)) return;
  const auto& options = core_.options().cuttlefish;
  if (!options.client_first) {
    text_.assign("Connection failed: Device not found: '").append(device_id).append("'");
    return fail(conn, text_);
  }
  c.state = ClientSession::State::waiting;
  c.waiting_for.assign(device_id);
  c.wait_deadline = core_.now() + options.client_first_wait;
  auto& list = waiters_[c.waiting_for];
  c.in_waiters = list.insert(list.end(), &conn);
  c.in_wait_order = wait_order_.insert(wait_order_.end(), &conn);
}

void Cuttlefish::client_forward(Connection& conn, ClientSession& c, const json::Value& msg) {
  if (c.state == ClientSession::State::idle || c.state == ClientSession::State::waiting)
    return fail(conn, "Forward failed: No device associated to client");
  const json::Value* payload = member(msg, "payload");
  if (!payload) return fail(conn, "Forward failed: No payload present in message");
  if (c.state == ClientSession::State::detached)
    return fail(conn, "Forward failed: Device disconnected");
  send_client_msg(*c.device, c.client_id, *payload);
}

// ---- registry ------------------------------------------------------------------------

Cuttlefish::DeviceSession* Cuttlefish::registered(std::string_view id) const {
  auto it = devices_.find(id);
  return it == devices_.end() ? nullptr : it->second;
}

std::int32_t Cuttlefish::next_client_id(DeviceSession& d) const {
  return d.last_client_id == std::numeric_limits<std::int32_t>::max() ? 0 : d.last_client_id + 1;
}

bool Cuttlefish::attach(Connection& conn, ClientSession& c, DeviceSession& d) {
  std::int32_t id = next_client_id(d);
  if (id == 0) return false;
  d.last_client_id = id;
  d.clients[id] = Client{&conn, nullptr};
  c.state = ClientSession::State::attached;
  c.device = &d;
  c.client_id = id;
  send_device_info(conn, d);
  return true;
}

void Cuttlefish::stop_waiting(ClientSession& c) {
  wait_order_.erase(c.in_wait_order);
  auto it = waiters_.find(c.waiting_for);
  it->second.erase(c.in_waiters);
  if (it->second.empty()) waiters_.erase(it);
  c.state = ClientSession::State::idle;
}

void Cuttlefish::device_left(DeviceSession& d) {
  devices_.erase(d.id);
  d.registered = false;
  TimePoint forget = core_.now() + core_.options().cuttlefish.poll_expiry;
  for (auto& [id, client] : d.clients) {
    if (client.ws) {
      auto& c = client.ws->session_as<ClientSession>();
      c.state = ClientSession::State::detached;
      c.device = nullptr;
      fail(*client.ws, "Device disconnected");
    } else {
      polled_.orphan(*client.polled, forget);
    }
  }
  d.clients.clear();
}

void Cuttlefish::closed(Connection& conn) {
  if (!conn.session) return;  // an HTTP request; polling answers are never deferred
  if (conn.session_as<Peer>().device) {
    auto& d = conn.session_as<DeviceSession>();
    if (d.registered) device_left(d);
    return;
  }
  auto& c = conn.session_as<ClientSession>();
  if (c.state == ClientSession::State::waiting) {
    stop_waiting(c);
  } else if (c.state == ClientSession::State::attached) {
    c.device->clients.erase(c.client_id);
    send_client_disconnected(*c.device, c.client_id);
    c.state = ClientSession::State::detached;
  }
}

void Cuttlefish::on_timer(TimePoint now) {
  polled_.expire(now, [this](PolledConnection& pc) {
    if (!pc.device) return;  // an orphan is just forgotten
    auto& d = pc.device->session_as<DeviceSession>();
    d.clients.erase(pc.client_id);
    send_client_disconnected(d, pc.client_id);
  });
  while (!wait_order_.empty()) {
    Connection& conn = *wait_order_.front();
    auto& c = conn.session_as<ClientSession>();
    if (c.wait_deadline > now) break;
    stop_waiting(c);
    text_.assign("Connection failed: Device not found: '").append(c.waiting_for).append("'");
    fail(conn, text_);
  }
}

std::optional<TimePoint> Cuttlefish::next_deadline() const {
  std::optional<TimePoint> best = polled_.next_deadline();
  if (!wait_order_.empty()) {
    TimePoint t = wait_order_.front()->session_as<ClientSession>().wait_deadline;
    if (!best || t < *best) best = t;
  }
  return best;
}

void Cuttlefish::gauges(std::vector<std::pair<std::string_view, double>>& out) const {
  out.emplace_back("rendezvous_devices", static_cast<double>(devices_.size()));
  out.emplace_back("rendezvous_polled_connections", static_cast<double>(polled_.size()));
}

// ---- HTTP polling ----------------------------------------------------------------------

HttpResponse Cuttlefish::refusal(int status, std::string_view text) const {
  HttpResponse r;
  r.status = status;
  add_cors(r);
  r.header("Content-Type", "application/json");
  r.header("Cache-Control", "no-store");
  rapidjson::StringBuffer buffer;
  json::Writer w(buffer);
  w.StartObject();
  w.Key("type");
  w.String("error");
  w.Key("error");
  w.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
  w.EndObject();
  r.body.assign(buffer.GetString(), buffer.GetSize());
  return r;
}

void Cuttlefish::answer(Connection& conn, int status, std::string_view body) {
  HttpResponse r;
  r.status = status;
  add_cors(r);
  if (!body.empty()) {
    r.header("Content-Type", "application/json");
    r.header("Cache-Control", "no-store");
    r.body.assign(body);
  }
  core_.respond(conn, r);
}

void Cuttlefish::answer_error(Connection& conn, int status, std::string_view text) {
  core_.respond(conn, refusal(status, text));
}

void Cuttlefish::http(Connection& conn, const HttpRequest& request) {
  std::string_view path = request.path();
  std::string_view method = request.method;
  if (method == "OPTIONS") return answer(conn, 204);
  if (path == "/infra_config") return method == "GET" ? answer(conn, 200, config_) : answer(conn, 405);
  if (path == "/devices") {
    if (method == "POST") return answer(conn, 404);
    if (method != "GET") return answer(conn, 405);
    json::Writer& w = start();
    w.StartArray();
    for (const auto& entry : devices_)
      w.String(entry.first.data(), static_cast<rapidjson::SizeType>(entry.first.size()));
    w.EndArray();
    return answer(conn, 200, finish());
  }
  if (method != "POST") return answer(conn, 405);
  if (request.body.size() > conn.max_message_bytes) {
    HttpResponse r = refusal(413, "Request body too large");
    r.close_connection = true;
    return core_.respond(conn, r);
  }

  // §3.9.2 P1 to P3.
  PoolScope scope(pool_);
  json::Document body(&pool_);
  if (!json::parse(core_.scanner(), request.body.empty() ? "{}" : request.body, body))
    return answer_error(conn, 400, "Error parsing JSON: invalid JSON or nested too deep");
  if (!body.IsObject()) return answer_error(conn, 400, "Error parsing JSON: not an object");
  PolledConnection* pc = nullptr;
  if (const json::Value* id = member(body, "connection_id")) {
    if (id->IsString()) pc = polled_.find(json::view(*id));
    if (!pc) {
      text_.assign("Error: Unknown connection id");
      if (id->IsString()) text_.append(json::view(*id));
      return answer_error(conn, 401, text_);
    }
  }
  if (path == "/connect") return poll_connect(conn, body);
  if (path == "/forward") {
    if (!pc) return answer_error(conn, 401, "Forward failed: No device associated to client");
    return poll_forward(conn, pc, body);
  }
  if (!pc) return answer_error(conn, 401, "Poll failed: No device associated to client");
  poll_messages(conn, pc);
}

void Cuttlefish::poll_connect(Connection& conn, const json::Value& body) {
  const json::Value* id = member(body, "device_id");
  if (!id || !id->IsString())
    return answer_error(conn, 400, "Invalid connection request: Missing device id");
  std::string_view device_id = json::view(*id);
  if (!valid_identifier(device_id))
    return answer_error(conn, 400, "Invalid connection request: Invalid device id");
  DeviceSession* d = registered(device_id);
  std::int32_t client_id = d ? next_client_id(*d) : 0;
  if (client_id == 0) {
    text_.assign("Connection failed: Device not found: '").append(device_id).append("'");
    return answer_error(conn, 404, text_);
  }
  const auto& options = core_.options().cuttlefish;
  if (polled_.size() >= options.max_polled_connections)
    return answer_error(conn, 503, "Too many polled connections");
  PolledConnection& pc = polled_.create(d->conn, client_id, core_.now() + options.poll_expiry);
  d->last_client_id = client_id;
  d->clients[client_id] = Client{nullptr, &pc};
  json::Writer& w = start();
  w.StartObject();
  w.Key("message_type");
  w.String("device_info");
  w.Key("connection_id");
  w.String(pc.id.data(), static_cast<rapidjson::SizeType>(pc.id.size()));
  w.Key("device_info");
  w.RawValue(d->info.data(), d->info.size(), rapidjson::kObjectType);
  w.EndObject();
  answer(conn, 200, finish());
}

void Cuttlefish::poll_forward(Connection& conn, PolledConnection* pc, const json::Value& body) {
  const json::Value* payload = member(body, "payload");
  if (!payload) return answer_error(conn, 400, "Forward failed: No payload present in message");
  if (!pc->device) return answer_error(conn, 404, "Forward failed: Device disconnected");
  send_client_msg(pc->device->session_as<DeviceSession>(), pc->client_id, *payload);
  answer_queue(conn, *pc);
}

void Cuttlefish::poll_messages(Connection& conn, PolledConnection* pc) {
  if (!pc->device) return answer_error(conn, 404, "Poll failed: Device disconnected");
  answer_queue(conn, *pc);
}

void Cuttlefish::answer_queue(Connection& conn, PolledConnection& pc) {
  json::Writer& w = start();
  w.StartArray();
  for (const std::string& payload : pc.queue)
    w.RawValue(payload.data(), payload.size(), rapidjson::kObjectType);  // serialized by a Writer
  w.EndArray();
  std::vector<std::string>().swap(pc.queue);
  polled_.renew(pc, core_.now() + core_.options().cuttlefish.poll_expiry);
  answer(conn, 200, finish());
}

}  // namespace rendezvous::detail
