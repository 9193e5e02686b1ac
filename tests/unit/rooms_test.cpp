// PROTOCOLS.md §4 through the recording transport. Test names cite the RM- cases.

#include "broker_harness.hpp"
#include "dialects/peer_id.hpp"

#include <doctest/doctest.h>
#include <openssl/evp.h>
#include <rapidjson/document.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>

using namespace rendezvous;
using namespace rendezvous::testing;

namespace {

// The three keys of §4.3 (EC1 with the RFC's own extra members).
const std::string ec1_x = "MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4";
const std::string ec1_y = "4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM";
const std::string okp1_x = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";
const std::string rsa1_n =
    "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPeb"
    "WKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQ"
    "MicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2N"
    "cRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";
const std::string EC1 = R"({"kty":"EC","crv":"P-256","x":")" + ec1_x + R"(","y":")" + ec1_y +
                        R"(","use":"enc","kid":"1"})";
const std::string OKP1 = R"({"kty":"OKP","crv":"Ed25519","x":")" + okp1_x + R"("})";
const std::string RSA1 = R"({"kty":"RSA","n":")" + rsa1_n + R"(","e":"AQAB"})";

const std::string ec1_id = "a352193f3ae0e84514da6fcd22635e7363855ad6e684dc0bc33b22b2ae736401";
const std::string okp1_id = "20aab9665358bc73da7fc6ab0c064cc7487d8cc311c4596851adcce62db1f1e1";
const std::string rsa1_id = "cf11c70a7e8d51ea8dc5838a58657c93252480f3aec2920817cfc58f469a208a";

const std::string lobby = "/room/lobby/websocket";

/// A distinct, well-formed EC public JWK (the server does not check curve points), with the
/// members a browser's exportKey adds.
std::string key(int n) {
  return R"({"crv":"P-256","ext":true,"key_ops":["verify"],"kty":"EC","x":"x)" +
         std::to_string(n) + R"(AAAA","y":"y-_9"})";
}

std::string reg(const std::string& jwk) { return R"({"type":"register","publicKey":)" + jwk + "}"; }

rapidjson::Document parse(const std::string& text) {
  rapidjson::Document d;
  d.Parse(text.c_str(), text.size());
  REQUIRE_MESSAGE(!d.HasParseError(), text);
  return d;
}

std::string str(const rapidjson::Value& v) { return std::string(v.GetString(), v.GetStringLength()); }

std::string error_text(const std::string& message) {
  auto d = parse(message);
  REQUIRE(d.IsObject());
  REQUIRE(d.MemberCount() == 2);
  CHECK(str(d["type"]) == "error");
  return str(d["message"]);
}

/// The one message `id` received since the last look.
std::string only(Harness& h, ConnectionId id) {
  auto v = h.received(id);
  REQUIRE_MESSAGE(v.size() == 1, v.size());
  return v.front();
}

/// The single error `id` got for its last message; the connection must still be open.
std::string error_of(Harness& h, ConnectionId id) {
  std::string text = error_text(only(h, id));
  CHECK(!h.closed(id));
  return text;
}

/// Registers `jwk` on `id`, checks the welcome and returns the peer id.
std::string join(Harness& h, ConnectionId id, const std::string& jwk) {
  h.text(id, reg(jwk));
  auto d = parse(only(h, id));
  REQUIRE(str(d["type"]) == "welcome");
  return str(d["peerId"]);
}

unsigned count_member(const rapidjson::Value& obj, const char* name) {
  unsigned n = 0;
  for (auto it = obj.MemberBegin(); it != obj.MemberEnd(); ++it)
    if (str(it->name) == name) ++n;
  return n;
}

std::string base64url(const std::string& hex) {
  std::string bytes;
  for (std::size_t i = 0; i < hex.size(); i += 2)
    bytes.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(bytes.data()),
                          static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  while (!out.empty() && out.back() == '=') out.pop_back();
  std::replace(out.begin(), out.end(), '+', '-');
  std::replace(out.begin(), out.end(), '/', '_');
  return out;
}

double rooms_gauge(Harness& h) { return h.metric("rendezvous_rooms"); }

}  // namespace

// ---- §4.3 peer id ---------------------------------------------------------------------

