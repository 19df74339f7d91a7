"""Job names: keyword extraction, format/parse/validate, and the unique generator."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autoninja.errors import InvalidInputError, InvalidJobNameError, JobNameUnavailableError
from autoninja.jobs import (
    DEFAULT_KEYWORD,
    JOB_NAME_RE,
    MAX_KEYWORD_LENGTH,
    InMemoryJobRegistry,
    JobName,
    JobNameGenerator,
    extract_keyword,
    format_job_name,
    is_job_name,
    normalise_keyword,
    parse_job_name,
    unattributed_job_name,
    validate_job_name,
)

MOMENT = datetime(2026, 12, 3, 19, 21, 42, tzinfo=UTC)


class FrozenClock:
    """A clock that stays on one moment unless moved."""

    def __init__(self, moment: datetime = MOMENT) -> None:
        self.moment = moment

    def __call__(self) -> datetime:
        return self.moment


# --- keyword extraction -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("request_text", "keyword"),
    [
        ("I would like a friend agent", "friend"),
        ("I want a recipe assistant agent", "recipe"),
        ("Please create an agent that can help me with my taxes", "taxes"),
        ("Could you build me a Weather bot?", "weather"),
        ("I\u2019d like a travel-planner agent", "travel-planner"),
        ("I need 5 agents for billing", "billing"),
        ("Café menu helper", "cafe"),
        ("\uff26\uff32\uff29\uff25\uff2e\uff24 agent", "friend"),  # fullwidth letters fold to ASCII
        ("Build an e-commerce agent", "e-commerce"),
        ("supercalifragilisticexpialidocious agent", "supercalifragilistic"),
    ],
)
def test_extract_keyword_takes_the_first_meaningful_word(request_text: str, keyword: str) -> None:
    assert extract_keyword(request_text) == keyword


@pytest.mark.parametrize(
    "request_text",
    [
        "",
        "   ",
        "I would like an agent",
        "please create a new agent for me",
        "日本語のエージェント",
        "42",
        "!!!",
    ],
)
def test_extract_keyword_defaults_to_agent_when_nothing_meaningful_remains(request_text: str) -> None:
    assert extract_keyword(request_text) == DEFAULT_KEYWORD


def test_extract_keyword_never_claims_the_reserved_unattributed_keyword() -> None:
    assert extract_keyword("unattributed records viewer") == "records"


@pytest.mark.parametrize(
    ("word", "keyword"),
    [
        ("Friend", "friend"),
        ("Café_Bot!", "cafe-bot"),
        ("--a---b--", "a-b"),
        ("abcdefghijklmnopqrs-tuvwxyz", "abcdefghijklmnopqrs"),  # cut at 20, trailing '-' stripped
        ("日本語", DEFAULT_KEYWORD),
        ("", DEFAULT_KEYWORD),
    ],
)
def test_normalise_keyword(word: str, keyword: str) -> None:
    assert normalise_keyword(word) == keyword


# --- format, parse, validate --------------------------------------------------------------------------


def test_format_and_parse_round_trip() -> None:
    name = format_job_name("friend", MOMENT)

    parsed = parse_job_name(name)

    assert name == "job-friend-20261203-192142"
    assert parsed == JobName("friend", MOMENT)
    assert parsed.created_at.tzinfo is UTC
    assert parsed.name == name
    assert format_job_name(*parsed) == name


def test_format_converts_to_utc_and_drops_microseconds() -> None:
    in_paris = datetime(2026, 12, 3, 20, 21, 42, 999_999, tzinfo=timezone(timedelta(hours=1)))

    assert format_job_name("friend", in_paris) == "job-friend-20261203-192142"


def test_format_refuses_naive_datetimes_and_bad_keywords() -> None:
    with pytest.raises(InvalidJobNameError, match="timezone-aware"):
        format_job_name("friend", datetime(2026, 12, 3, 19, 21, 42))
    for keyword in ["", "Friend", "-friend", "friend-", "a" * 21, "fri end", "fri/end"]:
        with pytest.raises(InvalidJobNameError, match="keyword"):
            format_job_name(keyword, MOMENT)


@pytest.mark.parametrize(
    "name",
    [
        "job-a-20261203-192142",
        "job-0-20260101-000000",
        "job-a-b-c-20261231-235959",
        f"job-{'a' * MAX_KEYWORD_LENGTH}-20261203-192142",
        "job-2048-20240229-120000",  # leap day
        "job-unattributed-20261203-000000",
    ],
)
def test_valid_names(name: str) -> None:
    assert validate_job_name(name) == name
    assert is_job_name(name)


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("job-Friend-20261203-192142", "does not match"),  # uppercase
        ("JOB-friend-20261203-192142", "does not match"),
        ("job-friend-20261340-192142", "not a real UTC date"),  # month 13, day 40
        ("job-friend-20250229-120000", "not a real UTC date"),  # not a leap year
        ("job-friend-20261203-246060", "not a real UTC date"),
        (f"job-{'a' * (MAX_KEYWORD_LENGTH + 1)}-20261203-192142", "does not match"),  # keyword too long
        ("job-friend-20261203", "does not match"),  # missing time
        ("job--20261203-192142", "does not match"),  # missing keyword
        ("friend-20261203-192142", "does not match"),  # missing prefix
        ("job-friend-20261203-192142-x", "does not match"),  # trailing junk
        ("job-friend-20261203-192142\n", "does not match"),  # trailing newline
        (" job-friend-20261203-192142", "does not match"),
        ("job-friend--20261203-192142", "does not match"),  # keyword ending in '-'
        ("job-fri\u0435nd-20261203-192142", "does not match"),  # Cyrillic 'е'
        ("job-friend-\u0662\u0660\u0662\u0666" + "1203-192142", "does not match"),  # Arabic-Indic digits
        ("job-ｆriend-20261203-192142", "does not match"),  # fullwidth
        ("job-friend-2026120-1921420", "does not match"),
        ("", "does not match"),
    ],
)
def test_invalid_names_are_rejected_with_a_reason(name: str, reason: str) -> None:
    assert not is_job_name(name)
    with pytest.raises(InvalidJobNameError, match=reason):
        validate_job_name(name)


def test_invalid_job_name_is_an_input_error_with_status_400() -> None:
    with pytest.raises(InvalidInputError) as caught:
        parse_job_name("nope")
    assert caught.value.status_code == 400


def test_non_string_is_rejected() -> None:
    assert not is_job_name(None)  # type: ignore[arg-type]
    with pytest.raises(InvalidJobNameError, match="string"):
        parse_job_name(42)  # type: ignore[arg-type]


def test_one_expression_parses_the_parts() -> None:
    match = JOB_NAME_RE.fullmatch("job-a-b-20261203-192142")
    assert match is not None
    assert (match["keyword"], match["date"], match["time"]) == ("a-b", "20261203", "192142")


def test_unattributed_job_name_is_valid_and_one_per_utc_day() -> None:
    late = datetime(2026, 12, 3, 23, 59, 59, tzinfo=UTC)
    next_day_elsewhere = datetime(2026, 12, 4, 0, 30, tzinfo=timezone(timedelta(hours=2)))  # still Dec 3 UTC

    name = unattributed_job_name(MOMENT)

    assert name == "job-unattributed-20261203-000000"
    assert is_job_name(name)
    assert unattributed_job_name(late) == name
    assert unattributed_job_name(next_day_elsewhere) == name
    assert unattributed_job_name(MOMENT + timedelta(days=1)) == "job-unattributed-20261204-000000"


# --- properties ---------------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_any_request_gives_a_valid_keyword_and_name(request_text: str) -> None:
    keyword = extract_keyword(request_text)
    generator = JobNameGenerator(InMemoryJobRegistry(), clock=FrozenClock())

    name = generator.new(request_text)

    assert 1 <= len(keyword) <= MAX_KEYWORD_LENGTH
    assert normalise_keyword(keyword) == keyword
    assert validate_job_name(name) == name
    assert parse_job_name(name).keyword == keyword
    assert format_job_name(*parse_job_name(name)) == name


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_normalise_keyword_always_gives_a_valid_keyword(word: str) -> None:
    keyword = normalise_keyword(word)

    assert is_job_name(format_job_name(keyword, MOMENT))


@settings(max_examples=200, deadline=None)
@given(
    st.from_regex(r"[a-z0-9]([a-z0-9-]{0,18}[a-z0-9])?", fullmatch=True),
    st.datetimes(
        min_value=datetime(1000, 1, 1),
        max_value=datetime(9999, 12, 31),
        timezones=st.just(UTC),
    ),
)
def test_format_parse_round_trip_for_any_keyword_and_moment(keyword: str, moment: datetime) -> None:
    name = format_job_name(keyword, moment)

    parsed = parse_job_name(name)

    assert parsed.keyword == keyword
    assert parsed.created_at == moment.replace(microsecond=0)
    assert format_job_name(*parsed) == name


# --- the generator ------------------------------------------------------------------------------------


def test_generator_gives_distinct_valid_names_within_one_frozen_second() -> None:
    registry = InMemoryJobRegistry()
    generator = JobNameGenerator(registry, clock=FrozenClock())

    names = [generator.new("I would like a friend agent") for _ in range(50)]

    assert len(set(names)) == 50
    assert names[0] == "job-friend-20261203-192142"
    assert names[1] == "job-friend-20261203-192143"  # taken second -> next second, format kept
    assert all(parse_job_name(name).keyword == "friend" for name in names)
    assert all(name in registry for name in names)
    assert registry.request_of(names[0]) == "I would like a friend agent"


def test_generator_keywords_do_not_compete_for_a_second() -> None:
    generator = JobNameGenerator(InMemoryJobRegistry(), clock=FrozenClock())

    assert generator.new("a friend agent") == "job-friend-20261203-192142"
    assert generator.new("a recipe agent") == "job-recipe-20261203-192142"


def test_generator_is_unique_across_threads() -> None:
    registry = InMemoryJobRegistry()
    generator = JobNameGenerator(registry, clock=FrozenClock(), max_attempts=1_000)
    names: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(8)

    def worker() -> None:
        barrier.wait()
        mine = [generator.new("I would like a friend agent") for _ in range(50)]
        with lock:
            names.extend(mine)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(names) == 400
    assert len(set(names)) == 400
    assert len(registry) == 400
    assert all(is_job_name(name) for name in names)


def test_generator_raises_when_every_second_is_taken() -> None:
    registry = InMemoryJobRegistry()
    generator = JobNameGenerator(registry, clock=FrozenClock(), max_attempts=3)
    for _ in range(3):
        generator.new("a friend agent")

    with pytest.raises(JobNameUnavailableError, match="within 3 seconds") as caught:
        generator.new("a friend agent")

    assert caught.value.status_code == 409
    assert len(registry) == 3


def test_generator_passes_request_and_real_creation_time_to_the_registry() -> None:
    calls: list[tuple[str, str, str]] = []

    class RecordingRegistry:
        def reserve(self, job_name: str, *, request: str, created_at: str) -> bool:
            calls.append((job_name, request, created_at))
            return len(calls) > 1  # the first name is taken

    clock = FrozenClock(MOMENT.replace(microsecond=123_456))

    name = JobNameGenerator(RecordingRegistry(), clock=clock).new("a friend agent")

    assert name == "job-friend-20261203-192143"
    assert calls == [
        ("job-friend-20261203-192142", "a friend agent", "2026-12-03T19:21:42.123456Z"),
        ("job-friend-20261203-192143", "a friend agent", "2026-12-03T19:21:42.123456Z"),
    ]


def test_generator_refuses_a_naive_clock_and_bad_attempts() -> None:
    naive = JobNameGenerator(InMemoryJobRegistry(), clock=lambda: datetime(2026, 12, 3))
    with pytest.raises(InvalidJobNameError, match="timezone-aware"):
        naive.new("a friend agent")
    with pytest.raises(ValueError, match="max_attempts"):
        JobNameGenerator(InMemoryJobRegistry(), max_attempts=0)
