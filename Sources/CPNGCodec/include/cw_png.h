#ifndef CW_PNG_H
#define CW_PNG_H

/*
 * A small C layer over libpng's classic API. Every libpng call that can longjmp happens inside a
 * function in codec.c that set up its own setjmp, so a longjmp never crosses a Swift frame. The
 * header deliberately does not include png.h: Swift sees plain integers and buffers only.
 */

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Outcome of a codec call. */
typedef enum cw_png_status {
    CW_PNG_OK = 0,
    /* The first 8 bytes are not the PNG signature. */
    CW_PNG_NOT_PNG = 1,
    /* The data ended before the image did; `cw_png_report.offset` holds the bytes available. */
    CW_PNG_TRUNCATED = 2,
    /* The declared size exceeds the caller's limits; `width` and `height` hold the declared size. */
    CW_PNG_TOO_LARGE = 3,
    /* libpng or zlib rejected the data; `message` holds libpng's reason. */
    CW_PNG_MALFORMED = 4,
    CW_PNG_OUT_OF_MEMORY = 5,
    /* A caller mistake: null buffer, wrong buffer length, bad option value. */
    CW_PNG_BAD_ARGUMENT = 6,
} cw_png_status;

/* Bounds checked against the IHDR before anything is allocated for the pixels. */
typedef struct cw_png_limits {
    uint32_t max_width;
    uint32_t max_height;
    /* Largest accepted RGBA8 output, width * height * 4. */
    uint64_t max_rgba_bytes;
} cw_png_limits;

/* What happened, in enough detail for a readable error. */
typedef struct cw_png_report {
    /* Size the IHDR declares (0 until known). */
    uint32_t width;
    uint32_t height;
    /* For CW_PNG_TRUNCATED: bytes of input available. */
    uint64_t offset;
    /* libpng's error text, NUL-terminated (empty when not from libpng). */
    char message[200];
} cw_png_report;

/* A decode in progress, between reading the header and reading the pixels. */
typedef struct cw_png_decoder cw_png_decoder;

/*
 * Starts decoding `length` bytes at `data` (which must stay valid until cw_png_decoder_destroy):
 * checks the signature, reads every chunk up to the first IDAT, checks the declared size against
 * `limits` and sets up the RGBA8 transforms. On CW_PNG_OK, `*out_decoder` is set and `report->width`
 * and `report->height` hold the image size; the caller allocates width*height*4 bytes and calls
 * cw_png_decoder_read_pixels. On any other status nothing needs freeing.
 */
cw_png_status cw_png_decoder_begin(
    const uint8_t *data, size_t length, cw_png_limits limits, cw_png_decoder **out_decoder,
    cw_png_report *report);

/* Decodes all pixels into `rgba` (exactly width*height*4 bytes, rows top first) and reads to IEND. */
cw_png_status cw_png_decoder_read_pixels(
    cw_png_decoder *decoder, uint8_t *rgba, size_t rgba_length, cw_png_report *report);

/* Frees the decoder; accepts NULL. */
void cw_png_decoder_destroy(cw_png_decoder *decoder);

/* Row filter choices for the encoder (the PNG filter types, plus adaptive selection). */
typedef enum cw_png_filter {
    CW_PNG_FILTER_NONE = 0,
    CW_PNG_FILTER_SUB = 1,
    CW_PNG_FILTER_UP = 2,
    CW_PNG_FILTER_AVERAGE = 3,
    CW_PNG_FILTER_PAETH = 4,
    /* libpng tries every filter on each row and keeps the one with the smallest sum. */
    CW_PNG_FILTER_ADAPTIVE = 5,
} cw_png_filter;

/* zlib strategies. AUTO is libpng's own choice: Z_FILTERED when rows are filtered, else default. */
typedef enum cw_png_strategy {
    CW_PNG_STRATEGY_AUTO = 0,
    CW_PNG_STRATEGY_DEFAULT = 1,
    CW_PNG_STRATEGY_FILTERED = 2,
    CW_PNG_STRATEGY_HUFFMAN_ONLY = 3,
    CW_PNG_STRATEGY_RLE = 4,
} cw_png_strategy;

typedef struct cw_png_encode_options {
    /* zlib level 0-9. */
    int level;
    cw_png_filter filter;
    cw_png_strategy strategy;
    /* Bytes libpng buffers before writing an IDAT chunk; 0 keeps libpng's default (8 KiB). */
    uint32_t idat_size;
    /* When non-zero and every alpha byte is 255, write colour type RGB (2) instead of RGBA (6). */
    int drop_opaque_alpha;
} cw_png_encode_options;

/*
 * Encodes width*height RGBA8 pixels (rows `stride` bytes apart) into a PNG held in memory.
 * On CW_PNG_OK, `*out_png` is a malloc'd buffer of `*out_length` bytes that the caller frees with
 * cw_png_free.
 */
cw_png_status cw_png_encode(
    const uint8_t *rgba, uint32_t width, uint32_t height, size_t stride,
    const cw_png_encode_options *options, uint8_t **out_png, size_t *out_length, cw_png_report *report);

/* Frees a buffer returned by cw_png_encode; accepts NULL. */
void cw_png_free(void *buffer);

/* The libpng version the codec runs against and the zlib version it was compiled with, for diagnostics. */
const char *cw_png_libpng_version(void);
const char *cw_png_zlib_version(void);

#ifdef __cplusplus
}
#endif

#endif