TEST_CASE("§4.3 test vectors: hashed text, SHA-256 hex, and the RFC thumbprints") {
  using rendezvous::detail::peer_id;
  using rendezvous::detail::peer_id_text;
  using rendezvous::detail::sha256_hex;

  const std::string ec_text = R"({"kty":"EC","crv":"P-256","x":")" + ec1_x + R"(","y":")" +
                              ec1_y + R"("})";
  const std::string okp_text = R"({"kty":"OKP","crv":"Ed25519","x":")" + okp1_x + R"("})";
  const std::string rsa_text = R"({"kty":"RSA","n":")" + rsa1_n + R"(","e":"AQAB"})";
  CHECK(ec_text.size() == 126);
  CHECK(okp_text.size() == 79);
  CHECK(rsa_text.size() == 373);

  struct Row {
    const std::string& jwk;
    const std::string& text;
    const std::string& id;
    std::string b64;
  };
  for (const Row& row : {Row{EC1, ec_text, ec1_id, "o1IZPzrg6EUU2m_NImNec2OFWtbmhNwLwzsisq5zZAE"},
                         Row{OKP1, okp_text, okp1_id, "IKq5ZlNYvHPaf8arDAZMx0h9jMMRxFloUa3M5i2x8eE"},
                         Row{RSA1, rsa_text, rsa1_id,
                             "zxHHCn6NUeqNxYOKWGV8kyUkgPOuwpIIF8_Fj0aaIIo"}}) {
    auto d = parse(row.jwk);
    auto text = peer_id_text(d);
    REQUIRE(text);
    CHECK(*text == row.text);
    CHECK(sha256_hex(*text) == row.id);
    CHECK(peer_id(d) == row.id);
    CHECK(base64url(row.id) == row.b64);
  }

  // The RFC 7638 member order reproduces the published thumbprints: the method is right.
  const std::string ec_rfc = R"({"crv":"P-256","kty":"EC","x":")" + ec1_x + R"(","y":")" +
                             ec1_y + R"("})";
  const std::string okp_rfc = R"({"crv":"Ed25519","kty":"OKP","x":")" + okp1_x + R"("})";
  const std::string rsa_rfc = R"({"e":"AQAB","kty":"RSA","n":")" + rsa1_n + R"("})";
  CHECK(sha256_hex(ec_rfc) == "727f88fd634c0a57a1895a79d62ff4569384356d6ea447ab03cb046a6e619feb");
  CHECK(base64url(sha256_hex(ec_rfc)) == "cn-I_WNMClehiVp51i_0VpOENW1upEerA8sEam5hn-s");
  CHECK(sha256_hex(okp_rfc) == "90facafea9b1556698540f70c0117a22ea37bd5cf3ed3c47093c1707282b4b89");
  CHECK(base64url(sha256_hex(okp_rfc)) == "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
  CHECK(sha256_hex(rsa_rfc) == "3736cbb1787cb8309c77ee8c3705c5e16ffb9e859715901f1e4c59b11182f57b");
  CHECK(base64url(sha256_hex(rsa_rfc)) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
}

TEST_CASE("§4.3 key validation rules") {
  using rendezvous::detail::peer_id;
  auto valid = [](const std::string& jwk) { return peer_id(parse(jwk)).has_value(); };
  CHECK(valid(EC1));
  for (std::string crv : {"P-256", "P-384", "P-521"})
    CHECK(valid(R"({"kty":"EC","crv":")" + crv + R"(","x":"AA","y":"BB"})"));
  for (std::string crv : {"Ed25519", "X25519", "Ed448", "X448"})
    CHECK(valid(R"({"kty":"OKP","crv":")" + crv + R"(","x":"AA"})"));
  CHECK_FALSE(valid(R"({"kty":"OKP","crv":"P-256","x":"AA"})"));
  CHECK_FALSE(valid(R"({"kty":"EC","crv":"Ed25519","x":"AA","y":"BB"})"));
  CHECK_FALSE(valid(R"({"kty":"ec","crv":"P-256","x":"AA","y":"BB"})"));  // exact bytes
  CHECK_FALSE(valid(R"({"kty":1,"crv":"P-256","x":"AA","y":"BB"})"));
  CHECK_FALSE(valid(R"({"crv":"P-256","x":"AA","y":"BB"})"));
  CHECK_FALSE(valid(R"({"kty":"EC","crv":"P-256","x":"","y":"BB"})"));
  CHECK_FALSE(valid(R"({"kty":"EC","crv":"P-256","x":"A.A","y":"BB"})"));
  CHECK_FALSE(valid(R"({"kty":"EC","crv":"P-256","x":"A/A","y":"BB"})"));
  CHECK_FALSE(valid(R"({"kty":"EC","crv":"P-256","x":"AA","y":null})"));
  CHECK_FALSE(valid(R"({"kty":"RSA","n":"AA","e":"AQAB","qi":"AA"})"));
  CHECK_FALSE(valid(R"({"kty":"OKP","crv":"Ed25519","x":"AA","d":"AA"})"));
  CHECK_FALSE(valid(R"({"kty":"RSA","n":"AA","e":"AQAB","oth":[]})"));
  CHECK_FALSE(valid(R"({"kty":"EC","crv":"P-256","x":"AA","y":"BB","k":null})"));
  // Duplicate names, even when both copies agree.
  CHECK_FALSE(valid(R"({"kty":"EC","crv":"P-256","x":"AA","y":"BB","y":"BB"})"));
  CHECK_FALSE(valid(R"({"kty":"EC","crv":"P-256","x":"AA","y":"BB","kid":"1","kid":"2"})"));
  CHECK_FALSE(valid(R"(["kty","EC"])"));
}

// ---- §4.10 conformance cases ------------------------------------------------------------

TEST_CASE("RM-01 upgrade gets 101 with no subprotocol and nothing is sent") {
  Harness h;
  ConnectionId id{};
  Handshake hs = h.upgrade(id, lobby, {{"Sec-WebSocket-Protocol", "chat, rooms"}});
  CHECK(hs.accepted());
  CHECK(hs.subprotocol.empty());
  h.run_for(std::chrono::seconds(5));
  CHECK(h.received(id).empty());
  CHECK(!h.closed(id));
}

TEST_CASE("RM-02 EC1 registers with the id of the test vector and an empty peer list") {
  Harness h;
  ConnectionId id = h.ws(lobby);
  h.text(id, reg(EC1));
  std::string welcome = only(h, id);
  auto d = parse(welcome);
  CHECK(d.MemberCount() == 3);
  CHECK(str(d["type"]) == "welcome");
  CHECK(str(d["peerId"]) == ec1_id);
  REQUIRE(d["peers"].IsArray());
  CHECK(d["peers"].Empty());
  CHECK(welcome == R"({"type":"welcome","peerId":")" + ec1_id + R"(","peers":[]})");
}

TEST_CASE("RM-03 OKP1 and RSA1 register with their test-vector ids") {
  Harness h;
  CHECK(join(h, h.ws("/room/okp/websocket"), OKP1) == okp1_id);
  CHECK(join(h, h.ws("/room/rsa/websocket"), RSA1) == rsa1_id);
}

TEST_CASE("RM-04 member order and non-essential members do not change the id") {
  Harness h;
  std::string shuffled = R"({"y":")" + ec1_y + R"(","x":")" + ec1_x +
                         R"(","crv":"P-256","kty":"EC","use":"enc","kid":"1","ext":true,"key_ops":["verify"]})";
  CHECK(join(h, h.ws(lobby), shuffled) == ec1_id);
}

