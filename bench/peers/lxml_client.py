"""The hand-written peer of `make bench`: what a Python team writes when zeep is too slow. It builds
the FindContracts envelope itself (a WS-Security UsernameToken with a PasswordDigest computed by
hand), streams each answer through lxml.etree.iterparse straight from the socket, maps each contract
to plain Python values as it ends and frees it. Prints one JSON line (peer_output.report). The
username and password come from MILES_USERNAME and MILES_PASSWORD.

    MILES_USERNAME=... MILES_PASSWORD=... python lxml_client.py \
        --endpoint http://127.0.0.1:8080/miles --contracts 100000
"""

import argparse
import base64
import datetime
import hashlib
import os
import time
from decimal import Decimal
from xml.sax.saxutils import escape

import requests
from lxml import etree

from peer_output import report

NAMESPACE = "http://miles.example.com/collections/2026/01"
SOAP_ENVELOPE = "http://schemas.xmlsoap.org/soap/envelope/"
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
WSU = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
PASSWORD_DIGEST = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordDigest"
BASE64_BINARY = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary"

CONTRACT = "{%s}Contract" % NAMESPACE
NEXT_CURSOR = "{%s}NextCursor" % NAMESPACE
PREFIX_LENGTH = len("{%s}" % NAMESPACE)


def main():
    parser = argparse.ArgumentParser(description="a hand-written lxml iterparse pull of FindContracts pages")
    parser.add_argument("--endpoint", required=True, help="the mock's base URL, ending in /miles")
    parser.add_argument("--contracts", type=int, required=True, help="stop after the page that reaches this many")
    parser.add_argument("--page-size", type=int, default=1000)
    arguments = parser.parse_args()

    username = os.environ["MILES_USERNAME"]
    password = os.environ["MILES_PASSWORD"]
    url = arguments.endpoint + "/ContractService"
    session = requests.Session()
    headers = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '"%sFindContracts"' % NAMESPACE}

    received = 0
    arrears_minor_units = 0
    invoices = 0
    cursor = None
    started = time.perf_counter()
    while received < arguments.contracts:
        body = find_contracts_request(username, password, cursor, arguments.page_size)
        with session.post(url, data=body, headers=headers, stream=True) as answer:
            if answer.status_code != 200:
                raise SystemExit("FindContracts answered HTTP %d: %s" % (answer.status_code, answer.text[:500]))
            answer.raw.decode_content = True
            cursor = None
            for _, element in etree.iterparse(answer.raw, events=("end",), tag=(CONTRACT, NEXT_CURSOR), resolve_entities=False):
                if element.tag == NEXT_CURSOR:
                    cursor = element.text
                    continue
                contract = plain_values(element)
                received += 1
                arrears_minor_units += int(contract["arrears"]["amount"] * 100)
                invoices += len(contract["invoices"])
                # Frees the contract and the siblings before it: memory stays at one contract's worth.
                element.clear()
                while element.getprevious() is not None:
                    del element.getparent()[0]
        if cursor is None:
            break
    report("lxml", received, time.perf_counter() - started, arrears_minor_units, invoices)


def find_contracts_request(username, password, cursor, page_size):
    """The request envelope, with a fresh nonce and Created: Base64(SHA-1(nonce + created + password))."""
    nonce = os.urandom(16)
    created = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    digest = base64.b64encode(hashlib.sha1(nonce + created.encode() + password.encode()).digest()).decode()
    cursor_element = "<m:Cursor>%s</m:Cursor>" % escape(cursor) if cursor else ""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<soapenv:Envelope xmlns:soapenv="%s" xmlns:m="%s"><soapenv:Header>'
        '<wsse:Security xmlns:wsse="%s" xmlns:wsu="%s" soapenv:mustUnderstand="1"><wsse:UsernameToken>'
        "<wsse:Username>%s</wsse:Username>"
        '<wsse:Password Type="%s">%s</wsse:Password>'
        '<wsse:Nonce EncodingType="%s">%s</wsse:Nonce>'
        "<wsu:Created>%s</wsu:Created>"
        "</wsse:UsernameToken></wsse:Security></soapenv:Header>"
        "<soapenv:Body><m:FindContracts>%s<m:PageSize>%d</m:PageSize></m:FindContracts></soapenv:Body></soapenv:Envelope>"
        % (SOAP_ENVELOPE, NAMESPACE, WSSE, WSU, escape(username), PASSWORD_DIGEST, digest, BASE64_BINARY,
           base64.b64encode(nonce).decode(), created, cursor_element, page_size)
    ).encode("utf-8")


def children(element):
    """Each child element by its local name, in one pass (a path search per field cost twice the parse)."""
    return {child.tag[PREFIX_LENGTH:]: child for child in element}


def text(elements, name):
    element = elements.get(name)
    return None if element is None else element.text


def date(elements, name):
    element = elements.get(name)
    return None if element is None else datetime.date.fromisoformat(element.text)


def plain_values(contract):
    """A contract as plain values (str, int, bool, Decimal, date, datetime, lists, dicts), as zeep gives them."""
    fields = children(contract)
    arrears = children(fields["Arrears"])
    customer = children(fields["Customer"])
    address = children(customer["Address"])
    vehicle = children(fields["Vehicle"])
    return {
        "number": text(fields, "ContractNumber"), "version": int(text(fields, "Version")),
        "status": text(fields, "Status"), "agreement_type": text(fields, "AgreementType"),
        "start_date": date(fields, "StartDate"), "end_date": date(fields, "EndDate"),
        "currency": text(fields, "Currency"), "total_price": Decimal(text(fields, "TotalPrice")),
        "paid_to_date": Decimal(text(fields, "PaidToDate")), "monthly_payment": Decimal(text(fields, "MonthlyPayment")),
        "last_payment_date": date(fields, "LastPaymentDate"),
        "arrears": {"amount": Decimal(text(arrears, "Amount")), "oldest_unpaid_due_date": date(arrears, "OldestUnpaidDueDate"),
                    "missed_payments": int(text(arrears, "MissedPayments"))},
        "customer": {
            "partner_id": text(customer, "PartnerId"), "version": int(text(customer, "PartnerVersion")),
            "name": text(customer, "Name"), "type": text(customer, "CustomerType"),
            "address": {"line1": text(address, "Line1"), "line2": text(address, "Line2"), "town": text(address, "Town"),
                        "postcode": text(address, "Postcode"), "country": text(address, "Country")},
            "phones": [phone.text for phone in customer["Phones"]],
            "email": text(customer, "Email"), "vulnerable": text(customer, "Vulnerable") in ("true", "1"),
        },
        "vehicle": {"registration": text(vehicle, "Registration"), "vin": text(vehicle, "VIN"),
                    "make": text(vehicle, "Make"), "model": text(vehicle, "Model")},
        "invoices": [invoice_values(children(invoice)) for invoice in fields["Invoices"]],
        "last_modified": datetime.datetime.fromisoformat(text(fields, "LastModified")),
    }


def invoice_values(invoice):
    return {"number": text(invoice, "InvoiceNumber"), "issue_date": date(invoice, "IssueDate"),
            "due_date": date(invoice, "DueDate"), "amount": Decimal(text(invoice, "Amount")),
            "open_amount": Decimal(text(invoice, "OpenAmount"))}


if __name__ == "__main__":
    main()
