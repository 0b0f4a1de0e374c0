"""Availability zones on one machine: network namespaces joined by a bridge, so that a
test can place instances of a service in different zones and cut a zone off the network
(and heal it) like any other fault.

    root namespace: the host the zones share (Redis, the venue, Tansu, PostgreSQL)
      bridge twz<run>, 10.213.N.1/24                      <- `Zones.host_address`
        port twz<run>r0 = veth = eth0 10.213.N.11 in namespace twz-<pid>-<run>-a
        port twz<run>r1 = veth = eth0 10.213.N.12 in namespace twz-<pid>-<run>-b
        ...

A zone has its own loopback and one interface on the bridge's /24, and no default route:
it reaches the bridge address and the other zones, nothing else, and nothing it sends
leaves the machine. A server the zones share must listen on `host_address` (one bound to
127.0.0.1 is out of their reach). `zone.wrap(argv)` runs a command inside a zone.

Cutting a zone disables its bridge port (the port state a user-space STP daemon would
set): the bridge drops every frame to and from the zone while both ends of the veth stay
up. That is a partition as either side sees it: nothing arrives and nothing is refused.
An established TCP connection stalls and retransmits (no RST, no error) and, once
healed, resumes where it was if neither end gave up meanwhile; a new connection times
out. Neighbour (ARP) entries are permanent, so a long cut does not turn into "no route
to host" when an ARP lookup fails. The alternatives are not partitions: the veth down on
both ends removes the zone's route (a connect fails at once, ENETUNREACH); down on the
root end only stalls too, but the zone sees its carrier go.

Links and namespaces are named after the run (`twz` and 6 hex digits); namespaces carry
the creating process id in their name, root-side links in their alias. On entry, what a
killed earlier run left (its process is gone) is removed; the zones of a run still alive
(a parallel test session) are left alone. Needs root (CAP_NET_ADMIN, and CAP_SYS_ADMIN
for `ip netns`) and iproute2 (`ip`, `bridge`).
"""

from __future__ import annotations

import contextlib
import functools
import ipaddress
import json
import logging
import os
import re
import secrets
import shutil
import subprocess
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from tradewind.errors import TradewindError

log = logging.getLogger(__name__)

PREFIX = "twz"
MAX_ZONES = 100  # keeps link names (twz + 6 hex + r + index) within Linux's 15 characters
_ALIAS = "tradewind-zones pid="
_BLOCK = ipaddress.IPv4Network("10.213.0.0/16")  # a run takes a free /24 of it
_ZONE_NAME = re.compile(r"[a-z0-9]{1,8}")
_NAMESPACE = re.compile(rf"{PREFIX}-(\d+)-[0-9a-f]{{6}}-[a-z0-9]+")
_FIRST_ZONE_HOST = 11  # zone i gets host number 11 + i of the /24; the bridge has 1
#: Bridge port (STP) states: the number `bridge link set` takes, the name it shows.
_PORT_DISABLED, _PORT_FORWARDING = ("0", "disabled"), ("3", "forwarding")


class ZoneError(TradewindError):
    """An `ip` command that builds, cuts or removes zones failed; says which and why."""


class ZonesUnavailable(ZoneError):
    """This machine cannot make zones: iproute2 is missing, or we may not (not root)."""


@dataclass(frozen=True, slots=True)
class Zone:
    """One zone: a network namespace whose interface has `address` (IPv4) on the bridge;
    `port` is the veth's root end, the zone's port on the bridge."""

    name: str
    namespace: str
    address: str
    port: str

    def wrap(self, argv: Sequence[str]) -> list[str]:
        """`argv` run inside this zone. `ip netns exec` execs the command, so a process
        started with it has the command's own pid and receives its signals."""
        return [_tool_path("ip"), "netns", "exec", self.namespace, *argv]


