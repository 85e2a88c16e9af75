import Testing
@testable import ConnDiagCore

/// The SYN model of ARCHITECTURE.md §4, pinned for several (syncnt, linear) pairs. The wheel
/// variants were measured in the lab on a 6.18 kernel at HZ=250 (see LabTests).
struct SYNScheduleTests {
    @Test func linearFourSyncntTwo() {
        let s = SYNSchedule(syncnt: 2, linearTimeouts: 4)
        #expect(s.synTimes == [0, 1, 2, 3, 4, 5])
        #expect(s.giveUpAt == 7)
    }

    @Test func linearFourSyncntSix() {
        let s = SYNSchedule(syncnt: 6, linearTimeouts: 4)
        #expect(s.synTimes == [0, 1, 2, 3, 4, 5, 7, 11, 19, 35, 67])
        #expect(s.giveUpAt == 131)
    }

    @Test(arguments: [(1, 3.0, [0.0, 1]), (2, 7.0, [0.0, 1, 3]), (3, 15.0, [0.0, 1, 3, 7]),
                      (6, 127.0, [0.0, 1, 3, 7, 15, 31, 63])])
    func exponentialWithoutLinear(syncnt: Int, giveUp: Double, times: [Double]) {
        let s = SYNSchedule(syncnt: syncnt, linearTimeouts: 0)
        #expect(s.synTimes == times)
        #expect(s.giveUpAt == giveUp)
        #expect(s.giveUpAt == Double((1 << (syncnt + 1)) - 1))
    }

    @Test func linearOneSyncntThree() {
        // Two retransmissions 1 s apart, then 2, 4: give up when 4 retransmissions are done
        // or 15 s have passed, whichever comes first.
        let s = SYNSchedule(syncnt: 3, linearTimeouts: 1)
        #expect(s.synTimes == [0, 1, 2, 4, 8])
        #expect(s.giveUpAt == 16)
    }

    @Test func rtoMaxCapsTheGap() {
        let s = SYNSchedule(syncnt: 10, linearTimeouts: 0, rtoMax: 8)
        let gaps = zip(s.synTimes.dropFirst(), s.synTimes).map { $0 - $1 }
        #expect(gaps.max() == 8)
    }

    @Test func timerWheelAtHZ250() {
        // A 1 s timer re-armed from an aligned firing lands in level 1 (8-jiffy buckets):
        // 250 jiffies -> 256 = 1.024 s; 2 s -> 504 jiffies = 2.016 s.
        let w = TimerWheel(hz: 250)
        #expect(w.delay(1, alignedShift: 3).delay == 1.024)
        #expect(w.delay(2, alignedShift: 3).delay == 2.016)
        #expect(TimerWheel.levelShift(forDelta: 62) == 0)
        #expect(TimerWheel.levelShift(forDelta: 63) == 3)
        #expect(TimerWheel.levelShift(forDelta: 504) == 6)
        let s = SYNSchedule(syncnt: 2, linearTimeouts: 4, hz: 250)
        // Measured: SYNs at 0, 1.022, 2.046, 3.070, 4.094, 5.118; ETIMEDOUT at 7.134.
        let measured = [0, 1.022, 2.046, 3.070, 4.094, 5.118]
        #expect(s.synTimes.count == 6)
        for (p, m) in zip(s.synTimes, measured) { #expect(abs(p - m) < 0.010) }
        #expect(abs(s.giveUpAt - 7.134) < 0.010)
        #expect(s.nominalGiveUpAt == 7)
        #expect(s.wheelNote != nil)
    }

    @Test func timerWheelAtHZ1000() {
        // 1000 jiffies lands in level 2 (64-jiffy buckets): 1024 jiffies, also 1.024 s;
        // the relative lateness does not shrink with a faster tick.
        let w = TimerWheel(hz: 1000)
        #expect(w.delay(1, alignedShift: 6).delay == 1.024)
        #expect(w.delay(2, alignedShift: 6).delay == 2.048)
        let s = SYNSchedule(syncnt: 2, linearTimeouts: 4, hz: 1000)
        #expect(s.giveUpAt > s.nominalGiveUpAt)
        #expect(s.giveUpAt - s.nominalGiveUpAt < s.nominalGiveUpAt * 0.04)
    }
}

struct DeadPeerModelTests {
    @Test func keepaliveIdleTwoIntervalOneCountThree() {
        let k = KeepaliveSchedule(idle: 2, interval: 1, count: 3)
        #expect(k.probes == [2, 3, 4])
        #expect(k.abortAt == 5)
        #expect(k.mechanism == .keepalive)
    }

    @Test func linuxDefaultsAreTwoHoursElevenMinutes() {
        let k = KeepaliveSchedule(idle: 7200, interval: 75, count: 9)
        #expect(k.abortAt == 7875)
        #expect(DurationText.format(k.abortAt) == "2h 11min 15s")
    }

    @Test func userTimeoutReplacesKeepcnt() {
        // KEEPIDLE 2, INTVL 1, CNT 9 but UT 3.5 s: abort at the first firing >= 3.5 s
        // with a probe out, i.e. at 4 s after probes at 2 and 3.
        let k = KeepaliveSchedule(idle: 2, interval: 1, count: 9, userTimeout: 3.5)
        #expect(k.probes == [2, 3])
        #expect(k.abortAt == 4)
        #expect(k.mechanism == .userTimeout)
        // UT shorter than KEEPIDLE still needs one probe first.
        let early = KeepaliveSchedule(idle: 2, interval: 1, count: 9, userTimeout: 1)
        #expect(early.probes == [2])
        #expect(early.abortAt == 3)
    }

    @Test func keepaliveWithTheWheel() {
        let k = KeepaliveSchedule(idle: 2, interval: 1, count: 3, hz: 250)
        #expect(abs(k.probes[0] - 2.018) < 0.001)
        #expect(abs((k.probes[1] - k.probes[0]) - 1.024) < 1e-9)
        #expect(k.abortAt > 5 && k.abortAt < 5.1)
    }

    @Test func retries2Budgets() {
        #expect(abs(RetransmissionSchedule.retries2Budget(15) - 924.6) < 1e-9)
        #expect(abs(RetransmissionSchedule.retries2Budget(9) - 204.6) < 1e-9)
        #expect(abs(RetransmissionSchedule.retries2Budget(3) - 3.0) < 1e-9)
        #expect(abs(RetransmissionSchedule.retries2Budget(8) - 102.2) < 1e-9)
    }

    @Test func retransmissionLimitAndUserTimeout() {
        let r = RetransmissionSchedule(firstRTO: 0.2, retries2: 15)
        #expect(r.mechanism == .retransmissionLimit)
        #expect(r.giveUpAt >= 924.6)
        for (a, b) in zip(r.retransmissions.prefix(4), [0, 0.4, 1.2, 2.8]) { #expect(abs(a - b) < 1e-9) }
        let u = RetransmissionSchedule(firstRTO: 0.2, retries2: 15, userTimeout: 3)
        #expect(u.mechanism == .userTimeout)
        #expect(abs(u.giveUpAt - 3) < 1e-9)
        #expect(u.retransmissions.count == 4)
        for (a, b) in zip(u.retransmissions, [0, 0.4, 1.2, 2.8]) { #expect(abs(a - b) < 1e-9) }
    }
}
