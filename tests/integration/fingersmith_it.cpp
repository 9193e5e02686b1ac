// fingersmith against the running rendezvous-server with real WebSocket clients.

#include "http_client.hpp"
#include "raw_ws.hpp"
#include "server_process.hpp"
#include "ws_client.hpp"

#include <doctest/doctest.h>

#include <memory>

using namespace rendezvous::testing;
using namespace std::chrono_literals;

namespace {

std::string msg(const std::string& to, const std::string& from, const std::string& rest = "") {
  return R"({"to":")" + to + R"(","from":")" + from + "\"" + rest + "}";
}

double metric(unsigned short port, const std::string& series) {
  auto r = http_get(port, "/metrics");
  auto pos = r.body.find(series + " ");
  if (pos == std::string::npos) return 0;
  return std::stod(r.body.substr(pos + series.size() + 1));
}

/// A server with alice and bob connected: the setup most cases start from.
struct AliceBob {
  explicit AliceBob(std::vector<std::string> args = {}) : server(std::move(args)) {
    REQUIRE(a.connect(server.ws_url("/websocket/?finger=alice")) == 101);
    REQUIRE(b.connect(server.ws_url("/websocket/?finger=bob")) == 101);
  }
  ServerProcess server;
  WsClient a, b;
};

}  // namespace

TEST_CASE("FS-01 FS-23 two unrupt-like peers exchange offer, answer and candidates") {
  ServerProcess server;
  WsClient alice, bob;
  REQUIRE(alice.connect(server.ws_url("/websocket/?finger=alice")) == 101);
  REQUIRE(bob.connect(server.ws_url("/websocket?finger=bob")) == 101);
  CHECK(alice.subprotocol().empty());
  CHECK(alice.silent_for(300ms));
  const std::string offer = msg("bob", "alice", R"(,"type":"offer","sdp":"v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\n","retry":0,"time":1700000000000)");
  const std::string answer = msg("alice", "bob", R"(,"type":"answer","sdp":"v=0\r\n","retry":0)");
  alice.send(offer);
  CHECK(bob.next_text() == offer);
  bob.send(answer);
  CHECK(alice.next_text() == answer);
  for (int i = 0; i < 5; ++i) {
    std::string c = msg("bob", "alice", R"(,"type":"candidate","sdp":{"candidate":"candidate:)" +
                                            std::to_string(i) + R"( 1 udp 2122260223 10.0.0.1 5000 typ host","sdpMid":"0"})");
    alice.send(c);
    CHECK(bob.next_text() == c);
  }
  CHECK(alice.silent_for(200ms));
  CHECK(bob.silent_for(200ms));
}

TEST_CASE("FS-18 duplicate id gets 409 and the first holder keeps working") {
  ServerProcess server;
  WsClient a1, a2, b;
  REQUIRE(a1.connect(server.ws_url("/websocket/?finger=alice")) == 101);
  CHECK(a2.connect(server.ws_url("/websocket/?finger=alice")) == 409);
  REQUIRE(b.connect(server.ws_url("/websocket/?finger=bob")) == 101);
  b.send(msg("alice", "bob"));
  CHECK(a1.next_text() == msg("alice", "bob"));
  a1.close();
  REQUIRE(a1.wait_close());
  WsClient a3;
  bool ok = false;
  for (int i = 0; i < 50 && !ok; ++i) {  // the server sees the close asynchronously
    WsClient attempt;
    ok = attempt.connect(server.ws_url("/websocket/?finger=alice")) == 101;
    if (!ok) std::this_thread::sleep_for(20ms);
  }
  CHECK(ok);
}

TEST_CASE("FS-07 FS-08 spoofed or missing from is not delivered and nothing comes back") {
  AliceBob ab;
  auto& a = ab.a;
  auto& b = ab.b;
  a.send(msg("bob", "mallory"));
  a.send(R"({"to":"bob"})");
  a.send(msg("bob", "alice", R"(,"n":3)"));
  CHECK(b.next_text() == msg("bob", "alice", R"(,"n":3)"));
  CHECK(b.silent_for(200ms));
  CHECK(a.silent_for(100ms));
}