TEST_CASE("RM-05 welcome lists earlier peers with their keys as sent; they get peer-joined") {
  Harness h;
  const std::string ka = R"({"kty":"EC","crv":"P-256","x":"aaaa","y":"bbbb","alg":"ES256","key_ops":["verify"],"ext":true,"n":1.5e3,"x-big":18446744073709551615})";
  const std::string kb = key(2);
  ConnectionId a = h.ws(lobby), b = h.ws(lobby);
  std::string ida = join(h, a, ka);
  h.text(b, reg(kb));
  auto welcome = parse(only(h, b));
  CHECK(str(welcome["type"]) == "welcome");
  std::string idb = str(welcome["peerId"]);
  const auto& peers = welcome["peers"];
  REQUIRE(peers.Size() == 1);
  CHECK(peers[0].MemberCount() == 2);
  CHECK(str(peers[0]["id"]) == ida);
  CHECK(peers[0]["publicKey"] == parse(ka));
  CHECK(peers[0]["publicKey"]["x-big"].GetUint64() == 18446744073709551615u);

  auto joined = parse(only(h, a));
  CHECK(joined.MemberCount() == 3);
  CHECK(str(joined["type"]) == "peer-joined");
  CHECK(str(joined["peerId"]) == idb);
  CHECK(joined["publicKey"] == parse(kb));

  // A third peer sees both, oldest registration first.
  ConnectionId c = h.ws(lobby);
  h.text(c, reg(key(3)));
  auto w3 = parse(only(h, c));
  REQUIRE(w3["peers"].Size() == 2);
  CHECK(str(w3["peers"][0]["id"]) == ida);
  CHECK(str(w3["peers"][1]["id"]) == idb);
  CHECK(h.received(a).size() == 1);
  CHECK(h.received(b).size() == 1);
}

struct Pair {
  Harness h;
  ConnectionId a{}, b{};
  std::string ida, idb;
  explicit Pair(Options o = {}) : h(std::move(o)) {
    a = h.ws(lobby);
    b = h.ws(lobby);
    ida = join(h, a, key(1));
    idb = join(h, b, key(2));
    h.received(a);  // peer-joined for B
  }
};

TEST_CASE("RM-06 offer is relayed without to, with from, every other member deep-equal") {
  Pair p;
  p.h.text(p.a, R"({"type":"offer","to":")" + p.idb +
                    R"(","sdp":{"type":"offer","sdp":"v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n"},"extra":{"k":[1,2]}})");
  auto got = parse(only(p.h, p.b));
  CHECK(got.MemberCount() == 4);
  CHECK(!got.HasMember("to"));
  CHECK(str(got["from"]) == p.ida);
  CHECK(str(got["type"]) == "offer");
  CHECK(got["sdp"] == parse(R"({"type":"offer","sdp":"v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n"})"));
  CHECK(got["extra"] == parse(R"({"k":[1,2]})"));
  CHECK(p.h.received(p.a).empty());
  CHECK(p.h.metric("rendezvous_messages_relayed_total", "dialect=\"rooms\"") == 1);
}

TEST_CASE("RM-07 a forged from is replaced, and from appears once") {
  Pair p;
  p.h.text(p.a, R"({"from":"forged","type":"answer","to":")" + p.idb +
                    R"(","sdp":{"type":"answer","sdp":"v=0"},"from":"again","from":{"x":[1,{"from":2}]}})");
  std::string text = only(p.h, p.b);
  auto got = parse(text);
  CHECK(count_member(got, "from") == 1);
  CHECK(str(got["from"]) == p.ida);
  CHECK(str(got["type"]) == "answer");
  CHECK(got.MemberCount() == 3);
  CHECK(text.find("forged") == std::string::npos);
}

TEST_CASE("RM-08 ice-candidate is relayed likewise") {
  Pair p;
  const std::string cand =
      R"({"candidate":"candidate:1 1 udp 2122260223 192.0.2.1 54400 typ host","sdpMid":"0","sdpMLineIndex":0})";
  p.h.text(p.b, R"({"type":"ice-candidate","candidate":)" + cand + R"(,"to":")" + p.ida + R"("})");
  auto got = parse(only(p.h, p.a));
  CHECK(got.MemberCount() == 3);
  CHECK(str(got["type"]) == "ice-candidate");
  CHECK(got["candidate"] == parse(cand));
  CHECK(str(got["from"]) == p.idb);
  CHECK(!got.HasMember("to"));
}

