// rooms (PROTOCOLS.md §4) against the running rendezvous-server, with real WebSocket clients
// and real public keys generated here with OpenSSL and exported as JWK.

#include "http_client.hpp"
#include "server_process.hpp"
#include "ws_client.hpp"

#include <doctest/doctest.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <rapidjson/document.h>

#include <algorithm>
#include <memory>
#include <stdexcept>

using namespace rendezvous::testing;
using namespace std::chrono_literals;

namespace {

// ---- keys --------------------------------------------------------------------------------

using PkeyPtr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;
using BnPtr = std::unique_ptr<BIGNUM, decltype(&BN_free)>;

std::string b64url(const unsigned char* data, std::size_t n) {
  std::string out(4 * ((n + 2) / 3) + 1, '\0');
  int len = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data, static_cast<int>(n));
  out.resize(static_cast<std::size_t>(len));
  while (!out.empty() && out.back() == '=') out.pop_back();
  std::replace(out.begin(), out.end(), '+', '-');
  std::replace(out.begin(), out.end(), '/', '_');
  return out;
}

std::string b64url_bn(const EVP_PKEY* pkey, const char* param, int pad) {
  BIGNUM* raw = nullptr;
  if (EVP_PKEY_get_bn_param(pkey, param, &raw) != 1) throw std::runtime_error(param);
  BnPtr bn(raw, BN_free);
  int size = pad ? pad : BN_num_bytes(bn.get());
  std::vector<unsigned char> bytes(static_cast<std::size_t>(size));
  BN_bn2binpad(bn.get(), bytes.data(), size);
  return b64url(bytes.data(), bytes.size());
}

std::string sha256_hex(const std::string& text) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(text.data(), text.size(), md, &n, EVP_sha256(), nullptr);
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < n; ++i) {
    out.push_back(hex[md[i] >> 4]);
    out.push_back(hex[md[i] & 15]);
  }
  return out;
}

/// A freshly generated public key as a browser would export it, its private JWK, and the
/// peer id §4.3 predicts for it.
struct Jwk {
  std::string pub;
  std::string priv;
  std::string id;
};

Jwk ec_p256() {
  PkeyPtr k(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"), EVP_PKEY_free);
  REQUIRE(k);
  std::string x = b64url_bn(k.get(), OSSL_PKEY_PARAM_EC_PUB_X, 32);
  std::string y = b64url_bn(k.get(), OSSL_PKEY_PARAM_EC_PUB_Y, 32);
  std::string d = b64url_bn(k.get(), OSSL_PKEY_PARAM_PRIV_KEY, 32);
  std::string essential = R"({"kty":"EC","crv":"P-256","x":")" + x + R"(","y":")" + y + R"("})";
  // WebCrypto's exportKey("jwk") order and extra members.
  std::string pub = R"({"crv":"P-256","ext":true,"key_ops":["verify"],"kty":"EC","x":")" + x +
                    R"(","y":")" + y + R"("})";
  std::string priv = R"({"crv":"P-256","d":")" + d + R"(","ext":true,"key_ops":["sign"],"kty":"EC","x":")" +
                     x + R"(","y":")" + y + R"("})";
  return {pub, priv, sha256_hex(essential)};
}

Jwk ed25519() {
  PkeyPtr k(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"), EVP_PKEY_free);
  REQUIRE(k);
  unsigned char raw[64];
  std::size_t n = sizeof raw;
  REQUIRE(EVP_PKEY_get_raw_public_key(k.get(), raw, &n) == 1);
  std::string x = b64url(raw, n);
  unsigned char sk[64];
  std::size_t m = sizeof sk;
  REQUIRE(EVP_PKEY_get_raw_private_key(k.get(), sk, &m) == 1);
  std::string essential = R"({"kty":"OKP","crv":"Ed25519","x":")" + x + R"("})";
  std::string pub = R"({"alg":"Ed25519","crv":"Ed25519","ext":true,"key_ops":["verify"],"kty":"OKP","x":")" + x + R"("})";
  std::string priv = R"({"crv":"Ed25519","d":")" + b64url(sk, m) + R"(","kty":"OKP","x":")" + x + R"("})";
  return {pub, priv, sha256_hex(essential)};
}

Jwk rsa2048() {
  PkeyPtr k(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<std::size_t>(2048)),
            EVP_PKEY_free);
  REQUIRE(k);
  std::string n = b64url_bn(k.get(), OSSL_PKEY_PARAM_RSA_N, 0);
  std::string e = b64url_bn(k.get(), OSSL_PKEY_PARAM_RSA_E, 0);
  std::string essential = R"({"kty":"RSA","n":")" + n + R"(","e":")" + e + R"("})";
  std::string pub = R"({"alg":"RS256","e":")" + e +
                    R"(","ext":true,"key_ops":["verify"],"kty":"RSA","n":")" + n + R"("})";
  std::string priv = R"({"kty":"RSA","n":")" + n + R"(","e":")" + e + R"(","d":"AQAB"})";
  return {pub, priv, sha256_hex(essential)};
}

