#ifndef CPCAP_SHIM_H
#define CPCAP_SHIM_H
#include <pcap/pcap.h>

// pcap_pkthdr.ts is a struct timeval; with PCAP_TSTAMP_PRECISION_NANO its tv_usec holds
// nanoseconds. These helpers keep that quirk in one place.
static inline long long CPcap_timestampNanoseconds(const struct pcap_pkthdr *h, int nanoPrecision) {
    long long sub = (long long)h->ts.tv_usec;
    return (long long)h->ts.tv_sec * 1000000000LL + (nanoPrecision ? sub : sub * 1000LL);
}
#endif
