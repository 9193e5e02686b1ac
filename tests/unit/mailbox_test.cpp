// PROTOCOLS.md §5 through the recording transport and the fake clock. Test names cite the MB-
// cases (and GEN- where a common rule shows on /inbox).

#include "broker_harness.hpp"
#include "http_client.hpp"  // basic_auth()

#include "core/core.hpp"
#include "core/text.hpp"
#include "dialects/basic_auth.hpp"
#include "dialects/mailbox.hpp"
#include "dialects/password_tag.hpp"

#include <doctest/doctest.h>

#include <list>
#include <type_traits>

using namespace rendezvous;
using namespace rendezvous::testing;
using namespace std::chrono_literals;

namespace {

using Headers = std::vector<Header>;

const char* const cors_names[] = {
    "Access-Control-Allow-Origin",      "Access-Control-Allow-Methods",
    "Access-Control-Allow-Credentials", "Access-Control-Allow-Headers",
    "Access-Control-Expose-Headers",    "Vary"};

/// Defaults, except that GETs answer at once and the per-address rate limit is off (most
/// cases send more than 200 requests from one fake address without moving the clock).
Options quick() {
  Options o;
  o.mailbox.long_polling = false;
  o.rate_limit.messages_per_second = 0;
  return o;
}

Headers auth(const std::string& user_pass) { return {{"Authorization", basic_auth(user_pass)}}; }

HttpResponse get(Harness& h, const std::string& user_pass) {
  auto r = h.http("GET", "/inbox", auth(user_pass));
  REQUIRE(r);
  return *r;
}

/// Starts a GET that must wait (long polling); returns its connection.
ConnectionId wait_get(Harness& h, const std::string& user_pass) {
  ConnectionId id{};
  auto r = h.http("GET", "/inbox", auth(user_pass), {}, "127.0.0.1", &id);
  REQUIRE_FALSE(r);
  return id;
}

HttpResponse post(Harness& h, const std::string& user_pass, const std::string& to,
                  const std::string& body = {}, Headers extra = {}) {
  Headers headers = auth(user_pass);
  headers.insert(headers.end(), extra.begin(), extra.end());
  auto r = h.http("POST", "/inbox?to=" + to, headers, body);
  REQUIRE(r);
  return *r;
}

std::size_t count(const HttpResponse& r, std::string_view name) {
  std::size_t n = 0;
  for (const auto& [k, v] : r.headers) n += detail::iequals(k, name);
  return n;
}

bool has(const HttpResponse& r, std::string_view name) { return count(r, name) != 0; }

std::string header(const HttpResponse& r, std::string_view name) {
  const std::string* v = r.find(name);
  return v ? *v : std::string("<absent>");
}

bool no_cors(const HttpResponse& r) {
  for (const char* name : cors_names)
    if (has(r, name)) return false;
  for (const auto& [k, v] : r.headers)
    if (k.rfind("Access-Control-", 0) == 0) return false;
  return true;
}

void check_cors(const HttpResponse& r) {
  for (const char* name : cors_names) CHECK_MESSAGE(count(r, name) == 1, name);
  CHECK(header(r, "Access-Control-Allow-Origin") == "*");
  CHECK(header(r, "Access-Control-Allow-Methods") == "GET, POST, OPTIONS");
  CHECK(header(r, "Access-Control-Allow-Credentials") == "true");
  CHECK(header(r, "Access-Control-Allow-Headers") == "Authorization");
  CHECK(header(r, "Access-Control-Expose-Headers") == "X-From");
  CHECK(header(r, "Vary") == "Origin, Access-Control-Request-Method, Access-Control-Request-Headers");
  std::size_t access_control = 0;
  for (const auto& [k, v] : r.headers) access_control += k.rfind("Access-Control-", 0) == 0;
  CHECK(access_control == 5);
}

void check_unauthorized(const HttpResponse& r) {
  CHECK(r.status == 401);
  CHECK(count(r, "WWW-Authenticate") == 1);
  CHECK(header(r, "WWW-Authenticate") == "Basic");
  CHECK(r.body.empty());
}

void check_empty_response(const HttpResponse& r) {
  CHECK(r.status == 200);
  CHECK(r.body.empty());
  CHECK(count(r, "X-From") == 1);
  CHECK(header(r, "X-From").empty());
}

void check_message(const HttpResponse& r, const std::string& from, const std::string& body) {
  CHECK(r.status == 200);
  CHECK(header(r, "X-From") == from);
  CHECK(r.body == body);
  CHECK(header(r, "Content-Type") == "application/octet-stream");
  CHECK(header(r, "Cache-Control") == "no-store");
}

double inboxes(Harness& h) { return h.metric("rendezvous_inboxes"); }

}  // namespace

