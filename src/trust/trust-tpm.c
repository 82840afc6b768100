/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <stdarg.h>
#include <stdio.h>
#include <sys/stat.h>

#include "forgeone/trust-config.h"
#include "forgeone/trust-tpm.h"
#include "trust-internal.h"

const char *trust_nv_attributes_to_string(uint32_t attributes, char *buf, size_t size) {
        static const struct {
                uint32_t bit;
                const char *name;
        } table[] = {
                { 0x00000001u, "ppwrite" },       { 0x00000002u, "ownerwrite" },
                { 0x00000004u, "authwrite" },     { 0x00000008u, "policywrite" },
                { 0x00000400u, "policydelete" },  { 0x00000800u, "writelocked" },
                { 0x00001000u, "writeall" },      { 0x00002000u, "writedefine" },
                { 0x00004000u, "write_stclear" }, { 0x00008000u, "globallock" },
                { 0x00010000u, "ppread" },        { 0x00020000u, "ownerread" },
                { 0x00040000u, "authread" },      { 0x00080000u, "policyread" },
                { 0x02000000u, "no_da" },         { 0x04000000u, "orderly" },
                { 0x08000000u, "clear_stclear" }, { 0x10000000u, "readlocked" },
                { 0x20000000u, "written" },       { 0x40000000u, "platformcreate" },
                { 0x80000000u, "read_stclear" },
        };
        size_t len = 0;

        buf[0] = 0;
        FOREACH_ELEMENT (t, table)
                if ((attributes & t->bit) && len < size)
                        len += (size_t) snprintf(buf + len, size - len, "%s%s", len ? "|" : "", t->name);
        if ((attributes & 0xF0u) && len < size)
                (void) snprintf(buf + len, size - len, "%snt=0x%x", len ? "|" : "",
                                (attributes >> 4) & 0xFu);
        return buf;
}

#if HAVE_TPM

#include <tss2/tss2_esys.h>
#include <tss2/tss2_rc.h>
#include <tss2/tss2_tctildr.h>

struct TrustTpm {
        char *tcti_conf;
        TSS2_TCTI_CONTEXT *tcti;
        ESYS_CONTEXT *esys;
};

/* The TPM's own code with the handle/parameter/session number masked out, or 0 for other layers. */
static TSS2_RC tpm_base(TSS2_RC rc) {
        TSS2_RC layer = rc & TSS2_RC_LAYER_MASK, code = rc & 0xFFFu;

        if (layer != TSS2_TPM_RC_LAYER && layer != TSS2_RESMGR_TPM_RC_LAYER)
                return 0;
        if (code & TPM2_RC_FMT1)
                code &= TPM2_RC_FMT1 | 0x3Fu;
        return code;
}

/* TSS2_RC -> negative errno, and "what: <decoded>" in err. */
_printf_(3, 4) static int tss_error(TSS2_RC rc, ForgeError *err, const char *format, ...) {
        char what[512];
        TSS2_RC base = tpm_base(rc), layer = rc & TSS2_RC_LAYER_MASK;
        const char *hint = "";
        va_list ap;
        int e;

        va_start(ap, format);
        (void) vsnprintf(what, sizeof what, format, ap);
        va_end(ap);

        switch (base) {
        case TPM2_RC_HANDLE:
                e = -ENOENT;
                break;
        case TPM2_RC_NV_DEFINED:
                e = -EEXIST;
                break;
        case TPM2_RC_NV_LOCKED:
                e = -EPERM;
                hint = " (the index is write-locked: only undefining it with the owner's authorization "
                       "changes it)";
                break;
        case TPM2_RC_BAD_AUTH:
        case TPM2_RC_AUTH_FAIL:
        case TPM2_RC_NV_AUTHORIZATION:
        case TPM2_RC_AUTH_MISSING:
                e = -EACCES;
                hint = " (the owner authorization is wrong or missing: give it with --owner-auth-file)";
                break;
        case TPM2_RC_LOCKOUT:
                e = -ENOLCK;
                hint = " (the TPM is in dictionary-attack lockout after failed authorizations: wait, or "
                       "reset it with the lockout authorization: tpm2_dictionarylockout -c)";
                break;
        case TPM2_RC_NV_SPACE:
                e = -ENOSPC;
                break;
        case TPM2_RC_RETRY:
        case TPM2_RC_TESTING:
        case TPM2_RC_YIELDED:
        case TPM2_RC_NV_RATE:
                e = -EAGAIN;
                break;
        default:
                if (layer == TSS2_TCTI_RC_LAYER)
                        e = (rc & 0xFFFFu) == TSS2_BASE_RC_BAD_VALUE ||
                                            (rc & 0xFFFFu) == TSS2_BASE_RC_NOT_SUPPORTED
                                    ? -EINVAL
                                    : -ENODEV;
                else
                        e = -EIO;
        }
        return forge_error_set(err, e, "%s: %s (TSS2 0x%x)%s", what, Tss2_RC_Decode(rc), rc, hint);
}

