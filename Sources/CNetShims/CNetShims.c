#define _GNU_SOURCE
#include "CNetShims.h"
#include <errno.h>
#include <linux/tcp.h>
#include <sched.h>
#include <spawn.h>
#include <signal.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <unistd.h>
#include <sys/syscall.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif

int CNetShims_tcpInfo(int fd, CNetShims_TCPInfo *out) {
    struct tcp_info ti;
    socklen_t len = sizeof(ti);
    memset(&ti, 0, sizeof(ti));
    if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) != 0) return -1;
    memset(out, 0, sizeof(*out));
    out->state = ti.tcpi_state;
    out->ca_state = ti.tcpi_ca_state;
    out->retransmits = ti.tcpi_retransmits;
    out->probes = ti.tcpi_probes;
    out->backoff = ti.tcpi_backoff;
    out->rto_us = ti.tcpi_rto;
    out->ato_us = ti.tcpi_ato;
    out->snd_mss = ti.tcpi_snd_mss;
    out->unacked = ti.tcpi_unacked;
    out->lost = ti.tcpi_lost;
    out->retrans = ti.tcpi_retrans;
    out->total_retrans = ti.tcpi_total_retrans;
    out->last_data_sent_ms = ti.tcpi_last_data_sent;
    out->last_ack_recv_ms = ti.tcpi_last_ack_recv;
    out->last_data_recv_ms = ti.tcpi_last_data_recv;
    out->rtt_us = ti.tcpi_rtt;
    out->rttvar_us = ti.tcpi_rttvar;
    out->snd_cwnd = ti.tcpi_snd_cwnd;
    out->bytes_acked = ti.tcpi_bytes_acked;
    out->bytes_received = ti.tcpi_bytes_received;
    out->bytes_retrans = ti.tcpi_bytes_retrans;
    out->snd_wnd = ti.tcpi_snd_wnd;
    out->notsent_bytes = ti.tcpi_notsent_bytes;
    return 0;
}

int CNetShims_setNetNamespace(int fd) { return setns(fd, CLONE_NEWNET); }

static volatile sig_atomic_t signalPipe = -1;
static volatile sig_atomic_t lastSignal = 0;

static void onSignal(int sig) {
    int saved = errno;
    lastSignal = sig;
    if (signalPipe >= 0) {
        unsigned char b = (unsigned char)sig;
        ssize_t r = write(signalPipe, &b, 1);
        (void)r;
    }
    errno = saved;
}

void CNetShims_routeSignalsToPipe(int fd) { CNetShims_routeSignalsToPipeRestarting(fd, 1); }

void CNetShims_routeSignalsToPipeRestarting(int fd, int restart) {
    signalPipe = fd;
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = onSignal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = restart ? SA_RESTART : 0;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    // A parent may have left them blocked (test runners, some supervisors): unblock, or an
    // interrupt would never arrive and the run could not write its report.
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_UNBLOCK, &set, NULL);
    // A pipe reader that went away (`conndiag ... | head`) must not kill the run silently.
    signal(SIGPIPE, SIG_IGN);
}

int CNetShims_lastSignal(void) { return lastSignal; }

int CNetShims_spawnCloseFrom(posix_spawn_file_actions_t *actions, int from) {
    return posix_spawn_file_actions_addclosefrom_np(actions, from);
}

int CNetShims_pidfdOpen(int pid) { return (int)syscall(SYS_pidfd_open, pid, 0); }

int CNetShims_pidfdGetfd(int pidfd, int targetfd) { return (int)syscall(SYS_pidfd_getfd, pidfd, targetfd, 0); }

int CNetShims_tcpCongestion(int fd, char *name, int capacity) {
    if (capacity < 1) { errno = EINVAL; return -1; }
    socklen_t len = (socklen_t)(capacity - 1);
    memset(name, 0, (size_t)capacity);
    return getsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, name, &len);
}
