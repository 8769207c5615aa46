// {{model_name}}: predicts y = slope·x + intercept.
//
// `slope` and `intercept` come from `artifacts/params.json`, read once in
// `initialization`. Edit `describe` (the columns) and `predict` (the
// computation) to make it your model.
//
// The bindings, `predictor.h`/`predictor.c`, are generated from
// wit/mlops.wit by build.sh. Ownership follows them: the arguments of an
// exported function belong to it (it frees them), and everything it returns
// must be heap-allocated (the bindings free it after the call).

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "predictor.h"

#define ARTIFACT "params.json"

typedef predictor_string_t string_t;
typedef mlops_model_types_model_error_t model_error_t;
typedef mlops_model_types_column_t column_t;
typedef mlops_model_types_payload_t payload_t;
typedef mlops_model_types_field_t field_t;

// The `state` resource: what `initialization` loads and every `predict` reads.
struct exports_mlops_model_prediction_state_t {
    double slope, intercept;
};

// ---------------------------------------------------------------- helpers

// Zeroed heap memory; aborts (a trap the host reports) when there is none.
// NULL for size 0: an empty list needs no memory.
static void *alloc(size_t size) {
    if (size == 0) return NULL;
    void *block = calloc(1, size);
    if (!block) abort();
    return block;
}

// Fills `err` with a printf-formatted message; returns false so callers can
// `return fail(...)`.
__attribute__((format(printf, 3, 4)))
static bool fail(model_error_t *err, mlops_model_types_error_kind_t kind, const char *format, ...) {
    va_list args;
    va_start(args, format);
    int len = vsnprintf(NULL, 0, format, args);
    va_end(args);
    char *message = alloc((size_t)len + 1);
    va_start(args, format);
    vsnprintf(message, (size_t)len + 1, format, args);
    va_end(args);
    err->kind = kind;
    err->message = (string_t){(uint8_t *)message, (size_t)len};
    return false;
}

// Logs one line at info level to the host.
static void log_info(const char *message) {
    string_t text;
    predictor_string_set(&text, message);
    predictor_list_tuple2_string_string_t fields = {NULL, 0};
    mlops_model_logging_log(MLOPS_MODEL_LOGGING_LEVEL_INFO, &text, &fields);
}

// Reads a whole file into a NUL-terminated heap buffer (NULL and errno set
// when it cannot).
static char *read_text(const char *path) {
    FILE *file = fopen(path, "rb");
    if (!file) return NULL;
    size_t len = 0, cap = 1024, n;
    char *text = alloc(cap);
    while ((n = fread(text + len, 1, cap - len - 1, file)) > 0) {
        len += n;
        if (len + 1 == cap) {
            text = realloc(text, cap *= 2);
            if (!text) abort();
        }
    }
    text[len] = '\0';
    fclose(file);
    return text;
}

// Finds `"key": <number>` in JSON text: just enough for a flat file such as
// params.json (use a real JSON parser for anything richer).
static bool json_number(const char *text, const char *key, double *out) {
    char quoted[64];
    snprintf(quoted, sizeof quoted, "\"%s\"", key);
    const char *p = strstr(text, quoted);
    if (!p) return false;
    for (p += strlen(quoted); isspace((unsigned char)*p); p++) {}
    if (*p++ != ':') return false;
    char *end;
    *out = strtod(p, &end);
    return end != p;
}

// ------------------------------------------------------- initialization

static bool load(const string_t *folder, exports_mlops_model_prediction_state_t *state, model_error_t *err) {
    if (!folder) {
        return fail(err, MLOPS_MODEL_TYPES_ERROR_KIND_BAD_ARTIFACT,
                    "the model needs artifact `" ARTIFACT "` but has no artifact folder: "
                    "set `artifact_folder` in mlops_settings.yaml");
    }
    char path[4096];
    snprintf(path, sizeof path, "%.*s/" ARTIFACT, (int)folder->len, (const char *)folder->ptr);
    char *text = read_text(path);
    if (!text) {
        return fail(err, MLOPS_MODEL_TYPES_ERROR_KIND_BAD_ARTIFACT, "cannot read artifact `" ARTIFACT "`: %s",
                    strerror(errno));
    }
    bool found = json_number(text, "slope", &state->slope) && json_number(text, "intercept", &state->intercept);
    free(text);
    if (!found || !isfinite(state->slope) || !isfinite(state->intercept)) {
        return fail(err, MLOPS_MODEL_TYPES_ERROR_KIND_BAD_ARTIFACT,
                    ARTIFACT ": slope and intercept must be finite numbers");
    }
    char message[128];
    snprintf(message, sizeof message, "loaded " ARTIFACT " (slope %g, intercept %g)", state->slope,
             state->intercept);
    log_info(message);
    return true;
}

