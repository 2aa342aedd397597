#define _GNU_SOURCE
#include "CSondeSpawn.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

// The plug-in launcher: a process forked from Sonde while it is still root and single-threaded, before the
// token is read, that becomes the plug-in user (no capabilities, NO_NEW_PRIVS, not dumpable) and starts the
// plug-ins Sonde asks for. Sonde sends the executable's descriptor and the child's three pipe ends with each
// request (SCM_RIGHTS); the launcher answers with the pid, kills a process group when asked, and reports each
// exit. It is the plug-ins' subreaper: what a plug-in leaves behind is killed when the plug-in exits.

enum { REQUEST_SPAWN = 1, REQUEST_KILL = 4 };
enum { MAX_CHILDREN = 1024, MAX_STRINGS = 4096, MAX_REQUEST = 64 * 1024 };

typedef struct {
    uint32_t type;
    uint32_t id;
    uint32_t argc;  // a kill request: the pid
    uint32_t envc;
} request_header;

extern char **environ;

static pid_t children[MAX_CHILDREN];
static int child_count;

static int send_message(int fd, uint32_t type, uint32_t id, int32_t pid, int32_t value) {
    sonde_launch_message message = {type, id, pid, value};
    ssize_t sent;
    do {
        sent = send(fd, &message, sizeof message, MSG_NOSIGNAL);
    } while (sent < 0 && errno == EINTR);
    return sent == (ssize_t)sizeof message ? 0 : -1;
}

static int known_index(pid_t pid) {
    for (int index = 0; index < child_count; index++) {
        if (children[index] == pid) return index;
    }
    return -1;
}

static void forget(int index) {
    children[index] = children[--child_count];
}

/// Every exited child: its group is killed (what it left running), it is reaped and reported; what it left
/// behind outside its group (handed to us as subreaper) is killed and reaped too.
static int collect_exits(int sock) {
    for (;;) {
        siginfo_t info;
        memset(&info, 0, sizeof info);
        if (waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT) != 0 || info.si_pid == 0) return 0;
        pid_t pid = info.si_pid;
        int index = known_index(pid);
        int status = 0;
        if (index >= 0) kill(-pid, SIGKILL);
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
        if (index < 0) continue;
        forget(index);
        sonde_kill_orphans(children, child_count);
        if (send_message(sock, SONDE_LAUNCH_EXITED, 0, pid, status) != 0) return -1;
    }
}

static void close_all(const int *fds, int count) {
    for (int index = 0; index < count; index++) close(fds[index]);
}

/// One request from Sonde. Returns -1 when Sonde is gone.
static int handle_request(int sock) {
    static char buffer[MAX_REQUEST];
    char control[CMSG_SPACE(4 * sizeof(int))];
    struct iovec vector = {buffer, sizeof buffer};
    struct msghdr message = {0};
    message.msg_iov = &vector;
    message.msg_iovlen = 1;
    message.msg_control = control;
    message.msg_controllen = sizeof control;
    ssize_t count = recvmsg(sock, &message, MSG_CMSG_CLOEXEC);
    if (count == 0) return -1;
    if (count < 0) return errno == EINTR || errno == EAGAIN ? 0 : -1;

    int fds[4];
    int fd_count = 0;
    for (struct cmsghdr *header = CMSG_FIRSTHDR(&message); header; header = CMSG_NXTHDR(&message, header)) {
        if (header->cmsg_level != SOL_SOCKET || header->cmsg_type != SCM_RIGHTS) continue;
        int received = (int)((header->cmsg_len - CMSG_LEN(0)) / sizeof(int));
        int *data = (int *)CMSG_DATA(header);
        for (int index = 0; index < received; index++) {
            if (fd_count < 4) fds[fd_count++] = data[index];
            else close(data[index]);
        }
    }
    request_header request;
    if ((size_t)count < sizeof request) {
        close_all(fds, fd_count);
        return 0;
    }
    memcpy(&request, buffer, sizeof request);
    if (request.type == REQUEST_KILL) {
        close_all(fds, fd_count);
        pid_t pid = (pid_t)request.argc;
        if (pid > 0 && known_index(pid) >= 0) kill(-pid, SIGKILL);
        return 0;
    }
    if (request.type != REQUEST_SPAWN) {
        close_all(fds, fd_count);
        return 0;
    }
    int result = 0;
    if (fd_count != 4 || (message.msg_flags & (MSG_TRUNC | MSG_CTRUNC))) result = EMSGSIZE;
    else if (request.argc < 1 || request.argc > MAX_STRINGS || request.envc > MAX_STRINGS) result = E2BIG;
    else if (child_count == MAX_CHILDREN) result = EAGAIN;
    char **strings = NULL;
    if (result == 0) {
        uint32_t total = request.argc + request.envc;
        strings = calloc((size_t)total + 2, sizeof(char *));
        if (!strings) result = ENOMEM;
        char *cursor = buffer + sizeof request, *end = buffer + count;
        for (uint32_t index = 0; result == 0 && index < total; index++) {
            char *terminator = memchr(cursor, 0, (size_t)(end - cursor));
            if (!terminator) {
                result = EINVAL;
                break;
            }
            // argv and envp share the array: argv's NULL terminator sits between them.
            strings[index < request.argc ? index : index + 1] = cursor;
            cursor = terminator + 1;
        }
    }
    pid_t pid = 0;
    if (result == 0) {
        result = sonde_spawn_with(NULL, fds[0], fds[1], fds[2], fds[3], strings, strings + request.argc + 1, &pid);
        if (result == 0) children[child_count++] = pid;
    }
    free(strings);
    close_all(fds, fd_count);
    return send_message(sock, SONDE_LAUNCH_SPAWNED, request.id, pid, result);
}

