"""What the site file and the read API must mean alike: how a text names a building — by code,
else by name, else by alias, else by ALC Location segment, case and spacing never mattering (so
a code always beats another building's alias) — and the tags that make a point a room
temperature or a damper when the site file's [anomalies] does not say."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Generic, Protocol, TypeVar


class Labelled(Protocol):
    @property
    def code(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def aliases(self) -> Sequence[str]: ...
    @property
    def alc_location(self) -> str | None: ...


# A room temperature is a zone air temperature sensor (not its setpoint); a damper, a damper.
DEFAULT_ANOMALIES: Mapping[str, tuple[str, ...]] = {
    "room_temperature": ("zone", "air", "temp", "sensor"),
    "damper": ("damper",),
}
B = TypeVar("B", bound=Labelled)
LEVELS: tuple[Callable[[Labelled], Iterable[str | None]], ...] = (
    lambda b: (b.code,),
    lambda b: (b.name,),
    lambda b: b.aliases,
    lambda b: (b.alc_location,),
)


def label_key(text: str) -> str:
    """A label as compared: case and runs of spacing do not matter."""
    return " ".join(text.split()).casefold()


class BuildingIndex(Generic[B]):
    """Buildings by label, one dict per level: a lookup per point, however many buildings."""

    def __init__(self, buildings: Iterable[B]) -> None:
        self.levels: list[dict[str, list[B]]] = [{} for _ in LEVELS]
        for b in buildings:
            for level, labels in zip(self.levels, LEVELS, strict=True):
                for label in labels(b):
                    found = level.setdefault(label_key(label), []) if label else []
                    if label and b not in found:
                        found.append(b)

    def named(self, text: str) -> list[B]:
        """The buildings `text` names, at the first level (code, name, alias, Location) that
        names any; more than one only where labels collide (the site file refuses that;
        buildings no longer in it may still collide in the database)."""
        key = label_key(text)
        for level in self.levels:
            if key in level:
                return level[key]
        return []
