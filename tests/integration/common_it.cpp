// The common rules of PROTOCOLS.md §1 and §6 against the running rendezvous-server, and the
// whole-server bad-input cases of issue 6: each abuse is bounded by a limit while a
// well-behaved pair of peers keeps relaying.
//
// Other dialects' parts of GEN-03/13/14/15/19 plug in through kWebSocketTargets (a 404 means
// "dialect not built in this tree" and is reported, not failed), expect_going_away() and
// metrics_free_of().

#include "http_client.hpp"
#include "raw_ws.hpp"
#include "server_process.hpp"
#include "ws_client.hpp"

#include <doctest/doctest.h>

#include <csignal>
#include <future>
#include <memory>
#include <thread>

using namespace rendezvous::testing;
using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;

namespace {

/// One upgrade target per WebSocket path of §6. Paths of a dialect missing from the build
/// answer 404 and are skipped with a message.
const std::vector<std::string> kWebSocketTargets = {
    "/websocket/?finger=gen-probe",
    "/websocket?finger=gen-probe-2",
    "/register_device",
    "/connect_client",
    "/room/gen-probe/websocket",
};

std::string fs_msg(const std::string& to, const std::string& from, const std::string& rest = "") {
  return R"({"to":")" + to + R"(","from":")" + from + "\"" + rest + "}";
}

std::string metrics_body(unsigned short port) { return http_get(port, "/metrics").body; }

/// Value of one Prometheus sample, 0 when absent.
double metric(unsigned short port, const std::string& series) {
  std::string body = metrics_body(port);
  auto pos = body.find("\n" + series + " ");
  if (pos == std::string::npos) return 0;
  return std::stod(body.substr(pos + series.size() + 2));
}

/// GEN-19: none of `secrets` appears in GET /metrics.
void metrics_free_of(unsigned short port, const std::vector<std::string>& secrets) {
  auto r = http_get(port, "/metrics");
  REQUIRE(r.status == 200);
  for (const auto& s : secrets) CHECK_MESSAGE(r.body.find(s) == std::string::npos, s);
}

/// Opens `target` on a RawWs. False when the path's dialect is not in this build (404).
bool open_or_skip(RawWs& ws, unsigned short port, const std::string& target) {
  int status = ws.open(port, target);
  if (status == 404) {
    MESSAGE("skipped " << target << ": dialect not built");
    return false;
  }
  REQUIRE_MESSAGE(status == 101, target);
  return true;
}

/// GEN-14: the next thing on `ws` is close 1001 "going away", no data message first.
void expect_going_away(WsClient& ws, const std::string& what) {
  auto c = ws.wait_close(3s);
  REQUIRE_MESSAGE(c, what);
  CHECK_MESSAGE(c->code == 1001, what);
  CHECK_MESSAGE(c->reason == "going away", what);
  CHECK_MESSAGE(!ws.next(0ms), what);
}

/// Reads frames until Close or EOF, answering pings; counts data messages on the way.
Frame read_until_close(RawWs& ws, std::chrono::milliseconds limit, int* data_messages = nullptr) {
  auto deadline = SteadyClock::now() + limit;
  while (SteadyClock::now() < deadline) {
    Frame f = ws.next(std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - SteadyClock::now()));
    if (f.opcode == 0x8 || f.opcode == -2) return f;
    if (f.opcode >= 0 && data_messages) ++*data_messages;
  }
  return Frame{};
}

/// A well-behaved fingersmith pair: each call to relays() sends one numbered message each
/// way and checks both arrive intact. Used to show abuse does not hurt other peers.
class RelayPair {
 public:
  RelayPair(const ServerProcess& server, const std::string& tag)
      : a_id_(tag + "-a"), b_id_(tag + "-b") {
    REQUIRE(a_.connect(server.ws_url("/websocket/?finger=" + a_id_)) == 101);
    REQUIRE(b_.connect(server.ws_url("/websocket/?finger=" + b_id_)) == 101);
  }
  bool relays() {
    ++n_;
    std::string ab = fs_msg(b_id_, a_id_, R"(,"n":)" + std::to_string(n_));
    std::string ba = fs_msg(a_id_, b_id_, R"(,"n":)" + std::to_string(n_));
    a_.send(ab);
    b_.send(ba);
    return b_.next_text(3s) == ab && a_.next_text(3s) == ba;
  }