// ---- messages ----------------------------------------------------------------------------

rapidjson::Document parse(const std::string& text) {
  rapidjson::Document d;
  d.Parse(text.c_str(), text.size());
  REQUIRE_MESSAGE((!d.HasParseError() && d.IsObject()), text);
  return d;
}

std::string str(const rapidjson::Value& v) { return std::string(v.GetString(), v.GetStringLength()); }

std::string reg(const std::string& jwk) { return R"({"type":"register","publicKey":)" + jwk + "}"; }

/// The next message, parsed, which must be of `type`.
rapidjson::Document expect(WsClient& c, const std::string& type) {
  std::string text = c.next_text();
  REQUIRE_MESSAGE(!text.empty(), (std::string("no message, expected ") + type));
  auto d = parse(text);
  REQUIRE_MESSAGE(str(d["type"]) == type, text);
  return d;
}

std::string expect_error(WsClient& c) { return str(expect(c, "error")["message"]); }

/// Registers and returns the welcome.
rapidjson::Document join(WsClient& c, const Jwk& key) {
  c.send(reg(key.pub));
  auto w = expect(c, "welcome");
  CHECK(str(w["peerId"]) == key.id);
  return w;
}

void expect_joined(WsClient& c, const Jwk& key) {
  auto d = expect(c, "peer-joined");
  CHECK(str(d["peerId"]) == key.id);
  CHECK(d["publicKey"] == parse(key.pub));
}

void expect_left(WsClient& c, const Jwk& key) {
  auto d = expect(c, "peer-left");
  CHECK(d.MemberCount() == 2);
  CHECK(str(d["peerId"]) == key.id);
}

std::string to(const Jwk& k, const std::string& rest) {
  return R"({"to":")" + k.id + "\"," + rest + "}";
}

/// Checks that `got` is `sent` without `to`, plus from = `sender`.
void expect_relay(WsClient& c, const std::string& sent, const Jwk& sender) {
  std::string text = c.next_text();
  REQUIRE_MESSAGE(!text.empty(), "no relay");
  auto got = parse(text);
  auto want = parse(sent);
  want.RemoveMember("to");
  CHECK(!got.HasMember("to"));
  REQUIRE(got.HasMember("from"));
  CHECK(str(got["from"]) == sender.id);
  got.RemoveMember("from");
  CHECK(got == want);
}

double metric(unsigned short port, const std::string& series) {
  auto r = http_get(port, "/metrics");
  auto pos = r.body.find("\n" + series + " ");
  if (pos == std::string::npos) return -1;
  return std::stod(r.body.substr(pos + series.size() + 2));
}

}  // namespace

