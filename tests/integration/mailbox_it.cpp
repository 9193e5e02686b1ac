// mailbox against the running rendezvous-server with a real HTTP client: one request per TCP
// connection, as browsers' fetch does. Waiting GETs run on their own threads.

#include "http_client.hpp"
#include "server_process.hpp"

#include <doctest/doctest.h>

#include <future>
#include <thread>

using namespace rendezvous::testing;
using namespace std::chrono_literals;

namespace {

using Clock = std::chrono::steady_clock;
using Headers = std::vector<std::pair<std::string, std::string>>;

Headers auth(const std::string& user_pass) { return {{"Authorization", basic_auth(user_pass)}}; }

HttpResult get(unsigned short port, const std::string& user_pass) {
  return http_get(port, "/inbox", auth(user_pass));
}

HttpResult post(unsigned short port, const std::string& user_pass, const std::string& to,
                const std::string& body) {
  return http_post(port, "/inbox?to=" + to, body, auth(user_pass));
}

HttpResult call(unsigned short port, const std::string& method, const std::string& target,
                Headers headers = {}, const std::string& local = "127.0.0.1") {
  HttpCall c;
  c.method = method;
  c.target = target;
  c.headers = std::move(headers);
  c.local_address = local;
  return http_request(port, c);
}

/// A GET started on its own thread; `done` is when its response was complete.
struct PendingGet {
  std::future<std::pair<HttpResult, Clock::time_point>> result;
  std::pair<HttpResult, Clock::time_point> wait() { return result.get(); }
};

PendingGet start_get(unsigned short port, const std::string& user_pass) {
  return PendingGet{std::async(std::launch::async, [port, user_pass] {
    HttpResult r = get(port, user_pass);
    return std::make_pair(r, Clock::now());
  })};
}

double metric(unsigned short port, const std::string& series) {
  auto r = http_get(port, "/metrics");
  auto pos = r.body.find("\n" + series + " ");
  if (pos == std::string::npos) return -1;
  return std::stod(r.body.substr(pos + series.size() + 2));
}

/// Waits until the server holds `n` inboxes (a first GET has created its inbox and waits).
bool inboxes_reach(unsigned short port, double n) {
  for (auto end = Clock::now() + 5s; Clock::now() < end; std::this_thread::sleep_for(10ms))
    if (metric(port, "rendezvous_inboxes") == n) return true;
  return false;
}

bool is_empty_response(const HttpResult& r) {
  return r.status == 200 && r.body.empty() && r.header_count("X-From") == 1 &&
         r.header("X-From") == std::string();
}

/// Polls like the reference client (which GETs once a second; faster here) until a message
/// arrives.
HttpResult poll(unsigned short port, const std::string& user_pass) {
  for (auto end = Clock::now() + 5s; Clock::now() < end; std::this_thread::sleep_for(20ms)) {
    HttpResult r = get(port, user_pass);
    if (r.status != 200 || !r.header("X-From") || !r.header("X-From")->empty()) return r;
  }
  return {};
}

double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

}  // namespace

TEST_CASE("MB-02 MB-04 MB-05 two peers exchange an offer, an answer and candidates by polling") {
  ServerProcess server({"--mailbox-long-polling", "false"});
  const unsigned short port = server.port();
  CHECK(is_empty_response(get(port, "alice:secret")));
  CHECK(is_empty_response(get(port, "bob:pw")));

  const std::string offer = R"({"type":"offer","sdp":"v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\n"})";
  const std::string answer = R"({"type":"answer","sdp":"v=0\r\n"})";
  HttpResult sent = post(port, "alice:secret", "bob", offer);
  CHECK(sent.status == 200);
  CHECK(sent.body.empty());
  HttpResult got = poll(port, "bob:pw");
  CHECK(got.status == 200);
  CHECK(got.header("X-From") == std::string("alice"));
  CHECK(got.header("Content-Type") == std::string("application/octet-stream"));
  CHECK(got.header("Cache-Control") == std::string("no-store"));
  CHECK(got.header("Content-Length") == std::to_string(offer.size()));
  CHECK(got.body == offer);

  CHECK(post(port, "bob:pw", "alice", answer).status == 200);
  got = poll(port, "alice:secret");
  CHECK(got.header("X-From") == std::string("bob"));
  CHECK(got.body == answer);

  // Candidates both ways, several queued at once: they come out in order.
  for (int i = 0; i < 3; ++i) {
    std::string c = R"({"type":"candidate","candidate":"candidate:)" + std::to_string(i) +
                    R"( 1 udp 2122260223 10.0.0.1 5000 typ host","sdpMid":"0"})";
    CHECK(post(port, "alice:secret", "bob", c + "a").status == 200);
    CHECK(post(port, "bob:pw", "alice", c + "b").status == 200);
  }
  for (int i = 0; i < 3; ++i) {
    std::string c = R"({"type":"candidate","candidate":"candidate:)" + std::to_string(i) +
                    R"( 1 udp 2122260223 10.0.0.1 5000 typ host","sdpMid":"0"})";
    HttpResult to_bob = poll(port, "bob:pw");
    CHECK(to_bob.header("X-From") == std::string("alice"));
    CHECK(to_bob.body == c + "a");
    HttpResult to_alice = poll(port, "alice:secret");
    CHECK(to_alice.header("X-From") == std::string("bob"));
    CHECK(to_alice.body == c + "b");
  }
  CHECK(is_empty_response(get(port, "alice:secret")));
  CHECK(is_empty_response(get(port, "bob:pw")));
  CHECK(metric(port, "rendezvous_inboxes") == 2);
  CHECK(metric(port, "rendezvous_messages_relayed_total{dialect=\"mailbox\"}") == 8);
}

