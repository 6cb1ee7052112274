"""Which span exporters the OTEL_* variables select (none unless asked)."""

from __future__ import annotations

from pathlib import Path

import pytest

from dnc_common.env import SettingsError
from dnc_common.tracing import TraceSettings


@pytest.mark.parametrize(
    ("environ", "exporters"),
    [
        ({}, ()),
        ({"OTEL_TRACES_EXPORTER": "none"}, ()),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4317"}, ("otlp_proto_grpc",)),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://c:4318/v1/traces"}, ("otlp_proto_grpc",)),
        (
            {
                "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318",
                "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
            },
            ("otlp_proto_http",),
        ),
        (
            {
                "OTEL_TRACES_EXPORTER": "otlp",
                "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
                "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/protobuf",
            },
            ("otlp_proto_http",),
        ),
        ({"OTEL_TRACES_EXPORTER": "console"}, ("console",)),
        ({"OTEL_TRACES_EXPORTER": "Console, otlp"}, ("console", "otlp_proto_grpc")),
        # An explicit choice wins over the endpoint's implied OTLP.
        ({"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4317"}, ()),
    ],
)
def test_exporters_follow_the_standard_variables(
    environ: dict[str, str], exporters: tuple[str, ...]
) -> None:
    settings = TraceSettings.from_env(environ)
    assert settings.exporters == exporters
    assert settings.exporting == bool(exporters)


def test_a_trace_file_exports_too(tmp_path: Path) -> None:
    settings = TraceSettings.from_env({"DNC_TRACE_FILE": str(tmp_path / "spans.jsonl")})
    assert (settings.exporters, settings.trace_file) == ((), tmp_path / "spans.jsonl")
    assert settings.exporting


def test_sdk_disabled() -> None:
    assert TraceSettings.from_env({"OTEL_SDK_DISABLED": "true"}).disabled
    assert not TraceSettings.from_env({}).disabled


def test_an_unknown_otlp_protocol_is_refused() -> None:
    with pytest.raises(SettingsError, match="OTEL_EXPORTER_OTLP_PROTOCOL"):
        TraceSettings.from_env({"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "x"})


def test_an_unknown_exporter_is_refused() -> None:
    with pytest.raises(SettingsError, match="no span exporter named 'jaeger'"):
        TraceSettings.from_env({"OTEL_TRACES_EXPORTER": "console,jaeger"})
