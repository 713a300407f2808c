"""Ascend rank tables (hccl_tools.py format): which devices and ranks belong to this host.

    python -m src.cluster.rank_table RANK_TABLE_FILE [HOST_ADDRESS ...]

prints `RANK_SIZE N`, then one `DEVICE_ID RANK_ID` line per device of this host: the server
whose server_id is one of HOST_ADDRESS (scripts pass `hostname -I`), or the only server.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from src.core.errors import UserError


def read_rank_table(path: str | Path) -> list[dict]:
    """The server_list of a rank table (version 1.0: server_id, device[device_id, device_ip, rank_id])."""
    path = Path(path)
    try:
        table = json.loads(path.read_text())
        servers = table["server_list"]
        for server in servers:
            for device in server["device"]:
                int(device["device_id"]), int(device["rank_id"])
            str(server["server_id"])
    except FileNotFoundError:
        raise UserError(f"rank table {path} does not exist") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise UserError(
            f"rank table {path} is not a rank table JSON with server_list[].server_id and "
            f"device[].device_id/rank_id ({type(exc).__name__}: {exc})"
        ) from None
    if not servers:
        raise UserError(f"rank table {path} lists no servers")
    return servers


def host_devices(path: str | Path, host_addresses: list[str]) -> tuple[int, list[tuple[int, int]]]:
    """(rank size, [(device_id, rank_id), ...] of this host, by rank)."""
    servers = read_rank_table(path)
    size = sum(len(server["device"]) for server in servers)
    if len(servers) == 1:
        mine = servers[0]
    else:
        matches = [s for s in servers if str(s["server_id"]) in host_addresses]
        if not matches:
            raise UserError(
                f"rank table {path}: no server_id among this host's addresses {host_addresses}; "
                f"servers: {[s['server_id'] for s in servers]}"
            )
        mine = matches[0]
    devices = sorted((int(d["device_id"]), int(d["rank_id"])) for d in mine["device"])
    ranks = sorted(rank for _, rank in devices)
    if len(set(ranks)) != len(ranks) or not all(0 <= r < size for r in ranks):
        raise UserError(
            f"rank table {path}: rank ids {ranks} of server {mine['server_id']} are not unique within 0..{size - 1}"
        )
    return size, sorted(devices, key=lambda pair: pair[1])


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv:
        print("usage: python -m src.cluster.rank_table RANK_TABLE_FILE [HOST_ADDRESS ...]", file=sys.stderr)
        return 2
    try:
        size, devices = host_devices(argv[0], argv[1:])
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"RANK_SIZE {size}")
    for device_id, rank_id in devices:
        print(device_id, rank_id)
    return 0


if __name__ == "__main__":
    sys.exit(main())
