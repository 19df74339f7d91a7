"""Job names: the one generator, parser and validator of ``job-{keyword}-{YYYYMMDD-HHMMSS}``.

A job name is the partition key of every record and the first segment of every artifact key, so the
whole project agrees on one format, in UTC::

    job-friend-20261203-192142
        ^^^^^^ keyword: [a-z0-9] at both ends, [a-z0-9-] inside, 1..20 characters
               ^^^^^^^^^^^^^^^ creation second, a real date and time in UTC

One compiled regular expression (:data:`JOB_NAME_RE`) both parses and validates a name; the date and
time must also form a real moment, so ``20261340`` is rejected.

**Uniqueness.** Two requests with the same keyword in the same second must not share a name, yet a
suffix such as ``-2`` would break the format (and every parser of it). So the name keeps its format and
moves in *time* instead: :class:`JobNameGenerator` asks a :class:`JobRegistry` to reserve the name for the
current second and, if it is taken, tries the next second (+1 s, +2 s, ...) up to ``max_attempts`` times.
Every name it hands out therefore still parses, still sorts by creation time and is at most
``max_attempts`` seconds "in the future". The reservation is atomic because, in AWS, it is one conditional
write: the registry adapter in :mod:`autoninja.records` puts a ``job#meta`` item into the inference table
only if no item with that key exists, so two Lambda instances racing for one name cannot both win.
:class:`InMemoryJobRegistry` is the thread-safe fake of that port for tests and local tools.

**Unattributed records.** An event whose ``job_name`` is missing or invalid is still put on record, filed
under :func:`unattributed_job_name` (``job-unattributed-{YYYYMMDD}-000000``, one per UTC day).

Example::

    generator = JobNameGenerator(InMemoryJobRegistry())
    name = generator.new("I would like a friend agent")      # "job-friend-20261203-192142"
    parse_job_name(name).keyword                              # "friend"
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import NamedTuple, Protocol

from autoninja.errors import InvalidJobNameError, JobNameUnavailableError
from autoninja.models import utc_timestamp

#: The longest keyword a job name may carry.
MAX_KEYWORD_LENGTH = 20
#: The keyword used when a request holds no meaningful word.
DEFAULT_KEYWORD = "agent"
#: The keyword of the per-day job that collects records of events without a valid job name.
UNATTRIBUTED_KEYWORD = "unattributed"

_KEYWORD_PATTERN = rf"[a-z0-9](?:[a-z0-9-]{{0,{MAX_KEYWORD_LENGTH - 2}}}[a-z0-9])?"

#: The one expression that parses and validates job names (used with ``fullmatch``; ASCII only).
JOB_NAME_RE = re.compile(
    rf"job-(?P<keyword>{_KEYWORD_PATTERN})-(?P<date>[0-9]{{8}})-(?P<time>[0-9]{{6}})",
    re.ASCII,
)
_KEYWORD_RE = re.compile(_KEYWORD_PATTERN, re.ASCII)
_STAMP_FORMAT = "%Y%m%d-%H%M%S"

#: Words that say how something is asked for, not what it is; the keyword is the first word not here.
_STOP_WORDS_TEXT = """
    a an the this that these those some any another new
    i i'd i'm i've i'll me my mine we we'd we're we've we'll us our ours you your you'd it its it's
    let's let us
    would like want wants wanted need needs needed prefer
    to please pls plz kindly just really also simply
    create creates creating make makes making build builds building develop generate
    give get write implement produce
    for of with from in on at by as about into
    can could should will shall may might must do does is are be been
    help helps helping
    and or but so then
    agent agents assistant assistants bot bots ai
    simple small basic quick
"""
STOP_WORDS: frozenset[str] = frozenset(_STOP_WORDS_TEXT.split())
# Curly apostrophes become ASCII ones before matching, so "I\u2019d" is the stop word "i'd".
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'"})
_TOKEN_RE = re.compile(r"[a-z0-9]+(?:['-][a-z0-9]+)*", re.ASCII)
_NOT_KEYWORD_CHAR_RE = re.compile(r"[^a-z0-9-]+", re.ASCII)
_DASHES_RE = re.compile(r"-{2,}")


class JobName(NamedTuple):
    """A parsed job name: its keyword and its creation second (tz-aware UTC).

    It unpacks into the arguments of :func:`format_job_name`, so ``format_job_name(*parsed)`` gives the
    name back; :attr:`name` does the same.

    Example::

        parsed = parse_job_name("job-friend-20261203-192142")
        parsed.keyword       # "friend"
        parsed.created_at    # datetime(2026, 12, 3, 19, 21, 42, tzinfo=UTC)
        parsed.name          # "job-friend-20261203-192142"
    """

    keyword: str
    created_at: datetime

    @property
    def name(self) -> str:
        """The job name in its canonical text form."""
        return format_job_name(self.keyword, self.created_at)


def _ascii_fold(text: str) -> str:
    """Lower-case ASCII for ``text``: NFKD decomposition, accents and non-ASCII dropped."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_APOSTROPHES))
    return decomposed.encode("ascii", "ignore").decode("ascii").lower()