TEST_CASE("RM-08 relayed values keep numbers, escapes and nesting exactly") {
  Pair p;
  const std::string body =
      R"({"i":-9223372036854775808,"u":18446744073709551615,"big":123456789012345678901234567890,)"
      R"("d":0.1,"e":-2.5E-7,"z":-0,"s":"\u00e9\ud83d\ude00\"\\\/\u0000\n","t":true,"n":null,"a":[[],{},[{"to":1}]]})";
  p.h.text(p.a, R"({"type":"offer","to":")" + p.idb + R"(","x":)" + body + "}");
  auto got = parse(only(p.h, p.b));
  auto want = parse(body);
  CHECK(got["x"] == want);
  CHECK(got["x"]["i"].GetInt64() == INT64_MIN);
  CHECK(got["x"]["u"].GetUint64() == UINT64_MAX);
  CHECK(got["x"]["d"].GetDouble() == 0.1);
  CHECK(str(got["x"]["s"]) == std::string("\xc3\xa9\xf0\x9f\x98\x80\"\\/\0\n", 11));
  CHECK(got["x"]["a"][2][0].HasMember("to"));  // only top-level `to` is removed
}

TEST_CASE("RM-09 unknown to gets Peer not found and the socket stays open") {
  Pair p;
  const std::string unknown(64, 'e');
  p.h.text(p.a, R"({"type":"offer","to":")" + unknown + R"(","sdp":{}})");
  CHECK(error_of(p.h, p.a) == "Peer not found: " + unknown);
  CHECK(p.h.received(p.b).empty());
  p.h.text(p.a, R"({"type":"offer","to":")" + p.idb + R"("})");
  CHECK(p.h.received(p.b).size() == 1);
}

TEST_CASE("RM-10 sending to yourself is refused") {
  Pair p;
  p.h.text(p.a, R"({"type":"offer","to":")" + p.ida + R"("})");
  CHECK(error_of(p.h, p.a) == "Cannot send to self");
  // Escaped spelling of the same id is the same id.
  std::string escaped = p.ida;
  escaped.replace(0, 1, "\\u00" + [&] {
    char buf[3];
    std::snprintf(buf, sizeof buf, "%02x", static_cast<unsigned char>(p.ida[0]));
    return std::string(buf);
  }());
  p.h.text(p.a, R"({"type":"answer","to":")" + escaped + R"("})");
  CHECK(error_of(p.h, p.a) == "Cannot send to self");
  CHECK(p.h.received(p.b).empty());
}

TEST_CASE("RM-11 relay types before register get Not registered") {
  Harness h;
  ConnectionId a = h.ws(lobby), u = h.ws(lobby);
  std::string ida = join(h, a, key(1));
  for (std::string t : {"offer", "answer", "ice-candidate"}) {
    h.text(u, R"({"type":")" + t + R"(","to":")" + ida + R"("})");
    CHECK(error_of(h, u) == "Not registered");
  }
  h.text(u, R"({"type":"offer"})");  // not registered is checked before to
  CHECK(error_of(h, u) == "Not registered");
  CHECK(h.received(a).empty());
  join(h, u, key(2));  // still usable
}

TEST_CASE("RM-12 a second register is refused and the id is unchanged") {
  Pair p;
  p.h.text(p.a, reg(key(9)));
  CHECK(error_of(p.h, p.a) == "Already registered");
  p.h.text(p.a, reg(key(1)));  // even the same key
  CHECK(error_of(p.h, p.a) == "Already registered");
  p.h.text(p.a, R"({"type":"register"})");
  CHECK(error_of(p.h, p.a) == "Already registered");
  CHECK(p.h.received(p.b).empty());  // no peer-joined for the rejected key
  p.h.text(p.b, R"({"type":"offer","to":")" + p.ida + R"("})");
  auto got = parse(only(p.h, p.a));
  CHECK(str(got["from"]) == p.idb);
}

TEST_CASE("RM-13 invalid keys get Invalid public key; the socket stays open and unregistered") {
  Harness h;
  ConnectionId other = h.ws(lobby);
  join(h, other, key(1));
  const std::string ec_no_y = R"({"kty":"EC","crv":"P-256","x":")" + ec1_x + R"("})";
  const std::string ec1_core = R"({"kty":"EC","crv":"P-256","x":")" + ec1_x + R"(","y":")" +
                               ec1_y + "\"";
  // A JWK whose compact form is exactly `size` bytes.
  auto sized = [&](std::size_t size) {
    std::string head = ec1_core + R"(,"kid":")";
    return head + std::string(size - head.size() - 2, 'k') + "\"}";
  };
  REQUIRE(sized(4097).size() == 4097);
  const std::vector<std::string> bad = {
      R"({"type":"register"})",
      R"({"type":"register","publicKey":"x"})",
      R"({"type":"register","publicKey":null})",
      reg(R"({"kty":"oct","k":"AAAA"})"),
      reg(R"({"kty":"oct"})"),
      reg(R"({"kty":"EC","crv":"P-192","x":"AA","y":"BB"})"),
      reg(ec_no_y),
      reg(R"({"kty":"EC","crv":"P-256","x":"AAA=","y":"BB"})"),
      reg(R"({"kty":"EC","crv":"P-256","x":"A+A","y":"BB"})"),
      reg(R"({"kty":"EC","crv":"P-256","x":5,"y":"BB"})"),
      reg(R"({"kty":"RSA","n":")" + rsa1_n + R"("})"),
      reg(ec1_core + R"(,"d":"AAAA"})"),
      reg(ec1_core + R"(,"y":")" + ec1_y + R"("})"),  // duplicate name
      reg(sized(4097)),
      R"({"type":"register","publicKey":)" + EC1 + R"(,"publicKey":)" + EC1 + "}",
  };
  ConnectionId u = h.ws(lobby);
  for (const std::string& msg : bad) {
    h.text(u, msg);
    CHECK_MESSAGE(error_of(h, u) == "Invalid public key", msg);
  }
  CHECK(h.received(other).empty());  // nothing leaked, in particular no private member
  h.text(u, R"({"type":"offer","to":"x"})");
  CHECK(error_of(h, u) == "Not registered");
  // A key of exactly the cap is accepted.
  h.text(u, reg(sized(4096)));
  auto w = parse(only(h, u));
  CHECK(str(w["type"]) == "welcome");
  CHECK(str(w["peerId"]) == ec1_id);
  CHECK(parse(only(h, other))["publicKey"] == parse(sized(4096)));
}

