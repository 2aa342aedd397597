// Starting external probe executables safely: posix_spawn with pipes for stdin/stdout/stderr, a process group
// of their own (so a deadline kills everything they started), default signal handling, every other
// descriptor closed.
#ifndef CSONDESPAWN_H
#define CSONDESPAWN_H

#include <stdint.h>
#include <sys/types.h>

typedef struct {
    pid_t pid;
    int stdin_fd;   // write end, non-blocking
    int stdout_fd;  // read end, non-blocking
    int stderr_fd;  // read end, non-blocking
} sonde_child;

/// Creates the three pipes of a child (close-on-exec; Sonde's ends non-blocking) into `child` (pid 0) and
/// `child_ends` (stdin's read end, stdout's and stderr's write ends). Returns 0 or an errno value.
int sonde_make_pipes(sonde_child *child, int child_ends[3]);

/// Closes Sonde's three ends of a child's pipes.
void sonde_close_child(sonde_child *child);

/// posix_spawn of `path` (or of the file `exec_fd` refers to) with the given descriptors as its stdin, stdout and
/// stderr, in a process group of its own, default signal handling, every other descriptor closed. 0 or an errno.
int sonde_spawn_with(const char *path, int exec_fd, int in_fd, int out_fd, int err_fd,
                     char *const argv[], char *const envp[], pid_t *pid);

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

/// A message from the plug-in launcher: READY (`value` 0 or the errno that stopped it), SPAWNED (for request `id`:
/// `pid`, or the errno in `value`), EXITED (`pid` and its wait status in `value`).
enum { SONDE_LAUNCH_SPAWNED = 2, SONDE_LAUNCH_EXITED = 3, SONDE_LAUNCH_READY = 5 };
typedef struct {
    uint32_t type;
    uint32_t id;
    int32_t pid;
    int32_t value;
} sonde_launch_message;

/// Forks the plug-in launcher, which becomes `uid`:`gid` with no capabilities, NO_NEW_PRIVS, not dumpable, and
/// the subreaper of what it starts; waits until it is ready. Call as root, single-threaded, before any secret is
/// read. Returns 0 (with Sonde's end of the socket, non-blocking, and the launcher's pid) or an errno value.
int sonde_launcher_start(uid_t uid, gid_t gid, int *socket_fd, pid_t *launcher_pid);

/// Asks the launcher to start the file `exec_fd` refers to with `argv` and `envp` (NULL-terminated) on the given
/// child pipe ends; its SPAWNED answer carries `id`. Returns 0, EAGAIN (try when writable) or an errno value.
int sonde_launcher_request_spawn(int socket_fd, uint32_t id, int exec_fd, const int child_ends[3],
                                 char *const argv[], char *const envp[]);

/// Asks the launcher to SIGKILL the process group of a child it started. Returns 0 or an errno value.
int sonde_launcher_request_kill(int socket_fd, pid_t pid);

/// Reads one message: 1, 0 when none is waiting, -1 when the launcher is gone.
int sonde_launcher_receive(int socket_fd, sonde_launch_message *message);

#endif
