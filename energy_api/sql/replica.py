"""Whether the API's database is a hot standby, and how far its replay trails the primary.

On a primary (or a single server) there is nothing to say. On a standby the lag is 0 while it
has replayed all the WAL it received, else the time since the last transaction it replayed
committed on the primary: a primary with no writes does not make an idle standby look behind.
A standby whose WAL receiver is not running cannot know how far behind it is: `streaming` says so.
Everything here is readable by a role without privileges, on a standby (docs/scaling.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from energy_api.sql.where import Conn

LAG = """CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
            ELSE extract(epoch FROM now() - pg_last_xact_replay_timestamp()) END"""
REPLICA = f"""
SELECT pg_last_xact_replay_timestamp(), {LAG}, EXISTS (SELECT FROM pg_stat_wal_receiver)
WHERE pg_is_in_recovery()
"""
# in a query that reads other things: the lag on a standby, NULL on a primary
LAG_OR_NULL = f"CASE WHEN pg_is_in_recovery() THEN {LAG} END"


@dataclass(frozen=True)
class Replica:
    # the commit time (on the primary) of the last transaction replayed
    replayed_at: datetime | None
    lag_s: float | None  # None: nothing replayed yet
    streaming: bool  # its WAL receiver runs


def replica(conn: Conn) -> Replica | None:
    """The standby's replay; None on a primary."""
    row = conn.execute(REPLICA).fetchone()
    if row is None:
        return None
    replayed_at, lag, streaming = row
    return Replica(replayed_at, None if lag is None else float(lag), bool(streaming))


def problem(found: Replica | None, max_lag_s: float) -> str | None:
    """Why a standby's answers may be too old to serve, or None."""
    if found is None:
        return None
    if not found.streaming:
        return (
            "this standby is not receiving WAL from its primary: its answers may be old;"
            " check primary_conninfo and the primary"
        )
    if found.lag_s is not None and found.lag_s > max_lag_s:
        return (
            f"this standby's replay is {found.lag_s:.0f} s behind its primary"
            f" (ENERGY_API_MAX_LAG {max_lag_s:g} s): its answers are that old"
        )
    return None
