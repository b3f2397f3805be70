"""Lossless BPMN/DMN import and export, and tree comparison of XML documents."""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field

from lxml import etree

from engine.bpmn.xml import parse_xml

BPMN_MODEL_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"


@dataclass
class BpmnDocument:
    """An imported BPMN (or DMN) document: the tree as read, plus indexes into it."""

    tree: etree._ElementTree
    file_name: str | None = None
    process_ids: list[str] = field(default_factory=list)
    target_namespace: str | None = None
    elements: dict[str, etree._Element] = field(default_factory=dict)
    duplicate_ids: list[str] = field(default_factory=list)

    @property
    def root(self) -> etree._Element:
        return self.tree.getroot()


def import_bpmn(data: bytes | str, file_name: str | None = None) -> BpmnDocument:
    """Read a BPMN/DMN document safely, keeping everything for a lossless export.

    Args:
        data: the document bytes (or text).
        file_name: named in errors.

    Returns:
        A BpmnDocument; `elements` maps each id to its first element, `duplicate_ids` lists repeats.

    Raises:
        TemplateError: the document is unsafe or not well-formed (with its line).
    """
    tree = parse_xml(data, file_name=file_name)
    doc = BpmnDocument(tree=tree, file_name=file_name, target_namespace=tree.getroot().get("targetNamespace"))
    for element in tree.getroot().iter(etree.Element):
        element_id = element.get("id")
        if element_id is None:
            continue
        if element_id in doc.elements:
            doc.duplicate_ids.append(element_id)
        else:
            doc.elements[element_id] = element
    doc.process_ids = [p.get("id") for p in tree.getroot().iterchildren(f"{{{BPMN_MODEL_NS}}}process") if p.get("id")]
    return doc


def export_bpmn(doc: BpmnDocument) -> bytes:
    """Serialise the document as UTF-8 with an XML declaration; nothing is added or dropped."""
    return etree.tostring(doc.tree, xml_declaration=True, encoding="UTF-8")


def element_line(doc: BpmnDocument, element_id: str) -> int | None:
    """Line of the element with this id in the source document (None if unknown or built in memory)."""
    element = doc.elements.get(element_id)
    return element.sourceline if element is not None else None


# --- tree comparison -------------------------------------------------------------------------


def _norm(text: str | None) -> str:
    return " ".join((text or "").split())


def _label(node: etree._Element, index: int) -> str:
    if isinstance(node, etree._Comment):
        return f"comment()[{index}]"
    if isinstance(node, etree._ProcessingInstruction):
        return f"processing-instruction({node.target})[{index}]"
    qname = etree.QName(node)
    prefix = next((p for p, uri in node.nsmap.items() if uri == qname.namespace and p), None)
    name = f"{prefix}:{qname.localname}" if prefix else qname.localname
    node_id = node.get("id")
    return f"{name}[@id='{node_id}']" if node_id else f"{name}[{index}]"


def _declared_namespaces(node: etree._Element) -> dict:
    parent = node.getparent()
    inherited = parent.nsmap if parent is not None else {}
    return {p: uri for p, uri in node.nsmap.items() if inherited.get(p) != uri}


def _compare_node(a, b, path: str, out: list[str]) -> None:
    if type(a) is not type(b) or (not isinstance(a, (etree._Comment, etree._ProcessingInstruction)) and a.tag != b.tag):
        out.append(f"{path}: node {a.tag!r} became {b.tag!r}")
        return
    if _norm(a.text) != _norm(b.text):
        out.append(f"{path}: text {_norm(a.text)!r} became {_norm(b.text)!r}")
    if isinstance(a, (etree._Comment, etree._ProcessingInstruction)):
        return
    for key in sorted(set(a.attrib) | set(b.attrib)):
        if a.get(key) != b.get(key):
            out.append(f"{path}/@{key}: {a.get(key)!r} became {b.get(key)!r}")
    if _declared_namespaces(a) != _declared_namespaces(b):
        out.append(f"{path}: namespace declarations {_declared_namespaces(a)} became {_declared_namespaces(b)}")
    _compare_children(list(a), list(b), path, out)


def _compare_children(kids_a: list, kids_b: list, path: str, out: list[str]) -> None:
    for index, (child_a, child_b) in enumerate(zip(kids_a, kids_b), start=1):
        child_path = f"{path}/{_label(child_a, index)}"
        _compare_node(child_a, child_b, child_path, out)
        if _norm(child_a.tail) != _norm(child_b.tail):
            out.append(f"{child_path}: following text {_norm(child_a.tail)!r} became {_norm(child_b.tail)!r}")
    for index, extra in enumerate(kids_a[len(kids_b) :], start=len(kids_b) + 1):
        out.append(f"{path}/{_label(extra, index)}: missing in the second document")
    for index, extra in enumerate(kids_b[len(kids_a) :], start=len(kids_a) + 1):
        out.append(f"{path}/{_label(extra, index)}: only in the second document")


def _top_level(tree: etree._ElementTree) -> list:
    root = tree.getroot()
    before = list(root.itersiblings(preceding=True))[::-1]
    return before + [root] + list(root.itersiblings())


def tree_differences(a: bytes | str, b: bytes | str) -> list[str]:
    """Compare two XML documents as trees (tags, attributes, namespace declarations, normalised
    text, comments and children order), not as strings.

    Returns:
        Human-readable paths of the differences; [] when the documents are equal.

    Raises:
        TemplateError: either document is unsafe or not well-formed.
    """
    out: list[str] = []
    _compare_children(_top_level(parse_xml(a)), _top_level(parse_xml(b)), "", out)
    return out
