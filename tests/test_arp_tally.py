"""ArpTally and the noise findings on frames built as bytes: kinds, staleness, caps, malformed MACs, floods."""

from __future__ import annotations

import tracemalloc

from ipaudit.scan.arp_frames import build_probe, build_reply, build_request, ip_int, mac_bytes
from ipaudit.scan.arp_noise import noise_findings
from ipaudit.scan.arp_tally import MAX_MACS_PER_IP, ArpTally
from ipaudit.scan.pacing import RetrySchedule

US = mac_bytes("02:1a:00:00:00:fa")
A, B = mac_bytes("02:1a:00:00:00:0a"), mac_bytes("02:1a:00:00:00:0b")
ME, T, OTHER = ip_int("198.51.100.250"), ip_int("198.51.100.20"), ip_int("198.51.100.99")


def tally(asked=None) -> ArpTally:
    return ArpTally(US, {T}, {} if asked is None else asked, started=100.0)


def reply(mac, ip=T, to=US):
    return build_reply(mac, ip, to, ME)


def test_replies_after_the_ask_count_once_per_mac_with_count_and_times():
    counts = tally({T: 100.5})
    for moment in (100.6, 100.7, 101.2):
        counts.add(reply(A), moment)
    counts.add(reply(B), 100.9)
    seen = {o.mac: o for o in counts.observations()}
    assert set(seen) == {"02:1a:00:00:00:0a", "02:1a:00:00:00:0b"}
    a = seen["02:1a:00:00:00:0a"]
    assert (a.kind, a.count, a.first_seen, a.last_seen) == ("reply", 3, 0.6, 1.2)
    assert counts.answered == {T} and list(counts.newly_answered) == [T]
    assert counts.first_rtt[T] == 0.1


def test_a_reply_for_an_address_not_yet_asked_is_stale_and_one_for_another_mac_is_not_ours():
    counts = tally()
    counts.add(reply(A), 100.1)
    counts.add(build_reply(A, T, B, ME), 100.2)
    assert counts.observations() == () and counts.answered == set()
    noise = counts.noise()
    assert (noise.stale, noise.not_for_us) == (1, 1)


def test_announcements_and_request_senders_are_claims_probes_are_not():
    counts = tally()
    counts.add(build_request(A, ME, ME), 100.1)  # gratuitous: claims our own address
    counts.add(build_reply(B, OTHER, mac_bytes("ff:ff:ff:ff:ff:ff"), OTHER), 100.2)  # gratuitous reply
    counts.add(build_request(B, T, ip_int("198.51.100.1")), 100.3)  # "who has .1? tell .20"
    counts.add(build_probe(A, T), 100.4)
    kinds = {(o.ip, o.kind) for o in counts.observations()}
    assert kinds == {("198.51.100.250", "announcement"), ("198.51.100.99", "announcement"),
                     ("198.51.100.20", "request-sender")}
    assert counts.noise().probes == 1 and counts.answered == set()


def test_our_own_frames_are_ignored():
    counts = tally({T: 100.0})
    counts.add(build_request(US, ME, T), 100.1)
    assert counts.noise().frames == 0 and counts.observations() == ()


def test_zero_broadcast_and_multicast_sender_macs_are_malformed_not_claims():
    counts = tally({T: 100.0})
    for fake in ("00:00:00:00:00:00", "ff:ff:ff:ff:ff:ff", "01:00:5e:00:00:fb"):
        counts.add(build_reply(mac_bytes(fake), T, US, ME, eth_source=A), 100.1)
    assert counts.observations() == ()
    findings = noise_findings(counts.noise(), requests_sent=10)
    assert [f.code for f in findings] == ["arp-malformed"]
    assert findings[0].message.startswith("3 ARP frames") and findings[0].addresses == ("198.51.100.20",)


def test_a_random_mac_flood_keeps_at_most_the_cap_and_counts_the_rest_in_bounded_memory():
    counts = tally({T: 100.0})
    tracemalloc.start()
    for n in range(200_000):
        counts.add(build_reply(bytes([2, 0]) + n.to_bytes(4, "big"), T, US, ME, eth_source=A), 100.1)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert len({o.mac for o in counts.observations()}) == MAX_MACS_PER_IP
    noise = counts.noise()
    assert noise.more_macs == (("198.51.100.20", 65536),) and noise.more_macs_saturated
    assert peak < 40 * 1024 * 1024
    flood = noise_findings(noise, requests_sent=300)
    assert [f.code for f in flood] == ["arp-flood"] and "02:1a:00:00:00:0a (200000 frames)" in flood[0].message
    assert "at least 65536 more" in flood[0].message and flood[0].addresses == ("198.51.100.20",)


def test_a_busy_lan_answering_every_request_is_not_a_flood():
    counts = tally({T: 100.0})
    for _ in range(6):
        counts.add(reply(A), 100.1)
    assert noise_findings(counts.noise(), requests_sent=300) == []


def test_identical_flood_frames_cost_one_counter():
    counts = tally({T: 100.0})
    for _ in range(50_000):
        counts.add(reply(A), 100.1)
    (only,) = counts.observations()
    assert only.count == 50_000
    assert [f.code for f in noise_findings(counts.noise(), requests_sent=300)] == ["arp-flood"]


def test_confirmations_re_ask_each_answered_target_spaced_and_end_the_schedule():
    schedule = RetrySchedule([1, 2], retries=1, retry_wait=0.5, confirm=3, confirm_wait=0.1)
    assert schedule.take(5, 0.0, set()) == [1, 2]
    schedule.confirm_answered(1, 0.01)
    schedule.confirm_answered(1, 0.02)  # reported twice: planned once
    asked = []
    now = 0.0
    while not schedule.finished({1}):
        now += 0.05
        asked += [(round(now, 2), t) for t in schedule.take(5, now, {1})]
    assert [t for _, t in asked] == [1, 1, 1, 2]  # three confirmations of 1, then the retry of silent 2
    times = [at for at, t in asked if t == 1]
    assert all(later - earlier >= 0.1 - 1e-9 for earlier, later in zip(times, times[1:]))
    assert schedule.confirmations_sent == 3 and schedule.sent == 6