 private:
  std::string a_id_, b_id_;
  WsClient a_, b_;
  int n_ = 0;
};

std::string oversize_text(std::size_t n) {
  std::string head = fs_msg("gen-nobody", "gen-probe", R"(,"pad":")");
  return head + std::string(n - head.size() - 2, 'x') + "\"}";
}

}  // namespace

TEST_CASE("GEN-03 65536 bytes relay intact; 65537 get close 1009 \"message too big\" on every path") {
  ServerProcess server;
  WsClient a, b;
  REQUIRE(a.connect(server.ws_url("/websocket/?finger=alice")) == 101);
  REQUIRE(b.connect(server.ws_url("/websocket/?finger=bob")) == 101);
  std::string head = fs_msg("bob", "alice", R"(,"pad":")");
  std::string exact = head + std::string(65536 - head.size() - 2, 'x') + "\"}";
  REQUIRE(exact.size() == 65536);
  a.send(exact);
  CHECK(b.next_text() == exact);

  int closed = 0;
  for (const auto& target : kWebSocketTargets) {
    RawWs ws;
    if (!open_or_skip(ws, server.port(), target)) continue;
    ws.send_text(oversize_text(65537));
    int data = 0;
    Frame f = read_until_close(ws, 3s, &data);
    CHECK_MESSAGE(f.opcode == 0x8, target);
    CHECK_MESSAGE(f.close_code() == 1009, target);
    CHECK_MESSAGE(f.close_reason() == "message too big", target);
    CHECK_MESSAGE(data == 0, target);
    ++closed;
  }
  CHECK_FALSE(a.is_closed());
  // websocketpp decided those closes; the adapter reports them, so they are counted (§6).
  double counted = 0;
  for (int i = 0; i < 40 && counted < closed; ++i) {
    counted = 0;
    for (const char* d : {"fingersmith", "cuttlefish", "rooms"})
      counted += metric(server.port(), std::string("rendezvous_closes_total{dialect=\"") + d +
                                           "\",code=\"1009\"}");
    if (counted < closed) std::this_thread::sleep_for(50ms);
  }
  CHECK(counted == closed);
}

TEST_CASE("GEN-04 fragments passing 65536 bytes close 1009 before the final fragment") {
  ServerProcess server;
  RawWs ws;
  REQUIRE(ws.open(server.port(), "/websocket/?finger=carol") == 101);
  ws.send_frame(0x1, std::string(40000, ' '), false);
  ws.send_frame(0x0, std::string(30000, ' '), false);  // running total 70000: no FIN sent
  Frame f = read_until_close(ws, 3s);
  REQUIRE(f.opcode == 0x8);
  CHECK(f.close_code() == 1009);
  CHECK(f.close_reason() == "message too big");
}

TEST_CASE("GEN-06 1000 messages back to back: close 1008 \"rate limit\" after at least 200 relays") {
  ServerProcess server;
  WsClient bob;
  REQUIRE(bob.connect(server.ws_url("/websocket/?finger=bob")) == 101);
  RawWs alice;
  REQUIRE(alice.open(server.port(), "/websocket/?finger=alice") == 101);
  for (int i = 1; i <= 1000; ++i)
    if (!alice.send_text(fs_msg("bob", "alice", R"(,"n":)" + std::to_string(i)))) break;
  int data = 0;
  Frame f = read_until_close(alice, 5s, &data);
  REQUIRE(f.opcode == 0x8);
  CHECK(f.close_code() == 1008);
  CHECK(f.close_reason() == "rate limit");
  CHECK(data == 0);
  int relayed = 0;
  while (auto m = bob.next(500ms)) {
    ++relayed;
    CHECK(m->text == fs_msg("bob", "alice", R"(,"n":)" + std::to_string(relayed)));
  }
  CHECK(relayed >= 200);
  CHECK(relayed < 1000);
  CHECK(metric(server.port(), R"(rendezvous_closes_total{dialect="fingersmith",code="1008"})") == 1);
}