TEST_CASE("RM-01 RM-05 RM-06 RM-08 RM-18 three peers with EC, Ed25519 and RSA keys meet, talk and leave") {
  ServerProcess server;
  const Jwk ka = ec_p256(), kb = ed25519(), kc = rsa2048();
  const std::string url = server.ws_url("/room/it-lobby/websocket");
  WsClient a, b, c;
  REQUIRE(a.connect(url, WsOptions{{}, {"rooms"}, true}) == 101);
  CHECK(a.subprotocol().empty());
  REQUIRE(b.connect(url) == 101);
  REQUIRE(c.connect(url) == 101);
  CHECK(a.silent_for(200ms));  // RM-01: nothing until the client speaks

  CHECK(join(a, ka)["peers"].Empty());
  auto wb = join(b, kb);
  REQUIRE(wb["peers"].Size() == 1);
  CHECK(str(wb["peers"][0]["id"]) == ka.id);
  CHECK(wb["peers"][0]["publicKey"] == parse(ka.pub));
  expect_joined(a, kb);
  auto wc = join(c, kc);
  REQUIRE(wc["peers"].Size() == 2);
  CHECK(str(wc["peers"][0]["id"]) == ka.id);
  CHECK(wc["peers"][0]["publicKey"] == parse(ka.pub));
  CHECK(str(wc["peers"][1]["id"]) == kb.id);
  CHECK(wc["peers"][1]["publicKey"] == parse(kb.pub));
  expect_joined(a, kc);
  expect_joined(b, kc);

  // A calls B and C; each answers; candidates flow both ways.
  for (auto* callee : {&b, &c}) {
    const Jwk& kcallee = callee == &b ? kb : kc;
    std::string offer = to(kcallee, R"("type":"offer","sdp":{"type":"offer","sdp":"v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\n"},"x-app":7)");
    a.send(offer);
    expect_relay(*callee, offer, ka);
    std::string answer = to(ka, R"("type":"answer","sdp":{"type":"answer","sdp":"v=0\r\n"})");
    callee->send(answer);
    expect_relay(a, answer, kcallee);
    for (int i = 0; i < 3; ++i) {
      std::string ca = to(kcallee, R"("type":"ice-candidate","candidate":{"candidate":"candidate:)" +
                                       std::to_string(i) + R"( 1 udp 2122260223 192.0.2.1 5000 typ host","sdpMid":"0","sdpMLineIndex":0})");
      a.send(ca);
      expect_relay(*callee, ca, ka);
      std::string cb = to(ka, R"("type":"ice-candidate","candidate":{"candidate":"candidate:)" +
                                  std::to_string(i) + R"( 1 udp 2122260223 192.0.2.2 6000 typ host","sdpMid":"0","sdpMLineIndex":0,"usernameFragment":null})");
      callee->send(cb);
      expect_relay(a, cb, kcallee);
    }
  }
  // Exactly one receiver per relay, nothing echoed.
  CHECK(a.silent_for(100ms));
  CHECK(b.silent_for(100ms));
  CHECK(c.silent_for(100ms));
  CHECK(metric(server.port(), R"(rendezvous_messages_relayed_total{dialect="rooms"})") == 16);
  CHECK(metric(server.port(), "rendezvous_rooms") == 1);

  // A leaves with a close frame, B without one: both are announced.
  a.close();
  REQUIRE(a.wait_close());
  expect_left(b, ka);
  expect_left(c, ka);
  b.abandon();
  expect_left(c, kb);
  c.close();
  REQUIRE(c.wait_close());
  bool gone = false;
  for (int i = 0; i < 50 && !gone; ++i) {  // the server sees the last close asynchronously
    gone = metric(server.port(), "rendezvous_rooms") == 0;
    if (!gone) std::this_thread::sleep_for(20ms);
  }
  CHECK(gone);
}

TEST_CASE("RM-18 a peer that drops TCP without a close frame is announced as left") {
  ServerProcess server;
  const Jwk ka = ec_p256(), kb = ec_p256();
  const std::string url = server.ws_url("/room/drop/websocket");
  WsClient a, b, u;
  REQUIRE(a.connect(url) == 101);
  REQUIRE(b.connect(url) == 101);
  REQUIRE(u.connect(url) == 101);
  join(a, ka);
  join(b, kb);
  expect_joined(a, kb);
  u.abandon();  // unregistered: nobody is told
  CHECK(a.silent_for(200ms));
  b.abandon();
  expect_left(a, kb);
  // The id is free again: B can come back with the same key.
  WsClient b2;
  REQUIRE(b2.connect(url) == 101);
  auto w = join(b2, kb);
  REQUIRE(w["peers"].Size() == 1);
  CHECK(str(w["peers"][0]["id"]) == ka.id);
  expect_joined(a, kb);
}

