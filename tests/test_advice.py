"""What check-pool advises a troubled pool (issue 8 section 5): keep it after a small DHCP cut, else move
it near where the user put it; and what it says when DHCP is unknown or the size can never fit.

Engine-level: run_check with LanQuery(local_interfaces=False), so nothing of this machine is read.
"""

from __future__ import annotations

from ipaudit.exitstatus import ExitStatus
from ipaudit.facts import LanOptions, LanQuery
from ipaudit.plan.engine import CheckRequest, run_check
from ipaudit.report.interface import PlanReport
from ipaudit.sources.pools import PoolQuery


def check(pool: str, dhcp: tuple[str, ...] = ("192.0.2.100-192.0.2.200",), gateway: str = "192.0.2.1") -> PlanReport:
    lan = LanQuery(LanOptions(subnet="192.0.2.0/24", gateway=gateway, dhcp_ranges=dhcp), local_interfaces=False)
    return run_check(CheckRequest(PoolQuery(specs=(pool,)), lan))


def advice(report: PlanReport) -> list[tuple[str, str | None, str | None]]:
    """(kind, block, new DHCP range) of each recommendation but the free zones."""
    return [(r.kind, str(r.block) if r.block is not None else None,
             str(r.new_dhcp_range) if r.new_dhcp_range is not None else None)
            for r in report.recommendations if r.kind != "free-zones"]


def test_a_pool_without_buffer_keeps_its_block_first_and_may_move_near_instead():
    # The charlesthomas homelab shape: .40-.99 ends one address below DHCP's .100.
    report = check("192.0.2.40-192.0.2.99")
    assert report.status is ExitStatus.WARNING
    assert advice(report) == [("shrink-dhcp", "192.0.2.40-192.0.2.99", "192.0.2.104-192.0.2.200"),
                              ("use-block", "192.0.2.36-192.0.2.95", None)]
    keep, move = report.recommendations[:2]
    assert "then keep your 192.0.2.40-192.0.2.99 (60 addresses)" in keep.message
    assert move.message.startswith("or, with no DHCP change, move pool proposed to 192.0.2.36-192.0.2.95")
    # --emit writes what is safe to apply now: the move (keeping needs no new manifest).
    assert [str(r) for r in report.emitted[0].ranges] == ["192.0.2.36-192.0.2.95"]


def test_a_pool_overlapping_dhcp_by_a_little_keeps_its_block_first():
    # .95-.104 reaches 5 addresses into DHCP: the cut of 9 (5 plus the buffer) is within the pool's 10.
    report = check("192.0.2.95-192.0.2.104")
    assert report.status is ExitStatus.CRITICAL
    assert advice(report) == [("shrink-dhcp", "192.0.2.95-192.0.2.104", "192.0.2.109-192.0.2.200"),
                              ("use-block", "192.0.2.86-192.0.2.95", None)]


def test_a_cut_larger_than_the_pool_means_a_move_near_the_planned_spot():
    # Keeping .150-.155 would cut DHCP .156-.200 (45 addresses for a pool of 6). The move goes to the
    # nearest block out of DHCP (.205, 55 away), not the far end of the subnet (.248-.253) as before.
    report = check("192.0.2.150-192.0.2.155")
    assert advice(report) == [("use-block", "192.0.2.205-192.0.2.210", None)]


def test_a_cut_that_would_leave_dhcp_less_than_it_takes_means_a_move():
    # .96-.103 into DHCP .100-.110: keeping it leaves DHCP .108-.110, 3 addresses for the 8 it loses.
    report = check("192.0.2.96-192.0.2.103", dhcp=("192.0.2.100-192.0.2.110",))
    assert advice(report) == [("use-block", "192.0.2.88-192.0.2.95", None)]


def test_a_pool_over_the_gateway_moves_by_the_fewest_addresses():
    # Before: the aligned block at the far end, .248-.253. Now one step past the gateway.
    report = check("192.0.2.240-192.0.2.245", dhcp=("192.0.2.2-192.0.2.120",), gateway="192.0.2.242")
    assert advice(report) == [("use-block", "192.0.2.243-192.0.2.248", None)]


def test_a_big_cut_with_no_free_block_still_keeps_the_block():
    # Nothing outside DHCP fits: the shrink that keeps the pool is the only way, however large.
    report = check("192.0.2.240-192.0.2.245", dhcp=("192.0.2.2-192.0.2.253",))
    assert advice(report) == [("shrink-dhcp", "192.0.2.240-192.0.2.245", "192.0.2.2-192.0.2.235")]


def test_with_dhcp_unknown_the_move_says_unverified():
    report = check("192.0.2.1-192.0.2.6", dhcp=())
    move = report.recommendations[0]
    assert (move.kind, str(move.block)) == ("use-block", "192.0.2.2-192.0.2.7")
    assert "UNVERIFIED: no DHCP range is known" in move.message


def test_a_size_that_never_fits_names_the_largest_block_once():
    report = check("192.0.2.0-192.0.3.43")
    no_room = report.recommendations[0]
    assert no_room.kind == "no-room" and no_room.block is None
    assert "300 addresses can never fit in 192.0.2.0/24 for pool proposed: the largest possible is " \
        "192.0.2.2-192.0.2.254 (253 addresses, after removing DHCP range 192.0.2.100-192.0.2.200" in no_room.message
    said = [r.message for r in report.recommendations] + [f.message for f in report.findings]
    assert sum(text.count("largest possible") for text in said) == 1
