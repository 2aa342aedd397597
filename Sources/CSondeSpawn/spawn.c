#define _GNU_SOURCE
#include "CSondeSpawn.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static void close_pair(int pair[2]) {
    if (pair[0] >= 0) close(pair[0]);
    if (pair[1] >= 0) close(pair[1]);
}

int sonde_spawn_with(const char *path, int exec_fd, int in_fd, int out_fd, int err_fd,
                     char *const argv[], char *const envp[], pid_t *pid) {
    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attributes;
    posix_spawn_file_actions_init(&actions);
    posix_spawnattr_init(&attributes);
    posix_spawn_file_actions_adddup2(&actions, in_fd, 0);
    posix_spawn_file_actions_adddup2(&actions, out_fd, 1);
    posix_spawn_file_actions_adddup2(&actions, err_fd, 2);
    // Nothing of Sonde's leaks into the child: no sockets, no listener, no token file. With `exec_fd`, the
    // file that runs is the one opened (and checked) then, whatever its path names now: it is passed as
    // descriptor 3 and executed through /proc/self/fd/3 (a script's interpreter opens it there too).
    if (exec_fd >= 0) {
        posix_spawn_file_actions_adddup2(&actions, exec_fd, 3);
        posix_spawn_file_actions_addclosefrom_np(&actions, 4);
        path = "/proc/self/fd/3";
    } else {
        posix_spawn_file_actions_addclosefrom_np(&actions, 3);
    }
    posix_spawn_file_actions_addchdir_np(&actions, "/");
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawnattr_setsigmask(&attributes, &none);
    posix_spawnattr_setsigdefault(&attributes, &all);
    posix_spawnattr_setpgroup(&attributes, 0);
    posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);
    int result = posix_spawn(pid, path, &actions, &attributes, argv, envp);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attributes);
    return result;
}

int sonde_make_pipes(sonde_child *child, int child_ends[3]) {
    int in[2] = {-1, -1}, out[2] = {-1, -1}, err[2] = {-1, -1};
    if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) {
        int saved = errno;
        close_pair(in); close_pair(out); close_pair(err);
        return saved;
    }
    fcntl(in[1], F_SETFL, fcntl(in[1], F_GETFL) | O_NONBLOCK);
    fcntl(out[0], F_SETFL, fcntl(out[0], F_GETFL) | O_NONBLOCK);
    fcntl(err[0], F_SETFL, fcntl(err[0], F_GETFL) | O_NONBLOCK);
    child->pid = 0;
    child->stdin_fd = in[1];
    child->stdout_fd = out[0];
    child->stderr_fd = err[0];
    child_ends[0] = in[0];
    child_ends[1] = out[1];
    child_ends[2] = err[1];
    return 0;
}

void sonde_close_child(sonde_child *child) {
    close(child->stdin_fd);
    close(child->stdout_fd);
    close(child->stderr_fd);
}

int sonde_spawn(const char *path, int exec_fd, char *const argv[], char *const envp[], sonde_child *child) {
    int ends[3];
    int made = sonde_make_pipes(child, ends);
    if (made != 0) return made;
    pid_t pid = 0;
    int result = sonde_spawn_with(path, exec_fd, ends[0], ends[1], ends[2], argv, envp, &pid);
    close(ends[0]);
    close(ends[1]);
    close(ends[2]);
    if (result != 0) {
        sonde_close_child(child);
        return result;
    }
    child->pid = pid;
    return 0;
}

void sonde_kill_group(pid_t pid) {
    if (pid > 0) kill(-pid, SIGKILL);
}

int sonde_reap(pid_t pid) {
    int status = 0;
    pid_t done;
    do {
        done = waitpid(pid, &status, 0);
    } while (done < 0 && errno == EINTR);
    return done == pid ? status : -1;
}

int sonde_has_exited(pid_t pid) {
    siginfo_t info;
    info.si_pid = 0;
    if (waitid(P_PID, (id_t)pid, &info, WEXITED | WNOHANG | WNOWAIT) != 0) return -1;
    return info.si_pid == pid ? 1 : 0;
}

int sonde_become_subreaper(void) {
    return prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0 ? 0 : errno;
}

/// The parent pid in /proc/PID/stat (after the command name, which may hold spaces and parentheses).
static pid_t parent_of(const char *pid) {
    char path[64], buffer[512];
    snprintf(path, sizeof path, "/proc/%s/stat", pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    ssize_t count = read(fd, buffer, sizeof buffer - 1);
    close(fd);
    if (count <= 0) return -1;
    buffer[count] = 0;
    char *end = strrchr(buffer, ')');
    if (!end) return -1;
    char state;
    int parent;
    if (sscanf(end + 1, " %c %d", &state, &parent) != 2) return -1;
    return (pid_t)parent;
}

int sonde_kill_orphans(const pid_t *known, int count) {
    pid_t self = getpid();
    int killed = 0;
    // Killing one orphan hands its own children to us: go round until none is left (bounded).
    for (int round = 0; round < 16; round++) {
        DIR *proc = opendir("/proc");
        if (!proc) return killed;
        int found = 0;
        struct dirent *entry;
        while ((entry = readdir(proc)) != NULL) {
            if (entry->d_name[0] < '0' || entry->d_name[0] > '9') continue;
            if (parent_of(entry->d_name) != self) continue;
            pid_t pid = (pid_t)atoi(entry->d_name);
            int listed = 0;
            for (int index = 0; index < count; index++) listed |= known[index] == pid;
            if (listed) continue;
            kill(pid, SIGKILL);
            while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {}
            found++;
        }
        closedir(proc);
        killed += found;
        if (found == 0) break;
    }
    return killed;
}

int sonde_open_executable(const char *path) {
    int fd = open(path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return -1;
    int moved = fcntl(fd, F_DUPFD_CLOEXEC, 10);
    int saved = errno;
    close(fd);
    errno = saved;
    return moved;
}
