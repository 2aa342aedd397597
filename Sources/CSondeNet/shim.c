#define _GNU_SOURCE
// glibc's net/if.h before any linux/ header, so linux/if.h leaves the interface flags to it.
#include <ifaddrs.h>
#include <net/if.h>
#include <malloc.h>
#include "CSondeNet.h"

#include <errno.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/icmp6.h>
#include <linux/errqueue.h>
#include <linux/icmp.h>
#include <sys/ioctl.h>
#include <unistd.h>

ssize_t sonde_receive(int fd, void *buffer, size_t capacity, int error_queue, sonde_received *info) {
    memset(info, 0, sizeof(*info));
    info->ttl = -1;
    struct iovec iov = {.iov_base = buffer, .iov_len = capacity};
    union {
        char bytes[512];
        struct cmsghdr align;
    } control;
    struct msghdr message = {
        .msg_name = &info->from,
        .msg_namelen = sizeof(info->from),
        .msg_iov = &iov,
        .msg_iovlen = 1,
        .msg_control = control.bytes,
        .msg_controllen = sizeof(control.bytes),
    };
    ssize_t received = recvmsg(fd, &message, MSG_DONTWAIT | (error_queue ? MSG_ERRQUEUE : 0));
    if (received < 0) return -1;
    info->truncated = (message.msg_flags & MSG_TRUNC) != 0;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&message); c != NULL; c = CMSG_NXTHDR(&message, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_TIMESTAMPNS &&
            c->cmsg_len >= CMSG_LEN(sizeof(struct timespec))) {
            memcpy(&info->timestamp, CMSG_DATA(c), sizeof(struct timespec));
            info->has_timestamp = 1;
        } else if (c->cmsg_level == SOL_IP && c->cmsg_type == IP_TTL && c->cmsg_len >= CMSG_LEN(sizeof(int))) {
            int ttl;
            memcpy(&ttl, CMSG_DATA(c), sizeof(ttl));
            info->ttl = ttl;
        } else if (c->cmsg_level == SOL_IPV6 && c->cmsg_type == IPV6_HOPLIMIT &&
                   c->cmsg_len >= CMSG_LEN(sizeof(int))) {
            int hops;
            memcpy(&hops, CMSG_DATA(c), sizeof(hops));
            info->ttl = hops;
        } else if ((c->cmsg_level == SOL_IP && c->cmsg_type == IP_RECVERR) ||
                   (c->cmsg_level == SOL_IPV6 && c->cmsg_type == IPV6_RECVERR)) {
            if (c->cmsg_len < CMSG_LEN(sizeof(struct sock_extended_err))) continue;
            struct sock_extended_err error;
            memcpy(&error, CMSG_DATA(c), sizeof(error));
            info->is_error = 1;
            info->ee_errno = (int32_t)error.ee_errno;
            info->ee_origin = error.ee_origin;
            info->ee_type = error.ee_type;
            info->ee_code = error.ee_code;
            info->ee_info = error.ee_info;
            size_t available = c->cmsg_len - CMSG_LEN(sizeof(struct sock_extended_err));
            const struct sockaddr *offender = SO_EE_OFFENDER((struct sock_extended_err *)CMSG_DATA(c));
            if (available >= sizeof(sa_family_t) && offender->sa_family != AF_UNSPEC) {
                size_t length = offender->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                                                : sizeof(struct sockaddr_in);
                if (length > available) length = available;
                memcpy(&info->offender, offender, length);
                info->has_offender = 1;
            }
        }
    }
    return received;
}

