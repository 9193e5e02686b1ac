#pragma once

#include "dialects/dialect.hpp"

#include <memory>

namespace rendezvous::detail {

/// The handler for `d`, or nullptr when the dialect is disabled in the options (its paths
/// then answer 404, §1.1).
std::unique_ptr<DialectHandler> make_dialect(Dialect d, Core& core);

}  // namespace rendezvous::detail
