// PROTOCOLS.md §3 through the recording transport and a fake clock. Test names cite the CF-
// cases (and GEN-01, GEN-05, GEN-17, which the cuttlefish dialect carries).

#include "broker_harness.hpp"
#include "cuttlefish_messages.hpp"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <doctest/doctest.h>

#include <regex>
#include <set>

using namespace rendezvous;
using namespace rendezvous::testing;
using namespace std::chrono_literals;

namespace {

rapidjson::Document parse(const std::string& text) {
  rapidjson::Document d;
  d.Parse<rapidjson::kParseFullPrecisionFlag>(text.data(), text.size());
  REQUIRE_MESSAGE(!d.HasParseError(), text);
  return d;
}

/// Deep equality of two JSON texts (member order ignored).
bool same_json(const std::string& a, const std::string& b) { return parse(a) == parse(b); }

std::string error_json(const std::string& text) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  w.StartObject();
  w.Key("error");
  w.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
  w.EndObject();
  return buffer.GetString();
}

/// `messages` is exactly one error message with `text`.
void check_error(const std::vector<std::string>& messages, const std::string& text) {
  REQUIRE(messages.size() == 1);
  CHECK(same_json(messages[0], error_json(text)));
}

void check_closed(Harness& h, ConnectionId id, std::uint16_t code = 1000) {
  auto c = h.closed(id);
  REQUIRE(c);
  CHECK(c->code == code);
}

const std::string config_empty = R"({"message_type":"config","ice_servers":[]})";
const std::string cors_headers =
    "Content-Type, Access-Control-Allow-Headers, Authorization, X-Requested-With, Accept";

std::string register_msg(const std::string& id, const std::string& info = "") {
  return R"({"message_type":"register","device_id":")" + id + "\"" +
         (info.empty() ? "" : ",\"device_info\":" + info) + "}";
}

ConnectionId device(Harness& h, const std::string& id = "dev1", const std::string& info = "") {
  ConnectionId d = h.ws("/register_device");
  h.text(d, register_msg(id, info));
  auto got = h.received(d);
  REQUIRE(got.size() == 1);
  REQUIRE(parse(got[0])["message_type"] == "config");
  return d;
}

ConnectionId client(Harness& h, const std::string& id = "dev1") {
  ConnectionId c = h.ws("/connect_client");
  h.text(c, R"({"message_type":"connect","device_id":")" + id + "\"}");
  auto got = h.received(c);
  REQUIRE(got.size() == 2);
  REQUIRE(parse(got[1])["message_type"] == "device_info");
  return c;
}





HttpResponse post(Harness& h, const std::string& path, const std::string& body) {
  auto r = h.http("POST", path, {{"Content-Type", "application/json"}}, body);
  REQUIRE(r);
  return *r;
}

HttpResponse get(Harness& h, const std::string& path) {
  auto r = h.http("GET", path);
  REQUIRE(r);
  return *r;
}

void check_cors(const HttpResponse& r) {
  REQUIRE(r.find("Access-Control-Allow-Origin"));
  CHECK(*r.find("Access-Control-Allow-Origin") == "*");
  REQUIRE(r.find("Access-Control-Allow-Methods"));
  CHECK(*r.find("Access-Control-Allow-Methods") == "POST, GET, OPTIONS");
  REQUIRE(r.find("Access-Control-Allow-Headers"));
  CHECK(*r.find("Access-Control-Allow-Headers") == cors_headers);
}

/// An HTTP error answer: status, CORS, application/json and {"type":"error","error":text}.
void check_http_error(const HttpResponse& r, int status, const std::string& text) {
  CHECK(r.status == status);
  check_cors(r);
  REQUIRE(r.find("Content-Type"));
  CHECK(*r.find("Content-Type") == "application/json");
  auto d = parse(r.body);
  CHECK(d.MemberCount() == 2);
  CHECK(d["type"] == "error");
  CHECK(d["error"].GetString() == text);
}

std::string connection_id(Harness& h, const std::string& device_id = "dev1") {
  HttpResponse r = post(h, "/connect", R"({"device_id":")" + device_id + "\"}");
  REQUIRE(r.status == 200);
  return parse(r.body)["connection_id"].GetString();
}

std::string with_id(const std::string& id, const std::string& rest = "") {
  return R"({"connection_id":")" + id + "\"" + rest + "}";
}

double dropped_full(Harness& h) {
  return h.metric("rendezvous_messages_dropped_total",
                  "dialect=\"cuttlefish\",reason=\"poll_queue_full\"");
}

}  // namespace

// ---- WebSocket: device ------------------------------------------------------------------

TEST_CASE("CF-01 register gets exactly one config, ice_servers empty by default") {
  Harness h;
  ConnectionId d = h.ws("/register_device");
  h.text(d, register_msg("dev1", R"({"x":1})"));
  auto got = h.received(d);
  REQUIRE(got.size() == 1);
  CHECK(got[0] == config_empty);
  h.run_for(2s);
  CHECK(h.received(d).empty());
}

TEST_CASE("CF-01 configured ice_servers: urls always arrays, credentials only when set") {
  Options o;
  o.cuttlefish.ice_servers.push_back({{"stun:stun.example.org:3478"}, std::nullopt, std::nullopt});
  o.cuttlefish.ice_servers.push_back(
      {{"turn:turn.example.org:3478?transport=udp", "turns:turn.example.org:5349"}, "u\"ser",
       "se\\cret"});
  Harness h(o);
  ConnectionId d = h.ws("/register_device");
  h.text(d, register_msg("dev1"));
  auto got = h.received(d);
  REQUIRE(got.size() == 1);
  const std::string expected =
      R"({"message_type":"config","ice_servers":[{"urls":["stun:stun.example.org:3478"]},)"
      R"({"urls":["turn:turn.example.org:3478?transport=udp","turns:turn.example.org:5349"],)"
      R"("username":"u\"ser","credential":"se\\cret"}]})";
  CHECK(same_json(got[0], expected));
  auto doc = parse(got[0]);
  CHECK_FALSE(doc["ice_servers"][0].HasMember("username"));
  CHECK_FALSE(doc["ice_servers"][0].HasMember("credential"));
  // The same object reaches WebSocket clients and GET /infra_config.
  ConnectionId c = h.ws("/connect_client");
  h.text(c, R"({"message_type":"connect","device_id":"dev1"})");
  CHECK(h.received(c).at(0) == got[0]);
  CHECK(get(h, "/infra_config").body == got[0]);
}

