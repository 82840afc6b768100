/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <linux/audit.h>
#include <netinet/in.h>
#include <seccomp.h>
#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "forgeone/json-position.h"
#include "forgeone/policy-constants.h"
#include "forgeone/policy.h"
#include "forgeone/syscall-table.h"
#include "test-util.h"

typedef struct BadCase {
        const char *name;
        const char *text;
        unsigned line, column; /* of the first error, 1-based */
        const char *message;   /* substring of its message */
        bool raw;              /* keep single quotes as they are */
} BadCase;

/* Malformed policies: each with the message it must produce and where.
 * Single quotes stand for double quotes (except in raw cases). */
#define HDR "{\n  'version': 1,\n  'default': { 'action': 'deny' },\n"

static const BadCase bad_cases[] = {
        /* ---- JSON syntax ---- */
        { "missing comma",
          "{\n  'version': 1\n  'default': {}\n}\n",
          3, 3, "object value separator ',' expected" },
        { "trailing comma",
          HDR "  'rules': [\n    { 'id': 'a', 'syscalls': ['read'], 'action': 'allow' },\n  ]\n}\n",
          6, 3, "JSON syntax error" },
        { "truncated file",
          HDR "  'rules': [\n",
          5, 1, "unexpected end of file" },
        { "single quotes",
          "{\n  \"version\": 1,\n  'default': {}\n}\n",
          3, 3, "double quotes", true },
        { "text after the document",
          HDR "  'rules': []\n}\n}\n",
          6, 1, "unexpected text after the end of the document" },
        { "duplicate key",
          HDR "  'rules': [],\n  'default': { 'action': 'deny' }\n}\n",
          5, 3, "default: duplicate key" },
        { "duplicate key in a rule",
          HDR "  'rules': [\n    { 'id': 'a', 'syscalls': ['read'], 'action': 'allow', 'action': 'deny' }\n  ]\n}\n",
          5, 59, "rules[0].action: duplicate key" },

        /* ---- top level ---- */
        { "missing version",
          "{\n  'default': { 'action': 'deny' },\n  'rules': []\n}\n",
          1, 1, "top level: missing required key \"version\"" },
        { "unsupported version",
          "{\n  'version': 2,\n  'default': { 'action': 'deny' },\n  'rules': []\n}\n",
          2, 14, "version: unsupported format version 2" },
        { "version as a string",
          "{\n  'version': '1',\n  'default': { 'action': 'deny' },\n  'rules': []\n}\n",
          2, 14, "version: expected an integer, got a string" },
        { "unknown top-level key",
          HDR "  'rules': [],\n  'descripton': 'x'\n}\n",
          5, 3, "unknown key \"descripton\" in the policy (did you mean \"description\"?)" },
        { "missing rules",
          HDR "  'name': 'x'\n}\n",
          1, 1, "missing required key \"rules\"" },
        { "default allow",
          "{\n  'version': 1,\n  'default': { 'action': 'allow' },\n  'rules': []\n}\n",
          3, 26, "default.action: default action \"allow\" is not allowed: a policy is zero trust" },
        { "default errno misspelt",
          "{\n  'version': 1,\n  'default': { 'action': 'deny', 'errno': 'EPRM' },\n  'rules': []\n}\n",
          3, 43, "default.errno: unknown errno name \"EPRM\"" },
        { "errno out of range",
          "{\n  'version': 1,\n  'default': { 'action': 'deny', 'errno': 5000 },\n  'rules': []\n}\n",
          3, 43, "default.errno: 5000 is out of range (1..4095)" },
        { "no architectures",
          HDR "  'architectures': [],\n  'rules': []\n}\n",
          4, 20, "architectures: must name at least one architecture" },
        { "invalid UTF-8",
          HDR "  'name': 'caf\xc3(',\n  'rules': []\n}\n",
          4, 16, "JSON syntax error: invalid utf-8 string" },
        { "label value not a string",
          HDR "  'identities': { 'w': { 'match': { 'labels': { 'app': 1 } } } },\n  'rules': []\n}\n",
          4, 56, "identities.w.match.labels.app: expected a string, got an integer" },
        { "unknown architecture",
          HDR "  'architectures': ['native', 'x86-64'],\n  'rules': []\n}\n",
          4, 31, "architectures[1]: unknown architecture \"x86-64\" (did you mean \"x86_64\"?)" },

        /* ---- trust ---- */
        { "initial above maximum",
          HDR "  'trust': { 'maximum': 50, 'initial': 80 },\n  'rules': []\n}\n",
          4, 40, "trust.initial: initial trust 80 is above the maximum 50" },
        { "quarantine threshold above initial",
          HDR "  'trust': { 'initial': 30, 'quarantine_below': 40 },\n  'rules': []\n}\n",
          4, 49, "quarantine_below 40 is above the initial trust 30" },
        { "negative penalty",
          HDR "  'trust': { 'deny_penalty': -5 },\n  'rules': []\n}\n",
          4, 30, "trust.deny_penalty: -5 is out of range" },

        /* ---- identities ---- */
        { "identity named *",
          HDR "  'identities': { '*': { 'match': { 'name': 'x' } } },\n  'rules': []\n}\n",
          4, 19, "\"*\" is reserved" },
        { "bad image digest",
          HDR "  'identities': {\n    'web': { 'match': { 'image_digest': 'sha256:ABC' } }\n  },\n  'rules': []\n}\n",
          5, 41, "identities.web.match.image_digest: \"sha256:ABC\" is not an image digest" },
        { "identity without criteria",
          HDR "  'identities': {\n    'web': { 'match': {} }\n  },\n  'rules': []\n}\n",
          5, 23, "identities.web.match: names no criterion" },
        { "identity trust below quarantine threshold",
          HDR "  'identities': {\n    'web': { 'match': { 'name': 'web-*' }, 'trust': 10 }\n  },\n  'rules': []\n}\n",
          5, 53, "identities.web.trust: initial trust 10 is below trust.quarantine_below (20)" },
        { "label key with =",
          HDR "  'identities': {\n    'web': { 'match': { 'labels': { 'app=web': 'x' } } }\n  },\n  'rules': []\n}\n",
          5, 37, "label key \"app=web\" must be non-empty and contain no \"=\"" },

        /* ---- resources ---- */
        { "unknown resource type",
          HDR "  'resources': {\n    'r': { 'type': 'file', 'paths': ['/etc'] }\n  },\n  'rules': []\n}\n",
          5, 20, "resources.r.type: unknown resource type \"file\"" },
        { "relative path",
          HDR "  'resources': {\n    'r': { 'type': 'path', 'paths': ['etc/shadow'], 'access': ['read'] }\n  },\n  'rules': []\n}\n",
          5, 38, "resources.r.paths[0]: path pattern \"etc/shadow\" must be absolute" },
        { "path with ..",
          HDR "  'resources': {\n    'r': { 'type': 'path', 'paths': ['/etc', '/srv/../etc/shadow'], 'access': ['read'] }\n  },\n  'rules': []\n}\n",
          5, 46, "resources.r.paths[1]: path pattern \"/srv/../etc/shadow\" contains a \".\" or \"..\" component" },
        { "** in the middle",
          HDR "  'resources': {\n    'r': { 'type': 'path', 'paths': ['/usr/**/lib'], 'access': ['read'] }\n  },\n  'rules': []\n}\n",
          5, 38, "has \"**\" before the last component" },
        { "trailing slash",
          HDR "  'resources': {\n    'r': { 'type': 'path', 'paths': ['/var/log/'], 'access': ['read'] }\n  },\n  'rules': []\n}\n",
          5, 38, "must not end in \"/\"" },
        { "double slash",
          HDR "  'resources': {\n    'r': { 'type': 'path', 'paths': ['/var//log'], 'access': ['read'] }\n  },\n  'rules': []\n}\n",
          5, 38, "contains \"//\"" },
        { "unclosed bracket",
          HDR "  'resources': {\n    'r': { 'type': 'path', 'paths': ['/dev/sd[a'], 'access': ['read'] }\n  },\n  'rules': []\n}\n",
          5, 38, "has a \"[\" without a closing \"]\"" },
        { "unknown access mode",
          HDR "  'resources': {\n    'r': { 'type': 'path', 'paths': ['/bin/sh'], 'access': ['read', 'exe'] }\n  },\n  'rules': []\n}\n",
          5, 69, "resources.r.access[1]: unknown access mode \"exe\" (did you mean \"exec\"?)" },
        { "key of another resource type",
          HDR "  'resources': {\n    'r': { 'type': 'path', 'paths': ['/bin/sh'], 'access': ['exec'], 'endpoints': [] }\n  },\n  'rules': []\n}\n",
          5, 70, "\"endpoints\" is not valid for a resource of type \"path\"" },
        { "bad IPv4 address",
          HDR "  'resources': {\n    'n': { 'type': 'network', 'endpoints': [\n      { 'family': 'inet', 'address': '10.0.0.300' }\n    ] }\n  },\n  'rules': []\n}\n",
          6, 38, "resources.n.endpoints[0].address: \"10.0.0.300\" is not an inet address" },
        { "prefix too long",
          HDR "  'resources': {\n    'n': { 'type': 'network', 'endpoints': [\n      { 'family': 'inet', 'address': '10.0.0.0/33' }\n    ] }\n  },\n  'rules': []\n}\n",
          6, 38, "prefix length \"33\" must be a number 0..32" },
        { "host bits beyond the prefix",
          HDR "  'resources': {\n    'n': { 'type': 'network', 'endpoints': [\n      { 'family': 'inet', 'address': '10.0.0.1/8' }\n    ] }\n  },\n  'rules': []\n}\n",
          6, 38, "\"10.0.0.1/8\" has bits set beyond the /8 prefix" },
        { "IPv6 address in an inet endpoint",
          HDR "  'resources': {\n    'n': { 'type': 'network', 'endpoints': [\n      { 'family': 'inet', 'address': '::1' }\n    ] }\n  },\n  'rules': []\n}\n",
          6, 38, "\"::1\" is an inet6 address, but the endpoint's family is \"inet\"" },
        { "port out of range",
          HDR "  'resources': {\n    'n': { 'type': 'network', 'endpoints': [\n      { 'family': 'inet6', 'port': 70000 }\n    ] }\n  },\n  'rules': []\n}\n",
          6, 36, "resources.n.endpoints[0].port: 70000 is out of range (0..65535)" },
        { "empty port range",
          HDR "  'resources': {\n    'n': { 'type': 'network', 'endpoints': [\n      { 'family': 'inet', 'ports': '2000-1000' }\n    ] }\n  },\n  'rules': []\n}\n",
          6, 36, "port range \"2000-1000\" is empty" },
        { "unknown protocol",
          HDR "  'resources': {\n    'n': { 'type': 'network', 'endpoints': [\n      { 'family': 'inet', 'protocol': 'icmp' }\n    ] }\n  },\n  'rules': []\n}\n",
          6, 39, "unknown protocol \"icmp\"" },
        { "port on a unix endpoint",
          HDR "  'resources': {\n    'n': { 'type': 'network', 'endpoints': [\n      { 'family': 'unix', 'path': '/run/x.sock', 'port': 1 }\n    ] }\n  },\n  'rules': []\n}\n",
          6, 50, "\"port\" is not valid for a unix endpoint" },
        { "address on a connected endpoint",
          HDR "  'resources': {\n    'n': { 'type': 'network', 'endpoints': [\n      { 'family': 'connected', 'address': '10.0.0.1' }\n    ] }\n  },\n  'rules': []\n}\n",
          6, 32, "\"address\" is not valid for a \"connected\" endpoint (it has no address)" },
        { "argument index out of range",
          HDR "  'resources': {\n    'a': { 'type': 'args', 'args': [ { 'index': 6, 'op': 'eq', 'value': 0 } ] }\n  },\n  'rules': []\n}\n",
          5, 49, "resources.a.args[0].index: 6 is out of range (0..5)" },
        { "misspelt constant",
          HDR "  'resources': {\n    'a': { 'type': 'args', 'args': [ { 'index': 0, 'op': 'eq', 'value': 'CLONE_NEWUSR|CLONE_NEWNS' } ] }\n  },\n  'rules': []\n}\n",
          5, 73, "unknown constant \"CLONE_NEWUSR\" (did you mean \"CLONE_NEWUSER\"?)" },
        { "masked_eq without mask",
          HDR "  'resources': {\n    'a': { 'type': 'args', 'args': [ { 'index': 0, 'op': 'masked_eq', 'value': 0 } ] }\n  },\n  'rules': []\n}\n",
          5, 38, "resources.a.args[0]: missing required key \"mask\"" },
        { "mask with eq",
          HDR "  'resources': {\n    'a': { 'type': 'args', 'args': [ { 'index': 0, 'op': 'eq', 'value': 0, 'mask': 1 } ] }\n  },\n  'rules': []\n}\n",
          5, 76, "\"mask\" is only valid with \"op\": \"masked_eq\"" },
        { "value outside its mask",
          HDR "  'resources': {\n    'a': { 'type': 'args', 'args': [ { 'index': 2, 'op': 'masked_eq', 'mask': 'PROT_EXEC', 'value': 'PROT_WRITE' } ] }\n  },\n  'rules': []\n}\n",
          5, 101, "has bits outside the mask 0x4: the condition can never hold" },
        { "value beyond 64 bits",
          HDR "  'resources': {\n    'a': { 'type': 'args', 'args': [ { 'index': 0, 'op': 'eq', 'value': 99999999999999999999 } ] }\n  },\n  'rules': []\n}\n",
          5, 73, "99999999999999999999 does not fit in 64 bits" },
        { "value wider than an unsigned int argument",
          HDR "  'resources': {\n    'a': { 'type': 'args', 'args': [ { 'index': 1, 'op': 'ne', 'value': 4294988818 } ] }\n  },\n  'rules': [\n    { 'id': 'i', 'syscalls': ['ioctl'], 'resource': 'a', 'action': 'allow' }\n  ]\n}\n",
          5, 73, "resources.a.args[0].value: value 4294988818 does not fit argument 1 of ioctl on x86_64, an unsigned int, 0..4294967295 (the kernel reads no more)" },
        { "negative value of an unsigned int argument",
          HDR "  'resources': {\n    'a': { 'type': 'args', 'args': [ { 'index': 0, 'op': 'lt', 'value': -1 } ] }\n  },\n  'rules': [\n    { 'id': 'i', 'syscalls': ['ioctl'], 'resource': 'a', 'action': 'allow' }\n  ]\n}\n",
          5, 73, "value -1 does not fit argument 0 of ioctl on x86_64, an unsigned int" },
        { "unsigned value of an int argument",
          HDR "  'resources': {\n    'a': { 'type': 'args', 'args': [ { 'index': 0, 'op': 'eq', 'value': '0xffffffff' } ] }\n  },\n  'rules': [\n    { 'id': 's', 'syscalls': ['socket'], 'resource': 'a', 'action': 'allow' }\n  ]\n}\n",
          5, 73, "value 4294967295 does not fit argument 0 of socket on x86_64, an int, -2147483648..2147483647" },
        { "mask wider than a mode",
          HDR "  'resources': {\n    'a': { 'type': 'args', 'args': [ { 'index': 1, 'op': 'masked_eq', 'mask': 65536, 'value': 0 } ] }\n  },\n  'rules': [\n    { 'id': 'm', 'syscalls': ['fchmod'], 'resource': 'a', 'action': 'allow' }\n  ]\n}\n",
          5, 79, "mask 65536 does not fit argument 1 of fchmod on x86_64, a 16-bit mode, 0..65535" },
        { "i386 reads 32 bits of an unsigned long",
          "{\n  'version': 1,\n  'default': { 'action': 'deny' },\n  'architectures': ['x86_64', 'x86'],\n  'resources': {\n    'a': { 'type': 'args', 'args': [ { 'index': 0, 'op': 'masked_eq', 'mask': '0x100000000', 'value': 0 } ] }\n  },\n  'rules': [\n    { 'id': 'c', 'syscalls': ['clone'], 'resource': 'a', 'action': 'allow' }\n  ]\n}\n",
          6, 79, "mask 4294967296 does not fit argument 0 of clone on x86, an unsigned int" },
        { "argument widths unknown for an architecture",
          "{\n  'version': 1,\n  'default': { 'action': 'deny' },\n  'architectures': ['x86_64', 'x32'],\n  'resources': {\n    'a': { 'type': 'args', 'args': [ { 'index': 0, 'op': 'eq', 'value': 1 } ] }\n  },\n  'rules': [\n    { 'id': 's', 'syscalls': ['socket'], 'resource': 'a', 'action': 'allow' }\n  ]\n}\n",
          9, 54, "rules[0].resource: argument conditions compare what the kernel reads, and ForgeOne knows the argument widths of x86_64 and x86 only, not of x32" },

        /* ---- rules ---- */
        { "misspelt syscall",
          HDR "  'rules': [\n    { 'id': 'a', 'syscalls': ['read', 'opnat'], 'action': 'allow' }\n  ]\n}\n",
          5, 39, "rules[0].syscalls[1]: unknown syscall \"opnat\" (did you mean \"openat\"?)" },
        { "misspelt group",
          HDR "  'rules': [\n    { 'id': 'a', 'syscalls': ['@file-reed'], 'action': 'allow' }\n  ]\n}\n",
          5, 31, "rules[0].syscalls[0]: unknown syscall group \"@file-reed\" (did you mean \"@file-read\"?)" },
        { "syscall of another architecture",
          HDR "  'architectures': ['x86_64'],\n  'rules': [\n    { 'id': 'a', 'syscalls': ['stat64'], 'action': 'allow' }\n  ]\n}\n",
          6, 31, "syscall \"stat64\" does not exist on x86_64" },
        { "syscalls is a string",
          HDR "  'rules': [\n    { 'id': 'a', 'syscalls': 'read', 'action': 'allow' }\n  ]\n}\n",
          5, 30, "rules[0].syscalls: expected an array, got a string" },
        { "empty syscalls",
          HDR "  'rules': [\n    { 'id': 'a', 'syscalls': [], 'action': 'allow' }\n  ]\n}\n",
          5, 30, "rules[0].syscalls: is empty" },
        { "missing id",
          HDR "  'rules': [\n    { 'id': 'a', 'syscalls': ['read'], 'action': 'allow' },\n    { 'syscalls': ['write'], 'action': 'allow' }\n  ]\n}\n",
          6, 5, "rules[1]: missing required key \"id\"" },
        { "id with a space",
          HDR "  'rules': [\n    { 'id': 'no shadow', 'syscalls': ['read'], 'action': 'allow' }\n  ]\n}\n",
          5, 13, "rules[0].id: rule id \"no shadow\" must be 1..128 characters" },
        { "duplicate rule id",
          HDR "  'rules': [\n    { 'id': 'a', 'syscalls': ['read'], 'action': 'allow' },\n    { 'id': 'a', 'syscalls': ['write'], 'action': 'allow' }\n  ]\n}\n",
          6, 13, "rules[1].id: rule id \"a\" is already used by rules[0]" },
        { "reserved rule id",
          HDR "  'rules': [\n    { 'id': 'default', 'syscalls': ['read'], 'action': 'allow' }\n  ]\n}\n",
          5, 13, "rule id \"default\" is reserved" },
        { "misspelt action",
          HDR "  'rules': [\n    { 'id': 'a', 'syscalls': ['read'], 'action': 'alow' }\n  ]\n}\n",
          5, 50, "rules[0].action: unknown action \"alow\" (did you mean \"allow\"?)" },
        { "misspelt rule key",
          HDR "  'rules': [\n    { 'id': 'a', 'syscalls': ['read'], 'action': 'allow', 'min_trsut': 5 }\n  ]\n}\n",
          5, 59, "unknown key \"min_trsut\" in a rule (did you mean \"min_trust\"?)" },
        { "unknown identity",
          HDR "  'identities': { 'web': { 'match': { 'name': 'web-*' } } },\n  'rules': [\n    { 'id': 'a', 'identity': 'wbe', 'syscalls': ['read'], 'action': 'allow' }\n  ]\n}\n",
          6, 30, "rules[0].identity: unknown identity \"wbe\" (did you mean \"web\"?)" },
        { "unknown resource",
          HDR "  'resources': { 'shadow': { 'type': 'path', 'paths': ['/etc/shadow'], 'access': ['read'] } },\n"
          "  'rules': [\n    { 'id': 'a', 'syscalls': ['openat'], 'resource': 'shadwo', 'action': 'deny' }\n  ]\n}\n",
          6, 54, "rules[0].resource: unknown resource \"shadwo\" (did you mean \"shadow\"?)" },
        { "resource and resources",
          HDR "  'resources': { 'shadow': { 'type': 'path', 'paths': ['/etc/shadow'], 'access': ['read'] } },\n"
          "  'rules': [\n    { 'id': 'a', 'syscalls': ['openat'], 'resource': 'shadow', 'resources': ['shadow'], 'action': 'deny' }\n  ]\n}\n",
          6, 64, "give either \"resource\" or \"resources\", not both" },
        { "path resource on syscalls without paths",
          HDR "  'resources': { 'etc': { 'type': 'path', 'paths': ['/etc/**'], 'access': ['read'] } },\n"
          "  'rules': [\n    { 'id': 'a', 'syscalls': ['getpid', 'read'], 'resource': 'etc', 'action': 'allow' }\n  ]\n}\n",
          6, 62, "rules[0].resource: none of the rule's syscalls takes a path, so path resource \"etc\" can never match" },
        { "path resource on a mix",
          HDR "  'resources': { 'etc': { 'type': 'path', 'paths': ['/etc/**'], 'access': ['read'] } },\n"
          "  'rules': [\n    { 'id': 'a', 'syscalls': ['openat', 'getpid'], 'resource': 'etc', 'action': 'allow' }\n  ]\n}\n",
          6, 41, "rules[0].syscalls[1]: syscall \"getpid\" takes no path, but the rule's resource \"etc\" is a path resource" },
        { "network resource on open",
          HDR "  'resources': { 'dns': { 'type': 'network', 'endpoints': [ { 'family': 'inet', 'port': 53 } ] } },\n"
          "  'rules': [\n    { 'id': 'a', 'syscalls': ['@file-open'], 'resource': 'dns', 'action': 'allow' }\n  ]\n}\n",
          6, 58, "none of the rule's syscalls takes a socket address" },
        { "resources of two types",
          HDR "  'resources': {\n    'etc': { 'type': 'path', 'paths': ['/etc/**'], 'access': ['read'] },\n"
          "    'dns': { 'type': 'network', 'endpoints': [ { 'family': 'inet', 'port': 53 } ] }\n  },\n"
          "  'rules': [\n    { 'id': 'a', 'syscalls': ['connect'], 'resources': ['dns', 'etc'], 'action': 'allow' }\n  ]\n}\n",
          9, 56, "resources \"dns\" (network) and \"etc\" (path) are of different types" },
        { "errno on an allow rule",
          HDR "  'rules': [\n    { 'id': 'a', 'syscalls': ['read'], 'action': 'allow', 'errno': 'EPERM' }\n  ]\n}\n",
          5, 59, "\"errno\" is only valid for \"deny\" and \"quarantine\" rules" },
        { "min_trust above the maximum",
          HDR "  'rules': [\n    { 'id': 'a', 'syscalls': ['read'], 'action': 'allow', 'min_trust': 101 }\n  ]\n}\n",
          5, 72, "rules[0].min_trust: 101 is out of range (0..100)" },
        { "min_trust on a deny rule",
          HDR "  'rules': [\n    { 'id': 'a', 'syscalls': ['ptrace'], 'action': 'deny', 'min_trust': 50 }\n  ]\n}\n",
          5, 60, "\"min_trust\" is only valid for \"allow\" and \"emulate\" rules" },
        { "NaN as a value",
          HDR "  'rules': [],\n  'trust': { 'initial': NaN }\n}\n",
          5, 25, "not standard JSON here" },
        { "emulating what cannot be emulated",
          HDR "  'rules': [\n    { 'id': 'a', 'syscalls': ['openat', 'chdir'], 'action': 'emulate' }\n  ]\n}\n",
          5, 41, "rules[0].syscalls[1]: syscall \"chdir\" cannot be emulated" },
        { "deny rule that can never match",
          HDR "  'resources': { 'bin': { 'type': 'path', 'paths': ['/usr/bin/*'], 'access': ['exec'] } },\n"
          "  'rules': [\n    { 'id': 'a', 'syscalls': ['@file-open'], 'resource': 'bin', 'action': 'deny' }\n  ]\n}\n",
          6, 31, "deny rule can never match any syscall of this group: the rule's resources cover only exec" },
        { "allow rule that can never match",
          HDR "  'resources': { 'etc': { 'type': 'path', 'paths': ['/etc/**'], 'access': ['read', 'stat'] } },\n"
          "  'rules': [\n    { 'id': 'a', 'syscalls': ['openat', 'execve'], 'resource': 'etc', 'action': 'allow' }\n  ]\n}\n",
          6, 41, "allow rule can never match syscall \"execve\": it requests exec, the rule's resources cover only read,stat" },
};