TEST_CASE("RM-14 RM-20 two rooms with the same peer key stay apart") {
  ServerProcess server;
  const Jwk shared = ed25519(), kx = ec_p256(), ky = ec_p256();
  WsClient px, py, x, y;
  REQUIRE(px.connect(server.ws_url("/room/x/websocket")) == 101);
  REQUIRE(py.connect(server.ws_url("/room/y/websocket")) == 101);
  REQUIRE(x.connect(server.ws_url("/room/x/websocket")) == 101);
  REQUIRE(y.connect(server.ws_url("/room/y/websocket")) == 101);
  CHECK(join(px, shared)["peers"].Empty());
  CHECK(join(py, shared)["peers"].Empty());  // same key, other room: accepted
  auto wx = join(x, kx);
  REQUIRE(wx["peers"].Size() == 1);
  expect_joined(px, kx);
  join(y, ky);
  expect_joined(py, ky);

  // A relay to the shared id reaches only the holder in the sender's room.
  std::string m = to(shared, R"("type":"offer","sdp":{"type":"offer","sdp":"v=0"})");
  x.send(m);
  expect_relay(px, m, kx);
  CHECK(py.silent_for(200ms));
  // Ids of the other room do not exist here.
  x.send(to(ky, R"("type":"offer")"));
  CHECK(expect_error(x) == "Peer not found: " + ky.id);
  CHECK(y.silent_for(100ms));
  // Leaving one room tells only that room.
  px.close();
  expect_left(x, shared);
  CHECK(py.silent_for(200ms));
  CHECK(y.silent_for(10ms));
  // A second holder of the key in the same room is refused (reject mode).
  WsClient dup;
  REQUIRE(dup.connect(server.ws_url("/room/y/websocket")) == 101);
  dup.send(reg(shared.pub));
  CHECK(expect_error(dup) == "Peer ID already in room");
  CHECK_FALSE(dup.is_closed());
}

TEST_CASE("RM-13 a private JWK is refused and its secret never reaches the room") {
  ServerProcess server;
  const std::string url = server.ws_url("/room/keys/websocket");
  WsClient a, u;
  REQUIRE(a.connect(url) == 101);
  REQUIRE(u.connect(url) == 101);
  join(a, ec_p256());
  for (const Jwk& k : {ec_p256(), ed25519(), rsa2048()}) {
    u.send(reg(k.priv));
    CHECK(expect_error(u) == "Invalid public key");
  }
  CHECK(a.silent_for(200ms));
  const Jwk ok = ed25519();
  join(u, ok);
  expect_joined(a, ok);
}

TEST_CASE("RM-15 replace mode closes the old holder with 4000") {
  ServerProcess server({"--rooms-duplicate-ids", "replace"});
  const Jwk k = ec_p256(), kb = ec_p256();
  const std::string url = server.ws_url("/room/r/websocket");
  WsClient first, b, second;
  REQUIRE(first.connect(url) == 101);
  REQUIRE(b.connect(url) == 101);
  REQUIRE(second.connect(url) == 101);
  join(first, k);
  join(b, kb);
  expect_joined(first, kb);
  second.send(reg(k.pub));
  auto w = expect(second, "welcome");
  CHECK(w["peers"].Size() == 1);
  auto closed = first.wait_close();
  REQUIRE(closed);
  CHECK(closed->code == 4000);
  CHECK(closed->reason == "replaced");
  expect_left(b, k);
  expect_joined(b, k);
  std::string m = to(k, R"("type":"offer")");
  b.send(m);
  expect_relay(second, m, kb);
}

TEST_CASE("RM-16 with max peers 2 the third register gets Room is full and close 1008") {
  ServerProcess server({"--rooms-max-peers", "2"});
  const std::string url = server.ws_url("/room/small/websocket");
  WsClient a, b, c;
  REQUIRE(a.connect(url) == 101);
  REQUIRE(b.connect(url) == 101);
  REQUIRE(c.connect(url) == 101);  // not refused until it registers
  join(a, ec_p256());
  join(b, ec_p256());
  c.send(reg(ed25519().pub));
  CHECK(expect_error(c) == "Room is full");
  auto closed = c.wait_close();
  REQUIRE(closed);
  CHECK(closed->code == 1008);
  CHECK(closed->reason == "room full");
}

TEST_CASE("RM-21 room names over HTTP: decoding, 404 and 400") {
  ServerProcess server;
  const Jwk k1 = ec_p256(), k2 = ec_p256();
  WsClient s1, s2;
  REQUIRE(s1.connect(server.ws_url("/room/my%20room/websocket")) == 101);
  REQUIRE(s2.connect(server.ws_url("/room/my%20room/websocket?x=1")) == 101);
  join(s1, k1);
  CHECK(join(s2, k2)["peers"].Size() == 1);  // same room "my room"
  expect_joined(s1, k2);
  WsClient plus;
  REQUIRE(plus.connect(server.ws_url("/room/a+b/websocket")) == 101);
  for (std::string p : {"/room//websocket", "/room/a%2Fb/websocket", "/room/a/b/websocket",
                        "/room/a"}) {
    WsClient c;
    CHECK_MESSAGE(c.connect(server.ws_url(p)) == 404, p);
  }
  for (const std::string& p : std::vector<std::string>{
           "/room/%zz/websocket", "/room/a%00b/websocket",
           "/room/" + std::string(257, 'n') + "/websocket"}) {
    WsClient c;
    CHECK_MESSAGE(c.connect(server.ws_url(p)) == 400, p);
  }
  CHECK(http_get(server.port(), "/room/lobby/websocket").status == 426);
}