TEST_CASE("CF-01 an ice server without a URL is rejected at configuration time") {
  Options o;
  o.cuttlefish.ice_servers.push_back({});
  RecordingTransport t;
  CHECK_THROWS_AS(Broker(t, o), std::invalid_argument);
}

TEST_CASE("CF-02 subprotocol webrtc-operator is selected when offered") {
  Harness h;
  ConnectionId id{};
  CHECK(h.upgrade(id, "/register_device", {{"Sec-WebSocket-Protocol", "webrtc-operator"}})
            .subprotocol == "webrtc-operator");
  CHECK(h.upgrade(id, "/register_device", {{"Sec-WebSocket-Protocol", "chat, webrtc-operator"}})
            .subprotocol == "webrtc-operator");
  CHECK(h.upgrade(id, "/register_device",
                  {{"Sec-WebSocket-Protocol", "chat"}, {"sec-websocket-protocol", " webrtc-operator "}})
            .subprotocol == "webrtc-operator");
  CHECK(h.upgrade(id, "/connect_client", {{"Sec-WebSocket-Protocol", "webrtc-operator"}})
            .subprotocol == "webrtc-operator");
  Handshake none = h.upgrade(id, "/register_device");
  CHECK(none.accepted());
  CHECK(none.subprotocol.empty());
  CHECK(h.upgrade(id, "/register_device", {{"Sec-WebSocket-Protocol", "chat, webrtc-operatorx"}})
            .subprotocol.empty());
}

TEST_CASE("CF-03 connect gets config, then device_info as registered") {
  Harness h;
  device(h, "dev1", R"({"x":1})");
  ConnectionId c = h.ws("/connect_client");
  h.text(c, R"({"message_type":"connect","device_id":"dev1"})");
  auto got = h.received(c);
  REQUIRE(got.size() == 2);
  CHECK(got[0] == config_empty);
  CHECK(same_json(got[1], R"({"message_type":"device_info","device_info":{"x":1}})"));

  device(h, "dev2");
  ConnectionId c2 = h.ws("/connect_client");
  h.text(c2, R"({"message_type":"connect","device_id":"dev2"})");
  got = h.received(c2);
  REQUIRE(got.size() == 2);
  CHECK(same_json(got[1], R"({"message_type":"device_info","device_info":null})"));
  CHECK_FALSE(h.closed(c2));
}

TEST_CASE("CF-04 client forward reaches the device as client_msg with integer id 1") {
  Harness h;
  ConnectionId d = device(h);
  ConnectionId c = client(h);
  const std::string payload = R"({"type":"request-offer","n":[1,2.5,null]})";
  h.text(c, client_forward(payload));
  auto got = h.received(d);
  REQUIRE(got.size() == 1);
  auto doc = parse(got[0]);
  CHECK(doc["message_type"] == "client_msg");
  CHECK(doc["client_id"].IsInt());
  CHECK(doc["client_id"].GetInt() == 1);
  CHECK(doc["payload"] == parse(payload));
  CHECK(doc.MemberCount() == 3);
  CHECK(h.received(c).empty());
}

TEST_CASE("CF-04 payload values survive: big integers, doubles, escapes, any type") {
  Harness h;
  ConnectionId d = device(h);
  ConnectionId c = client(h);
  for (std::string payload :
       {R"(null)", R"("a\"\\\u0001b\u00e9")", R"(18446744073709551615)", R"(-9223372036854775808)",
        R"(0.1)", R"(1e300)", R"([true,false,{},[]])", R"({"a":{"b":[1,{"c":"d"}]}})"}) {
    h.text(c, client_forward(payload));
    auto got = h.received(d);
    REQUIRE(got.size() == 1);
    CHECK_MESSAGE(parse(got[0])["payload"] == parse(payload), payload);
  }
  auto got = h.received(d);
  CHECK(got.empty());
  h.text(c, client_forward("18446744073709551615"));
  CHECK(h.received(d).at(0).find("18446744073709551615") != std::string::npos);
}

TEST_CASE("CF-05 device forward reaches only its client as device_msg") {
  Harness h;
  ConnectionId d = device(h);
  ConnectionId c1 = client(h);
  ConnectionId c2 = client(h);
  ConnectionId other = device(h, "dev2");
  ConnectionId c3 = client(h, "dev2");
  const std::string payload = R"({"type":"offer","sdp":"v=0"})";
  h.text(d, forward_to(1, payload));
  auto got = h.received(c1);
  REQUIRE(got.size() == 1);
  CHECK(same_json(got[0], R"({"message_type":"device_msg","payload":)" + payload + "}"));
  CHECK(h.received(c2).empty());
  CHECK(h.received(c3).empty());
  CHECK(h.received(d).empty());
  CHECK(h.received(other).empty());
  h.text(d, forward_to(2, "[2]"));
  CHECK(h.received(c2).size() == 1);
  CHECK(h.received(c1).empty());
}

