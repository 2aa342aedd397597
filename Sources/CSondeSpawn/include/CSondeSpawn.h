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

/// Executes `path` directly (no shell) with `argv` and `envp`. Returns 0, or an errno value.
int sonde_spawn(const char *path, char *const argv[], char *const envp[], sonde_child *child);

/// 1 if the child has exited (left unreaped, so its process group id stays reserved), 0 if it still runs, -1 on error.
int sonde_has_exited(pid_t pid);

/// SIGKILL to the child's whole process group.
void sonde_kill_group(pid_t pid);

/// Reaps the child; returns its wait status, or -1. Call after `sonde_kill_group`, so it does not wait long.
int sonde_reap(pid_t pid);

#endif
