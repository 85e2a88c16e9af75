#ifndef CTLS_SHIM_H
#define CTLS_SHIM_H
// OpenSSL 3 (libssl-dev) for ConnDiagTLS. Only what Swift cannot reach directly lives
// here: macros (SSL_set_tlsext_host_name, SSL_CTX_set_mode, BIO_get_mem_data, the
// sk_*/ERR_GET_* helpers), the union inside GENERAL_NAME, and C callbacks.
//
// No file-scope mutable state: a header's statics are compiled into every object file
// of the importing Swift module that uses them, so a "global" here would silently exist
// more than once. Per-connection state hangs off the OpenSSL objects instead.
#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/asn1.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

// MARK: - Socket BIO
// A source/sink BIO over the caller's non-blocking TCP socket. It sends with
// MSG_NOSIGNAL (a peer that resets mid-write must not kill the process with SIGPIPE),
// keeps the errno of the last failed send/recv, and remembers the first bytes the peer
// sent, so that "not a TLS server" can say what the server did send.

typedef struct {
    int fd;
    int lastErrno;             // errno of the last failed send()/recv(); 0 when none
    int peerClosed;            // recv() returned 0
    unsigned long long bytesIn;
    unsigned long long bytesOut;
    int headLength;
    unsigned char head[32];    // the first bytes received from the peer
    int fatalAlertSent;        // description + 1 of the fatal alert this side sent; 0 when none
    int fatalAlertReceived;    // description + 1 of the fatal alert the peer sent; 0 when none
} CTLS_SocketState;

static inline int CTLS_socketBIOWrite(BIO *bio, const char *data, int length) {
    CTLS_SocketState *state = (CTLS_SocketState *)BIO_get_data(bio);
    BIO_clear_retry_flags(bio);
    if (state == NULL || length < 0) return -1;
    for (;;) {
        ssize_t n = send(state->fd, data, (size_t)length, MSG_NOSIGNAL);
        if (n >= 0) {
            state->bytesOut += (unsigned long long)n;
            return (int)n;
        }
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            BIO_set_retry_write(bio);
        } else {
            state->lastErrno = errno;
        }
        return -1;
    }
}

static inline int CTLS_socketBIORead(BIO *bio, char *out, int length) {
    CTLS_SocketState *state = (CTLS_SocketState *)BIO_get_data(bio);
    BIO_clear_retry_flags(bio);
    if (state == NULL || out == NULL || length <= 0) return 0;
    for (;;) {
        ssize_t n = recv(state->fd, out, (size_t)length, 0);
        if (n > 0) {
            int room = (int)sizeof(state->head) - state->headLength;
            int copy = (int)n < room ? (int)n : room;
            if (copy > 0) {
                memcpy(state->head + state->headLength, out, (size_t)copy);
                state->headLength += copy;
            }
            state->bytesIn += (unsigned long long)n;
            return (int)n;
        }
        if (n == 0) {
            state->peerClosed = 1;
            return 0;
        }
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            BIO_set_retry_read(bio);
        } else {
            state->lastErrno = errno;
        }
        return -1;
    }
}

static inline int CTLS_socketBIOPuts(BIO *bio, const char *text) {
    return CTLS_socketBIOWrite(bio, text, (int)strlen(text));
}

static inline long CTLS_socketBIOCtrl(BIO *bio, int command, long number, void *pointer) {
    (void)number;
    CTLS_SocketState *state = (CTLS_SocketState *)BIO_get_data(bio);
    switch (command) {
    case BIO_CTRL_FLUSH:
        return 1;
    case BIO_C_GET_FD:
        if (state == NULL) return -1;
        if (pointer != NULL) *(int *)pointer = state->fd;
        return state->fd;
    case BIO_CTRL_EOF:
        return state != NULL && state->peerClosed;
    default:
        return 0;
    }
}

static inline int CTLS_socketBIODestroy(BIO *bio) {
    free(BIO_get_data(bio));
    BIO_set_data(bio, NULL);
    BIO_set_init(bio, 0);
    return 1;
}

/// A new BIO_METHOD for socket BIOs; the caller frees it with BIO_meth_free after every
/// SSL using it is freed.
static inline BIO_METHOD *CTLS_newSocketBIOMethod(void) {
    BIO_METHOD *method = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "conndiag socket");
    if (method == NULL) return NULL;
    if (!BIO_meth_set_write(method, CTLS_socketBIOWrite) || !BIO_meth_set_read(method, CTLS_socketBIORead)
        || !BIO_meth_set_puts(method, CTLS_socketBIOPuts) || !BIO_meth_set_ctrl(method, CTLS_socketBIOCtrl)
        || !BIO_meth_set_destroy(method, CTLS_socketBIODestroy)) {
        BIO_meth_free(method);
        return NULL;
    }
    return method;
}