static bool has_prefix(const char *s, const char *p) {
        return strncmp(s, p, strlen(p)) == 0;
}

int trust_tpm_open(const char *tcti, TrustTpm **ret, ForgeError *err) {
        _cleanup_(trust_tpm_freep) TrustTpm *t = NULL;
        TSS2_RC rc;

        tcti = tcti ?: TRUST_DEFAULT_TCTI;
        /* The common "no TPM here" answered without the TCTI loader, which would log to stderr. */
        if (streq(tcti, "device") || has_prefix(tcti, "device:")) {
                const char *dev = has_prefix(tcti, "device:") && tcti[7] ? tcti + 7 : "/dev/tpmrm0";
                struct stat st;

                if (stat(dev, &st) < 0)
                        return forge_error_set(err, -ENODEV, "%s: %s", dev, strerror(errno));
                if (!S_ISCHR(st.st_mode))
                        return forge_error_set(err, -ENODEV, "%s is not a character device", dev);
        }

        t = calloc(1, sizeof *t);
        if (!t)
                return -ENOMEM;
        t->tcti_conf = strdup(tcti);
        if (!t->tcti_conf)
                return -ENOMEM;
        rc = Tss2_TctiLdr_Initialize(tcti, &t->tcti);
        if (rc != TSS2_RC_SUCCESS) {
                TSS2_RC base = rc & 0xFFFFu;

                /* A TCTI that cannot be loaded or parsed is a configuration error, not "no TPM". */
                if ((rc & TSS2_RC_LAYER_MASK) == TSS2_TCTI_RC_LAYER &&
                    (base == TSS2_BASE_RC_BAD_VALUE || base == TSS2_BASE_RC_NOT_SUPPORTED))
                        return forge_error_set(
                                err, -EINVAL,
                                "TCTI \"%s\" cannot be loaded: %s (TSS2 0x%x); check the \"tcti\" "
                                "setting (device:/dev/tpmrm0, swtpm:host=H,port=P, mssim:..., "
                                "tabrmd:...)",
                                tcti, Tss2_RC_Decode(rc), rc);
                (void) tss_error(rc, err, "TCTI \"%s\"", tcti);
                return -ENODEV;
        }
        rc = Esys_Initialize(&t->esys, t->tcti, NULL);
        if (rc != TSS2_RC_SUCCESS)
                return tss_error(rc, err, "TPM behind \"%s\"", tcti);
        *ret = TAKE_PTR(t);
        return 0;
}

TrustTpm *trust_tpm_free(TrustTpm *t) {
        if (!t)
                return NULL;
        if (t->esys)
                Esys_Finalize(&t->esys);
        if (t->tcti)
                Tss2_TctiLdr_Finalize(&t->tcti);
        free(t->tcti_conf);
        free(t);
        return NULL;
}

const char *trust_tpm_tcti(const TrustTpm *t) {
        return t->tcti_conf;
}

static int nv_handle(TrustTpm *t, uint32_t index, ESYS_TR *ret, ForgeError *err) {
        TSS2_RC rc = Esys_TR_FromTPMPublic(t->esys, index, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, ret);

        if (rc == TSS2_RC_SUCCESS)
                return 0;
        if (tpm_base(rc) == TPM2_RC_HANDLE)
                return forge_error_set(err, -ENOENT, "NV index 0x%08X is not defined", index);
        return tss_error(rc, err, "NV index 0x%08X", index);
}

static void close_handle(TrustTpm *t, ESYS_TR *h) {
        if (*h != ESYS_TR_NONE)
                (void) Esys_TR_Close(t->esys, h);
        *h = ESYS_TR_NONE;
}

int trust_tpm_nv_info(TrustTpm *t, uint32_t index, TrustNvInfo *ret, ForgeError *err) {
        TPM2B_NV_PUBLIC *pub = NULL;
        ESYS_TR h = ESYS_TR_NONE;
        TSS2_RC rc;
        int r;

        r = nv_handle(t, index, &h, err);
        if (r < 0)
                return r;
        rc = Esys_NV_ReadPublic(t->esys, h, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &pub, NULL);
        close_handle(t, &h);
        if (rc != TSS2_RC_SUCCESS)
                return tss_error(rc, err, "reading the public area of NV index 0x%08X", index);
        *ret = (TrustNvInfo){
                .attributes = pub->nvPublic.attributes,
                .size = pub->nvPublic.dataSize,
                .name_alg = pub->nvPublic.nameAlg,
        };
        Esys_Free(pub);
        return 0;
}