/* Double quotes for the single ones the table uses to stay readable. */
static char *unquote(const BadCase *c) {
        char *t = strdup(c->text);

        ck_assert_ptr_nonnull(t);
        if (!c->raw)
                for (char *k = t; *k; k++)
                        if (*k == '\'')
                                *k = '"';
        return t;
}

static int load(const char *text, Policy **ret, PolicyDiagnostics *diag) {
        _cleanup_free_ char *t = strdup(text);

        for (char *k = t; *k; k++)
                if (*k == '\'')
                        *k = '"';
        return policy_load_string(t, strlen(t), "test.json", ret, diag, NULL);
}

static void dump(const PolicyDiagnostics *d) {
        for (size_t i = 0; i < d->n_errors; i++)
                fprintf(stderr, "  %s:%u:%u: %s\n", d->errors[i].file, d->errors[i].line, d->errors[i].column,
                        d->errors[i].message);
}

START_TEST(test_bad_policies) {
        const BadCase *c = &bad_cases[_i];
        _cleanup_free_ char *text = unquote(c);
        _cleanup_(policy_freep) Policy *p = NULL;
        PolicyDiagnostics d = {};
        int r;

        r = policy_load_string(text, strlen(text), "bad.json", &p, &d, NULL);
        if (r != -EINVAL || d.n_errors == 0 || d.errors[0].line != c->line || d.errors[0].column != c->column ||
            !strstr(d.errors[0].message, c->message))
                dump(&d);
        ck_assert_msg(r == -EINVAL, "%s: load returned %d", c->name, r);
        ck_assert_ptr_null(p);
        ck_assert_msg(d.n_errors >= 1, "%s: no error reported", c->name);
        ck_assert_str_eq(d.errors[0].file, "bad.json");
        ck_assert_msg(d.errors[0].line == c->line && d.errors[0].column == c->column,
                      "%s: error at %u:%u, expected %u:%u", c->name, d.errors[0].line, d.errors[0].column, c->line,
                      c->column);
        ck_assert_msg(strstr(d.errors[0].message, c->message), "%s: message \"%s\" lacks \"%s\"", c->name,
                      d.errors[0].message, c->message);

        /* A caller that reports one error gets the first, positioned, as the daemon's PolicyInvalid. */
        {
                ForgeError err = {};
                char want[FORGE_ERROR_MESSAGE_MAX];

                ck_assert_int_eq(policy_load_string(text, strlen(text), "bad.json", &p, NULL, &err),
                                 -EINVAL);
                ck_assert_int_eq(err.error, -EINVAL);
                ck_assert_int_eq(err.kind, FORGE_ERROR_POLICY_INVALID);
                ck_assert_str_eq(err.file, "bad.json");
                ck_assert_uint_eq(err.line, c->line);
                ck_assert_uint_eq(err.column, c->column);
                snprintf(want, sizeof want, "bad.json:%u:%u: %s", c->line, c->column, d.errors[0].message);
                ck_assert_msg(strncmp(err.message, want, strlen(want)) == 0,
                              "%s: \"%s\" does not start \"%s\"", c->name, err.message, want);
                ck_assert_str_eq(forge_error_bus_name(&err, -EINVAL), "org.forgeone.Error.PolicyInvalid");
        }
        policy_diagnostics_done(&d);
        ck_assert_uint_eq(d.n_errors, 0);
}
END_TEST

