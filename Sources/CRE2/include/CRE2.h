// A small C face over RE2 (linear-time regular expressions), so Swift can use it without C++ interop.
#ifndef SONDE_CRE2_H
#define SONDE_CRE2_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// A compiled pattern; safe to match from several threads at once.
typedef struct sonde_re2 sonde_re2;

/// Compiles `pattern` (RE2 syntax) with at most `max_memory` bytes for the compiled program. On failure
/// returns NULL and writes RE2's message, NUL-terminated and truncated to `error_capacity`, to `error`.
sonde_re2 *sonde_re2_compile(const char *pattern, size_t length, int64_t max_memory, int case_insensitive,
                             char *error, size_t error_capacity);

void sonde_re2_free(sonde_re2 *regex);

/// Capturing groups in the pattern (not counting the whole match).
int sonde_re2_groups(const sonde_re2 *regex);

/// Searches `text` for the first match. Returns 1 when it matches, 0 when not. When `offsets` is given it
/// receives `2 * (groups + 1)` byte offsets (start, end) of the whole match and each group; -1 for a group
/// that did not take part.
int sonde_re2_search(const sonde_re2 *regex, const char *text, size_t length, int64_t *offsets, int groups);

#ifdef __cplusplus
}
#endif

#endif