int trust_tpm_nv_read(TrustTpm *t, uint32_t index, uint8_t ret[static 32], ForgeError *err) {
        TPM2B_MAX_NV_BUFFER *data = NULL;
        ESYS_TR h = ESYS_TR_NONE;
        TSS2_RC rc;
        int r;

        r = nv_handle(t, index, &h, err);
        if (r < 0)
                return r;
        rc = Esys_NV_Read(t->esys, h, h, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, TRUST_NV_SIZE, 0,
                          &data);
        close_handle(t, &h);
        if (rc != TSS2_RC_SUCCESS)
                return tss_error(rc, err, "reading NV index 0x%08X", index);
        if (data->size != TRUST_NV_SIZE) {
                Esys_Free(data);
                return forge_error_set(err, -EBADMSG, "NV index 0x%08X returned %u bytes, not %u", index,
                                       (unsigned) data->size, TRUST_NV_SIZE);
        }
        memcpy(ret, data->buffer, TRUST_NV_SIZE);
        Esys_Free(data);
        return 0;
}

static int set_owner_auth(TrustTpm *t, const void *auth, size_t size, ForgeError *err) {
        TPM2B_AUTH a = {};
        TSS2_RC rc;

        if (size > sizeof a.buffer)
                return forge_error_set(err, -EINVAL,
                                       "the owner authorization is %zu bytes; a TPM takes at most %zu", size,
                                       sizeof a.buffer);
        a.size = (UINT16) size;
        if (size)
                memcpy(a.buffer, auth, size);
        rc = Esys_TR_SetAuth(t->esys, ESYS_TR_RH_OWNER, &a);
        explicit_bzero(&a, sizeof a);
        if (rc != TSS2_RC_SUCCESS)
                return tss_error(rc, err, "setting the owner authorization");
        return 0;
}

int trust_tpm_nv_define_write_lock(TrustTpm *t, uint32_t index, const uint8_t data[static 32],
                                   const void *owner_auth, size_t owner_auth_size, ForgeError *err) {
        TPM2B_NV_PUBLIC pub = {
                .nvPublic = {
                        .nvIndex = index,
                        .nameAlg = TPM2_ALG_SHA256,
                        .attributes = TRUST_NV_ATTRIBUTES,
                        .dataSize = TRUST_NV_SIZE,
                },
        };
        TPM2B_AUTH index_auth = {};
        TPM2B_MAX_NV_BUFFER buf = { .size = TRUST_NV_SIZE };
        ESYS_TR h = ESYS_TR_NONE;
        TSS2_RC rc;
        int r;

        r = set_owner_auth(t, owner_auth, owner_auth_size, err);
        if (r < 0)
                return r;
        rc = Esys_NV_DefineSpace(t->esys, ESYS_TR_RH_OWNER, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
                                 &index_auth, &pub, &h);
        if (rc != TSS2_RC_SUCCESS)
                return tss_error(rc, err, "defining NV index 0x%08X", index);
        memcpy(buf.buffer, data, TRUST_NV_SIZE);
        rc = Esys_NV_Write(t->esys, ESYS_TR_RH_OWNER, h, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &buf,
                           0);
        if (rc != TSS2_RC_SUCCESS) {
                r = tss_error(rc, err, "writing NV index 0x%08X", index);
                close_handle(t, &h);
                return r;
        }
        rc = Esys_NV_WriteLock(t->esys, ESYS_TR_RH_OWNER, h, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE);
        close_handle(t, &h);
        if (rc != TSS2_RC_SUCCESS)
                return tss_error(rc, err, "write-locking NV index 0x%08X", index);
        return 0;
}

int trust_tpm_nv_undefine(TrustTpm *t, uint32_t index, const void *owner_auth, size_t owner_auth_size,
                          ForgeError *err) {
        ESYS_TR h = ESYS_TR_NONE;
        TSS2_RC rc;
        int r;

        r = set_owner_auth(t, owner_auth, owner_auth_size, err);
        if (r < 0)
                return r;
        r = nv_handle(t, index, &h, err);
        if (r < 0)
                return r;
        /* On success the TR is flushed by ESYS itself. */
        rc = Esys_NV_UndefineSpace(t->esys, ESYS_TR_RH_OWNER, h, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                                   ESYS_TR_NONE);
        if (rc != TSS2_RC_SUCCESS) {
                close_handle(t, &h);
                return tss_error(rc, err, "undefining NV index 0x%08X", index);
        }
        return 0;
}

