#include "dialects/factory.hpp"

#include "core/core.hpp"
#include "dialects/cuttlefish.hpp"
#include "dialects/fingersmith.hpp"
#include "dialects/rooms.hpp"
#include "dialects/mailbox.hpp"

namespace rendezvous::detail {

std::unique_ptr<DialectHandler> make_dialect(Dialect d, Core& core) {
  const Options& o = core.options();
  switch (d) {
    case Dialect::fingersmith:
      return o.fingersmith.enabled ? std::make_unique<Fingersmith>(core) : nullptr;
    case Dialect::cuttlefish:
      return o.cuttlefish.enabled ? std::make_unique<Cuttlefish>(core) : nullptr;
    case Dialect::rooms:
      return o.rooms.enabled ? std::make_unique<Rooms>(core) : nullptr;
    case Dialect::mailbox:
      return o.mailbox.enabled ? std::make_unique<Mailbox>(core) : nullptr;
  }
  return nullptr;
}

}  // namespace rendezvous::detail
