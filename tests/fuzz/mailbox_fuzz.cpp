// libFuzzer target: the mailbox dialect (PROTOCOLS.md §5) through the whole Broker: Basic
// auth, long polls answered later, expiry, CORS.

#include "fuzz_driver.hpp"

namespace {

const rendezvous::fuzz::Profile profile{
    /*ws_paths=*/{"/inbox"},
    /*http_paths=*/{"/inbox", "/inbox/", "/healthz", "/metrics"},
    /*queries=*/{"", "?to=alice", "?to=bob", "?to=a+b", "?to=%zz", "?to=", "?to=alice&to=bob",
                 "?to=zz-secret-user"},
    /*messages=*/{"hello", "", R"({"type":"offer","sdp":"v=0\r\n"})",
                  std::string("\0\xff binary", 9)},
    /*header_names=*/{"Authorization", "Origin", "Content-Type", "Content-Length",
                      "Access-Control-Request-Method"},
    // alice:pw, bob:pw, alice:other, zz-secret-user:pw, "a:b:c", no colon, bad base64
    /*header_values=*/{"Basic YWxpY2U6cHc=", "Basic Ym9iOnB3", "Basic YWxpY2U6b3RoZXI=",
                       "basic enotc2VjcmV0LXVzZXI6cHc=", "Basic YTpiOmM=", "Basic YWxpY2U=",
                       "Basic !!!", "Bearer x", "https://a.example", "text/plain", "70000"},
    /*captures=*/{},
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return rendezvous::fuzz::run(profile, data, size);
}
