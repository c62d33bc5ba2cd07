"""The audit's pure parts and its state file, without a LAN: config errors with lines, folding,
reminders, the lock, and a corrupt or foreign state.db."""

from __future__ import annotations

import os
import sqlite3

import pytest

from ipaudit.audit import store
from ipaudit.audit.config import ConfigError, parse_config
from ipaudit.audit.diff import OpenConflict, conflict_changes
from ipaudit.audit.example import EXAMPLE
from ipaudit.audit.fold import Conflict, fold
from ipaudit.audit.state import StateError, open_state, run_lock
from ipaudit.findings import Code, finding
from ipaudit.model import Host, Pool
from netaddr import IPAddress, IPRange


def test_example_config_checks_clean(tmp_path, run_cli):
    example = run_cli("config", "example")
    assert example.exit_code == 0
    path = tmp_path / "x.toml"
    path.write_text(example.stdout)
    checked = run_cli("config", "check", str(path))
    assert checked.exit_code == 0, checked.stderr


@pytest.mark.parametrize("old, new, line, key", [
    ("pools =", "pols =", 18, "'pols': unknown key"),
    ('interval = "5m"', 'interval = [5]', 7, "'interval': must be a duration"),
    ("192.168.1.240-192.168.1.245", "192.168.1.240-192.168.1.999", 18, "'pools'"),
    ('gateway = "192.168.1.1"', "gateway = 1", 13, "'gateway': must be a string"),
    ('[alerts]\n', '[alerts]\nurl = "x"\n', 23, "'url': unknown key"),
])
def test_config_mistakes_name_key_and_line(tmp_path, run_cli, old, new, line, key):
    assert old in EXAMPLE
    path = tmp_path / "bad.toml"
    path.write_text(EXAMPLE.replace(old, new, 1))
    done = run_cli("config", "check", str(path))
    assert done.exit_code == 3
    assert f"line {line}:" in done.stderr and key in done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_config_search_order_uses_environment(tmp_path, monkeypatch):
    path = tmp_path / "env.toml"
    path.write_text(EXAMPLE)
    monkeypatch.setenv("IPAUDIT_CONFIG", str(path))
    from ipaudit.audit.config import find_config
    assert find_config(None) == str(path)
    assert find_config("/given.toml") == "/given.toml"


def _phone_findings():
    """A node (.11) announces VIP .240 and a phone answers it too: the scan's duplicate-ip plus
    check-pool's verdict, from the real engine with the sweep's inventory passed in."""
    from ipaudit.facts import LanOptions, LanQuery
    from ipaudit.model import Inventory
    from ipaudit.plan.engine import CheckRequest, run_check
    from ipaudit.sources.pools import PoolQuery

    vip = "198.51.100.240"
    hosts = (Host(IPAddress("198.51.100.11"), ("02:00:00:00:00:11",)),
             Host(IPAddress(vip), ("02:00:00:00:00:11", "f0:18:98:00:00:50")))  # an Apple OUI: the phone
    duplicate = finding(Code.DUPLICATE_IP, "dup", addresses=(vip,), subject=(vip, "a", "b"))
    lan = LanQuery(LanOptions(subnets=("198.51.100.0/24",), gateway="198.51.100.1", nodes=("198.51.100.11",),
                              dhcp_ranges=("198.51.100.20-198.51.100.99",)), local_interfaces=False)
    report = run_check(CheckRequest(PoolQuery(specs=(f"{vip}-245",)), lan,
                                    scanned=(Inventory(hosts=hosts, findings=(duplicate,)),)))
    return [duplicate, *report.findings]


def test_a_vip_the_phone_answers_folds_into_one_conflict():
    conflicts = fold(_phone_findings())
    assert [(c.code, c.address) for c in conflicts] == [("vip-claimed-by-foreign-device", "198.51.100.240")]
    assert "f0:18:98:00:00:50" in conflicts[0].key and "Apple" in conflicts[0].message


def test_ignore_list_silences_a_code_at_an_address():
    from ipaudit.audit.config import Ignore
    assert fold(_phone_findings(), [Ignore("vip-claimed-by-foreign-device", "198.51.100.240")]) == []


