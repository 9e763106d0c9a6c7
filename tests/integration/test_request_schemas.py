"""One validator at the edge: every request schema of every service is a ``shared.schema.Schema``,
so no operation can accept a value that breaks an output (issue 10, point 8)."""
import importlib

import pytest

from shared.schema import Schema


def argument_schemas(app):
    """(endpoint, schema class) of every ``@blp.arguments`` of the app's routes."""
    for endpoint, view in app.view_functions.items():
        cls = getattr(view, "view_class", None)
        funcs = [getattr(cls, m) for m in ("get", "post", "put", "patch", "delete") if hasattr(cls, m)] if cls \
            else [view]
        for func in funcs:
            for parameter in getattr(func, "_apidoc", {}).get("arguments", {}).get("parameters", []):
                schema = parameter["schema"]
                yield endpoint, schema if isinstance(schema, type) else type(schema)


@pytest.mark.parametrize("service", ["partners", "agreements", "evaluation"])
def test_every_request_schema_inherits_the_shared_validator(service, settings, mongo):
    app = importlib.import_module(f"services.{service}").create_app(
        {"prefix": settings.prefix, "mongo_uri": settings.mongo_uri, "kafka_bootstrap": settings.kafka_bootstrap})
    schemas = list(argument_schemas(app))
    assert len(schemas) >= 10  # the walk found the routes' arguments
    outside = sorted({f"{endpoint}: {cls.__module__}.{cls.__name__}" for endpoint, cls in schemas
                      if not issubclass(cls, Schema)})
    assert not outside, outside
