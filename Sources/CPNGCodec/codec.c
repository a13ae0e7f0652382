/*
 * PNG decode and encode on libpng's classic API.
 *
 * libpng reports errors by calling png_error, which longjmps to the jmp_buf set with setjmp. Each
 * public function below that calls into libpng sets its own setjmp first, so the longjmp only ever
 * unwinds C frames of this file and libpng, never a Swift frame. State that must survive a longjmp
 * lives in heap structs, not in locals.
 */
#include <png.h>
#include <zlib.h>

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cw_png.h"

#define CW_MESSAGE_SIZE 200

/* Ancillary chunks the decoder never needs; skipping them also means no gamma or colour handling. */
static const png_byte cw_ignored_chunks[] =
    "bKGD\0cHRM\0eXIf\0gAMA\0hIST\0iCCP\0iTXt\0oFFs\0pCAL\0pHYs\0sBIT\0sCAL\0sPLT\0sRGB\0tEXt\0tIME\0zTXt";

struct cw_png_decoder {
    png_structp png;
    png_infop info;
    const uint8_t *data;
    size_t length;
    size_t position;
    int truncated;
    uint32_t width;
    uint32_t height;
    int passes;
    char message[CW_MESSAGE_SIZE];
    /* libpng explains an invalid IHDR in warnings, then errors with a generic "Invalid IHDR data". */
    char warning[CW_MESSAGE_SIZE];
};

typedef struct cw_encoder_state {
    png_structp png;
    png_infop info;
    uint8_t *buffer;
    size_t length;
    size_t capacity;
    int out_of_memory;
    char message[CW_MESSAGE_SIZE];
} cw_encoder_state;

static void cw_report_reset(cw_png_report *report) {
    memset(report, 0, sizeof(*report));
}

/* The error pointer of both structs points at a struct whose `message` we fill; see the two setups. */
static void cw_decoder_error(png_structp png, png_const_charp message) {
    struct cw_png_decoder *decoder = (struct cw_png_decoder *)png_get_error_ptr(png);
    snprintf(decoder->message, sizeof(decoder->message), "%s", message ? message : "unknown libpng error");
    png_longjmp(png, 1);
}

static void cw_encoder_error(png_structp png, png_const_charp message) {
    cw_encoder_state *state = (cw_encoder_state *)png_get_error_ptr(png);
    snprintf(state->message, sizeof(state->message), "%s", message ? message : "unknown libpng error");
    png_longjmp(png, 1);
}

static void cw_decoder_warning(png_structp png, png_const_charp message) {
    struct cw_png_decoder *decoder = (struct cw_png_decoder *)png_get_error_ptr(png);
    /* Keep the first: IHDR comes first, and its first complaint is the most specific. */
    if (decoder->warning[0] == '\0') snprintf(decoder->warning, sizeof(decoder->warning), "%s", message ? message : "");
}

static void cw_ignore_warning(png_structp png, png_const_charp message) {
    (void)png;
    (void)message;
}

static void cw_read_from_memory(png_structp png, png_bytep out, size_t count) {
    struct cw_png_decoder *decoder = (struct cw_png_decoder *)png_get_io_ptr(png);
    if (count > decoder->length - decoder->position) {
        decoder->truncated = 1;
        png_error(png, "unexpected end of data");
    }
    memcpy(out, decoder->data + decoder->position, count);
    decoder->position += count;
}

static uint32_t cw_be32(const uint8_t *p) {
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}

static int cw_exceeds(uint32_t width, uint32_t height, cw_png_limits limits) {
    return width > limits.max_width || height > limits.max_height
        || (uint64_t)width * (uint64_t)height * 4u > limits.max_rgba_bytes;
}

static cw_png_status cw_decoder_failure(struct cw_png_decoder *decoder, cw_png_report *report) {
    cw_png_status status;
    if (decoder->truncated) {
        status = CW_PNG_TRUNCATED;
        report->offset = decoder->length;
    } else if (strstr(decoder->message, "user limit") != NULL) {
        status = CW_PNG_TOO_LARGE;
    } else if (strstr(decoder->message, "Out of memory") != NULL
        || strstr(decoder->message, "out of memory") != NULL) {
        status = CW_PNG_OUT_OF_MEMORY;
    } else {
        status = CW_PNG_MALFORMED;
    }
    if (strncmp(decoder->message, "Invalid IHDR data", 17) == 0 && decoder->warning[0] != '\0') {
        snprintf(report->message, sizeof(report->message), "%s", decoder->warning);
    } else {
        memcpy(report->message, decoder->message, sizeof(report->message));
    }
    return status;
}

