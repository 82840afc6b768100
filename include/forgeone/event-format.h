/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * One decision record as text, for the consumers that print them (the
 * daemon's log, its decision log): a human line and a JSON object. Paths
 * and socket names come from the workload and are escaped (event_escape()
 * for the line; json-c escapes the JSON).
 */

#include <stddef.h>

#include "forgeone/event-sink.h"

/* An errno's name ("EACCES", "0" for none, the number when it has no name); buf holds the number. */
const char *event_errno_name(int e, char buf[static 16]);

/* "10.0.0.1:443/tcp", "[::1]:53/udp", "unix:/run/x" (the path escaped): writes into buf, returns buf. */
char *event_format_addr(const PolicySockaddr *a, char *buf, size_t size);

/* "deny openat "/etc/shadow" [read] -> EACCES (rule deny-secrets)"; writes into buf, returns buf. */
char *event_format_line(const SupervisorEvent *ev, char *buf, size_t size);

/* One line of JSON without a newline: workload, seq, time, pid, tid, arch, nr, syscall, path, path2, access,
 * addr, verdict, action, errno, value, rule, reason, generation, trust, target_gone. A notice gives
 * workload, seq, time and notice. */
int event_format_json(const EventRecord *r, char **ret);
