"""REST gateway: JSON over HTTP for gRPC, transcoded from the proto's google.api.http rules.

The transcoder is generic; `dnc_api.DNC_API` says what it serves.
"""
