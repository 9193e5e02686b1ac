// Built against the installed headers and library only (see install_test.sh).
#include <rendezvous/rendezvous.hpp>

#include <cstdio>
#include <string>

namespace {
struct Counting : rendezvous::Transport {
  std::string last;
  void send(rendezvous::ConnectionId, std::string_view t, rendezvous::SendKind) override {
    last.assign(t);
  }
  void close(rendezvous::ConnectionId, std::uint16_t, std::string_view) override {}
  void respond(rendezvous::ConnectionId, const rendezvous::HttpResponse&) override {}
};
}  // namespace

int main() {
  Counting t;
  rendezvous::Broker broker(t);
  rendezvous::HttpRequest req;
  req.method = "GET";
  req.target = "/websocket/?finger=me";
  auto id = broker.open("127.0.0.1");
  if (!broker.connect(id, req).accepted()) return 1;
  broker.route(id, R"({"to":"me","from":"me"})");
  if (t.last != R"({"to":"me","from":"me"})") return 2;
  std::printf("consumer OK, rendezvous %s\n", RENDEZVOUS_VERSION);
  return 0;
}
