#ifndef CNETSHIMS_H
#define CNETSHIMS_H
#include <stdint.h>
#include <spawn.h>

// What Glibc's Swift overlay does not give us: the kernel's full struct tcp_info, setns,
// and an async-signal-safe way to turn SIGINT/SIGTERM into a byte on a pipe.

/// The fields of the kernel's struct tcp_info conndiag samples (subset of <linux/tcp.h>).
typedef struct {
    uint8_t  state;
    uint8_t  ca_state;
    uint8_t  retransmits;
    uint8_t  probes;
    uint8_t  backoff;
    uint32_t rto_us;
    uint32_t ato_us;
    uint32_t snd_mss;
    uint32_t unacked;
    uint32_t lost;
    uint32_t retrans;
    uint32_t total_retrans;
    uint32_t last_data_sent_ms;
    uint32_t last_ack_recv_ms;
    uint32_t last_data_recv_ms;
    uint32_t rtt_us;
    uint32_t rttvar_us;
    uint32_t snd_cwnd;
    uint64_t bytes_acked;
    uint64_t bytes_received;
    uint64_t bytes_retrans;
    uint32_t snd_wnd;
    uint32_t notsent_bytes;
} CNetShims_TCPInfo;

/// getsockopt(TCP_INFO) into the subset above. Returns 0 or -1 with errno set.
int CNetShims_tcpInfo(int fd, CNetShims_TCPInfo *out);

/// setns(fd, CLONE_NEWNET) for the calling thread. Returns 0 or -1 with errno set.
int CNetShims_setNetNamespace(int fd);

/// Route SIGINT and SIGTERM to a write of the signal number on `fd` (a non-blocking pipe).
void CNetShims_routeSignalsToPipe(int fd);
/// The same, choosing whether interrupted system calls restart. Without restart a blocking
/// read (analyze reading a pipe on stdin) returns EINTR, so an interrupt is seen at once.
void CNetShims_routeSignalsToPipeRestarting(int fd, int restart);
/// The last signal routed (0 when none).
int CNetShims_lastSignal(void);

/// posix_spawn_file_actions_addclosefrom_np(actions, from) (glibc 2.34+): the child closes
/// every descriptor >= `from` that the parent did not mark close-on-exec. Returns 0 or an errno.
int CNetShims_spawnCloseFrom(posix_spawn_file_actions_t *actions, int from);

/// pidfd_open(pid, 0) (Linux >= 5.3): a descriptor for a process, close-on-exec. Returns the
/// descriptor or -1 with errno set. Raw syscall: glibc's wrapper is missing before 2.36.
int CNetShims_pidfdOpen(int pid);
/// pidfd_getfd(pidfd, targetfd, 0) (Linux >= 5.6): a close-on-exec duplicate of another
/// process's descriptor; needs ptrace rights over it. Returns the descriptor or -1 with errno.
int CNetShims_pidfdGetfd(int pidfd, int targetfd);
/// getsockopt(TCP_CONGESTION) into `name` (NUL-terminated, at most `capacity` - 1 bytes).
int CNetShims_tcpCongestion(int fd, char *name, int capacity);

#endif
