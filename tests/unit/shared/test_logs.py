"""Log lines are JSON objects with Jalin's fields, the correlation id in effect and the extras."""
import io
import json
import logging

from pythonjsonlogger.json import JsonFormatter

from shared.logs import configure_logging, correlation_id_var


def test_a_log_line_is_one_json_object_with_correlation_service_and_extras():
    configure_logging("INFO", service="partners")
    out = io.StringIO()
    (handler,) = [h for h in logging.getLogger().handlers if isinstance(h.formatter, JsonFormatter)]
    previous = handler.setStream(out)
    token = correlation_id_var.set("corr-42")
    try:
        logging.getLogger("jalin.test").info("request", extra={"path": "/api/v1/partners", "status": 201})
        try:
            raise ValueError("boom")
        except ValueError:
            logging.getLogger("jalin.test").exception("failed")
    finally:
        correlation_id_var.reset(token)
        handler.setStream(previous)
    first, second = [json.loads(line) for line in out.getvalue().splitlines()]
    assert first["msg"] == "request" and first["logger"] == "jalin.test" and first["level"] == "INFO"
    assert first["correlation_id"] == "corr-42" and first["service"] == "partners"
    assert first["path"] == "/api/v1/partners" and first["status"] == 201 and first["ts"].endswith("+00:00")
    assert "ValueError: boom" in second["exc"]
