"""REST gateway: JSON over HTTP for dnc.v1, transcoded from the proto's google.api.http rules."""
