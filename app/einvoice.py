"""The e-invoice of an issued invoice or credit note: UN/CEFACT CII in the EN 16931 profile, the
XML that Factur-X / ZUGFeRD embed in the PDF and that buyers' software reads.

Built from what the document printed (its snapshot, app/snapshot.py), so the XML and the PDF
agree and neither changes when the business or the customer does. Choices where our model and
the standard differ, written down because an accountant may ask:
- Every positive tax is VAT, category S at its rate; a line without one is zero rated (Z, 0 %).
  A line with two positive taxes (VAT plus a surcharge) has no EN 16931 form: no e-invoice.
- A withholding (IRPF, a negative rate) has no place in EN 16931 (VAT only). The VAT-inclusive
  grand total is the sum of nets and VAT; the withheld amount, which the buyer pays to the tax
  office on the seller's behalf, is shown in the prepaid amount (BT-113) together with what was
  paid, and explained in a note, so the amount due (BT-115) is what the PDF asks. This is how
  Spanish businesses exchanging Factur-X carry IRPF today; Facturae has its own element.
- The prepaid amount includes payments received so far (as Odoo does): the PDF the XML goes in
  shows them too, and is made anew when they change.
- Addresses are free text here: the first line is LineOne, the rest LineTwo; the country comes
  from the country fields (the business's, the contact's, else the contact is domestic).
- The VAT identifier is the tax id, prefixed with the country code when it lacks one.
"""
import datetime
from decimal import Decimal

import xml.etree.ElementTree as ET

from . import money, snapshot
from .models import CREDIT_NOTE, INVOICE, Settings

PROFILE = "urn:cen.eu:en16931:2017"
NS = {"rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
      "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
      "qdt": "urn:un:unece:uncefact:data:standard:QualifiedDataType:100",
      "udt": "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100"}
TYPE_CODES = {INVOICE: "380", CREDIT_NOTE: "381"}
SEPA_TRANSFER = "58"
ONE = "C62"   # UN/ECE rec. 20 "one": our quantities have no unit


class Unavailable(ValueError):
    """This document has no EN 16931 form (the message says why, for staff)."""


def available(doc):
    return doc.kind in TYPE_CODES and doc.status != "draft" and bool(doc.number)


def xml(doc, settings=None):
    """The CII XML of an issued invoice or credit note: bytes, UTF-8."""
    if not available(doc):
        raise Unavailable("only issued invoices and credit notes have an e-invoice")
    settings = settings or Settings.get_solo()
    data = snapshot.frozen(doc) or snapshot.build(doc, settings)
    business, customer = _parties(data, settings, doc)
    exp = money.currency_exponent(doc.currency)
    lines = [_line(x, exp) for x in data["lines"]]
    vat, withheld = _breakdown(data, lines)

    root = _el(None, "rsm:CrossIndustryInvoice")
    context = _el(root, "rsm:ExchangedDocumentContext")
    _text(_el(context, "ram:GuidelineSpecifiedDocumentContextParameter"), "ram:ID", PROFILE)
    header = _el(root, "rsm:ExchangedDocument")
    _text(header, "ram:ID", doc.number)
    _text(header, "ram:TypeCode", TYPE_CODES[doc.kind])
    _date(header, "ram:IssueDateTime", doc.issue_date)
    if withheld:
        rates = ", ".join(f"{name} {_percent(-rate)} %" for name, rate, _base, _amount in withheld)
        total = _amount(sum(-amount for *_x, amount in withheld), exp)
        _note(header, f"Withholding ({rates}): {total} {doc.currency}, included in the prepaid amount.")
    if data.get("reason"):
        _note(header, data["reason"])

    trade = _el(root, "rsm:SupplyChainTradeTransaction")
    for number, line in enumerate(lines, 1):
        _line_xml(trade, number, line, exp)
    agreement = _el(trade, "ram:ApplicableHeaderTradeAgreement")
    _party(agreement, "ram:SellerTradeParty", business)
    _party(agreement, "ram:BuyerTradeParty", customer)
    if doc.reference:
        _text(_el(agreement, "ram:BuyerOrderReferencedDocument"), "ram:IssuerAssignedID", doc.reference)
    _el(trade, "ram:ApplicableHeaderTradeDelivery")
    settlement = _el(trade, "ram:ApplicableHeaderTradeSettlement")
    _text(settlement, "ram:InvoiceCurrencyCode", doc.currency)
    if business["iban"]:
        means = _el(settlement, "ram:SpecifiedTradeSettlementPaymentMeans")
        _text(means, "ram:TypeCode", SEPA_TRANSFER)
        _text(_el(means, "ram:PayeePartyCreditorFinancialAccount"), "ram:IBANID", business["iban"])
        if business["bic"]:
            _text(_el(means, "ram:PayeeSpecifiedCreditorFinancialInstitution"), "ram:BICID", business["bic"])
    for category, rate, base, amount in vat:
        tax = _el(settlement, "ram:ApplicableTradeTax")
        _text(tax, "ram:CalculatedAmount", _amount(amount, exp))
        _text(tax, "ram:TypeCode", "VAT")
        _text(tax, "ram:BasisAmount", _amount(base, exp))
        _text(tax, "ram:CategoryCode", category)
        _text(tax, "ram:RateApplicablePercent", _percent(rate))

    subtotal = sum(line["net"] for line in lines)
    vat_total = sum(amount for *_x, amount in vat)
    grand = subtotal + vat_total
    prepaid = -sum(amount for *_x, amount in withheld) + (doc.amount_paid if doc.kind == INVOICE else 0)
    terms = _el(settlement, "ram:SpecifiedTradePaymentTerms")
    if doc.kind == CREDIT_NOTE:
        source = data.get("rectifies", {}).get("number", "")
        _text(terms, "ram:Description", f"Credit note for invoice {source}".strip())
    elif doc.due_date:
        _date(terms, "ram:DueDateDateTime", doc.due_date)
    else:
        _text(terms, "ram:Description", "Due on receipt")
    sums = _el(settlement, "ram:SpecifiedTradeSettlementHeaderMonetarySummation")
    _text(sums, "ram:LineTotalAmount", _amount(subtotal, exp))
    _text(sums, "ram:TaxBasisTotalAmount", _amount(subtotal, exp))
    _text(sums, "ram:TaxTotalAmount", _amount(vat_total, exp), currencyID=doc.currency)
    _text(sums, "ram:GrandTotalAmount", _amount(grand, exp))
    if prepaid:
        _text(sums, "ram:TotalPrepaidAmount", _amount(prepaid, exp))
    _text(sums, "ram:DuePayableAmount", _amount(grand - prepaid, exp))
    if data.get("rectifies"):
        ref = _el(settlement, "ram:InvoiceReferencedDocument")
        _text(ref, "ram:IssuerAssignedID", data["rectifies"]["number"])
        _date(ref, "ram:FormattedIssueDateTime", datetime.date.fromisoformat(data["rectifies"]["issue_date"]),
              kind="qdt")
    ET.indent(root)
    return ET.tostring(root, xml_declaration=True, encoding="UTF-8")