TEST_CASE("GEN-07 90 messages per second for 10 s are all relayed and never closed") {
  ServerProcess server;
  WsClient alice, bob;
  REQUIRE(alice.connect(server.ws_url("/websocket/?finger=alice")) == 101);
  REQUIRE(bob.connect(server.ws_url("/websocket/?finger=bob")) == 101);
  auto start = SteadyClock::now();
  for (int i = 1; i <= 900; ++i) {
    std::this_thread::sleep_until(start + std::chrono::microseconds(11112) * (i - 1));
    alice.send(fs_msg("bob", "alice", R"(,"n":)" + std::to_string(i)));
  }
  int received = 0;
  bool in_order = true;
  while (auto m = bob.next(1s)) {
    ++received;
    in_order = in_order && m->text == fs_msg("bob", "alice", R"(,"n":)" + std::to_string(received));
  }
  CHECK(received == 900);
  CHECK(in_order);
  CHECK_FALSE(alice.is_closed());
}

TEST_CASE("GEN-09 with --max-connections 3 the fourth connection gets 503 until one closes") {
  ServerProcess server({"--max-connections", "3"});
  WsClient a, b, c;
  REQUIRE(a.connect(server.ws_url("/websocket/?finger=a")) == 101);
  REQUIRE(b.connect(server.ws_url("/websocket/?finger=b")) == 101);
  REQUIRE(c.connect(server.ws_url("/websocket/?finger=c")) == 101);
  WsClient d;
  CHECK(d.connect(server.ws_url("/websocket/?finger=d")) == 503);
  CHECK(http_get(server.port(), "/healthz").status == 503);
  a.close();
  REQUIRE(a.wait_close());
  bool ok = false;
  for (int i = 0; i < 50 && !ok; ++i) {  // the server sees a's close asynchronously
    WsClient attempt;
    ok = attempt.connect(server.ws_url("/websocket/?finger=e")) == 101;
    if (!ok) std::this_thread::sleep_for(20ms);
  }
  CHECK(ok);
}

TEST_CASE("GEN-10 with --max-connections-per-address 2 a third from 127.0.0.1 gets 503, 127.0.0.2 is served") {
  ServerProcess server({"--max-connections-per-address", "2"});
  RawWs a, b, c, other;
  REQUIRE(a.open(server.port(), "/websocket/?finger=a") == 101);
  REQUIRE(b.open(server.port(), "/websocket/?finger=b") == 101);
  CHECK(c.open(server.port(), "/websocket/?finger=c") == 503);
  CHECK(other.open(server.port(), "/websocket/?finger=o", {}, "127.0.0.2") == 101);
  HttpCall call;
  call.target = "/metrics";
  call.local_address = "127.0.0.3";
  auto m = http_request(server.port(), call);
  CHECK(m.body.find(R"(rendezvous_connections_refused_total{reason="max_per_address"} 1)") !=
        std::string::npos);
}

TEST_CASE("GEN-10 answered HTTP requests release their connection slot") {
  ServerProcess server({"--max-connections-per-address", "2"});
  for (int i = 0; i < 20; ++i) CHECK_MESSAGE(http_get(server.port(), "/healthz").status == 200, i);
  RawWs a, b;
  CHECK(a.open(server.port(), "/websocket/?finger=a") == 101);
  CHECK(b.open(server.port(), "/websocket/?finger=b") == 101);
}

TEST_CASE("GEN-11 --allowed-origin: other origins 403, case-insensitive match and no Origin 101, /healthz exempt") {
  ServerProcess server({"--allowed-origin", "https://a.example"});
  WsClient evil, upper, none;
  CHECK(evil.connect(server.ws_url("/websocket/?finger=e"),
                     WsOptions{{{"Origin", "https://evil.example"}}, {}, true}) == 403);
  CHECK(upper.connect(server.ws_url("/websocket/?finger=u"),
                      WsOptions{{{"Origin", "https://A.example"}}, {}, true}) == 101);
  CHECK(none.connect(server.ws_url("/websocket/?finger=n")) == 101);
  CHECK(http_get(server.port(), "/healthz", {{"Origin", "https://evil.example"}}).status == 200);
}