START_TEST(test_all_errors_in_file_order) {
        static const char text[] =
                "{\n"
                "  'rules': [\n"
                "    { 'id': 'a', 'syscalls': ['opnat'], 'action': 'allow' },\n"
                "    { 'id': 'b', 'syscalls': ['read'], 'action': 'permit' }\n"
                "  ],\n"
                "  'version': 3,\n"
                "  'default': { 'action': 'deny', 'errno': 'EWHAT' },\n"
                "  'resources': { 'r': { 'type': 'path', 'paths': ['relative'], 'access': ['read'] } }\n"
                "}\n";
        _cleanup_(policy_freep) Policy *p = NULL;
        PolicyDiagnostics d = {};

        ck_assert_int_eq(load(text, &p, &d), -EINVAL);
        if (d.n_errors != 5)
                dump(&d);
        ck_assert_uint_eq(d.n_errors, 5);
        ck_assert_uint_eq(d.errors[0].line, 3);
        ck_assert(strstr(d.errors[0].message, "unknown syscall \"opnat\""));
        ck_assert_uint_eq(d.errors[1].line, 4);
        ck_assert(strstr(d.errors[1].message, "unknown action \"permit\""));
        ck_assert_uint_eq(d.errors[2].line, 6);
        ck_assert(strstr(d.errors[2].message, "unsupported format version 3"));
        ck_assert_uint_eq(d.errors[3].line, 7);
        ck_assert(strstr(d.errors[3].message, "EWHAT"));
        ck_assert_uint_eq(d.errors[4].line, 8);
        ck_assert(strstr(d.errors[4].message, "must be absolute"));
        for (size_t i = 1; i < d.n_errors; i++)
                ck_assert(d.errors[i - 1].line < d.errors[i].line ||
                          (d.errors[i - 1].line == d.errors[i].line &&
                           d.errors[i - 1].column <= d.errors[i].column));

        /* Both at once: the list, and the first problem saying how many follow. */
        {
                _cleanup_free_ char *t = strdup(text);
                PolicyDiagnostics all = {};
                ForgeError err = {};
                char want[FORGE_ERROR_MESSAGE_MAX];

                for (char *k = t; *k; k++)
                        if (*k == '\'')
                                *k = '"';
                ck_assert_int_eq(policy_load_string(t, strlen(t), "test.json", &p, &all, &err), -EINVAL);
                ck_assert_uint_eq(all.n_errors, 5);
                snprintf(want, sizeof want, "test.json:3:%u: %s (and 4 more errors)", all.errors[0].column,
                         all.errors[0].message);
                ck_assert_str_eq(err.message, want);
                policy_diagnostics_done(&all);
        }
        policy_diagnostics_done(&d);
}
END_TEST