def normalise_keyword(word: str) -> str:
    """Turn any word into a valid keyword: ASCII, lower-case, ``[a-z0-9-]``, at most 20 characters.

    Why: the keyword is part of the partition key and of every S3 key, so it must be safe whatever the
    user typed. Unicode is folded to ASCII (NFKD), every other character becomes ``-``, repeated ``-``
    collapse, and ``-`` is stripped at both ends (also after cutting to 20 characters). A word with
    nothing left gives :data:`DEFAULT_KEYWORD`.

    Example::

        normalise_keyword("Café_Bot!")    # "cafe-bot"
        normalise_keyword("日本語")        # "agent"
    """
    folded = _NOT_KEYWORD_CHAR_RE.sub("-", _ascii_fold(word))
    keyword = _DASHES_RE.sub("-", folded).strip("-")
    keyword = keyword[:MAX_KEYWORD_LENGTH].rstrip("-")
    return keyword or DEFAULT_KEYWORD


def extract_keyword(request: str) -> str:
    """The keyword for a request: its first meaningful word, normalised.

    Why: a job name should tell a person what the job was about at a glance. Words in
    :data:`STOP_WORDS` (how the request is phrased), bare numbers and the reserved
    :data:`UNATTRIBUTED_KEYWORD` are skipped; if nothing is left the keyword is :data:`DEFAULT_KEYWORD`.

    Example::

        extract_keyword("I would like a friend agent")        # "friend"
        extract_keyword("I want a recipe assistant agent")    # "recipe"
        extract_keyword("please create an agent")             # "agent"
    """
    for token in _TOKEN_RE.findall(_ascii_fold(request)):
        if token in STOP_WORDS or token.isdigit():
            continue
        keyword = normalise_keyword(token)
        if keyword != UNATTRIBUTED_KEYWORD:
            return keyword
    return DEFAULT_KEYWORD


