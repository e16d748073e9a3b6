"""FAB's security manager, made to see only the roles of the session's membership."""

from flask_appbuilder.security.sqla.manager import SecurityManager

from app.security.scope import current_membership


class SchoolSecurityManager(SecurityManager):
    """Permission checks use the roles of the current membership, not the user's own.

    A login may belong to several organisations with different roles; a session works in
    one of them, so the role × permission matrix must see that membership's roles only.
    """

    def get_user_roles(self, user):
        if not user.is_authenticated:
            return [self.get_public_role()]
        membership = current_membership(user)
        if membership is None:
            return []
        return list(membership.roles)
