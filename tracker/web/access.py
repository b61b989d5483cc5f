"""Who may see which pages: each audience's blueprint needs an account with its role."""

from collections.abc import Callable

from flask import abort
from flask_login import current_user

from tracker.extensions import login_manager
from tracker.models import Role


def require_role(*roles: Role) -> Callable:
    """Make a ``before_request`` check: signed in first, then with one of these roles."""

    def check():
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        if current_user.role not in roles:
            abort(403)
        return None

    return check
