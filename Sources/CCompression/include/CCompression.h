#ifndef SONDE_CCOMPRESSION_H
#define SONDE_CCOMPRESSION_H
// Streaming decoders for HTTP bodies: gzip and deflate (zlib) and br (Brotli), both linked statically. Each step
// writes at most the output room it is given, so a caller bounds memory and stops a decompression bomb by counting.
#include <stddef.h>
#include <stdint.h>
// zlib's own API too (its encoder makes the test streams).
#include <zlib.h>

typedef enum {
    SONDE_DECODE_GZIP = 1,
    /// zlib-wrapped (RFC 1950, what HTTP names deflate) or raw (RFC 1951, what some servers and Go send): told
    /// apart by the first two bytes.
    SONDE_DECODE_DEFLATE = 2,
    SONDE_DECODE_BROTLI = 3,
} sonde_decode_algorithm;

typedef enum {
    /// All input was consumed; more may follow.
    SONDE_DECODE_MORE = 0,
    /// The output room is full: call again with the rest of the input.
    SONDE_DECODE_FULL = 1,
    /// The stream ended (for gzip: a member ended and no input is left).
    SONDE_DECODE_END = 2,
    SONDE_DECODE_ERROR = -1,
} sonde_decode_status;

typedef struct sonde_decoder sonde_decoder;

/// NULL when out of memory.
sonde_decoder *sonde_decoder_create(sonde_decode_algorithm algorithm);
void sonde_decoder_destroy(sonde_decoder *decoder);

/// Decodes from `input`, writing at most `room` bytes to `output`; `*consumed` and `*produced` say how much.
sonde_decode_status sonde_decoder_step(
    sonde_decoder *decoder, const uint8_t *input, size_t length, size_t *consumed, uint8_t *output, size_t room, size_t *produced);

/// Whether the stream reached its end (a body that stops before is truncated).
int sonde_decoder_finished(const sonde_decoder *decoder);

/// What went wrong, after SONDE_DECODE_ERROR.
const char *sonde_decoder_error(const sonde_decoder *decoder);
#endif
