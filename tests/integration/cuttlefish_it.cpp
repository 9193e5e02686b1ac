// cuttlefish against the running rendezvous-server: a scripted device (offering subprotocol
// webrtc-operator, like the Cuttlefish streamer) and scripted browser clients over WebSocket
// and over the HTTP polling paths.

#include "cuttlefish_messages.hpp"
#include "http_client.hpp"
#include "server_process.hpp"
#include "ws_client.hpp"

#include <rapidjson/document.h>

#include <doctest/doctest.h>

#include <memory>
#include <regex>

using namespace rendezvous::testing;
using namespace std::chrono_literals;

namespace {

rapidjson::Document parse(const std::string& text) {
  rapidjson::Document d;
  d.Parse<rapidjson::kParseFullPrecisionFlag>(text.data(), text.size());
  REQUIRE_MESSAGE(!d.HasParseError(), "not JSON: '", text, "'");
  return d;
}

/// Deep equality of two JSON texts (member order ignored).
bool same_json(const std::string& a, const std::string& b) { return parse(a) == parse(b); }

/// A message is exactly {"error": text}.
bool is_error(const std::string& message, const std::string& text) {
  auto d = parse(message);
  return d.IsObject() && d.MemberCount() == 1 && d.HasMember("error") && d["error"].IsString() &&
         std::string(d["error"].GetString(), d["error"].GetStringLength()) == text;
}

void check_close(WsClient& ws, int code) {
  auto c = ws.wait_close();
  REQUIRE(c);
  CHECK(c->code == code);
}

const WsOptions device_options{{}, {"webrtc-operator"}, true};

/// A registered device; its config message is returned in `config`.
std::unique_ptr<WsClient> device(ServerProcess& server, const std::string& id,
                                 const std::string& info = "", std::string* config = nullptr) {
  auto d = std::make_unique<WsClient>();
  REQUIRE(d->connect(server.ws_url("/register_device"), device_options) == 101);
  d->send(R"({"message_type":"register","device_id":")" + id + "\",\"device_port\":8443" +
          (info.empty() ? "" : ",\"device_info\":" + info) + "}");
  std::string first = d->next_text();
  REQUIRE(parse(first)["message_type"] == "config");
  if (config) *config = first;
  return d;
}

/// A browser client attached to `id`; returns the device_info message in `info`.
std::unique_ptr<WsClient> client(ServerProcess& server, const std::string& id,
                                 std::string* info = nullptr) {
  auto c = std::make_unique<WsClient>();
  REQUIRE(c->connect(server.ws_url("/connect_client")) == 101);
  c->send(R"({"message_type":"connect","device_id":")" + id + "\"}");
  REQUIRE(parse(c->next_text())["message_type"] == "config");
  std::string second = c->next_text();
  REQUIRE(parse(second)["message_type"] == "device_info");
  if (info) *info = second;
  return c;
}


/// Waits until the server has processed everything `ws` sent before: messages on one
/// connection are handled in order, and an unknown type is answered without closing.
void barrier(WsClient& ws) {
  ws.send(R"({"message_type":"barrier"})");
  REQUIRE(is_error(ws.next_text(), "Unknown message type: barrier"));
}

void check_cors(const HttpResult& r) {
  CHECK(r.header("Access-Control-Allow-Origin") == "*");
  CHECK(r.header("Access-Control-Allow-Methods") == "POST, GET, OPTIONS");
  CHECK(r.header("Access-Control-Allow-Headers") ==
        "Content-Type, Access-Control-Allow-Headers, Authorization, X-Requested-With, Accept");
}

void check_http_error(const HttpResult& r, int status, const std::string& text) {
  CHECK(r.status == status);
  check_cors(r);
  CHECK(r.header("Content-Type") == "application/json");
  CHECK(same_json(r.body, R"({"type":"error","error":")" + text + "\"}"));
}

HttpResult post_json(ServerProcess& server, const std::string& path, const std::string& body) {
  return http_post(server.port(), path, body, {{"Content-Type", "application/json"}});
}