TEST_CASE("CF-06 client ids count per device connection and are never reused") {
  Harness h;
  ConnectionId d = device(h);
  ConnectionId a = client(h);
  ConnectionId b = client(h);
  h.text(a, client_forward("\"a\""));
  h.text(b, client_forward("\"b\""));
  auto got = h.received(d);
  REQUIRE(got.size() == 2);
  CHECK(same_json(got[0], client_msg(1, "\"a\"")));
  CHECK(same_json(got[1], client_msg(2, "\"b\"")));
  h.broker.disconnect(a);
  CHECK(h.received(d) == std::vector<std::string>{disconnected(1)});
  ConnectionId c = client(h);
  h.text(c, client_forward("\"c\""));
  CHECK(same_json(h.received(d).at(0), client_msg(3, "\"c\"")));
  std::string polled = connection_id(h);
  post(h, "/forward", with_id(polled, R"(,"payload":"p")"));
  CHECK(same_json(h.received(d).at(0), client_msg(4, "\"p\"")));
  // A second device has its own counter.
  ConnectionId d2 = device(h, "dev2");
  ConnectionId e = client(h, "dev2");
  h.text(e, client_forward("1"));
  CHECK(same_json(h.received(d2).at(0), client_msg(1, "1")));
}

TEST_CASE("CF-07 a closing client is reported; later forwards to it get client_disconnected") {
  Harness h;
  ConnectionId d = device(h);
  ConnectionId c = client(h);
  h.broker.disconnect(c);
  auto got = h.received(d);
  REQUIRE(got.size() == 1);
  CHECK(got[0] == disconnected(1));
  h.text(d, forward_to(1, R"({"type":"offer"})"));
  got = h.received(d);
  REQUIRE(got.size() == 1);
  CHECK(got[0] == disconnected(1));
  CHECK_FALSE(h.closed(d));
  // Also for a client the server closed itself.
  ConnectionId c2 = client(h);
  h.text(c2, R"({"message_type":"forward"})");
  check_closed(h, c2);
  CHECK(h.received(d) == std::vector<std::string>{disconnected(2)});
}

TEST_CASE("CF-08 forward to an id never issued, to 0, negative, or before register") {
  Harness h;
  ConnectionId d = device(h);
  client(h);
  h.text(d, forward_to(99, "{}"));
  check_error(h.received(d), "Forward failed: Unknown client 99");
  h.text(d, forward_to(0, "{}"));
  check_error(h.received(d), "Forward failed: Unknown client 0");
  h.text(d, forward_to(-2147483648, "{}"));
  check_error(h.received(d), "Forward failed: Unknown client -2147483648");
  h.text(d, forward_to(2, "{}"));
  check_error(h.received(d), "Forward failed: Unknown client 2");
  CHECK_FALSE(h.closed(d));
  h.text(d, forward_to(1, "{}"));
  CHECK(h.received(d).empty());

  ConnectionId fresh = h.ws("/register_device");
  h.text(fresh, forward_to(1, "{}"));
  check_error(h.received(fresh), "Forward failed: Unknown client 1");
  CHECK_FALSE(h.closed(fresh));
}

TEST_CASE("CF-09 client_id must be an int32 integer token; payload must be present") {
  for (std::string bad : {R"("1")", "1.5", "3.0", "1e0", "2147483648", "-2147483649", "null",
                          "true", "[1]"}) {
    Harness h;
    ConnectionId d = device(h);
    client(h);
    h.text(d, R"({"message_type":"forward","client_id":)" + bad + R"(,"payload":{}})");
    check_error(h.received(d), "Forward failed: Missing or invalid client id");
    check_closed(h, d);
  }
  {
    Harness h;
    ConnectionId d = device(h);
    h.text(d, R"({"message_type":"forward","payload":{}})");
    check_error(h.received(d), "Forward failed: Missing or invalid client id");
    check_closed(h, d);
  }
  {
    Harness h;
    ConnectionId d = device(h);
    client(h);
    h.text(d, R"({"message_type":"forward","client_id":1})");
    check_error(h.received(d), "Forward failed: Missing payload");
    check_closed(h, d);
  }
  {
    Harness h;
    ConnectionId d = device(h);
    ConnectionId c = client(h);
    h.text(d, R"({"message_type":"forward","client_id":1,"payload":null})");
    CHECK(h.received(c) == std::vector<std::string>{R"({"message_type":"device_msg","payload":null})"});
    CHECK_FALSE(h.closed(d));
  }
}

TEST_CASE("CF-10 register twice, and missing or invalid device ids") {
  {
    Harness h;
    ConnectionId d = device(h);
    h.text(d, register_msg("dev1"));
    check_error(h.received(d), "Device already registered: dev1");
    check_closed(h, d);
    CHECK(get(h, "/devices").body == "[]");
  }
  {
    Harness h;
    ConnectionId d = device(h);
    h.text(d, register_msg("other"));
    check_error(h.received(d), "Device already registered: dev1");
  }
  for (std::string body : {R"({"message_type":"register"})",
                           R"({"message_type":"register","device_id":""})",
                           R"({"message_type":"register","device_id":5})",
                           R"({"message_type":"register","device_id":null})"}) {
    Harness h;
    ConnectionId d = h.ws("/register_device");
    h.text(d, body);
    check_error(h.received(d), "Missing device id in registration request");
    check_closed(h, d);
  }
  for (std::string id : {std::string(257, 'd'), std::string("a\\u0001b"), std::string("a\\u007fb")}) {
    Harness h;
    ConnectionId d = h.ws("/register_device");
    h.text(d, register_msg(id));
    check_error(h.received(d), "Invalid device id in registration request");
    check_closed(h, d);
    CHECK(get(h, "/devices").body == "[]");
  }
  Harness h;
  device(h, std::string(256, 'd'));
  CHECK(get(h, "/devices").body == "[\"" + std::string(256, 'd') + "\"]");
}

TEST_CASE("CF-11 a duplicate device id is refused and the first device is untouched") {
  Harness h;
  ConnectionId d = device(h);
  ConnectionId c1 = client(h);
  ConnectionId dup = h.ws("/register_device");
  h.text(dup, register_msg("dev1"));
  check_error(h.received(dup), "Device id already taken: dev1");
  check_closed(h, dup);
  CHECK_FALSE(h.closed(d));
  CHECK_FALSE(h.closed(c1));
  CHECK(h.received(c1).empty());
  CHECK(h.received(d).empty());
  CHECK(get(h, "/devices").body == R"(["dev1"])");
  ConnectionId c2 = client(h);
  h.text(c2, client_forward("2"));
  CHECK(same_json(h.received(d).at(0), client_msg(2, "2")));
  h.text(d, forward_to(1, "1"));
  CHECK(h.received(c1).size() == 1);
}

