/*
 * AES-256-GCM for the overlay's packet path, with a cipher context kept per key.
 *
 * Why this exists: node:crypto's createCipheriv builds a new OpenSSL context, looks the cipher up
 * by name and expands the key for every packet, and every update()/final()/getAuthTag() call
 * allocates a new Buffer. At 1,200-byte packets that fixed cost (~4-5 us) is several times the
 * encryption itself and kept the overlay below 60 % of a raw UDP blast. Here the key schedule is
 * computed once per tunnel key and a packet is sealed into a buffer the caller already holds
 * (header, ciphertext and tag in one frame) with a single call.
 *
 * The OpenSSL used is the one inside the Node process (Node exports its bundled OpenSSL's symbols
 * for addons), so there is no second crypto library and no OpenSSL headers are needed: the few
 * EVP functions below are declared by hand; they have had these signatures since OpenSSL 1.1.0.
 * Where those symbols are missing (Electron ships BoringSSL with hidden symbols) this file fails
 * to load and the overlay falls back to node:crypto: see core/overlay/aes-gcm.ts.
 *
 * Nothing here decides anything about keys or nonces: the caller (keypair.ts) owns the 64-bit
 * counter that makes every nonce unique. This file only refuses malformed arguments.
 */
#define NAPI_VERSION 8
#include <node_api.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct evp_cipher_st EVP_CIPHER;
typedef struct evp_cipher_ctx_st EVP_CIPHER_CTX;
typedef struct engine_st ENGINE;

extern const EVP_CIPHER *EVP_aes_256_gcm(void);
extern EVP_CIPHER_CTX *EVP_CIPHER_CTX_new(void);
extern void EVP_CIPHER_CTX_free(EVP_CIPHER_CTX *ctx);
extern int EVP_CipherInit_ex(EVP_CIPHER_CTX *ctx, const EVP_CIPHER *cipher, ENGINE *engine,
                             const unsigned char *key, const unsigned char *iv, int enc);
extern int EVP_CipherUpdate(EVP_CIPHER_CTX *ctx, unsigned char *out, int *outl,
                            const unsigned char *in, int inl);
extern int EVP_CipherFinal_ex(EVP_CIPHER_CTX *ctx, unsigned char *out, int *outl);
extern int EVP_CIPHER_CTX_ctrl(EVP_CIPHER_CTX *ctx, int type, int arg, void *ptr);
extern void OPENSSL_cleanse(void *ptr, size_t len);

/* EVP_CTRL_AEAD_GET_TAG / EVP_CTRL_AEAD_SET_TAG from openssl/evp.h. */
#define CTRL_AEAD_GET_TAG 0x10
#define CTRL_AEAD_SET_TAG 0x11

#define KEY_SIZE 32
#define NONCE_SIZE 12
#define TAG_SIZE 16
/* Bounds an overlay frame can never exceed (UDP payload), so int lengths cannot overflow. */
#define MAX_FRAME 65535
#define MAX_PIECES 4

typedef struct {
  EVP_CIPHER_CTX *ctx;
  int encrypt;
} gcm_context;

/* Tags the external so a context cannot be confused with any other external value. */
static const napi_type_tag CONTEXT_TAG = {0x5357524d41455347ULL, 0x434d434f4e544558ULL};

static napi_value throw_error(napi_env env, const char *code, const char *message) {
  napi_throw_error(env, code, message);
  return NULL;
}

static void finalize_context(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  gcm_context *c = (gcm_context *)data;
  if (c == NULL) return;
  /* EVP_CIPHER_CTX_free clears the expanded key before it frees it. */
  EVP_CIPHER_CTX_free(c->ctx);
  free(c);
}

/* Bytes of a Uint8Array (a Buffer is one). */
static int get_bytes(napi_env env, napi_value value, uint8_t **data, size_t *length) {
  bool is_typedarray = false;
  if (napi_is_typedarray(env, value, &is_typedarray) != napi_ok || !is_typedarray) return 0;
  napi_typedarray_type type;
  void *base = NULL;
  napi_value arraybuffer;
  size_t offset = 0;
  if (napi_get_typedarray_info(env, value, &type, length, &base, &arraybuffer, &offset) != napi_ok) return 0;
  if (type != napi_uint8_array) return 0;
  /* base already points at the view's first byte. */
  *data = (uint8_t *)base;
  if (*data == NULL && *length != 0) return 0;
  return 1;
}

static gcm_context *get_context(napi_env env, napi_value value) {
  bool tagged = false;
  if (napi_check_object_type_tag(env, value, &CONTEXT_TAG, &tagged) != napi_ok || !tagged) return NULL;
  void *data = NULL;
  if (napi_get_value_external(env, value, &data) != napi_ok) return NULL;
  return (gcm_context *)data;
}