class Zones:
    """The zones of one run, by name, and the faults between them and the host."""

    def __init__(self, bridge: str, host_address: str, zones: Sequence[Zone]) -> None:
        self.bridge = bridge
        #: The host's address on the bridge: where servers the zones share listen.
        self.host_address = host_address
        self._zones = {zone.name: zone for zone in zones}

    def __getitem__(self, name: str) -> Zone:
        try:
            return self._zones[name]
        except KeyError:
            raise ZoneError(f"no zone {name!r}; the zones are {sorted(self._zones)}") from None

    def __iter__(self) -> Iterator[Zone]:
        return iter(self._zones.values())

    def cut(self, zone: Zone | str) -> None:
        """Partition `zone` from the host and the other zones: its traffic is dropped."""
        self._set_port_state(zone, _PORT_DISABLED)

    def heal(self, zone: Zone | str) -> None:
        """Connect `zone` again; connections that stalled through the cut go on."""
        self._set_port_state(zone, _PORT_FORWARDING)

    def cut_all_but(self, zone: Zone | str) -> None:
        """Cut every zone but `zone`, which alone keeps the host."""
        keep = self._zone(zone).name
        for other in self:
            if other.name != keep:
                self.cut(other)

    def _zone(self, zone: Zone | str) -> Zone:
        return self[zone if isinstance(zone, str) else zone.name]

    def _set_port_state(self, zone: Zone | str, state: tuple[str, str]) -> None:
        # `bridge link`, not `ip link set ... type bridge_slave state`: the latter
        # returns 0 and leaves the port of a running link as it was (iproute2 6.1).
        port = self._zone(zone).port
        number, name = state
        _run("bridge", "link", "set", "dev", port, "state", number)
        shown = [link.get("state") for link in _json("bridge", "link", "show", "dev", port)]
        if shown != [name]:
            raise ZoneError(f"bridge port {port} is {shown} after setting it {name}")


@contextlib.contextmanager
def availability_zones(names: Sequence[str] = ("a", "b", "c")) -> Iterator[Zones]:
    """Zones called `names` (1 to 8 lowercase letters or digits each) around a new
    bridge, all connected; removed on exit, after an exception too. Raises
    ZonesUnavailable when this machine cannot make them."""
    if not names or len(names) > MAX_ZONES or len(set(names)) != len(names):
        raise ValueError(f"zone names must be 1 to {MAX_ZONES} distinct names, not {names}")
    for name in names:
        if not _ZONE_NAME.fullmatch(name):
            raise ValueError(f"zone name {name!r}: use 1 to 8 lowercase letters or digits")
    remove_leftovers()
    run = secrets.token_hex(3)
    network = _free_network()
    bridge = f"{PREFIX}{run}"
    zones = [
        Zone(
            name=name,
            namespace=f"{PREFIX}-{os.getpid()}-{run}-{name}",
            address=str(network[_FIRST_ZONE_HOST + i]),
            port=f"{bridge}r{i}",
        )
        for i, name in enumerate(names)
    ]
    try:
        _build(bridge, network, zones)
        yield Zones(bridge, str(network[1]), zones)
    except BaseException:
        _tear_down(bridge, zones, strict=False)  # the error at hand matters more
        raise
    _tear_down(bridge, zones, strict=True)


def remove_leftovers() -> list[str]:
    """Remove the links and namespaces of zones whose creating process is gone (a run
    killed before it could clean up); returns their names."""
    removed = []
    for link in _json("ip", "link", "show"):
        alias = link.get("ifalias", "")
        if alias.startswith(_ALIAS) and not _alive(int(alias.removeprefix(_ALIAS))):
            _remove_link(link["ifname"])
            removed.append(link["ifname"])
    for namespace in _json("ip", "netns", "list"):
        match = _NAMESPACE.fullmatch(namespace["name"])
        if match and not _alive(int(match[1])):
            _remove_namespace(namespace["name"])
            removed.append(namespace["name"])
    if removed:
        log.warning("removed zones left by a killed run: %s", ", ".join(removed))
    return removed


def _build(bridge: str, network: ipaddress.IPv4Network, zones: Sequence[Zone]) -> None:
    alias = f"{_ALIAS}{os.getpid()}"
    host = network[1]
    # Fixed MAC addresses: the bridge keeps its own as ports join, and the permanent
    # neighbour entries below can be written before anything is up.
    _ip("link", "add", "name", bridge, "address", _mac(host), "type", "bridge")
    _ip("link", "set", "dev", bridge, "alias", alias)
    _ip("addr", "add", f"{host}/{network.prefixlen}", "dev", bridge)
    _ip("link", "set", "dev", bridge, "up")
    for zone in zones:
        ns = zone.namespace
        _ip("netns", "add", ns)
        _ip("link", "add", "name", zone.port, "type", "veth",
            "peer", "name", "eth0", "netns", ns, "address", _mac(zone.address))  # fmt: skip
        _ip("link", "set", "dev", zone.port, "alias", alias)
        _ip("link", "set", "dev", zone.port, "master", bridge, "up")
        _ip("-n", ns, "link", "set", "dev", "lo", "up")
        _ip("-n", ns, "addr", "add", f"{zone.address}/{network.prefixlen}", "dev", "eth0")
        _ip("-n", ns, "link", "set", "dev", "eth0", "up")
    peers = [(str(host), _mac(host)), *((z.address, _mac(z.address)) for z in zones)]
    for zone in zones:
        _ip("neigh", "replace", zone.address, "lladdr", _mac(zone.address),
            "dev", bridge, "nud", "permanent")  # fmt: skip
        for address, mac in peers:
            if address != zone.address:
                _ip("-n", zone.namespace, "neigh", "replace", address, "lladdr", mac,
                    "dev", "eth0", "nud", "permanent")  # fmt: skip


