"""Flask extensions, created unbound and attached in create_app (the init_app pattern)."""

from flask_caching import Cache
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect

from tracker.models.base import Base

db = SQLAlchemy(model_class=Base)
migrate = Migrate(compare_type=True, render_as_batch=True)
login_manager = LoginManager()
# Pages that need an account send people to sign in, then back (tracker.web.auth).
login_manager.login_view = "auth.sign_in"
login_manager.login_message = None
csrf = CSRFProtect()
# Storage comes from RATELIMIT_STORAGE_URI (memory:// unless set); limits are declared
# where they apply (the API's per token, sign-in's per address).
limiter = Limiter(key_func=get_remote_address)
# The dashboards' rendered figures, kept under the version of the figures
# (tracker.web.figure_cache); the store comes from CACHE_TYPE and CACHE_REDIS_URL.
cache = Cache()
