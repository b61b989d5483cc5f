"""A health check for load balancers and monitoring."""

import logging

import sqlalchemy as sa
from flask import Blueprint, jsonify

from tracker.extensions import db

bp = Blueprint("health", __name__)
logger = logging.getLogger(__name__)


@bp.get("/healthz")
def healthz():
    try:
        db.session.execute(sa.text("SELECT 1"))
    except sa.exc.SQLAlchemyError:
        logger.exception("Health check could not reach the database")
        db.session.rollback()
        return jsonify(status="unavailable", database="unreachable"), 503
    return jsonify(status="ok", database="reachable")