/* create(key: Uint8Array(32), encrypt: boolean) -> context */
static napi_value create_context(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 2)
    return throw_error(env, "ERR_AES_GCM_ARGS", "create(key, encrypt) takes two arguments");
  uint8_t *key = NULL;
  size_t key_length = 0;
  if (!get_bytes(env, argv[0], &key, &key_length) || key_length != KEY_SIZE)
    return throw_error(env, "ERR_AES_GCM_KEY", "the key must be a 32-byte Uint8Array");
  bool encrypt = false;
  if (napi_get_value_bool(env, argv[1], &encrypt) != napi_ok)
    return throw_error(env, "ERR_AES_GCM_ARGS", "encrypt must be a boolean");

  gcm_context *c = (gcm_context *)calloc(1, sizeof(gcm_context));
  if (c == NULL) return throw_error(env, "ERR_AES_GCM_MEMORY", "out of memory");
  c->encrypt = encrypt ? 1 : 0;
  c->ctx = EVP_CIPHER_CTX_new();
  /* The key schedule is computed here, once; each packet only sets a new IV. */
  if (c->ctx == NULL || EVP_CipherInit_ex(c->ctx, EVP_aes_256_gcm(), NULL, key, NULL, c->encrypt) != 1) {
    finalize_context(env, c, NULL);
    return throw_error(env, "ERR_AES_GCM_INIT", "OpenSSL could not set up AES-256-GCM");
  }
  napi_value external;
  if (napi_create_external(env, c, finalize_context, NULL, &external) != napi_ok) {
    finalize_context(env, c, NULL);
    return throw_error(env, "ERR_AES_GCM_MEMORY", "could not wrap the context");
  }
  if (napi_type_tag_object(env, external, &CONTEXT_TAG) != napi_ok)
    return throw_error(env, "ERR_AES_GCM_MEMORY", "could not tag the context");
  return external;
}

/*
 * seal(context, frame, aadLength, nonce, ...pieces) -> undefined
 * frame = [aad (aadLength bytes, already written)] [room for the ciphertext of the pieces] [room for the tag]
 * The pieces are encrypted one after another into the frame, then the tag is written at its end.
 */
static napi_value seal(napi_env env, napi_callback_info info) {
  size_t argc = 4 + MAX_PIECES;
  napi_value argv[4 + MAX_PIECES];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 4 || argc > 4 + MAX_PIECES)
    return throw_error(env, "ERR_AES_GCM_ARGS", "seal(context, frame, aadLength, nonce, ...pieces) takes 1 to 4 pieces");
  gcm_context *c = get_context(env, argv[0]);
  if (c == NULL || !c->encrypt) return throw_error(env, "ERR_AES_GCM_CONTEXT", "not a sealing context");
  uint8_t *frame = NULL, *nonce = NULL;
  size_t frame_length = 0, nonce_length = 0;
  uint32_t aad_length = 0;
  if (!get_bytes(env, argv[1], &frame, &frame_length) || frame_length > MAX_FRAME)
    return throw_error(env, "ERR_AES_GCM_ARGS", "frame must be a Uint8Array of at most 65535 bytes");
  if (napi_get_value_uint32(env, argv[2], &aad_length) != napi_ok)
    return throw_error(env, "ERR_AES_GCM_ARGS", "aadLength must be a number");
  if (!get_bytes(env, argv[3], &nonce, &nonce_length) || nonce_length != NONCE_SIZE)
    return throw_error(env, "ERR_AES_GCM_ARGS", "nonce must be a 12-byte Uint8Array");

  uint8_t *pieces[MAX_PIECES];
  size_t lengths[MAX_PIECES];
  size_t total = aad_length;
  size_t count = argc - 4;
  for (size_t i = 0; i < count; i++) {
    if (!get_bytes(env, argv[4 + i], &pieces[i], &lengths[i]) || lengths[i] > MAX_FRAME)
      return throw_error(env, "ERR_AES_GCM_ARGS", "each piece must be a Uint8Array");
    total += lengths[i];
  }
  if (total + TAG_SIZE != frame_length)
    return throw_error(env, "ERR_AES_GCM_ARGS", "frame length must be aadLength + the pieces' lengths + 16");

  int n = 0;
  size_t at = aad_length;
  if (EVP_CipherInit_ex(c->ctx, NULL, NULL, NULL, nonce, 1) != 1 ||
      (aad_length > 0 && EVP_CipherUpdate(c->ctx, NULL, &n, frame, (int)aad_length) != 1))
    return throw_error(env, "ERR_AES_GCM_SEAL", "OpenSSL refused the nonce or associated data");
  for (size_t i = 0; i < count; i++) {
    if (lengths[i] == 0) continue;
    /* A piece must not overlap the frame region it is written to (GCM allows in == out only exactly). */
    if (EVP_CipherUpdate(c->ctx, frame + at, &n, pieces[i], (int)lengths[i]) != 1)
      return throw_error(env, "ERR_AES_GCM_SEAL", "OpenSSL could not encrypt");
    at += (size_t)n;
  }
  if (EVP_CipherFinal_ex(c->ctx, frame + at, &n) != 1)
    return throw_error(env, "ERR_AES_GCM_SEAL", "OpenSSL could not finish the encryption");
  at += (size_t)n;
  if (at + TAG_SIZE != frame_length || EVP_CIPHER_CTX_ctrl(c->ctx, CTRL_AEAD_GET_TAG, TAG_SIZE, frame + at) != 1)
    return throw_error(env, "ERR_AES_GCM_SEAL", "OpenSSL could not produce the tag");
  return NULL;
}

