#include "dialects/mailbox.hpp"

#include "core/core.hpp"
#include "core/text.hpp"
#include "dialects/basic_auth.hpp"

#include <stdexcept>

namespace rendezvous::detail {

Mailbox::Mailbox(Core& core) : DialectHandler(core) {
  int s = core_.options().mailbox.empty_status;
  if (s != 200 && s != 204) throw std::invalid_argument("mailbox.empty_status must be 200 or 204");
}

std::optional<RouteKind> Mailbox::match(std::string_view path) const noexcept {
  if (path == "/inbox") return RouteKind::http;
  return std::nullopt;
}

HttpResponse Mailbox::refusal(int status, std::string_view text) const {
  // Every mailbox answer but a delivered message has an empty body, and the common refusals
  // carry no CORS headers (§5.1, §5.7).
  (void)text;
  HttpResponse r;
  r.status = status;
  return r;
}

HttpResponse Mailbox::reply(int status) const {
  HttpResponse r;
  r.status = status;
  if (core_.options().mailbox.cors) {
    r.header("Access-Control-Allow-Origin", "*");
    r.header("Access-Control-Allow-Methods", "GET, POST, OPTIONS");
    r.header("Access-Control-Allow-Credentials", "true");
    r.header("Access-Control-Allow-Headers", "Authorization");
    r.header("Access-Control-Expose-Headers", "X-From");
    r.header("Vary", "Origin, Access-Control-Request-Method, Access-Control-Request-Headers");
  }
  return r;
}

HttpResponse Mailbox::unauthorized() const {
  HttpResponse r = reply(401);
  r.header("WWW-Authenticate", "Basic");
  return r;
}

HttpResponse Mailbox::empty_response() const {
  // A client tells "no message" from an empty message by X-From: a user name is never empty.
  HttpResponse r = reply(core_.options().mailbox.empty_status);
  if (r.status == 200) r.header("X-From", "");
  r.header("Cache-Control", "no-store");
  return r;
}

HttpResponse Mailbox::message_response(Message&& m) const {
  HttpResponse r = reply(200);
  r.header("X-From", std::move(m.from));
  r.header("Content-Type", "application/octet-stream");
  r.header("Cache-Control", "no-store");
  r.body = std::move(m.body);
  return r;
}

void Mailbox::deliver(Connection& conn, Message&& m) {
  core_.metrics().relayed(Dialect::mailbox);
  core_.respond(conn, message_response(std::move(m)));
}

void Mailbox::http(Connection& conn, const HttpRequest& request) {
  // §5.1: a bad escape anywhere in the query is refused before method dispatch.
  if (!query_well_formed(request.query())) return core_.respond(conn, refusal(400, {}));
  if (request.method == "GET") return receive(conn, request);
  if (request.method == "POST") return send(conn, request);
  if (request.method == "OPTIONS") return core_.respond(conn, reply(204));
  core_.respond(conn, refusal(404, {}));
}

bool Mailbox::credentials(const HttpRequest& request, BasicCredentials& creds) {
  const HeaderView* h = request.find("Authorization");
  return h && creds.parse(h->value);
}

Mailbox::Entry* Mailbox::claim(std::string_view user, std::string_view password, bool& created) {
  created = false;
  key_.assign(user);
  auto it = inboxes_.find(key_);
  if (it != inboxes_.end()) return &*it;
  if (inboxes_.size() >= core_.options().mailbox.max_inboxes) return nullptr;
  PasswordTag::Salt salt;
  core_.random_bytes(salt.data(), salt.size());
  it = inboxes_.try_emplace(key_).first;
  Inbox& inbox = it->second;
  inbox.password = PasswordTag(salt, password);
  inbox.last_get = core_.now();
  inbox.position = idle_.insert(idle_.end(), &*it);
  created = true;
  return &*it;
}

Connection& Mailbox::end_wait(Entry& entry) {
  Inbox& inbox = entry.second;
  Connection& conn = *inbox.waiting;
  inbox.waiting = nullptr;
  conn.session.reset();
  inbox.last_get = core_.now();
  idle_.splice(idle_.end(), waiting_, inbox.position);
  return conn;
}

void Mailbox::receive(Connection& conn, const HttpRequest& request) {
  BasicCredentials creds;
  if (!credentials(request, creds)) return core_.respond(conn, unauthorized());  // G1
  if (!valid_identifier(creds.user())) return core_.respond(conn, reply(400));     // G2
  bool created = false;
  Entry* entry = claim(creds.user(), creds.password(), created);                    // G3, G4
  if (!entry) return core_.respond(conn, reply(503));
  Inbox& inbox = entry->second;
  if (!created && !inbox.password.matches(creds.password()))                        // G5
    return core_.respond(conn, unauthorized());
  if (inbox.waiting) {
    // The newest GET wins (§5.5); ending the older wait also sets the last-GET time (G6).
    core_.respond(end_wait(*entry), empty_response());
  } else {
    inbox.last_get = core_.now();  // G6
    idle_.splice(idle_.end(), idle_, inbox.position);
  }
  if (!inbox.queue.empty()) {  // G7
    Message m = std::move(inbox.queue.front());
    inbox.queue.pop_front();
    return deliver(conn, std::move(m));
  }
  const auto& options = core_.options().mailbox;
  if (!options.long_polling) return core_.respond(conn, empty_response());  // G8
  inbox.waiting = &conn;                                                     // G9
  inbox.wait_until = core_.now() + options.long_poll_timeout;
  waiting_.splice(waiting_.end(), idle_, inbox.position);
  conn.session = std::make_unique<Waiter>(entry);
}

void Mailbox::send(Connection& conn, const HttpRequest& request) {
  BasicCredentials creds;
  if (!credentials(request, creds)) return core_.respond(conn, unauthorized());  // S1
  QueryParam to = query_param(request.query(), "to");
  if (!valid_identifier(creds.user()) || !to.present || !valid_identifier(to.value))
    return core_.respond(conn, reply(400));  // S2
  if (request.body.size() > conn.max_message_bytes) {  // S3
    HttpResponse r = reply(413);
    r.close_connection = true;
    return core_.respond(conn, r);
  }
  auto found = inboxes_.find(to.value);
  if (found == inboxes_.end()) return core_.respond(conn, reply(404));  // S4
  Entry* recipient = &*found;  // stays valid when claim() inserts; the iterator may not
  bool created = false;
  Entry* sender = claim(creds.user(), creds.password(), created);  // S5, S6
  if (!sender) return core_.respond(conn, reply(503));
  if (!created && !sender->second.password.matches(creds.password()))  // S7
    return core_.respond(conn, unauthorized());
  Inbox& inbox = recipient->second;
  if (inbox.queue.size() >= core_.options().mailbox.inbox_capacity)  // S8
    return core_.respond(conn, reply(503));
  Message m{std::string(creds.user()), std::string(request.body)};  // S9
  if (inbox.waiting) {
    Connection& waiter = end_wait(*recipient);
    // A waiter whose connection already failed must not take the message (§5.5).
    if (waiter.http_pending && waiter.state == ConnState::http) {
      deliver(waiter, std::move(m));
      return core_.respond(conn, reply(200));
    }
  }
  inbox.queue.push_back(std::move(m));
  core_.respond(conn, reply(200));
}

void Mailbox::closed(Connection& conn) {
  // Only a GET still waiting has a session: its client left, so the wait ends and nothing is
  // consumed (§5.5).
  if (!conn.session) return;
  Entry* entry = conn.session_as<Waiter>().entry;
  if (entry->second.waiting == &conn) end_wait(*entry);
}

void Mailbox::on_timer(TimePoint now) {
  if (!waiting_.empty() && waiting_.front()->second.wait_until <= now) {
    HttpResponse empty = empty_response();
    while (!waiting_.empty() && waiting_.front()->second.wait_until <= now)
      core_.respond(end_wait(*waiting_.front()), empty);
  }
  const Duration timeout = core_.options().mailbox.inbox_timeout;
  while (!idle_.empty() && now - idle_.front()->second.last_get >= timeout) {
    auto it = inboxes_.find(idle_.front()->first);
    idle_.pop_front();
    inboxes_.erase(it);  // its messages, salt and tag go with it (§5.6)
  }
}

std::optional<TimePoint> Mailbox::next_deadline() const {
  std::optional<TimePoint> best;
  if (!waiting_.empty()) best = waiting_.front()->second.wait_until;
  if (!idle_.empty()) {
    TimePoint expiry = idle_.front()->second.last_get + core_.options().mailbox.inbox_timeout;
    if (!best || expiry < *best) best = expiry;
  }
  return best;
}

void Mailbox::shutdown() {
  // §1.11 step 4: every waiting GET gets the empty response.
  HttpResponse empty = empty_response();
  while (!waiting_.empty()) core_.respond(end_wait(*waiting_.front()), empty);
}

void Mailbox::gauges(std::vector<std::pair<std::string_view, double>>& out) const {
  out.emplace_back("rendezvous_inboxes", static_cast<double>(inboxes_.size()));
}

const Mailbox::Inbox* Mailbox::find_inbox(std::string_view name) const {
  auto it = inboxes_.find(std::string(name));
  return it == inboxes_.end() ? nullptr : &it->second;
}

}  // namespace rendezvous::detail