START_TEST(test_nul_byte_and_missing_file) {
        static const char text[] = "{\n  \"version\": 1,\0 \"x\": 1 }";
        _cleanup_(policy_freep) Policy *p = NULL;
        PolicyDiagnostics d = {};

        ck_assert_int_eq(policy_load_string(text, sizeof text - 1, "nul.json", &p, &d, NULL), -EINVAL);
        ck_assert_uint_eq(d.n_errors, 1);
        ck_assert_uint_eq(d.errors[0].line, 2);
        ck_assert_uint_eq(d.errors[0].column, 16);
        ck_assert(strstr(d.errors[0].message, "NUL byte"));
        policy_diagnostics_done(&d);

        ck_assert_int_eq(policy_load_file("/nonexistent/forgeone/policy.json", &p, &d, NULL), -ENOENT);
        ck_assert_uint_eq(d.n_errors, 1);
        ck_assert_str_eq(d.errors[0].file, "/nonexistent/forgeone/policy.json");
        ck_assert(strstr(d.errors[0].message, "cannot open"));
        policy_diagnostics_done(&d);

        /* A policy that cannot be read is not an invalid one: the errno names the error. */
        {
                ForgeError err = {};

                ck_assert_int_eq(policy_load_file("/nonexistent/forgeone/policy.json", &p, NULL, &err),
                                 -ENOENT);
                ck_assert_str_eq(
                        err.message,
                        "/nonexistent/forgeone/policy.json: cannot open: No such file or directory");
                ck_assert_int_eq(err.kind, FORGE_ERROR_SYSTEM);
                ck_assert_str_eq(forge_error_bus_name(&err, -ENOENT), "org.forgeone.Error.NotFound");
        }

        ck_assert_int_eq(policy_load_file("/", &p, &d, NULL), -EISDIR);
        policy_diagnostics_done(&d);

        /* Diagnostics are optional. */
        ck_assert_int_eq(policy_load_string("{", 1, "x", &p, NULL, NULL), -EINVAL);
        ck_assert_ptr_null(p);
}
END_TEST

START_TEST(test_defaults_filled) {
        _cleanup_(policy_freep) Policy *p = NULL;
        PolicyDiagnostics d = {};

        ck_assert_int_eq(load("{ 'version': 1, 'default': { 'action': 'deny' },\n"
                              "  'rules': [ { 'id': 'x', 'syscalls': ['getpid'], 'action': 'deny' } ] }",
                              &p, &d), 0);
        ck_assert_uint_eq(d.n_errors, 0);
        ck_assert_str_eq(p->path, "test.json");
        ck_assert_str_eq(p->name, "test"); /* from the file name */
        ck_assert_ptr_null(p->description);
        ck_assert_int_eq(p->default_verdict, POLICY_VERDICT_DENY);
        ck_assert_int_eq(p->default_errno, EPERM);
        ck_assert_uint_eq(p->n_arches, 1);
        ck_assert_uint_eq(p->arches[0], seccomp_arch_native());
        ck_assert_int_eq(p->trust.initial, 100);
        ck_assert_int_eq(p->trust.maximum, 100);
        ck_assert_int_eq(p->trust.deny_penalty, 5);
        ck_assert_int_eq(p->trust.quarantine_below, 20);
        ck_assert_int_eq(p->trust.recovery_per_minute, 1);
        ck_assert_uint_eq(p->n_identities, 0);
        ck_assert_uint_eq(p->n_resources, 0);
        ck_assert_uint_eq(p->n_rules, 1);
        ck_assert_str_eq(p->rules[0].id, "x");
        ck_assert_int_eq(p->rules[0].identity, POLICY_IDENTITY_ANY);
        ck_assert_int_eq(p->rules[0].verdict, POLICY_VERDICT_DENY);
        ck_assert_int_eq(p->rules[0].errno_value, EPERM);
        ck_assert_int_eq(p->rules[0].min_trust, -1);
        ck_assert_uint_eq(p->rules[0].n_resources, 0);
        ck_assert_ptr_null(p->rules[0].description);
        ck_assert_uint_eq(p->rules[0].line, 2);
        ck_assert_uint_eq(p->rules[0].column, 14);
        ck_assert_int_eq(policy_identity_trust(p, POLICY_IDENTITY_ANY), 100);
}
END_TEST

START_TEST(test_digest_of_text) {
        _cleanup_(policy_freep) Policy *p = NULL, *q = NULL;
        static const char text[] =
                "{ \"version\": 1, \"default\": { \"action\": \"deny\" },\n"
                "  \"rules\": [ { \"id\": \"x\", \"syscalls\": [\"getpid\"], \"action\": \"deny\" } ] }";

        /* The digest is of the bytes as given, what `sha256sum FILE` prints for the file. */
        ck_assert_int_eq(policy_load_string(text, strlen(text), "d.json", &p, NULL, NULL), 0);
        ck_assert_str_eq(p->digest,
                         "sha256:c2f2ff06ea8cf92275493c0f8e2214981b9243ab1fa78b5f653cb833232d5c55");
        ck_assert_int_eq(policy_load_string(text, strlen(text) - 1, "d.json", &q, NULL, NULL), -EINVAL);
}
END_TEST

START_TEST(test_groups_expanded) {
        _cleanup_(policy_freep) Policy *p = NULL;
        PolicyDiagnostics d = {};
        char **s;

        ck_assert_int_eq(load("{ 'version': 1, 'default': { 'action': 'quarantine', 'errno': 13 },\n"
                              "  'architectures': ['x86_64'],\n"
                              "  'rules': [\n"
                              "    { 'id': 'o', 'syscalls': ['openat', '@file-open', 'open'], 'action': 'allow' },\n"
                              "    { 'id': 'b', 'syscalls': ['@basic-io', 'getpid'], 'action': 'allow' }\n"
                              "  ] }", &p, &d), 0);
        ck_assert_int_eq(p->default_verdict, POLICY_VERDICT_QUARANTINE);
        ck_assert_int_eq(p->default_errno, EACCES);

        /* Sorted and unique. */
        s = p->rules[0].syscalls;
        ck_assert_str_eq(s[0], "creat");
        ck_assert_str_eq(s[1], "open");
        ck_assert_str_eq(s[2], "openat");
        ck_assert_str_eq(s[3], "openat2");
        ck_assert_ptr_null(s[4]);

        /* "_llseek" is in @basic-io but not an x86_64 syscall: dropped on this policy's arch. */
        s = p->rules[1].syscalls;
        for (size_t i = 0; s[i]; i++) {
                ck_assert_str_ne(s[i], "_llseek");
                ck_assert_int_ge(syscall_resolve_arch(s[i], AUDIT_ARCH_X86_64), 0);
                if (i > 0)
                        ck_assert_int_lt(strcmp(s[i - 1], s[i]), 0);
        }
}
END_TEST