// ---- authentication (§5.2) -------------------------------------------------------------

TEST_CASE("MB-01 GET without credentials or with another scheme is 401 + WWW-Authenticate: Basic") {
  Harness h(quick());
  auto none = h.http("GET", "/inbox");
  REQUIRE(none);
  check_unauthorized(*none);
  for (std::string value : {"Bearer x", "Basic", "Basic ", "Basic !!!!", "Basic YWxpY2U=",
                            "Basic YTp=", "Basic YR==", "Basicx YWxpY2U6c2VjcmV0",
                            "Digest YWxpY2U6c2VjcmV0"}) {
    auto r = h.http("GET", "/inbox", {{"Authorization", value}});
    REQUIRE(r);
    CAPTURE(value);
    check_unauthorized(*r);
  }
  CHECK(inboxes(h) == 0);
  // The scheme name is case-insensitive.
  auto ok = h.http("GET", "/inbox", {{"Authorization", "bAsIc YWxpY2U6c2VjcmV0"}});
  REQUIRE(ok);
  check_empty_response(*ok);
}

TEST_CASE("MB-02 the first GET claims the name and gets the empty response") {
  Harness h(quick());
  HttpResponse r = get(h, "alice:secret");
  check_empty_response(r);
  CHECK_FALSE(has(r, "Content-Type"));
  CHECK(inboxes(h) == 1);
  check_unauthorized(get(h, "alice:other"));
  check_empty_response(get(h, "alice:secret"));
}

TEST_CASE("MB-03 GET with the wrong password is 401") {
  Harness h(quick());
  get(h, "alice:secret");
  check_unauthorized(get(h, "alice:wrong"));
  check_unauthorized(get(h, "alice:"));
  check_unauthorized(get(h, "alice:secret "));
}

TEST_CASE("MB-04 a body with CR LF and NUL is delivered byte for byte") {
  Harness h(quick());
  get(h, "alice:secret");
  const std::string body("a\r\n\0b", 5);
  HttpResponse sent = post(h, "bob:pw", "alice", body);
  CHECK(sent.status == 200);
  CHECK(sent.body.empty());
  CHECK_FALSE(has(sent, "X-From"));
  HttpResponse r = get(h, "alice:secret");
  check_message(r, "bob", body);
  CHECK(r.body.size() == 5);
  CHECK(h.metric("rendezvous_messages_relayed_total", "dialect=\"mailbox\"") == 1);
}

TEST_CASE("MB-05 messages come out oldest first, then the empty response") {
  Harness h(quick());
  get(h, "alice:secret");
  CHECK(post(h, "bob:pw", "alice", "1").status == 200);
  CHECK(post(h, "carol:pw", "alice", "2").status == 200);
  CHECK(post(h, "bob:pw", "alice", "3").status == 200);
  check_message(get(h, "alice:secret"), "bob", "1");
  check_message(get(h, "alice:secret"), "carol", "2");
  check_message(get(h, "alice:secret"), "bob", "3");
  check_empty_response(get(h, "alice:secret"));
}

TEST_CASE("MB-06 a POST to a missing recipient is 404, before the password check") {
  Harness h(quick());
  get(h, "bob:pw");
  HttpResponse right = post(h, "bob:pw", "nobody", "x");
  CHECK(right.status == 404);
  CHECK(right.body.empty());
  CHECK(post(h, "bob:wrong", "nobody", "x").status == 404);
  // A new sender is not claimed when the recipient is missing.
  CHECK(post(h, "zed:pw", "nobody", "x").status == 404);
  CHECK(inboxes(h) == 1);
}

TEST_CASE("MB-07 a POST with the wrong sender password is 401 and queues nothing") {
  Harness h(quick());
  get(h, "alice:secret");
  get(h, "bob:pw");
  check_unauthorized(post(h, "bob:other", "alice", "x"));
  check_empty_response(get(h, "alice:secret"));
}

TEST_CASE("MB-08 a sender's first POST claims the sender's name") {
  Harness h(quick());
  get(h, "alice:secret");
  CHECK(post(h, "dave:pw1", "alice", "hi").status == 200);
  CHECK(inboxes(h) == 2);
  check_empty_response(get(h, "dave:pw1"));
  check_unauthorized(get(h, "dave:pw2"));
  check_unauthorized(post(h, "dave:pw2", "alice", "x"));
}

TEST_CASE("MB-09 a POST without credentials is 401") {
  Harness h(quick());
  get(h, "alice:secret");
  auto r = h.http("POST", "/inbox?to=alice", {}, "x");
  REQUIRE(r);
  check_unauthorized(*r);
  check_empty_response(get(h, "alice:secret"));
}

