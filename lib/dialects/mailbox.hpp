#pragma once

// PROTOCOLS.md §5: HTTP Basic-auth inboxes (emad-elsaid/inbox compatible). One path, /inbox:
// GET takes the oldest message of one's own inbox (waiting for one when long polling is on),
// POST ?to= appends a message to another user's inbox. Inboxes expire when nobody reads them.

#include "dialects/dialect.hpp"
#include "dialects/password_tag.hpp"

#include <list>
#include <string>
#include <unordered_map>

namespace rendezvous::detail {

class BasicCredentials;

class Mailbox final : public DialectHandler {
 public:
  /// Throws std::invalid_argument when mailbox.empty_status is neither 200 nor 204.
  explicit Mailbox(Core& core);

  Dialect kind() const noexcept override { return Dialect::mailbox; }
  std::optional<RouteKind> match(std::string_view path) const noexcept override;
  void http(Connection& conn, const HttpRequest& request) override;
  void closed(Connection& conn) override;
  HttpResponse refusal(int status, std::string_view text) const override;
  void on_timer(TimePoint now) override;
  std::optional<TimePoint> next_deadline() const override;
  void shutdown() override;
  void gauges(std::vector<std::pair<std::string_view, double>>& out) const override;

  struct Inbox;
  using Entry = std::pair<const std::string, Inbox>;

  /// One queued message.
  struct Message {
    std::string from;  ///< the sender's user name
    std::string body;  ///< exactly the posted bytes
  };

  /// What the server keeps per user (§5.2). No clear password: only the salted tag.
  struct Inbox {
    PasswordTag password;
    std::list<Message> queue;  ///< FIFO; a list costs nothing while empty
    TimePoint last_get{};      ///< creation time until the first GET
    TimePoint wait_until{};    ///< long-poll deadline while `waiting` is set
    Connection* waiting = nullptr;  ///< the one GET waiting on this inbox (§5.5)
    std::list<Entry*>::iterator position;  ///< in idle_ (no waiting GET) or waiting_
  };

  /// The inbox named `name`, or nullptr (inspection in tests).
  const Inbox* find_inbox(std::string_view name) const;

 private:
  /// Per-connection state of a waiting GET: the inbox it waits on.
  struct Waiter final : Session {
    explicit Waiter(Entry* e) : entry(e) {}
    Entry* entry;
  };

  void receive(Connection& conn, const HttpRequest& request);
  void send(Connection& conn, const HttpRequest& request);

  /// Fills `creds` from the Authorization header; false means 401.
  static bool credentials(const HttpRequest& request, BasicCredentials& creds);
  /// The inbox of `user`, created with `password` when absent (G3/G4, S5/S6). nullptr when
  /// the inbox cap forbids creating it. `created` tells whether it is new.
  Entry* claim(std::string_view user, std::string_view password, bool& created);
  /// Ends the wait on `entry` (§5.5: the last-GET time becomes now) and returns the
  /// connection that waited, for the caller to answer unless its client is gone.
  Connection& end_wait(Entry& entry);
  /// Answers `conn` with `m` and counts the delivery.
  void deliver(Connection& conn, Message&& m);

  HttpResponse reply(int status) const;  ///< empty body, CORS headers when on (§5.7)
  HttpResponse unauthorized() const;
  HttpResponse empty_response() const;
  HttpResponse message_response(Message&& m) const;

  std::unordered_map<std::string, Inbox> inboxes_;
  // Both lists are ordered by deadline, because every deadline is "now + a fixed duration":
  // idle_ by last-GET time (expiry, §5.6), waiting_ by long-poll deadline (§5.5).
  std::list<Entry*> idle_;
  std::list<Entry*> waiting_;
  std::string key_;  // lookup key, reused so lookups do not allocate
};

}  // namespace rendezvous::detail