TEST_CASE("MB-04 MB-12 GEN-05 MB-10 bodies come back byte for byte, up to the limit") {
  ServerProcess server({"--mailbox-long-polling", "false"});
  const unsigned short port = server.port();
  get(port, "alice:secret");
  std::string every_byte;
  for (int round = 0; round < 2; ++round)
    for (int b = 0; b < 256; ++b) every_byte.push_back(static_cast<char>(b));
  every_byte += std::string("a\r\n\0b\r\n\r\n", 9);
  CHECK(post(port, "bob:pw", "alice", every_byte).status == 200);
  HttpResult r = get(port, "alice:secret");
  CHECK(r.header("X-From") == std::string("bob"));
  CHECK(r.body.size() == every_byte.size());
  CHECK(r.body == every_byte);

  // An empty message: 200, X-From, Content-Length 0.
  CHECK(post(port, "bob:pw", "alice", "").status == 200);
  r = get(port, "alice:secret");
  CHECK(r.status == 200);
  CHECK(r.header("X-From") == std::string("bob"));
  CHECK(r.header("Content-Length") == std::string("0"));
  CHECK(r.body.empty());

  std::string exact(65536, '\0');
  for (std::size_t i = 0; i < exact.size(); ++i) exact[i] = static_cast<char>((i * 31) ^ (i >> 8));
  CHECK(post(port, "bob:pw", "alice", exact).status == 200);
  HttpResult big = post(port, "bob:wrong", "alice", exact + "x");
  CHECK(big.status == 413);
  CHECK(big.body.empty());
  r = get(port, "alice:secret");
  CHECK(r.body == exact);
  CHECK(is_empty_response(get(port, "alice:secret")));
}

TEST_CASE("MB-14 a long poll returns bob's message within 100 ms of the POST's 200") {
  ServerProcess server;
  const unsigned short port = server.port();
  PendingGet alice = start_get(port, "alice:secret");
  REQUIRE(inboxes_reach(port, 1));
  std::this_thread::sleep_for(1s);
  HttpResult sent = post(port, "bob:pw", "alice", "offer");
  Clock::time_point posted = Clock::now();
  CHECK(sent.status == 200);
  auto [r, done] = alice.wait();
  CHECK(r.status == 200);
  CHECK(r.header("X-From") == std::string("bob"));
  CHECK(r.body == "offer");
  CHECK(r.seconds >= 1.0);
  double gap = std::chrono::duration<double>(done - posted).count();
  CHECK(gap < 0.1);
  CHECK(gap > -0.1);
}

TEST_CASE("MB-14 two concurrent long polls each get their own message") {
  ServerProcess server;
  const unsigned short port = server.port();
  PendingGet alice = start_get(port, "alice:secret");
  PendingGet bob = start_get(port, "bob:pw");
  REQUIRE(inboxes_reach(port, 2));
  std::this_thread::sleep_for(200ms);
  CHECK(post(port, "carol:pw", "bob", "for bob").status == 200);
  auto [to_bob, bob_done] = bob.wait();
  CHECK(to_bob.header("X-From") == std::string("carol"));
  CHECK(to_bob.body == "for bob");
  // alice is still waiting.
  CHECK(alice.result.wait_for(200ms) == std::future_status::timeout);
  CHECK(post(port, "carol:pw", "alice", "for alice").status == 200);
  auto [to_alice, alice_done] = alice.wait();
  CHECK(to_alice.header("X-From") == std::string("carol"));
  CHECK(to_alice.body == "for alice");
  CHECK(alice_done > bob_done);
}