int trust_tpm_pcr_extend(TrustTpm *t, unsigned pcr, const uint8_t digest[static 32], ForgeError *err) {
        TPML_DIGEST_VALUES v = { .count = 1, .digests = { { .hashAlg = TPM2_ALG_SHA256 } } };
        TSS2_RC rc;

        if (pcr > TRUST_PCR_MAX)
                return forge_error_set(err, -EINVAL, "PCR %u does not exist (0..%u)", pcr, TRUST_PCR_MAX);
        memcpy(v.digests[0].digest.sha256, digest, 32);
        rc = Esys_PCR_Extend(t->esys, ESYS_TR_PCR0 + pcr, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &v);
        if (rc != TSS2_RC_SUCCESS)
                return tss_error(rc, err, "extending PCR %u", pcr);
        return 0;
}

int trust_tpm_pcr_read(TrustTpm *t, unsigned pcr, uint8_t ret[static 32], ForgeError *err) {
        TPML_PCR_SELECTION sel = { .count = 1,
                                   .pcrSelections = { { .hash = TPM2_ALG_SHA256, .sizeofSelect = 3 } } };
        TPML_PCR_SELECTION *out_sel = NULL;
        TPML_DIGEST *values = NULL;
        UINT32 counter;
        TSS2_RC rc;
        int r = 0;

        if (pcr > TRUST_PCR_MAX)
                return forge_error_set(err, -EINVAL, "PCR %u does not exist (0..%u)", pcr, TRUST_PCR_MAX);
        sel.pcrSelections[0].pcrSelect[pcr / 8] = (uint8_t) (1u << (pcr % 8));
        rc = Esys_PCR_Read(t->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &sel, &counter, &out_sel,
                           &values);
        if (rc != TSS2_RC_SUCCESS)
                return tss_error(rc, err, "reading PCR %u", pcr);
        if (values->count != 1 || values->digests[0].size != 32)
                r = forge_error_set(err, -EOPNOTSUPP,
                                    "the TPM has no SHA-256 value for PCR %u (is the SHA-256 "
                                    "bank allocated? tpm2_pcrallocate)",
                                    pcr);
        else
                memcpy(ret, values->digests[0].buffer, 32);
        Esys_Free(out_sel);
        Esys_Free(values);
        return r;
}

int trust_tpm_owner_auth_set(TrustTpm *t, bool *ret, ForgeError *err) {
        TPMS_CAPABILITY_DATA *cap = NULL;
        TPMI_YES_NO more;
        TSS2_RC rc;
        int r = 0;

        rc = Esys_GetCapability(t->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, TPM2_CAP_TPM_PROPERTIES,
                                TPM2_PT_PERMANENT, 1, &more, &cap);
        if (rc != TSS2_RC_SUCCESS)
                return tss_error(rc, err, "reading TPM2_PT_PERMANENT");
        if (cap->data.tpmProperties.count < 1 ||
            cap->data.tpmProperties.tpmProperty[0].property != TPM2_PT_PERMANENT)
                r = forge_error_set(err, -EIO, "the TPM did not report TPM2_PT_PERMANENT");
        else
                *ret = cap->data.tpmProperties.tpmProperty[0].value & TPMA_PERMANENT_OWNERAUTHSET;
        Esys_Free(cap);
        return r;
}

#else /* !HAVE_TPM */

int trust_tpm_open(const char *tcti, TrustTpm **ret, ForgeError *err) {
        return forge_error_set(err, -ENODEV, "this build has no TPM support (built without tpm2-tss)");
}

TrustTpm *trust_tpm_free(TrustTpm *t) {
        return NULL;
}

/* Without tpm2-tss no TrustTpm can exist: trust_tpm_open() never returns one. */
const char *trust_tpm_tcti(const TrustTpm *t) {
        return NULL;
}

int trust_tpm_nv_info(TrustTpm *t, uint32_t index, TrustNvInfo *ret, ForgeError *err) {
        return -ENODEV;
}

int trust_tpm_nv_read(TrustTpm *t, uint32_t index, uint8_t ret[static 32], ForgeError *err) {
        return -ENODEV;
}

int trust_tpm_nv_define_write_lock(TrustTpm *t, uint32_t index, const uint8_t data[static 32],
                                   const void *owner_auth, size_t owner_auth_size, ForgeError *err) {
        return -ENODEV;
}

int trust_tpm_nv_undefine(TrustTpm *t, uint32_t index, const void *owner_auth, size_t owner_auth_size,
                          ForgeError *err) {
        return -ENODEV;
}

int trust_tpm_pcr_extend(TrustTpm *t, unsigned pcr, const uint8_t digest[static 32], ForgeError *err) {
        return -ENODEV;
}

int trust_tpm_pcr_read(TrustTpm *t, unsigned pcr, uint8_t ret[static 32], ForgeError *err) {
        return -ENODEV;
}

int trust_tpm_owner_auth_set(TrustTpm *t, bool *ret, ForgeError *err) {
        return -ENODEV;
}

#endif
