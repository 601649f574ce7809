"""The limit flags: defaults are upstream's, every ServerLimits field has one, bad values fail."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from k8s_aggapi.limits import DEFAULT_LIMITS, MiB, ServerLimits
from k8s_aggapi.options import config_from_args


def test_without_flags_the_limits_are_upstreams() -> None:
    limits = config_from_args([], []).limits
    assert limits == DEFAULT_LIMITS
    assert (limits.max_header_bytes, limits.header_read_timeout, limits.idle_timeout) == (
        MiB, 32.0, 90.0)
    assert limits.max_body_bytes == 3 * MiB


def test_every_limit_has_a_flag() -> None:
    argv = [
        "--max-request-header-bytes=2048",
        "--read-header-timeout=1m30s",
        "--idle-timeout=500ms",
        "--max-request-body-bytes=1024",
        "--max-nesting-depth=50",
        "--max-json-patch-operations=7",
        "--json-patch-max-copy-bytes=99",
        "--watch-queue-length=3",
    ]
    limits = config_from_args([], argv).limits
    assert limits == ServerLimits(
        max_header_bytes=2048, header_read_timeout=90.0, idle_timeout=0.5, max_body_bytes=1024,
        max_nesting_depth=50, max_json_patch_operations=7, json_patch_max_copy_bytes=99,
        watch_queue_length=3)
    changed = {f.name for f in dataclasses.fields(ServerLimits)
               if getattr(limits, f.name) != getattr(DEFAULT_LIMITS, f.name)}
    assert changed == {f.name for f in dataclasses.fields(ServerLimits)}


async def test_the_completed_config_carries_the_limits(tmp_path: Path) -> None:
    config = config_from_args([], ["--watch-queue-length=5", "--dev", f"--cert-dir={tmp_path}"])
    completed = await config.complete()
    assert completed.limits.watch_queue_length == 5


@pytest.mark.parametrize("flag", [
    "--max-request-header-bytes=0",
    "--max-request-body-bytes=-1",
    "--max-nesting-depth=ten",
    "--watch-queue-length=0",
    "--read-header-timeout=0s",
    "--idle-timeout=soon",
])
def test_bad_limit_values_are_refused(flag: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        config_from_args([], [flag])
    assert flag.split("=")[0] in capsys.readouterr().err
