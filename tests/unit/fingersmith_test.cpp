// PROTOCOLS.md §2 through the recording transport. Test names cite the FS- cases.

#include "broker_harness.hpp"

#include <doctest/doctest.h>

using namespace rendezvous;
using namespace rendezvous::testing;

namespace {

const std::string alice = "/websocket/?finger=alice";
const std::string bob = "/websocket/?finger=bob";

double dropped(Harness& h, const std::string& reason) {
  return h.metric("rendezvous_messages_dropped_total",
                  "dialect=\"fingersmith\",reason=\"" + reason + "\"");
}

}  // namespace

TEST_CASE("FS-01 upgrade gets 101, no subprotocol, no data message") {
  Harness h;
  ConnectionId id{};
  Handshake hs = h.upgrade(id, alice, {{"Sec-WebSocket-Protocol", "chat"}});
  CHECK(hs.accepted());
  CHECK(hs.subprotocol.empty());
  h.run_for(std::chrono::seconds(2));
  CHECK(h.received(id).empty());
}

TEST_CASE("FS-02 /websocket without slash is accepted") {
  Harness h;
  ConnectionId id{};
  CHECK(h.upgrade(id, "/websocket?finger=alice").accepted());
}

TEST_CASE("FS-03 /websocket/x and other near paths are 404") {
  Harness h;
  for (std::string p : {"/websocket/x?finger=a", "/websockets?finger=a", "/WebSocket/?finger=a"}) {
    ConnectionId id{};
    CHECK(h.upgrade(id, p).response.status == 404);
  }
}

TEST_CASE("FS-04 missing or empty finger is 400") {
  Harness h;
  for (std::string p : {"/websocket/", "/websocket/?finger=", "/websocket/?finger",
                        "/websocket/?other=1"}) {
    ConnectionId id{};
    CHECK_MESSAGE(h.upgrade(id, p).response.status == 400, p);
  }
}

TEST_CASE("FS-05 finger is form-decoded, first occurrence wins") {
  Harness h;
  ConnectionId ab = h.ws("/websocket/?finger=a%20b");
  ConnectionId cd = h.ws("/websocket/?finger=c+d&finger=zz");
  h.text(cd, R"({"to":"a b","from":"c d"})");
  CHECK(h.received(ab) == std::vector<std::string>{R"({"to":"a b","from":"c d"})"});
  h.text(ab, R"({"to":"zz","from":"a b"})");
  CHECK(h.received(cd).empty());
  CHECK(dropped(h, "unknown_to") == 1);
  // The decoded id of the second socket is "c d".
  h.text(ab, R"({"to":"c d","from":"a b"})");
  CHECK(h.received(cd).size() == 1);
}

TEST_CASE("FS-06 finger length and characters") {
  Harness h;
  ConnectionId id{};
  CHECK(h.upgrade(id, "/websocket/?finger=" + std::string(256, 'f')).accepted());
  CHECK(h.upgrade(id, "/websocket/?finger=" + std::string(257, 'f')).response.status == 400);
  CHECK(h.upgrade(id, "/websocket/?finger=a%0Ab").response.status == 400);
  CHECK(h.upgrade(id, "/websocket/?finger=%zz").response.status == 400);
  CHECK(h.upgrade(id, "/websocket/?x=%zz&finger=ok").response.status == 400);
  CHECK(h.upgrade(id, "/websocket/?finger=%C3%28").response.status == 400);  // not UTF-8
}

TEST_CASE("FS-07 spoofed from is dropped silently, socket keeps working") {
  Harness h;
  ConnectionId a = h.ws(alice), b = h.ws(bob);
  h.text(a, R"({"to":"bob","from":"mallory"})");
  CHECK(h.received(b).empty());
  CHECK(h.received(a).empty());
  CHECK_FALSE(h.closed(a));
  CHECK(dropped(h, "from_mismatch") == 1);
  h.text(a, R"({"to":"bob","from":"alice"})");
  CHECK(h.received(b).size() == 1);
}

TEST_CASE("FS-08 missing or non-string from is dropped") {
  Harness h;
  ConnectionId a = h.ws(alice), b = h.ws(bob);
  h.text(a, R"({"to":"bob"})");
  h.text(a, R"({"to":"bob","from":5})");
  CHECK(h.received(b).empty());
  CHECK(h.received(a).empty());
  CHECK(dropped(h, "from_mismatch") == 2);
}

TEST_CASE("FS-09 verify_from off relays whatever from says") {
  Options o;
  o.fingersmith.verify_from = false;
  Harness h(o);
  ConnectionId a = h.ws(alice), b = h.ws(bob);
  h.text(a, R"({"to":"bob","from":"mallory"})");
  h.text(a, R"({"to":"bob"})");
  CHECK(h.received(b) ==
        std::vector<std::string>{R"({"to":"bob","from":"mallory"})", R"({"to":"bob"})"});
}

