// The connection layer common to every dialect (PROTOCOLS.md §1, §6), through the fake
// transport. Dialect-specific wire behaviour lives in each dialect's own test file.

#include "broker_harness.hpp"

#include <doctest/doctest.h>

using namespace rendezvous;
using namespace rendezvous::testing;

TEST_CASE("GEN-16 unknown paths are 404, disabled dialects are 404") {
  Harness h;
  CHECK(h.http("GET", "/nope")->status == 404);
  Options o;
  o.fingersmith.enabled = false;
  Harness off(o);
  ConnectionId id{};
  CHECK(off.upgrade(id, "/websocket/?finger=a").response.status == 404);
  CHECK(off.metric("rendezvous_connections_refused_total", "reason=\"not_found\"") == 1);
}

TEST_CASE("GEN-15 plain GET on a WebSocket-only path is 426 with Upgrade: websocket") {
  Harness h;
  auto r = h.http("GET", "/websocket/?finger=a");
  REQUIRE(r);
  CHECK(r->status == 426);
  REQUIRE(r->find("Upgrade"));
  CHECK(*r->find("Upgrade") == "websocket");
}

TEST_CASE("/healthz, /metrics and / answer GET and HEAD, 405 otherwise") {
  Harness h;
  auto health = h.http("GET", "/healthz");
  CHECK(health->status == 200);
  CHECK(health->body == "ok");
  CHECK(*health->find("Content-Type") == "text/plain; charset=utf-8");
  auto metrics = h.http("GET", "/metrics");
  CHECK(metrics->status == 200);
  CHECK(*metrics->find("Content-Type") == "text/plain; version=0.0.4; charset=utf-8");
  CHECK(metrics->body.find("# TYPE rendezvous_connections gauge") != std::string::npos);
  CHECK(h.http("HEAD", "/healthz")->body.empty());
  CHECK(h.http("POST", "/healthz")->status == 405);
  CHECK(h.http("GET", "/")->status == 200);
  CHECK(h.http("GET", "/")->find("Server") == nullptr);
}

TEST_CASE("metrics expose every family of §6") {
  Harness h;
  std::string text = h.broker.metrics_text();
  for (const char* family :
       {"rendezvous_connections", "rendezvous_connections_refused_total",
        "rendezvous_messages_received_total", "rendezvous_messages_relayed_total",
        "rendezvous_messages_dropped_total", "rendezvous_closes_total",
        "rendezvous_http_responses_total", "rendezvous_rooms", "rendezvous_devices",
        "rendezvous_polled_connections", "rendezvous_inboxes"}) {
    CHECK_MESSAGE(text.find(std::string("# TYPE ") + family + " ") != std::string::npos, family);
  }
}

TEST_CASE("GEN-11 origin allowlist: exact, case-insensitive, absent allowed, healthz exempt") {
  Options o;
  o.allowed_origins = {"https://a.example"};
  Harness h(o);
  ConnectionId id{};
  CHECK(h.upgrade(id, "/websocket/?finger=a", {{"Origin", "https://evil.example"}})
            .response.status == 403);
  CHECK(h.upgrade(id, "/websocket/?finger=b", {{"Origin", "https://A.example"}}).accepted());
  CHECK(h.upgrade(id, "/websocket/?finger=c").accepted());
  CHECK(h.http("GET", "/healthz", {{"Origin", "https://evil.example"}})->status == 200);
  CHECK(h.metric("rendezvous_connections_refused_total", "reason=\"origin\"") == 1);
}

TEST_CASE("GEN-09 GEN-10 connection caps answer 503 and free up on disconnect") {
  Options o;
  o.max_connections = 3;
  Harness h(o);
  ConnectionId a = h.ws("/websocket/?finger=a"), b = h.ws("/websocket/?finger=b");
  ConnectionId c = h.ws("/websocket/?finger=c");
  ConnectionId d{};
  Handshake hs = h.upgrade(d, "/websocket/?finger=d");
  CHECK(hs.response.status == 503);
  CHECK(hs.response.close_connection);
  h.broker.disconnect(d);
  h.broker.disconnect(a);
  CHECK(h.upgrade(d, "/websocket/?finger=d").accepted());
  (void)b;
  (void)c;

  Options p;
  p.max_connections_per_address = 2;
  Harness per(p);
  per.ws("/websocket/?finger=a");
  per.ws("/websocket/?finger=b");
  ConnectionId third{};
  CHECK(per.upgrade(third, "/websocket/?finger=c").response.status == 503);
  CHECK(per.upgrade(third, "/websocket/?finger=c", {}, "127.0.0.2").accepted());
  CHECK(per.metric("rendezvous_connections_refused_total", "reason=\"max_per_address\"") == 1);
}