TEST_CASE("MB-14 a client that leaves mid-wait consumes nothing") {
  ServerProcess server;
  const unsigned short port = server.port();
  {
    Socket gone(port);
    REQUIRE(gone.write_all("GET /inbox HTTP/1.1\r\nHost: x\r\nAuthorization: " +
                           basic_auth("alice:secret") + "\r\n\r\n"));
    REQUIRE(inboxes_reach(port, 1));
  }  // closed without reading an answer
  std::this_thread::sleep_for(200ms);
  CHECK(post(port, "bob:pw", "alice", "kept").status == 200);
  HttpResult r = get(port, "alice:secret");
  CHECK(r.header("X-From") == std::string("bob"));
  CHECK(r.body == "kept");
  CHECK(r.seconds < 1.0);
  CHECK(metric(port, "rendezvous_messages_relayed_total{dialect=\"mailbox\"}") == 1);
}

TEST_CASE("MB-15 with long_poll_timeout 1 s an empty inbox answers empty after 1 s") {
  ServerProcess server({"--mailbox-long-poll-timeout", "1"});
  HttpResult r = get(server.port(), "alice:secret");
  CHECK(is_empty_response(r));
  CHECK(r.seconds >= 0.7);
  CHECK(r.seconds <= 1.3);
}

TEST_CASE("MB-16 the newest GET wins and then receives the message") {
  ServerProcess server;
  const unsigned short port = server.port();
  PendingGet first = start_get(port, "alice:secret");
  REQUIRE(inboxes_reach(port, 1));
  std::this_thread::sleep_for(200ms);
  Clock::time_point second_started = Clock::now();
  PendingGet second = start_get(port, "alice:secret");
  auto [older, older_done] = first.wait();
  CHECK(is_empty_response(older));
  CHECK(std::chrono::duration<double>(older_done - second_started).count() < 0.5);
  CHECK(second.result.wait_for(300ms) == std::future_status::timeout);
  CHECK(post(port, "bob:pw", "alice", "answer").status == 200);
  auto [newer, newer_done] = second.wait();
  CHECK(newer.header("X-From") == std::string("bob"));
  CHECK(newer.body == "answer");
  (void)newer_done;
}

TEST_CASE("MB-19 MB-20 an inbox not read for 2 s expires although POSTs keep coming") {
  ServerProcess server({"--mailbox-long-polling", "false", "--mailbox-inbox-timeout", "2"});
  const unsigned short port = server.port();
  Clock::time_point claimed = Clock::now();
  CHECK(is_empty_response(get(port, "alice:secret")));
  double first_404 = -1;
  while (since(claimed) < 5) {
    HttpResult r = post(port, "bob:pw", "alice", "ping");
    if (r.status == 404) {
      first_404 = since(claimed);
      break;
    }
    CHECK(r.status == 200);
    std::this_thread::sleep_for(500ms);
  }
  CHECK(first_404 >= 2.0);
  CHECK(first_404 <= 4.0);
  // The name is free again, with any password; the old messages are gone.
  CHECK(is_empty_response(get(port, "alice:other")));
  CHECK(get(port, "alice:secret").status == 401);
}

TEST_CASE("MB-28 GEN-14 shutdown answers a waiting GET with the empty response") {
  ServerProcess server;
  const unsigned short port = server.port();
  PendingGet alice = start_get(port, "alice:secret");
  REQUIRE(inboxes_reach(port, 1));
  Clock::time_point stopping = Clock::now();
  int status = server.stop(8s);
  double took = since(stopping);
  auto [r, done] = alice.wait();
  CHECK(is_empty_response(r));
  CHECK(done <= stopping + 6s);
  CHECK(status == 0);
  CHECK(took < 6.0);  // shutdown_grace (5 s) + 1 s
}

TEST_CASE("MB-29 GEN-19 neither the log nor the metrics show a password or a user name") {
  ServerProcess server({"--mailbox-long-poll-timeout", "0.2"});
  const unsigned short port = server.port();
  const std::string password = "zz-secret-password";
  const std::string user = "zz-secret-user";
  CHECK(is_empty_response(get(port, user + ":" + password)));
  CHECK(post(port, "bob:" + password + "-b", user, "hello").status == 200);
  CHECK(get(port, user + ":" + password).body == "hello");
  CHECK(get(port, user + ":wrong-" + password).status == 401);
  CHECK(post(port, "bob:" + password + "-b", "nobody", "x").status == 404);
  std::string metrics = http_get(port, "/metrics").body;
  CHECK(metrics.find(user) == std::string::npos);
  CHECK(metrics.find(password) == std::string::npos);
  server.stop(8s);
  std::string log = server.log();
  CHECK_FALSE(log.empty());
  CHECK(log.find(password) == std::string::npos);
  CHECK(log.find(basic_auth(user + ":" + password).substr(6)) == std::string::npos);
  CHECK(log.find("hello") == std::string::npos);
}

