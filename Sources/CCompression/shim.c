#include "CCompression.h"

#include <brotli/decode.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

struct sonde_decoder {
    sonde_decode_algorithm algorithm;
    z_stream zlib;
    int zlib_ready;
    BrotliDecoderState *brotli;
    int finished;
    /// deflate: the first byte, kept until the second tells zlib-wrapped from raw.
    uint8_t pending;
    int has_pending;
    const char *error;
};

sonde_decoder *sonde_decoder_create(sonde_decode_algorithm algorithm) {
    sonde_decoder *decoder = calloc(1, sizeof *decoder);
    if (decoder == NULL) return NULL;
    decoder->algorithm = algorithm;
    if (algorithm == SONDE_DECODE_BROTLI) {
        decoder->brotli = BrotliDecoderCreateInstance(NULL, NULL, NULL);
        if (decoder->brotli == NULL) {
            free(decoder);
            return NULL;
        }
    } else if (algorithm == SONDE_DECODE_GZIP) {
        // 16 + 15: the gzip wrapper only, with the largest window.
        if (inflateInit2(&decoder->zlib, 16 + MAX_WBITS) != Z_OK) {
            free(decoder);
            return NULL;
        }
        decoder->zlib_ready = 1;
    }
    return decoder;
}

void sonde_decoder_destroy(sonde_decoder *decoder) {
    if (decoder == NULL) return;
    if (decoder->zlib_ready) inflateEnd(&decoder->zlib);
    if (decoder->brotli != NULL) BrotliDecoderDestroyInstance(decoder->brotli);
    free(decoder);
}

int sonde_decoder_finished(const sonde_decoder *decoder) { return decoder->finished; }

const char *sonde_decoder_error(const sonde_decoder *decoder) { return decoder->error != NULL ? decoder->error : "no error"; }

static sonde_decode_status fail(sonde_decoder *decoder, const char *message) {
    decoder->error = message;
    return SONDE_DECODE_ERROR;
}

static sonde_decode_status brotli_step(
    sonde_decoder *decoder, const uint8_t *input, size_t length, size_t *consumed, uint8_t *output, size_t room, size_t *produced) {
    size_t available_in = length, available_out = room;
    const uint8_t *next_in = input;
    uint8_t *next_out = output;
    BrotliDecoderResult result = BrotliDecoderDecompressStream(decoder->brotli, &available_in, &next_in, &available_out, &next_out, NULL);
    *consumed = length - available_in;
    *produced = room - available_out;
    switch (result) {
    case BROTLI_DECODER_RESULT_SUCCESS:
        decoder->finished = 1;
        if (available_in > 0) return fail(decoder, "data after the end of the br stream");
        return SONDE_DECODE_END;
    case BROTLI_DECODER_RESULT_NEEDS_MORE_INPUT: return SONDE_DECODE_MORE;
    case BROTLI_DECODER_RESULT_NEEDS_MORE_OUTPUT: return SONDE_DECODE_FULL;
    default: return fail(decoder, BrotliDecoderErrorString(BrotliDecoderGetErrorCode(decoder->brotli)));
    }
}

/// deflate: decides the wrapper from the stream's first two bytes (a zlib header is CM 8 with a check sum of 31).
static sonde_decode_status deflate_start(sonde_decoder *decoder, const uint8_t *input, size_t length, size_t *consumed) {
    *consumed = 0;
    if (length == 0) return SONDE_DECODE_MORE;
    if (!decoder->has_pending) {
        decoder->pending = input[0];
        decoder->has_pending = 1;
        *consumed = 1;
        if (length == 1) return SONDE_DECODE_MORE;
        input += 1;
    }
    unsigned header = (unsigned)decoder->pending << 8 | input[0];
    int wrapped = (decoder->pending & 0x0F) == Z_DEFLATED && header % 31 == 0;
    if (inflateInit2(&decoder->zlib, wrapped ? MAX_WBITS : -MAX_WBITS) != Z_OK) return fail(decoder, "out of memory");
    decoder->zlib_ready = 1;
    // The kept byte goes in first.
    uint8_t sink[1];
    decoder->zlib.next_in = &decoder->pending;
    decoder->zlib.avail_in = 1;
    decoder->zlib.next_out = sink;
    decoder->zlib.avail_out = sizeof sink;
    int status = inflate(&decoder->zlib, Z_NO_FLUSH);
    if (status != Z_OK && status != Z_BUF_ERROR) return fail(decoder, decoder->zlib.msg != NULL ? decoder->zlib.msg : "not a deflate stream");
    return SONDE_DECODE_MORE;
}

sonde_decode_status sonde_decoder_step(
    sonde_decoder *decoder, const uint8_t *input, size_t length, size_t *consumed, uint8_t *output, size_t room, size_t *produced) {
    *consumed = 0;
    *produced = 0;
    if (decoder->algorithm == SONDE_DECODE_BROTLI) return brotli_step(decoder, input, length, consumed, output, room, produced);
    if (!decoder->zlib_ready) {
        size_t used = 0;
        sonde_decode_status status = deflate_start(decoder, input, length, &used);
        *consumed = used;
        if (status != SONDE_DECODE_MORE || !decoder->zlib_ready) return status;
        input += used;
        length -= used;
    }
    if (decoder->finished) {
        if (length == 0) return SONDE_DECODE_END;
        // gzip: another member may follow (RFC 1952 allows several); anything else after the end is an error.
        if (decoder->algorithm != SONDE_DECODE_GZIP) return fail(decoder, "data after the end of the deflate stream");
        if (inflateReset(&decoder->zlib) != Z_OK) return fail(decoder, "cannot restart the gzip stream");
        decoder->finished = 0;
    }
    // zlib counts in uInt.
    uInt in_length = length > 0x40000000 ? 0x40000000 : (uInt)length;
    uInt out_room = room > 0x40000000 ? 0x40000000 : (uInt)room;
    decoder->zlib.next_in = (Bytef *)input;
    decoder->zlib.avail_in = in_length;
    decoder->zlib.next_out = output;
    decoder->zlib.avail_out = out_room;
    int status = inflate(&decoder->zlib, Z_NO_FLUSH);
    *consumed += in_length - decoder->zlib.avail_in;
    *produced = out_room - decoder->zlib.avail_out;
    switch (status) {
    case Z_STREAM_END:
        decoder->finished = 1;
        return decoder->zlib.avail_in == 0 ? SONDE_DECODE_END : SONDE_DECODE_FULL;
    case Z_OK:
    case Z_BUF_ERROR:
        if (decoder->zlib.avail_out == 0) return SONDE_DECODE_FULL;
        return decoder->zlib.avail_in == 0 ? SONDE_DECODE_MORE : SONDE_DECODE_FULL;
    case Z_MEM_ERROR: return fail(decoder, "out of memory");
    default:
        return fail(decoder, decoder->zlib.msg != NULL ? decoder->zlib.msg : "corrupt stream");
    }
}