std::string with_id(const std::string& id, const std::string& rest = "") {
  return R"({"connection_id":")" + id + "\"" + rest + "}";
}

const std::string offer = R"({"type":"offer","sdp":"v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\n"})";
const std::string answer = R"({"type":"answer","sdp":"v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\n"})";
std::string candidate(int i) {
  return R"({"type":"ice-candidate","mid":"0","mLineIndex":0,"candidate":"candidate:)" +
         std::to_string(i) + R"( 1 udp 2122260223 192.168.1.)" + std::to_string(i) +
         R"( 5000 typ host"})";
}

}  // namespace

TEST_CASE("CF-01 CF-02 CF-03 CF-04 CF-05 device and client exchange offer, answer, candidates") {
  ServerProcess server({"--ice-server", "stun:stun.example.org:3478",
                        "--ice-server", "turn:turn.example.org:3478?transport=udp,turns:turn.example.org:5349",
                        "--ice-username", "alice", "--ice-credential", "s3cret"});
  std::string config;
  auto d = device(server, "cvd-1", R"({"width":720,"height":1280,"dpi":[320]})", &config);
  CHECK(d->subprotocol() == "webrtc-operator");
  CHECK(same_json(config,
                  R"({"message_type":"config","ice_servers":[{"urls":["stun:stun.example.org:3478"]},)"
                  R"({"urls":["turn:turn.example.org:3478?transport=udp","turns:turn.example.org:5349"],)"
                  R"("username":"alice","credential":"s3cret"}]})"));
  CHECK(d->silent_for(200ms));  // exactly one message after register

  WsClient browser;
  REQUIRE(browser.connect(server.ws_url("/connect_client")) == 101);
  CHECK(browser.subprotocol().empty());
  browser.send(R"({"message_type":"connect","device_id":"cvd-1"})");
  CHECK(browser.next_text() == config);
  CHECK(same_json(browser.next_text(),
                  R"({"message_type":"device_info","device_info":{"width":720,"height":1280,"dpi":[320]}})"));

  browser.send(client_forward(R"({"type":"request-offer","n":[1,2.5,null]})"));
  CHECK(same_json(d->next_text(), client_msg(1, R"({"type":"request-offer","n":[1,2.5,null]})")));
  d->send(forward_to(1, offer));
  CHECK(same_json(browser.next_text(), device_msg(offer)));
  browser.send(client_forward(answer));
  CHECK(same_json(d->next_text(), client_msg(1, answer)));
  for (int i = 0; i < 4; ++i) {
    d->send(forward_to(1, candidate(i)));
    browser.send(client_forward(candidate(10 + i)));
  }
  for (int i = 0; i < 4; ++i) {
    CHECK(same_json(browser.next_text(), device_msg(candidate(i))));
    CHECK(same_json(d->next_text(), client_msg(1, candidate(10 + i))));
  }
  CHECK(browser.silent_for(200ms));
  CHECK(d->silent_for(100ms));
  auto infra = http_get(server.port(), "/infra_config");
  CHECK(infra.status == 200);
  CHECK(infra.body == config);
}