void cw_png_decoder_destroy(cw_png_decoder *decoder) {
    if (decoder == NULL) return;
    if (decoder->png != NULL) png_destroy_read_struct(&decoder->png, &decoder->info, NULL);
    free(decoder);
}

cw_png_status cw_png_decoder_begin(
    const uint8_t *data, size_t length, cw_png_limits limits, cw_png_decoder **out_decoder,
    cw_png_report *report) {
    cw_report_reset(report);
    *out_decoder = NULL;
    if (data == NULL && length > 0) return CW_PNG_BAD_ARGUMENT;

    size_t signature_bytes = length < 8 ? length : 8;
    if (signature_bytes > 0 && png_sig_cmp(data, 0, signature_bytes) != 0) return CW_PNG_NOT_PNG;
    if (length < 8) {
        report->offset = length;
        return CW_PNG_TRUNCATED;
    }
    /* Check the declared size straight from the IHDR bytes, before libpng allocates anything. */
    if (length >= 24 && memcmp(data + 12, "IHDR", 4) == 0) {
        report->width = cw_be32(data + 16);
        report->height = cw_be32(data + 20);
        if (cw_exceeds(report->width, report->height, limits)) return CW_PNG_TOO_LARGE;
    }

    struct cw_png_decoder *decoder = calloc(1, sizeof(*decoder));
    if (decoder == NULL) return CW_PNG_OUT_OF_MEMORY;
    decoder->data = data;
    decoder->length = length;
    decoder->png = png_create_read_struct(PNG_LIBPNG_VER_STRING, decoder, cw_decoder_error, cw_decoder_warning);
    if (decoder->png == NULL) {
        free(decoder);
        return CW_PNG_OUT_OF_MEMORY;
    }
    decoder->info = png_create_info_struct(decoder->png);
    if (decoder->info == NULL) {
        cw_png_decoder_destroy(decoder);
        return CW_PNG_OUT_OF_MEMORY;
    }

    if (setjmp(png_jmpbuf(decoder->png))) {
        cw_png_status status = cw_decoder_failure(decoder, report);
        cw_png_decoder_destroy(decoder);
        return status;
    }

    png_set_read_fn(decoder->png, decoder, cw_read_from_memory);
    png_set_user_limits(decoder->png,
        limits.max_width > 0x7fffffffu ? 0x7fffffffu : limits.max_width,
        limits.max_height > 0x7fffffffu ? 0x7fffffffu : limits.max_height);
    png_set_chunk_cache_max(decoder->png, 128);
    png_set_chunk_malloc_max(decoder->png, 8u << 20);
    /* Any CRC mismatch rejects the file, ancillary chunks included: the data is corrupt. */
    png_set_crc_action(decoder->png, PNG_CRC_ERROR_QUIT, PNG_CRC_ERROR_QUIT);
    /* The CRC of every IDAT already covers the compressed bytes, so zlib's Adler-32 over the inflated
     * bytes adds cost but no protection; reading IDAT in large pieces means fewer, longer inflate calls. */
    png_set_option(decoder->png, PNG_IGNORE_ADLER32, PNG_OPTION_ON);
    png_set_compression_buffer_size(decoder->png, 256u << 10);
    png_set_keep_unknown_chunks(decoder->png, PNG_HANDLE_CHUNK_NEVER, NULL, 0);
    png_set_keep_unknown_chunks(
        decoder->png, PNG_HANDLE_CHUNK_NEVER, cw_ignored_chunks, (int)(sizeof(cw_ignored_chunks) / 5));

    png_read_info(decoder->png, decoder->info);

    png_uint_32 width = 0, height = 0;
    int bit_depth = 0, color_type = 0, interlace = 0;
    png_get_IHDR(decoder->png, decoder->info, &width, &height, &bit_depth, &color_type, &interlace, NULL, NULL);
    report->width = width;
    report->height = height;
    if (cw_exceeds(width, height, limits)) {
        cw_png_decoder_destroy(decoder);
        return CW_PNG_TOO_LARGE;
    }

    int has_trns = png_get_valid(decoder->png, decoder->info, PNG_INFO_tRNS) != 0;
    if (color_type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(decoder->png);
    if ((color_type & PNG_COLOR_MASK_COLOR) == 0 && bit_depth < 8) png_set_expand_gray_1_2_4_to_8(decoder->png);
    if (has_trns) png_set_tRNS_to_alpha(decoder->png);
    /* Keeps the high byte of each 16-bit sample, as Pillow and libspng do; no rounding, no gamma. */
    if (bit_depth == 16) png_set_strip_16(decoder->png);
    if ((color_type & PNG_COLOR_MASK_COLOR) == 0) png_set_gray_to_rgb(decoder->png);
    if ((color_type & PNG_COLOR_MASK_ALPHA) == 0 && !has_trns) png_set_filler(decoder->png, 0xff, PNG_FILLER_AFTER);
    decoder->passes = png_set_interlace_handling(decoder->png);
    png_read_update_info(decoder->png, decoder->info);

    if (png_get_rowbytes(decoder->png, decoder->info) != (size_t)width * 4u
        || png_get_channels(decoder->png, decoder->info) != 4
        || png_get_bit_depth(decoder->png, decoder->info) != 8) {
        snprintf(report->message, sizeof(report->message), "transforms did not produce RGBA8 rows");
        cw_png_decoder_destroy(decoder);
        return CW_PNG_MALFORMED;
    }
    decoder->width = width;
    decoder->height = height;
    *out_decoder = decoder;
    return CW_PNG_OK;
}

cw_png_status cw_png_decoder_read_pixels(
    cw_png_decoder *decoder, uint8_t *rgba, size_t rgba_length, cw_png_report *report) {
    cw_report_reset(report);
    if (decoder == NULL || rgba == NULL) return CW_PNG_BAD_ARGUMENT;
    report->width = decoder->width;
    report->height = decoder->height;
    size_t stride = (size_t)decoder->width * 4u;
    if (rgba_length != stride * decoder->height) return CW_PNG_BAD_ARGUMENT;

    if (setjmp(png_jmpbuf(decoder->png))) {
        return cw_decoder_failure(decoder, report);
    }
    for (int pass = 0; pass < decoder->passes; pass++) {
        for (uint32_t y = 0; y < decoder->height; y++) {
            png_read_row(decoder->png, rgba + (size_t)y * stride, NULL);
        }
    }
    /* Reading to IEND catches truncation and CRC errors after the last IDAT; bytes after IEND are ignored. */
    png_read_end(decoder->png, NULL);
    return CW_PNG_OK;
}

static void cw_write_to_memory(png_structp png, png_bytep bytes, size_t count) {
    cw_encoder_state *state = (cw_encoder_state *)png_get_io_ptr(png);
    if (count > state->capacity - state->length) {
        size_t capacity = state->capacity < 4096 ? 4096 : state->capacity;
        while (capacity - state->length < count) {
            if (capacity > SIZE_MAX / 2) {
                state->out_of_memory = 1;
                png_error(png, "PNG output too large");
            }
            capacity *= 2;
        }
        uint8_t *buffer = realloc(state->buffer, capacity);
        if (buffer == NULL) {
            state->out_of_memory = 1;
            png_error(png, "out of memory for PNG output");
        }
        state->buffer = buffer;
        state->capacity = capacity;
    }
    memcpy(state->buffer + state->length, bytes, count);
    state->length += count;
}

static void cw_flush_memory(png_structp png) {
    (void)png;
}

static int cw_all_opaque(const uint8_t *rgba, uint32_t width, uint32_t height, size_t stride) {
    for (uint32_t y = 0; y < height; y++) {
        const uint8_t *row = rgba + (size_t)y * stride;
        uint8_t all = 0xff;
        for (uint32_t x = 0; x < width; x++) all &= row[(size_t)x * 4u + 3u];
        if (all != 0xff) return 0;
    }
    return 1;
}

static void cw_encoder_state_destroy(cw_encoder_state *state) {
    if (state->png != NULL) png_destroy_write_struct(&state->png, &state->info);
    free(state->buffer);
    free(state);
}

cw_png_status cw_png_encode(
    const uint8_t *rgba, uint32_t width, uint32_t height, size_t stride,
    const cw_png_encode_options *options, uint8_t **out_png, size_t *out_length, cw_png_report *report) {
    cw_report_reset(report);
    *out_png = NULL;
    *out_length = 0;
    report->width = width;
    report->height = height;
    if (rgba == NULL || options == NULL || width == 0 || height == 0 || width > 0x7fffffffu
        || height > 0x7fffffffu || stride < (size_t)width * 4u || options->level < 0 || options->level > 9) {
        return CW_PNG_BAD_ARGUMENT;
    }
    int filters;
    switch (options->filter) {
    case CW_PNG_FILTER_NONE: filters = PNG_FILTER_NONE; break;
    case CW_PNG_FILTER_SUB: filters = PNG_FILTER_SUB; break;
    case CW_PNG_FILTER_UP: filters = PNG_FILTER_UP; break;
    case CW_PNG_FILTER_AVERAGE: filters = PNG_FILTER_AVG; break;
    case CW_PNG_FILTER_PAETH: filters = PNG_FILTER_PAETH; break;
    case CW_PNG_FILTER_ADAPTIVE: filters = PNG_ALL_FILTERS; break;
    default: return CW_PNG_BAD_ARGUMENT;
    }
    int strategy;
    switch (options->strategy) {
    case CW_PNG_STRATEGY_AUTO: strategy = -1; break;
    case CW_PNG_STRATEGY_DEFAULT: strategy = Z_DEFAULT_STRATEGY; break;
    case CW_PNG_STRATEGY_FILTERED: strategy = Z_FILTERED; break;
    case CW_PNG_STRATEGY_HUFFMAN_ONLY: strategy = Z_HUFFMAN_ONLY; break;
    case CW_PNG_STRATEGY_RLE: strategy = Z_RLE; break;
    default: return CW_PNG_BAD_ARGUMENT;
    }

    int opaque = options->drop_opaque_alpha && cw_all_opaque(rgba, width, height, stride);

    cw_encoder_state *state = calloc(1, sizeof(*state));
    if (state == NULL) return CW_PNG_OUT_OF_MEMORY;
    /* A first guess that avoids most reallocations for typical frames. */
    state->capacity = (size_t)width * height + 1024u;
    state->buffer = malloc(state->capacity);
    if (state->buffer == NULL) {
        free(state);
        return CW_PNG_OUT_OF_MEMORY;
    }
    state->png = png_create_write_struct(PNG_LIBPNG_VER_STRING, state, cw_encoder_error, cw_ignore_warning);
    if (state->png == NULL) {
        cw_encoder_state_destroy(state);
        return CW_PNG_OUT_OF_MEMORY;
    }
    state->info = png_create_info_struct(state->png);
    if (state->info == NULL) {
        cw_encoder_state_destroy(state);
        return CW_PNG_OUT_OF_MEMORY;
    }

    if (setjmp(png_jmpbuf(state->png))) {
        cw_png_status status = state->out_of_memory ? CW_PNG_OUT_OF_MEMORY : CW_PNG_MALFORMED;
        memcpy(report->message, state->message, sizeof(report->message));
        cw_encoder_state_destroy(state);
        return status;
    }

    png_set_write_fn(state->png, state, cw_write_to_memory, cw_flush_memory);
    png_set_IHDR(state->png, state->info, width, height, 8,
        opaque ? PNG_COLOR_TYPE_RGB : PNG_COLOR_TYPE_RGB_ALPHA,
        PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_set_compression_level(state->png, options->level);
    if (strategy >= 0) png_set_compression_strategy(state->png, strategy);
    png_set_filter(state->png, PNG_FILTER_TYPE_BASE, filters);
    if (options->idat_size > 0) png_set_compression_buffer_size(state->png, options->idat_size);

    png_write_info(state->png, state->info);
    if (opaque) png_set_filler(state->png, 0, PNG_FILLER_AFTER);
    for (uint32_t y = 0; y < height; y++) {
        png_write_row(state->png, rgba + (size_t)y * stride);
    }
    png_write_end(state->png, NULL);

    *out_png = state->buffer;
    *out_length = state->length;
    state->buffer = NULL;
    cw_encoder_state_destroy(state);
    return CW_PNG_OK;
}

void cw_png_free(void *buffer) {
    free(buffer);
}

const char *cw_png_libpng_version(void) {
    return png_get_libpng_ver(NULL);
}

const char *cw_png_zlib_version(void) {
    /* The header's version: calling zlibVersion() would need -lz, which only Swift importers autolink. */
    return ZLIB_VERSION;
}
