/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The TPM, through tpm2-tss ESAPI and the TCTI loader (so "device:/dev/tpmrm0",
 * "swtpm:host=127.0.0.1,port=2321", "mssim:..." and "tabrmd:" all work).
 * Only what the trust anchor and the measurements need: one NV index that
 * holds a SHA-256, PCR extend and read in the SHA-256 bank, and whether the
 * owner hierarchy has an authorization value.
 *
 * Errors: TSS2 return codes become negative errnos, with the code's text
 * from Tss2_RC_Decode() in the message: no TPM at all (missing device,
 * refused connection) -ENODEV; wrong authorization -EACCES; a write-locked
 * index -EPERM; an undefined index -ENOENT; an index defined already
 * -EEXIST; the TPM in dictionary-attack lockout -ENOLCK; out of NV space
 * -ENOSPC; retry/testing -EAGAIN; anything else -EIO. Built without
 * tpm2-tss, trust_tpm_open() fails with -ENODEV ("built without TPM
 * support") and nothing else can be reached.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "forgeone/trust.h"

/* TPMA_NV bits (TPM 2.0 Part 2, 13.4), so that users of this header need no TSS headers. */
#define TRUST_TPMA_NV_OWNERWRITE  0x00000002u
#define TRUST_TPMA_NV_WRITELOCKED 0x00000800u
#define TRUST_TPMA_NV_WRITEALL    0x00001000u
#define TRUST_TPMA_NV_WRITEDEFINE 0x00002000u
#define TRUST_TPMA_NV_OWNERREAD   0x00020000u
#define TRUST_TPMA_NV_AUTHREAD    0x00040000u
#define TRUST_TPMA_NV_NO_DA       0x02000000u
#define TRUST_TPMA_NV_READLOCKED  0x10000000u
#define TRUST_TPMA_NV_WRITTEN     0x20000000u
/* What the anchor's index is defined with (an ordinary index; forgeone.trust(7) says why each). The
 * state bits WRITTEN, WRITELOCKED and READLOCKED are not part of the definition. */
#define TRUST_NV_ATTRIBUTES                                                                                 \
        (TRUST_TPMA_NV_OWNERWRITE | TRUST_TPMA_NV_WRITEALL | TRUST_TPMA_NV_WRITEDEFINE |                    \
         TRUST_TPMA_NV_OWNERREAD | TRUST_TPMA_NV_AUTHREAD | TRUST_TPMA_NV_NO_DA)
#define TRUST_NV_STATE_BITS (TRUST_TPMA_NV_WRITELOCKED | TRUST_TPMA_NV_READLOCKED | TRUST_TPMA_NV_WRITTEN)
#define TRUST_NV_SIZE       32u

/* "ownerwrite|writeall|..." as tpm2-tools prints them, into buf. */
const char *trust_nv_attributes_to_string(uint32_t attributes, char *buf, size_t size);

/* Opens the TPM behind the TCTI configuration string (NULL: TRUST_DEFAULT_TCTI). -ENODEV when there is
 * none (the message says why: no device node, connection refused, no TPM support built in). */
int trust_tpm_open(const char *tcti, TrustTpm **ret, ForgeError *err);
TrustTpm *trust_tpm_free(TrustTpm *t);
DEFINE_TRIVIAL_CLEANUP_FUNC(TrustTpm *, trust_tpm_free);
const char *trust_tpm_tcti(const TrustTpm *t) _pure_;

typedef struct TrustNvInfo {
        uint32_t attributes;
        uint16_t size;
        uint16_t name_alg; /* TPM2_ALG_SHA256 = 0x000B */
} TrustNvInfo;

/* The index's public area; -ENOENT when it is not defined. */
int trust_tpm_nv_info(TrustTpm *t, uint32_t index, TrustNvInfo *ret, ForgeError *err);
/* Reads the index's 32 bytes with its (empty) authorization (TPMA_NV_AUTHREAD). */
int trust_tpm_nv_read(TrustTpm *t, uint32_t index, uint8_t ret[static 32], ForgeError *err);
/* Defines the index (TRUST_NV_ATTRIBUTES, 32 bytes, empty index authorization) under the owner
 * hierarchy, writes data and write-locks it, all with the owner's authorization. */
int trust_tpm_nv_define_write_lock(TrustTpm *t, uint32_t index, const uint8_t data[static 32],
                                   const void *owner_auth, size_t owner_auth_size, ForgeError *err);
/* Undefines the index with the owner's authorization; -ENOENT when it is not defined. */
int trust_tpm_nv_undefine(TrustTpm *t, uint32_t index, const void *owner_auth, size_t owner_auth_size,
                          ForgeError *err);

/* SHA-256 bank only. */
int trust_tpm_pcr_extend(TrustTpm *t, unsigned pcr, const uint8_t digest[static 32], ForgeError *err);
int trust_tpm_pcr_read(TrustTpm *t, unsigned pcr, uint8_t ret[static 32], ForgeError *err);

/* Whether the owner hierarchy has an authorization value (TPM2_PT_PERMANENT ownerAuthSet). */
int trust_tpm_owner_auth_set(TrustTpm *t, bool *ret, ForgeError *err);