def totals(doc, settings=None):
    """The XML's summation as Decimals by element name (GrandTotalAmount, DuePayableAmount…):
    what tests and the API compare with the document."""
    tree = ET.fromstring(xml(doc, settings))
    sums = tree.find(".//ram:SpecifiedTradeSettlementHeaderMonetarySummation", NS)
    return {el.tag.rsplit("}", 1)[1]: Decimal(el.text) for el in sums}


# --- parts -------------------------------------------------------------------------------------

def _parties(data, settings, doc):
    business = dict(data["business"])
    for name in ("country", "iban", "bic"):   # snapshots older than these fields: today's values
        business.setdefault(name, getattr(settings, name) or "")
    business["country"] = (business["country"] or _country_prefix(business["tax_id"])).upper()
    if not business["country"]:
        raise Unavailable("the business's country is not set (Settings)")
    if not business["tax_id"]:
        raise Unavailable("the business's tax id is not set (Settings)")
    customer = dict(data["contact"])
    customer.setdefault("country", doc.contact.country or "")
    customer["country"] = (customer["country"] or _country_prefix(customer["tax_id"])
                           or business["country"]).upper()
    customer["address"] = customer.pop("billing_address", "")
    return business, customer


def _country_prefix(tax_id):
    head = (tax_id or "")[:2]
    return head.upper() if len(head) == 2 and head.isalpha() and head.isascii() else ""


def _line(x, exp):
    vat = [(name, rate) for name, rate in x["taxes"] if rate > 0]
    if len(vat) > 1:
        raise Unavailable(f"a line carries two taxes ({', '.join(n for n, _r in vat)}): EN 16931 allows one VAT rate")
    qty, price = Decimal(x["qty_milli"]) / money.QTY_SCALE, Decimal(x["unit_price"])
    if price < 0:   # a negative price is not allowed (BR-27): the quantity carries the sign
        qty, price = -qty, -price
    net_price = price * (money.RATE_SCALE - x["discount_bp"]) / money.RATE_SCALE
    description = x["description"].strip() or "-"
    return {"name": description.split("\n", 1)[0][:200], "description": description, "qty": qty, "gross": price,
            "price": net_price, "net": x["net"], "rate": vat[0][1] if vat else 0,
            "category": "S" if vat else "Z"}