TEST_CASE("RM-13 the size cap follows rooms.max_public_key_bytes") {
  Options o;
  o.rooms.max_public_key_bytes = 100;
  Harness h(o);
  ConnectionId u = h.ws(lobby);
  h.text(u, reg(EC1));  // 142 bytes compact
  CHECK(error_of(h, u) == "Invalid public key");
  h.text(u, reg(OKP1));  // 79 bytes
  CHECK(str(parse(only(h, u))["peerId"]) == okp1_id);
}

TEST_CASE("RM-14 duplicate key, reject mode: refused, stays open and unregistered") {
  Harness h;
  ConnectionId first = h.ws(lobby), b = h.ws(lobby), second = h.ws(lobby);
  join(h, first, EC1);
  std::string idb = join(h, b, key(2));
  h.received(first);
  h.text(second, reg(EC1));
  CHECK(error_of(h, second) == "Peer ID already in room");
  CHECK(h.received(first).empty());
  CHECK(h.received(b).empty());
  h.text(second, R"({"type":"offer","to":")" + idb + R"("})");
  CHECK(error_of(h, second) == "Not registered");
  // The first holder is unaffected.
  h.text(b, R"({"type":"offer","to":")" + ec1_id + R"("})");
  CHECK(str(parse(only(h, first))["from"]) == idb);
  // It may try again with another key.
  join(h, second, key(3));
  // EC1 in another room is fine.
  CHECK(join(h, h.ws("/room/other/websocket"), EC1) == ec1_id);
}

TEST_CASE("RM-15 duplicate key, replace mode: old gets 4000, others see left then joined") {
  Options o;
  o.rooms.duplicate_ids = DuplicatePolicy::replace;
  Harness h(o);
  ConnectionId first = h.ws(lobby), b = h.ws(lobby), second = h.ws(lobby);
  join(h, first, EC1);
  std::string idb = join(h, b, key(2));
  h.received(first);
  h.text(second, reg(EC1));
  auto w = parse(only(h, second));
  CHECK(str(w["type"]) == "welcome");
  CHECK(str(w["peerId"]) == ec1_id);
  REQUIRE(w["peers"].Size() == 1);  // the replaced connection is gone
  CHECK(str(w["peers"][0]["id"]) == idb);
  REQUIRE(h.closed(first));
  CHECK(h.closed(first)->code == 4000);
  CHECK(h.closed(first)->reason == "replaced");
  CHECK(h.received(first).empty());
  auto seen = h.received(b);
  REQUIRE(seen.size() == 2);
  CHECK(seen[0] == R"({"type":"peer-left","peerId":")" + ec1_id + R"("})");
  auto joined = parse(seen[1]);
  CHECK(str(joined["type"]) == "peer-joined");
  CHECK(str(joined["peerId"]) == ec1_id);
  // The host reports the old connection gone: no second peer-left.
  h.broker.disconnect(first);
  CHECK(h.received(b).empty());
  h.text(b, R"({"type":"offer","to":")" + ec1_id + R"("})");
  CHECK(str(parse(only(h, second))["from"]) == idb);
  CHECK(h.metric("rendezvous_closes_total", "dialect=\"rooms\",code=\"4000\"") == 1);
}

TEST_CASE("RM-16 with max_peers 2 the third register gets Room is full and close 1008") {
  Options o;
  o.rooms.max_peers = 2;
  Harness h(o);
  ConnectionId a = h.ws(lobby), b = h.ws(lobby), c = h.ws(lobby);  // c connects fine
  join(h, a, key(1));
  join(h, b, key(2));
  h.received(a);
  CHECK(!h.closed(c));
  h.text(c, reg(key(3)));
  CHECK(error_text(only(h, c)) == "Room is full");
  REQUIRE(h.closed(c));
  CHECK(h.closed(c)->code == 1008);
  CHECK(h.closed(c)->reason == "room full");
  // The error precedes the close on the wire.
  auto& log = h.transport.log;
  auto close_at = std::find_if(log.begin(), log.end(), [&](const auto& r) {
    return r.kind == RecordingTransport::Record::Kind::close && r.id == c;
  });
  REQUIRE(close_at != log.begin());
  CHECK((close_at - 1)->kind == RecordingTransport::Record::Kind::send);
  CHECK((close_at - 1)->id == c);
  CHECK(h.received(a).empty());
  CHECK(h.received(b).empty());
  // Another room is not affected by this one's cap.
  join(h, h.ws("/room/other/websocket"), key(3));
}