// Runs once per sandbox instance, before the first predict.
bool exports_mlops_model_prediction_initialization(string_t *maybe_artifact_folder,
                                                    exports_mlops_model_prediction_list_secret_t *secrets,
                                                    exports_mlops_model_prediction_own_state_t *ret,
                                                    model_error_t *err) {
    exports_mlops_model_prediction_state_t *state = alloc(sizeof *state);
    bool ok = load(maybe_artifact_folder, state, err);
    if (maybe_artifact_folder) predictor_string_free(maybe_artifact_folder);
    exports_mlops_model_prediction_list_secret_free(secrets);
    if (!ok) {
        free(state);
        return false;
    }
    *ret = exports_mlops_model_prediction_state_new(state);
    return true;
}

void exports_mlops_model_prediction_state_destructor(exports_mlops_model_prediction_state_t *state) {
    free(state);
}

// -------------------------------------------------------------- predict

// Whether row `row` of a column holds a value (validity bitmap: bit row % 8
// of byte row / 8; no bitmap means every row is present).
static bool row_valid(const column_t *column, size_t row) {
    if (!column->validity.is_some) return true;
    const predictor_list_u8_t *bits = &column->validity.val;
    return row / 8 < bits->len && (bits->ptr[row / 8] >> (row % 8) & 1);
}

static bool predict_frame(const exports_mlops_model_prediction_state_t *state, const payload_t *data,
                          payload_t *ret, model_error_t *err) {
    // The host has checked the request against `describe`: a frame with an
    // f64 column `x` (which may have missing rows).
    const column_t *x = NULL;
    for (size_t i = 0; data->tag == MLOPS_MODEL_TYPES_PAYLOAD_FRAME && i < data->val.frame.columns.len; i++) {
        const column_t *c = &data->val.frame.columns.ptr[i];
        if (c->name.len == 1 && c->name.ptr[0] == 'x') x = c;
    }
    if (!x || x->data.tag != MLOPS_MODEL_TYPES_COLUMN_DATA_F64) {
        return fail(err, MLOPS_MODEL_TYPES_ERROR_KIND_BAD_INPUT, "send an f64 column `x`");
    }
    size_t rows = x->data.val.f64.len;
    const double *xs = x->data.val.f64.ptr;
    double *y = alloc(rows * sizeof *y);
    for (size_t row = 0; row < rows; row++) {
        if (!row_valid(x, row)) continue;  // a missing input gives a missing output (y stays 0)
        if (!isfinite(xs[row])) {
            free(y);
            // bad-input: the caller sent something wrong and can fix it.
            return fail(err, MLOPS_MODEL_TYPES_ERROR_KIND_BAD_INPUT, "row %zu: x must be a finite number", row);
        }
        y[row] = state->slope * xs[row] + state->intercept;
    }

    // The output frame: one column `y`, with x's validity bitmap (copied:
    // the input is freed after this).
    column_t *out = alloc(sizeof *out);
    predictor_string_dup(&out->name, "y");
    out->data.tag = MLOPS_MODEL_TYPES_COLUMN_DATA_F64;
    out->data.val.f64 = (predictor_list_f64_t){y, rows};
    if (x->validity.is_some) {
        size_t len = x->validity.val.len;
        uint8_t *bits = alloc(len);
        if (len) memcpy(bits, x->validity.val.ptr, len);
        out->validity = (predictor_option_list_u8_t){true, {bits, len}};
    }
    ret->tag = MLOPS_MODEL_TYPES_PAYLOAD_FRAME;
    ret->val.frame.columns = (mlops_model_types_list_column_t){out, 1};
    return true;
}

bool exports_mlops_model_prediction_predict(payload_t *data, exports_mlops_model_prediction_borrow_state_t state,
                                             exports_mlops_model_prediction_list_secret_t *secrets, payload_t *ret,
                                             model_error_t *err) {
    bool ok = predict_frame(state, data, ret, err);
    mlops_model_types_payload_free(data);
    exports_mlops_model_prediction_list_secret_free(secrets);
    return ok;
}

// ------------------------------------------------------------- describe

// A required f64 column whose rows may be missing.
static field_t f64_field(const char *name, const char *description) {
    field_t field = {.type = MLOPS_MODEL_TYPES_DATA_TYPE_F64, .required = true, .nullable = true};
    predictor_string_dup(&field.name, name);
    predictor_string_dup(&field.description, description);
    return field;
}

// The columns the model reads and writes: the host checks requests against
// them and reports them in the service's metadata.
void exports_mlops_model_prediction_describe(exports_mlops_model_prediction_signature_t *ret) {
    field_t *inputs = alloc(sizeof *inputs);
    inputs[0] = f64_field("x", "the input value");
    field_t *outputs = alloc(sizeof *outputs);
    outputs[0] = f64_field("y", "slope·x + intercept");
    ret->inputs.tag = MLOPS_MODEL_TYPES_SCHEMA_FRAME;
    ret->inputs.val.frame = (mlops_model_types_list_field_t){inputs, 1};
    ret->outputs.tag = MLOPS_MODEL_TYPES_SCHEMA_FRAME;
    ret->outputs.val.frame = (mlops_model_types_list_field_t){outputs, 1};
}