TEST_CASE("RM-22 RM-23 RM-24 GEN-02 errors over the wire; binary closes 1003 with peer-left") {
  ServerProcess server;
  const Jwk ka = ec_p256(), kb = ed25519();
  const std::string url = server.ws_url("/room/errors/websocket");
  WsClient a, b;
  REQUIRE(a.connect(url) == 101);
  REQUIRE(b.connect(url) == 101);
  b.send(to(ka, R"("type":"offer")"));
  CHECK(expect_error(b) == "Not registered");
  join(a, ka);
  join(b, kb);
  expect_joined(a, kb);
  a.send(R"({"type":)");
  CHECK(expect_error(a) == "Invalid JSON");
  a.send("[1]");
  CHECK(expect_error(a) == "Invalid message format");
  a.send(R"({"type":"bye"})");
  CHECK(expect_error(a) == "Unknown message type");
  a.send(R"({"type":"offer","to":5})");
  CHECK(expect_error(a) == "Missing or invalid to");
  a.send(to(ka, R"("type":"offer")"));
  CHECK(expect_error(a) == "Cannot send to self");
  a.send(R"({"type":"offer","to":"x\"\u0001y"})");  // GEN-02
  CHECK(expect_error(a) == std::string("Peer not found: x\"\x01y"));
  a.send(reg(ec_p256().pub));
  CHECK(expect_error(a) == "Already registered");
  CHECK(b.silent_for(100ms));
  CHECK_FALSE(a.is_closed());

  a.send_binary("\x01\x02");
  CHECK(expect_error(a) == "Binary frames not supported");
  auto closed = a.wait_close();
  REQUIRE(closed);
  CHECK(closed->code == 1003);
  expect_left(b, ka);
}

TEST_CASE("RM-25 peer-joined before the newcomer's first offer; 100 offers arrive in order") {
  ServerProcess server;
  const Jwk ka = ec_p256(), kb = ec_p256(), kc = ed25519();
  const std::string url = server.ws_url("/room/order/websocket");
  WsClient a, b, c;
  REQUIRE(a.connect(url) == 101);
  REQUIRE(b.connect(url) == 101);
  REQUIRE(c.connect(url) == 101);
  join(a, ka);
  join(b, kb);
  expect_joined(a, kb);
  // C registers and offers at once, without waiting for its welcome.
  c.send(reg(kc.pub));
  c.send(to(kb, R"("type":"offer","n":-1)"));
  expect_joined(b, kc);
  auto first = expect(b, "offer");
  CHECK(str(first["from"]) == kc.id);
  expect(c, "welcome");
  for (int i = 0; i < 100; ++i) a.send(to(kb, R"("type":"offer","n":)" + std::to_string(i)));
  for (int i = 0; i < 100; ++i) {
    auto d = expect(b, "offer");
    CHECK(d["n"].GetInt() == i);
  }
}

TEST_CASE("RM-26 GEN-19 oversize message closes 1009 with peer-left; metrics carry no names") {
  ServerProcess server;
  const Jwk ka = ec_p256(), kb = ec_p256();
  const std::string url = server.ws_url("/room/zz-secret-room/websocket");
  WsClient a, b;
  REQUIRE(a.connect(url) == 101);
  REQUIRE(b.connect(url) == 101);
  join(a, ka);
  join(b, kb);
  expect_joined(a, kb);
  std::string head = R"({"type":"offer","to":")" + kb.id + R"(","pad":")";
  std::string exact = head + std::string(65536 - head.size() - 2, 'p') + "\"}";
  a.send(exact);
  expect_relay(b, exact, ka);
  a.send(exact + " ");
  auto closed = a.wait_close();
  REQUIRE(closed);
  CHECK(closed->code == 1009);
  CHECK(a.silent_for(50ms));
  expect_left(b, ka);
  auto body = http_get(server.port(), "/metrics").body;
  CHECK(body.find("zz-secret-room") == std::string::npos);
  CHECK(body.find(kb.id) == std::string::npos);
  CHECK(body.find("rendezvous_rooms 1") != std::string::npos);
}