TEST_CASE("FS-10 verbatim relay keeps spacing, numbers and escapes") {
  Harness h;
  ConnectionId a = h.ws(alice), b = h.ws(bob);
  const std::string text =
      "{ \"type\":\"offer\" , \"to\":\"bob\",\"from\":\"alice\",\"n\":1.50,"
      " \"u\":\"\\u00e9\\/\", \"sdp\":\"v=0\\r\\n\" }";
  h.text(a, text);
  auto got = h.received(b);
  REQUIRE(got.size() == 1);
  CHECK(got[0] == text);
  CHECK(h.transport.log.back().send_kind == SendKind::relay);
}

TEST_CASE("FS-10 escaped to and from are decoded before comparison") {
  Harness h;
  ConnectionId a = h.ws(alice), b = h.ws(bob);
  h.text(a, R"({"\u0074o":"b\u006fb","from":"\u0061lice"})");
  CHECK(h.received(b).size() == 1);
}

TEST_CASE("FS-11 invalid JSON is dropped and counted") {
  Harness h;
  ConnectionId a = h.ws(alice);
  for (std::string bad : {R"({"to":)", R"({"to":"bob",})", "{'to':'bob'}", R"({"to":"bob"} x)",
                          "NaN", R"({"to":"b\x"})"}) {
    h.text(a, bad);
  }
  CHECK(dropped(h, "invalid_json") == 6);
  CHECK(h.received(a).empty());
  CHECK_FALSE(h.closed(a));
}

TEST_CASE("FS-11 nesting deeper than max_json_depth is invalid JSON") {
  Harness h;
  ConnectionId a = h.ws(alice), b = h.ws(bob);
  std::string deep63 = std::string(63, '[') + std::string(63, ']');
  std::string ok = R"({"to":"bob","from":"alice","d":)" + deep63 + "}";
  h.text(a, ok);
  CHECK(h.received(b).size() == 1);
  std::string deep64 = std::string(64, '[') + std::string(64, ']');
  h.text(a, R"({"to":"bob","from":"alice","d":)" + deep64 + "}");
  CHECK(h.received(b).empty());
  CHECK(dropped(h, "invalid_json") == 1);
}

TEST_CASE("FS-12 non-object, missing to and non-string to are missing_to") {
  Harness h;
  ConnectionId a = h.ws(alice);
  h.text(a, "[1,2]");
  h.text(a, R"({"from":"alice"})");
  h.text(a, R"({"to":7,"from":"alice"})");
  CHECK(dropped(h, "missing_to") == 3);
  CHECK(h.received(a).empty());
}

TEST_CASE("FS-13 duplicate to or from members are ambiguous") {
  Harness h;
  ConnectionId a = h.ws(alice), b = h.ws(bob), c = h.ws("/websocket/?finger=carol");
  h.text(a, R"({"to":"bob","to":"carol","from":"alice"})");
  h.text(a, R"({"to":"bob","from":"alice","from":"alice"})");
  CHECK(h.received(b).empty());
  CHECK(h.received(c).empty());
  CHECK(dropped(h, "ambiguous") == 2);
}

TEST_CASE("FS-14 unknown to is dropped and counted") {
  Harness h;
  ConnectionId a = h.ws(alice);
  h.text(a, R"({"to":"nobody","from":"alice"})");
  CHECK(h.received(a).empty());
  CHECK(dropped(h, "unknown_to") == 1);
}

TEST_CASE("FS-15 binary is dropped, socket stays open") {
  Harness h;
  ConnectionId a = h.ws(alice), b = h.ws(bob);
  h.binary(a, R"({"to":"bob","from":"alice"})");
  CHECK(h.received(b).empty());
  CHECK(dropped(h, "binary") == 1);
  CHECK_FALSE(h.closed(a));
  h.text(a, R"({"to":"bob","from":"alice"})");
  CHECK(h.received(b).size() == 1);
}

TEST_CASE("FS-16 message to one's own id comes back") {
  Harness h;
  ConnectionId a = h.ws(alice);
  h.text(a, R"({"to":"alice","from":"alice","x":1})");
  CHECK(h.received(a) == std::vector<std::string>{R"({"to":"alice","from":"alice","x":1})"});
  CHECK(h.metric("rendezvous_messages_relayed_total", "dialect=\"fingersmith\"") == 1);
}

