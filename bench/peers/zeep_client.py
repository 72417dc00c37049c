"""The zeep peer of `make bench`: pulls FindContracts pages from a mock MILES as a Python team would
with the most-used SOAP client (the WSDL from mappings/wsdl, a WS-Security UsernameToken with a
PasswordDigest), maps each contract to plain Python values and drops the page. Prints one JSON line
(peer_output.report). The username and password come from MILES_USERNAME and MILES_PASSWORD.

    MILES_USERNAME=... MILES_PASSWORD=... python zeep_client.py --wsdl mappings/wsdl/miles-collections.wsdl \
        --endpoint http://127.0.0.1:8080/miles --contracts 100000
"""

import argparse
import os
import time

from zeep import Client, Settings
from zeep.wsse.username import UsernameToken

from peer_output import report

NAMESPACE = "http://miles.example.com/collections/2026/01"


def main():
    parser = argparse.ArgumentParser(description="zeep's pull and decode of FindContracts pages")
    parser.add_argument("--wsdl", required=True)
    parser.add_argument("--endpoint", required=True, help="the mock's base URL, ending in /miles")
    parser.add_argument("--contracts", type=int, required=True, help="stop after the page that reaches this many")
    parser.add_argument("--page-size", type=int, default=1000)
    arguments = parser.parse_args()

    client = Client(arguments.wsdl, settings=Settings(strict=True, xml_huge_tree=True),
                    wsse=UsernameToken(os.environ["MILES_USERNAME"], os.environ["MILES_PASSWORD"], use_digest=True))
    service = client.create_service("{%s}ContractServiceBinding" % NAMESPACE, arguments.endpoint + "/ContractService")

    received = 0
    arrears_minor_units = 0
    invoices = 0
    cursor = None
    # The WSDL is loaded before the clock starts: the rate is the steady pull, as the bench measures ours.
    started = time.perf_counter()
    while received < arguments.contracts:
        answer = service.FindContracts(Cursor=cursor, PageSize=arguments.page_size)
        page = [plain_values(contract) for contract in answer.Contracts.Contract]
        received += len(page)
        arrears_minor_units += sum(int(contract["arrears"]["amount"] * 100) for contract in page)
        invoices += sum(len(contract["invoices"]) for contract in page)
        cursor = answer.NextCursor
        if cursor is None:
            break
    report("zeep", received, time.perf_counter() - started, arrears_minor_units, invoices)


def plain_values(contract):
    """A contract as plain values (str, int, bool, Decimal, date, datetime, lists, dicts), from zeep's object."""
    customer = contract.Customer
    address = customer.Address
    arrears = contract.Arrears
    vehicle = contract.Vehicle
    return {
        "number": contract.ContractNumber, "version": contract.Version, "status": contract.Status,
        "agreement_type": contract.AgreementType, "start_date": contract.StartDate, "end_date": contract.EndDate,
        "currency": contract.Currency, "total_price": contract.TotalPrice, "paid_to_date": contract.PaidToDate,
        "monthly_payment": contract.MonthlyPayment, "last_payment_date": contract.LastPaymentDate,
        "arrears": {"amount": arrears.Amount, "oldest_unpaid_due_date": arrears.OldestUnpaidDueDate,
                    "missed_payments": arrears.MissedPayments},
        # zeep gives None for a list element with nothing in it.
        "customer": {
            "partner_id": customer.PartnerId, "version": customer.PartnerVersion, "name": customer.Name,
            "type": customer.CustomerType,
            "address": {"line1": address.Line1, "line2": address.Line2, "town": address.Town,
                        "postcode": address.Postcode, "country": address.Country},
            "phones": list(customer.Phones.Phone) if customer.Phones else [], "email": customer.Email, "vulnerable": customer.Vulnerable,
        },
        "vehicle": {"registration": vehicle.Registration, "vin": vehicle.VIN, "make": vehicle.Make, "model": vehicle.Model},
        "invoices": [{"number": invoice.InvoiceNumber, "issue_date": invoice.IssueDate, "due_date": invoice.DueDate,
                      "amount": invoice.Amount, "open_amount": invoice.OpenAmount}
                     for invoice in (contract.Invoices.Invoice if contract.Invoices else [])],
        "last_modified": contract.LastModified,
    }


if __name__ == "__main__":
    main()
