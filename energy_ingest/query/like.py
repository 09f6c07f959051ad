"""Text for SQL LIKE: a substring or a name glob (* any run, ? one character), '\\' escaping."""

from __future__ import annotations


def like_escape(text: str) -> str:
    """`text` matched literally by LIKE (its backslashes, % and _ escaped)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def glob_to_like(pattern: str) -> str:
    """A name glob as a LIKE pattern: * any run, ? one character, the rest literal."""
    return like_escape(pattern).replace("*", "%").replace("?", "_")