TEST_CASE("FS-17 order is kept for 500 messages") {
  Options o;
  o.rate_limit.messages_per_second = 0;
  Harness h(o);
  ConnectionId a = h.ws(alice), b = h.ws(bob);
  for (int i = 1; i <= 500; ++i)
    h.text(a, R"({"to":"bob","from":"alice","n":)" + std::to_string(i) + "}");
  auto got = h.received(b);
  REQUIRE(got.size() == 500);
  for (int i = 1; i <= 500; ++i)
    CHECK(got[i - 1] == R"({"to":"bob","from":"alice","n":)" + std::to_string(i) + "}");
}

TEST_CASE("FS-18 reject mode: 409, holder unaffected, id free after close") {
  Harness h;
  ConnectionId a = h.ws(alice), b = h.ws(bob);
  ConnectionId dup{};
  Handshake hs = h.upgrade(dup, alice);
  CHECK(hs.response.status == 409);
  CHECK(hs.error == errc::duplicate_id);
  CHECK(h.metric("rendezvous_connections_refused_total", "reason=\"duplicate_id\"") == 1);
  h.text(b, R"({"to":"alice","from":"bob"})");
  CHECK(h.received(a).size() == 1);
  h.broker.disconnect(a);
  ConnectionId again{};
  CHECK(h.upgrade(again, alice).accepted());
  h.text(b, R"({"to":"alice","from":"bob"})");
  CHECK(h.received(again).size() == 1);
}

TEST_CASE("FS-19 replace mode: old holder closed 4000, messages go to the new one") {
  Options o;
  o.fingersmith.duplicate_ids = DuplicatePolicy::replace;
  Harness h(o);
  ConnectionId a1 = h.ws(alice), b = h.ws(bob);
  ConnectionId a2 = h.ws(alice);
  REQUIRE(h.closed(a1));
  CHECK(h.closed(a1)->code == 4000);
  CHECK(h.closed(a1)->reason == "replaced");
  CHECK(h.received(a1).empty());
  h.text(b, R"({"to":"alice","from":"bob"})");
  CHECK(h.received(a2).size() == 1);
  CHECK(h.received(a1).empty());
  h.broker.disconnect(a1);  // the host's later report is a no-op
  h.text(b, R"({"to":"alice","from":"bob"})");
  CHECK(h.received(a2).size() == 1);
}

TEST_CASE("FS-20 allow mode fans out, sender included") {
  Options o;
  o.fingersmith.duplicate_ids = DuplicatePolicy::allow;
  Harness h(o);
  ConnectionId a1 = h.ws(alice), a2 = h.ws(alice), b = h.ws(bob);
  h.text(b, R"({"to":"alice","from":"bob"})");
  CHECK(h.received(a1).size() == 1);
  CHECK(h.received(a2).size() == 1);
  h.text(a1, R"({"to":"alice","from":"alice"})");
  CHECK(h.received(a1).size() == 1);
  CHECK(h.received(a2).size() == 1);
  CHECK(h.metric("rendezvous_messages_relayed_total", "dialect=\"fingersmith\"") == 4);
}

TEST_CASE("FS-21 after bob leaves, messages to bob are unknown_to and alice hears nothing") {
  Harness h;
  ConnectionId a = h.ws(alice), b = h.ws(bob);
  h.broker.disconnect(b);
  h.text(a, R"({"to":"bob","from":"alice"})");
  CHECK(h.received(a).empty());
  CHECK(dropped(h, "unknown_to") == 1);
}

TEST_CASE("FS-24 a quiet connection answering pings gets only pings") {
  Options o;
  o.ping_interval = std::chrono::seconds(1);
  o.idle_timeout = std::chrono::seconds(2);
  Harness h(o);
  ConnectionId a = h.ws(alice);
  for (int i = 0; i < 20; ++i) {
    h.run_for(std::chrono::milliseconds(500));
    h.broker.traffic(a);  // the pong
  }
  CHECK_FALSE(h.closed(a));
  CHECK(h.received(a).empty());
  CHECK(h.transport.pings[static_cast<std::uint64_t>(a)] >= 8);
}

TEST_CASE("FS-25 oversize and rate-limit closes send no data message first") {
  Harness h;
  ConnectionId a = h.ws(alice);
  h.text(a, std::string(65537, ' '));
  REQUIRE(h.closed(a));
  CHECK(h.closed(a)->code == 1009);
  CHECK(h.closed(a)->reason == "message too big");
  CHECK(h.received(a).empty());

  ConnectionId b = h.ws(bob);
  for (int i = 0; i < 300 && !h.closed(b); ++i) h.text(b, R"({"to":"bob","from":"bob"})");
  REQUIRE(h.closed(b));
  CHECK(h.closed(b)->code == 1008);
  CHECK(h.closed(b)->reason == "rate limit");
  CHECK(h.received(b).size() == 200);  // exactly the burst was processed
}
