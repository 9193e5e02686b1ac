// libFuzzer target: the fingersmith dialect (PROTOCOLS.md §2) through the whole Broker.

#include "fuzz_driver.hpp"

namespace {

const rendezvous::fuzz::Profile profile{
    /*ws_paths=*/{"/websocket/", "/websocket", "/websocket/x", "/WebSocket/"},
    /*http_paths=*/{"/websocket/", "/websocket", "/healthz", "/metrics", "/", "/nope"},
    /*queries=*/{"?finger=alice", "?finger=bob", "?finger=a%20b", "?finger=c+d&finger=zz",
                 "?finger=", "?finger", "?other=1", "", "?finger=%zz", "?finger=a%0Ab",
                 "?finger=%C3%A9", "?finger=zz-secret-finger"},
    /*messages=*/{R"({"to":"bob","from":"alice","type":"offer","sdp":"v=0\r\n"})",
                  R"({"to":"alice","from":"bob","type":"answer"})",
                  R"({"to":"alice","from":"alice"})",
                  R"({ "type":"offer" , "to":"bob","from":"alice","n":1.50, "u":"\u00e9\/"})",
                  R"({"to":)", R"([1,2])", R"({"from":"alice"})", R"({"to":7,"from":"alice"})",
                  R"({"to":"bob","to":"carol","from":"alice"})", R"({"to":"bob","from":"mallory"})",
                  R"({"to":"a b","from":"alice"})", R"({"to":"nobody","from":"alice"})",
                  R"({"to":"bob","from":"alice","x":[[[[[[1]]]]]]})", "\xC3\x28"},
    /*header_names=*/{"Origin", "Sec-WebSocket-Protocol", "Host", "Upgrade"},
    /*header_values=*/{"https://a.example", "https://A.example", "https://evil.example", "null",
                       "webrtc-operator", "websocket"},
    /*captures=*/{},
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return rendezvous::fuzz::run(profile, data, size);
}