TEST_CASE("GEN-05 MB-10 a body over 65 536 bytes is 413 before the recipient and password checks") {
  Harness h(quick());
  get(h, "alice:secret");
  get(h, "bob:pw");
  const std::string big(65537, 'x');
  HttpResponse r = post(h, "bob:wrong", "alice", big);
  CHECK(r.status == 413);
  CHECK(r.body.empty());
  CHECK(r.close_connection);
  CHECK(post(h, "bob:pw", "nobody", big).status == 413);
  CHECK(post(h, "carol:pw", "alice", big).status == 413);
  CHECK(inboxes(h) == 2);  // 413 comes before the sender is claimed
  std::string exact(65536, '\0');
  for (std::size_t i = 0; i < exact.size(); ++i) exact[i] = static_cast<char>(i * 7);
  CHECK(post(h, "bob:pw", "alice", exact).status == 200);
  check_message(get(h, "alice:secret"), "bob", exact);
}

TEST_CASE("MB-10 the per-dialect limit overrides max_message_bytes") {
  Options o = quick();
  o.mailbox.max_message_bytes = 10;
  Harness h(o);
  get(h, "alice:secret");
  CHECK(post(h, "bob:pw", "alice", std::string(11, 'x')).status == 413);
  CHECK(post(h, "bob:pw", "alice", std::string(10, 'x')).status == 200);
}

TEST_CASE("MB-11 capacity: the 101st message is 503 until alice reads one") {
  Harness h(quick());
  get(h, "alice:secret");
  for (int i = 0; i < 100; ++i)
    REQUIRE(post(h, "bob:pw", "alice", std::to_string(i)).status == 200);
  HttpResponse full = post(h, "bob:pw", "alice", "100");
  CHECK(full.status == 503);
  CHECK(full.body.empty());
  // An inbox created at S6 stays even though S8 refused the message.
  CHECK(post(h, "carol:pw", "alice", "x").status == 503);
  CHECK(inboxes(h) == 3);
  check_message(get(h, "alice:secret"), "bob", "0");
  CHECK(post(h, "bob:pw", "alice", "100").status == 200);
  CHECK(post(h, "bob:pw", "alice", "101").status == 503);
}

TEST_CASE("MB-12 an empty message is told from no message by X-From") {
  Harness h(quick());
  get(h, "alice:secret");
  CHECK(post(h, "bob:pw", "alice", "").status == 200);
  HttpResponse r = get(h, "alice:secret");
  check_message(r, "bob", "");
  check_empty_response(get(h, "alice:secret"));
}

TEST_CASE("MB-13 a form-encoded body is delivered as is, never parsed") {
  Harness h(quick());
  get(h, "alice:secret");
  HttpResponse r = post(h, "bob:pw", "alice&to=bob", "x=1&y=2",
                        {{"Content-Type", "application/x-www-form-urlencoded"}});
  CHECK(r.status == 200);  // `to` is the first occurrence: alice
  CHECK(post(h, "bob:pw", "alice", "to=bob",
             {{"Content-Type", "application/x-www-form-urlencoded"}})
            .status == 200);
  check_message(get(h, "alice:secret"), "bob", "x=1&y=2");
  check_message(get(h, "alice:secret"), "bob", "to=bob");
  check_empty_response(get(h, "bob:pw"));
}

// ---- long polling (§5.5) -----------------------------------------------------------------

TEST_CASE("MB-14 a waiting GET gets the message the moment it is posted") {
  Harness h;
  ConnectionId alice = wait_get(h, "alice:secret");
  h.run_for(1s);
  CHECK_FALSE(h.take_response(alice));
  CHECK(post(h, "bob:pw", "alice", "offer").status == 200);
  auto r = h.take_response(alice);
  REQUIRE(r);
  check_message(*r, "bob", "offer");
  h.broker.disconnect(alice);
  // The message was consumed by the waiting GET.
  ConnectionId again = wait_get(h, "alice:secret");
  CHECK_FALSE(h.take_response(again));
}

TEST_CASE("MB-15 a long poll ends with the empty response after long_poll_timeout") {
  SUBCASE("1 s") {
    Options o;
    o.mailbox.long_poll_timeout = 1s;
    Harness h(o);
    ConnectionId id = wait_get(h, "alice:secret");
    h.run_for(999ms);
    CHECK_FALSE(h.take_response(id));
    h.run_for(1ms);
    auto r = h.take_response(id);
    REQUIRE(r);
    check_empty_response(*r);
  }
  SUBCASE("default 25 s") {
    Harness h;
    ConnectionId id = wait_get(h, "alice:secret");
    h.run_for(24999ms);
    CHECK_FALSE(h.take_response(id));
    h.run_for(1ms);
    auto r = h.take_response(id);
    REQUIRE(r);
    check_empty_response(*r);
  }
}

