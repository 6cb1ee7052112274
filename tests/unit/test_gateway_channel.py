"""The gateway's channel: round-robin over healthy replicas, reads retried, writes never."""

from __future__ import annotations

import json

from gateway.channel import READ_RETRY_POLICY, channel_options, service_config
from gateway.dnc_api import DNC_API

# Writes (AddDnc, BatchAddDnc, RemoveDnc) are never retried: a retry could apply one twice.
READS = {
    "dnc.v1.DncService.ListDnc",
    "dnc.v1.DncService.CheckDnc",
    "dnc.v1.DncService.ExportDnc",
    "dnc.v1.DncService.ListDncHistory",
}


def test_replicas_are_balanced_round_robin_by_health() -> None:
    config = service_config(DNC_API)
    assert config["loadBalancingConfig"] == [{"round_robin": {}}]
    assert config["healthCheckConfig"] == {"serviceName": ""}


def test_only_the_reads_are_retried_on_unavailable() -> None:
    [method_config] = service_config(DNC_API)["methodConfig"]
    retried = {f"{name['service']}.{name['method']}" for name in method_config["name"]}
    assert retried == READS == set(DNC_API.retryable_methods)
    policy = method_config["retryPolicy"]
    assert policy is READ_RETRY_POLICY
    assert "UNAVAILABLE" in policy["retryableStatusCodes"]
    assert 2 <= policy["maxAttempts"] <= 5  # gRPC caps attempts at 5


def test_the_options_carry_the_config_and_turn_retries_on() -> None:
    options = dict(channel_options(DNC_API))
    assert json.loads(str(options["grpc.service_config"])) == service_config(DNC_API)
    assert options["grpc.enable_retries"] == 1
    assert options["grpc.service_config_disable_resolution"] == 1