TEST_CASE("CF-12 binary on either endpoint closes 1003, with the usual consequences") {
  Harness h;
  ConnectionId d = device(h);
  ConnectionId c = client(h);
  h.binary(c, "\x01\x02");
  check_error(h.received(c), "Received a binary message");
  check_closed(h, c, 1003);
  CHECK(h.received(d) == std::vector<std::string>{disconnected(1)});
  ConnectionId c2 = client(h);
  h.binary(d, register_msg("x"));
  check_error(h.received(d), "Received a binary message");
  check_closed(h, d, 1003);
  check_error(h.received(c2), "Device disconnected");
  check_closed(h, c2, 1000);
}

TEST_CASE("CF-12 binary and invalid JSON on fresh sockets") {
  Harness h;
  for (std::string path : {"/register_device", "/connect_client"}) {
    ConnectionId a = h.ws(path);
    h.binary(a, "{}");
    CHECK(h.received(a) == std::vector<std::string>{R"({"error":"Received a binary message"})"});
    check_closed(h, a, 1003);
    ConnectionId b = h.ws(path);
    h.text(b, R"({"message_type":)");
    CHECK(h.received(b) == std::vector<std::string>{R"({"error":"Received Invalid JSON"})"});
    check_closed(h, b, 1000);
    CHECK(h.closed(b)->reason.empty());
    // Once closed, later messages are ignored.
    h.text(b, register_msg("late"));
    CHECK(h.received(b).empty());
    // A lone surrogate escape could not be re-serialized as UTF-8 for the peer.
    for (std::string bad : {"{\"a\":1,}", "NaN", "{} {}", "1e400",
                            R"({"message_type":"forward","client_id":1,"payload":"\udc00"})"}) {
      ConnectionId e = h.ws(path);
      h.text(e, bad);
      check_error(h.received(e), "Received Invalid JSON");
      check_closed(h, e);
    }
  }
  CHECK(get(h, "/devices").body == "[]");
}

TEST_CASE("CF-13 non-object or missing/non-string message_type: Invalid message format") {
  for (std::string path : {"/register_device", "/connect_client"}) {
    for (std::string text : {R"({"device_id":"x"})", "[1]", R"({"message_type":7})", "\"s\"",
                             "3", R"({"message_type":null})"}) {
      Harness h;
      ConnectionId a = h.ws(path);
      h.text(a, text);
      check_error(h.received(a), "Invalid message format: '" + text + "'");
      check_closed(h, a);
    }
  }
}

TEST_CASE("GEN-01 the Invalid message format error embeds the received text, escaped") {
  Harness h;
  ConnectionId d = h.ws("/register_device");
  const std::string text = "{\"a\"\t:\n\"q\\\"b\\\\c\"}";
  h.text(d, text);
  auto got = h.received(d);
  REQUIRE(got.size() == 1);
  auto doc = parse(got[0]);
  REQUIRE(doc.IsObject());
  CHECK(doc.MemberCount() == 1);
  CHECK(std::string(doc["error"].GetString(), doc["error"].GetStringLength()) ==
        "Invalid message format: '" + text + "'");
  check_closed(h, d);
}

TEST_CASE("CF-14 unknown message types keep the connection open") {
  Harness h;
  ConnectionId d = h.ws("/register_device");
  h.text(d, R"({"message_type":"hello"})");
  check_error(h.received(d), "Unknown message type: hello");
  h.text(d, R"({"message_type":"connect","device_id":"dev1"})");  // a client's type
  check_error(h.received(d), "Unknown message type: connect");
  h.text(d, R"({"message_type":"a\"b"})");
  check_error(h.received(d), "Unknown message type: a\"b");
  CHECK_FALSE(h.closed(d));
  h.text(d, register_msg("dev1"));
  CHECK(h.received(d) == std::vector<std::string>{config_empty});

  ConnectionId c = h.ws("/connect_client");
  h.text(c, R"({"message_type":"hello"})");
  check_error(h.received(c), "Unknown message type: hello");
  h.text(c, register_msg("x"));
  check_error(h.received(c), "Unknown message type: register");
  CHECK_FALSE(h.closed(c));
  h.text(c, R"({"message_type":"connect","device_id":"dev1"})");
  CHECK(h.received(c).size() == 2);
}

// ---- WebSocket: client ------------------------------------------------------------------

TEST_CASE("CF-15 connect without a valid device_id: no config, error, close") {
  for (std::string body : {R"({"message_type":"connect"})",
                           R"({"message_type":"connect","device_id":7})"}) {
    Harness h;
    ConnectionId c = h.ws("/connect_client");
    h.text(c, body);
    check_error(h.received(c), "Invalid connection request: Missing device id");
    check_closed(h, c);
  }
  for (std::string id : {std::string(""), std::string(257, 'x'), std::string("a\\nb")}) {
    Harness h;
    ConnectionId c = h.ws("/connect_client");
    h.text(c, R"({"message_type":"connect","device_id":")" + id + "\"}");
    check_error(h.received(c), "Invalid connection request: Invalid device id");
    check_closed(h, c);
  }
}

TEST_CASE("CF-16 connect to an unregistered device: config, then Device not found, close") {
  Harness h;
  ConnectionId c = h.ws("/connect_client");
  h.text(c, R"({"message_type":"connect","device_id":"nope"})");
  auto got = h.received(c);
  REQUIRE(got.size() == 2);
  CHECK(got[0] == config_empty);
  CHECK(same_json(got[1], R"({"error":"Connection failed: Device not found: 'nope'"})"));
  check_closed(h, c);
}