/// Connects `ssl` to `fd` through a socket BIO of `method`. The fd is never closed here.
static inline int CTLS_attachSocket(SSL *ssl, BIO_METHOD *method, int fd) {
    CTLS_SocketState *state = (CTLS_SocketState *)calloc(1, sizeof(CTLS_SocketState));
    if (state == NULL) return 0;
    state->fd = fd;
    BIO *bio = BIO_new(method);
    if (bio == NULL) {
        free(state);
        return 0;
    }
    BIO_set_data(bio, state);
    BIO_set_init(bio, 1);
    SSL_set_bio(ssl, bio, bio);   // one reference, used for both directions
    return 1;
}

static inline CTLS_SocketState *CTLS_socketState(const SSL *ssl) {
    BIO *bio = SSL_get_rbio(ssl);
    return bio == NULL ? NULL : (CTLS_SocketState *)BIO_get_data(bio);
}

/// Records fatal alerts in either direction in the socket state: OpenSSL's error queue
/// names an alert it received, but not the one it sent (bad_record_mac on a damaged record).
static inline void CTLS_alertCallback(const SSL *ssl, int where, int value) {
    if (!(where & SSL_CB_ALERT) || (value >> 8) != SSL3_AL_FATAL) return;
    CTLS_SocketState *state = CTLS_socketState(ssl);
    if (state == NULL) return;
    if (where & SSL_CB_WRITE) {
        if (state->fatalAlertSent == 0) state->fatalAlertSent = (value & 0xff) + 1;
    } else if (state->fatalAlertReceived == 0) {
        state->fatalAlertReceived = (value & 0xff) + 1;
    }
}

static inline void CTLS_recordFatalAlerts(SSL *ssl) {
    SSL_set_info_callback(ssl, CTLS_alertCallback);
}

/// Fills the rest of `head` with bytes still waiting in the socket, without consuming
/// them (OpenSSL reads a record header first, so a failed handshake has seen 5 bytes).
static inline void CTLS_peekHead(const SSL *ssl) {
    CTLS_SocketState *state = CTLS_socketState(ssl);
    if (state == NULL || state->headLength >= (int)sizeof(state->head)) return;
    if ((unsigned long long)state->headLength != state->bytesIn) return;   // head is not contiguous
    unsigned char more[sizeof(state->head)];
    size_t room = sizeof(state->head) - (size_t)state->headLength;
    ssize_t n;
    do {
        n = recv(state->fd, more, room, MSG_PEEK | MSG_DONTWAIT);
    } while (n < 0 && errno == EINTR);
    if (n <= 0) return;
    memcpy(state->head + state->headLength, more, (size_t)n);
    state->headLength += (int)n;
}

// MARK: - Context and connection set-up (macros in OpenSSL)

static inline void CTLS_setNonBlockingModes(SSL_CTX *context) {
    // Partial writes: write() reports what went out. Moving buffer: a retried write may
    // come from a different address holding the same bytes (Swift arrays move).
    SSL_CTX_set_mode(context, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
}

static inline int CTLS_setServerNameIndication(SSL *ssl, const char *name) {
    return (int)SSL_set_tlsext_host_name(ssl, name);
}

// MARK: - Key log (SSLKEYLOGFILE, NSS format)

static inline void CTLS_keyLogCallback(const SSL *ssl, const char *line) {
    const char *path = (const char *)SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl));
    if (path == NULL || line == NULL) return;
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return;
    struct iovec parts[2] = {
        { .iov_base = (void *)line, .iov_len = strlen(line) },
        { .iov_base = (void *)"\n", .iov_len = 1 },
    };
    ssize_t ignored = writev(fd, parts, 2);   // one append: lines from concurrent clients never interleave
    (void)ignored;
    close(fd);
}

/// Appends every secret of connections made from `context` to `path`. `path` must stay
/// valid (and unchanged) for the context's lifetime; the caller owns it.
static inline void CTLS_enableKeyLog(SSL_CTX *context, const char *path) {
    SSL_CTX_set_app_data(context, (void *)path);
    SSL_CTX_set_keylog_callback(context, CTLS_keyLogCallback);
}

// MARK: - Errors

static inline int CTLS_errorLibrary(unsigned long error) { return ERR_GET_LIB(error); }
static inline int CTLS_errorReason(unsigned long error) { return ERR_GET_REASON(error); }

// MARK: - Peer certificates

static inline int CTLS_peerChainLength(const SSL *ssl) {
    STACK_OF(X509) *chain = SSL_get_peer_cert_chain(ssl);
    return chain == NULL ? 0 : sk_X509_num(chain);
}

/// Certificate `index` of the chain the server sent (0 = its own), owned by the session.
/// Available even when verification failed, unlike SSL_get0_peer_certificate.
static inline X509 *CTLS_peerChainCertificate(const SSL *ssl, int index) {
    STACK_OF(X509) *chain = SSL_get_peer_cert_chain(ssl);
    if (chain == NULL || index < 0 || index >= sk_X509_num(chain)) return NULL;
    return sk_X509_value(chain, index);
}

/// A malloc'd NUL-terminated copy of what `bio` (a memory BIO) holds; frees the BIO.
static inline char *CTLS_takeMemoryBIO(BIO *bio) {
    char *data = NULL;
    long length = BIO_get_mem_data(bio, &data);
    if (length < 0) length = 0;
    char *copy = (char *)malloc((size_t)length + 1);
    if (copy != NULL) {
        if (length > 0) memcpy(copy, data, (size_t)length);
        copy[length] = 0;
    }
    BIO_free(bio);
    return copy;
}

