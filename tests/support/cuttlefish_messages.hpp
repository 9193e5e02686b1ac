#pragma once

// Wire texts of the cuttlefish dialect (PROTOCOLS.md §3), shared by its unit and integration
// tests. Payloads are JSON texts inserted as they are.

#include <string>

namespace rendezvous::testing {

/// A device's `forward` to client `client_id`.
inline std::string forward_to(int client_id, const std::string& payload) {
  return R"({"message_type":"forward","client_id":)" + std::to_string(client_id) +
         R"(,"payload":)" + payload + "}";
}

/// A client's `forward` to its device.
inline std::string client_forward(const std::string& payload) {
  return R"({"message_type":"forward","payload":)" + payload + "}";
}

/// What a device receives for a client's forward.
inline std::string client_msg(int id, const std::string& payload) {
  return R"({"message_type":"client_msg","client_id":)" + std::to_string(id) +
         R"(,"payload":)" + payload + "}";
}

/// What a client receives for a device's forward.
inline std::string device_msg(const std::string& payload) {
  return R"({"message_type":"device_msg","payload":)" + payload + "}";
}

inline std::string disconnected(int id) {
  return R"({"message_type":"client_disconnected","client_id":)" + std::to_string(id) + "}";
}

}  // namespace rendezvous::testing