def _utc_second(moment: datetime) -> datetime:
    """``moment`` in UTC, cut to the second; naive datetimes are refused (they have no zone)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise InvalidJobNameError(f"job time {moment.isoformat()!r} must be timezone-aware (UTC)")
    return moment.astimezone(UTC).replace(microsecond=0)


def format_job_name(keyword: str, moment: datetime) -> str:
    """Build ``job-{keyword}-{YYYYMMDD-HHMMSS}`` from a valid keyword and a tz-aware moment (in UTC).

    Why: the single place that writes the format, so every name parses with :data:`JOB_NAME_RE`.
    Sub-second precision is dropped. Raises :class:`InvalidJobNameError` for an invalid keyword (use
    :func:`normalise_keyword` first) or a naive datetime.

    Example::

        format_job_name("friend", datetime(2026, 12, 3, 19, 21, 42, tzinfo=UTC))
        # "job-friend-20261203-192142"
    """
    if not isinstance(keyword, str) or not _KEYWORD_RE.fullmatch(keyword):
        raise InvalidJobNameError(
            f"job keyword {keyword!r} must be 1-{MAX_KEYWORD_LENGTH} characters of [a-z0-9-], "
            "starting and ending with a letter or digit"
        )
    return f"job-{keyword}-{_utc_second(moment).strftime(_STAMP_FORMAT)}"


def parse_job_name(name: str) -> JobName:
    """Parse and validate a job name into its keyword and creation time.

    Why: records and artifact keys are only accepted for names that parse, so a typo or an injected
    string never becomes a partition or a prefix. Raises :class:`InvalidJobNameError` saying what is wrong.

    Example::

        parse_job_name("job-friend-20261203-192142").created_at.year   # 2026
        parse_job_name("job-Friend-20261203-192142")                    # InvalidJobNameError
    """
    if not isinstance(name, str):
        raise InvalidJobNameError(f"job name must be a string, not {type(name).__name__}")
    match = JOB_NAME_RE.fullmatch(name)
    if match is None:
        shown = name if len(name) <= 80 else name[:77] + "..."
        raise InvalidJobNameError(
            f"job name {shown!r} does not match job-{{keyword}}-{{YYYYMMDD-HHMMSS}}: keyword of 1-"
            f"{MAX_KEYWORD_LENGTH} characters [a-z0-9-] (letter or digit at both ends), then 8 digits, "
            "'-', 6 digits, nothing else"
        )
    stamp = f"{match['date']}-{match['time']}"
    try:
        created_at = datetime.strptime(stamp, _STAMP_FORMAT).replace(tzinfo=UTC)
    except ValueError as exc:
        raise InvalidJobNameError(
            f"job name {name!r} has {stamp!r}, which is not a real UTC date and time (YYYYMMDD-HHMMSS)"
        ) from exc
    return JobName(match["keyword"], created_at)


def validate_job_name(name: str) -> str:
    """Return ``name`` unchanged if it is a valid job name, else raise :class:`InvalidJobNameError`.

    Why: a guard for entry points (handlers, key builders) that want the name itself, checked.

    Example::

        validate_job_name("job-friend-20261203-192142")   # "job-friend-20261203-192142"
    """
    parse_job_name(name)
    return name


def is_job_name(name: str) -> bool:
    """True if ``name`` is a valid job name; never raises.

    Example::

        is_job_name("job-friend-20261203-192142")   # True
        is_job_name("job-friend-20261340-192142")   # False (no 40th of the 13th month)
    """
    try:
        parse_job_name(name)
    except InvalidJobNameError:
        return False
    return True


def unattributed_job_name(moment: datetime | None = None) -> str:
    """The job that files records of events with a missing or invalid job name: one per UTC day.

    Why: step 1 of the persisted action logs every raw event *before* validation, so an event without a
    usable job name still needs a valid partition; this one keeps the format and still parses.

    Example::

        unattributed_job_name(datetime(2026, 12, 3, 19, 21, tzinfo=UTC))
        # "job-unattributed-20261203-000000"
    """
    day = _utc_second(moment or datetime.now(UTC)).replace(hour=0, minute=0, second=0)
    return format_job_name(UNATTRIBUTED_KEYWORD, day)


class JobRegistry(Protocol):
    """The port that makes job names unique: an atomic "reserve if free".

    The DynamoDB adapter (in :mod:`autoninja.records`) is a conditional put of a ``job#meta`` item;
    :class:`InMemoryJobRegistry` is the fake.

    Example::

        registry.reserve("job-a-20261203-192142", request="an a", created_at="2026-12-03T19:21:42.000000Z")
        # True the first time, False ever after
    """

    def reserve(self, job_name: str, *, request: str, created_at: str) -> bool:
        """Reserve ``job_name`` atomically: True if reserved now, False if it was already taken."""
        ...


class InMemoryJobRegistry:
    """A thread-safe in-memory :class:`JobRegistry` for tests and local tools.

    Example::

        registry = InMemoryJobRegistry()
        registry.reserve("job-a-20261203-192142", request="a", created_at="...")   # True
        "job-a-20261203-192142" in registry                                       # True
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._reserved: dict[str, tuple[str, str]] = {}

    def reserve(self, job_name: str, *, request: str, created_at: str) -> bool:
        """Reserve ``job_name`` if no one has; remembers the request and the creation time."""
        with self._lock:
            if job_name in self._reserved:
                return False
            self._reserved[job_name] = (request, created_at)
            return True

    def request_of(self, job_name: str) -> str | None:
        """The request a name was reserved for, or None if it is free."""
        with self._lock:
            entry = self._reserved.get(job_name)
        return entry[0] if entry else None

    def __contains__(self, job_name: object) -> bool:
        with self._lock:
            return job_name in self._reserved

    def __len__(self) -> int:
        with self._lock:
            return len(self._reserved)


class JobNameGenerator:
    """The one generator of job names: unique even for two same-keyword requests in the same second.

    Why: see the module docstring; on a taken name it tries the next second, so the name keeps its format.
    ``clock`` must return tz-aware datetimes (it is injectable so tests can freeze time). Raises
    :class:`JobNameUnavailableError` after ``max_attempts`` taken seconds.

    Example::

        generator = JobNameGenerator(InMemoryJobRegistry())
        generator.new("I would like a friend agent")   # "job-friend-20261203-192142"
        generator.new("I would like a friend agent")   # "job-friend-20261203-192143" (same second)
    """

    def __init__(
        self,
        registry: JobRegistry,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        max_attempts: int = 120,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self._registry = registry
        self._clock = clock
        self._max_attempts = max_attempts

    def new(self, request: str) -> str:
        """Reserve and return a fresh job name for ``request``."""
        keyword = extract_keyword(request)
        now = self._clock()
        start = _utc_second(now)
        created_at = utc_timestamp(now)
        for offset in range(self._max_attempts):
            name = format_job_name(keyword, start + timedelta(seconds=offset))
            if self._registry.reserve(name, request=request, created_at=created_at):
                return name
        raise JobNameUnavailableError(
            f"no free job name for keyword {keyword!r} within {self._max_attempts} seconds of "
            f"{start.strftime(_STAMP_FORMAT)}; every one was already reserved"
        )