TEST_CASE("CF-17 a second connect closes the client and the device hears of it") {
  Harness h;
  ConnectionId d = device(h);
  device(h, "dev2");
  ConnectionId c = client(h);
  h.text(c, R"({"message_type":"connect","device_id":"dev2"})");
  check_error(h.received(c), "Attempt to connect to multiple devices over same websocket");
  check_closed(h, c);
  CHECK(h.received(d) == std::vector<std::string>{disconnected(1)});
}

TEST_CASE("CF-18 forward before connect, and forward without payload") {
  Harness h;
  ConnectionId d = device(h);
  ConnectionId c = h.ws("/connect_client");
  h.text(c, client_forward("{}"));
  check_error(h.received(c), "Forward failed: No device associated to client");
  check_closed(h, c);
  CHECK(h.received(d).empty());

  ConnectionId a = client(h);
  h.text(a, R"({"message_type":"forward"})");
  check_error(h.received(a), "Forward failed: No payload present in message");
  check_closed(h, a);
  CHECK(h.received(d) == std::vector<std::string>{disconnected(1)});

  ConnectionId b = client(h);
  h.text(b, client_forward("null"));
  CHECK(h.received(d) == std::vector<std::string>{client_msg(2, "null")});
}

TEST_CASE("CF-19 device departure closes WebSocket clients and orphans polled ones") {
  Harness h;
  ConnectionId d = device(h);
  ConnectionId c1 = client(h);
  ConnectionId c2 = client(h);
  std::string polled = connection_id(h);
  h.text(d, forward_to(3, "\"queued\""));
  h.text(d, forward_to(1, "\"before\""));
  h.broker.disconnect(d);
  auto got = h.received(c1);
  REQUIRE(got.size() == 2);  // what the device sent first still arrives first (§3.10)
  CHECK(same_json(got[0], R"({"message_type":"device_msg","payload":"before"})"));
  CHECK(got[1] == R"({"error":"Device disconnected"})");
  check_closed(h, c1);
  check_error(h.received(c2), "Device disconnected");
  check_closed(h, c2);
  CHECK(get(h, "/devices").body == "[]");
  check_http_error(post(h, "/poll_messages", with_id(polled)), 404, "Poll failed: Device disconnected");
  check_http_error(post(h, "/forward", with_id(polled, R"(,"payload":1)")), 404,
                   "Forward failed: Device disconnected");
  CHECK(h.metric("rendezvous_devices") == 0);
  CHECK(h.metric("rendezvous_polled_connections") == 1);
}

TEST_CASE("CF-19 the device closed by the server for an error also tells its clients") {
  Harness h;
  ConnectionId d = device(h);
  ConnectionId c = client(h);
  h.text(d, R"({"message_type":"forward","client_id":"x","payload":1})");
  check_closed(h, d);
  check_error(h.received(c), "Device disconnected");
  check_closed(h, c);
}

TEST_CASE("CF-20 re-registration starts at 1; old polled id is 404, then 401 after expiry") {
  Options o;
  o.cuttlefish.poll_expiry = 10s;
  Harness h(o);
  ConnectionId d = device(h);
  client(h);
  std::string polled = connection_id(h);
  h.run_for(4s);
  h.broker.disconnect(d);
  ConnectionId d2 = device(h);
  ConnectionId c = client(h);
  h.text(c, client_forward("\"x\""));
  CHECK(same_json(h.received(d2).at(0), client_msg(1, "\"x\"")));
  // Requests do not extend the orphan's time.
  for (int i = 0; i < 9; ++i) {
    check_http_error(post(h, "/poll_messages", with_id(polled)), 404,
                     "Poll failed: Device disconnected");
    h.run_for(1s);
  }
  h.run_for(999ms);
  check_http_error(post(h, "/poll_messages", with_id(polled)), 404, "Poll failed: Device disconnected");
  h.run_for(1ms);
  check_http_error(post(h, "/poll_messages", with_id(polled)), 401,
                   "Error: Unknown connection id" + polled);
  check_http_error(post(h, "/forward", with_id(polled, R"(,"payload":1)")), 401,
                   "Error: Unknown connection id" + polled);
  CHECK(h.received(d2).empty());
  CHECK(h.metric("rendezvous_polled_connections") == 0);
}

TEST_CASE("CF-21 client-first: waiting clients are attached in connect order") {
  Options o;
  o.cuttlefish.client_first = true;
  Harness h(o);
  ConnectionId a = h.ws("/connect_client");
  ConnectionId b = h.ws("/connect_client");
  h.text(a, R"({"message_type":"connect","device_id":"dev2"})");
  h.text(b, R"({"message_type":"connect","device_id":"dev2"})");
  CHECK(h.received(a) == std::vector<std::string>{config_empty});
  CHECK(h.received(b) == std::vector<std::string>{config_empty});
  CHECK(get(h, "/devices").body == "[]");
  CHECK(post(h, "/connect", R"({"device_id":"dev2"})").status == 404);
  h.run_for(10s);
  CHECK(h.received(a).empty());
  ConnectionId d = h.ws("/register_device");
  h.text(d, register_msg("dev2", R"({"k":"v"})"));
  CHECK(h.received(d) == std::vector<std::string>{config_empty});
  CHECK(same_json(h.received(a).at(0), R"({"message_type":"device_info","device_info":{"k":"v"}})"));
  CHECK(h.received(b).size() == 1);
  h.text(b, client_forward("\"b\""));
  h.text(a, client_forward("\"a\""));
  auto got = h.received(d);
  REQUIRE(got.size() == 2);
  CHECK(same_json(got[0], client_msg(2, "\"b\"")));
  CHECK(same_json(got[1], client_msg(1, "\"a\"")));
  h.run_for(40s);  // no stale wait timer fires for attached clients
  CHECK_FALSE(h.closed(a));
  CHECK(h.received(a).empty());
}

