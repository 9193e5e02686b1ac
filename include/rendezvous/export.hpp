#pragma once

/// Symbol visibility for librendezvous. The library is built with hidden visibility; only
/// declarations marked RENDEZVOUS_EXPORT are part of the ABI.
#if defined(_WIN32)
#  if defined(RENDEZVOUS_BUILDING)
#    define RENDEZVOUS_EXPORT __declspec(dllexport)
#  else
#    define RENDEZVOUS_EXPORT
#  endif
#else
#  define RENDEZVOUS_EXPORT __attribute__((visibility("default")))
#endif
