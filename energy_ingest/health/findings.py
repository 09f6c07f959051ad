"""What a check found: one condition, now, on one subject."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

HIGH, NORMAL = "high", "normal"


@dataclass(frozen=True)
class Finding:
    """A condition that holds at the evaluation's time. `subject` is stable across evaluations
    (it keys the alert): 'series:<id>', 'point:<id>', 'building:<id>', 'rule:<id>:point:<id>'."""

    kind: str  # overdue, stale, building_stale, flat, out_of_range, spike, rule
    subject: str
    priority: str  # HIGH or NORMAL
    summary: str  # one line: what, where, since when ("boliou1 (siemens) is 3 h overdue: …")
    details: dict[str, Any] = field(default_factory=dict)  # JSON facts (numbers, ISO times)
    link: str | None = None  # an API path ('/api/v2/series/3') or a rule's url
    series_id: int | None = None
    point_id: int | None = None
    building_id: int | None = None
    rule_id: int | None = None
