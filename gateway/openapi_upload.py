"""OpenAPI for streamed request bodies (client and bidi streams): the NDJSON and CSV forms the
gateway reads (upload.py, csv_upload.py), and the CSV columns of a batch stream's answer."""

from __future__ import annotations

from collections.abc import Sequence

from .csv_upload import singular
from .envelope import Schema
from .routes import Route
from .visibility import rest_visible

NDJSON = "application/x-ndjson"
CSV = "text/csv"
# Only streamed bodies answer this: the body sent nothing for the idle time.
UPLOAD_ERROR_STATUSES = (408,)


def csv_columns(route: Route) -> list[str]:
    """The CSV body's columns: the upload field's singular name, or its item's JSON names."""
    field = route.upload_field
    if field is None:
        return []
    if field.message_type is None:
        return [singular(field.json_name)]
    return [item.json_name for item in field.message_type.fields if rest_visible(item)]


def request_body(route: Route, line_schema: Schema) -> Schema:
    """NDJSON, one request message per line; CSV too when the request has one repeated field."""
    # As for a streamed answer, the NDJSON schema is each line's.
    content: Schema = {NDJSON: {"schema": line_schema}}
    text = (
        "Streamed, any size: NDJSON, one request message per line (each line at most the "
        "body size limit). Query parameters set their fields on every message. A bad line "
        "ends the stream: what came before it is answered, then the error."
    )
    columns = csv_columns(route)
    if columns and route.upload_field is not None:
        text += (
            f" Or CSV with a header row: each row is one item of `{route.upload_field.json_name}`"
            f" (columns {', '.join(columns)}; others ignored), grouped into messages of up "
            "to 1,000 items."
        )
        content[CSV] = {"schema": {"type": "string", "description": ", ".join(columns)}}
    return {"required": True, "description": text, "content": content}


def stream_csv_schema(route: Route, columns: Sequence[str]) -> Schema:
    """A streamed answer's CSV; for a batch stream (one row per item) its columns said."""
    if not route.response_items:
        return {"type": "string"}
    text = f"A header row ({', '.join(columns)}), then one row per item of each message."
    return {"type": "string", "description": text}
