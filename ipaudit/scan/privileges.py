"""Give up every capability but CAP_NET_RAW once a scan's raw sockets are open.

A scan run with sudo parses frames anyone on the LAN can send. Once its sockets
exist it needs no privilege at all, except that a socket's own checks still want
CAP_NET_RAW, so a bug in a parser must not be able to use root's other powers.
Linux keeps capabilities per thread: call this in the only thread, after opening
the sockets and before starting any thread, which then inherit the reduced set.

The uid stays 0, so files are still created as root, but without CAP_DAC_OVERRIDE
root obeys file modes like anyone else: writing ``-o FILE`` into a directory that
root does not own and that is not writable by others fails with EACCES, and so
does reading another user's private file afterwards.

No new dependency: ``capset``, ``capget`` and ``prctl`` through ctypes on libc.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os

from ipaudit.errors import IpauditError

CAP_NET_RAW = 13
CAP_SETPCAP = 8
PR_CAPBSET_DROP = 24
PR_SET_NO_NEW_PRIVS = 38
PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL = 47, 4
_LINUX_CAPABILITY_VERSION_3 = 0x20080522  # 64-bit sets, as two 32-bit halves
_NET_RAW_ONLY = 1 << CAP_NET_RAW


class PrivilegeError(IpauditError):
    """The capabilities could not be reduced; the scan stops rather than run with them."""


class _Header(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _Data(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                ("inheritable", ctypes.c_uint32)]


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


def _failed(what: str) -> PrivilegeError:
    number = ctypes.get_errno()
    return PrivilegeError(f"could not drop privileges after opening the raw sockets: {what} failed "
                          f"({os.strerror(number)})",
                          "run with only CAP_NET_RAW, e.g. setcap cap_net_raw+ep on the interpreter")


def current_capabilities() -> tuple[int, int, int]:
    """This thread's (effective, permitted, inheritable) sets as 64-bit masks."""
    header, data = _Header(_LINUX_CAPABILITY_VERSION_3, 0), (_Data * 2)()
    if _libc().capget(ctypes.byref(header), data) != 0:
        raise _failed("capget")
    low, high = data[0], data[1]
    return (low.effective | high.effective << 32, low.permitted | high.permitted << 32,
            low.inheritable | high.inheritable << 32)


def _last_capability() -> int:
    try:
        with open("/proc/sys/kernel/cap_last_cap", encoding="ascii") as last:
            return int(last.read())
    except (OSError, ValueError):
        return 40  # CAP_CHECKPOINT_RESTORE, the last one as of Linux 5.9


def keep_only_net_raw() -> bool:
    """Reduce this process to CAP_NET_RAW; True if anything was dropped, False if nothing to drop.

    Sets no_new_privs (no exec can gain privileges back), empties the bounding set but
    NET_RAW when allowed to (root), clears the ambient and inheritable sets, and
    leaves NET_RAW alone in the effective and permitted sets. Raises PrivilegeError,
    rather than carrying on with more, if that cannot be done or other threads exist.
    """
    effective, permitted, inheritable = current_capabilities()
    if os.geteuid() != 0 and not (effective | permitted | inheritable) & ~_NET_RAW_ONLY:
        return False
    threads = len(os.listdir("/proc/self/task"))
    if threads != 1:
        raise PrivilegeError(f"could not drop privileges: {threads} threads are running and "
                             "capabilities are per thread", "drop them before starting any thread")
    libc = _libc()
    libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise _failed("prctl(PR_SET_NO_NEW_PRIVS)")
    if effective & (1 << CAP_SETPCAP):
        # Before capset: dropping from the bounding set needs the CAP_SETPCAP we are about to lose.
        for capability in range(_last_capability() + 1):
            if capability != CAP_NET_RAW and libc.prctl(PR_CAPBSET_DROP, capability, 0, 0, 0) != 0:
                raise _failed(f"prctl(PR_CAPBSET_DROP, {capability})")
    libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)  # EINVAL before Linux 4.3: none to clear
    keep = permitted & _NET_RAW_ONLY
    header, data = _Header(_LINUX_CAPABILITY_VERSION_3, 0), (_Data * 2)()
    data[0].effective = data[0].permitted = keep
    if libc.capset(ctypes.byref(header), data) != 0:
        raise _failed("capset")
    if current_capabilities() != (keep, keep, 0):
        raise PrivilegeError("could not drop privileges: the capability sets did not change")
    return True