START_TEST(test_foreign_architectures) {
        _cleanup_(policy_freep) Policy *p = NULL;
        PolicyDiagnostics d = {};
        bool found = false;

        /* "stat64" exists on x86 only: fine when the policy names x86. Native goes first. */
        ck_assert_int_eq(load("{ 'version': 1, 'default': { 'action': 'deny' },\n"
                              "  'architectures': ['x86', 'native'],\n"
                              "  'rules': [ { 'id': 's', 'syscalls': ['stat64', '@file-stat'], 'action': 'allow' } ] }",
                              &p, &d), 0);
        dump(&d);
        ck_assert_uint_eq(p->n_arches, 2);
        ck_assert_uint_eq(p->arches[0], seccomp_arch_native());
        ck_assert_uint_eq(p->arches[1], AUDIT_ARCH_I386);
        for (char **s = p->rules[0].syscalls; *s; s++)
                found = found || streq(*s, "stat64");
        ck_assert(found);
}
END_TEST

START_TEST(test_constants_resolved) {
        _cleanup_(policy_freep) Policy *p = NULL;
        PolicyDiagnostics d = {};
        const PolicyResource *r;

        ck_assert_int_eq(load("{ 'version': 1, 'default': { 'action': 'deny' },\n"
                              "  'resources': { 'a': { 'type': 'args', 'args': [\n"
                              "    { 'index': 1, 'op': 'masked_eq', 'mask': 'O_ACCMODE|O_CREAT', 'value': 'O_WRONLY | O_CREAT' },\n"
                              "    { 'index': 0, 'op': 'eq', 'value': 'AT_FDCWD' },\n"
                              "    { 'index': 2, 'op': 'le', 'value': '0755' },\n"
                              "    { 'index': 3, 'op': 'ne', 'value': '0x10' },\n"
                              "    { 'index': 4, 'op': 'gt', 'value': -1 },\n"
                              "    { 'index': 5, 'op': 'ge', 'value': 18446744073709551615 }\n"
                              "  ] } },\n"
                              "  'rules': [ { 'id': 'o', 'syscalls': ['openat'], 'resource': 'a', 'action': 'deny' } ] }",
                              &p, &d), 0);
        dump(&d);
        r = &p->resources[0];
        ck_assert_int_eq(r->type, POLICY_RESOURCE_ARGS);
        ck_assert_uint_eq(r->n_args, 6);
        ck_assert_int_eq(r->args[0].op, POLICY_ARG_MASKED_EQ);
        ck_assert_uint_eq(r->args[0].mask, 0103);
        ck_assert_uint_eq(r->args[0].value, 0101);
        ck_assert_uint_eq(r->args[0].index, 1);
        ck_assert_uint_eq(r->args[1].value, (uint64_t) -100);
        ck_assert_uint_eq(r->args[2].value, 0755);
        ck_assert_int_eq(r->args[2].op, POLICY_ARG_LE);
        ck_assert_uint_eq(r->args[3].value, 16);
        ck_assert_uint_eq(r->args[4].value, UINT64_MAX);
        ck_assert_uint_eq(r->args[5].value, UINT64_MAX);
        ck_assert_uint_eq(p->rules[0].n_resources, 1);
        ck_assert_int_eq(p->rules[0].resources[0], 0);
}
END_TEST

START_TEST(test_constant_parser) {
        uint64_t v = 0;
        char *bad = NULL;

        ck_assert_int_eq(policy_constant_parse("CLONE_NEWUSER", &v, NULL), 0);
        ck_assert_uint_eq(v, 0x10000000);
        ck_assert_int_eq(policy_constant_parse("PROT_READ|PROT_WRITE|0x100", &v, NULL), 0);
        ck_assert_uint_eq(v, 0x103);
        ck_assert_int_eq(policy_constant_parse("  AF_INET6  ", &v, NULL), 0);
        ck_assert_uint_eq(v, AF_INET6);
        ck_assert_int_eq(policy_constant_parse("PR_SET_SECCOMP", &v, NULL), 0);
        ck_assert_uint_eq(v, 22);
        ck_assert_int_eq(policy_constant_parse("SECCOMP_SET_MODE_FILTER", &v, NULL), 0);
        ck_assert_uint_eq(v, 1);
        ck_assert_int_eq(policy_constant_parse("TIOCSTI", &v, NULL), 0);
        ck_assert_uint_eq(v, 0x5412);
        ck_assert_int_eq(policy_constant_parse("MAP_SHARED", &v, NULL), 0);
        ck_assert_uint_eq(v, 1);
        ck_assert_int_eq(policy_constant_parse("SOCK_STREAM|SOCK_CLOEXEC", &v, NULL), 0);
        ck_assert_uint_eq(v, SOCK_STREAM | SOCK_CLOEXEC);
        ck_assert_int_eq(policy_constant_parse("-1", &v, NULL), 0);
        ck_assert_uint_eq(v, UINT64_MAX);

        ck_assert_int_eq(policy_constant_parse("O_RDONLY||O_CREAT", &v, &bad), -EINVAL);
        ck_assert_str_eq(bad, "");
        free(bad);
        bad = NULL;
        ck_assert_int_eq(policy_constant_parse("O_WRONGLY", &v, &bad), -ENOENT);
        ck_assert_str_eq(bad, "O_WRONGLY");
        free(bad);
        bad = NULL;
        ck_assert_int_eq(policy_constant_parse("12abc", &v, &bad), -EINVAL);
        free(bad);
        bad = NULL;
        ck_assert_int_eq(policy_constant_parse("0x1ffffffffffffffff", &v, &bad), -EINVAL);
        free(bad);
        bad = NULL;
        ck_assert_int_eq(policy_constant_parse("O_RDONLY O_CREAT", &v, &bad), -EINVAL);
        free(bad);
        ck_assert_int_eq(policy_constant_parse("", &v, NULL), -EINVAL);
        ck_assert_str_eq(policy_constant_suggest("O_WRONGLY"), "O_WRONLY");

        for (size_t i = 0; policy_constant_by_index(i); i++)
                for (size_t j = i + 1; policy_constant_by_index(j); j++)
                        ck_assert_str_ne(policy_constant_by_index(i)->name, policy_constant_by_index(j)->name);
}
END_TEST

START_TEST(test_network_endpoints) {
        _cleanup_(policy_freep) Policy *p = NULL;
        PolicyDiagnostics d = {};
        const PolicyNetEndpoint *e;

        ck_assert_int_eq(load("{ 'version': 1, 'default': { 'action': 'deny' },\n"
                              "  'resources': { 'n': { 'type': 'network', 'endpoints': [\n"
                              "    { 'family': 'inet', 'address': '10.0.0.0/8', 'port': 53, 'protocol': 'udp' },\n"
                              "    { 'family': 'inet6', 'address': '::1', 'ports': '1024-65535', 'protocol': 'tcp' },\n"
                              "    { 'family': 'unix', 'path': '/run/nscd/socket' },\n"
                              "    { 'family': 'unix', 'path': '@dbus-*' },\n"
                              "    { 'family': 'inet' },\n"
                              "    { 'family': 'inet6', 'address': 'fd00::/8', 'ports': 443 }\n"
                              "  ] } },\n"
                              "  'rules': [ { 'id': 'c', 'syscalls': ['connect', 'sendto'], 'resource': 'n', 'action': 'allow' } ] }",
                              &p, &d), 0);
        dump(&d);
        ck_assert_uint_eq(p->resources[0].n_endpoints, 6);
        e = p->resources[0].endpoints;
        ck_assert_int_eq(e[0].family, AF_INET);
        ck_assert_uint_eq(e[0].addr[0], 10);
        ck_assert_uint_eq(e[0].prefixlen, 8);
        ck_assert_uint_eq(e[0].port_min, 53);
        ck_assert_uint_eq(e[0].port_max, 53);
        ck_assert_int_eq(e[0].protocol, IPPROTO_UDP);
        ck_assert_int_eq(e[1].family, AF_INET6);
        ck_assert_uint_eq(e[1].addr[15], 1);
        ck_assert_uint_eq(e[1].prefixlen, 128);
        ck_assert_uint_eq(e[1].port_min, 1024);
        ck_assert_uint_eq(e[1].port_max, 65535);
        ck_assert_int_eq(e[1].protocol, IPPROTO_TCP);
        ck_assert_int_eq(e[2].family, AF_UNIX);
        ck_assert_str_eq(e[2].unix_path, "/run/nscd/socket");
        ck_assert_str_eq(e[3].unix_path, "@dbus-*");
        ck_assert_uint_eq(e[4].prefixlen, 0); /* any address, any port, any protocol */
        ck_assert_uint_eq(e[4].port_min, 0);
        ck_assert_uint_eq(e[4].port_max, 65535);
        ck_assert_int_eq(e[4].protocol, 0);
        ck_assert_uint_eq(e[5].addr[0], 0xfd);
        ck_assert_uint_eq(e[5].prefixlen, 8);
        ck_assert_uint_eq(e[5].port_min, 443);
        ck_assert_uint_eq(e[5].port_max, 443);
}
END_TEST