TEST_CASE("RM-17 with the default cap 64 peers register and the 65th is refused") {
  Harness h;
  std::vector<ConnectionId> ids;
  for (int i = 0; i < 64; ++i) {
    ids.push_back(h.ws(lobby));
    h.text(ids.back(), reg(key(i)));
  }
  for (int i = 0; i < 64; ++i) {
    auto got = h.received(ids[static_cast<std::size_t>(i)]);
    REQUIRE(got.size() == static_cast<std::size_t>(64 - i));  // welcome + later peer-joined
    CHECK(parse(got[0])["peers"].Size() == static_cast<unsigned>(i));
  }
  ConnectionId last = h.ws(lobby);
  h.text(last, reg(key(64)));
  CHECK(error_text(only(h, last)) == "Room is full");
  CHECK(h.closed(last)->code == 1008);
  // A peer leaving makes room again.
  h.broker.disconnect(ids[0]);
  ConnectionId again = h.ws(lobby);
  h.text(again, reg(key(64)));
  CHECK(parse(only(h, again))["peers"].Size() == 63);
}

TEST_CASE("RM-18 a registered peer leaving is announced; an unregistered one is not") {
  Harness h;
  ConnectionId a = h.ws(lobby), b = h.ws(lobby), c = h.ws(lobby), u = h.ws(lobby);
  join(h, a, key(1));
  std::string idb = join(h, b, key(2));
  join(h, c, key(3));
  h.received(a);
  h.received(b);
  h.broker.disconnect(u);
  CHECK(h.received(a).empty());
  CHECK(h.received(b).empty());
  CHECK(h.received(c).empty());
  h.broker.disconnect(b);
  CHECK(only(h, a) == R"({"type":"peer-left","peerId":")" + idb + R"("})");
  CHECK(only(h, c) == R"({"type":"peer-left","peerId":")" + idb + R"("})");
  // The id is free again; relays to it fail.
  h.text(a, R"({"type":"offer","to":")" + idb + R"("})");
  CHECK(error_of(h, a) == "Peer not found: " + idb);
}

TEST_CASE("RM-18 an idle timeout is a departure like any other") {
  Options o;
  o.ping_interval = std::chrono::seconds(1);
  o.idle_timeout = std::chrono::seconds(2);
  Harness h(o);
  ConnectionId a = h.ws(lobby), b = h.ws(lobby);
  std::string ida = join(h, a, key(1));
  join(h, b, key(2));
  h.received(a);
  for (int i = 0; i < 6; ++i) {
    h.run_for(std::chrono::milliseconds(500));
    h.broker.traffic(b);  // b answers pings, a is silent
  }
  REQUIRE(h.closed(a));
  CHECK(h.closed(a)->code == 1001);
  CHECK(only(h, b) == R"({"type":"peer-left","peerId":")" + ida + R"("})");
}

TEST_CASE("RM-19 a room disappears with its last connection and comes back empty") {
  Harness h;
  CHECK(rooms_gauge(h) == 0);
  ConnectionId a = h.ws(lobby), u = h.ws(lobby);
  h.ws("/room/other/websocket");
  CHECK(rooms_gauge(h) == 2);
  join(h, a, key(1));
  h.broker.disconnect(a);
  CHECK(rooms_gauge(h) == 2);  // the unregistered connection keeps it
  h.broker.disconnect(u);
  CHECK(rooms_gauge(h) == 1);
  ConnectionId fresh = h.ws(lobby);
  CHECK(rooms_gauge(h) == 2);
  h.text(fresh, reg(key(2)));
  auto w = parse(only(h, fresh));
  CHECK(w["peers"].Empty());
}

TEST_CASE("RM-20 a peer cannot reach another room") {
  Harness h;
  ConnectionId a = h.ws("/room/a/websocket"), b = h.ws("/room/b/websocket");
  join(h, a, key(1));
  std::string idb = join(h, b, key(2));
  CHECK(h.received(a).empty());  // no peer-joined across rooms
  h.text(a, R"({"type":"offer","to":")" + idb + R"("})");
  CHECK(error_of(h, a) == "Peer not found: " + idb);
  CHECK(h.received(b).empty());
  h.broker.disconnect(b);
  CHECK(h.received(a).empty());  // nor peer-left
}

TEST_CASE("RM-21 room names: decoded once, '+' kept, wrong shapes 404, bad names 400") {
  Harness h;
  ConnectionId s1 = h.ws("/room/my%20room/websocket");
  ConnectionId s2 = h.ws("/room/my%20room/websocket?x=1");
  ConnectionId s3 = h.ws("/room/my room/websocket");
  ConnectionId plus = h.ws("/room/a+b/websocket");
  ConnectionId space = h.ws("/room/a%20b/websocket");
  ConnectionId pct = h.ws("/room/%2520/websocket");  // room "%20", not " "
  join(h, s1, key(1));
  join(h, s2, key(2));
  join(h, s3, key(3));
  CHECK(h.received(s1).size() == 2);  // same room: peer-joined from s2 and s3
  join(h, plus, key(4));
  join(h, space, key(5));
  join(h, pct, key(6));
  CHECK(h.received(plus).empty());  // "a+b" and "a b" are different rooms
  CHECK(h.received(space).empty());
  CHECK(h.received(s1).empty());

  ConnectionId id{};
  for (std::string p : {"/room//websocket", "/room/a%2Fb/websocket", "/room/a%2fb/websocket",
                        "/room/a/b/websocket", "/room/a", "/room/a/", "/room/websocket",
                        "/room/a/websocket/", "/rooms/a/websocket", "/Room/a/websocket"})
    CHECK_MESSAGE(h.upgrade(id, p).response.status == 404, p);
  for (const std::string& p : std::vector<std::string>{"/room/%zz/websocket", "/room/a%2/websocket", "/room/a%00b/websocket",
                        "/room/%C3%28/websocket", "/room/%7F/websocket", "/room/%C2%85/websocket",
                        "/room/" + std::string(257, 'r') + "/websocket",
                        "/room/" + std::string(255, 'r') + "%41%42/websocket"})
    CHECK_MESSAGE(h.upgrade(id, p).response.status == 400, p);
  CHECK(h.upgrade(id, "/room/" + std::string(256, 'r') + "/websocket").accepted());
  CHECK(h.upgrade(id, "/room/%E2%82%AC/websocket").accepted());
  CHECK(h.metric("rendezvous_connections_refused_total", "reason=\"not_found\"") == 10);
  CHECK(h.metric("rendezvous_connections_refused_total", "reason=\"bad_request\"") == 8);
  // Refused handshakes create no room.
  CHECK(rooms_gauge(h) == 6);
  auto r = h.http("GET", lobby);
  REQUIRE(r);
  CHECK(r->status == 426);
}