TEST_CASE("GEN-12 keepalive: pings every interval, idle close 1001 within the bound") {
  Options o;
  o.ping_interval = std::chrono::seconds(1);
  o.idle_timeout = std::chrono::seconds(2);
  Harness h(o);
  ConnectionId quiet = h.ws("/websocket/?finger=q");
  ConnectionId alive = h.ws("/websocket/?finger=a");
  TimePoint start = h.clock.now;
  std::optional<TimePoint> closed_at;
  for (int i = 0; i < 100; ++i) {
    h.run_for(std::chrono::milliseconds(100));
    if (i % 5 == 0) h.broker.traffic(alive);
    if (!closed_at && h.closed(quiet)) closed_at = h.clock.now;
  }
  REQUIRE(closed_at);
  CHECK(*closed_at - start >= std::chrono::seconds(2));
  CHECK(*closed_at - start <= std::chrono::seconds(4));
  CHECK(h.closed(quiet)->code == 1001);
  CHECK(h.closed(quiet)->reason == "idle timeout");
  CHECK_FALSE(h.closed(alive));
  CHECK(h.transport.pings[static_cast<std::uint64_t>(alive)] >= 8);
}

TEST_CASE("GEN-13 invalid UTF-8 closes 1007 with no data message") {
  Harness h;
  ConnectionId a = h.ws("/websocket/?finger=a");
  h.text(a, "{\"to\":\"a\",\"from\":\"a\",\"x\":\"\xC3\x28\"}");
  REQUIRE(h.closed(a));
  CHECK(h.closed(a)->code == 1007);
  CHECK(h.received(a).empty());
}

TEST_CASE("GEN-06 GEN-07 token bucket: burst of 200, steady 90/s is never limited") {
  Harness h;
  ConnectionId a = h.ws("/websocket/?finger=a");
  for (int s = 0; s < 10; ++s) {
    for (int i = 0; i < 90; ++i) {
      h.text(a, R"({"to":"a","from":"a"})");
      h.clock.advance(std::chrono::milliseconds(11));
    }
  }
  CHECK_FALSE(h.closed(a));
  CHECK(h.received(a).size() == 900);
}

TEST_CASE("GEN-08 HTTP requests share a per-address bucket") {
  Harness h;
  int ok = 0, limited = 0;
  for (int i = 0; i < 400; ++i) {
    auto r = h.http("GET", "/websocket/?finger=x");  // a dialect path: 426 while tokens last
    if (r->status == 429) ++limited; else ++ok;
  }
  CHECK(ok == 200);
  CHECK(limited == 200);
  CHECK(h.http("GET", "/websocket/?finger=x", {}, {}, "127.0.0.2")->status == 426);
  CHECK(h.http("GET", "/healthz")->status == 200);  // server paths are not rate limited
}

TEST_CASE("GEN-18 back-pressure closes the slow receiver 1008, sender unaffected") {
  Options o;
  o.max_outbound_bytes = 64 * 1024;
  o.rate_limit.messages_per_second = 0;
  Harness h(o);
  ConnectionId a = h.ws("/websocket/?finger=a"), b = h.ws("/websocket/?finger=b");
  h.transport.grow_buffer = 1;  // b never reads
  std::string msg = R"({"to":"b","from":"a","pad":")" + std::string(1000, 'x') + "\"}";
  for (int i = 0; i < 100; ++i) h.text(a, msg);
  REQUIRE(h.closed(b));
  CHECK(h.closed(b)->code == 1008);
  CHECK(h.closed(b)->reason == "send queue full");
  CHECK_FALSE(h.closed(a));
  CHECK(h.metric("rendezvous_messages_dropped_total",
                 "dialect=\"fingersmith\",reason=\"send_queue_full\"") == 1);
  CHECK(h.received(b).size() < 100);
}

