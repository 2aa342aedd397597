// libcap (Debian: libcap-dev) for Sonde's privilege drop.
#ifndef SONDE_CLIBCAP_SHIM_H
#define SONDE_CLIBCAP_SHIM_H
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <unistd.h>
#include <pwd.h>
#include <grp.h>

/// Keeps exactly CAP_NET_RAW, permitted and effective; nothing inheritable. Returns 0 or -1 with errno.
static inline int sonde_cap_keep_net_raw(void) {
    cap_t caps = cap_init();
    if (caps == NULL) return -1;
    cap_value_t keep[1] = {CAP_NET_RAW};
    int result = cap_set_flag(caps, CAP_PERMITTED, 1, keep, CAP_SET);
    if (result == 0) result = cap_set_flag(caps, CAP_EFFECTIVE, 1, keep, CAP_SET);
    if (result == 0) result = cap_set_proc(caps);
    cap_free(caps);
    return result;
}

/// Drops every capability (permitted, effective, inheritable). Returns 0 or -1 with errno.
static inline int sonde_cap_clear(void) {
    cap_t caps = cap_init();
    if (caps == NULL) return -1;
    int result = cap_set_proc(caps);
    cap_free(caps);
    return result;
}

/// 1 when `capability` is in this thread's `set` (CAP_EFFECTIVE, CAP_PERMITTED …).
static inline int sonde_cap_has(cap_value_t capability, cap_flag_t set) {
    cap_t caps = cap_get_proc();
    if (caps == NULL) return 0;
    cap_flag_value_t value = CAP_CLEAR;
    cap_get_flag(caps, capability, set, &value);
    cap_free(caps);
    return value == CAP_SET;
}

static inline int sonde_set_no_new_privs(void) { return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); }

/// Not dumpable: a process of the same uid (a plug-in) can neither ptrace this one nor read its memory or its
/// environment under /proc. Returns 0 or -1 with errno.
static inline int sonde_set_not_dumpable(void) { return prctl(PR_SET_DUMPABLE, 0, 0, 0, 0); }

#endif