TEST_CASE("GEN-12 keepalive (ping 0.5 s, idle 1 s: every bound halved)") {
  ServerProcess server({"--ping-interval", "0.5", "--idle-timeout", "1"});
  WsClient alive;
  REQUIRE(alive.connect(server.ws_url("/websocket/?finger=alive")) == 101);
  auto alive_since = SteadyClock::now();
  RawWs quiet;
  REQUIRE(quiet.open(server.port(), "/websocket/?finger=quiet") == 101);
  quiet.send_text(fs_msg("nobody", "quiet"));  // its last frame
  auto last_frame = SteadyClock::now();
  Frame f = quiet.next(4s, /*answer_pings=*/false);
  double after = std::chrono::duration<double>(SteadyClock::now() - last_frame).count();
  REQUIRE(f.opcode == 0x8);
  CHECK(f.close_code() == 1001);
  CHECK(f.close_reason() == "idle timeout");
  CHECK(after >= 0.98);
  CHECK(after <= 2.0);

  // Open 5 s (10 s halved) answering pings only: still open, at least 8 pings, no data.
  CHECK(alive.silent_for(std::chrono::duration_cast<std::chrono::milliseconds>(
      alive_since + 5s - SteadyClock::now())));
  CHECK_FALSE(alive.is_closed());
  CHECK(alive.pings() >= 8);
}

TEST_CASE("GEN-13 invalid UTF-8 gets close 1007 with no data message, on every path") {
  ServerProcess server;
  for (const auto& target : kWebSocketTargets) {
    RawWs ws;
    if (!open_or_skip(ws, server.port(), target)) continue;
    ws.send_text("{\"to\":\"gen-probe\",\"from\":\"gen-probe\",\"x\":\"\xC3\x28\"}");
    int data = 0;
    Frame f = read_until_close(ws, 3s, &data);
    CHECK_MESSAGE(f.opcode == 0x8, target);
    CHECK_MESSAGE(f.close_code() == 1007, target);
    CHECK_MESSAGE(f.close_reason() == "invalid utf-8", target);
    CHECK_MESSAGE(data == 0, target);
  }
}

TEST_CASE("GEN-14 SIGTERM: close 1001 going away, new connections refused, exit 0 within grace + 1 s") {
  ServerProcess server({"--shutdown-grace", "2"});
  WsClient alice, bob;
  REQUIRE(alice.connect(server.ws_url("/websocket/?finger=alice")) == 101);
  REQUIRE(bob.connect(server.ws_url("/websocket/?finger=bob")) == 101);
  // A connection with no request yet keeps the server inside its grace period, so the
  // refusal of new connections can be observed.
  Socket idle(server.port());
  auto start = SteadyClock::now();
  REQUIRE(kill(server.pid(), SIGTERM) == 0);
  expect_going_away(alice, "fingersmith alice");
  expect_going_away(bob, "fingersmith bob");
  std::this_thread::sleep_for(100ms);
  bool refused = false;
  try {
    Socket late(server.port());
  } catch (const std::runtime_error&) {
    refused = true;
  }
  CHECK(refused);
  int status = server.stop(5s);
  double took = std::chrono::duration<double>(SteadyClock::now() - start).count();
  CHECK(status == 0);
  CHECK(took <= 3.0);
}

TEST_CASE("GEN-15 a plain GET on every WebSocket-only path gets 426 with Upgrade: websocket") {
  ServerProcess server;
  for (const auto& target : kWebSocketTargets) {
    auto r = http_get(server.port(), target);
    if (r.status == 404) {
      MESSAGE("skipped " << target << ": dialect not built");
      continue;
    }
    CHECK_MESSAGE(r.status == 426, target);
    CHECK_MESSAGE(r.header("Upgrade") == std::optional<std::string>("websocket"), target);
  }
}

TEST_CASE("GEN-16 unknown paths and disabled dialects answer 404") {
  ServerProcess server({"--disable", "rooms"});
  CHECK(http_get(server.port(), "/nope").status == 404);
  RawWs ws;
  CHECK(ws.open(server.port(), "/room/a/websocket") == 404);
  RawWs fs;
  CHECK(fs.open(server.port(), "/websocket/x?finger=a") == 404);
}

