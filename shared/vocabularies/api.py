"""``GET /api/v1/vocabularies``: the controlled vocabularies as configured, for pickers and for
showing names instead of codes. Public (codes and names of public bodies, no personal data).

Each service that validates against or displays the vocabularies registers this blueprint with
its own loaded set (``vocabularies_blueprint(lambda: container.vocabularies)``); its policy
allows ``GET /api/v1/vocabularies`` to everyone.
"""
from __future__ import annotations

from typing import Callable

from flask import jsonify
from flask_smorest import Blueprint

from shared.vocabularies import Vocabularies

PATH = "/api/v1/vocabularies"


def vocabularies_blueprint(get: Callable[[], Vocabularies]) -> Blueprint:
    """A blueprint serving ``get()`` (urusan, opd, termination_reasons, funding_sources, regions and
    the set's version); the ETag is the version, so clients cache it until the files change."""
    blp = Blueprint("vocabularies", __name__, url_prefix="/api/v1",
                    description="Controlled vocabularies (urusan, OPDs, termination reasons, funding sources, "
                                "regions and their borders) with their legal sources")

    @blp.route("/vocabularies")
    @blp.doc(summary="Every controlled vocabulary with its version and legal source")
    def vocabularies():
        vocab = get()
        response = jsonify(vocab.as_dict())
        response.set_etag(f"vocabularies-{vocab.version}")
        return response

    return blp
