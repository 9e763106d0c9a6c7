"""Inputs that cannot break outputs: one validator (shared.schema.Schema) and the JSON depth guard."""
import json

import pytest
from flask.views import MethodView
from flask_smorest import Blueprint
from hypothesis import given
from hypothesis import strategies as st
from marshmallow import ValidationError, fields, validate

from shared.auth import mint_token
from shared.config import Settings
from shared.http import MAX_JSON_DEPTH, create_service_app
from shared.schema import MAX_ITEMS, Schema, key_problem, text_problem


class Contact(Schema):
    name = fields.String(required=True, validate=validate.Length(max=120))


class Draft(Schema):
    title = fields.String(required=True, validate=validate.Length(max=500))
    notes = fields.String(validate=validate.Length(max=2000))
    urusan = fields.List(fields.String(validate=validate.Length(max=200)))
    value = fields.Integer()
    target = fields.Float()
    contacts = fields.List(fields.Nested(Contact))
    answers = fields.Dict(keys=fields.String())


@pytest.fixture
def client():
    app, api = create_service_app("test", Settings.from_env(), title="t")
    blp = Blueprint("drafts", __name__, url_prefix="/api/v1/drafts")

    @blp.route("")
    class Drafts(MethodView):
        @blp.arguments(Draft)
        def post(self, data):
            return {"ok": True, **{k: v for k, v in data.items() if k != "answers"}}, 201

    api.register_blueprint(blp)
    return app.test_client()


def post(client, body):
    raw = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return client.post("/api/v1/drafts", data=raw, content_type="application/json")


def refused(response, *fields_):
    assert response.status_code == 422, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    problem = response.get_json()
    for name in fields_:
        assert name in problem["errors"], problem["errors"]
    return problem


def test_a_clean_body_passes(client):
    r = post(client, {"title": "Kerja sama pariwisata", "notes": "baris satu\nbaris dua\ttab", "urusan": ["pariwisata"],
                      "value": 2**63 - 1, "target": 1.5, "contacts": [{"name": "Sari"}],
                      "answers": {"saran": "Lanjutkan.\r\nTambah anggaran.", "bukti": ["file-1"]}})
    assert r.status_code == 201, r.get_data(as_text=True)


@pytest.mark.parametrize("body, field", [
    ({"title": "ok", "urusan": ["a\u0000b"]}, "urusan.0"),
    ({"title": "judul\u0001"}, "title"),
    ({"title": "judul\nbaris"}, "title"),                      # a title is one line
    ({"title": "ok", "notes": "catatan\u0007"}, "notes"),       # free text: still no bell
    ({"title": "ok", "notes": "C1 \u0085 control"}, "notes"),
    ({"title": "ok", "contacts": [{"name": "Sa\u0000ri"}]}, "contacts.0.name"),
    ({"title": "ok", "value": 10**30}, "value"),
    ({"title": "ok", "value": "1000000000000000000000000000000"}, "value"),
    ({"title": "ok", "value": -(2**63) - 1}, "value"),
    ({"title": "ok", "answers": {"a\u0000b": "x"}}, "answers"),
    ({"title": "ok", "answers": {"$where": "x"}}, "answers"),
    ({"title": "ok", "answers": {"a.b": "x"}}, "answers"),
    ({"title": "ok", "answers": {"x": [[[[[["too deep"]]]]]]}}, "answers.x.0.0.0.0"),
    ({"title": "ok", "urusan": [["nested"]]}, "urusan.0"),
    ({"title": "ok", "urusan": ["u"] * (MAX_ITEMS + 1)}, "urusan"),
])
def test_hostile_values_are_refused_field_by_field(client, body, field):
    refused(post(client, body), field)


def test_a_lone_surrogate_and_non_finite_numbers_are_refused(client):
    refused(post(client, '{"title": "ok", "notes": "\\ud800"}'), "notes")
    refused(post(client, '{"title": "ok", "answers": {"x": NaN}}'), "answers.x")
    refused(post(client, '{"title": "ok", "target": Infinity}'), "target")


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 2000, 100_000])
def test_a_body_nested_too_deep_is_refused_before_the_schema(client, depth):
    problem = refused(post(client, "[" * depth + "]" * depth), "_body")
    assert problem["rule"] == "nesting_too_deep"
    problem = refused(post(client, '{"title": ' + '{"a": ' * depth + "1" + "}" * depth + "}"), "_body")


def test_invalid_json_is_still_a_400(client):
    r = post(client, '{"title": ')
    assert r.status_code == 400 and r.mimetype == "application/problem+json"


@given(st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cs"))))
def test_text_without_controls_is_accepted(text):
    assert text_problem(text) is None
    assert Contact().load({"name": text[:120]}) == {"name": text[:120]}


@given(st.text(), st.characters(whitelist_categories=("Cc", "Cs")), st.text())
def test_any_control_or_surrogate_is_refused_in_one_line_text(before, bad, after):
    assert text_problem(before + bad + after) is not None
    with pytest.raises(ValidationError):
        Contact().load({"name": before + bad + after})


def test_keys_are_one_line_plain_text():
    assert key_problem("kesesuaian_tujuan") is None
    assert all(key_problem(k) for k in ("a\nb", "$set", "a.b", "\u0000", 3))
