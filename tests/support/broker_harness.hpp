#pragma once

// Unit-test fixture: a Broker driven through a recording fake transport and a fake clock.
// Nothing here sleeps or touches the network.

#include <rendezvous/rendezvous.hpp>

#include <deque>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <unordered_map>
#include <vector>

namespace rendezvous::testing {

/// Time that moves only when a test says so.
struct FakeClock {
  TimePoint now = TimePoint{} + std::chrono::hours(1);
  void advance(Duration d) { now += d; }
};

struct Close {
  std::uint16_t code = 0;
  std::string reason;
};

/// Records everything the Broker asks of its host, per connection and in global order.
class RecordingTransport final : public Transport {
 public:
  struct Record {
    enum class Kind { send, close, respond, ping, drop } kind;
    ConnectionId id;
    std::string text;  // sent text or close reason
    std::uint16_t code = 0;
    SendKind send_kind = SendKind::own;
  };

  void send(ConnectionId id, std::string_view text, SendKind kind) override {
    log.push_back({Record::Kind::send, id, std::string(text), 0, kind});
    inbox[static_cast<std::uint64_t>(id)].emplace_back(text);
    buffered[static_cast<std::uint64_t>(id)] += text.size() * grow_buffer;
  }
  void close(ConnectionId id, std::uint16_t code, std::string_view reason) override {
    log.push_back({Record::Kind::close, id, std::string(reason), code});
    closes[static_cast<std::uint64_t>(id)] = Close{code, std::string(reason)};
  }
  void respond(ConnectionId id, const HttpResponse& r) override {
    log.push_back({Record::Kind::respond, id, r.body, static_cast<std::uint16_t>(r.status)});
    responses[static_cast<std::uint64_t>(id)].push_back(r);
  }
  void ping(ConnectionId id) override {
    log.push_back({Record::Kind::ping, id, {}, 0});
    ++pings[static_cast<std::uint64_t>(id)];
  }
  void drop(ConnectionId id) override {
    log.push_back({Record::Kind::drop, id, {}, 0});
    dropped.push_back(id);
  }
  std::size_t buffered_bytes(ConnectionId id) const override {
    auto it = buffered.find(static_cast<std::uint64_t>(id));
    return it == buffered.end() ? 0 : it->second;
  }

  std::vector<Record> log;
  std::unordered_map<std::uint64_t, std::deque<std::string>> inbox;
  std::unordered_map<std::uint64_t, Close> closes;
  std::unordered_map<std::uint64_t, std::vector<HttpResponse>> responses;
  std::unordered_map<std::uint64_t, int> pings;
  std::unordered_map<std::uint64_t, std::size_t> buffered;
  std::vector<ConnectionId> dropped;
  /// 1: sends accumulate in `buffered` as if the peer never read (back-pressure tests).
  std::size_t grow_buffer = 0;
};

struct Header {
  std::string name, value;
};

/// A Broker wired to a RecordingTransport and a FakeClock, with helpers that read like a
/// protocol transcript: open a socket, send text, take what arrived.
class Harness {
 public:
  explicit Harness(Options options = {}) : broker(transport, with_clock(std::move(options))) {}

  /// Full handshake; returns the Handshake so a test can check refusals.
  Handshake upgrade(ConnectionId& id, const std::string& target,
                    const std::vector<Header>& headers = {},
                    const std::string& remote = "127.0.0.1") {
    id = broker.open(remote);
    HttpRequest req = make_request("GET", target, headers, {});
    return broker.connect(id, req);
  }

  /// Opens a WebSocket that must be accepted.
  ConnectionId ws(const std::string& target, const std::vector<Header>& headers = {},
                  const std::string& remote = "127.0.0.1") {
    ConnectionId id{};
    Handshake hs = upgrade(id, target, headers, remote);
    if (!hs.accepted()) throw std::runtime_error("handshake refused: " + target);
    return id;
  }

  /// Sends an HTTP request on a new connection. Returns the response if it came at once;
  /// `id` names the connection for deferred answers.
  std::optional<HttpResponse> http(const std::string& method, const std::string& target,
                                   const std::vector<Header>& headers = {},
                                   const std::string& body = {},
                                   const std::string& remote = "127.0.0.1",
                                   ConnectionId* id_out = nullptr) {
    ConnectionId id = broker.open(remote);
    if (id_out) *id_out = id;
    HttpRequest req = make_request(method, target, headers, body);
    broker.handle_http(id, req);
    auto r = take_response(id);
    if (r) broker.disconnect(id);  // one request per connection, like the example server
    return r;
  }

  /// The response to the request pending on `id`, if it has been written.
  std::optional<HttpResponse> take_response(ConnectionId id) {
    auto& v = transport.responses[static_cast<std::uint64_t>(id)];
    if (v.empty()) return std::nullopt;
    HttpResponse r = v.front();
    v.erase(v.begin());
    return r;
  }

  void text(ConnectionId id, std::string_view data) { broker.route(id, data, MessageType::text); }
  void binary(ConnectionId id, std::string_view data) {
    broker.route(id, data, MessageType::binary);
  }

  /// Messages written to `id` since the last call, oldest first.
  std::vector<std::string> received(ConnectionId id) {
    auto& q = transport.inbox[static_cast<std::uint64_t>(id)];
    std::vector<std::string> out(q.begin(), q.end());
    q.clear();
    return out;
  }

  std::optional<Close> closed(ConnectionId id) const {
    auto it = transport.closes.find(static_cast<std::uint64_t>(id));
    if (it == transport.closes.end()) return std::nullopt;
    return it->second;
  }

  void advance(Duration d) {
    clock.now += d;
    broker.on_timer();
  }

  /// Runs on_timer at every deadline until `d` has passed, like a host's timer would.
  void run_for(Duration d) {
    TimePoint end = clock.now + d;
    while (true) {
      auto next = broker.next_deadline();
      if (!next || *next > end) break;
      if (*next > clock.now) clock.now = *next;
      broker.on_timer();
    }
    clock.now = end;
    broker.on_timer();
  }

  /// Value of one Prometheus sample, e.g. metric("rendezvous_messages_dropped_total",
  /// "dialect=\"fingersmith\",reason=\"binary\""). 0 when absent.
  double metric(const std::string& name, const std::string& labels = {}) const {
    std::string key = labels.empty() ? name : name + "{" + labels + "}";
    std::istringstream in(broker.metrics_text());
    std::string line;
    while (std::getline(in, line)) {
      if (line.rfind(key + " ", 0) == 0) return std::stod(line.substr(key.size() + 1));
    }
    return 0;
  }

  FakeClock clock;
  RecordingTransport transport;
  Broker broker;

 private:
  Options with_clock(Options o) {
    o.clock = [this] { return clock.now; };
    return o;
  }

  HttpRequest make_request(const std::string& method, const std::string& target,
                           const std::vector<Header>& headers, const std::string& body) {
    storage_.push_back(std::make_unique<Stored>(Stored{method, target, headers, body}));
    const Stored& s = *storage_.back();
    HttpRequest req;
    req.method = s.method;
    req.target = s.target;
    req.body = s.body;
    for (const auto& h : s.headers) req.headers.push_back({h.name, h.value});
    return req;
  }

  struct Stored {
    std::string method, target;
    std::vector<Header> headers;
    std::string body;
  };
  std::vector<std::unique_ptr<Stored>> storage_;
};

}  // namespace rendezvous::testing
