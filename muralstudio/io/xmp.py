"""The provenance record of an export and the XMP packet that carries it in the files.

:func:`provenance_record` says how a composite was made. The XMP packet carries the IPTC digital source type of the exported composite, the main facts of
the restoration in the ``muralstudio`` namespace (engine, parameters, seed, weights, software,
dates, restored area per damage class) and, for programs, the whole provenance record as JSON
(:func:`provenance_from_xmp` reads it back). It is plain XMP: TIFF carries it in tag 700
(XMLPacket), PNG in an iTXt chunk named ``XML:com.adobe.xmp``.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import numpy as np

from muralstudio import __version__
from muralstudio.core.candidate import now_iso
from muralstudio.core.damage import DamageClass
from muralstudio.core.document import Mural

NS_X = "adobe:ns:meta/"
NS_RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
NS_DC = "http://purl.org/dc/elements/1.1/"
NS_XMP = "http://ns.adobe.com/xap/1.0/"
NS_IPTC_EXT = "http://iptc.org/std/Iptc4xmpExt/2008-02-29/"
NS_MURAL = "https://muralstudio.org/ns/provenance/1.0/"

#: IPTC digital source type of a composite that contains machine-made pixels.
RESTORED_SOURCE_TYPE = "http://cv.iptc.org/newscodes/digitalsourcetype/compositeWithTrainedAlgorithmicMedia"
PNG_KEYWORD = "XML:com.adobe.xmp"
_PACKET_ID = "W5M0MpCehiHzreSzNTczkc9d"  # the fixed id every XMP packet carries
_PADDING = 2048  # spaces left for editors that rewrite the packet in place


def _plain(value: Any) -> Any:
    """``value`` with numpy scalars, arrays, tuples, sets and paths made JSON types."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    return value


def provenance_record(doc: Mural, restored: tuple[int, dict[str, int], int] | None) -> dict[str, Any]:
    """The provenance of ``doc``'s composite as JSON-ready data.

    ``restored``: (machine-made pixels, of them per damage class, of them outside every
    mask) for the chosen candidate, None when none is chosen.
    """
    img = doc.original
    cand = doc.chosen
    restoration = None
    if cand is not None and restored is not None:
        total, per_class, outside = restored
        prov = cand.provenance
        restoration = {
            "candidate": {"id": cand.id, "name": cand.name, "notes": cand.notes},
            "engine": prov.engine,
            "parameters": _plain(prov.params),
            "seed": _plain(prov.seed),
            "weights_sha256": prov.weights_sha256,
            "other_weights": dict(prov.other_weights),
            "software": prov.software,
            "created": prov.created,
            "elapsed_s": float(prov.elapsed_s),
            "classes": list(prov.classes),
            "patches": len(cand.patches),
            "restored_pixels": int(total),
            "restored_area": {k: int(v) for k, v in per_class.items()},
            "restored_outside_masks": int(outside),
        }
    made = restoration is not None and restoration["restored_pixels"] > 0
    height, width, channels = img.pixels.shape
    return {
        "format": "muralstudio-provenance",
        "version": 1,
        "software": f"Mural Studio {__version__}",
        "exported": now_iso(),
        "digital_source_type": RESTORED_SOURCE_TYPE if made else None,
        "image": {
            "width": int(width),
            "height": int(height),
            "channels": int(channels),
            "bit_depth": img.bit_depth,
            "source": img.source.name if img.source is not None else None,
            "icc_profile": bool(img.icc_profile),
        },
        "damage_marked": {c.value: int(np.count_nonzero(doc.mask(c))) for c in DamageClass},
        "guide_pixels": int(np.count_nonzero(doc.guide)),
        "restoration": restoration,
        "notes": doc.notes,
    }


def _text(name: str, value: Any) -> str:
    return f"   <{name}>{escape(str(value))}</{name}>\n"


def _alt(name: str, value: str) -> str:
    return (
        f"   <{name}><rdf:Alt><rdf:li xml:lang=\"x-default\">{escape(value)}</rdf:li></rdf:Alt></{name}>\n"
    )