TEST_CASE("CF-22 client-first: the wait times out; forward or connect while waiting") {
  Options o;
  o.cuttlefish.client_first = true;
  o.cuttlefish.client_first_wait = 1s;
  Harness h(o);
  ConnectionId a = h.ws("/connect_client");
  h.text(a, R"({"message_type":"connect","device_id":"dev2"})");
  CHECK(h.received(a).size() == 1);
  REQUIRE(h.broker.next_deadline());
  h.run_for(999ms);
  CHECK(h.received(a).empty());
  CHECK_FALSE(h.closed(a));
  h.run_for(1ms);
  check_error(h.received(a), "Connection failed: Device not found: 'dev2'");
  check_closed(h, a);

  ConnectionId b = h.ws("/connect_client");
  h.text(b, R"({"message_type":"connect","device_id":"dev2"})");
  h.received(b);
  h.text(b, client_forward("{}"));
  check_error(h.received(b), "Forward failed: No device associated to client");
  check_closed(h, b);

  ConnectionId c = h.ws("/connect_client");
  h.text(c, R"({"message_type":"connect","device_id":"dev2"})");
  h.received(c);
  h.text(c, R"({"message_type":"connect","device_id":"dev3"})");
  check_error(h.received(c), "Attempt to connect to multiple devices over same websocket");
  check_closed(h, c);

  // A waiter that left is forgotten silently: the device sees nobody.
  ConnectionId e = h.ws("/connect_client");
  h.text(e, R"({"message_type":"connect","device_id":"dev2"})");
  h.broker.disconnect(e);
  ConnectionId d = device(h, "dev2");
  ConnectionId f = client(h, "dev2");
  h.text(f, client_forward("1"));
  CHECK(h.received(d) == std::vector<std::string>{client_msg(1, "1")});
  h.run_for(3s);
  CHECK(h.received(d).empty());
}

// ---- HTTP polling -----------------------------------------------------------------------

TEST_CASE("CF-23 infra_config, OPTIONS and the method table, all with CORS") {
  Harness h;
  HttpResponse r = get(h, "/infra_config");
  CHECK(r.status == 200);
  check_cors(r);
  CHECK(*r.find("Content-Type") == "application/json");
  CHECK(r.body == config_empty);
  for (std::string path : {"/infra_config", "/connect", "/forward", "/poll_messages", "/devices"}) {
    auto o = h.http("OPTIONS", path);
    REQUIRE(o);
    CHECK(o->status == 204);
    CHECK(o->body.empty());
    check_cors(*o);
  }
  struct Row {
    std::string method, path;
    int status;
  };
  for (Row row : {Row{"POST", "/infra_config", 405}, Row{"PUT", "/infra_config", 405},
                  Row{"GET", "/connect", 405}, Row{"GET", "/forward", 405},
                  Row{"DELETE", "/poll_messages", 405}, Row{"POST", "/devices", 404},
                  Row{"PUT", "/devices", 405}, Row{"HEAD", "/devices", 405}}) {
    auto o = h.http(row.method, row.path);
    REQUIRE(o);
    CHECK_MESSAGE(o->status == row.status, row.method, " ", row.path);
    CHECK(o->body.empty());
    check_cors(*o);
  }
  // Query strings never take part in routing.
  CHECK(get(h, "/infra_config?x=1").status == 200);
}

TEST_CASE("CF-23 common refusals on polling paths carry the JSON error and CORS") {
  Options o;
  o.allowed_origins = {"https://a.example"};
  o.rate_limit.burst = 2;
  o.rate_limit.messages_per_second = 1;
  Harness h(o);
  auto r = h.http("GET", "/devices", {{"Origin", "https://evil.example"}});
  REQUIRE(r);
  check_http_error(*r, 403, "Origin not allowed");
  h.http("GET", "/devices");
  h.http("GET", "/devices");
  r = h.http("GET", "/devices");
  REQUIRE(r);
  check_http_error(*r, 429, "Rate limit exceeded");
  // WebSocket-only paths keep the common text/plain refusal.
  ConnectionId id{};
  Handshake hs = h.upgrade(id, "/register_device", {{"Origin", "https://evil.example"}});
  CHECK(hs.response.status == 403);
  REQUIRE(hs.response.find("Content-Type"));
  CHECK(hs.response.find("Content-Type")->rfind("text/plain", 0) == 0);
  CHECK_FALSE(hs.response.find("Access-Control-Allow-Origin"));
}

TEST_CASE("CF-24 POST /connect") {
  Harness h;
  ConnectionId d = device(h, "dev1", R"({"x":[1,"y"]})");
  HttpResponse r = post(h, "/connect", R"({"device_id":"dev1"})");
  CHECK(r.status == 200);
  check_cors(r);
  CHECK(*r.find("Content-Type") == "application/json");
  auto doc = parse(r.body);
  CHECK(doc["message_type"] == "device_info");
  CHECK(doc["device_info"] == parse(R"({"x":[1,"y"]})"));
  std::string id1 = doc["connection_id"].GetString();
  CHECK(std::regex_match(id1, std::regex("^[0-9A-Za-z]{64}$")));
  std::string id2 = connection_id(h);
  CHECK(id1 != id2);
  // A valid connection_id in the body is ignored: a new connection is made.
  std::string id3 = parse(post(h, "/connect", with_id(id1, R"(,"device_id":"dev1")")).body)["connection_id"].GetString();
  CHECK(id3 != id1);
  CHECK(h.received(d).empty());  // the device is not told about new clients

  auto g = h.http("GET", "/connect");
  REQUIRE(g);
  CHECK(g->status == 405);
  check_http_error(post(h, "/connect", R"({"device_id":"x"})"), 404,
                   "Connection failed: Device not found: 'x'");
  check_http_error(post(h, "/connect", "{}"), 400, "Invalid connection request: Missing device id");
  check_http_error(post(h, "/connect", R"({"device_id":3})"), 400,
                   "Invalid connection request: Missing device id");
  check_http_error(post(h, "/connect", R"({"device_id":""})"), 400,
                   "Invalid connection request: Invalid device id");
  check_http_error(post(h, "/connect", R"({"device_id":"a\u0000"})"), 400,
                   "Invalid connection request: Invalid device id");
  CHECK(h.metric("rendezvous_polled_connections") == 3);
}