static int become_plugin_user(uid_t uid, gid_t gid, const char **step) {
    // Out of the bounding set first (needs CAP_SETPCAP, so while root): nothing can be regained by exec.
    for (int capability = 0; capability < 64; capability++) {
        if (prctl(PR_CAPBSET_DROP, capability, 0, 0, 0) != 0 && errno != EINVAL) {
            *step = "PR_CAPBSET_DROP";
            return errno;
        }
    }
    *step = "setgroups";
    if (setgroups(1, &gid) != 0) return errno;
    *step = "setresgid";
    if (setresgid(gid, gid, gid) != 0) return errno;
    // From root to a non-zero uid in all three: the kernel clears the permitted, effective and ambient sets.
    *step = "setresuid";
    if (setresuid(uid, uid, uid) != 0) return errno;
    *step = "PR_SET_NO_NEW_PRIVS";
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return errno;
    *step = "PR_SET_DUMPABLE";
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) return errno;
    *step = "PR_SET_CHILD_SUBREAPER";
    if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0) return errno;
    *step = "verification";
    uid_t real, effective, saved;
    struct __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct data[2];
    if (getresuid(&real, &effective, &saved) != 0 || syscall(SYS_capget, &header, data) != 0) return errno;
    if (real != uid || effective != uid || saved != uid || getgid() != gid || getegid() != gid) return EPERM;
    for (int index = 0; index < 2; index++) {
        if (data[index].effective || data[index].permitted || data[index].inheritable) return EPERM;
    }
    return 0;
}

static void launcher_main(int sock, uid_t uid, gid_t gid) {
    // A copy of Sonde from before the token was read; its environment (which may hold SONDE_TOKEN) is
    // erased where /proc/PID/environ would show it.
    for (char **entry = environ; entry && *entry; entry++) explicit_bzero(*entry, strlen(*entry));
    clearenv();
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null >= 0) {
        dup2(null, 0);
        dup2(null, 1);
    }
    if (dup2(sock, 3) < 0) _exit(70);
    sock = 3;
    fcntl(sock, F_SETFD, FD_CLOEXEC);
    close_range(4, ~0U, 0);

    const char *step = "";
    int failure = become_plugin_user(uid, gid, &step);
    if (failure != 0) {
        dprintf(2, "sonde: the plug-in launcher could not become %u:%u (%s: %s)\n", uid, gid, step, strerror(failure));
        send_message(sock, SONDE_LAUNCH_READY, 0, 0, failure);
        _exit(70);
    }
    // It lives as long as Sonde holds the socket: a terminal's Ctrl-C or `timeout` signal the whole process
    // group, and the launcher must outlive Sonde long enough to kill the plug-ins.
    signal(SIGINT, SIG_IGN);
    signal(SIGTERM, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
    signal(SIGQUIT, SIG_IGN);
    signal(SIGPIPE, SIG_IGN);
    sigset_t childSignal;
    sigemptyset(&childSignal);
    sigaddset(&childSignal, SIGCHLD);
    sigprocmask(SIG_BLOCK, &childSignal, NULL);
    int exits = signalfd(-1, &childSignal, SFD_CLOEXEC | SFD_NONBLOCK);
    if (exits < 0 || send_message(sock, SONDE_LAUNCH_READY, 0, getpid(), 0) != 0) _exit(70);

    for (;;) {
        struct pollfd watched[2] = {{sock, POLLIN, 0}, {exits, POLLIN, 0}};
        if (poll(watched, 2, -1) < 0) {
            if (errno == EINTR) continue;
            break;
        }
        if (watched[1].revents) {
            struct signalfd_siginfo drained[16];
            while (read(exits, drained, sizeof drained) > 0) {}
            if (collect_exits(sock) != 0) break;
        }
        if (watched[0].revents & (POLLIN | POLLHUP | POLLERR)) {
            if (handle_request(sock) != 0) break;
        }
    }
    // Sonde is gone: nothing of the plug-ins outlives it.
    for (int index = 0; index < child_count; index++) {
        kill(-children[index], SIGKILL);
        kill(children[index], SIGKILL);
    }
    // Reaped first, so that what escaped their groups has been handed to us when the orphans are killed.
    for (int index = 0; index < child_count; index++) {
        while (waitpid(children[index], NULL, 0) < 0 && errno == EINTR) {}
    }
    sonde_kill_orphans(NULL, 0);
    _exit(0);
}