def _area_bag(area: dict[str, int]) -> str:
    items = "".join(
        "     <rdf:li rdf:parseType=\"Resource\">"
        f"<muralstudio:DamageClass>{escape(cls)}</muralstudio:DamageClass>"
        f"<muralstudio:Pixels>{int(pixels)}</muralstudio:Pixels></rdf:li>\n"
        for cls, pixels in area.items()
    )
    return f"   <muralstudio:RestoredArea>\n    <rdf:Bag>\n{items}    </rdf:Bag>\n   </muralstudio:RestoredArea>\n"


def xmp_packet(provenance: dict[str, Any], description: str = "") -> bytes:
    """The XMP packet (UTF-8) for a record made by :func:`provenance_record`."""
    fields = [
        _text("xmp:CreatorTool", provenance.get("software", f"Mural Studio {__version__}")),
        _text("xmp:MetadataDate", provenance["exported"]),
        _text("xmp:ModifyDate", provenance["exported"]),
    ]
    if description:
        fields.append(_alt("dc:description", description))
    if provenance.get("digital_source_type"):
        fields.append(_text("Iptc4xmpExt:DigitalSourceType", provenance["digital_source_type"]))
    fields.append(_text("muralstudio:ExportSoftware", provenance.get("software", "")))
    fields.append(_text("muralstudio:Exported", provenance["exported"]))
    rest = provenance.get("restoration")
    if rest:
        fields.append(_text("muralstudio:CandidateName", rest["candidate"]["name"]))
        fields.append(_text("muralstudio:Engine", rest["engine"]))
        fields.append(_text("muralstudio:Parameters", json.dumps(rest["parameters"], sort_keys=True)))
        for key, name in (("seed", "Seed"), ("weights_sha256", "WeightsSHA256")):
            if rest.get(key) is not None:
                fields.append(_text(f"muralstudio:{name}", rest[key]))
        if rest.get("other_weights"):
            fields.append(_text("muralstudio:OtherWeightsSHA256", json.dumps(rest["other_weights"], sort_keys=True)))
        fields.append(_text("muralstudio:Software", rest["software"]))
        fields.append(_text("muralstudio:Created", rest["created"]))
        fields.append(_text("muralstudio:RestoredPixels", rest["restored_pixels"]))
        fields.append(_area_bag(rest["restored_area"]))
    else:
        fields.append(_text("muralstudio:Engine", "none"))
    record = json.dumps(provenance, ensure_ascii=False, sort_keys=True)
    fields.append(_text("muralstudio:Provenance", record))
    body = (
        f"<?xpacket begin=\"\ufeff\" id=\"{_PACKET_ID}\"?>\n"
        f"<x:xmpmeta xmlns:x=\"{NS_X}\" x:xmptk=\"Mural Studio {__version__}\">\n"
        f" <rdf:RDF xmlns:rdf=\"{NS_RDF}\">\n"
        f"  <rdf:Description rdf:about=\"\" xmlns:dc=\"{NS_DC}\" xmlns:xmp=\"{NS_XMP}\"\n"
        f"    xmlns:Iptc4xmpExt=\"{NS_IPTC_EXT}\" xmlns:muralstudio=\"{NS_MURAL}\">\n"
        + "".join(fields)
        + "  </rdf:Description>\n </rdf:RDF>\n</x:xmpmeta>\n"
    )
    padding = (" " * 99 + "\n") * (_PADDING // 100)
    return (body + padding + "<?xpacket end=\"w\"?>").encode("utf-8")


def parse_xmp(packet: bytes) -> dict[str, str]:
    """The simple properties of the packet's descriptions, as {"prefix:Name": text}."""
    root = ET.fromstring(packet)
    prefixes = {NS_DC: "dc", NS_XMP: "xmp", NS_IPTC_EXT: "Iptc4xmpExt", NS_MURAL: "muralstudio"}
    found: dict[str, str] = {}
    for desc in root.iter(f"{{{NS_RDF}}}Description"):
        for child in desc:
            ns, _, local = child.tag[1:].partition("}")
            if ns in prefixes and len(child) == 0:
                found[f"{prefixes[ns]}:{local}"] = child.text or ""
    return found


def provenance_from_xmp(packet: bytes) -> dict[str, Any] | None:
    """The provenance record kept in a packet written by :func:`xmp_packet`, or None."""
    text = parse_xmp(packet).get("muralstudio:Provenance")
    return None if text is None else json.loads(text)
