"""Reading XML list files safely and in constant memory: lxml `iterparse`, hardened.

A list file comes from outside, so the parser resolves no entity, loads no DTD, touches no network
and keeps libxml2's limits on (`huge_tree=False`: a text node over 10 MB, or nesting over 256 levels,
is an error). A file whose DOCTYPE declares entities (the "billion laughs") or names an external
DTD or entity is refused before any of its records is read. Record elements are handed out one at a
time and cleared after use, so memory stays flat however large the file.

    for element in iter_elements(path, {"INDIVIDUAL", "ENTITY"}):
        ...  # read it; it is cleared when the loop moves on

Every problem is a `ParseError` naming the file and the line (and column, for syntax errors).
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from pathlib import Path
from typing import Any

from lxml import etree

from listwatch.errors import FormatMismatch, ParseError
from listwatch.model import Record

__all__ = [
    "XmlHead",
    "XmlRecords",
    "child_map",
    "child_text",
    "children",
    "iter_elements",
    "local_name",
    "read_head",
    "text_of",
]

_HEAD_BYTES = 8192


class XmlHead:
    """The root element's name and attributes, read from the first bytes of a file (for sniffing)."""

    __slots__ = ("attributes", "namespace", "root")

    def __init__(self, root: str, namespace: str | None, attributes: dict[str, str]) -> None:
        self.root = root
        self.namespace = namespace
        self.attributes = attributes


def read_head(path: Path) -> XmlHead | None:
    """The root element of an XML file, from its first few kilobytes; None when it is not XML.

    Used by `sniff`, so it never raises: an unreadable or non-XML file just is not this format.
    """
    try:
        with path.open("rb") as handle:
            head = handle.read(_HEAD_BYTES)
    except OSError:
        return None
    parser = etree.XMLPullParser(events=("start",), **_SAFE)
    try:
        parser.feed(head)
        for _event, element in parser.read_events():
            found: Any = element
            attributes = {local_name(str(k)): str(v) for k, v in found.attrib.items()}
            qname = etree.QName(found)
            return XmlHead(qname.localname, qname.namespace, attributes)
    except etree.XMLSyntaxError:
        return None
    return None


# No entity is expanded, no DTD loaded, nothing fetched; libxml2's size limits stay on.
_SAFE: dict[str, Any] = {
    "resolve_entities": False,
    "load_dtd": False,
    "no_network": True,
    "huge_tree": False,
    "dtd_validation": False,
    "remove_comments": True,
    "remove_pis": True,
}


def single_root(files: Sequence[Path], root: str, namespaces: Collection[str | None] | None = None) -> bool:
    """`sniff` of a one-file XML format: is it one file whose root element is `root` (in one of
    `namespaces`, when given)?"""
    if len(files) != 1:
        return False
    head = read_head(files[0])
    return head is not None and head.root == root and (namespaces is None or head.namespace in namespaces)


def single_file(files: Sequence[Path], format_name: str) -> Path:
    """The one file a one-file format reads, or `FormatMismatch` naming the first extra one."""
    if len(files) != 1:
        raise FormatMismatch(
            files[1] if files else Path("."), None, f"{format_name} reads one file, got {len(files)}"
        )
    return files[0]


class XmlRecords:
    """The records of an XML list in file order: a key seen twice is refused with both lines, and
    what the parser does not know is noted once, at its first line, to be reported as a warning.

        found = XmlRecords(path, key_name="uid")
        for element in iter_elements(path, ("sdnEntry",)):
            found.add(_record(path, element, found.unknown), element.sourceline)
        ParsedList(..., records=tuple(found.records), warnings=found.warnings())
    """

    __slots__ = ("_seen", "key_name", "path", "records", "unknown")

    def __init__(self, path: Path, *, key_name: str) -> None:
        self.path = path
        self.key_name = key_name  # how messages name the key: "uid", "sanctionEntity logicalId"
        self.records: list[Record] = []
        #: what was not known ("element <riskScore>", "attribute x/@y") -> its first line
        self.unknown: dict[str, int] = {}
        self._seen: dict[str, int | None] = {}

    def add(self, record: Record, line: int | None) -> None:
        if record.key in self._seen:
            first = self._seen[record.key]
            raise ParseError(
                self.path, line, f"{self.key_name} {record.key} appears twice (first at line {first})"
            )
        self._seen[record.key] = line
        self.records.append(record)

    def warnings(self) -> tuple[str, ...]:
        return tuple(
            f"{self.path.name}:{line}: unknown {what} kept in the raw record"
            for what, line in self.unknown.items()
        )