START_TEST(test_path_resources) {
        _cleanup_(policy_freep) Policy *p = NULL;
        PolicyDiagnostics d = {};
        char buf[128];
        const char *why;

        ck_assert_int_eq(load("{ 'version': 1, 'default': { 'action': 'deny' },\n"
                              "  'resources': {\n"
                              "    'etc': { 'type': 'path', 'paths': ['/etc/*.conf', '/etc/ssl/**', '/'], 'access': ['read', 'stat'] },\n"
                              "    'all': { 'type': 'path', 'paths': ['/dev/sd[a-z]', '/x/\\\\*'], 'access': ['all'] }\n"
                              "  },\n"
                              "  'rules': [\n"
                              "    { 'id': 'r', 'syscalls': ['@file-open', '@file-stat'], 'resources': ['etc', 'all'], 'action': 'allow' },\n"
                              "    { 'id': 'x', 'syscalls': ['execve', 'unlink'], 'resource': 'all', 'action': 'deny', 'errno': 'EACCES' }\n"
                              "  ] }", &p, &d), 0);
        dump(&d);
        ck_assert_str_eq(p->resources[0].name, "etc");
        ck_assert_int_eq(p->resources[0].type, POLICY_RESOURCE_PATH);
        ck_assert_str_eq(p->resources[0].paths[0], "/etc/*.conf");
        ck_assert_str_eq(p->resources[0].paths[2], "/");
        ck_assert_ptr_null(p->resources[0].paths[3]);
        ck_assert_uint_eq(p->resources[0].access, POLICY_ACCESS_READ | POLICY_ACCESS_STAT);
        ck_assert_uint_eq(p->resources[1].access, POLICY_ACCESS_ALL);
        ck_assert_uint_eq(p->resources[0].line, 3);
        ck_assert_uint_eq(p->resources[0].column, 5);
        ck_assert_uint_eq(p->rules[0].n_resources, 2);
        ck_assert_int_eq(p->rules[1].errno_value, EACCES);
        ck_assert_int_eq(policy_resource_by_name(p, "all"), 1);
        ck_assert_int_eq(policy_resource_by_name(p, "none"), -ENOENT);
        ck_assert_str_eq(policy_access_to_string(p->resources[0].access, buf, sizeof buf), "read,stat");

        ck_assert_int_eq(policy_path_pattern_validate("/usr/**", &why), 0);
        ck_assert_int_eq(policy_path_pattern_validate("/**", &why), 0);
        ck_assert_int_eq(policy_path_pattern_validate("/proc/[0-9]*/fd/*", &why), 0);
        ck_assert_int_eq(policy_path_pattern_validate("/a/./b", &why), -EINVAL);
        ck_assert_int_eq(policy_path_pattern_validate("/a**", &why), -EINVAL);
        ck_assert_int_eq(policy_path_pattern_validate("", &why), -EINVAL);
        ck_assert_int_eq(policy_path_pattern_validate("/a\\", &why), -EINVAL);
}
END_TEST

static const char identities_policy[] =
        "{ 'version': 1, 'default': { 'action': 'deny' },\n"
        "  'trust': { 'maximum': 200, 'initial': 150, 'quarantine_below': 10 },\n"
        "  'identities': {\n"
        "    'pinned': { 'match': { 'image_digest': 'sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef' }, 'trust': 200 },\n"
        "    'web': { 'match': { 'name': 'web-*', 'labels': { 'app': 'web', 'tier': 'front' } }, 'trust': 80 },\n"
        "    'any-web': { 'match': { 'name': 'web-*' } }\n"
        "  },\n"
        "  'rules': [ { 'id': 'w', 'identity': 'web', 'syscalls': ['getpid'], 'action': 'allow' } ] }";