TEST_CASE("CF-23 CF-24 CF-25 the same exchange through the polling endpoints") {
  ServerProcess server;
  auto d = device(server, "cvd-1", R"({"x":1})");

  auto options = http_request(server.port(), HttpCall{"OPTIONS", "/connect", {}, {}});
  CHECK(options.status == 204);
  CHECK(options.body.empty());
  check_cors(options);
  auto config = http_get(server.port(), "/infra_config");
  CHECK(config.status == 200);
  check_cors(config);
  CHECK(config.header("Content-Type") == "application/json");
  CHECK(same_json(config.body, R"({"message_type":"config","ice_servers":[]})"));

  auto connect = post_json(server, "/connect", R"({"device_id":"cvd-1"})");
  REQUIRE(connect.status == 200);
  check_cors(connect);
  auto info = parse(connect.body);
  CHECK(info["message_type"] == "device_info");
  CHECK(info["device_info"] == parse(R"({"x":1})"));
  std::string id = info["connection_id"].GetString();
  CHECK(std::regex_match(id, std::regex("^[0-9A-Za-z]{64}$")));

  auto first = post_json(server, "/forward", with_id(id, R"(,"payload":{"type":"request-offer"})"));
  CHECK(first.status == 200);
  check_cors(first);
  CHECK(first.body == "[]");
  CHECK(same_json(d->next_text(), client_msg(1, R"({"type":"request-offer"})")));

  d->send(forward_to(1, offer));
  d->send(forward_to(1, candidate(1)));
  d->send(forward_to(1, candidate(2)));
  barrier(*d);  // the three forwards are queued and nothing else came back
  auto polled = post_json(server, "/poll_messages", with_id(id));
  CHECK(polled.status == 200);
  CHECK(same_json(polled.body, "[" + offer + "," + candidate(1) + "," + candidate(2) + "]"));
  CHECK(post_json(server, "/poll_messages", with_id(id)).body == "[]");

  d->send(forward_to(1, candidate(3)));
  barrier(*d);
  auto answered = post_json(server, "/forward", with_id(id, ",\"payload\":" + answer));
  CHECK(answered.status == 200);
  CHECK(same_json(answered.body, "[" + candidate(3) + "]"));
  CHECK(same_json(d->next_text(), client_msg(1, answer)));

  check_http_error(post_json(server, "/forward", with_id("abc", R"(,"payload":1)")), 401,
                   "Error: Unknown connection idabc");
  auto bad = post_json(server, "/connect", R"({"device_id":)");
  CHECK(bad.status == 400);
  CHECK(std::string(parse(bad.body)["error"].GetString()).rfind("Error parsing JSON: ", 0) == 0);
  CHECK(http_get(server.port(), "/connect").status == 405);
  CHECK(http_post(server.port(), "/devices", "").status == 404);
}

TEST_CASE("CF-07 client disconnects reach the device as client_disconnected") {
  ServerProcess server;
  auto d = device(server, "cvd-1");
  auto a = client(server, "cvd-1");
  auto b = client(server, "cvd-1");
  a->close();
  CHECK(d->next_text() == disconnected(1));
  b->abandon();  // TCP gone without a Close frame
  CHECK(d->next_text() == disconnected(2));
  d->send(forward_to(1, offer));
  CHECK(d->next_text() == disconnected(1));
  CHECK_FALSE(d->is_closed());
}

TEST_CASE("CF-19 a device disconnect closes its clients with the error") {
  ServerProcess server;
  auto d = device(server, "cvd-1");
  auto a = client(server, "cvd-1");
  auto b = client(server, "cvd-1");
  std::string id = parse(post_json(server, "/connect", R"({"device_id":"cvd-1"})").body)["connection_id"].GetString();
  d->send(forward_to(1, offer));
  d->close();
  CHECK(same_json(a->next_text(), device_msg(offer)));
  for (WsClient* c : {a.get(), b.get()}) {
    CHECK(is_error(c->next_text(), "Device disconnected"));
    check_close(*c, 1000);
  }
  CHECK(http_get(server.port(), "/devices").body == "[]");
  check_http_error(post_json(server, "/poll_messages", with_id(id)), 404, "Poll failed: Device disconnected");
  check_http_error(post_json(server, "/forward", with_id(id, R"(,"payload":1)")), 404,
                   "Forward failed: Device disconnected");
}

