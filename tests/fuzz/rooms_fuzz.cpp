// libFuzzer target: the rooms dialect (PROTOCOLS.md §4) through the whole Broker. @0@ is the
// latest peer id the server announced.

#include "fuzz_driver.hpp"

namespace {

const rendezvous::fuzz::Profile profile{
    /*ws_paths=*/{"/room/a/websocket", "/room/zz-secret-room/websocket", "/room//websocket",
                  "/room/a%2Fb/websocket", "/room/a%zz/websocket", "/room/a/b/websocket",
                  "/room/%C3%A9/websocket", "/room/a"},
    /*http_paths=*/{"/room/a/websocket", "/healthz", "/metrics"},
    /*queries=*/{"", "?x=1"},
    /*messages=*/{
        R"({"type":"register","publicKey":{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0","alg":"ES256","ext":true,"key_ops":["verify"]}})",
        R"({"type":"register","publicKey":{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}})",
        R"({"type":"register","publicKey":{"kty":"RSA","n":"0vx7","e":"AQAB"}})",
        R"({"type":"register","publicKey":"nope"})", R"({"type":"register"})",
        R"({"type":"offer","to":"@0@","sdp":{"type":"offer","sdp":"v=0"}})",
        R"({"type":"answer","to":"@0@","sdp":{"type":"answer","sdp":"v=0"}})",
        R"({"type":"ice-candidate","to":"@0@","candidate":{"candidate":"c","sdpMid":"0"}})",
        R"({"type":"offer","to":"x\"\u0001y"})", R"({"type":"offer"})",
        R"({"type":"offer","to":"@0@","from":"spoof"})", R"({"type":"bogus"})", R"({"type":7})",
        R"([1])", R"({)", ""},
    /*header_names=*/{"Origin", "Sec-WebSocket-Protocol"},
    /*header_values=*/{"https://a.example", "https://evil.example", "null", "chat"},
    /*captures=*/{"peerId"},
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return rendezvous::fuzz::run(profile, data, size);
}