def iter_elements(path: Path, tags: Collection[str], *, root: str | None = None) -> Iterator[Any]:
    """Yield each element whose local name is in `tags`, complete, then clear it.

    `root`, when given, is the local name the document element must have: another root is a
    `FormatMismatch` (the file is XML, but not this format). A match nested in another match is not
    yielded apart from the element that holds it.
    """
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise ParseError(path, None, f"cannot read: {exc.strerror}") from None
    with handle:
        # lxml filters by tag in C: only the record elements reach Python
        context = etree.iterparse(
            handle, events=("start", "end"), tag=[f"{{*}}{tag}" for tag in tags], **_SAFE
        )
        checked = False
        holder: Any = None
        try:
            for event, element in context:
                if not checked:
                    _check_document(path, element, root)
                    checked = True
                if event == "start":
                    if holder is None:
                        holder = element
                elif element is holder:
                    holder = None
                    yield element
                    _release(element)
        except etree.XMLSyntaxError as exc:
            raise ParseError(path, _line(exc), _syntax_reason(exc, path)) from None
        if not checked:
            if context.root is None:
                raise ParseError(path, None, "no XML element in the file")
            _check_document(path, context.root, root)


def _check_document(path: Path, element: Any, root: str | None) -> None:
    tree = element.getroottree()
    _check_doctype(path, tree.docinfo)
    if root is not None:
        name = local_name(tree.getroot().tag)
        if name != root:
            raise FormatMismatch(
                path, tree.getroot().sourceline, f"root element is <{name}>, expected <{root}>"
            )


def _release(element: Any) -> None:
    """Drop a finished record and the siblings before it, so the tree never grows."""
    element.clear(keep_tail=False)
    parent = element.getparent()
    if parent is not None:
        while element.getprevious() is not None:
            del parent[0]


def _check_doctype(path: Path, docinfo: Any) -> None:
    """Refuse a DOCTYPE that declares entities or points outside the file."""
    if not docinfo.doctype:
        return
    line = _doctype_line(path)
    if docinfo.system_url or docinfo.public_id:
        where = docinfo.system_url or docinfo.public_id
        raise ParseError(
            path, line, f"the DOCTYPE names an external DTD ({where!r}); list files have none, refused"
        )
    dtd = docinfo.internalDTD
    if dtd is None:
        return
    for entity in dtd.iterentities():
        if entity.system_url:
            raise ParseError(
                path,
                line,
                f"the DOCTYPE declares an external entity {entity.name!r} ({entity.system_url!r}); refused",
            )
        raise ParseError(
            path,
            line,
            f"the DOCTYPE declares entity {entity.name!r}; entity declarations can expand without "
            "bound ('billion laughs') and list files have none, refused",
        )


def _doctype_line(path: Path) -> int | None:
    with path.open("rb") as handle:
        head = handle.read(65536)
    for encoding in ("utf-8", "utf-16-le", "utf-16-be"):
        at = head.find("<!DOCTYPE".encode(encoding))
        if at >= 0:
            return head.count("\n".encode(encoding), 0, at) + 1
    return None


def _line(exc: etree.XMLSyntaxError) -> int | None:
    line = exc.position[0] if exc.position else exc.lineno
    return int(line) if line else None


def _syntax_reason(exc: etree.XMLSyntaxError, path: Path) -> str:
    message = str(exc.msg or exc).strip()
    column = exc.position[1] if exc.position else None
    lowered = message.lower()
    if "huge" in lowered or "too long" in lowered or "limit" in lowered:
        return f"XML refused: {message} (a node larger than the parser's safety limit)"
    if "encoding" in lowered or "utf-8" in lowered:
        return f"bytes not in the encoding the file declares: {message}"
    if "premature end" in lowered or "end of data" in lowered or _on_last_line(path, _line(exc)):
        return f"XML ends early: {message}; is the file truncated?"
    where = f" (column {column})" if column else ""
    return f"malformed XML{where}: {message}"


def _on_last_line(path: Path, line: int | None) -> bool:
    """Whether an error is on the file's last line: a file cut short fails there, whatever the message."""
    if line is None:
        return False
    lines = 1
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            lines += block.count(b"\n")
    return line >= lines


def local_name(tag: Any) -> str:
    """`{namespace}name` -> `name`; comments and processing instructions have no name."""
    if not isinstance(tag, str):
        return ""
    return tag.rpartition("}")[2] if "}" in tag else tag


def children(element: Any) -> Iterator[tuple[str, Any]]:
    """The child elements with their local names (comments skipped)."""
    for child in element:
        tag = child.tag
        if isinstance(tag, str):
            yield (tag.rpartition("}")[2] if "}" in tag else tag), child


def child_map(element: Any) -> dict[str, Any]:
    """The first child of each local name (for elements whose children do not repeat)."""
    found: dict[str, Any] = {}
    for name, child in children(element):
        found.setdefault(name, child)
    return found


def text_of(element: Any) -> str | None:
    """The element's whole text (its children's too), whitespace collapsed; None when empty."""
    if element is None:
        return None
    raw = "".join(element.itertext()) if len(element) else element.text
    if not raw:
        return None
    text = " ".join(raw.split())
    return text or None


def describe(element: Any) -> str | None:
    """An element's text, or else its attributes as `name="value"` pairs: how an element this
    parser does not know is kept in the raw record."""
    text = text_of(element)
    if text is not None:
        return text
    pairs = " ".join(f'{local_name(k)}="{v}"' for k, v in element.attrib.items())
    return pairs or None


def child_text(element: Any, name: str) -> str | None:
    """The text of the first child with that local name, or None."""
    for child_name, child in children(element):
        if child_name == name:
            return text_of(child)
    return None