TEST_CASE("MB-16 the newest GET wins: the older one gets the empty response at once") {
  Harness h;
  ConnectionId first = wait_get(h, "alice:secret");
  h.run_for(3s);
  ConnectionId second = wait_get(h, "alice:secret");
  auto r = h.take_response(first);
  REQUIRE(r);
  check_empty_response(*r);
  h.broker.disconnect(first);
  CHECK_FALSE(h.take_response(second));
  // The second wait restarted: it runs for a full timeout from its own start.
  h.run_for(24s);
  CHECK_FALSE(h.take_response(second));
  CHECK(post(h, "bob:pw", "alice", "answer").status == 200);
  auto m = h.take_response(second);
  REQUIRE(m);
  check_message(*m, "bob", "answer");
}

TEST_CASE("MB-16 a newer GET with the wrong password does not end the wait") {
  Harness h;
  ConnectionId first = wait_get(h, "alice:secret");
  check_unauthorized(get(h, "alice:wrong"));
  CHECK_FALSE(h.take_response(first));
}

TEST_CASE("MB-17 with long polling off an empty inbox answers at once") {
  Options o;
  o.mailbox.long_polling = false;
  Harness h(o);
  auto r = h.http("GET", "/inbox", auth("alice:secret"));
  REQUIRE(r);
  check_empty_response(*r);
}

TEST_CASE("MB-18 empty_status 204: no body, no X-From; messages are still 200 + X-From") {
  Options o = quick();
  o.mailbox.empty_status = 204;
  Harness h(o);
  HttpResponse empty = get(h, "alice:secret");
  CHECK(empty.status == 204);
  CHECK(empty.body.empty());
  CHECK_FALSE(has(empty, "X-From"));
  post(h, "bob:pw", "alice", "");
  check_message(get(h, "alice:secret"), "bob", "");

  Options timed;
  timed.mailbox.empty_status = 204;
  timed.mailbox.long_poll_timeout = 1s;
  Harness w(timed);
  ConnectionId id = wait_get(w, "alice:secret");
  w.run_for(1s);
  auto r = w.take_response(id);
  REQUIRE(r);
  CHECK(r->status == 204);
  CHECK_FALSE(has(*r, "X-From"));

  Options bad;
  bad.mailbox.empty_status = 404;
  RecordingTransport t;
  CHECK_THROWS_AS(Broker(t, bad), std::invalid_argument);
}

TEST_CASE("MB-28 shutdown answers a waiting GET with the empty response") {
  Harness h;
  ConnectionId id = wait_get(h, "alice:secret");
  CHECK_FALSE(h.broker.finished());
  h.broker.shutdown();
  auto r = h.take_response(id);
  REQUIRE(r);
  check_empty_response(*r);
  h.broker.disconnect(id);
  CHECK(h.broker.finished());
}

TEST_CASE("MB-14 a client that leaves mid-wait consumes nothing and refreshes the inbox") {
  Options o;
  o.mailbox.long_poll_timeout = 10s;
  o.mailbox.inbox_timeout = 2s;
  Harness h(o);
  ConnectionId gone = wait_get(h, "alice:secret");
  h.run_for(3s);
  h.broker.disconnect(gone);  // the wait ends now: last-GET time = 3 s
  CHECK(post(h, "bob:pw", "alice", "kept").status == 200);
  CHECK(h.transport.responses[static_cast<std::uint64_t>(gone)].empty());
  h.run_for(1900ms);
  CHECK(post(h, "bob:pw", "alice", "second").status == 200);
  h.run_for(100ms);
  CHECK(post(h, "bob:pw", "alice", "late").status == 404);
  CHECK(h.metric("rendezvous_messages_relayed_total", "dialect=\"mailbox\"") == 0);
}

TEST_CASE("MB-14 a client that left is not given the message, the next GET is") {
  Harness h;
  ConnectionId gone = wait_get(h, "alice:secret");
  h.broker.disconnect(gone);
  post(h, "bob:pw", "alice", "kept");
  ConnectionId next{};
  auto r = h.http("GET", "/inbox", auth("alice:secret"), {}, "127.0.0.1", &next);
  REQUIRE(r);
  check_message(*r, "bob", "kept");
}

// ---- expiry (§5.6) -----------------------------------------------------------------------