TEST_CASE("GEN-18 a receiver that never reads is cut off at --max-outbound-bytes; the sender goes on") {
  ServerProcess server({"--max-outbound-bytes", "65536", "--rate-limit", "0"});
  WsClient alice, carol;
  REQUIRE(alice.connect(server.ws_url("/websocket/?finger=alice")) == 101);
  REQUIRE(carol.connect(server.ws_url("/websocket/?finger=carol")) == 101);
  RawWs bob;  // never reads until the end
  REQUIRE(bob.open(server.port(), "/websocket/?finger=bob") == 101);
  std::string head = fs_msg("bob", "alice", R"(,"pad":")");
  std::string big = head + std::string(60000 - head.size() - 2, 'x') + "\"}";
  const int count = (16 << 20) / 60000 + 1;  // 16 MiB
  for (int i = 0; i < count; ++i) alice.send(big);
  std::string probe = fs_msg("carol", "alice", R"(,"after":true)");
  alice.send(probe);
  CHECK(carol.next_text(10s) == probe);  // the sender still relays
  CHECK_FALSE(alice.is_closed());
  CHECK(metric(server.port(),
               R"(rendezvous_messages_dropped_total{dialect="fingersmith",reason="send_queue_full"})") == 1);
  CHECK(metric(server.port(), R"(rendezvous_closes_total{dialect="fingersmith",code="1008"})") == 1);
  // Draining now shows the cut: a Close 1008 "send queue full" (or the TCP end once the
  // server gave up waiting), after fewer messages than were sent.
  int data = 0;
  Frame f = read_until_close(bob, 15s, &data);
  CHECK((f.opcode == 0x8 || f.opcode == -2));
  if (f.opcode == 0x8) {
    CHECK(f.close_code() == 1008);
    CHECK(f.close_reason() == "send queue full");
  }
  CHECK(data < count);
}

TEST_CASE("GEN-19 fingersmith: finger zz-secret-finger never appears in /metrics") {
  ServerProcess server;
  WsClient s, other;
  REQUIRE(s.connect(server.ws_url("/websocket/?finger=zz-secret-finger")) == 101);
  REQUIRE(other.connect(server.ws_url("/websocket/?finger=zz-secret-finger-2")) == 101);
  WsClient dup;
  CHECK(dup.connect(server.ws_url("/websocket/?finger=zz-secret-finger")) == 409);
  s.send(fs_msg("zz-secret-finger-2", "zz-secret-finger"));
  CHECK(!other.next_text().empty());
  s.send(fs_msg("zz-secret-finger-missing", "zz-secret-finger"));  // unknown_to
  s.send(fs_msg("zz-secret-finger-2", "zz-secret-spoof"));         // from_mismatch
  s.send_binary("zz-secret-finger");                                // binary
  CHECK(s.silent_for(200ms));
  metrics_free_of(server.port(), {"zz-secret"});
}

namespace {

// RFC 7517 §A.1 example key (the EC1 vector of PROTOCOLS.md §4.3).
const std::string kEc1 =
    R"({"kty":"EC","crv":"P-256","x":"MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4",)"
    R"("y":"4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM"})";
// RFC 8037 §A.2 example key (OKP1).
const std::string kOkp1 =
    R"({"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"})";

std::string register_key(const std::string& jwk) {
  return R"({"type":"register","publicKey":)" + jwk + "}";
}

}  // namespace