TEST_CASE("CF-24 connection ids are uniform over [0-9A-Za-z]") {
  Options o;
  o.rate_limit.messages_per_second = 0;
  Harness h(o);
  device(h);
  std::set<std::string> ids;
  std::map<char, int> counts;
  for (int i = 0; i < 2000; ++i) {
    std::string id = connection_id(h);
    ids.insert(id);
    for (char ch : id) ++counts[ch];
  }
  CHECK(ids.size() == 2000);
  CHECK(counts.size() == 62);
  // 128 000 characters over 62 symbols: about 2 065 each (standard deviation about 45). A
  // byte taken modulo 62 would give '0' to '7' 5/4 of the others' share, about 2 500.
  for (auto [ch, n] : counts) CHECK_MESSAGE((n > 1815 && n < 2315), ch, " ", n);
}

TEST_CASE("CF-24 the polled connection cap gives 503") {
  Options o;
  o.cuttlefish.max_polled_connections = 2;
  o.cuttlefish.poll_expiry = 5s;
  Harness h(o);
  ConnectionId d = device(h);
  connection_id(h);
  std::string second = connection_id(h);
  check_http_error(post(h, "/connect", R"({"device_id":"dev1"})"), 503, "Too many polled connections");
  // Orphans count too, until they are forgotten.
  h.broker.disconnect(d);
  device(h);
  check_http_error(post(h, "/connect", R"({"device_id":"dev1"})"), 503, "Too many polled connections");
  h.run_for(5s);
  CHECK(post(h, "/connect", R"({"device_id":"dev1"})").status == 200);
}

TEST_CASE("CF-25 polled forward and poll_messages return queued raw payloads") {
  Harness h;
  ConnectionId d = device(h);
  std::string id = connection_id(h);
  h.text(d, forward_to(1, R"({"p":1})"));
  h.text(d, forward_to(1, R"("p2")"));
  HttpResponse r = post(h, "/forward", with_id(id, R"(,"payload":{"a":1})"));
  CHECK(r.status == 200);
  check_cors(r);
  CHECK(same_json(r.body, R"([{"p":1},"p2"])"));
  auto got = h.received(d);
  REQUIRE(got.size() == 1);
  CHECK(same_json(got[0], client_msg(1, R"({"a":1})")));
  r = post(h, "/poll_messages", with_id(id));
  CHECK(r.status == 200);
  CHECK(r.body == "[]");
  h.text(d, forward_to(1, R"({"type":"offer","sdp":"v=0"})"));
  h.text(d, forward_to(1, "null"));
  h.text(d, forward_to(1, "[3]"));
  r = post(h, "/poll_messages", with_id(id));
  CHECK(r.status == 200);
  CHECK(same_json(r.body, R"([{"type":"offer","sdp":"v=0"},null,[3]])"));
  CHECK(post(h, "/poll_messages", with_id(id)).body == "[]");
  // The payload of a polled forward may be null.
  CHECK(post(h, "/forward", with_id(id, R"(,"payload":null)")).status == 200);
  CHECK(h.received(d) == std::vector<std::string>{client_msg(1, "null")});
}

TEST_CASE("CF-26 forward and poll without or with an unknown connection_id") {
  Harness h;
  device(h);
  check_http_error(post(h, "/forward", "{}"), 401, "Forward failed: No device associated to client");
  check_http_error(post(h, "/poll_messages", "{}"), 401, "Poll failed: No device associated to client");
  check_http_error(post(h, "/forward", R"({"connection_id":"abc","payload":1})"), 401,
                   "Error: Unknown connection idabc");
  check_http_error(post(h, "/poll_messages", R"({"connection_id":"abc"})"), 401,
                   "Error: Unknown connection idabc");
  check_http_error(post(h, "/connect", R"({"connection_id":"abc","device_id":"dev1"})"), 401,
                   "Error: Unknown connection idabc");
  check_http_error(post(h, "/poll_messages", R"({"connection_id":5})"), 401,
                   "Error: Unknown connection id");
  check_http_error(post(h, "/forward", R"({"connection_id":null})"), 401,
                   "Error: Unknown connection id");
  std::string id = connection_id(h);
  check_http_error(post(h, "/forward", with_id(id)), 400, "Forward failed: No payload present in message");
}

TEST_CASE("CF-27 unparsable bodies get 400 Error parsing JSON; empty body is {}") {
  Harness h;
  device(h);
  for (std::string path : {"/connect", "/forward", "/poll_messages"}) {
    for (const std::string& body :
         std::vector<std::string>{R"({"device_id":)", "[1]", "\"x\"", "nul", "{}{}",
                                  std::string(65, '[') + std::string(65, ']')}) {
      HttpResponse r = post(h, path, body);
      CHECK(r.status == 400);
      check_cors(r);
      auto doc = parse(r.body);
      CHECK(doc["type"] == "error");
      CHECK(std::string(doc["error"].GetString()).rfind("Error parsing JSON: ", 0) == 0);
    }
  }
  check_http_error(post(h, "/connect", ""), 400, "Invalid connection request: Missing device id");
  check_http_error(post(h, "/forward", ""), 401, "Forward failed: No device associated to client");
  check_http_error(post(h, "/poll_messages", ""), 401, "Poll failed: No device associated to client");
}

