"""The site file's [[rules]] read with their lines: the legacy dashboard's rule (name, priority,
url, point_search, value_search) and the health alert it raises (window, count, alert)."""

from __future__ import annotations

from typing import Any

from energy_ingest.catalog import search
from energy_ingest.catalog.site.fields import TomlFields
from energy_ingest.catalog.site.model import (
    ALERT_LEVELS,
    MAX_RULE_COUNT,
    MAX_RULE_WINDOW_S,
    Rule,
)
from energy_ingest.config import duration_seconds


class RuleFields(TomlFields):
    """Reads a [[rules]] entry, collecting its problems."""

    def rule(self, item: dict[str, Any], line: int) -> Rule | None:
        self.known(
            item,
            line,
            "rules",
            ("name", "priority", "url", "point_search", "value_search", "window", "count", "alert"),
        )
        name = self.text(item, "name", line)
        priority = item.get("priority", 0)
        if not isinstance(priority, int) or isinstance(priority, bool):
            self.problem(self.key_line(line, "priority"), "priority must be a whole number")
            priority = 0
        url = item.get("url", "")
        if not isinstance(url, str):
            self.problem(self.key_line(line, "url"), "url must be a string")
            url = ""
        searches = {}
        for key, endpoint in (("point_search", "points"), ("value_search", "values")):
            text = item.get(key, "")
            if not isinstance(text, str) or (key == "point_search" and not text.strip()):
                self.problem(self.key_line(line, key), f"{key} must be a search string")
                text = ""
            try:
                search.parse(text, endpoint)
            except search.SearchError as exc:
                self.problem(self.key_line(line, key), f"{key}: {exc}")
            searches[key] = text.strip()
        window_s, count, alert = self.rule_alert(item, line, bool(searches["value_search"]))
        if not name:
            return None
        return Rule(
            name,
            searches["point_search"],
            searches["value_search"],
            priority,
            url,
            line,
            window_s,
            count,
            alert,
        )

    def rule_alert(
        self, item: dict[str, Any], line: int, has_values: bool
    ) -> tuple[float, int, str]:
        """A rule's alert (energy_ingest/health/rules.py): its window, count and level."""
        window_s, count = 3600.0, 1
        raw = item.get("window", "1h")
        try:
            if not isinstance(raw, str):
                raise ValueError('must be a duration string, e.g. "15m", "1h" or "1d"')
            window_s = duration_seconds(raw)
            if window_s > MAX_RULE_WINDOW_S:
                raise ValueError(
                    f"is over the limit of {MAX_RULE_WINDOW_S // 86400} days (every evaluation"
                    " reads the window's readings of the rule's points)"
                )
        except ValueError as exc:
            self.problem(self.key_line(line, "window"), f"window {raw!r} {exc}")
            window_s = 3600.0
        raw = item.get("count", 1)
        if isinstance(raw, int) and not isinstance(raw, bool) and 1 <= raw <= MAX_RULE_COUNT:
            count = raw
        else:
            self.problem(
                self.key_line(line, "count"),
                f"count must be a whole number from 1 to {MAX_RULE_COUNT:,}: how many readings"
                " in the window must satisfy value_search",
            )
        alert = self.choice(item, "alert", ALERT_LEVELS, line) or "normal"
        asked = {"window", "count", "alert"} & set(item)
        if asked and alert != "off" and not has_values:
            self.problem(
                line,
                "window, count and alert need a value_search: without one the rule raises no"
                ' alert; add one (e.g. value_search = "~> 80") or set alert = "off"',
            )
        return window_s, count, alert
