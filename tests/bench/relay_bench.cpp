// Micro-benchmark: fingersmith messages through the Broker in-process with a no-op
// transport. Prints messages/s and ns/message for a few message sizes. Not a test: the
// figures vary by machine; the README quotes a run of this program.
//
//   build/tests/bench/relay-bench [--messages N] [--size BYTES]
//
// Instructions per message, independent of machine load:
//   valgrind --tool=callgrind build/tests/bench/relay-bench --messages N --size S
// for two values of N; the difference of the totals over 1.1 x the difference of N.

#include <rendezvous/rendezvous.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {

struct NoopTransport final : rendezvous::Transport {
  std::size_t delivered = 0;
  std::size_t bytes = 0;
  void send(rendezvous::ConnectionId, std::string_view text, rendezvous::SendKind) override {
    ++delivered;
    bytes += text.size();
  }
  void close(rendezvous::ConnectionId, std::uint16_t, std::string_view) override {}
  void respond(rendezvous::ConnectionId, const rendezvous::HttpResponse&) override {}
};

rendezvous::ConnectionId join(rendezvous::Broker& broker, const std::string& finger) {
  rendezvous::ConnectionId id = broker.open("127.0.0.1");
  rendezvous::HttpRequest req;
  req.method = "GET";
  std::string target = "/websocket/?finger=" + finger;
  req.target = target;
  if (!broker.connect(id, req).accepted()) std::abort();
  return id;
}

// An unrupt-style message of about `size` bytes: 64-hex ids, SDP-like padding.
std::string make_message(const std::string& to, const std::string& from, std::size_t size) {
  std::string head = R"({"to":")" + to + R"(","from":")" + from +
                     R"(","type":"candidate","retry":0,"time":1700000000000,"sdp":")";
  std::string pad = "candidate:842163049 1 udp 1677729535 192.0.2.1 54321 typ srflx\\r\\n";
  std::string body;
  while (head.size() + body.size() + 2 < size) body += pad;
  body.resize(size > head.size() + 2 ? size - head.size() - 2 : 0);
  while (!body.empty() && body.back() == '\\') body.pop_back();
  return head + body + "\"}";
}

void run(std::size_t size, std::size_t count) {
  NoopTransport transport;
  rendezvous::Options options;
  options.rate_limit.messages_per_second = 0;  // measure routing, not the limiter
  rendezvous::Broker broker(transport, options);
  std::string alice(64, 'a'), bob(64, 'b');
  rendezvous::ConnectionId a = join(broker, alice);
  join(broker, bob);
  std::string msg = make_message(bob, alice, size);

  for (std::size_t i = 0; i < count / 10; ++i) broker.route(a, msg);  // warm up
  transport.delivered = 0;
  auto start = std::chrono::steady_clock::now();
  for (std::size_t i = 0; i < count; ++i) broker.route(a, msg);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (transport.delivered != count) {
    std::fprintf(stderr, "only %zu of %zu messages delivered\n", transport.delivered, count);
    std::exit(1);
  }
  std::printf("fingersmith relay  %5zu-byte messages: %10.0f messages/s  %7.1f ns/message\n",
              msg.size(), count / seconds, seconds * 1e9 / count);
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t count = 5'000'000;
  std::size_t only_size = 0;
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], "--messages") == 0) count = std::strtoull(argv[i + 1], nullptr, 10);
    if (std::strcmp(argv[i], "--size") == 0) only_size = std::strtoull(argv[i + 1], nullptr, 10);
  }
  if (only_size != 0) return run(only_size, count), 0;
  for (std::size_t size : {200, 600, 2000}) run(size, count);
}