def test_reminder_is_sent_once_after_realert_after():
    conflict = Conflict("k", "duplicate-ip", "critical", "198.51.100.20", "dup")
    previous = {"k": OpenConflict(conflict, opened_at=0, last_alert_at=0)}
    assert conflict_changes("lan", 100, [conflict], previous, 3600).alerts == []
    due = conflict_changes("lan", 3600, [conflict], previous, 3600)
    assert [e.kind for e in due.alerts] == ["reminder"] and due.reminded == ["k"]
    reminded = {"k": OpenConflict(conflict, 0, 3600, reminded=True)}
    assert conflict_changes("lan", 99_999, [conflict], reminded, 3600).alerts == []
    assert conflict_changes("lan", 99_999, [conflict], previous, 0).alerts == []  # "0" = never


def test_overlapping_run_exits_at_once(tmp_path):
    with run_lock(str(tmp_path)):
        with pytest.raises(StateError, match="another ipaudit audit is running"):
            with run_lock(str(tmp_path), wait=0.2):
                pass
    with run_lock(str(tmp_path)):
        pass


@pytest.mark.parametrize("content", [b"this is not a database at all" * 100, None])
def test_corrupt_or_foreign_state_is_moved_aside_and_rebuilt(tmp_path, caplog, content):
    path = tmp_path / "state.db"
    if content is None:  # a real SQLite database of some other program
        other = sqlite3.connect(path)
        other.execute("CREATE TABLE photos (name TEXT)")
        other.commit()
        other.close()
    else:
        path.write_bytes(content)
    db = open_state(str(tmp_path))
    assert store.open_conflicts(db) == {}
    db.close()
    assert any(name.startswith("state.db.broken-") for name in os.listdir(tmp_path))
    assert "unusable" in caplog.text


def test_state_survives_reopen_and_ack(tmp_path):
    from ipaudit.audit.diff import Changes
    from ipaudit.audit.state import transaction
    db = open_state(str(tmp_path))
    with transaction(db):
        store.save_conflicts(db, "lan", 1.0, Changes(opened=[Conflict("k", "duplicate-ip", "critical", "1.2.3.4", "m")]))
    db.close()
    db = open_state(str(tmp_path))
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    with transaction(db):
        assert len(store.ack(db, "duplicate-ip", "1.2.3.4")) == 1
    assert store.open_conflicts(db, "lan")["k"].acked
    db.close()


def test_a_failed_run_alerts_once_and_resolves_nothing(tmp_path, run_cli):
    from ipaudit.audit.diff import Changes
    from ipaudit.audit.state import transaction
    state = tmp_path / "state"
    state.mkdir()
    db = open_state(str(state))
    with transaction(db):
        store.save_conflicts(db, "gone", 1.0, Changes(opened=[Conflict("k", "duplicate-ip", "critical", "1.2.3.4", "m")]))
    db.close()
    config = tmp_path / "c.toml"
    config.write_text(f'state_dir = "{state}"\n[[lan]]\nname = "gone"\ninterface = "ipanonexist0"\n'
                      'subnet = "198.51.100.0/24"\n')
    first = run_cli("audit", "--config", str(config), "--format", "json")
    assert first.exit_code == 3
    import json
    report = json.loads(first.stdout)
    assert [e["kind"] for e in report["events"]] == ["audit-failed"]
    assert sorted(o["code"] for o in report["open"]) == ["audit-failed", "duplicate-ip"]
    second = run_cli("audit", "--config", str(config), "--format", "json")
    assert second.exit_code == 3 and json.loads(second.stdout)["events"] == []


def test_history_before_any_audit_creates_the_state_and_lists_nothing(tmp_path, run_cli):
    config = tmp_path / "ipaudit.toml"
    state = tmp_path / "not" / "yet"
    config.write_text(EXAMPLE.replace('state_dir = "/var/lib/ipaudit"', f'state_dir = "{state}"', 1))
    done = run_cli("history", "--config", str(config))
    assert done.exit_code == 0 and done.stdout == "" and "broken" not in done.stderr
    assert (state / "state.db").exists() and oct(state.stat().st_mode & 0o777) == "0o700"


def test_a_state_dir_that_cannot_exist_is_one_line_exit_3(tmp_path, run_cli):
    config = tmp_path / "ipaudit.toml"
    config.write_text(EXAMPLE.replace('state_dir = "/var/lib/ipaudit"', 'state_dir = "/proc/ipaudit-state"', 1))
    done = run_cli("history", "--config", str(config))
    assert done.exit_code == 3 and done.stderr.count("\n") == 1
    assert "cannot create the state directory /proc/ipaudit-state" in done.stderr