TEST_CASE("CF-28 polled connections expire after poll_expiry without polls") {
  Options o;
  o.cuttlefish.poll_expiry = 2s;
  Harness h(o);
  ConnectionId d = device(h);
  std::string idle = connection_id(h);
  std::string busy = connection_id(h);
  for (int i = 0; i < 3; ++i) {
    h.run_for(1s);
    CHECK(post(h, "/poll_messages", with_id(busy)).status == 200);
  }
  // idle was created 3 s ago: removed at 2 s.
  CHECK(h.received(d) == std::vector<std::string>{disconnected(1)});
  check_http_error(post(h, "/poll_messages", with_id(idle)), 401, "Error: Unknown connection id" + idle);
  h.text(d, forward_to(1, "{}"));
  CHECK(h.received(d) == std::vector<std::string>{disconnected(1)});
  // busy, polled every second, lives on; its /forward renews it too.
  for (int i = 0; i < 3; ++i) {
    h.run_for(1900ms);
    CHECK(post(h, "/forward", with_id(busy, R"(,"payload":1)")).status == 200);
  }
  h.received(d);
  h.run_for(1999ms);
  CHECK(h.received(d).empty());
  h.run_for(1ms);
  CHECK(h.received(d) == std::vector<std::string>{disconnected(2)});
  CHECK(h.metric("rendezvous_polled_connections") == 0);
  auto next = h.broker.next_deadline();
  CHECK((!next || *next >= h.clock.now));
}

TEST_CASE("CF-28 refused requests do not renew a polled connection") {
  Options o;
  o.cuttlefish.poll_expiry = 2s;
  Harness h(o);
  ConnectionId d = device(h);
  std::string id = connection_id(h);
  h.run_for(1500ms);
  CHECK(post(h, "/forward", with_id(id)).status == 400);  // no payload: not activity
  h.run_for(500ms);
  CHECK(h.received(d) == std::vector<std::string>{disconnected(1)});
}

TEST_CASE("CF-29 poll queue cap: the newest payloads are dropped and counted") {
  Options o;
  o.rate_limit.messages_per_second = 0;
  Harness h(o);
  ConnectionId d = device(h);
  std::string id = connection_id(h);
  for (int i = 0; i < 1005; ++i) h.text(d, forward_to(1, std::to_string(i)));
  CHECK(h.received(d).empty());
  CHECK(dropped_full(h) == 5);
  auto doc = parse(post(h, "/poll_messages", with_id(id)).body);
  REQUIRE(doc.IsArray());
  REQUIRE(doc.Size() == 1000);
  for (rapidjson::SizeType i = 0; i < 1000; ++i) CHECK(doc[i].GetInt() == static_cast<int>(i));
  CHECK(post(h, "/poll_messages", with_id(id)).body == "[]");
}

TEST_CASE("CF-30 GET /devices is sorted by bytes; POST /devices is 404") {
  Harness h;
  device(h, "b");
  device(h, "a");
  device(h, "c");
  device(h, "\xc3\xa9");  // U+00E9 sorts after ASCII
  device(h, "B");
  HttpResponse r = get(h, "/devices");
  CHECK(r.status == 200);
  check_cors(r);
  CHECK(*r.find("Content-Type") == "application/json");
  CHECK(r.body == "[\"B\",\"a\",\"b\",\"c\",\"\xc3\xa9\"]");
  CHECK(h.metric("rendezvous_devices") == 5);
  auto p = h.http("POST", "/devices");
  REQUIRE(p);
  CHECK(p->status == 404);
  CHECK(p->body.empty());
  check_cors(*p);
}

TEST_CASE("GEN-05 POST /forward: a 65536-byte body is processed, 65537 gets 413") {
  Harness h;
  ConnectionId d = device(h);
  std::string id = connection_id(h);
  std::string head = R"({"connection_id":")" + id + R"(","payload":")";
  std::string exact = head + std::string(65536 - head.size() - 2, 'x') + "\"}";
  REQUIRE(exact.size() == 65536);
  CHECK(post(h, "/forward", exact).status == 200);
  auto got = h.received(d);
  REQUIRE(got.size() == 1);
  CHECK(parse(got[0])["payload"].GetStringLength() == 65536 - head.size() - 2);
  std::string over = head + std::string(65537 - head.size() - 2, 'x') + "\"}";
  HttpResponse r = post(h, "/forward", over);
  check_http_error(r, 413, "Request body too large");
  CHECK(r.close_connection);
  CHECK(h.received(d).empty());
}

TEST_CASE("GEN-05 cuttlefish.max_message_bytes overrides the HTTP body limit") {
  Options o;
  o.cuttlefish.max_message_bytes = 100;
  Harness h(o);
  check_http_error(post(h, "/connect", R"({"device_id":")" + std::string(100, 'x') + "\"}"), 413,
                   "Request body too large");
}

TEST_CASE("GEN-17 depth 64 for the whole text is delivered, 65 is invalid JSON") {
  Harness h;
  ConnectionId d = device(h);
  ConnectionId c = client(h);
  // The envelope object is level 1, so the payload may hold 63 more levels.
  std::string deep = std::string(63, '[') + std::string(63, ']');
  h.text(c, client_forward(deep));
  auto got = h.received(d);
  REQUIRE(got.size() == 1);
  CHECK(parse(got[0])["payload"] == parse(deep));
  std::string deeper = std::string(64, '[') + std::string(64, ']');
  h.text(c, client_forward(deeper));
  check_error(h.received(c), "Received Invalid JSON");
  check_closed(h, c);
  CHECK(h.received(d) == std::vector<std::string>{disconnected(1)});
}

TEST_CASE("cuttlefish messages are counted as relayed, and gauges follow the registry") {
  Harness h;
  ConnectionId d = device(h);
  ConnectionId c = client(h);
  h.text(c, client_forward("1"));
  h.text(d, forward_to(1, "2"));
  CHECK(h.metric("rendezvous_messages_relayed_total", "dialect=\"cuttlefish\"") == 2);
  CHECK(h.metric("rendezvous_devices") == 1);
  connection_id(h);
  CHECK(h.metric("rendezvous_polled_connections") == 1);
}

TEST_CASE("graceful shutdown: no dialect message, every socket closed 1001") {
  Harness h;
  ConnectionId d = device(h);
  ConnectionId c = client(h);
  h.broker.shutdown();
  CHECK(h.received(d).empty());
  CHECK(h.received(c).empty());
  check_closed(h, d, 1001);
  check_closed(h, c, 1001);
}