TEST_CASE("GEN-14 every dialect: WebSockets get 1001 going away with no dialect message, a waiting mailbox GET gets the empty response") {
  ServerProcess server({"--shutdown-grace", "2"});
  WsClient finger, device, client, peer1, peer2;
  REQUIRE(finger.connect(server.ws_url("/websocket/?finger=alice")) == 101);
  REQUIRE(device.connect(server.ws_url("/register_device")) == 101);
  device.send(R"({"message_type":"register","device_id":"dev1"})");
  REQUIRE(device.next_text().find("config") != std::string::npos);
  REQUIRE(client.connect(server.ws_url("/connect_client")) == 101);
  client.send(R"({"message_type":"connect","device_id":"dev1"})");
  REQUIRE(client.next_text().find("config") != std::string::npos);
  REQUIRE(client.next_text().find("device_info") != std::string::npos);
  REQUIRE(peer1.connect(server.ws_url("/room/lobby/websocket")) == 101);
  REQUIRE(peer2.connect(server.ws_url("/room/lobby/websocket")) == 101);
  peer1.send(register_key(kEc1));
  REQUIRE(peer1.next_text().find("welcome") != std::string::npos);
  peer2.send(register_key(kOkp1));
  REQUIRE(peer2.next_text().find("welcome") != std::string::npos);
  REQUIRE(peer1.next_text().find("peer-joined") != std::string::npos);

  // A long poll waiting on alice's inbox.
  auto poll = std::async(std::launch::async, [&] {
    HttpCall c;
    c.target = "/inbox";
    c.headers = {{"Authorization", basic_auth("alice:secret")}};
    return http_request(server.port(), c);
  });
  std::this_thread::sleep_for(300ms);  // let the GET reach the server and start waiting

  auto start = SteadyClock::now();
  REQUIRE(kill(server.pid(), SIGTERM) == 0);
  // expect_going_away also checks that no data message (peer-left, client_disconnected,
  // Device disconnected) came before the Close.
  expect_going_away(finger, "fingersmith");
  expect_going_away(device, "cuttlefish device");
  expect_going_away(client, "cuttlefish client");
  expect_going_away(peer1, "rooms peer 1");
  expect_going_away(peer2, "rooms peer 2");
  HttpResult r = poll.get();
  CHECK(r.status == 200);
  CHECK(r.body.empty());
  REQUIRE(r.header("X-From"));
  CHECK(r.header("X-From")->empty());
  CHECK_MESSAGE(server.stop(5s) == 0, server.log());
  CHECK(std::chrono::duration<double>(SteadyClock::now() - start).count() <= 3.0);
}

TEST_CASE("GEN-19 every dialect: finger, device id, room name and user name never appear in /metrics") {
  ServerProcess server({"--mailbox-long-polling", "false"});
  WsClient finger, device, client, peer;
  REQUIRE(finger.connect(server.ws_url("/websocket/?finger=zz-secret-finger")) == 101);
  finger.send(fs_msg("zz-secret-finger", "zz-secret-finger"));
  CHECK(!finger.next_text().empty());
  REQUIRE(device.connect(server.ws_url("/register_device")) == 101);
  device.send(R"({"message_type":"register","device_id":"zz-secret-device"})");
  CHECK(!device.next_text().empty());
  REQUIRE(client.connect(server.ws_url("/connect_client")) == 101);
  client.send(R"({"message_type":"connect","device_id":"zz-secret-device"})");
  CHECK(!client.next_text().empty());
  REQUIRE(peer.connect(server.ws_url("/room/zz-secret-room/websocket")) == 101);
  peer.send(register_key(kEc1));
  CHECK(!peer.next_text().empty());
  HttpCall post;
  post.method = "POST";
  post.target = "/inbox?to=zz-secret-user";
  post.headers = {{"Authorization", basic_auth("zz-secret-user:zz-secret-password")}};
  post.body = "hello";
  HttpCall get;
  get.target = "/inbox";
  get.headers = post.headers;
  CHECK(http_request(server.port(), get).status == 200);  // claims the name
  CHECK(http_request(server.port(), post).status == 200);  // a message to oneself
  CHECK(http_request(server.port(), get).body == "hello");
  CHECK(metric(server.port(), "rendezvous_inboxes") == 1);
  CHECK(metric(server.port(), "rendezvous_devices") == 1);
  CHECK(metric(server.port(), "rendezvous_rooms") == 1);
  metrics_free_of(server.port(), {"zz-secret", "a352193f3ae0e845"});
}

// ---- Bad input at the level of the whole server (issue 6) ------------------------------

