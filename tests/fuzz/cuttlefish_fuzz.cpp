// libFuzzer target: the cuttlefish dialect (PROTOCOLS.md §3), WebSocket and HTTP polling,
// through the whole Broker. @0@ is the latest connection_id the server handed out.

#include "fuzz_driver.hpp"

namespace {

const rendezvous::fuzz::Profile profile{
    /*ws_paths=*/{"/register_device", "/connect_client", "/register_device/x"},
    /*http_paths=*/{"/infra_config", "/connect", "/forward", "/poll_messages", "/devices",
                    "/register_device", "/healthz", "/metrics"},
    /*queries=*/{"", "?x=1", "?device_id=d1"},
    /*messages=*/{
        R"({"message_type":"register","device_id":"d1","device_info":{"name":"phone"}})",
        R"({"message_type":"register","device_id":"zz-secret-device"})",
        R"({"message_type":"register","device_id":""})",
        R"({"message_type":"register"})",
        R"({"message_type":"forward","client_id":1,"payload":{"type":"answer","sdp":"v=0"}})",
        R"({"message_type":"forward","client_id":2147483648,"payload":1})",
        R"({"message_type":"forward","client_id":1.0,"payload":null})",
        R"({"message_type":"forward","client_id":1})",
        R"({"message_type":"connect","device_id":"d1"})",
        R"({"message_type":"connect","device_id":"nope"})",
        R"({"message_type":"forward","payload":{"type":"offer","sdp":"v=0"}})",
        R"({"message_type":"forward"})", R"({"message_type":"bogus"})",
        "{\"a\" : \"q\\\"b\\\\c\"}\t\n", R"([1])", R"({"message_type":7})", R"({)",
        R"({"message_type":"forward","payload":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]})",
        R"({"device_id":"d1"})", R"({"device_id":"nope"})", R"({"device_id":""})",
        R"({"connection_id":"@0@","payload":{"candidate":"c"}})",
        R"({"connection_id":"@0@"})", R"({"connection_id":"@0@x"})", R"({"payload":1})",
        R"({"connection_id":"@0@","payload":1e400})", ""},
    /*header_names=*/{"Origin", "Sec-WebSocket-Protocol", "Content-Type", "Content-Length"},
    /*header_values=*/{"webrtc-operator", "chat, webrtc-operator", "https://a.example",
                       "application/json", "70000", "0"},
    /*captures=*/{"connection_id"},
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return rendezvous::fuzz::run(profile, data, size);
}