int sonde_launcher_start(uid_t uid, gid_t gid, int *socket_fd, pid_t *launcher_pid) {
    if (geteuid() != 0) return EPERM;
    int pair[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0) return errno;
    pid_t pid = fork();
    if (pid < 0) {
        int saved = errno;
        close(pair[0]);
        close(pair[1]);
        return saved;
    }
    if (pid == 0) {
        close(pair[0]);
        launcher_main(pair[1], uid, gid);
    }
    close(pair[1]);
    sonde_launch_message ready;
    ssize_t count;
    do {
        count = recv(pair[0], &ready, sizeof ready, 0);
    } while (count < 0 && errno == EINTR);
    int failure = count == (ssize_t)sizeof ready && ready.type == SONDE_LAUNCH_READY ? ready.value : EPROTO;
    if (failure != 0) {
        close(pair[0]);
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {}
        return failure;
    }
    fcntl(pair[0], F_SETFL, fcntl(pair[0], F_GETFL) | O_NONBLOCK);
    *socket_fd = pair[0];
    *launcher_pid = pid;
    return 0;
}

int sonde_launcher_request_spawn(int socket_fd, uint32_t id, int exec_fd, const int child_ends[3],
                                 char *const argv[], char *const envp[]) {
    request_header request = {REQUEST_SPAWN, id, 0, 0};
    size_t size = sizeof request;
    for (char *const *entry = argv; *entry; entry++, request.argc++) size += strlen(*entry) + 1;
    for (char *const *entry = envp; *entry; entry++, request.envc++) size += strlen(*entry) + 1;
    if (size > MAX_REQUEST) return E2BIG;
    char *buffer = malloc(size);
    if (!buffer) return ENOMEM;
    memcpy(buffer, &request, sizeof request);
    char *cursor = buffer + sizeof request;
    for (char *const *entry = argv; *entry; entry++) cursor = stpcpy(cursor, *entry) + 1;
    for (char *const *entry = envp; *entry; entry++) cursor = stpcpy(cursor, *entry) + 1;

    int fds[4] = {exec_fd, child_ends[0], child_ends[1], child_ends[2]};
    char control[CMSG_SPACE(sizeof fds)];
    memset(control, 0, sizeof control);
    struct iovec vector = {buffer, size};
    struct msghdr message = {0};
    message.msg_iov = &vector;
    message.msg_iovlen = 1;
    message.msg_control = control;
    message.msg_controllen = sizeof control;
    struct cmsghdr *header = CMSG_FIRSTHDR(&message);
    header->cmsg_level = SOL_SOCKET;
    header->cmsg_type = SCM_RIGHTS;
    header->cmsg_len = CMSG_LEN(sizeof fds);
    memcpy(CMSG_DATA(header), fds, sizeof fds);
    ssize_t sent;
    do {
        sent = sendmsg(socket_fd, &message, MSG_NOSIGNAL);
    } while (sent < 0 && errno == EINTR);
    int saved = errno;
    free(buffer);
    if (sent < 0) return saved;
    return sent == (ssize_t)size ? 0 : EPROTO;
}

int sonde_launcher_request_kill(int socket_fd, pid_t pid) {
    request_header request = {REQUEST_KILL, 0, (uint32_t)pid, 0};
    ssize_t sent;
    do {
        sent = send(socket_fd, &request, sizeof request, MSG_NOSIGNAL);
    } while (sent < 0 && errno == EINTR);
    return sent == (ssize_t)sizeof request ? 0 : errno;
}

int sonde_launcher_receive(int socket_fd, sonde_launch_message *message) {
    ssize_t count;
    do {
        count = recv(socket_fd, message, sizeof *message, 0);
    } while (count < 0 && errno == EINTR);
    if (count == (ssize_t)sizeof *message) return 1;
    if (count < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return 0;
    return -1;
}