def _breakdown(data, lines):
    """VAT per (category, rate) from the lines' nets, with the amounts the document printed;
    the withholdings (negative rates) as the document printed them."""
    printed = {}
    withheld = []
    for name, rate, base, amount in data["totals"]["taxes"]:
        if rate < 0:
            withheld.append((name, rate, base, amount))
        else:
            printed[rate] = printed.get(rate, 0) + amount
    bases = {}
    for line in lines:
        key = (line["category"], line["rate"])
        bases[key] = bases.get(key, 0) + line["net"]
    vat = [(category, rate, base, printed.get(rate, 0) if category == "S" else 0)
           for (category, rate), base in sorted(bases.items())]
    return vat, withheld


def _line_xml(trade, number, line, exp):
    item = _el(trade, "ram:IncludedSupplyChainTradeLineItem")
    _text(_el(item, "ram:AssociatedDocumentLineDocument"), "ram:LineID", str(number))
    product = _el(item, "ram:SpecifiedTradeProduct")
    _text(product, "ram:Name", line["name"])
    if line["description"] != line["name"]:
        _text(product, "ram:Description", line["description"])
    agreement = _el(item, "ram:SpecifiedLineTradeAgreement")
    if line["gross"] != line["price"]:
        gross = _el(agreement, "ram:GrossPriceProductTradePrice")
        _text(gross, "ram:ChargeAmount", _decimal(line["gross"], exp))
        discount = _el(gross, "ram:AppliedTradeAllowanceCharge")
        _text(_el(discount, "ram:ChargeIndicator"), "udt:Indicator", "false")
        _text(discount, "ram:ActualAmount", _decimal(line["gross"] - line["price"], exp))
    _text(_el(agreement, "ram:NetPriceProductTradePrice"), "ram:ChargeAmount", _decimal(line["price"], exp))
    _text(_el(item, "ram:SpecifiedLineTradeDelivery"), "ram:BilledQuantity", _plain(line["qty"]), unitCode=ONE)
    settlement = _el(item, "ram:SpecifiedLineTradeSettlement")
    tax = _el(settlement, "ram:ApplicableTradeTax")
    _text(tax, "ram:TypeCode", "VAT")
    _text(tax, "ram:CategoryCode", line["category"])
    _text(tax, "ram:RateApplicablePercent", _percent(line["rate"]))
    _text(_el(settlement, "ram:SpecifiedTradeSettlementLineMonetarySummation"), "ram:LineTotalAmount",
          _amount(line["net"], exp))


def _party(parent, tag, who):
    party = _el(parent, tag)
    _text(party, "ram:Name", who["name"][:200] or "-")
    lines = [x.strip() for x in (who.get("address") or "").splitlines() if x.strip()]
    address = _el(party, "ram:PostalTradeAddress")
    if lines:
        _text(address, "ram:LineOne", lines[0])
    if len(lines) > 1:
        _text(address, "ram:LineTwo", ", ".join(lines[1:]))
    _text(address, "ram:CountryID", who["country"])
    if who.get("email"):
        _text(_el(party, "ram:URIUniversalCommunication"), "ram:URIID", who["email"], schemeID="EM")
    if who.get("tax_id"):
        tax_id = who["tax_id"].replace(" ", "").upper()
        vat_id = tax_id if _country_prefix(tax_id) else who["country"] + tax_id
        _text(_el(party, "ram:SpecifiedTaxRegistration"), "ram:ID", vat_id, schemeID="VA")


for _prefix, _uri in NS.items():   # the prefixes every CII file uses (ElementTree's registry is global)
    ET.register_namespace(_prefix, _uri)


def _el(parent, tag, **attrs):
    prefix, name = tag.split(":")
    qname = f"{{{NS[prefix]}}}{name}"
    if parent is None:
        return ET.Element(qname, attrs)
    return ET.SubElement(parent, qname, attrs)


def _text(parent, tag, value, **attrs):
    el = _el(parent, tag, **attrs)
    el.text = value
    return el


def _note(header, text):
    _text(_el(header, "ram:IncludedNote"), "ram:Content", text)


def _date(parent, tag, day, kind="udt"):
    _text(_el(parent, tag), f"{kind}:DateTimeString", day.strftime("%Y%m%d"), format="102")


def _amount(minor, exp):
    return str(Decimal(minor).scaleb(-exp).quantize(Decimal(1).scaleb(-exp)))


def _decimal(value, exp):
    """A price in minor units as a decimal in major units, exact (a discounted unit price can
    have more digits than the currency)."""
    return _plain(Decimal(value).scaleb(-exp))


def _plain(value):
    text = format(value.normalize(), "f")
    return text if "." not in text else text.rstrip("0").rstrip(".")


def _percent(rate_bp):
    return _plain(Decimal(rate_bp) / 100)
