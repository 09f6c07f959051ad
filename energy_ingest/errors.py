"""The one exception hierarchy of energy_ingest; third-party errors are translated at the edges.

EnergyError                 every error we raise on purpose; str() is the message for a human
├── ConfigError             bad ENERGY_* variables (all listed at once)
│   └── SiteFileError       catalog/site.py: every problem of the site file, with its line
├── ZoneNameError           config.py: not an IANA zone (also a ValueError), with one to use
├── DatabaseUnavailable     PostgreSQL cannot be reached or failed transiently: retry later
├── EmbeddedDatabaseError   the development cluster is missing, stopped, or cannot start
├── MigrationError          a migration failed; the database is left at the previous version
├── ParseError              a report cannot be parsed: carries file, line and what to do
├── _Overlong               formats/records.py: a record over MAX_LINE_BYTES (caught there)
├── PatternError            catalog/regex.py: a site rule's pattern RE2 refuses (a ValueError)
├── Cancelled               a load asked to stop between chunks: rolled back, the file stays
│   └── SourceChanged       the file changed while it was loaded: rolled back, taken again
├── RollupError             write/rollup_rebuild.py: a rebuild that cannot be done as asked
├── UnknownPoint            cli/catalog_report.py: `catalog show` of a point not (once) there
├── NotRegularFile          spool/files.py: a link, FIFO or device where a file was expected
│                           (also an OSError)
├── UploadRejected          upload/receive.py: the upload's 4xx answer, with its status
├── ClientGone              upload/receive.py: the client hung up mid-request
├── MultipartError          upload/multipart.py: a malformed multipart body
├── SearchError             catalog/search_tokens.py: a search that does not parse, or a term
│                           its endpoint does not allow (also a ValueError)
└── NoticeNotSent           health/notices/mail.py, webhook.py: the mail server or webhook
                            cannot be reached or refused a notice (the outbox retries it)

This module imports the standard library alone: the search language and the read API load it.
"""

from __future__ import annotations


class EnergyError(Exception):
    """Base class: the message says what went wrong, where, and what to do."""


class ConfigError(EnergyError):
    pass


class DatabaseUnavailable(EnergyError):
    pass


class EmbeddedDatabaseError(EnergyError):
    pass


class MigrationError(EnergyError):
    pass


class Cancelled(EnergyError):
    """The caller asked to stop between chunks; the transaction rolls back, the file stays put."""


class SourceChanged(Cancelled):
    """The file changed while it was being loaded (still being written): rolled back."""


class ParseError(EnergyError):
    """A file that cannot be read as any report: `file line N: what — hint`.

    `excerpt` (the file's first lines) is kept apart from the message: a person checking their
    own file sees it (`detailed`), a failure note on disk keeps it for operators, but the ledger,
    the log and the API carry only the message — the file may be anything (`ln /etc/passwd`).
    """

    def __init__(
        self,
        message: str,
        *,
        file: str = "",
        line: int | None = None,
        hint: str = "",
        excerpt: str = "",
    ):
        self.file = file
        self.line = line
        self.message = message
        self.hint = hint
        self.excerpt = excerpt
        super().__init__(self._text())

    def detailed(self) -> str:
        return f"{self}\n{self.excerpt}" if self.excerpt else str(self)

    def _text(self) -> str:
        where = self.file or "<input>"
        if self.line is not None:
            where += f" line {self.line}"
        text = f"{where}: {self.message}"
        return f"{text} — {self.hint}" if self.hint else text

    def with_file(self, file: str) -> ParseError:
        """The same error, naming the file (parsers may not know it)."""
        self.file = file
        self.args = (self._text(),)
        return self


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (psycopg's carry DETAIL/HINT lines after it)."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class NoticeNotSent(EnergyError):
    """A notice the mail server or webhook did not accept: names the server and the reason."""