TEST_CASE("CF-06 CF-05 three clients on one device get their own ids and only their messages") {
  ServerProcess server;
  auto d = device(server, "cvd-1");
  std::vector<std::unique_ptr<WsClient>> clients;
  for (int i = 0; i < 3; ++i) clients.push_back(client(server, "cvd-1"));
  for (int i = 0; i < 3; ++i) {
    clients[i]->send(client_forward(R"({"who":)" + std::to_string(i) + "}"));
    auto m = parse(d->next_text());
    CHECK(m["client_id"].IsInt());
    CHECK(m["client_id"].GetInt() == i + 1);
    CHECK(m["payload"]["who"].GetInt() == i);
  }
  for (int i = 3; i >= 1; --i) d->send(forward_to(i, "[" + std::to_string(i) + "]"));
  for (int i = 0; i < 3; ++i) {
    CHECK(same_json(clients[i]->next_text(), device_msg("[" + std::to_string(i + 1) + "]")));
    CHECK(clients[i]->silent_for(100ms));
  }
  clients[0]->close();
  CHECK(d->next_text() == disconnected(1));
  auto fourth = client(server, "cvd-1");  // ids are never reused
  fourth->send(client_forward("4"));
  CHECK(same_json(d->next_text(), client_msg(4, "4")));
}

TEST_CASE("CF-11 CF-30 duplicate device id, and the sorted device list") {
  ServerProcess server;
  auto b = device(server, "b");
  auto a = device(server, "a");
  WsClient dup;
  REQUIRE(dup.connect(server.ws_url("/register_device"), device_options) == 101);
  dup.send(R"({"message_type":"register","device_id":"b"})");
  CHECK(is_error(dup.next_text(), "Device id already taken: b"));
  check_close(dup, 1000);
  auto c = device(server, "c");
  auto list = http_get(server.port(), "/devices");
  CHECK(list.status == 200);
  check_cors(list);
  CHECK(list.body == R"(["a","b","c"])");
  auto cl = client(server, "b");
  cl->send(client_forward("1"));
  CHECK(same_json(b->next_text(), client_msg(1, "1")));
}

TEST_CASE("CF-12 CF-13 CF-14 CF-16 error rows end to end") {
  ServerProcess server;
  {
    WsClient ws;
    REQUIRE(ws.connect(server.ws_url("/register_device"), device_options) == 101);
    ws.send_binary("\x01\x02\x03");
    CHECK(is_error(ws.next_text(), "Received a binary message"));
    check_close(ws, 1003);
  }
  {
    WsClient ws;
    REQUIRE(ws.connect(server.ws_url("/connect_client")) == 101);
    ws.send(R"({"message_type":)");
    CHECK(is_error(ws.next_text(), "Received Invalid JSON"));
    check_close(ws, 1000);
  }
  {
    WsClient ws;
    REQUIRE(ws.connect(server.ws_url("/register_device"), device_options) == 101);
    const std::string text = "{\"a\"\t:\n\"q\\\"b\\\\c\"}";  // GEN-01
    ws.send(text);
    CHECK(is_error(ws.next_text(), "Invalid message format: '" + text + "'"));
    check_close(ws, 1000);
  }
  {
    WsClient ws;
    REQUIRE(ws.connect(server.ws_url("/connect_client")) == 101);
    ws.send(R"({"message_type":"hello"})");
    CHECK(is_error(ws.next_text(), "Unknown message type: hello"));
    ws.send(R"({"message_type":"connect","device_id":"nope"})");
    CHECK(same_json(ws.next_text(), R"({"message_type":"config","ice_servers":[]})"));
    CHECK(is_error(ws.next_text(), "Connection failed: Device not found: 'nope'"));
    check_close(ws, 1000);
  }
}

TEST_CASE("CF-28 a polled connection that is not polled expires; one that is polled lives") {
  ServerProcess server({"--cuttlefish-poll-expiry", "1"});
  auto d = device(server, "cvd-1");
  auto idle = parse(post_json(server, "/connect", R"({"device_id":"cvd-1"})").body);
  std::string busy = parse(post_json(server, "/connect", R"({"device_id":"cvd-1"})").body)["connection_id"].GetString();
  auto start = std::chrono::steady_clock::now();
  bool told = false;
  while (std::chrono::steady_clock::now() - start < 2500ms && !told) {
    CHECK(post_json(server, "/poll_messages", with_id(busy)).status == 200);
    auto m = d->next(400ms);
    if (m) {
      CHECK(m->text == disconnected(1));
      told = true;
    }
  }
  CHECK(told);
  double after = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  CHECK(after >= 0.9);
  std::string idle_id = idle["connection_id"].GetString();
  check_http_error(post_json(server, "/poll_messages", with_id(idle_id)), 401,
                   "Error: Unknown connection id" + idle_id);
  CHECK(post_json(server, "/poll_messages", with_id(busy)).status == 200);
}