TEST_CASE("FS-11 FS-14 FS-15 bad JSON, unknown to and binary are dropped, connection kept") {
  AliceBob ab;
  auto& server = ab.server;
  auto& a = ab.a;
  auto& b = ab.b;
  a.send(R"({"to":)");
  a.send(msg("nobody", "alice"));
  a.send_binary(msg("bob", "alice"));
  a.send(msg("bob", "alice", R"(,"after":true)"));
  CHECK(b.next_text() == msg("bob", "alice", R"(,"after":true)"));
  CHECK(a.silent_for(200ms));
  CHECK_FALSE(a.is_closed());
  CHECK(metric(server.port(), R"(rendezvous_messages_dropped_total{dialect="fingersmith",reason="invalid_json"})") == 1);
  CHECK(metric(server.port(), R"(rendezvous_messages_dropped_total{dialect="fingersmith",reason="unknown_to"})") == 1);
  CHECK(metric(server.port(), R"(rendezvous_messages_dropped_total{dialect="fingersmith",reason="binary"})") == 1);
}

TEST_CASE("GEN-03 FS-25 65536 bytes pass, 65537 close 1009 with no data message") {
  AliceBob ab;
  auto& a = ab.a;
  auto& b = ab.b;
  std::string head = msg("bob", "alice", R"(,"pad":")");
  std::string exact = head + std::string(65536 - head.size() - 2, 'x') + "\"}";
  REQUIRE(exact.size() == 65536);
  a.send(exact);
  CHECK(b.next_text() == exact);
  std::string over = head + std::string(65537 - head.size() - 2, 'x') + "\"}";
  a.send(over);
  auto c = a.wait_close();
  REQUIRE(c);
  CHECK(c->code == 1009);
  CHECK(a.silent_for(50ms));
  CHECK(b.silent_for(200ms));
}

TEST_CASE("FS-10 key order, whitespace and \\u escapes survive byte for byte") {
  AliceBob ab;
  auto& a = ab.a;
  auto& b = ab.b;
  const std::string text =
      "{ \"type\":\"offer\" , \"to\":\"bob\",\"from\":\"alice\",\"n\":1.50,"
      " \"u\":\"\\u00e9\\/\", \"sdp\":\"v=0\\r\\n\" }";
  a.send(text);
  CHECK(b.next_text() == text);
}

TEST_CASE("FS-22 GEN-04 fragments are reassembled; a fragmented oversize message closes 1009") {
  ServerProcess server;
  WsClient b;
  REQUIRE(b.connect(server.ws_url("/websocket/?finger=bob")) == 101);
  RawWs a;
  REQUIRE(a.open(server.port(), "/websocket/?finger=alice") == 101);
  std::string text = msg("bob", "alice", R"(,"sdp":"v=0 fragmented message body")");
  std::size_t q = text.size() / 4;
  a.send_frame(0x1, text.substr(0, q), false);
  a.send_frame(0x0, text.substr(q, q), false);
  a.send_frame(0x0, text.substr(2 * q, q), false);
  a.send_frame(0x0, text.substr(3 * q), true);
  CHECK(b.next_text() == text);

  RawWs big;
  REQUIRE(big.open(server.port(), "/websocket/?finger=carol") == 101);
  big.send_frame(0x1, std::string(40000, ' '), false);
  big.send_frame(0x0, std::string(40000, ' '), false);  // running total passes 65536
  Frame f = big.next();
  CHECK(f.opcode == 0x8);
  CHECK(f.close_code() == 1009);
}

TEST_CASE("GEN-13 invalid UTF-8 closes 1007") {
  ServerProcess server;
  RawWs a;
  REQUIRE(a.open(server.port(), "/websocket/?finger=alice") == 101);
  a.send_text("{\"to\":\"alice\",\"from\":\"alice\",\"x\":\"\xC3\x28\"}");
  Frame f = a.next();
  CHECK(f.opcode == 0x8);
  CHECK(f.close_code() == 1007);
}

