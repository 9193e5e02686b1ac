#pragma once

/// Umbrella header: everything an embedder needs.
#include <rendezvous/broker.hpp>
#include <rendezvous/error.hpp>
#include <rendezvous/http.hpp>
#include <rendezvous/options.hpp>
#include <rendezvous/transport.hpp>
#include <rendezvous/types.hpp>
#include <rendezvous/version.hpp>