TEST_CASE("CF-22 CF-21 client-first: attach on register, or time out after the wait") {
  ServerProcess server({"--cuttlefish-client-first", "true", "--cuttlefish-client-first-wait", "1"});
  WsClient early;
  REQUIRE(early.connect(server.ws_url("/connect_client")) == 101);
  early.send(R"({"message_type":"connect","device_id":"dev2"})");
  CHECK(parse(early.next_text())["message_type"] == "config");
  auto d = device(server, "dev2", R"({"k":"v"})");
  CHECK(same_json(early.next_text(), R"({"message_type":"device_info","device_info":{"k":"v"}})"));
  early.send(client_forward("\"hi\""));
  CHECK(same_json(d->next_text(), client_msg(1, "\"hi\"")));

  WsClient late;
  REQUIRE(late.connect(server.ws_url("/connect_client")) == 101);
  auto start = std::chrono::steady_clock::now();
  late.send(R"({"message_type":"connect","device_id":"dev3"})");
  CHECK(parse(late.next_text())["message_type"] == "config");
  std::string err = late.next_text(3s);
  double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  CHECK(is_error(err, "Connection failed: Device not found: 'dev3'"));
  CHECK(waited >= 0.5);
  CHECK(waited <= 1.5);
  check_close(late, 1000);
}

TEST_CASE("GEN-05 POST /forward: 65536 bytes processed, 65537 bytes 413") {
  ServerProcess server;
  auto d = device(server, "cvd-1");
  std::string id = parse(post_json(server, "/connect", R"({"device_id":"cvd-1"})").body)["connection_id"].GetString();
  std::string head = R"({"connection_id":")" + id + R"(","payload":")";
  std::string exact = head + std::string(65536 - head.size() - 2, 'x') + "\"}";
  REQUIRE(exact.size() == 65536);
  CHECK(post_json(server, "/forward", exact).status == 200);
  CHECK(parse(d->next_text())["payload"].GetStringLength() == 65536 - head.size() - 2);
  std::string over = head + std::string(65537 - head.size() - 2, 'x') + "\"}";
  auto r = post_json(server, "/forward", over);
  check_http_error(r, 413, "Request body too large");
  CHECK(d->silent_for(200ms));
}

TEST_CASE("GEN-17 nesting 64 is delivered end to end, 65 closes the client") {
  ServerProcess server;
  auto d = device(server, "cvd-1");
  auto c = client(server, "cvd-1");
  std::string deep = std::string(63, '[') + std::string(63, ']');
  c->send(client_forward(deep));
  CHECK(same_json(d->next_text(), client_msg(1, deep)));
  c->send(client_forward(std::string(64, '[') + std::string(64, ']')));
  CHECK(is_error(c->next_text(), "Received Invalid JSON"));
  check_close(*c, 1000);
  CHECK(d->next_text() == disconnected(1));
}

TEST_CASE("CF-25 a polling client is not refused after max_connections_per_address requests") {
  // Each request is its own TCP connection; each must be released when it ends.
  ServerProcess server({"--max-connections-per-address", "3"});
  auto d = device(server, "cvd-1");
  std::string id = parse(post_json(server, "/connect", R"({"device_id":"cvd-1"})").body)["connection_id"].GetString();
  for (int i = 0; i < 10; ++i) {
    d->send(forward_to(1, std::to_string(i)));
    barrier(*d);
    auto r = post_json(server, "/poll_messages", with_id(id));
    REQUIRE(r.status == 200);
    CHECK(r.body == "[" + std::to_string(i) + "]");
  }
}