START_TEST(test_identities) {
        _cleanup_(policy_freep) Policy *p = NULL;
        PolicyDiagnostics d = {};
        char *web_labels[] = { (char *) "tier=front", (char *) "app=web", (char *) "extra=1", NULL };
        char *half_labels[] = { (char *) "app=web", NULL };
        PolicyWorkload w;

        ck_assert_int_eq(load(identities_policy, &p, &d), 0);
        dump(&d);
        ck_assert_uint_eq(p->n_identities, 3);
        ck_assert_str_eq(p->identities[0].name, "pinned");
        ck_assert_str_eq(p->identities[1].match_name, "web-*");
        ck_assert_str_eq(p->identities[1].match_labels[0], "app=web");
        ck_assert_str_eq(p->identities[1].match_labels[1], "tier=front");
        ck_assert_ptr_null(p->identities[1].match_digest);
        ck_assert_uint_eq(p->identities[1].line, 5);
        ck_assert_int_eq(p->rules[0].identity, 1);
        ck_assert_int_eq(policy_identity_by_name(p, "any-web"), 2);
        ck_assert_int_eq(policy_identity_by_name(p, "*"), POLICY_IDENTITY_ANY);
        ck_assert_int_eq(policy_identity_by_name(p, "nope"), -ENOENT);

        /* By name and labels: all labels must be there (extra ones do not matter). */
        w = (PolicyWorkload) { .name = "web-1", .labels = web_labels };
        ck_assert_int_eq(policy_identity_resolve(p, &w), 1);
        /* Missing a label: falls through to the next identity in file order. */
        w = (PolicyWorkload) { .name = "web-1", .labels = half_labels };
        ck_assert_int_eq(policy_identity_resolve(p, &w), 2);
        /* By digest, before the name-based ones because it comes first. */
        w = (PolicyWorkload) { .name = "web-1", .labels = web_labels,
                               .image_digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" };
        ck_assert_int_eq(policy_identity_resolve(p, &w), 0);
        /* Nothing matches: "*". */
        w = (PolicyWorkload) { .name = "db-1" };
        ck_assert_int_eq(policy_identity_resolve(p, &w), POLICY_IDENTITY_ANY);
        w = (PolicyWorkload) {};
        ck_assert_int_eq(policy_identity_resolve(p, &w), POLICY_IDENTITY_ANY);

        ck_assert_int_eq(policy_identity_trust(p, 0), 200);
        ck_assert_int_eq(policy_identity_trust(p, 1), 80);
        ck_assert_int_eq(policy_identity_trust(p, 2), 150); /* the policy's initial */
        ck_assert_int_eq(policy_identity_trust(p, POLICY_IDENTITY_ANY), 150);
}
END_TEST

START_TEST(test_shipped_policies) {
        static const char *const files[] = {
                "policies/default.json", "policies/strict.json", "policies/web-service.json",
        };

        FOREACH_ELEMENT(f, files) {
                _cleanup_(policy_freep) Policy *p = NULL;
                PolicyDiagnostics d = {};
                int r = policy_load_file(fo_test_source_path(*f), &p, &d, NULL);

                dump(&d);
                ck_assert_msg(r == 0, "%s: %d", *f, r);
                ck_assert_uint_eq(d.n_errors, 0);
                ck_assert_int_eq(p->default_verdict, POLICY_VERDICT_DENY);
                ck_assert_uint_gt(p->n_rules, 5);
                ck_assert_ptr_nonnull(p->description);
                for (size_t i = 0; i < p->n_rules; i++)
                        ck_assert_ptr_nonnull(p->rules[i].syscalls[0]);
        }
}
END_TEST

START_TEST(test_shipped_policy_semantics) {
        _cleanup_(policy_freep) Policy *p = NULL;
        PolicyDiagnostics d = {};
        int shadow, quarantine = -1;

        ck_assert_int_eq(policy_load_file(fo_test_source_path("policies/default.json"), &p, &d, NULL), 0);
        shadow = policy_resource_by_name(p, "secrets");
        ck_assert_int_ge(shadow, 0);
        for (size_t i = 0; i < p->n_rules; i++)
                if (streq(p->rules[i].id, "mount-quarantines"))
                        quarantine = (int) i;
        ck_assert_int_ge(quarantine, 0);
        ck_assert_int_eq(p->rules[quarantine].verdict, POLICY_VERDICT_QUARANTINE);
        ck_assert(strstr(p->rules[quarantine].description, "compromised"));
        ck_assert(strstr(p->resources[shadow].description, "Password hashes"));
        ck_assert_str_eq(p->rules[quarantine].syscalls[0], "chroot");
        policy_free(TAKE_PTR(p));

        ck_assert_int_eq(policy_load_file(fo_test_source_path("policies/web-service.json"), &p, &d, NULL),
                         0);
        ck_assert_int_eq(policy_identity_by_name(p, "web"), 0);
        ck_assert_ptr_nonnull(p->identities[0].description);
        ck_assert_int_eq(policy_identity_trust(p, 1), 70);
}
END_TEST

START_TEST(test_string_tables) {
        char buf[64];

        for (int v = 0; v < _POLICY_VERDICT_MAX; v++)
                ck_assert_int_eq(policy_verdict_from_string(policy_verdict_to_string(v)), v);
        ck_assert_int_eq(policy_verdict_from_string("permit"), _POLICY_VERDICT_INVALID);
        ck_assert_ptr_null(policy_verdict_to_string(_POLICY_VERDICT_MAX));
        ck_assert(POLICY_VERDICT_QUARANTINE > POLICY_VERDICT_DENY && POLICY_VERDICT_DENY > POLICY_VERDICT_EMULATE &&
                  POLICY_VERDICT_EMULATE > POLICY_VERDICT_ALLOW);

        for (int o = 0; o < _POLICY_ARG_OP_MAX; o++)
                ck_assert_int_eq(policy_arg_op_from_string(policy_arg_op_to_string(o)), o);
        for (int t = 0; t < _POLICY_RESOURCE_TYPE_MAX; t++)
                ck_assert_int_eq(policy_resource_type_from_string(policy_resource_type_to_string(t)), t);

        for (unsigned b = 0; policy_access_bit_to_string(b); b++)
                ck_assert_int_eq(policy_access_from_string(policy_access_bit_to_string(b)), (int) (1u << b));
        ck_assert_int_eq(policy_access_from_string("execute"), -EINVAL);
        ck_assert_str_eq(policy_access_to_string(POLICY_ACCESS_READ | POLICY_ACCESS_EXEC, buf, sizeof buf),
                         "read,exec");
        ck_assert_str_eq(policy_access_to_string(0, buf, sizeof buf), "none");
        ck_assert_str_eq(policy_access_to_string(POLICY_ACCESS_ALL, buf, sizeof buf),
                         "read,write,create,delete,exec,stat,attr");
        /* Truncation keeps a terminated string. */
        ck_assert_str_eq(policy_access_to_string(POLICY_ACCESS_ALL, buf, 12), "read,write");

        ck_assert_int_eq(policy_errno_from_string("EACCES"), EACCES);
        ck_assert_int_eq(policy_errno_from_string("ENOSYS"), ENOSYS);
        ck_assert_int_eq(policy_errno_from_string("EWOULDBLOCK"), EAGAIN);
        ck_assert_int_eq(policy_errno_from_string("EFOO"), -EINVAL);
        ck_assert_str_eq(policy_errno_to_string(EPERM), "EPERM");
        ck_assert_ptr_null(policy_errno_to_string(4000));
}
END_TEST

START_TEST(test_arg_conditions) {
        const SyscallArgWidth U64 = SYSCALL_WIDTH_U64;
        PolicyArgCond c = { .index = 0, .op = POLICY_ARG_EQ, .value = 5 };

        ck_assert(policy_arg_cond_test(&c, U64, 5));
        ck_assert(!policy_arg_cond_test(&c, U64, 6));
        c.op = POLICY_ARG_NE;
        ck_assert(policy_arg_cond_test(&c, U64, 6) && !policy_arg_cond_test(&c, U64, 5));
        c.op = POLICY_ARG_LT;
        ck_assert(policy_arg_cond_test(&c, U64, 4) && !policy_arg_cond_test(&c, U64, 5));
        c.op = POLICY_ARG_LE;
        ck_assert(policy_arg_cond_test(&c, U64, 5) && !policy_arg_cond_test(&c, U64, 6));
        c.op = POLICY_ARG_GT;
        ck_assert(policy_arg_cond_test(&c, U64, 6) && !policy_arg_cond_test(&c, U64, 5));
        /* An unsigned long: -1 is the largest value. */
        ck_assert(policy_arg_cond_test(&c, U64, (uint64_t) -1));
        c.op = POLICY_ARG_GE;
        ck_assert(policy_arg_cond_test(&c, U64, 5) && !policy_arg_cond_test(&c, U64, 4));
        c = (PolicyArgCond) { .op = POLICY_ARG_MASKED_EQ, .mask = 0x10000000, .value = 0x10000000 };
        ck_assert(policy_arg_cond_test(&c, U64, 0x10000000 | 0x11));
        ck_assert(!policy_arg_cond_test(&c, U64, 0x11));
        c.op = _POLICY_ARG_OP_INVALID;
        ck_assert(!policy_arg_cond_test(&c, U64, 0));
        ck_assert(!policy_arg_cond_test(NULL, U64, 0));
}
END_TEST

/* The kernel reads an int or unsigned int argument as the low 32 bits of its register: the bits above
 * never change the answer, and an int compares as a signed number. */
START_TEST(test_arg_conditions_width) {
        const uint64_t high = UINT64_C(0xdeadbeef) << 32;
        PolicyArgCond c = { .index = 1, .op = POLICY_ARG_NE, .value = 0x5412 /* TIOCSTI */ };

        ck_assert(!policy_arg_cond_test(&c, SYSCALL_WIDTH_U32, 0x5412 | high));
        ck_assert(policy_arg_cond_test(&c, SYSCALL_WIDTH_U64, 0x5412 | high)); /* an unsigned long differs */
        c.op = POLICY_ARG_EQ;
        ck_assert(policy_arg_cond_test(&c, SYSCALL_WIDTH_U32, 0x5412 | high));
        ck_assert(policy_arg_cond_test(&c, SYSCALL_WIDTH_S32, 0x5412 | high));

        c = (PolicyArgCond) { .op = POLICY_ARG_LT, .value = 0 };
        ck_assert(policy_arg_cond_test(&c, SYSCALL_WIDTH_S32, 0xffffffff));        /* -1 < 0 */
        ck_assert(!policy_arg_cond_test(&c, SYSCALL_WIDTH_S32, UINT64_C(1) << 32)); /* 0 */
        ck_assert(!policy_arg_cond_test(&c, SYSCALL_WIDTH_U32, 0xffffffff));
        ck_assert(policy_arg_cond_test(&c, SYSCALL_WIDTH_S64, UINT64_MAX));
        c = (PolicyArgCond) { .op = POLICY_ARG_EQ, .value = (uint64_t) -100 /* AT_FDCWD */ };
        ck_assert(policy_arg_cond_test(&c, SYSCALL_WIDTH_S32, 0xffffff9c));
        ck_assert(policy_arg_cond_test(&c, SYSCALL_WIDTH_S32, high | 0xffffff9c));
        ck_assert(!policy_arg_cond_test(&c, SYSCALL_WIDTH_U32, 0xffffff9c));
        c = (PolicyArgCond) { .op = POLICY_ARG_MASKED_EQ, .mask = 07000, .value = 04000 };
        ck_assert(policy_arg_cond_test(&c, SYSCALL_WIDTH_U16, 0x10000 | 04755));
        ck_assert(!policy_arg_cond_test(&c, SYSCALL_WIDTH_U16, 06755));

        /* What a policy may write for each width. */
        c = (PolicyArgCond) { .op = POLICY_ARG_EQ, .value = (uint64_t) -1 };
        ck_assert(policy_arg_cond_fits(&c, SYSCALL_WIDTH_S32));
        ck_assert(!policy_arg_cond_fits(&c, SYSCALL_WIDTH_U32));
        ck_assert(policy_arg_cond_fits(&c, SYSCALL_WIDTH_U64));
        c.value = 0xffffffff;
        ck_assert(!policy_arg_cond_fits(&c, SYSCALL_WIDTH_S32));
        ck_assert(policy_arg_cond_fits(&c, SYSCALL_WIDTH_U32));
        c.value = UINT64_C(1) << 32;
        ck_assert(!policy_arg_cond_fits(&c, SYSCALL_WIDTH_U32));
        c.value = 0x10000;
        ck_assert(!policy_arg_cond_fits(&c, SYSCALL_WIDTH_U16));
        c = (PolicyArgCond) { .op = POLICY_ARG_MASKED_EQ, .mask = 0xffffffff, .value = 0x80000000 };
        ck_assert(policy_arg_cond_fits(&c, SYSCALL_WIDTH_S32));
        c.mask = UINT64_C(1) << 32;
        c.value = 0;
        ck_assert(!policy_arg_cond_fits(&c, SYSCALL_WIDTH_S32));
}
END_TEST

START_TEST(test_json_positions) {
        static const char text[] = "{\n"
                                   "  \"a/b\": [1, {\"x~y\": \"v\"}],\n"
                                   "  \"\\u00e9t\\u00e9\": true,\n"
                                   "  \"d\": {\"k\": 1, \"k\": {\"deep\": 1, \"deep\": 2}},\n"
                                   "  \"z\": \"é\", \"w\": 0\n"
                                   "}";
        _cleanup_(json_positions_freep) JsonPositions *pos = NULL;
        size_t v, k, bad = 0;
        unsigned line, col;
        _cleanup_free_ char *ptr = json_pointer_append_key("/a", "x~y/z");

        ck_assert_str_eq(ptr, "/a/x~0y~1z");
        ck_assert_int_eq(json_positions_scan(text, sizeof text - 1, &pos, NULL), 0);

        ck_assert_int_eq(json_positions_lookup(pos, "", &v, &k), 0);
        ck_assert_uint_eq(v, 0);
        ck_assert_int_eq(json_positions_lookup(pos, "/a~1b/1/x~0y", &v, &k), 0);
        json_offset_to_line_column(text, sizeof text - 1, v, &line, &col);
        ck_assert_uint_eq(line, 2);
        ck_assert_uint_eq(col, 22);
        json_offset_to_line_column(text, sizeof text - 1, k, &line, &col);
        ck_assert_uint_eq(col, 15);
        ck_assert_int_eq(json_positions_lookup(pos, "/a~1b/0", &v, &k), 0);
        ck_assert_uint_eq(v, k);
        /* Keys are decoded as json-c decodes them. */
        ck_assert_int_eq(json_positions_lookup(pos, "/\xc3\xa9t\xc3\xa9", &v, NULL), 0);
        json_offset_to_line_column(text, sizeof text - 1, v, &line, &col);
        ck_assert_uint_eq(line, 3);
        ck_assert_uint_eq(col, 20);
        /* Columns count characters: "é" is two bytes, one column. */
        ck_assert_int_eq(json_positions_lookup(pos, "/w", NULL, &k), 0);
        json_offset_to_line_column(text, sizeof text - 1, k, &line, &col);
        ck_assert_uint_eq(line, 5);
        ck_assert_uint_eq(col, 13);
        ck_assert_int_eq(json_positions_lookup(pos, "/nope", &v, &k), -ENOENT);

        /* "k" is repeated; its members are not reported again. The last one wins the lookup. */
        ck_assert_str_eq(json_positions_duplicate(pos, 0, &k), "/d/k");
        json_offset_to_line_column(text, sizeof text - 1, k, &line, &col);
        ck_assert_uint_eq(line, 4);
        ck_assert_uint_eq(col, 17);
        ck_assert_ptr_null(json_positions_duplicate(pos, 1, &k));
        ck_assert_int_eq(json_positions_lookup(pos, "/d/k", &v, NULL), 0);
        ck_assert_int_eq(text[v], '{');

        ck_assert_int_eq(json_positions_scan("{\"a\": 'x'}", 10, &pos, &bad), -EINVAL);
        ck_assert_uint_eq(bad, 6);
        ck_assert_int_eq(json_positions_scan("[1, 2", 5, &pos, NULL), -EINVAL);
}
END_TEST

/* Positions stay exact deep into a long file (they come from a line index, not a rescan). */
START_TEST(test_many_rules_positions) {
        const size_t n = 5000;
        _cleanup_(policy_freep) Policy *p = NULL;
        PolicyDiagnostics d = {};
        char *text = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&text, &size);

        ck_assert_ptr_nonnull(f);
        fputs("{\n  \"version\": 1,\n  \"default\": { \"action\": \"deny\" },\n  \"rules\": [\n", f);
        for (size_t i = 0; i < n; i++)
                fprintf(f, "    { \"id\": \"r%zu\", \"syscalls\": [\"%s\"], \"action\": \"allow\" }%s\n", i,
                        i == n - 1 ? "getpdi" : "getpid", i == n - 1 ? "" : ",");
        fputs("  ]\n}\n", f);
        ck_assert_int_eq(fclose(f), 0);

        ck_assert_int_eq(policy_load_string(text, size, "many.json", &p, &d, NULL), -EINVAL);
        ck_assert_uint_eq(d.n_errors, 1);
        ck_assert_uint_eq(d.errors[0].line, 4 + n);
        ck_assert_uint_eq(d.errors[0].column, 35);
        ck_assert(strstr(d.errors[0].message, "rules[4999].syscalls[0]: unknown syscall \"getpdi\" (did you mean \"getpid\"?)"));
        policy_diagnostics_done(&d);

        /* Fixed, it loads, and every rule knows its line. */
        memcpy(strstr(text, "getpdi"), "getpid", 6);
        ck_assert_int_eq(policy_load_string(text, size, "many.json", &p, &d, NULL), 0);
        ck_assert_uint_eq(p->n_rules, n);
        for (size_t i = 0; i < n; i++) {
                ck_assert_uint_eq(p->rules[i].line, 5 + i);
                ck_assert_uint_eq(p->rules[i].column, 5);
        }
        free(text);
}
END_TEST