/// Subject or issuer as RFC 2253 text ("CN=localhost,O=Example"), UTF-8 kept as is.
/// malloc'd; the caller frees.
static inline char *CTLS_copyName(const X509_NAME *name) {
    BIO *bio = BIO_new(BIO_s_mem());
    if (bio == NULL) return NULL;
    if (name != NULL) X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
    return CTLS_takeMemoryBIO(bio);
}

static inline void CTLS_appendSanitised(BIO *bio, const unsigned char *bytes, int length) {
    for (int i = 0; i < length; i++) {
        unsigned char c = bytes[i];
        char out = (c < 0x20 || c == 0x7f) ? '?' : (char)c;   // a name must not break the line format
        BIO_write(bio, &out, 1);
    }
}

/// Subject alternative names, one per line: "DNS:name", "IP:address", "email:...",
/// "URI:...", "other:<type>". malloc'd (empty when the extension is absent).
static inline char *CTLS_copySubjectAltNames(X509 *certificate) {
    BIO *bio = BIO_new(BIO_s_mem());
    if (bio == NULL) return NULL;
    GENERAL_NAMES *names = (GENERAL_NAMES *)X509_get_ext_d2i(certificate, NID_subject_alt_name, NULL, NULL);
    int count = names == NULL ? 0 : sk_GENERAL_NAME_num(names);
    for (int i = 0; i < count; i++) {
        const GENERAL_NAME *name = sk_GENERAL_NAME_value(names, i);
        if (i > 0) BIO_write(bio, "\n", 1);
        switch (name->type) {
        case GEN_DNS:
            BIO_puts(bio, "DNS:");
            CTLS_appendSanitised(bio, ASN1_STRING_get0_data(name->d.dNSName), ASN1_STRING_length(name->d.dNSName));
            break;
        case GEN_EMAIL:
            BIO_puts(bio, "email:");
            CTLS_appendSanitised(bio, ASN1_STRING_get0_data(name->d.rfc822Name), ASN1_STRING_length(name->d.rfc822Name));
            break;
        case GEN_URI:
            BIO_puts(bio, "URI:");
            CTLS_appendSanitised(bio, ASN1_STRING_get0_data(name->d.uniformResourceIdentifier),
                                 ASN1_STRING_length(name->d.uniformResourceIdentifier));
            break;
        case GEN_IPADD: {
            const unsigned char *bytes = ASN1_STRING_get0_data(name->d.iPAddress);
            int length = ASN1_STRING_length(name->d.iPAddress);
            char text[INET6_ADDRSTRLEN] = "?";
            if (length == 4) inet_ntop(AF_INET, bytes, text, sizeof text);
            else if (length == 16) inet_ntop(AF_INET6, bytes, text, sizeof text);
            BIO_puts(bio, "IP:");
            BIO_puts(bio, text);
            break;
        }
        default:
            BIO_printf(bio, "other:%d", name->type);
        }
    }
    GENERAL_NAMES_free(names);
    return CTLS_takeMemoryBIO(bio);
}

/// The serial number in upper-case hex ("1A2B"); malloc'd.
static inline char *CTLS_copySerialHex(const X509 *certificate) {
    BIGNUM *number = ASN1_INTEGER_to_BN(X509_get0_serialNumber(certificate), NULL);
    if (number == NULL) return NULL;
    char *hex = BN_bn2hex(number);
    BN_free(number);
    if (hex == NULL) return NULL;
    char *copy = strdup(hex);
    OPENSSL_free(hex);
    return copy;
}

/// An ASN1_TIME as seconds since the epoch (UTC). Returns 0 when the time does not parse.
static inline int CTLS_timeToUnix(const ASN1_TIME *time, long long *seconds) {
    struct tm parts;
    memset(&parts, 0, sizeof parts);
    if (time == NULL || !ASN1_TIME_to_tm(time, &parts)) return 0;
    // Days from the civil date (H. Hinnant's algorithm): no timegm, no TZ involved.
    long long year = (long long)parts.tm_year + 1900;
    long long month = (long long)parts.tm_mon + 1;
    year -= month <= 2;
    long long era = (year >= 0 ? year : year - 399) / 400;
    long long yearOfEra = year - era * 400;
    long long dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + parts.tm_mday - 1;
    long long dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear;
    long long days = era * 146097 + dayOfEra - 719468;
    *seconds = days * 86400 + parts.tm_hour * 3600 + parts.tm_min * 60 + parts.tm_sec;
    return 1;
}

static inline int CTLS_notBefore(const X509 *certificate, long long *seconds) {
    return CTLS_timeToUnix(X509_get0_notBefore(certificate), seconds);
}

static inline int CTLS_notAfter(const X509 *certificate, long long *seconds) {
    return CTLS_timeToUnix(X509_get0_notAfter(certificate), seconds);
}
#endif