TEST_CASE("GEN-14 shutdown closes 1001 going away, refuses new requests, then finishes") {
  Harness h;
  ConnectionId a = h.ws("/websocket/?finger=a");
  h.broker.shutdown();
  REQUIRE(h.closed(a));
  CHECK(h.closed(a)->code == 1001);
  CHECK(h.closed(a)->reason == "going away");
  CHECK(h.http("GET", "/healthz")->status == 503);
  h.broker.disconnect(a);
  CHECK(h.broker.finished());
}

TEST_CASE("GEN-14 after shutdown_grace the remaining connections are dropped once, no deadline is left") {
  Harness h;
  ConnectionId a = h.ws("/websocket/?finger=a");  // closed 1001 at once
  ConnectionId silent = h.broker.open("127.0.0.1");  // no request yet: dropped at the end
  h.broker.shutdown();
  REQUIRE(h.broker.next_deadline());
  h.clock.advance(std::chrono::seconds(6));
  h.broker.on_timer();
  CHECK(h.transport.dropped == std::vector<ConnectionId>{silent});
  // A deadline left in the past would make a host's timer fire in a loop.
  auto next = h.broker.next_deadline();
  CHECK((!next || *next > h.clock.now));
  h.broker.on_timer();
  CHECK(h.transport.dropped.size() == 1);
  h.broker.disconnect(a);
  h.broker.disconnect(silent);
  CHECK(h.broker.finished());
  CHECK_FALSE(h.broker.next_deadline());
}

TEST_CASE("handshake timeout drops a connection that never sends a request") {
  Harness h;
  ConnectionId id = h.broker.open("127.0.0.1");
  h.run_for(std::chrono::seconds(11));
  REQUIRE(h.transport.dropped.size() == 1);
  CHECK(h.transport.dropped[0] == id);
}

TEST_CASE("a throwing transport detaches only that connection") {
  struct Throwing final : Transport {
    ConnectionId bad{};
    std::vector<std::string> delivered;
    std::vector<ConnectionId> drops;
    void send(ConnectionId id, std::string_view text, SendKind) override {
      if (id == bad) throw std::runtime_error("host failure");
      delivered.emplace_back(text);
    }
    void close(ConnectionId, std::uint16_t, std::string_view) override {}
    void respond(ConnectionId, const HttpResponse&) override {}
    void drop(ConnectionId id) override { drops.push_back(id); }
  } t;
  Options o;
  o.fingersmith.duplicate_ids = DuplicatePolicy::allow;
  Broker broker(t, o);
  auto open_ws = [&](const char* target) {
    ConnectionId id = broker.open("127.0.0.1");
    HttpRequest req;
    req.method = "GET";
    req.target = target;
    REQUIRE(broker.connect(id, req).accepted());
    return id;
  };
  ConnectionId a1 = open_ws("/websocket/?finger=a");
  ConnectionId a2 = open_ws("/websocket/?finger=a");
  ConnectionId b = open_ws("/websocket/?finger=b");
  t.bad = a1;
  CHECK_NOTHROW(broker.route(b, R"({"to":"a","from":"b"})"));
  CHECK(t.delivered.size() == 1);  // a2 still got its copy
  CHECK(t.drops == std::vector<ConnectionId>{a1});
  // a1 is detached: later messages reach only a2.
  broker.route(b, R"({"to":"a","from":"b"})");
  CHECK(t.delivered.size() == 2);
  (void)a2;
}

TEST_CASE("error codes carry the rendezvous category") {
  std::error_code ec = errc::duplicate_id;
  CHECK(std::string(ec.category().name()) == "rendezvous");
  CHECK(ec.message() == "identifier already in use");
  CHECK(ec == errc::duplicate_id);
}

TEST_CASE("invalid options throw std::invalid_argument") {
  RecordingTransport t;
  Options o;
  o.max_message_bytes = 0;
  CHECK_THROWS_AS(Broker(t, o), std::invalid_argument);
}

TEST_CASE("a close the host decided (1009 in its frame layer) is counted like the Broker's own") {
  Harness h;
  ConnectionId a = h.ws("/websocket/?finger=a");
  h.broker.disconnect(a, 1009);
  CHECK(h.metric("rendezvous_closes_total", "dialect=\"fingersmith\",code=\"1009\"") == 1);
  CHECK(h.metric("rendezvous_connections", "dialect=\"fingersmith\"") == 0);
  h.broker.disconnect(a, 1009);  // idempotent, counted once
  CHECK(h.metric("rendezvous_closes_total", "dialect=\"fingersmith\",code=\"1009\"") == 1);
}