def _tear_down(bridge: str, zones: Sequence[Zone], *, strict: bool) -> None:
    """Remove the ports first (a namespace that processes still run in outlives its
    name, but no longer has a way out), then the namespaces, then the bridge."""
    failures = []
    steps = [
        *((_remove_link, zone.port) for zone in zones),
        *((_remove_namespace, zone.namespace) for zone in zones),
        (_remove_link, bridge),
    ]
    for remove, name in steps:
        try:
            remove(name)
        except ZoneError as exc:
            failures.append(str(exc))
    if failures and strict:
        raise ZoneError(f"zones not fully removed: {'; '.join(failures)}")
    for failure in failures:
        log.warning("zones not fully removed: %s", failure)


def _remove_link(name: str) -> None:
    try:
        _ip("link", "del", "dev", name)
    except ZoneError as exc:
        if "Cannot find device" not in str(exc):
            raise


def _remove_namespace(name: str) -> None:
    try:
        _ip("netns", "del", name)
    except ZoneError as exc:
        if "No such file" not in str(exc):
            raise


def _free_network() -> ipaddress.IPv4Network:
    """A /24 of 10.213.0.0/16 that no address or route of this host overlaps."""
    taken = [
        ipaddress.IPv4Interface(f"{a['local']}/{a['prefixlen']}").network
        for link in _json("ip", "-4", "addr", "show")
        for a in link.get("addr_info", [])
    ]
    taken += [
        ipaddress.IPv4Network(route["dst"], strict=False)
        for route in _json("ip", "-4", "route", "show")
        if route.get("dst", "default") != "default"
    ]
    candidates = list(_BLOCK.subnets(new_prefix=24))[1:-1]
    secrets.SystemRandom().shuffle(candidates)
    for network in candidates:
        if not any(network.overlaps(other) for other in taken):
            return network
    clash = [str(n) for n in taken if n.overlaps(_BLOCK)]
    raise ZoneError(f"no free /24 in {_BLOCK} for the zones' bridge: in use {clash[:5]}")


def _mac(address: str | ipaddress.IPv4Address) -> str:
    """A locally administered MAC address made of the IPv4 address: 02:00:a:b:c:d."""
    return "02:00:" + ":".join(f"{byte:02x}" for byte in ipaddress.IPv4Address(address).packed)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


@functools.cache
def _tool_path(tool: str) -> str:
    """An iproute2 tool (`ip`, `bridge`), found in sbin directories too (a non-root PATH
    may lack them)."""
    path = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])
    return shutil.which(tool, path=path) or tool


def _ip(*args: str) -> str:
    return _run("ip", *args)


def _run(tool: str, *args: str) -> str:
    """Run an iproute2 tool; its output, or ZoneError naming the command and the tool's
    reason."""
    command = " ".join([tool, *args])
    try:
        done = subprocess.run(
            [_tool_path(tool), *args], capture_output=True, text=True, timeout=30, check=False
        )
    except FileNotFoundError:
        raise ZonesUnavailable(
            f"iproute2's `{tool}` is not installed (Debian: apt-get install iproute2)"
        ) from None
    except subprocess.TimeoutExpired:
        raise ZoneError(f"`{command}` did not finish in 30 s") from None
    if done.returncode != 0:
        reason = done.stderr.strip() or f"exit code {done.returncode}"
        if "Operation not permitted" in reason or "Permission denied" in reason:
            raise ZonesUnavailable(
                f"`{command}` was refused ({reason}): zones need root, or the "
                "capabilities CAP_NET_ADMIN and CAP_SYS_ADMIN"
            )
        raise ZoneError(f"`{command}` failed: {reason}")
    return done.stdout


def _json(tool: str, *args: str) -> list[dict[str, Any]]:
    output = _run(tool, "-j", *args).strip()
    return list(json.loads(output)) if output else []