TEST_CASE("MB-19 an inbox not read for inbox_timeout disappears and can be claimed anew") {
  Options o = quick();
  o.mailbox.inbox_timeout = 2s;
  Harness h(o);
  get(h, "alice:secret");
  post(h, "bob:pw", "alice", "lost");
  h.run_for(1999ms);
  check_unauthorized(get(h, "alice:other"));  // still there, and this GET did not refresh it
  h.run_for(1ms);
  CHECK(post(h, "bob:pw", "alice", "x").status == 404);
  HttpResponse again = get(h, "alice:other");
  check_empty_response(again);  // a new inbox: the queued message went with the old one
  check_unauthorized(get(h, "alice:secret"));
}

TEST_CASE("MB-19 a GET refreshes the inbox, every expiry meets its deadline") {
  Options o = quick();
  o.mailbox.inbox_timeout = 2s;
  Harness h(o);
  get(h, "alice:secret");
  h.run_for(500ms);
  get(h, "carol:pw");
  h.run_for(1s);
  get(h, "alice:secret");  // alice: last GET at 1.5 s
  CHECK(inboxes(h) == 2);
  h.run_for(1s);  // 2.5 s: carol (0.5 s) expired, alice not
  CHECK(inboxes(h) == 1);
  CHECK(post(h, "bob:pw", "carol", "x").status == 404);
  CHECK(inboxes(h) == 1);
  CHECK(post(h, "bob:pw", "alice", "x").status == 200);  // bob claimed at 2.5 s
  h.run_for(999ms);
  CHECK(inboxes(h) == 2);
  h.run_for(1ms);  // 3.5 s: alice expires
  CHECK(inboxes(h) == 1);
  h.run_for(1s);  // 4.5 s: bob expires
  CHECK(inboxes(h) == 0);
}

TEST_CASE("MB-20 POSTs never refresh an inbox") {
  Options o = quick();
  o.mailbox.inbox_timeout = 2s;
  Harness h(o);
  get(h, "alice:secret");
  for (int i = 1; i <= 3; ++i) {
    h.run_for(500ms);
    CHECK(post(h, "bob:pw", "alice", "x").status == 200);
    CHECK(post(h, "alice:secret", "alice", "self").status == 200);
  }
  h.run_for(500ms);
  CHECK(post(h, "bob:pw", "alice", "x").status == 404);
}

TEST_CASE("MB-21 a waiting GET keeps its inbox alive") {
  Options o;
  o.mailbox.inbox_timeout = 2s;
  o.mailbox.long_poll_timeout = 5s;
  Harness h(o);
  ConnectionId id = wait_get(h, "alice:secret");
  h.run_for(4s);
  CHECK(inboxes(h) == 1);
  CHECK(post(h, "bob:pw", "alice", "still here").status == 200);
  auto r = h.take_response(id);
  REQUIRE(r);
  check_message(*r, "bob", "still here");
  // The wait ended at 4 s: the inbox lives until 6 s.
  h.run_for(1999ms);
  CHECK(post(h, "bob:pw", "alice", "x").status == 200);
  h.run_for(1ms);
  CHECK(post(h, "bob:pw", "alice", "x").status == 404);

  // A wait that times out refreshes the inbox too.
  ConnectionId w = wait_get(h, "carol:pw");
  h.run_for(5s);
  REQUIRE(h.take_response(w));
  h.run_for(1999ms);
  CHECK(post(h, "bob:pw", "carol", "x").status == 200);
  h.run_for(1ms);
  CHECK(post(h, "bob:pw", "carol", "x").status == 404);
}

// ---- dispatch, CORS and bad input (§5.1, §5.7) --------------------------------------------

TEST_CASE("MB-22 OPTIONS is 204 without CORS headers by default") {
  Harness h(quick());
  auto r = h.http("OPTIONS", "/inbox");
  REQUIRE(r);
  CHECK(r->status == 204);
  CHECK(r->body.empty());
  CHECK(no_cors(*r));
  get(h, "alice:secret");
  CHECK(no_cors(get(h, "alice:secret")));
  CHECK(no_cors(get(h, "alice:wrong")));
  CHECK(no_cors(post(h, "bob:pw", "nobody")));
}

