// Shared by the libFuzzer targets: an assertion that survives NDEBUG and says what broke.
#pragma once

#include <cstdio>
#include <cstdlib>

/// Aborts (so libFuzzer saves the input as a crash) when `condition` is false.
#define FUZZ_CHECK(condition, what)                                                                \
  do {                                                                                             \
    if (!(condition)) {                                                                            \
      std::fprintf(stderr, "FUZZ_CHECK failed at %s:%d: %s: %s\n", __FILE__, __LINE__, #condition, \
                   what);                                                                          \
      std::abort();                                                                                \
    }                                                                                              \
  } while (false)