TEST_CASE("half-open TCP connections and slow-loris heads are dropped at --handshake-timeout") {
  ServerProcess server({"--handshake-timeout", "1"});
  RelayPair pair(server, "steady");
  Socket silent(server.port());
  Socket loris(server.port());
  loris.write_all("GET /healthz HTTP/1.1\r\nHost: x\r\n");
  auto start = SteadyClock::now();
  std::string got;
  bool loris_dropped = false;
  while (SteadyClock::now() - start < 3s && !loris_dropped) {
    if (!loris.write_all("X-Slow: 1\r\n")) loris_dropped = true;
    if (!loris.read_some(got, SteadyClock::now() + 200ms)) loris_dropped = true;
    CHECK(pair.relays());
  }
  double loris_after = std::chrono::duration<double>(SteadyClock::now() - start).count();
  CHECK(loris_dropped);
  CHECK(got.empty());  // no response
  CHECK(loris_after >= 0.9);
  CHECK(loris_after <= 2.5);
  CHECK(silent.wait_eof(1500ms));
  CHECK(pair.relays());
}

TEST_CASE("request heads: 15 KiB served, over 16 KiB answered 431, peers unaffected") {
  ServerProcess server;
  RelayPair pair(server, "steady");
  auto ok = http_get(server.port(), "/healthz", {{"X-Pad", std::string(15 * 1024, 'p')}});
  CHECK(ok.status == 200);
  for (std::size_t pad : {std::size_t(16 * 1024), std::size_t(64 * 1024)}) {
    auto r = http_get(server.port(), "/healthz", {{"X-Pad", std::string(pad, 'p')}});
    CHECK_MESSAGE(r.status == 431, pad);
    RawWs ws;
    CHECK_MESSAGE(ws.open(server.port(), "/websocket/?finger=big", {{"X-Pad", std::string(pad, 'p')}}) == 431, pad);
  }
  CHECK(pair.relays());
}

TEST_CASE("GEN-09 a flood of upgrades is bounded by --max-connections; the pair keeps relaying") {
  ServerProcess server({"--max-connections", "20"});
  RelayPair pair(server, "steady");
  std::vector<std::unique_ptr<RawWs>> flood;
  int accepted = 0, refused = 0;
  for (int i = 0; i < 60; ++i) {
    flood.push_back(std::make_unique<RawWs>());
    int status = flood.back()->open(server.port(), "/websocket/?finger=flood" + std::to_string(i));
    accepted += status == 101;
    refused += status == 503;
    if (i % 10 == 0) CHECK(pair.relays());
  }
  CHECK(accepted == 18);  // 20 minus the pair
  CHECK(refused == 42);
  CHECK(pair.relays());
}

TEST_CASE("GEN-06 a flood of messages from several clients is bounded by the rate limit; the pair keeps relaying") {
  ServerProcess server;
  RelayPair pair(server, "steady");
  std::vector<std::unique_ptr<RawWs>> flooders;
  for (int i = 0; i < 5; ++i) {
    flooders.push_back(std::make_unique<RawWs>());
    REQUIRE(flooders.back()->open(server.port(), "/websocket/?finger=f" + std::to_string(i)) == 101);
  }
  for (auto& f : flooders) {
    for (int n = 0; n < 1000; ++n) f->send_text(fs_msg("steady-a", "nobody"));  // from_mismatch
    CHECK(pair.relays());
  }
  for (auto& f : flooders) {
    Frame c = read_until_close(*f, 5s);
    CHECK(c.opcode == 0x8);
    CHECK(c.close_code() == 1008);
  }
  CHECK(pair.relays());
}

TEST_CASE("GEN-18 a client that never reads is bounded by --max-outbound-bytes; the pair keeps relaying") {
  ServerProcess server({"--max-outbound-bytes", "65536", "--rate-limit", "0"});
  RelayPair pair(server, "steady");
  WsClient alice;
  REQUIRE(alice.connect(server.ws_url("/websocket/?finger=alice")) == 101);
  RawWs sink;  // never reads
  REQUIRE(sink.open(server.port(), "/websocket/?finger=sink") == 101);
  std::string head = fs_msg("sink", "alice", R"(,"pad":")");
  std::string big = head + std::string(60000 - head.size() - 2, 'x') + "\"}";
  for (int i = 0; i < 300; ++i) {
    alice.send(big);
    if (i % 50 == 0) CHECK(pair.relays());
  }
  CHECK(pair.relays());
  CHECK(metric(server.port(),
               R"(rendezvous_messages_dropped_total{dialect="fingersmith",reason="send_queue_full"})") == 1);
}