/* The examples in forgeone.policy(5) are valid policies (fragments inside a minimal document). */
START_TEST(test_man_page_examples) {
        _cleanup_free_ char *man = NULL;
        const char *section, *p;
        size_t size = 0, n_examples = 0;
        FILE *f;

        f = fopen(fo_test_source_path("man/forgeone.policy.5"), "re");
        ck_assert_ptr_nonnull(f);
        ck_assert_int_gt(getdelim(&man, &size, 0, f), 0);
        fclose(f);

        section = strstr(man, "\n.SH EXAMPLES\n");
        ck_assert_ptr_nonnull(section);
        for (p = section; (p = strstr(p, "\n.nf\n.ft CR\n")) && p < strstr(section + 1, "\n.SH FILES"); ) {
                _cleanup_(policy_freep) Policy *policy = NULL;
                _cleanup_free_ char *doc = NULL;
                PolicyDiagnostics d = {};
                const char *start = p + strlen("\n.nf\n.ft CR\n"), *end = strstr(start, "\n.ft\n");
                char *o;

                ck_assert_ptr_nonnull(end);
                doc = malloc((size_t) (end - start) + 128);
                ck_assert_ptr_nonnull(doc);
                o = doc;
                if (*start != '{')
                        o = stpcpy(o, "{ \"version\": 1, \"default\": { \"action\": \"deny\" },\n");
                /* roff escapes: \- is a minus, \e a backslash */
                for (const char *k = start; k < end; k++) {
                        if (k[0] == '\\' && k + 1 < end && (k[1] == '-' || k[1] == 'e')) {
                                *o++ = k[1] == '-' ? '-' : '\\';
                                k++;
                        } else
                                *o++ = *k;
                }
                o = stpcpy(o, *start != '{' ? "\n}\n" : "\n");
                *o = 0;

                if (policy_load_string(doc, strlen(doc), "man-example.json", &policy, &d, NULL) < 0) {
                        dump(&d);
                        ck_abort_msg("example %zu of the man page does not load:\n%s", n_examples, doc);
                }
                n_examples++;
                p = end;
        }
        ck_assert_uint_ge(n_examples, 3);
}
END_TEST

/* Fixture files: every tests/policies/bad/X.json gives exactly the diagnostics in X.expected
 * ("LINE:COLUMN: MESSAGE" lines), every tests/policies/good/X.json loads. */
static char *read_text(const char *path) {
        char *text = NULL;
        size_t size = 0;
        FILE *f = fopen(path, "re");

        if (!f)
                return NULL;
        if (getdelim(&text, &size, 0, f) < 0) {
                free(text);
                text = strdup("");
        }
        fclose(f);
        return text;
}

START_TEST(test_fixture_files) {
        static const char *const dirs[] = { "tests/policies/bad", "tests/policies/good" };
        size_t n_bad = 0, n_good = 0;

        FOREACH_ELEMENT(dir, dirs) {
                _cleanup_free_ char *base = strdup(fo_test_source_path(*dir));
                bool bad = strstr(*dir, "/bad") != NULL;
                DIR *d = opendir(base);
                struct dirent *de;

                ck_assert_msg(d, "cannot open %s", base);
                while ((de = readdir(d))) {
                        _cleanup_(policy_freep) Policy *p = NULL;
                        _cleanup_free_ char *path = NULL, *expected_path = NULL, *expected = NULL, *got = NULL;
                        PolicyDiagnostics diag = {};
                        size_t len = strlen(de->d_name), got_size = 0;
                        FILE *out;
                        int r;

                        if (len < 6 || !streq(de->d_name + len - 5, ".json"))
                                continue;
                        ck_assert_int_ge(asprintf(&path, "%s/%s", base, de->d_name), 0);
                        r = policy_load_file(path, &p, &diag, NULL);
                        if (!bad) {
                                dump(&diag);
                                ck_assert_msg(r == 0, "%s does not load: %d", de->d_name, r);
                                n_good++;
                                continue;
                        }

                        ck_assert_msg(r == -EINVAL, "%s: %d", de->d_name, r);
                        ck_assert_int_ge(asprintf(&expected_path, "%s/%.*s.expected", base, (int) len - 5,
                                                  de->d_name), 0);
                        expected = read_text(expected_path);
                        ck_assert_msg(expected, "%s has no .expected file", de->d_name);
                        out = open_memstream(&got, &got_size);
                        ck_assert_ptr_nonnull(out);
                        for (size_t i = 0; i < diag.n_errors; i++) {
                                ck_assert_str_eq(diag.errors[i].file, path);
                                fprintf(out, "%u:%u: %s\n", diag.errors[i].line, diag.errors[i].column,
                                        diag.errors[i].message);
                        }
                        ck_assert_int_eq(fclose(out), 0);
                        ck_assert_msg(streq(got, expected), "%s: diagnostics differ.\ngot:\n%s\nexpected:\n%s",
                                      de->d_name, got, expected);
                        policy_diagnostics_done(&diag);
                        n_bad++;
                }
                closedir(d);
        }
        ck_assert_uint_ge(n_bad, 4);
        ck_assert_uint_ge(n_good, 1);
}
END_TEST

static Suite *policy_parse_suite(void) {
        Suite *s = suite_create("policy-parse");
        TCase *tc;

        tc = tcase_create("errors");
        tcase_add_loop_test(tc, test_bad_policies, 0, (int) ELEMENTSOF(bad_cases));
        tcase_add_test(tc, test_all_errors_in_file_order);
        tcase_add_test(tc, test_nul_byte_and_missing_file);
        tcase_add_test(tc, test_fixture_files);
        suite_add_tcase(s, tc);

        tc = tcase_create("model");
        tcase_add_test(tc, test_defaults_filled);
        tcase_add_test(tc, test_digest_of_text);
        tcase_add_test(tc, test_groups_expanded);
        tcase_add_test(tc, test_foreign_architectures);
        tcase_add_test(tc, test_constants_resolved);
        tcase_add_test(tc, test_constant_parser);
        tcase_add_test(tc, test_network_endpoints);
        tcase_add_test(tc, test_path_resources);
        tcase_add_test(tc, test_identities);
        tcase_add_test(tc, test_string_tables);
        tcase_add_test(tc, test_arg_conditions);
        tcase_add_test(tc, test_arg_conditions_width);
        tcase_add_test(tc, test_json_positions);
        tcase_add_test(tc, test_many_rules_positions);
        suite_add_tcase(s, tc);

        tc = tcase_create("shipped");
        tcase_add_test(tc, test_shipped_policies);
        tcase_add_test(tc, test_shipped_policy_semantics);
        tcase_add_test(tc, test_man_page_examples);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        return fo_test_run(policy_parse_suite());
}