TEST_CASE("MB-22 CORS headers on the wire, only when enabled") {
  {
    ServerProcess server;
    HttpResult r = call(server.port(), "OPTIONS", "/inbox");
    CHECK(r.status == 204);
    CHECK(r.body.empty());
    for (const auto& [name, value] : r.headers) CHECK(name.rfind("Access-Control-", 0) != 0);
  }
  ServerProcess server({"--mailbox-cors", "true", "--mailbox-long-polling", "false"});
  const unsigned short port = server.port();
  auto check_cors = [](const HttpResult& r) {
    CHECK(r.header("Access-Control-Allow-Origin") == std::string("*"));
    CHECK(r.header("Access-Control-Allow-Methods") == std::string("GET, POST, OPTIONS"));
    CHECK(r.header("Access-Control-Allow-Credentials") == std::string("true"));
    CHECK(r.header("Access-Control-Allow-Headers") == std::string("Authorization"));
    CHECK(r.header("Access-Control-Expose-Headers") == std::string("X-From"));
    CHECK(r.header_count("Vary") == 1);
    CHECK(r.header("Vary") ==
          std::string("Origin, Access-Control-Request-Method, Access-Control-Request-Headers"));
  };
  HttpResult options = call(port, "OPTIONS", "/inbox", {{"Origin", "https://app.example"}});
  CHECK(options.status == 204);
  check_cors(options);
  HttpResult ok = get(port, "alice:secret");
  CHECK(is_empty_response(ok));
  check_cors(ok);
  HttpResult unauthorized = get(port, "alice:wrong");
  CHECK(unauthorized.status == 401);
  CHECK(unauthorized.header("WWW-Authenticate") == std::string("Basic"));
  check_cors(unauthorized);
  HttpResult missing = post(port, "bob:pw", "nobody", "x");
  CHECK(missing.status == 404);
  check_cors(missing);
  HttpResult head = call(port, "DELETE", "/inbox", auth("alice:secret"));
  CHECK(head.status == 404);
  CHECK(head.body.empty());
  CHECK_FALSE(head.header("Access-Control-Allow-Origin"));
}

TEST_CASE("MB-01 MB-23 MB-24 statuses on the wire") {
  ServerProcess server({"--mailbox-long-polling", "false"});
  const unsigned short port = server.port();
  HttpResult none = http_get(port, "/inbox");
  CHECK(none.status == 401);
  CHECK(none.header("WWW-Authenticate") == std::string("Basic"));
  CHECK(none.body.empty());
  CHECK(http_get(port, "/inbox", {{"Authorization", "Bearer x"}}).status == 401);
  for (std::string method : {"PUT", "DELETE", "HEAD"}) {
    HttpResult r = call(port, method, "/inbox", auth("alice:secret"));
    CHECK(r.status == 404);
    CHECK(r.body.empty());
  }
  CHECK(get(port, "alice:secret").status == 200);
  CHECK(call(port, "GET", "/inbox/", auth("alice:secret")).status == 404);
  HttpResult bad = call(port, "GET", "/inbox?x=%zz", auth("alice:secret"));
  CHECK(bad.status == 400);
  CHECK(bad.body.empty());
  CHECK(post(port, std::string("al\x01ice:pw"), "alice", "x").status == 400);
  CHECK(post(port, "eve:a:b", "alice", "colon").status == 200);
  CHECK(get(port, "eve:a:b").status == 200);
}

TEST_CASE("GEN-08 400 OPTIONS from 127.0.0.1: 200 get 204, then 429; 127.0.0.2 is served") {
  ServerProcess server;
  const unsigned short port = server.port();
  int limited = 0;
  bool first_200_ok = true;
  for (int i = 0; i < 400; ++i) {
    HttpResult r = call(port, "OPTIONS", "/inbox");
    if (i < 200) first_200_ok = first_200_ok && r.status == 204;
    if (r.status == 429) {
      ++limited;
      CHECK(r.body.empty());
    }
  }
  CHECK(first_200_ok);
  CHECK(limited >= 1);
  CHECK(call(port, "OPTIONS", "/inbox", {}, "127.0.0.2").status == 204);
}
