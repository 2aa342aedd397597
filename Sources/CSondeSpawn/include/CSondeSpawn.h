// Starting external probe executables safely: posix_spawn with pipes for stdin/stdout/stderr, a process group
// of their own (so a deadline kills everything they started), default signal handling, every other
// descriptor closed.
#ifndef CSONDESPAWN_H
#define CSONDESPAWN_H

#include <sys/types.h>

typedef struct {
    pid_t pid;
    int stdin_fd;   // write end, non-blocking
    int stdout_fd;  // read end, non-blocking
    int stderr_fd;  // read end, non-blocking
} sonde_child;

/// Executes `path` directly (no shell) with `argv` and `envp` — or, when `exec_fd` is a descriptor (an O_PATH one
/// will do), the file it refers to. Returns 0, or an errno value.
int sonde_spawn(const char *path, int exec_fd, char *const argv[], char *const envp[], sonde_child *child);

/// Opens `path` itself (O_PATH, never following a final symbolic link, close-on-exec) at a descriptor above 9, so
/// that it can be handed to a child as descriptor 3. Returns the descriptor, or -1 with errno.
int sonde_open_executable(const char *path);

/// Makes this process the subreaper of its descendants: what a child leaves behind (even in a session of its own)
/// becomes ours when the child exits, so it can be found and killed. Returns 0 or an errno value.
int sonde_become_subreaper(void);

/// SIGKILLs and reaps every child of this process not in `known` (descendants a finished child left behind and
/// that were handed to us as subreaper), round after round until none is left. Returns how many were killed.
int sonde_kill_orphans(const pid_t *known, int count);

/// 1 if the child has exited (left unreaped, so its process group id stays reserved), 0 if it still runs, -1 on error.
int sonde_has_exited(pid_t pid);

/// SIGKILL to the child's whole process group.
void sonde_kill_group(pid_t pid);

/// Reaps the child; returns its wait status, or -1. Call after `sonde_kill_group`, so it does not wait long.
int sonde_reap(pid_t pid);

#endif