/*
 * open(context, frame, aadLength, nonce, out) -> boolean
 * frame = [aad] [ciphertext] [tag]; out receives the plaintext (frame length - aadLength - 16 bytes).
 * Returns false, with out zeroed, when the tag does not verify (OpenSSL compares it in constant time).
 */
static napi_value open_frame(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  napi_value result;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 5)
    return throw_error(env, "ERR_AES_GCM_ARGS", "open(context, frame, aadLength, nonce, out) takes five arguments");
  gcm_context *c = get_context(env, argv[0]);
  if (c == NULL || c->encrypt) return throw_error(env, "ERR_AES_GCM_CONTEXT", "not an opening context");
  uint8_t *frame = NULL, *nonce = NULL, *out = NULL;
  size_t frame_length = 0, nonce_length = 0, out_length = 0;
  uint32_t aad_length = 0;
  if (!get_bytes(env, argv[1], &frame, &frame_length) || frame_length > MAX_FRAME)
    return throw_error(env, "ERR_AES_GCM_ARGS", "frame must be a Uint8Array of at most 65535 bytes");
  if (napi_get_value_uint32(env, argv[2], &aad_length) != napi_ok)
    return throw_error(env, "ERR_AES_GCM_ARGS", "aadLength must be a number");
  if (!get_bytes(env, argv[3], &nonce, &nonce_length) || nonce_length != NONCE_SIZE)
    return throw_error(env, "ERR_AES_GCM_ARGS", "nonce must be a 12-byte Uint8Array");
  if (!get_bytes(env, argv[4], &out, &out_length))
    return throw_error(env, "ERR_AES_GCM_ARGS", "out must be a Uint8Array");
  if ((size_t)aad_length + TAG_SIZE > frame_length || out_length != frame_length - aad_length - TAG_SIZE)
    return throw_error(env, "ERR_AES_GCM_ARGS", "out length must be the frame length - aadLength - 16");

  int n = 0;
  unsigned char final_block[TAG_SIZE]; /* GCM's final writes nothing; never point past the caller's buffer */
  int ok = EVP_CipherInit_ex(c->ctx, NULL, NULL, NULL, nonce, 0) == 1 &&
           (aad_length == 0 || EVP_CipherUpdate(c->ctx, NULL, &n, frame, (int)aad_length) == 1) &&
           (out_length == 0 || EVP_CipherUpdate(c->ctx, out, &n, frame + aad_length, (int)out_length) == 1) &&
           EVP_CIPHER_CTX_ctrl(c->ctx, CTRL_AEAD_SET_TAG, TAG_SIZE, frame + frame_length - TAG_SIZE) == 1 &&
           EVP_CipherFinal_ex(c->ctx, final_block, &n) == 1 && n == 0;
  /* Never hand back plaintext that did not authenticate. */
  if (!ok && out_length > 0) OPENSSL_cleanse(out, out_length);
  napi_get_boolean(env, ok ? true : false, &result);
  return result;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor properties[] = {
      {"create", NULL, create_context, NULL, NULL, NULL, napi_enumerable, NULL},
      {"seal", NULL, seal, NULL, NULL, NULL, napi_enumerable, NULL},
      {"open", NULL, open_frame, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  if (napi_define_properties(env, exports, sizeof(properties) / sizeof(properties[0]), properties) != napi_ok) return NULL;
  return exports;
}

NAPI_MODULE(aes_gcm, init)
