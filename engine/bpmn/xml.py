"""Safe XML parsing for templates: no DTDs, no entities, no network, bounded size."""

from __future__ import annotations

import re

from lxml import etree

from engine.domain.errors import TemplateError

DEFAULT_MAX_BYTES = 5_000_000

# A DOCTYPE can only appear in the prolog, before the root element's start tag.
_ROOT_START = re.compile(rb"<[A-Za-z_]")
_DECLARATION = re.compile(rb"<!(DOCTYPE|ENTITY)")
_XML_DECL = re.compile(r"^\s*<\?xml[^>]*\?>")


def _parser() -> etree.XMLParser:
    # remove_blank_text=False and strip_cdata=False keep the document as written, for round trips.
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        remove_blank_text=False,
        strip_cdata=False,
        dtd_validation=False,
        remove_comments=False,
        remove_pis=False,
    )


def _line_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def _refuse_declarations(data: bytes, file_name: str | None) -> None:
    root_start = _ROOT_START.search(data)
    prolog = data[: root_start.start()] if root_start else data
    found = _DECLARATION.search(prolog)
    if found:
        raise TemplateError(
            f"DOCTYPE/ENTITY declarations are not allowed in a template ({found.group(1).decode()})",
            line=_line_of(data, found.start()),
            file_name=file_name,
        )


def _to_bytes(data: bytes | str) -> bytes:
    if isinstance(data, bytes):
        return data
    # A str has already been decoded: its encoding declaration no longer applies. Dropping the
    # declaration (not the newline after it) keeps line numbers right.
    return _XML_DECL.sub("", data, count=1).encode("utf-8")


def _syntax_error(exc: etree.XMLSyntaxError, file_name: str | None) -> TemplateError:
    entries = list(exc.error_log) if exc.error_log else []
    first = entries[0] if entries else None
    line = first.line if first is not None else exc.lineno
    message = first.message if first is not None else str(exc)
    return TemplateError(f"Not well-formed XML: {message}", line=line or None, file_name=file_name)


def parse_xml(
    data: bytes | str, *, file_name: str | None = None, max_bytes: int = DEFAULT_MAX_BYTES
) -> etree._ElementTree:
    """Parse an XML document that may come from an untrusted upload.

    Args:
        data: the document, as bytes (its own encoding declaration applies) or as text.
        file_name: named in errors.
        max_bytes: larger documents are refused before parsing.

    Returns:
        The lxml element tree, with comments, processing instructions, CDATA and whitespace kept.

    Raises:
        TemplateError: oversize, DOCTYPE/ENTITY declarations, or not well-formed (with the line).
    """
    raw = _to_bytes(data)
    if len(raw) > max_bytes:
        raise TemplateError(f"The document is {len(raw)} bytes; the limit is {max_bytes}", file_name=file_name)
    _refuse_declarations(raw, file_name)
    # lxml keeps earlier failures in a per-thread log; clear it so errors describe this file.
    etree.clear_error_log()
    try:
        tree = etree.ElementTree(etree.fromstring(raw, _parser()))
    except etree.XMLSyntaxError as exc:
        raise _syntax_error(exc, file_name) from None
    except ValueError as exc:  # e.g. an unknown encoding name in the declaration
        raise TemplateError(f"Not well-formed XML: {exc}", line=1, file_name=file_name) from None
    # Backstop for encodings the byte scan cannot see (UTF-16 and the like).
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        raise TemplateError("DOCTYPE/ENTITY declarations are not allowed in a template", line=1, file_name=file_name)
    return tree


def element_line(tree: etree._ElementTree, element_id: str | None) -> int | None:
    """The source line of the element with this id, so an error can point at it."""
    if not element_id:
        return None
    found = tree.getroot().xpath("//*[@id=$id]", id=element_id)
    return found[0].sourceline if found else None
