/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <seccomp.h>
#include <string.h>

#include "forgeone/arch-table.h"

/* The common ABIs first: "did you mean" and error messages list them in this order. */
static const ArchInfo arch_table[] = {
        { SCMP_ARCH_X86_64, "x86_64" },       { SCMP_ARCH_X86, "x86" },
        { SCMP_ARCH_X32, "x32" },             { SCMP_ARCH_AARCH64, "aarch64" },
        { SCMP_ARCH_ARM, "arm" },             { SCMP_ARCH_RISCV64, "riscv64" },
        { SCMP_ARCH_PPC64LE, "ppc64le" },     { SCMP_ARCH_PPC64, "ppc64" },
        { SCMP_ARCH_PPC, "ppc" },             { SCMP_ARCH_S390X, "s390x" },
        { SCMP_ARCH_S390, "s390" },           { SCMP_ARCH_MIPS, "mips" },
        { SCMP_ARCH_MIPSEL, "mipsel" },       { SCMP_ARCH_MIPS64, "mips64" },
        { SCMP_ARCH_MIPSEL64, "mipsel64" },   { SCMP_ARCH_MIPS64N32, "mips64n32" },
        { SCMP_ARCH_MIPSEL64N32, "mipsel64n32" }, { SCMP_ARCH_PARISC, "parisc" },
        { SCMP_ARCH_PARISC64, "parisc64" },
};

const char *arch_table_to_string(uint32_t audit_arch) {
        FOREACH_ELEMENT(a, arch_table)
                if (a->arch == audit_arch)
                        return a->name;
        return NULL;
}

uint32_t arch_table_from_string(const char *name) {
        if (!name)
                return 0;
        FOREACH_ELEMENT(a, arch_table)
                if (streq(a->name, name))
                        return a->arch;
        return 0;
}

const ArchInfo *arch_table_by_index(size_t i) {
        return i < ELEMENTSOF(arch_table) ? &arch_table[i] : NULL;
}
