// Socket calls that Swift cannot express directly: building and reading control messages (TTL, traffic
// class, source and interface per packet; kernel receive timestamps; the ICMP error queue) and the
// ICMP type filters; and the one allocator call glibc's Swift overlay does not import. Each function is a
// thin wrapper over one system call or libc function.
#ifndef CSONDENET_H
#define CSONDENET_H

#include <stdint.h>
#include <sys/types.h>
#include <sys/socket.h>
#include <time.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>

/// What `sonde_receive` learned about one datagram besides its bytes.
typedef struct {
    /// TTL / hop limit from IP_TTL / IPV6_HOPLIMIT control messages; -1 when none was delivered.
    int32_t ttl;
    /// 1 when `timestamp` holds the kernel's receive time (SO_TIMESTAMPNS, CLOCK_REALTIME).
    int32_t has_timestamp;
    struct timespec timestamp;
    /// 1 when the datagram was longer than the buffer (MSG_TRUNC).
    int32_t truncated;
    /// The sender (for error-queue messages: the destination the failed packet was sent to).
    struct sockaddr_storage from;
    // Error-queue messages only (IP_RECVERR / IPV6_RECVERR).
    int32_t is_error;
    int32_t ee_errno;
    uint8_t ee_origin;
    uint8_t ee_type;
    uint8_t ee_code;
    uint32_t ee_info;
    /// 1 when `offender` holds the address of the node that reported the error.
    int32_t has_offender;
    struct sockaddr_storage offender;
} sonde_received;

/// recvmsg with MSG_DONTWAIT (and MSG_ERRQUEUE when `error_queue` is non-zero), parsing the control
/// messages into `info`. Returns the number of bytes read into `buffer`, or -1 with errno set.
ssize_t sonde_receive(int fd, void *buffer, size_t capacity, int error_queue, sonde_received *info);

/// Per-packet options, sent as control messages so one socket serves callers with different settings.
typedef struct {
    int32_t ttl;      ///< IP_TTL / IPV6_HOPLIMIT; -1 keeps the socket default.
    int32_t tclass;   ///< IP_TOS / IPV6_TCLASS; -1 keeps the socket default.
    int32_t ifindex;  ///< Outgoing interface (IP_PKTINFO / IPV6_PKTINFO); 0 lets routing decide.
    int32_t has_source;
    struct sockaddr_storage source; ///< Source address when `has_source` is 1.
} sonde_send_options;

/// sendmsg of one packet with `options` as control messages. The send times are taken immediately
/// before the system call. Returns the bytes sent, or -1 with errno set.
ssize_t sonde_send(int fd, const void *packet, size_t length, const struct sockaddr_storage *to,
                   socklen_t to_length, const sonde_send_options *options,
                   struct timespec *sent_realtime, struct timespec *sent_monotonic);

/// ICMP_FILTER on a raw IPv4 socket: only the types whose bit is set in `allowed_types` (types 0..31) pass.
int sonde_set_icmp_filter(int fd, uint32_t allowed_types);

/// ICMP6_FILTER on a raw ICMPv6 socket: only the listed types pass.
int sonde_set_icmp6_filter(int fd, const uint8_t *allowed_types, int count);

/// epoll_wait with a nanosecond timeout (epoll_pwait2; -1 waits without limit). Returns as epoll_wait.
int sonde_epoll_wait_ns(int epfd, struct epoll_event *events, int max_events, int64_t timeout_ns);

/// Current time of `clock` (CLOCK_REALTIME, CLOCK_MONOTONIC …) in nanoseconds.
int64_t sonde_clock_ns(clockid_t clock);

/// The MTU of the interface the kernel would send to `destination` from (a UDP socket connected to it, which
/// sends nothing; the interface that holds its local address; SIOCGIFMTU): the link's own MTU, never the
/// route's cached path MTU. Returns the MTU, or -1 with errno set.
int sonde_interface_mtu_towards(const struct sockaddr_storage *destination, socklen_t length);

/// glibc `malloc_trim(0)`: return freed heap memory to the system. Returns 1 if any was released.
int sonde_malloc_trim(void);

#endif