TEST_CASE("200 peers connected at once all get their messages") {
  ServerProcess server;
  constexpr int n = 200;
  std::vector<std::unique_ptr<WsClient>> peers;
  for (int i = 0; i < n; ++i) {
    peers.push_back(std::make_unique<WsClient>());
    REQUIRE(peers.back()->connect(server.ws_url("/websocket/?finger=p" + std::to_string(i))) == 101);
  }
  for (int i = 0; i < n; ++i) {
    std::string to = "p" + std::to_string((i + 1) % n);
    peers[i]->send(msg(to, "p" + std::to_string(i), R"(,"i":)" + std::to_string(i)));
  }
  for (int i = 0; i < n; ++i) {
    int from = (i + n - 1) % n;
    CHECK(peers[i]->next_text() ==
          msg("p" + std::to_string(i), "p" + std::to_string(from), R"(,"i":)" + std::to_string(from)));
  }
}

TEST_CASE("server logs one line per connect and disconnect, never a body, and exits 0 on SIGTERM") {
  auto server = std::make_unique<ServerProcess>();
  {
    WsClient a;
    REQUIRE(a.connect(server->ws_url("/websocket/?finger=alice")) == 101);
    a.send(msg("alice", "alice", R"(,"sdp":"SECRET-SDP-BODY")"));
    CHECK(!a.next_text().empty());
    WsClient dup;
    CHECK(dup.connect(server->ws_url("/websocket/?finger=alice")) == 409);
    CHECK(server->stop(6s) == 0);
    auto c = a.wait_close(2s);
    REQUIRE(c);
    CHECK(c->code == 1001);
  }
  std::string log = server->log();
  CHECK(log.find("connect ") != std::string::npos);
  CHECK(log.find("refuse ") != std::string::npos);
  CHECK(log.find("code=409") != std::string::npos);
  CHECK(log.find("SECRET-SDP-BODY") == std::string::npos);
}

TEST_CASE("FS-02 FS-03 FS-04 FS-05 FS-06 handshake outcomes on the wire") {
  ServerProcess server;
  auto status = [&](const std::string& target) {
    WsClient c;
    return c.connect(server.ws_url(target));
  };
  CHECK(status("/websocket?finger=alice") == 101);
  CHECK(status("/websocket/x?finger=a") == 404);
  CHECK(status("/websocket/") == 400);
  CHECK(status("/websocket/?finger=") == 400);
  CHECK(status("/websocket/?other=1") == 400);
  CHECK(status("/websocket/?finger=" + std::string(256, 'f')) == 101);
  CHECK(status("/websocket/?finger=" + std::string(257, 'f')) == 400);
  CHECK(status("/websocket/?finger=a%0Ab") == 400);
  CHECK(status("/websocket/?finger=%zz") == 400);

  WsClient ab, cd;
  REQUIRE(ab.connect(server.ws_url("/websocket/?finger=a%20b")) == 101);
  REQUIRE(cd.connect(server.ws_url("/websocket/?finger=c+d&finger=zz")) == 101);
  cd.send(msg("a b", "c d"));
  CHECK(ab.next_text() == msg("a b", "c d"));
  ab.send(msg("zz", "a b"));
  CHECK(cd.silent_for(200ms));
  CHECK(metric(server.port(), R"(rendezvous_messages_dropped_total{dialect="fingersmith",reason="unknown_to"})") == 1);
}

TEST_CASE("FS-09 with verify_from off, a spoofed from is delivered verbatim") {
  AliceBob ab({"--fingersmith-verify-from", "false"});
  auto& a = ab.a;
  auto& b = ab.b;
  a.send(msg("bob", "mallory"));
  CHECK(b.next_text() == msg("bob", "mallory"));
  a.send(R"({"to":"bob"})");
  CHECK(b.next_text() == R"({"to":"bob"})");
}

