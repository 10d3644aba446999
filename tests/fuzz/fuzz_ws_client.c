/* fuzz_ws_client.c - the client side of the RFC 6455 opening handshake
 * (ws_client.c): judging the server's answer to our upgrade request.
 *
 * Input: three configuration bytes, then the server's response.
 *   byte 0  bit 0: key from the RFC 6455 sample nonce ("the sample nonce",
 *           key dGhlIHNhbXBsZSBub25jZQ==) or else byte 1 repeated;
 *           bits 1-2: subprotocols offered (none, chat, chat+superchat,
 *           superchat); bit 3: permessage-deflate offered; bit 4: with
 *           no_context_takeover
 *   byte 1  nonce byte (when bit 0 is clear)
 *   byte 2  unused (chunking is the response parser's business)
 *
 * The response is parsed with http_parse_response, then checked.  Nothing
 * may crash.  A response accepted is a 101 with Upgrade: websocket,
 * Connection: upgrade, exactly one Sec-WebSocket-Accept that is
 * base64(SHA-1(key + GUID)) computed here independently, a subprotocol we
 * offered (or none), and extensions only if we offered deflate.  Any other
 * status is REFUSED, never INVALID or OK.
 */
#include "fuzz_common.h"

#include <openssl/evp.h>
#include <strings.h>

#include "core/ws_client.h"

static void expected_accept(const char *key, char out[29])
{
    static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;
    char in[WS_CLIENT_KEY_LEN + sizeof guid];
    size_t kl = strlen(key);
    FUZZ_CHECK(kl == WS_CLIENT_KEY_LEN);
    memcpy(in, key, kl);
    memcpy(in + kl, guid, sizeof guid - 1);
    FUZZ_CHECK(EVP_Digest(in, kl + sizeof guid - 1, md, &mdlen, EVP_sha1(), NULL) == 1);
    FUZZ_CHECK(mdlen == 20);
    FUZZ_CHECK(EVP_EncodeBlock((unsigned char *)out, md, 20) == 28);
}

static size_t count_headers(const struct http_response *res, const char *name)
{
    size_t c = 0;
    for (size_t i = 0; i < res->num_headers; i++)
        if (res->headers[i].name_len == strlen(name) &&
            strncasecmp(res->headers[i].name, name, res->headers[i].name_len) == 0)
            c++;
    return c;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_input in = { data, size };
    uint8_t b0 = fuzz_byte(&in), b1 = fuzz_byte(&in);
    (void)fuzz_byte(&in);

    static const char *const offers[4][2] = {
        { NULL, NULL }, { "chat", NULL }, { "chat", "superchat" }, { "superchat", NULL }
    };
    static const size_t noffers[4] = { 0, 1, 2, 1 };
    struct ws_deflate_config deflate = { (b0 >> 3) & 1, (b0 >> 4) & 1 };
    struct ws_client_request rq;
    memset(&rq, 0, sizeof rq);
    rq.host = "example.com";
    rq.target = "/chat";
    rq.origin = "http://example.com";
    rq.protocols = offers[(b0 >> 1) & 3];
    rq.nprotocols = noffers[(b0 >> 1) & 3];
    rq.deflate = (b0 & 8) ? &deflate : NULL;

    uint8_t nonce[16];
    if (b0 & 1)
        memcpy(nonce, "the sample nonce", 16);
    else
        memset(nonce, b1, 16);
    ws_client_key(&rq, nonce);
    FUZZ_CHECK(strlen(rq.key) == WS_CLIENT_KEY_LEN);
    if (b0 & 1)
        FUZZ_CHECK(strcmp(rq.key, "dGhlIHNhbXBsZSBub25jZQ==") == 0);

    char req[2048];
    size_t rlen = ws_client_build_request(&rq, req, sizeof req);
    FUZZ_CHECK(rlen > 0 && rlen < sizeof req);
    FUZZ_CHECK(strstr(req, rq.key) != NULL);

    struct http_response res;
    int rc = http_parse_response((const char *)in.p, in.n, 8192, &res);
    if (rc <= 0)
        return 0;

    struct ws_client_result out;
    memset(&out, 0x5a, sizeof out);
    int cr = ws_client_check_response(&rq, &res, &out);
    FUZZ_CHECK(cr == WS_CLIENT_OK || cr == WS_CLIENT_REFUSED || cr == WS_CLIENT_INVALID);
    FUZZ_CHECK(memchr(out.protocol, '\0', sizeof out.protocol) != NULL);
    FUZZ_CHECK(memchr(out.extensions, '\0', sizeof out.extensions) != NULL);
    if (res.status != 101)
        FUZZ_CHECK(cr == WS_CLIENT_REFUSED);
    if (cr != WS_CLIENT_OK) {
        FUZZ_CHECK(out.error != NULL && out.error[0] != '\0');
        return 0;
    }

    FUZZ_CHECK(out.error == NULL);
    FUZZ_CHECK(res.status == 101);
    FUZZ_CHECK(http_response_header(&res, "Upgrade") != NULL);
    FUZZ_CHECK(http_response_header(&res, "Connection") != NULL);
    char want[29];
    expected_accept(rq.key, want);
    FUZZ_CHECK(count_headers(&res, "Sec-WebSocket-Accept") == 1);
    const struct http_header *acc = http_response_header(&res, "Sec-WebSocket-Accept");
    FUZZ_CHECK(acc && acc->value_len == 28 && memcmp(acc->value, want, 28) == 0);

    if (out.protocol[0]) {
        size_t i;
        for (i = 0; i < rq.nprotocols; i++)
            if (strcmp(out.protocol, rq.protocols[i]) == 0)
                break;
        FUZZ_CHECK(i < rq.nprotocols);
    } else {
        /* None chosen: no header, or an empty one. */
        const struct http_header *p = http_response_header(&res, "Sec-WebSocket-Protocol");
        FUZZ_CHECK(p == NULL || count_headers(&res, "Sec-WebSocket-Protocol") == 1);
        if (p)
            FUZZ_CHECK(p->value_len == 0);
    }
    if (out.deflate)
        FUZZ_CHECK(rq.deflate && rq.deflate->enabled && out.extensions[0] != '\0');
    return 0;
}