TEST_CASE("MB-22 with mailbox.cors every §5.3/§5.4/OPTIONS answer has exactly the six headers") {
  Options o = quick();
  o.mailbox.cors = true;
  Harness h(o);
  auto options = h.http("OPTIONS", "/inbox");
  REQUIRE(options);
  CHECK(options->status == 204);
  check_cors(*options);
  HttpResponse empty = get(h, "alice:secret");
  check_empty_response(empty);
  check_cors(empty);
  HttpResponse bad = get(h, "alice:wrong");
  check_unauthorized(bad);
  check_cors(bad);
  HttpResponse missing = post(h, "bob:pw", "nobody");
  CHECK(missing.status == 404);
  check_cors(missing);
  HttpResponse sent = post(h, "bob:pw", "alice", "m");
  CHECK(sent.status == 200);
  check_cors(sent);
  HttpResponse message = get(h, "alice:secret");
  check_message(message, "bob", "m");
  check_cors(message);
  check_cors(post(h, "bob:pw", "alice", std::string(65537, 'x')));  // 413
  check_cors(post(h, "bob:pw", "", "x"));                          // 400
  auto none = h.http("GET", "/inbox");
  REQUIRE(none);
  check_cors(*none);

  // No CORS on the malformed-query 400, the 404 for other methods, the common refusals.
  auto malformed = h.http("OPTIONS", "/inbox?%");
  REQUIRE(malformed);
  CHECK(malformed->status == 400);
  CHECK(no_cors(*malformed));
  auto put = h.http("PUT", "/inbox", auth("alice:secret"));
  REQUIRE(put);
  CHECK(put->status == 404);
  CHECK(no_cors(*put));
}

TEST_CASE("MB-22 the common refusals on /inbox have an empty body and no CORS headers") {
  Options o;
  o.mailbox.cors = true;
  o.allowed_origins = {"https://a.example"};
  o.rate_limit.burst = 1;
  o.rate_limit.messages_per_second = 1;
  Harness h(o);
  auto forbidden = h.http("OPTIONS", "/inbox", {{"Origin", "https://evil.example"}});
  REQUIRE(forbidden);
  CHECK(forbidden->status == 403);
  CHECK(forbidden->body.empty());
  CHECK(no_cors(*forbidden));
  CHECK(h.http("OPTIONS", "/inbox", {{"Origin", "https://a.example"}})->status == 204);
  auto limited = h.http("OPTIONS", "/inbox");
  REQUIRE(limited);
  CHECK(limited->status == 429);
  CHECK(limited->body.empty());
  CHECK(no_cors(*limited));
  ConnectionId id{};
  Handshake hs = h.upgrade(id, "/inbox");
  CHECK(hs.response.status == 400);
  CHECK(hs.response.body.empty());
}

TEST_CASE("MB-23 other methods are 404 with an empty body; /inbox/ is not the mailbox") {
  Harness h(quick());
  for (std::string method : {"HEAD", "PUT", "DELETE", "PATCH", "get", "CONNECT"}) {
    auto r = h.http(method, "/inbox", auth("alice:secret"), "x");
    REQUIRE(r);
    CAPTURE(method);
    CHECK(r->status == 404);
    CHECK(r->body.empty());
    CHECK_FALSE(has(*r, "WWW-Authenticate"));
  }
  CHECK(inboxes(h) == 0);
  for (std::string target : {"/inbox/", "/inbox/x", "/Inbox", "/inboxes"}) {
    auto r = h.http("GET", target, auth("alice:secret"));
    REQUIRE(r);
    CAPTURE(target);
    CHECK(r->status == 404);
    CHECK_FALSE(has(*r, "WWW-Authenticate"));
  }
  CHECK(inboxes(h) == 0);
  // The query string takes no part in matching.
  CHECK(h.http("OPTIONS", "/inbox?x=1")->status == 204);
}

TEST_CASE("MB-24 a malformed query escape is 400 with an empty body, before dispatch") {
  Harness h(quick());
  for (std::string target : {"/inbox?x=%zz", "/inbox?x=%", "/inbox?%4", "/inbox?to=alice&y=%g0"}) {
    CAPTURE(target);
    for (std::string method : {"GET", "POST", "OPTIONS", "PUT"}) {
      auto r = h.http(method, target, auth("alice:secret"), "x");
      REQUIRE(r);
      CAPTURE(method);
      CHECK(r->status == 400);
      CHECK(r->body.empty());
      CHECK(r->headers.empty());
    }
  }
  // The 400 comes even before the credentials are looked at.
  CHECK(h.http("GET", "/inbox?x=%zz")->status == 400);
  CHECK(inboxes(h) == 0);
  CHECK(h.http("GET", "/inbox?x=%41", auth("alice:secret"))->status == 200);
}