TEST_CASE("RM-22 malformed messages get their errors and the socket stays open") {
  Harness h;
  ConnectionId u = h.ws(lobby);
  const std::pair<std::string, std::string> cases[] = {
      {R"({"type":)", "Invalid JSON"},
      {"", "Invalid JSON"},
      {R"({"type":"offer",})", "Invalid JSON"},
      {R"({"type":"offer"} x)", "Invalid JSON"},
      {std::string(65, '[') + std::string(65, ']'), "Invalid JSON"},
      {"[1]", "Invalid message format"},
      {R"("register")", "Invalid message format"},
      {R"({"to":"x"})", "Invalid message format"},
      {R"({"type":5})", "Invalid message format"},
      {R"({"type":null})", "Invalid message format"},
      {R"({"type":"offer","type":"peer-left"})", "Invalid message format"},
      {R"({"type":"bye"})", "Unknown message type"},
      {R"({"type":"Offer"})", "Unknown message type"},
      {R"({"type":"welcome"})", "Unknown message type"},
      {R"({"type":"error"})", "Unknown message type"},
  };
  for (const auto& [msg, want] : cases) {
    h.text(u, msg);
    CHECK_MESSAGE(error_of(h, u) == want, msg);
  }
  // An escaped spelling of a known type is that type.
  h.text(u, R"({"type":"\u006fffer","to":"x"})");
  CHECK(error_of(h, u) == "Not registered");
  CHECK(join(h, u, key(1)).size() == 64);
}

TEST_CASE("RM-08 relayed members keep their spelling; lone surrogates never become raw bytes") {
  Pair p;
  // Escapes, number spelling and blanks inside members pass through unchanged (§1.2 allows
  // more, this is what we do), so a lone surrogate stays an escape, never invalid UTF-8.
  const std::string sent = "{ \"x\" : \"\\udc00\\u00e9\" ,\"type\":\"offer\",\"\\u0074o\":\"" + p.idb +
                           "\",\"n\":1.50E+2 , \"big\":1e400,\"fr\\u006fm\":[\"forged\"],\"deep\":{\"to\":[1,{\"from\":\"}\"}]} }";
  p.h.text(p.a, sent);
  std::string got = only(p.h, p.b);
  CHECK(got == "{\"x\" : \"\\udc00\\u00e9\",\"type\":\"offer\",\"n\":1.50E+2 ,\"big\":1e400,"
               "\"deep\":{\"to\":[1,{\"from\":\"}\"}]},\"from\":\"" + p.ida + "\"}");
  // Quotes after even and odd runs of backslashes.
  const std::string tricky = R"({"type":"offer","a":"\\","b":"\"","c":["\\\"}",{"d":"\\\\"}],"to":")" + p.idb + R"("})";
  p.h.text(p.a, tricky);
  CHECK(only(p.h, p.b) == R"({"type":"offer","a":"\\","b":"\"","c":["\\\"}",{"d":"\\\\"}],"from":")" + p.ida + R"("})");
  // A leading `to` leaves no stray comma.
  p.h.text(p.a, "{\"to\":\"" + p.idb + "\",\"type\":\"answer\"}");
  CHECK(only(p.h, p.b) == "{\"type\":\"answer\",\"from\":\"" + p.ida + "\"}");
  // A key is decoded and re-serialized, so a lone surrogate in it could not become UTF-8: the
  // register text is refused as invalid JSON (lib/json/document.hpp).
  ConnectionId u = p.h.ws(lobby);
  p.h.text(u, reg(R"({"kty":"OKP","crv":"Ed25519","x":"AA","kid":"\udfff"})"));
  CHECK(error_of(p.h, u) == "Invalid JSON");
  CHECK(p.h.received(p.a).empty());
}

TEST_CASE("RM-23 to missing, not a string or repeated gets Missing or invalid to") {
  Pair p;
  for (const std::string& m : std::vector<std::string>{R"({"type":"offer","sdp":{}})", R"({"type":"offer","to":5})",
                        R"({"type":"answer","to":null})", R"({"type":"offer","to":["x"]})",
                        R"({"type":"ice-candidate","to":")" + p.idb + R"(","to":")" + p.idb +
                            R"("})"}) {
    p.h.text(p.a, m);
    CHECK_MESSAGE(error_of(p.h, p.a) == "Missing or invalid to", m);
  }
  CHECK(p.h.received(p.b).empty());
}

