"""Probes, metrics and logs: what an operator sees of the controller."""

from __future__ import annotations

import io
import json
from typing import Any

import httpx
import pytest
import structlog

from reconciler.controller.health import Health
from reconciler.controller.logs import configure_logging
from reconciler.controller.metrics import Metrics
from reconciler.controller.serving import (
    AddressError,
    Response,
    SmallHttpServer,
    parse_addr,
)


def test_addresses_parse_like_controller_runtime_flags() -> None:
    """`:8080` listens everywhere, host:port is kept, 0 or empty turns the server off."""
    assert parse_addr(":8080") == ("0.0.0.0", 8080)
    assert parse_addr("127.0.0.1:0") == ("127.0.0.1", 0)
    assert parse_addr("[::1]:9000") == ("::1", 9000)
    assert parse_addr("0") is None
    assert parse_addr("") is None
    with pytest.raises(AddressError, match="must be \\[HOST\\]:PORT"):
        parse_addr("localhost")


async def test_the_small_server_serves_routes_and_refuses_the_rest() -> None:
    """Known paths answer GET and HEAD; unknown paths are 404, other methods 405."""
    server = SmallHttpServer({"/ok": lambda: Response(200, b"fine\n")})
    host, port = await server.start("127.0.0.1", 0)
    try:
        async with httpx.AsyncClient(base_url=f"http://{host}:{port}") as http:
            got = await http.get("/ok?verbose=1")
            assert (got.status_code, got.text) == (200, "fine\n")
            assert (await http.head("/ok")).status_code == 200
            assert (await http.get("/nope")).status_code == 404
            assert (await http.post("/ok")).status_code == 405
    finally:
        await server.close()


def test_liveness_fails_when_the_loop_stalls(clock: Any) -> None:
    """A stale heartbeat makes /healthz fail; a long pass does not (see test_readiness)."""
    health = Health(clock=clock, stale_after=30)
    assert health.liveness()[0]
    health.beat()
    clock.advance(10)
    assert health.liveness() == (True, "ok")
    clock.advance(25)
    alive, why = health.liveness()
    assert not alive
    assert "stalled" in why
    health.beat()
    assert health.liveness()[0]


def test_readiness_waits_for_every_account(clock: Any) -> None:
    """/readyz is ready only when each expected account has finished its first sync."""
    health = Health(clock=clock)
    health.expect("a@x.io")
    health.expect("b@x.io")
    health.mark_ready("a@x.io")
    ready, why = health.readiness()
    assert not ready
    assert "b@x.io" in why
    health.mark_ready("b@x.io")
    assert health.readiness() == (True, "ok")


def test_metrics_use_controller_runtime_names_and_read_api_stats_live() -> None:
    """The exposition has the expected series; API request counts are read at scrape time."""
    metrics = Metrics()
    counts = {("people.connections.list", "200"): 3}
    metrics.track_api_requests("a@x.io", lambda: counts)
    metrics.reconcile_total.labels(account="a@x.io", result="success").inc()
    metrics.workqueue_retries_total.labels(name="a@x.io").inc(2)
    text = metrics.exposition().decode()
    assert 'reconciler_reconcile_total{account="a@x.io",result="success"} 1.0' in text
    assert 'reconciler_workqueue_retries_total{name="a@x.io"} 2.0' in text
    assert (
        'reconciler_api_requests_total{account="a@x.io",code="200",'
        'method="people.connections.list"} 3.0'
    ) in text
    counts[("people.connections.list", "200")] = 4
    assert 'method="people.connections.list"} 4.0' in metrics.exposition().decode()
    for name in (
        "reconciler_reconcile_errors_total",
        "reconciler_reconcile_time_seconds",
        "reconciler_workqueue_depth",
        "reconciler_conflicts_total",
        "reconciler_drift_detected_total",
    ):
        assert f"# TYPE {name.removesuffix('_total')}" in text


def test_two_controllers_in_one_process_do_not_share_metrics() -> None:
    """Each Metrics has its own registry, so tests and embedders can make several."""
    first, second = Metrics(), Metrics()
    first.conflicts_total.labels(account="a").inc()
    assert "reconciler_conflicts_total{" not in second.exposition().decode()


def test_json_logs_are_one_object_per_line_with_bound_context() -> None:
    """In JSON mode each event is a JSON object carrying its bound fields and level."""
    out = io.StringIO()
    configure_logging("json", stream=out)
    try:
        structlog.get_logger().bind(account="a@x.io").info("pass finished", keys=3)
        record = json.loads(out.getvalue().splitlines()[-1])
        assert record["event"] == "pass finished"
        assert record["account"] == "a@x.io"
        assert record["keys"] == 3
        assert record["level"] == "info"
        assert "timestamp" in record
        out = io.StringIO()
        configure_logging("auto", stream=out)  # not a TTY: JSON
        structlog.get_logger().info("again")
        assert json.loads(out.getvalue().strip().splitlines()[-1])["event"] == "again"
        configure_logging("console", stream=out)
        structlog.get_logger().info("readable")
        assert "readable" in out.getvalue().splitlines()[-1]
    finally:
        structlog.reset_defaults()
