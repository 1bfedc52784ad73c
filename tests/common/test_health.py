"""The circuit breaker: open after failures, one probe at a time after the cool-down."""

from __future__ import annotations

import logging

import pytest

from common.health import CircuitBreaker


def test_opens_after_the_threshold_and_lets_one_probe_through_after_the_cool_down() -> None:
    breaker = CircuitBreaker("dependency", failure_threshold=2, cool_down_seconds=10.0)
    assert breaker.allow_request(now=100.0)
    breaker.record_failure("boom", now=100.0)
    assert breaker.allow_request(now=100.5), "one failure stays under the threshold"
    breaker.record_failure("boom", now=101.0)
    assert breaker.is_open
    assert not breaker.allow_request(now=105.0), "open during the cool-down"
    # Half-open: the first caller after the cool-down probes; everyone else keeps failing fast.
    assert breaker.allow_request(now=111.5)
    assert [breaker.allow_request(now=111.6) for _ in range(20)] == [False] * 20
    breaker.record_success()
    assert not breaker.is_open
    assert breaker.allow_request(now=111.7)


def test_a_failed_probe_reopens_for_a_whole_cool_down() -> None:
    breaker = CircuitBreaker("dependency", failure_threshold=1, cool_down_seconds=10.0)
    breaker.record_failure("boom", now=0.0)
    assert breaker.allow_request(now=10.5)
    breaker.record_failure("still down", now=11.0)
    assert not breaker.allow_request(now=20.0)
    assert breaker.allow_request(now=21.5)
    assert breaker.state()["degraded"] is True


def test_a_probe_that_never_reports_back_is_given_up_after_a_cool_down() -> None:
    breaker = CircuitBreaker("dependency", failure_threshold=1, cool_down_seconds=10.0)
    breaker.record_failure("boom", now=0.0)
    assert breaker.allow_request(now=10.5)
    assert not breaker.allow_request(now=15.0)
    assert breaker.allow_request(now=21.0)


def test_warnings_are_rate_limited_and_count_what_they_suppressed(caplog: pytest.LogCaptureFixture) -> None:
    breaker = CircuitBreaker("the cache", failure_threshold=1, cool_down_seconds=1.0, warn_every_seconds=5.0)
    with caplog.at_level(logging.WARNING, logger="common.health"):
        for step in range(900):
            breaker.record_failure("connection refused", now=1000.0 + step / 1000)
        breaker.record_failure("connection refused", now=1006.0)
    lines = [record.getMessage() for record in caplog.records]
    assert len(lines) == 2
    assert "899 similar warnings suppressed" in lines[1]
