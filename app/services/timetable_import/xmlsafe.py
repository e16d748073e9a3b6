"""Reading uploaded XML without the dangers of XML: no DTD, no entities, a size limit.

defusedxml is not among the project's packages, so expat is driven directly: a document
type declaration or an entity declaration stops the reading, which rules out entity
expansion bombs and external entities.
"""

from xml.etree.ElementTree import Element, TreeBuilder
from xml.parsers import expat

from flask_babel import gettext as _

from app.services.timetable_import.plan import ImportFileError


class _Refused(Exception):
    pass


def _refuse(*_args) -> None:
    raise _Refused


def parse_xml(data: bytes, max_bytes: int) -> Element:
    """Parse an uploaded XML file into an element tree; raise :class:`ImportFileError`."""
    if len(data) > max_bytes:
        raise ImportFileError(
            [
                _(
                    "The file is larger than %(limit)s MB: split it or remove what is not "
                    "imported.",
                    limit=max_bytes // (1024 * 1024),
                )
            ]
        )

    builder = TreeBuilder()
    parser = expat.ParserCreate()
    parser.StartElementHandler = builder.start
    parser.EndElementHandler = builder.end
    parser.CharacterDataHandler = builder.data
    parser.StartDoctypeDeclHandler = _refuse
    parser.EntityDeclHandler = _refuse
    parser.ExternalEntityRefHandler = _refuse
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)

    try:
        parser.Parse(data, True)
        return builder.close()
    except _Refused:
        message = _("The file declares a DTD or entities, which are not accepted: export it again.")
    except (expat.ExpatError, ValueError, LookupError) as error:
        line = getattr(error, "lineno", "?")
        message = _(
            "The file is not valid XML (line %(line)s): export it from the program again in UTF-8.",
            line=line,
        )
    raise ImportFileError([message])
