"""Flask-AppBuilder's own strings that its Russian catalog lacks or gets wrong.

FAB 5.3 ships a Russian catalog from 2015: these messages are missing from it, and
"Not a valid choice" is translated as a wrong-date message. Listing them here puts them
into this project's catalog, which is merged after FAB's and so overrides it.
"""

from flask_babel import lazy_gettext as _l

FAB_STRINGS = [
    _l("Database Error"),
    _l("Select Value"),
    _l(
        "Must have at least two capital letters, one special character, two digits, "
        "three lower case letters and a minimal length of 10."
    ),
    _l("Contains (insensitive)"),
    _l("In"),
    _l("Not In"),
    _l("Either select a role or a group"),
    _l("List Groups"),
    _l("Edit User Information"),
    _l("User information changed"),
    _l("Groups"),
    _l("The user's password for authentication"),
    _l("User(s) exists in the role, cannot delete"),
    _l("Show Group"),
    _l("Add Group"),
    _l("Edit Group"),
    _l("User(s) exists in the group, cannot delete"),
    _l("Order by"),
    _l("Add"),
    _l("Edit"),
    _l("Show"),
    _l("Delete"),
    _l("Are you sure you want to delete this item?"),
    _l("Detail"),
    _l("Sign In with "),
    _l("Sign in using:"),
    # Wrong in FAB's catalog («Дата введена неверно»).
    _l("Not a valid choice"),
    # Misspelt in FAB's catalog («аторизации»).
    _l("Invalid login. Please try again."),
    # Misspelt in FAB's catalog («Отобажения», «ользователя», «опредляющая»).
    _l("Views/Menus"),
    _l("The user's email, this will also be used for OID auth"),
    _l("The user role on the application, this will associate with a list of permissions"),
    # Missing, and FAB's hints for the name fields read as "show the name".
    _l(
        "The user group on the application, this will associate with a list of roles "
        "associated with the group"
    ),
    _l("Write the user first name or names"),
    _l("Write the user last name"),
]
