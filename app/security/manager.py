"""FAB's security manager, made to see only the roles of the session's membership."""

from flask import current_app
from flask_appbuilder.security.sqla.manager import SecurityManager

from app.security.scope import current_membership


def login_failed(response) -> bool:
    """Tell whether a response of the login form reports a failed sign-in.

    FAB redirects a wrong password back to the login page and renders an incomplete form
    again. A successful sign-in redirects elsewhere.
    """
    if response.status_code == 200:
        return True
    return response.status_code == 302 and "/login" in (response.location or "")


class SchoolSecurityManager(SecurityManager):
    """Permission checks use the roles of the current membership, not the user's own.

    A login may belong to several organisations with different roles; a session works in
    one of them, so the role × permission matrix must see that membership's roles only.
    """

    def register_views(self):
        super().register_views()
        rate = current_app.config.get("LOGIN_FAILURE_LIMIT")
        if rate:
            self.limiter.limit(rate, methods=["POST"], deduct_when=login_failed)(
                self.auth_view.blueprint
            )

    def get_user_roles(self, user):
        if not user.is_authenticated:
            return [self.get_public_role()]
        membership = current_membership(user)
        if membership is None:
            return []
        return list(membership.roles)