TEST_CASE("MB-25 bad recipients and user names are 400; a password may contain ':'") {
  Harness h(quick());
  get(h, "alice:secret");
  for (std::string target : std::vector<std::string>{"/inbox", "/inbox?to=", "/inbox?to", "/inbox?too=alice",
                             "/inbox?to=" + std::string(257, 'a'), "/inbox?to=al%01ice",
                             "/inbox?to=%C2%85", "/inbox?to=%FF", "/inbox?to=%7F"}) {
    CAPTURE(target);
    auto r = h.http("POST", target, auth("bob:pw"), "x");
    REQUIRE(r);
    CHECK(r->status == 400);
    CHECK(r->body.empty());
  }
  // 256 bytes is a valid name: it gets as far as the recipient lookup.
  CHECK(post(h, "bob:pw", std::string(256, 'a'), "x").status == 404);
  // `to` is form-decoded.
  get(h, "a b:pw");
  CHECK(post(h, "bob:pw", "a+b", "plus").status == 200);
  CHECK(post(h, "bob:pw", "a%20b", "pct").status == 200);
  check_message(get(h, "a b:pw"), "bob", "plus");
  CHECK(inboxes(h) == 3);

  HttpResponse control = get(h, std::string("al\x01ice:pw"));
  CHECK(control.status == 400);
  CHECK(control.body.empty());
  CHECK_FALSE(has(control, "WWW-Authenticate"));
  CHECK(post(h, std::string("al\x01ice:pw"), "alice", "x").status == 400);
  CHECK(get(h, ":pw").status == 400);                          // empty user name
  CHECK(get(h, std::string(257, 'u') + ":pw").status == 400);  // too long
  CHECK(get(h, std::string("\xC3(:pw")).status == 400);        // not UTF-8
  CHECK(inboxes(h) == 3);

  check_empty_response(get(h, "eve:a:b"));
  check_unauthorized(get(h, "eve:a"));
  check_empty_response(get(h, "eve:a:b"));
  CHECK(post(h, "eve:a:b", "alice", "colon").status == 200);
  check_empty_response(get(h, "empty:"));  // an empty password is a password
  check_unauthorized(get(h, "empty:x"));
}

TEST_CASE("MB-26 the inbox cap refuses new names with 503") {
  Options o = quick();
  o.mailbox.max_inboxes = 2;
  Harness h(o);
  get(h, "alice:secret");
  get(h, "bob:pw");
  HttpResponse r = get(h, "carol:pw");
  CHECK(r.status == 503);
  CHECK(r.body.empty());
  CHECK(post(h, "carol:pw", "alice", "x").status == 503);
  CHECK(inboxes(h) == 2);
  // Existing inboxes work as before.
  CHECK(post(h, "bob:pw", "alice", "x").status == 200);
  check_message(get(h, "alice:secret"), "bob", "x");
}

TEST_CASE("MB-27 alice may send to herself") {
  Harness h(quick());
  get(h, "alice:secret");
  CHECK(post(h, "alice:secret", "alice", "note").status == 200);
  check_message(get(h, "alice:secret"), "alice", "note");
  // Self-send to a name nobody claimed yet is a missing recipient.
  CHECK(post(h, "nina:pw", "nina", "x").status == 404);
}

TEST_CASE("GEN-08 OPTIONS /inbox: 200 per address, then 429; another address is served") {
  Harness h;  // default rate limit: burst 200, 100 per second
  int ok = 0, limited = 0;
  for (int i = 0; i < 400; ++i) {
    auto r = h.http("OPTIONS", "/inbox");
    REQUIRE(r);
    if (i < 200) CHECK(r->status == 204);
    ok += r->status == 204;
    limited += r->status == 429;
  }
  CHECK(ok == 200);
  CHECK(limited == 200);
  CHECK(h.http("OPTIONS", "/inbox", {}, {}, "127.0.0.2")->status == 204);
  h.run_for(10ms);  // one token back
  CHECK(h.http("OPTIONS", "/inbox")->status == 204);
  CHECK(h.http("OPTIONS", "/inbox")->status == 429);
}

// ---- secrets (§1.12, §5.2) -----------------------------------------------------------------