ssize_t sonde_send(int fd, const void *packet, size_t length, const struct sockaddr_storage *to,
                   socklen_t to_length, const sonde_send_options *options,
                   struct timespec *sent_realtime, struct timespec *sent_monotonic) {
    union {
        char bytes[256];
        struct cmsghdr align;
    } control;
    memset(&control, 0, sizeof(control));
    struct iovec iov = {.iov_base = (void *)packet, .iov_len = length};
    struct msghdr message = {
        .msg_name = (void *)to,
        .msg_namelen = to_length,
        .msg_iov = &iov,
        .msg_iovlen = 1,
        .msg_control = control.bytes,
        .msg_controllen = sizeof(control.bytes),
    };
    size_t used = 0;
    struct cmsghdr *c = CMSG_FIRSTHDR(&message);
    int v6 = to->ss_family == AF_INET6;
    if (options->ttl >= 0) {
        c->cmsg_level = v6 ? SOL_IPV6 : SOL_IP;
        c->cmsg_type = v6 ? IPV6_HOPLIMIT : IP_TTL;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        int value = options->ttl;
        memcpy(CMSG_DATA(c), &value, sizeof(value));
        used += CMSG_SPACE(sizeof(int));
        c = (struct cmsghdr *)(control.bytes + used);
    }
    if (options->tclass >= 0) {
        c->cmsg_level = v6 ? SOL_IPV6 : SOL_IP;
        c->cmsg_type = v6 ? IPV6_TCLASS : IP_TOS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        int value = options->tclass;
        memcpy(CMSG_DATA(c), &value, sizeof(value));
        used += CMSG_SPACE(sizeof(int));
        c = (struct cmsghdr *)(control.bytes + used);
    }
    if (options->ifindex > 0 || options->has_source) {
        if (v6) {
            struct in6_pktinfo info;
            memset(&info, 0, sizeof(info));
            info.ipi6_ifindex = (unsigned int)options->ifindex;
            if (options->has_source)
                info.ipi6_addr = ((const struct sockaddr_in6 *)&options->source)->sin6_addr;
            c->cmsg_level = SOL_IPV6;
            c->cmsg_type = IPV6_PKTINFO;
            c->cmsg_len = CMSG_LEN(sizeof(info));
            memcpy(CMSG_DATA(c), &info, sizeof(info));
            used += CMSG_SPACE(sizeof(info));
        } else {
            struct in_pktinfo info;
            memset(&info, 0, sizeof(info));
            info.ipi_ifindex = options->ifindex;
            if (options->has_source)
                info.ipi_spec_dst = ((const struct sockaddr_in *)&options->source)->sin_addr;
            c->cmsg_level = SOL_IP;
            c->cmsg_type = IP_PKTINFO;
            c->cmsg_len = CMSG_LEN(sizeof(info));
            memcpy(CMSG_DATA(c), &info, sizeof(info));
            used += CMSG_SPACE(sizeof(info));
        }
    }
    message.msg_controllen = used;
    if (used == 0) message.msg_control = NULL;
    clock_gettime(CLOCK_MONOTONIC, sent_monotonic);
    clock_gettime(CLOCK_REALTIME, sent_realtime);
    return sendmsg(fd, &message, MSG_DONTWAIT | MSG_NOSIGNAL);
}

int sonde_set_icmp_filter(int fd, uint32_t allowed_types) {
    struct icmp_filter filter = {.data = ~allowed_types};
    return setsockopt(fd, SOL_RAW, ICMP_FILTER, &filter, sizeof(filter));
}

int sonde_set_icmp6_filter(int fd, const uint8_t *allowed_types, int count) {
    struct icmp6_filter filter;
    ICMP6_FILTER_SETBLOCKALL(&filter);
    for (int i = 0; i < count; i++) ICMP6_FILTER_SETPASS(allowed_types[i], &filter);
    return setsockopt(fd, IPPROTO_ICMPV6, ICMP6_FILTER, &filter, sizeof(filter));
}

int64_t sonde_clock_ns(clockid_t clock) {
    struct timespec now;
    clock_gettime(clock, &now);
    return (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
}

int sonde_epoll_wait_ns(int epfd, struct epoll_event *events, int max_events, int64_t timeout_ns) {
    if (timeout_ns < 0) return epoll_wait(epfd, events, max_events, -1);
    struct timespec timeout = {.tv_sec = timeout_ns / 1000000000, .tv_nsec = timeout_ns % 1000000000};
    int ready = epoll_pwait2(epfd, events, max_events, &timeout, NULL);
    if (ready < 0 && errno == ENOSYS) {
        // Kernels before 5.11: millisecond resolution, rounded up so a deadline is never early.
        return epoll_wait(epfd, events, max_events, (int)((timeout_ns + 999999) / 1000000));
    }
    return ready;
}

int sonde_malloc_trim(void) {
    return malloc_trim(0);
}

int sonde_interface_mtu_towards(const struct sockaddr_storage *destination, socklen_t length) {
    int family = destination->ss_family;
    int fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    struct sockaddr_storage local;
    socklen_t local_length = sizeof(local);
    if (connect(fd, (const struct sockaddr *)destination, length) < 0 ||
        getsockname(fd, (struct sockaddr *)&local, &local_length) < 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    struct ifaddrs *interfaces = NULL;
    if (getifaddrs(&interfaces) < 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    int mtu = -1;
    errno = ENODEV;
    for (struct ifaddrs *entry = interfaces; entry != NULL; entry = entry->ifa_next) {
        if (entry->ifa_addr == NULL || entry->ifa_addr->sa_family != family) continue;
        int same = family == AF_INET
            ? ((struct sockaddr_in *)entry->ifa_addr)->sin_addr.s_addr == ((struct sockaddr_in *)&local)->sin_addr.s_addr
            : memcmp(&((struct sockaddr_in6 *)entry->ifa_addr)->sin6_addr, &((struct sockaddr_in6 *)&local)->sin6_addr,
                     sizeof(struct in6_addr)) == 0;
        if (!same) continue;
        struct ifreq request;
        memset(&request, 0, sizeof(request));
        strncpy(request.ifr_name, entry->ifa_name, IFNAMSIZ - 1);
        if (ioctl(fd, SIOCGIFMTU, &request) == 0) mtu = request.ifr_mtu;
        break;
    }
    freeifaddrs(interfaces);
    int saved = errno;
    close(fd);
    errno = saved;
    return mtu;
}