TEST_CASE("RM-24 binary gets the error, then close 1003; the others get peer-left") {
  Harness h;
  ConnectionId a = h.ws(lobby), b = h.ws(lobby), u = h.ws(lobby);
  std::string ida = join(h, a, key(1));
  join(h, b, key(2));
  h.received(a);
  h.binary(a, std::string("\x00\x01", 2));
  CHECK(error_text(only(h, a)) == "Binary frames not supported");
  REQUIRE(h.closed(a));
  CHECK(h.closed(a)->code == 1003);
  CHECK(h.closed(a)->reason == "binary message");
  CHECK(only(h, b) == R"({"type":"peer-left","peerId":")" + ida + R"("})");
  // Unregistered: same answer, nobody told.
  h.binary(u, "x");
  CHECK(error_text(only(h, u)) == "Binary frames not supported");
  CHECK(h.closed(u)->code == 1003);
  CHECK(h.received(b).empty());
}

TEST_CASE("RM-25 peer-joined precedes the newcomer's first offer; 100 offers arrive in order") {
  Harness h;
  ConnectionId a = h.ws(lobby), b = h.ws(lobby), c = h.ws(lobby);
  std::string ida = join(h, a, key(1));
  std::string idb = join(h, b, key(2));
  h.received(a);
  std::string idc = join(h, c, key(3));
  h.text(c, R"({"type":"offer","to":")" + idb + R"(","n":0})");
  auto got = h.received(b);
  REQUIRE(got.size() == 2);
  CHECK(str(parse(got[0])["type"]) == "peer-joined");
  CHECK(str(parse(got[0])["peerId"]) == idc);
  CHECK(str(parse(got[1])["from"]) == idc);
  for (int i = 0; i < 100; ++i)
    h.text(a, R"({"type":"offer","to":")" + idb + R"(","n":)" + std::to_string(i) + "}");
  got = h.received(b);
  REQUIRE(got.size() == 100);
  for (int i = 0; i < 100; ++i) {
    auto d = parse(got[static_cast<std::size_t>(i)]);
    CHECK(d["n"].GetInt() == i);
    CHECK(str(d["from"]) == ida);
  }
  // Everything C relayed comes before its peer-left.
  h.text(c, R"({"type":"answer","to":")" + idb + R"("})");
  h.broker.disconnect(c);
  got = h.received(b);
  REQUIRE(got.size() == 2);
  CHECK(str(parse(got[0])["type"]) == "answer");
  CHECK(str(parse(got[1])["type"]) == "peer-left");
}

TEST_CASE("RM-26 an oversize message gets close 1009 with no error; others get peer-left") {
  Harness h;
  ConnectionId a = h.ws(lobby), b = h.ws(lobby);
  std::string ida = join(h, a, key(1));
  std::string idb = join(h, b, key(2));
  h.received(a);
  // Exactly the limit is processed.
  std::string head = R"({"type":"offer","to":")" + idb + R"(","pad":")";
  std::string exact = head + std::string(65536 - head.size() - 2, 'p') + "\"}";
  REQUIRE(exact.size() == 65536);
  h.text(a, exact);
  CHECK(h.received(b).size() == 1);
  h.text(a, exact + " ");
  CHECK(h.received(a).empty());
  REQUIRE(h.closed(a));
  CHECK(h.closed(a)->code == 1009);
  CHECK(h.closed(a)->reason == "message too big");
  CHECK(only(h, b) == R"({"type":"peer-left","peerId":")" + ida + R"("})");
}

TEST_CASE("GEN-02 an error quoting a hostile to is escaped and valid JSON") {
  Pair p;
  p.h.text(p.a, R"({"type":"offer","to":"x\"\u0001y"})");
  std::string text = only(p.h, p.a);
  CHECK(error_text(text) == std::string("Peer not found: x\"\x01y"));
  CHECK(text.find('\x01') == std::string::npos);
  p.h.text(p.a, R"({"type":"offer","to":"\u0000\\</script>\u2028"})");
  CHECK(error_of(p.h, p.a) ==
        "Peer not found: " + std::string("\0\\</script>\xe2\x80\xa8", 14));
}

TEST_CASE("rooms: rate limit, invalid UTF-8 and shutdown follow §1 with no error message") {
  Options o;
  o.rate_limit.burst = 3;
  o.rate_limit.messages_per_second = 1;
  Harness h(o);
  ConnectionId a = h.ws(lobby), b = h.ws(lobby);
  std::string ida = join(h, a, key(1));
  join(h, b, key(2));
  h.received(a);
  h.text(a, "{}");
  h.text(a, "{}");
  CHECK(h.received(a).size() == 2);
  h.text(a, "{}");
  CHECK(h.received(a).empty());
  CHECK(h.closed(a)->code == 1008);
  CHECK(h.closed(a)->reason == "rate limit");
  CHECK(only(h, b) == R"({"type":"peer-left","peerId":")" + ida + R"("})");

  ConnectionId c = h.ws(lobby);
  join(h, c, key(3));
  h.received(b);
  h.text(c, "\"\xff\"");
  CHECK(h.received(c).empty());
  CHECK(h.closed(c)->code == 1007);
  h.received(b);

  h.broker.shutdown();
  CHECK(h.closed(b)->code == 1001);
  CHECK(h.received(b).empty());  // no peer-left during shutdown
}

TEST_CASE("rooms: disabled dialect answers 404") {
  Options o;
  o.rooms.enabled = false;
  Harness h(o);
  ConnectionId id{};
  CHECK(h.upgrade(id, lobby).response.status == 404);
}