TEST_CASE("MB-29 the inbox record keeps a salted HMAC tag, never the password") {
  using detail::Mailbox;
  using detail::PasswordTag;
  // The record's fields, all of them: a field added to Inbox breaks this binding, so a new
  // field cannot slip in unreviewed.
  static_assert(std::is_aggregate_v<Mailbox::Inbox>);
  static_assert(sizeof(PasswordTag) == PasswordTag::salt_bytes + PasswordTag::tag_bytes,
                "a PasswordTag holds the salt and the tag, nothing else");

  const std::string secret = "zz-secret-password";
  RecordingTransport transport;
  FakeClock clock;
  Options o = quick();
  o.clock = [&] { return clock.now; };
  detail::Core core(transport, o);
  Mailbox mailbox(core);
  auto request = [&](const std::string& user_pass) {
    ConnectionId id = core.open("127.0.0.1");
    detail::Connection& conn = *core.find(id);
    conn.state = detail::ConnState::http;
    conn.http_pending = true;
    conn.has_dialect = true;
    conn.dialect = Dialect::mailbox;
    conn.max_message_bytes = 65536;
    std::string header = basic_auth(user_pass);
    HttpRequest req;
    req.method = "GET";
    req.target = "/inbox";
    req.headers.push_back({"Authorization", header});
    mailbox.http(conn, req);
    return transport.responses[static_cast<std::uint64_t>(id)].at(0).status;
  };
  CHECK(request("alice:" + secret) == 200);
  CHECK(request("bob:" + secret) == 200);
  const Mailbox::Inbox* alice = mailbox.find_inbox("alice");
  const Mailbox::Inbox* bob = mailbox.find_inbox("bob");
  REQUIRE(alice);
  REQUIRE(bob);
  const auto& [password, queue, last_get, wait_until, waiting, position] = *alice;
  static_assert(std::is_same_v<std::decay_t<decltype(password)>, PasswordTag>);
  static_assert(std::is_same_v<std::decay_t<decltype(queue)>, std::list<Mailbox::Message>>);
  static_assert(std::is_same_v<std::decay_t<decltype(last_get)>, TimePoint>);
  static_assert(std::is_same_v<std::decay_t<decltype(wait_until)>, TimePoint>);
  static_assert(std::is_same_v<std::decay_t<decltype(waiting)>, detail::Connection*>);
  (void)position;
  CHECK(queue.empty());
  CHECK(waiting == nullptr);
  CHECK(last_get == clock.now);
  CHECK(wait_until == TimePoint{});

  // Neither the password nor any 4-byte piece of it is in the record's bytes.
  std::string_view raw(reinterpret_cast<const char*>(alice), sizeof(Mailbox::Inbox));
  for (std::size_t i = 0; i + 4 <= secret.size(); ++i)
    CHECK(raw.find(std::string_view(secret).substr(i, 4)) == std::string_view::npos);
  // Per-inbox random salts: the same password gives different tags.
  CHECK(alice->password.salt() != bob->password.salt());
  CHECK(alice->password.tag() != bob->password.tag());
  CHECK(alice->password.tag() == PasswordTag(alice->password.salt(), secret).tag());
  CHECK(alice->password.matches(secret));
  CHECK_FALSE(alice->password.matches(secret + "x"));
  CHECK_FALSE(alice->password.matches(""));
  CHECK(request("alice:" + secret) == 200);
  CHECK(request("alice:wrong") == 401);
}

TEST_CASE("MB-29 the metrics never show a user name") {
  Harness h(quick());
  get(h, "zz-secret-user:pw");
  post(h, "zz-secret-user:pw", "zz-secret-user", "x");
  std::string text = h.broker.metrics_text();
  CHECK(text.find("zz-secret-user") == std::string::npos);
  CHECK(text.find("pw") == std::string::npos);
  CHECK(h.metric("rendezvous_inboxes") == 1);
  CHECK(h.metric("rendezvous_http_responses_total", "dialect=\"mailbox\",status=\"200\"") == 2);
}

// ---- the Basic-auth and password helpers ----------------------------------------------------

TEST_CASE("MB-01 base64 is decoded strictly") {
  using detail::base64_decode_strict;
  std::string out;
  CHECK(base64_decode_strict("", out));
  CHECK(out.empty());
  CHECK(base64_decode_strict("YWxpY2U6c2VjcmV0", out));
  CHECK(out == "alice:secret");
  out.clear();
  CHECK(base64_decode_strict("YQ==", out));
  CHECK(out == "a");
  out.clear();
  CHECK(base64_decode_strict("YWI=", out));
  CHECK(out == "ab");
  out.clear();
  CHECK(base64_decode_strict("+/+/", out));
  CHECK(out == "\xfb\xff\xbf");
  for (std::string_view bad : {"YQ", "YQ=", "YQ===", "Y===", "====", "YR==", "YWJ=", "YQ==YQ==",
                               "YW=x", "-_-_", "YWxp Y2U=", "YWxp\nY2U="}) {
    out.clear();
    CAPTURE(bad);
    CHECK_FALSE(base64_decode_strict(bad, out));
  }
}

TEST_CASE("MB-25 Basic credentials split at the first colon") {
  detail::BasicCredentials c;
  REQUIRE(c.parse(basic_auth("eve:a:b")));
  CHECK(c.user() == "eve");
  CHECK(c.password() == "a:b");
  REQUIRE(c.parse("basic   " + basic_auth(":").substr(6)));
  CHECK(c.user().empty());
  CHECK(c.password().empty());
  CHECK_FALSE(c.parse(basic_auth("nocolon")));
  CHECK_FALSE(c.parse("Bearer " + basic_auth("a:b").substr(6)));
  CHECK(c.user().empty());
}
