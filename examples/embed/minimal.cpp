// The smallest host: feed the Broker events, let it call you back. A real host does the
// same from its own event loop (see examples/server/ws_adapter.hpp for websocketpp).
#include <rendezvous/rendezvous.hpp>

#include <iostream>

class PrintingTransport : public rendezvous::Transport {
 public:
  void send(rendezvous::ConnectionId id, std::string_view text, rendezvous::SendKind) override {
    std::cout << "send to #" << static_cast<unsigned long long>(id) << ": " << text << "\n";
  }
  void close(rendezvous::ConnectionId id, std::uint16_t code, std::string_view reason) override {
    std::cout << "close #" << static_cast<unsigned long long>(id) << " " << code << " " << reason
              << "\n";
  }
  void respond(rendezvous::ConnectionId, const rendezvous::HttpResponse& r) override {
    std::cout << "HTTP " << r.status << "\n";
  }
};

int main() {
  PrintingTransport transport;
  rendezvous::Broker broker(transport);  // default Options: all four dialects

  auto join = [&](const char* target) {
    rendezvous::ConnectionId id = broker.open("127.0.0.1");  // a TCP connection arrived
    rendezvous::HttpRequest upgrade;
    upgrade.method = "GET";
    upgrade.target = target;
    rendezvous::Handshake hs = broker.connect(id, upgrade);  // its WebSocket upgrade
    std::cout << target << " -> " << hs.response.status << "\n";
    return id;
  };
  rendezvous::ConnectionId alice = join("/websocket/?finger=alice");
  rendezvous::ConnectionId bob = join("/websocket/?finger=bob");
  join("/websocket/?finger=bob");  // taken: 409

  broker.route(alice, R"({"to":"bob","from":"alice","type":"offer","sdp":"v=0"})");
  broker.disconnect(bob);
  broker.disconnect(alice);
}