TEST_CASE("FS-12 FS-13 FS-16 FS-21 drops and self-delivery on the wire") {
  ServerProcess server;
  WsClient a, b, c;
  REQUIRE(a.connect(server.ws_url("/websocket/?finger=alice")) == 101);
  REQUIRE(b.connect(server.ws_url("/websocket/?finger=bob")) == 101);
  REQUIRE(c.connect(server.ws_url("/websocket/?finger=carol")) == 101);
  a.send("[1,2]");
  a.send(R"({"from":"alice"})");
  a.send(R"({"to":7,"from":"alice"})");
  a.send(R"({"to":"bob","to":"carol","from":"alice"})");
  a.send(msg("alice", "alice", R"(,"self":1)"));
  CHECK(a.next_text() == msg("alice", "alice", R"(,"self":1)"));
  CHECK(b.silent_for(100ms));
  CHECK(c.silent_for(100ms));
  CHECK(metric(server.port(), R"(rendezvous_messages_dropped_total{dialect="fingersmith",reason="missing_to"})") == 3);
  CHECK(metric(server.port(), R"(rendezvous_messages_dropped_total{dialect="fingersmith",reason="ambiguous"})") == 1);
  b.close();
  REQUIRE(b.wait_close());
  std::this_thread::sleep_for(100ms);
  a.send(msg("bob", "alice"));
  CHECK(a.silent_for(300ms));
  CHECK(metric(server.port(), R"(rendezvous_messages_dropped_total{dialect="fingersmith",reason="unknown_to"})") == 1);
}

TEST_CASE("FS-17 500 messages as fast as the rate limit allows arrive in order") {
  AliceBob ab;
  auto& a = ab.a;
  auto& b = ab.b;
  // Burst 200, then 100/s: pace at 95/s after the burst so the bucket never empties.
  for (int i = 1; i <= 500; ++i) {
    a.send(msg("bob", "alice", R"(,"n":)" + std::to_string(i)));
    if (i > 190) std::this_thread::sleep_for(std::chrono::microseconds(10500));
  }
  for (int i = 1; i <= 500; ++i) {
    std::string got = b.next_text();
    REQUIRE(got == msg("bob", "alice", R"(,"n":)" + std::to_string(i)));
  }
  CHECK_FALSE(a.is_closed());
}

TEST_CASE("FS-19 replace mode: the first alice gets close 4000 replaced") {
  ServerProcess server({"--fingersmith-duplicate-ids", "replace"});
  WsClient a1, a2, b;
  REQUIRE(a1.connect(server.ws_url("/websocket/?finger=alice")) == 101);
  REQUIRE(b.connect(server.ws_url("/websocket/?finger=bob")) == 101);
  REQUIRE(a2.connect(server.ws_url("/websocket/?finger=alice")) == 101);
  auto c = a1.wait_close();
  REQUIRE(c);
  CHECK(c->code == 4000);
  CHECK(c->reason == "replaced");
  b.send(msg("alice", "bob"));
  CHECK(a2.next_text() == msg("alice", "bob"));
  CHECK_FALSE(a1.next(100ms));
}

TEST_CASE("FS-20 allow mode: both alices get messages to alice, the sender included") {
  ServerProcess server({"--fingersmith-duplicate-ids", "allow"});
  WsClient a1, a2, b;
  REQUIRE(a1.connect(server.ws_url("/websocket/?finger=alice")) == 101);
  REQUIRE(a2.connect(server.ws_url("/websocket/?finger=alice")) == 101);
  REQUIRE(b.connect(server.ws_url("/websocket/?finger=bob")) == 101);
  b.send(msg("alice", "bob"));
  CHECK(a1.next_text() == msg("alice", "bob"));
  CHECK(a2.next_text() == msg("alice", "bob"));
  a1.send(msg("alice", "alice"));
  CHECK(a1.next_text() == msg("alice", "alice"));
  CHECK(a2.next_text() == msg("alice", "alice"));
}
