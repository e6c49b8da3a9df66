// FJORD_CHECK: a broken invariant in storage or consensus stops the process.
// Continuing with a corrupted log or a second vote in one term would turn a bug
// into lost or inconsistent data, which is worse than a crash.
#pragma once

#include <cstdio>
#include <cstdlib>

#define FJORD_CHECK(condition, message)                                                     \
  do {                                                                                      \
    if (!(condition)) {                                                                     \
      std::fprintf(stderr, "%s:%d: check failed: %s: %s\n", __FILE__, __LINE__, #condition, \
                   message);                                                                \
      std::abort();                                                                         \
    }                                                                                       \
  } while (false)
